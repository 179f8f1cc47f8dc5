"""Hostile input through the whole pipeline: every bad file, row and sheet is named with
what to do, and everything else completes.

One corpus holds the good documents of `mini_corpus` plus one of each kind of bad input;
a single run must list each problem in problems.csv and still code the good documents.
Faults that make the whole input ambiguous (metadata columns missing, duplicate doc_ids,
a codebook spaCy rejects) stop the run before anything is written, with every problem
named, and leave the previous outputs as they were.
"""

import csv
import re
import shutil
from pathlib import Path

import pytest
from builders import column_lines, draw_pdf, mini_corpus, write_metadata
from conftest import REPO, read_csv, run_pipeline
from reportlab.lib import pdfencrypt
from reportlab.pdfgen import canvas

from interplay.cli import main

GOOD = {"A-INT-01", "A-NOTE-01", "A-DOC-01", "A-DOC-02", "H-MIXED", "H-SCRIPT"}
MARKUP = ("Minutes of the provider forum.\n\nThe chair said <script>alert('owned')</script> "
          "was pasted in from the portal, with <img src=x onerror=alert(2)> beside it, and "
          "the tender timetable was agreed.\n")


def hostile_corpus(root: Path) -> Path:
    corpus = mini_corpus(root)
    bad = corpus / "site_b"
    bad.mkdir()
    good_pdf = draw_pdf(bad / "good_source.pdf", [column_lines(56, 100, [
        "The alliance board agreed the risk share for the coming year."])])
    (bad / "truncated.pdf").write_bytes(good_pdf.read_bytes()[:300])
    good_pdf.unlink()
    (bad / "corrupt.pdf").write_bytes(b"%PDF-1.4\n this is not really a pdf at all \x00\x01")
    locked = canvas.Canvas(str(bad / "locked.pdf"), encrypt=pdfencrypt.StandardEncryption(
        "secret", ownerPassword="owner", canPrint=0))
    locked.drawString(56, 700, "Confidential board paper")
    locked.save()
    scan = canvas.Canvas(str(bad / "scan.pdf"))
    scan.rect(100, 100, 300, 400, fill=1)
    scan.showPage()
    scan.save()
    (bad / "empty.txt").write_bytes(b"")
    with open(bad / "huge.txt", "wb") as handle:  # sparse: 200 MB on paper, no disk used
        handle.truncate(200 * 1024 * 1024)
    (bad / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50)
    (bad / "slides.pptx").write_bytes(b"PK\x03\x04 not really slides")
    (bad / "mixed.txt").write_bytes("R1: The trust\u2019s view \u2013 fine.\n".encode() +
                                    "R1: We\u2019d paid \u00a3250k.\n".encode("cp1252"))
    (bad / "markup.txt").write_text(MARKUP, encoding="utf-8")
    (root / "outside.txt").write_text("not part of the corpus")
    with open(corpus / "metadata.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))

    def row(doc_id, path):
        return {"doc_id": doc_id, "path": path, "site": "site_b", "kind": "document",
                "actor": "provider", "date": "2017", "title": doc_id}
    write_metadata(corpus, [*rows,
        row("H-TRUNC", "site_b/truncated.pdf"), row("H-CORRUPT", "site_b/corrupt.pdf"),
        row("H-LOCKED", "site_b/locked.pdf"), row("H-SCAN", "site_b/scan.pdf"),
        row("H-EMPTY", "site_b/empty.txt"), row("H-HUGE", "site_b/huge.txt"),
        row("H-IMAGE", "site_b/image.txt"), row("H-SLIDES", "site_b/slides.pptx"),
        row("H-MIXED", "site_b/mixed.txt"), row("H-SCRIPT", "site_b/markup.txt"),
        row("H-UP", "../outside.txt"), row("H-ABS", "/etc/hostname"),
        row("H-GONE", "site_b/gone.txt")])
    (corpus / "annotations").mkdir()
    for name in ("harbourside.csv", "wealdmoor.csv"):
        shutil.copy(REPO / "corpus" / "annotations" / name, corpus / "annotations")
    reviews = corpus / "reviews"
    reviews.mkdir()
    (reviews / "renamed.csv").write_text(
        "passage_id,doc_id,text,verdict,codes,comment\nA-INT-01:0000000000,A-INT-01,x,accept,,\n",
        encoding="utf-8")
    (reviews / "typos.csv").write_text(
        "passage_id,doc_id,text,machine_codes,decision,codes,comment\n"
        "A-INT-01:0000000000,A-INT-01,gone,,reject,,\n"
        "A-INT-01:1111111111,A-INT-01,gone,,edit,competition.tenderin,\n", encoding="utf-8")
    return corpus


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    corpus = hostile_corpus(root)
    outputs = root / "out"
    run_pipeline(corpus, outputs)
    return corpus, outputs


EXPECTED = {  # doc_id -> (severity, what problems.csv says, words of its hint)
    "H-TRUNC": ("error", "unreadable PDF", "export or download it again"),
    "H-CORRUPT": ("error", "unreadable PDF", "export or download it again"),
    "H-LOCKED": ("error", "encrypted PDF", "unprotected copy"),
    "H-SCAN": ("error", "no text layer: needs OCR", "OCR"),
    "H-EMPTY": ("error", "empty file (0 bytes)", "right file"),
    "H-HUGE": ("error", "file is 200 MB, over the 100 MB limit", "max_file_mb"),
    "H-IMAGE": ("error", "binary content in a text file", "original document"),
    "H-SLIDES": ("error", "unsupported file type '.pptx'", "PDF, DOCX or plain text"),
    "H-UP": ("error", "escapes the corpus directory", ""),
    "H-ABS": ("error", "is absolute", ""),
    "H-GONE": ("error", "file 'site_b/gone.txt' not found", ""),
    "H-MIXED": ("warning", "mixed encodings: line(s) 2 decoded as cp1252", ""),
}


@pytest.mark.parametrize("doc_id", sorted(EXPECTED))
def test_each_bad_document_is_named_with_what_to_do(hostile_run, doc_id):
    _, outputs = hostile_run
    severity, problem, hint = EXPECTED[doc_id]
    found = [p for p in read_csv(outputs / "problems.csv") if p["doc_id"] == doc_id]
    assert any(p["severity"] == severity and problem in p["problem"] and hint.lower() in
               p["hint"].lower() and p["hint"] for p in found), found
    if severity == "error" and doc_id not in ("H-UP", "H-ABS", "H-GONE"):
        assert found[0]["path"].startswith("site_b/")


def test_the_good_documents_complete_and_nothing_leaks_from_outside(hostile_run):
    _, outputs = hostile_run
    coded = read_csv(outputs / "coded_passages.csv")
    assert {r["doc_id"] for r in coded} == GOOD
    assert any(r["codes"] for r in coded if r["doc_id"] == "A-INT-01")
    assert "not part of the corpus" not in (outputs / "passages.csv").read_text()
    for path in outputs.rglob("*"):
        assert outputs in path.resolve().parents  # nothing written outside the outputs


def test_markup_in_a_document_is_shown_escaped_in_the_report(hostile_run):
    _, outputs = hostile_run
    page = (outputs / "report" / "docs" / "H-SCRIPT.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<script>alert" not in page and "<img src=x" not in page


def test_bad_review_sheets_are_named_and_nothing_is_applied(hostile_run):
    corpus, outputs = hostile_run
    review = [p for p in read_csv(outputs / "problems.csv") if p["stage"] == "review"]
    messages = {(p["path"], p["severity"]): p["problem"] for p in review}
    assert "missing column(s) decision" in messages[("reviews/renamed.csv", "error")]
    assert "unknown code(s) competition.tenderin" in messages[("reviews/typos.csv", "error")]
    orphan = messages[("reviews/typos.csv", "warning")]
    assert "A-INT-01:0000000000" in orphan and "the passage no longer exists" in orphan
    assert all(r["coded_by"] in ("", "machine") for r in read_csv(outputs / "coded_passages.csv"))
    assert (corpus / "reviews" / "renamed.csv").read_text(encoding="utf-8").startswith(
        "passage_id,doc_id,text,verdict")  # read, never rewritten


@pytest.mark.parametrize("fault,message", [
    ("duplicate", r"line \d+: duplicate doc_id 'A-INT-01' \(first on line 2\)"),
    ("columns", r"missing column\(s\): kind, actor"),
    ("codebook", r"code 'competition.tendering' field 'patterns\[0\]': spaCy rejects"),
])
def test_ambiguous_input_stops_the_run_and_keeps_the_outputs(hostile_run, tmp_path, capsys,
                                                             fault, message):
    corpus, outputs = hostile_run
    copy = tmp_path / "corpus"
    shutil.copytree(corpus, copy)
    before = {p: p.read_bytes() for p in outputs.rglob("*") if p.is_file()}
    command = ["run", "--corpus", str(copy), "--outputs", str(outputs), "--cores", "1"]
    if fault == "duplicate":
        with open(copy / "metadata.csv", "a", encoding="utf-8") as handle:
            handle.write("A-INT-01,site_a/notes.txt,site_a,document,provider,2017,Again\n")
    elif fault == "columns":
        lines = (copy / "metadata.csv").read_text(encoding="utf-8").splitlines()
        (copy / "metadata.csv").write_text("\n".join(",".join(line.split(",")[:3])
                                                     for line in lines) + "\n")
    else:
        codebook = (REPO / "config" / "codebook.yaml").read_text(encoding="utf-8")
        bad = tmp_path / "codebook.yaml"
        bad.write_text(codebook.replace('[{LOWER: {IN: ["tender"', '[{LOWR: {IN: ["tender"', 1),
                       encoding="utf-8")
        assert bad.read_text() != codebook
        (tmp_path / "config.yaml").write_text(f"codebook: {bad}\n", encoding="utf-8")
        command += ["--config", str(tmp_path / "config.yaml")]
    assert main(command) != 0
    err = capsys.readouterr().err
    assert re.search(message, err), err[-2000:]
    after = {p: p.read_bytes() for p in outputs.rglob("*") if p.is_file()}
    assert {p: b for p, b in after.items() if "logs" not in p.parts} == {
        p: b for p, b in before.items() if "logs" not in p.parts}
