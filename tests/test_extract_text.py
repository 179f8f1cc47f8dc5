import pytest
from builders import write_docx

from interplay.errors import ExtractionError
from interplay.extract import extract_document, extract_to_files
from interplay.fileio import read_json


def test_utf8_bom_and_cp1252_are_detected_and_reported(tmp_path):
    text = "Board notes \u2013 the \u00a3250k budget\u2019s agreed.\r\nSecond line."
    (tmp_path / "a.txt").write_bytes(text.encode("utf-8"))
    (tmp_path / "b.txt").write_bytes(text.encode("utf-8-sig"))
    (tmp_path / "c.txt").write_bytes(text.encode("cp1252"))
    expected = text.replace("\r\n", "\n")
    plain, bom, windows = (extract_document(tmp_path / n) for n in ("a.txt", "b.txt", "c.txt"))
    assert plain.text == bom.text == windows.text == expected
    assert plain.warnings == []
    assert bom.warnings == ["decoded as utf-8-sig"]
    assert windows.warnings == ["decoded as cp1252 (not valid UTF-8)"]


def test_mixed_encodings_are_decoded_line_by_line_and_named(tmp_path):
    path = tmp_path / "pasted.txt"
    path.write_bytes("R1: The trust\u2019s view \u2013 fine.\n".encode() +
                     "R2: We\u2019d paid \u00a3250k.\n".encode("cp1252") +
                     "R1: Agreed \u2013 \u00e9lan.\n".encode())
    decoded = extract_document(path)
    assert decoded.text == ("R1: The trust\u2019s view \u2013 fine.\nR2: We\u2019d paid "
                            "\u00a3250k.\nR1: Agreed \u2013 \u00e9lan.\n")
    assert decoded.encoding == "utf-8+cp1252"
    assert decoded.warnings == [("mixed encodings: line(s) 2 decoded as cp1252, the rest as "
                                 "UTF-8; check those lines and re-save the file as UTF-8")]


@pytest.mark.parametrize("content,message", [
    (b"", "empty file"),
    (b"   \n\n", "empty file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, "binary content"),
    (b"ok line\n" + b"\x81\x8d\x8f\x90", "line 2: text is neither UTF-8 nor"),
])
def test_unreadable_text_files(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ExtractionError, match=message):
        extract_document(path)


def test_docx_keeps_headings_paragraphs_and_tables_in_order(tmp_path):
    path = write_docx(tmp_path / "s.docx", [
        ("title", "Procurement strategy"), ("heading", "1. Purpose"),
        ("para", "This strategy explains when the CCG will tender."),
        ("table", [["Service", "Route"], ["MSK", "Open tender"], ["Hearing", "AQP"]]),
        ("para", "Decisions are reported to the governing body.")])
    assert extract_document(path).text == (
        "Procurement strategy\n\n1. Purpose\n\nThis strategy explains when the CCG will tender."
        "\n\nService | Route\nMSK | Open tender\nHearing | AQP\n\n"
        "Decisions are reported to the governing body.")


def test_a_failed_document_still_writes_its_outputs_with_the_problem(tmp_path):
    source = tmp_path / "broken.docx"
    source.write_bytes(b"PK\x03\x04 not a real zip")
    info = extract_to_files(source, tmp_path / "x.txt", tmp_path / "x.json",
                            doc_id="X", display_path="broken.docx")
    assert (tmp_path / "x.txt").read_text() == ""
    assert read_json(tmp_path / "x.json") == info
    assert info["problem"]["problem"].startswith("unreadable DOCX")
    assert "re-save" in info["problem"]["hint"]


def test_unsupported_type(tmp_path):
    path = tmp_path / "notes.rtf"
    path.write_text("{\\rtf1 hello}")
    with pytest.raises(ExtractionError, match="unsupported file type '.rtf'"):
        extract_document(path)
