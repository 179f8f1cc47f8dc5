"""Small documents the tests build themselves: PDFs drawn line by line, DOCX, transcripts."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import docx
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    PageTemplate,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

WIDTH, HEIGHT = A4

DEMO_ANNOTATIONS = Path(__file__).resolve().parents[1] / "corpus" / "annotations"


def draw_pdf(path: Path, pages: list[list[tuple[float, float, str]]], *, size: float = 10,
             header: str | None = "Wealdmoor CCG  Governing Body", footer: bool = True) -> Path:
    """Each page is a list of (x, y-from-top, text) lines, drawn exactly where given."""
    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    for number, lines in enumerate(pages, start=1):
        if header:
            pdf.setFont("Helvetica", 8)
            pdf.drawString(56, HEIGHT - 40, header)
        if footer:
            pdf.setFont("Helvetica", 8)
            pdf.drawString(WIDTH - 110, 40, f"Page {number} of {len(pages)}")
        pdf.setFont("Helvetica", size)
        for x, y, text in lines:
            pdf.drawString(x, HEIGHT - y, text)
        pdf.showPage()
    pdf.save()
    return path


def column_lines(x: float, top: float, lines: list[str], *, leading: float = 13,
                 paragraph_gap: float = 9) -> list[tuple[float, float, str]]:
    """Lay out lines down a column; an empty string starts a new paragraph."""
    placed, y = [], top
    for line in lines:
        if line == "":
            y += paragraph_gap
            continue
        placed.append((x, y, line))
        y += leading
    return placed


def table_pdf(path: Path) -> Path:
    """A ruled three-row table between two paragraphs."""
    body = ParagraphStyle("body", fontName="Helvetica", fontSize=10, leading=13, spaceAfter=8)
    rows = [["Service", "Route", "Annual value"],
            ["Community dermatology", "Open tender", "£1.2m"],
            ["Adult hearing", "Any qualified provider", "£0.4m"]]
    table = Table(rows, colWidths=[150, 150, 100])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, "black")]))
    story = [Paragraph("The table below lists the services reviewed this year.", body),
             table, Spacer(1, 12),
             Paragraph("Members noted that both routes were compliant.", body)]
    SimpleDocTemplate(str(path), invariant=1).build(story)
    return path


def two_column_story_pdf(path: Path, paragraphs: list[str], title: str) -> Path:
    """A justified, hyphenated two-column PDF with running header and footer."""

    def decorate(canvas, doc):
        canvas.setFont("Helvetica", 8)
        canvas.drawString(56, HEIGHT - 36, "Kestrel Valley Clinical Commissioning Group")
        canvas.drawRightString(WIDTH - 56, HEIGHT - 36, title)
        canvas.drawString(56, 30, "OFFICIAL")
        canvas.drawRightString(WIDTH - 56, 30, f"Page {doc.page}")

    gap, margin = 18, 56
    width = (WIDTH - 2 * margin - gap) / 2
    height = HEIGHT / 2  # short columns, so the report runs over several pages
    frames = [Frame(margin, 60, width, height, id="left"),
              Frame(margin + width + gap, 60, width, height, id="right")]
    doc = BaseDocTemplate(str(path), pagesize=A4, invariant=1,
                          pageTemplates=[PageTemplate(frames=frames, onPage=decorate)])
    style = ParagraphStyle("body", fontName="Times-Roman", fontSize=10, leading=12.5,
                           alignment=4, spaceAfter=7, hyphenationLang="en_GB",
                           embeddedHyphenation=1, uriWasteReduce=0.3)
    doc.build([Paragraph(p, style) for p in paragraphs])
    return path


def write_docx(path: Path, blocks: list[tuple[str, object]]) -> Path:
    """blocks: ('title'|'heading'|'para', text) or ('table', [[cells], ...])."""
    document = docx.Document()
    for kind, content in blocks:
        if kind == "title":
            document.add_heading(content, level=0)
        elif kind == "heading":
            document.add_heading(content, level=1)
        elif kind == "para":
            document.add_paragraph(content)
        elif kind == "table":
            table = document.add_table(rows=len(content), cols=len(content[0]))
            for r, row in enumerate(content):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
    document.save(str(path))
    return path


def write_metadata(corpus: Path, rows: list[dict]) -> Path:
    columns = ["doc_id", "path", "site", "kind", "actor", "date", "title"]
    with open(corpus / "metadata.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return corpus / "metadata.csv"


TRANSCRIPT = """Interview transcript: Wealdmoor CCG study
Participant: Contracts manager, CCG
Date: 3 May 2016. Identifying details removed.

