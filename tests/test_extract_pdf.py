import re

import pytest
from builders import column_lines, draw_pdf, table_pdf, two_column_story_pdf
from rapidfuzz.distance import Levenshtein

from interplay.errors import ExtractionError
from interplay.extract import extract_document
from interplay.extract.pdf import extract_pdf, join_hyphenated

LEFT = ["Commissioners in the county spent most",
        "of 2015 deciding whether community",
        "nursing should be put out to the",
        "market at all.", "",
        "In the end the governing body chose to",
        "work with the incumbent trust instead."]
RIGHT = ["The alliance board met monthly and kept",
         "a shared risk register across all five",
         "partners.", "",
         "Money followed the outcomes framework",
         "from April 2017."]


def test_two_columns_read_column_by_column_without_header_or_footer(tmp_path):
    pages = [column_lines(56, 100, LEFT) + column_lines(310, 100, RIGHT),
             column_lines(56, 100, ["Page two opens with a line of its own", "and then ends."])]
    path = draw_pdf(tmp_path / "two.pdf", pages)
    result = extract_pdf(path)
    text = result.text
    assert "Governing Body" not in text and "Page 1 of 2" not in text
    first = text.index("deciding whether community nursing")
    assert first < text.index("incumbent trust instead.") < text.index("alliance board met")
    paragraphs = text.split("\n\n")
    assert paragraphs[0] == ("Commissioners in the county spent most of 2015 deciding whether "
                             "community nursing should be put out to the market at all.")
    assert paragraphs[2] == "The alliance board met monthly and kept a shared risk register " \
                            "across all five partners."
    assert len(result.page_starts) == 2
    assert text[result.page_starts[1]:].startswith("Page two opens with a line of its own")


def test_hyphenated_line_breaks_are_joined_but_compounds_kept(tmp_path):
    lines = ["The CCG reviewed the commis-", "sioning of adult hearing services and a well-",
             "known local charity bid for the work."]
    path = draw_pdf(tmp_path / "hyphen.pdf", [column_lines(56, 100, lines)], header=None)
    text = extract_pdf(path).text
    assert "commissioning of adult hearing" in text
    assert "a well-known local charity" in text


@pytest.mark.parametrize("left,right,joined", [
    ("the pro-", "vider said", "the provider said"),
    ("a re-", "procurement", "a re-procurement"),
    ("end of line.", "Next", "end of line. Next"),
    ("Anti-", "Competitive", "Anti- Competitive"),
])
def test_join_hyphenated(left, right, joined):
    assert join_hyphenated(left, right) == joined


def test_table_rows_stay_together(tmp_path):
    text = extract_pdf(table_pdf(tmp_path / "table.pdf")).text
    assert ("Service | Route | Annual value\nCommunity dermatology | Open tender | £1.2m\n"
            "Adult hearing | Any qualified provider | £0.4m") in text
    assert text.index("services reviewed") < text.index("Service |") < text.index("Members noted")


def test_paragraph_continues_across_pages(tmp_path):
    pages = [column_lines(56, 100, ["The review found that the tender had not"]),
             column_lines(56, 100, ["attracted any credible bidders.", "", "New paragraph."])]
    text = extract_pdf(draw_pdf(tmp_path / "cont.pdf", pages)).text
    assert "tender had not attracted any credible bidders." in text


def test_character_error_rate_on_a_hyphenated_two_column_report(tmp_path, repo):
    source = (repo / "tests" / "data" / "unseen_report.txt").read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in source.split("\n\n") if p.strip()]
    path = tmp_path / "report.pdf"
    two_column_story_pdf(path, paragraphs, "Review of community services procurement")
    text = extract_pdf(path).text
    import pdfplumber
    with pdfplumber.open(path) as pdf:
        raw = "\n".join(page.extract_text() for page in pdf.pages)
    assert len(pdf.pages) >= 2 and re.search(r"[a-z]-\n[a-z]", raw), "fixture must hyphenate"
    expected, got = " ".join(source.split()), " ".join(text.split())
    cer = Levenshtein.distance(expected, got) / len(expected)
    assert cer <= 0.02, f"character error rate {cer:.3%}"
    assert "OFFICIAL" not in text and "Kestrel Valley Clinical" not in text


def test_refi_qda_specification_has_no_running_lines(shared):
    result = extract_document(shared / "refi-qda" / "REFI-QDA-1-5.pdf")
    lines = [line.strip() for line in result.text.splitlines() if line.strip()]
    assert len(result.page_starts) == 60
    assert lines.count("REFI-QDA") <= 1  # the title on the cover, not a header on 60 pages
    assert not [line for line in lines if re.fullmatch(r"\d{1,2}", line)]
    assert "The purpose of this standard is to enable users of QDA Software" in result.text


def test_unreadable_pdfs_raise_clear_errors(tmp_path):
    good = draw_pdf(tmp_path / "good.pdf", [column_lines(56, 100, LEFT)])
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(good.read_bytes()[:300])
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.4\n this is not really a pdf at all \x00\x01")
    for path in (truncated, garbage):
        with pytest.raises(ExtractionError, match="unreadable PDF|no text layer"):
            extract_pdf(path)


def test_encrypted_pdf_is_reported(tmp_path):
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    path = tmp_path / "locked.pdf"
    pdf = canvas.Canvas(str(path), encrypt=pdfencrypt.StandardEncryption(
        "secret", ownerPassword="owner", canPrint=0))
    pdf.drawString(56, 700, "Confidential board paper")
    pdf.save()
    with pytest.raises(ExtractionError, match="encrypted PDF"):
        extract_pdf(path)


def test_image_only_pdf_needs_ocr(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(100, 100, 300, 400, fill=1)
    pdf.showPage()
    pdf.save()
    with pytest.raises(ExtractionError, match="no text layer: needs OCR"):
        extract_pdf(path)