[00:00:04] Interviewer: Could you start by telling me about your role?

[00:00:09] R1: I look after the community contracts, so the district nurses, the therapies, that sort of thing. I’ve been here since the CCG started.

[00:01:15] Interviewer: And the decision not to tender?

[00:01:20] R1: Well, we chose not to go out to tender. Honestly nobody else was interested, and the trust has been a good partner.

We did do a bit of market engagement first, a provider day, to check.

[00:03:02] Interviewer: Thank you.
"""


# A second interview for end-to-end tests that add a document to a built corpus.
NORTHFIELD_INTERVIEW = """Interview with the director of strategy, Northfield CCG

Interviewer: How do you work with the hospital these days?

R1: Mostly by picking up the phone, to be honest. We stopped treating the annual contract round as a battle, and the two finance directors sit down together in January and agree the envelope before anybody writes a schedule.

Interviewer: Was the community contract ever put out to the market?

R1: It was advertised in 2015. Three bidders came to the open day, two submitted, and the panel scored them on quality and price before the award went back to the incumbent.

Interviewer: And patients, do they get a say in where they go?

R1: For physiotherapy they can pick any of the four qualified providers on the list, and the money follows them, which keeps everyone on their toes about waiting times.

Interviewer: Anything else we should know?

R1: The alliance board meets monthly. The providers share one set of outcome measures and one pot of risk money, so if the community side saves a bed day the acute trust is not the loser.
"""


def mini_corpus(root: Path) -> Path:
    """A corpus of four small documents: transcript, cp1252 text, DOCX and a two-page PDF."""
    corpus = root / "corpus"
    (corpus / "site_a").mkdir(parents=True)
    (corpus / "site_a" / "int1.txt").write_text(TRANSCRIPT, encoding="utf-8")
    (corpus / "site_a" / "notes.txt").write_bytes(
        "Board notes \u2013 the \u00a3250k pooled budget was agreed with the council.\n"
        .encode("cp1252"))
    write_docx(corpus / "site_a" / "strategy.docx", [
        ("title", "Procurement strategy"), ("heading", "Purpose"),
        ("para", "This strategy sets out how the CCG will secure services."),
        ("table", [["Service", "Route"], ["MSK", "Open tender"]])])
    draw_pdf(corpus / "site_a" / "paper.pdf", [
        column_lines(56, 90, ["The governing body is asked to note the progress of the",
                              "alliance and the plan for the community services review.",
                              "", "Members agreed the recommendations."]),
        column_lines(56, 90, ["A second page about the wider system and the sustainability",
                              "and transformation plan for the county."])])
    write_metadata(corpus, [
        {"doc_id": "A-INT-01", "path": "site_a/int1.txt", "site": "site_a", "kind": "interview",
             "actor": "commissioner", "date": "2016-05-03", "title": "Interview"},
        {"doc_id": "A-NOTE-01", "path": "site_a/notes.txt", "site": "site_a", "kind": "document",
             "actor": "commissioner", "date": "2016", "title": "Notes"},
        {"doc_id": "A-DOC-01", "path": "site_a/strategy.docx", "site": "site_a", "kind": "document",
             "actor": "commissioner", "date": "2016-01-01", "title": "Strategy"},
        {"doc_id": "A-DOC-02", "path": "site_a/paper.pdf", "site": "site_a", "kind": "document",
             "actor": "commissioner", "date": "2016-02-01", "title": "Board paper"},
    ])
    return corpus


def mini_corpus_with_interview(root: Path, *, site: str, doc_id: str) -> Path:
    """mini_corpus plus NORTHFIELD_INTERVIEW (as `doc_id` of `site`) and a small training set
    of the demo corpus's annotations (two sites' files: quick to train on)."""
    corpus = mini_corpus(root)
    (corpus / site).mkdir(exist_ok=True)
    (corpus / site / "int2.txt").write_text(NORTHFIELD_INTERVIEW, encoding="utf-8")
    with open(corpus / "metadata.csv", "a", encoding="utf-8") as handle:
        handle.write(f"{doc_id},{site}/int2.txt,{site},interview,commissioner,2016-06-01,"
                     "Interview\n")
    (corpus / "annotations").mkdir()
    for name in ("harbourside.csv", "wealdmoor.csv"):
        shutil.copy(DEMO_ANNOTATIONS / name, corpus / "annotations" / name)
    return corpus
