"""Render the demo corpus sources (scripts/demo_corpus_src) into corpus/.

The pipeline's extractors have to cope with what real commissioning papers look like:
PDFs with running headers, page numbers, two-column layouts and hyphenated line breaks,
Word files with styled headings and tables, plain-text transcripts in legacy encodings.
This script manufactures those artefacts from clean sources (format: demo_corpus_src/
FORMAT.md), deterministically, so the rendered files can be committed and rebuilt byte
for byte. Everything is validated before anything is written.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from xml.sax.saxutils import escape

import docx
from reportlab.lib import colors
from reportlab.lib.enums import TA_JUSTIFY
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    FrameBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

SCRIPTS = Path(__file__).resolve().parent
MANIFEST_COLUMNS = ("doc_id", "source", "format", "encoding", "site", "kind", "actor", "date",
                    "title")
METADATA_COLUMNS = ("doc_id", "path", "site", "kind", "actor", "date", "title")
EXTENSIONS = {"txt": "txt", "docx": "docx", "pdf": "pdf", "pdf2col": "pdf"}
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")
KINDS = ("interview", "document", "policy")
ACTORS = ("commissioner", "provider", "local_authority", "regulator", "national", "other")
DOC_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# Speaker label: optional [hh:mm:ss] timestamp, a short capitalised name, then a colon.
LABEL_RE = re.compile(
    r"^(?:\[\d{1,2}:\d{2}(?::\d{2})?\]\s*)?([A-Z][\w .()/&'’-]{0,39}?):(?=\s|$)")
# The standard PDF fonts only carry WinAnsi, which is cp1252's repertoire.
PDF_ENCODING = "cp1252"
AUTHOR = "interplay demo corpus"

PAGE_W, PAGE_H = A4
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM, GUTTER = 2 * cm, 2.5 * cm, 2.2 * cm, 0.7 * cm
BODY_W, BODY_H = PAGE_W - 2 * MARGIN_X, PAGE_H - MARGIN_TOP - MARGIN_BOTTOM
COL_W = (BODY_W - GUTTER) / 2
STYLES = {
    "title": ParagraphStyle("title", fontName="Helvetica-Bold", fontSize=16, leading=20,
                            spaceAfter=6),
    "meta": ParagraphStyle("meta", fontName="Helvetica", fontSize=9, leading=12,
                           textColor=colors.HexColor("#444444")),
    "heading": ParagraphStyle("heading", fontName="Helvetica-Bold", fontSize=12, leading=15,
                              spaceBefore=8, spaceAfter=4, keepWithNext=1),
    "para": ParagraphStyle("para", fontName="Times-Roman", fontSize=10, leading=13,
                           alignment=TA_JUSTIFY, spaceAfter=6, hyphenationLang="en_GB"),
    "cell": ParagraphStyle("cell", fontName="Helvetica", fontSize=8.5, leading=10.5,
                           hyphenationLang="en_GB"),
    "header_cell": ParagraphStyle("header_cell", fontName="Helvetica-Bold", fontSize=8.5,
                                  leading=10.5, hyphenationLang="en_GB"),
}


class SourceError(Exception):
    """A manifest or source problem; the message starts with 'file:line:'."""


@dataclass(frozen=True)
class Entry:
    """One validated manifest row; `origin` ('manifest.csv:line') is kept for later errors."""

    doc_id: str
    source: Path
    format: str
    encoding: str
    site: str
    kind: str
    actor: str
    date: date
    title: str
    origin: str

    @property
    def path(self) -> str:
        return f"{self.site}/{self.doc_id}.{EXTENSIONS[self.format]}"


@dataclass
class Block:
    """A unit of layout: title | heading | meta | para | table."""

    kind: str
    text: str = ""
    label: str = ""  # speaker label of a transcript turn, e.g. "R1:", rendered bold
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Doc:
    """An entry with its source text, split into front matter (title block) and body."""

    entry: Entry
    text: str
    front: list[Block]
    body: list[Block]


def read_manifest(path: Path) -> list[Entry]:
    """Parse and validate one site's manifest (BOM tolerated: it may come from Excel)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in MANIFEST_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise SourceError(f"{path}:1: missing columns: {', '.join(missing)}")
        return [_entry(row, path.parent, f"{path}:{reader.line_num}") for row in reader]


def _entry(row: dict[str, str | None], site_dir: Path, origin: str) -> Entry:
    v = {k: (row.get(k) or "").strip() for k in MANIFEST_COLUMNS}
    checks = [
        (DOC_ID_RE.match(v["doc_id"]), f"doc_id {v['doc_id']!r} is not a plain identifier"),
        (v["format"] in EXTENSIONS, f"unknown format {v['format']!r}"),
        (v["encoding"] in ENCODINGS, f"unknown encoding {v['encoding']!r}"),
        (v["kind"] in KINDS, f"unknown kind {v['kind']!r}"),
        (v["actor"] in ACTORS, f"unknown actor {v['actor']!r}"),
        (v["site"] == site_dir.name, f"site {v['site']!r} is not the folder {site_dir.name!r}"),
        (_is_iso_date(v["date"]), f"date {v['date']!r} is not YYYY-MM-DD"),
        (v["title"], "title is empty"),
        (v["source"] and Path(v["source"]).name == v["source"]
         and (site_dir / v["source"]).is_file(), f"source {v['source']!r} not in {site_dir}"),
    ]
    for ok, message in checks:
        if not ok:
            raise SourceError(f"{origin}: {message}")
    return Entry(v["doc_id"], site_dir / v["source"], v["format"], v["encoding"], v["site"],
                 v["kind"], v["actor"], date.fromisoformat(v["date"]), v["title"], origin)


def _is_iso_date(value: str) -> bool:
    try:
        return date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def _check_encodable(text: str, encoding: str, where: str, line_numbers: bool) -> None:
    """Fail early on characters the output cannot carry, rather than writing '?' or boxes."""
    try:
        text.encode(encoding)
    except UnicodeEncodeError as exc:
        at = f"{where}:{text.count(chr(10), 0, exc.start) + 1}" if line_numbers else where
        raise SourceError(f"{at}: {text[exc.start]!r} cannot be written as {encoding}") from None


def parse_document(text: str, where: str) -> tuple[list[Block], list[Block]]:
    """Board papers and policies: '# ' title, '## ' headings, one-line paragraphs, tables."""
    blocks: list[Block] = []
    table: list[list[str]] | None = None
    opened = 0
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if table is not None and line == "[/TABLE]":
            if not table:
                raise SourceError(f"{where}:{opened}: table is empty")
            for i, row in enumerate(table[1:], 2):
                if len(row) != len(table[0]):
                    raise SourceError(f"{where}:{opened}: table row {i} has {len(row)} cells, "
                                      f"the header has {len(table[0])}")
            blocks.append(Block("table", rows=table))
            table = None
        elif table is not None:
            if line:
                table.append([cell.strip() for cell in line.split("|")])
        elif line == "[TABLE]":
            table, opened = [], number
        elif line.startswith(("# ", "## ")):
            kind = "title" if line.startswith("# ") else "heading"
            blocks.append(Block(kind, line.partition(" ")[2].strip()))
        elif line:
            blocks.append(Block("para", line))
    if table is not None:
        raise SourceError(f"{where}:{opened}: [TABLE] is never closed")
    split = next((i for i, b in enumerate(blocks) if b.kind != "title"), len(blocks))
    return blocks[:split], blocks[split:]


def parse_transcript(text: str) -> tuple[list[Block], list[Block]]:
    """Header block up to the first blank line, then one paragraph per non-blank line.

    A label-like opening only counts as a speaker label when that speaker recurs, so a
    continuation paragraph such as 'In short: ...' is not mistaken for a new turn.
    """
    lines = [line.strip() for line in text.strip().splitlines()]
    split = lines.index("") if "" in lines else len(lines)
    front = [Block("heading" if i == 0 else "meta", line) for i, line in enumerate(lines[:split])]
    body_lines = [line for line in lines[split:] if line]
    matches = [LABEL_RE.match(line) for line in body_lines]
    speakers = Counter(m.group(1) for m in matches if m)
    body = []
    for line, m in zip(body_lines, matches):
        if m and speakers[m.group(1)] > 1:
            body.append(Block("para", line[m.end():], label=line[:m.end()]))
        else:
            body.append(Block("para", line))
    return front, body


def load_corpus(src: Path) -> list[Doc]:
    """Read and validate every site, so that a bad row stops the build before any output."""
    manifests = sorted(src.glob("*/manifest.csv"))
    if not manifests:
        raise SourceError(f"{src}: no <site>/manifest.csv found")
    docs: list[Doc] = []
    seen: dict[str, str] = {}
    for manifest in manifests:
        for entry in read_manifest(manifest):
            if entry.doc_id in seen:
                raise SourceError(f"{entry.origin}: doc_id {entry.doc_id} already used at "
                                  f"{seen[entry.doc_id]}")
            seen[entry.doc_id] = entry.origin
            docs.append(_load(entry))
    return sorted(docs, key=lambda d: (d.entry.site, d.entry.doc_id))


def _load(entry: Entry) -> Doc:
    try:
        text = entry.source.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{entry.source}: not UTF-8 ({exc.reason})") from None
    if entry.format == "txt":
        _check_encodable(text, entry.encoding, str(entry.source), line_numbers=True)
        return Doc(entry, text, [], [])
    if entry.format.startswith("pdf"):
        _check_encodable(text, PDF_ENCODING, str(entry.source), line_numbers=True)
        _check_encodable(entry.title, PDF_ENCODING, entry.origin, line_numbers=False)
    if entry.kind == "interview":
        front, body = parse_transcript(text)
    else:
        front, body = parse_document(text, str(entry.source))
    return Doc(entry, text, front or [Block("title", entry.title)], body)


def render_txt(doc: Doc, out: Path) -> None:
    """Legacy (cp1252) transcripts come from Windows machines, so they get CRLF too."""
    newline = "\r\n" if doc.entry.encoding == "cp1252" else "\n"
    with out.open("w", encoding=doc.entry.encoding, newline=newline) as fh:
        fh.write(doc.text)


def render_docx(doc: Doc, out: Path) -> None:
    """Styled paragraphs and real tables, with metadata and zip times pinned to the doc date."""
    document = docx.Document()
    styles = {"title": "Title", "heading": "Heading 1"}
    for block in doc.front + doc.body:
        if block.kind == "table":
            table = document.add_table(rows=len(block.rows), cols=len(block.rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(block.rows):
                for c, value in enumerate(row):
                    run = table.cell(r, c).paragraphs[0].add_run(value)
                    if r == 0:
                        run.bold = True
            continue
        paragraph = document.add_paragraph(style=styles.get(block.kind, "Normal"))
        if block.label:
            paragraph.add_run(block.label).bold = True
        paragraph.add_run(block.text)
    props = document.core_properties
    props.created = props.modified = datetime.combine(doc.entry.date, time(9), UTC)
    props.title, props.author, props.last_modified_by = doc.entry.title, AUTHOR, AUTHOR
    props.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    out.write_bytes(_pin_zip_times(buffer.getvalue(), doc.entry.date))


def _pin_zip_times(data: bytes, day: date) -> bytes:
    """python-docx stamps zip members with the wall clock, which would break byte-stability."""
    stamp = (day.year, day.month, day.day, 0, 0, 0)
    result = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(result, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, stamp), src.read(info),
                         compress_type=zipfile.ZIP_DEFLATED)
    return result.getvalue()


def render_pdf(doc: Doc, out: Path) -> None:
    """A4 with running header/footer; `pdf2col` puts the title full width over two columns."""
    entry = doc.entry
    template = BaseDocTemplate(str(out), pagesize=A4, title=entry.title, author=AUTHOR,
                               creator=AUTHOR, invariant=1)
    front: list[Flowable] = [Paragraph(escape(b.text), STYLES["meta" if b.kind == "meta"
                                                              else "title"]) for b in doc.front]
    if entry.format == "pdf":
        template.addPageTemplates([PageTemplate("page", _frames([BODY_W], BODY_H))])
        story = front + [Spacer(1, 8)] + _flowables(doc.body, BODY_W)
    else:
        title_h = sum(f.wrap(BODY_W, BODY_H)[1] + f.getSpaceAfter() for f in front) + 12
        title_frame = _frames([BODY_W], title_h, bottom=MARGIN_BOTTOM + BODY_H - title_h)
        template.addPageTemplates([
            PageTemplate("first", title_frame + _frames([COL_W, COL_W], BODY_H - title_h),
                         autoNextPageTemplate="later"),
            PageTemplate("later", _frames([COL_W, COL_W], BODY_H)),
        ])
        story = front + [FrameBreak()] + _flowables(doc.body, COL_W)
    short = entry.title if len(entry.title) <= 60 else entry.title[:60].rsplit(" ", 1)[0] + "…"
    site = entry.site.replace("_", " ").replace("-", " ").title()
    template.build(story, canvasmaker=_furnished_canvas(site, short))


def _frames(widths: list[float], height: float, bottom: float = MARGIN_BOTTOM) -> list[Frame]:
    """Unpadded frames side by side, so text lines up exactly with the header rule."""
    xs = [MARGIN_X + i * (widths[0] + GUTTER) for i in range(len(widths))]
    return [Frame(x, bottom, w, height, leftPadding=0, rightPadding=0, topPadding=0,
                  bottomPadding=0) for x, w in zip(xs, widths)]


def _flowables(blocks: list[Block], width: float) -> list[Flowable]:
    flowables: list[Flowable] = []
    for block in blocks:
        if block.kind == "table":
            flowables.append(_table(block.rows, width))
        else:
            label = f"<b>{escape(block.label)}</b>" if block.label else ""
            flowables.append(Paragraph(label + escape(block.text), STYLES[block.kind]))
    return flowables


def _table(rows: list[list[str]], width: float) -> Table:
    """Cells are Paragraphs so long text wraps inside the column instead of overflowing."""
    data = [[Paragraph(escape(cell), STYLES["header_cell" if r == 0 else "cell"]) for cell in row]
            for r, row in enumerate(rows)]
    table = Table(data, colWidths=[width / len(rows[0])] * len(rows[0]), repeatRows=1,
                  hAlign="LEFT", spaceBefore=4, spaceAfter=10)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def _furnished_canvas(left: str, right: str) -> type[canvas.Canvas]:
    """'Page N of M' needs M, known only after layout: hold the pages back until save()."""

    class FurnishedCanvas(canvas.Canvas):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict] = []

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            for number, state in enumerate(self._held, 1):
                self.__dict__.update(state)
                _draw_furniture(self, left, right, f"Page {number} of {len(self._held)}")
                super().showPage()
            super().save()

    return FurnishedCanvas


def _draw_furniture(c: canvas.Canvas, left: str, right: str, page_label: str) -> None:
    c.saveState()
    c.setFont("Helvetica", 8)
    c.setFillColor(colors.HexColor("#333333"))
    header_y, footer_y = PAGE_H - MARGIN_TOP + 0.9 * cm, MARGIN_BOTTOM - 1.1 * cm
    c.drawString(MARGIN_X, header_y, left)
    c.drawRightString(PAGE_W - MARGIN_X, header_y, right)
    c.setLineWidth(0.4)
    c.line(MARGIN_X, header_y - 4, PAGE_W - MARGIN_X, header_y - 4)
    c.drawString(MARGIN_X, footer_y, "OFFICIAL")
    c.drawRightString(PAGE_W - MARGIN_X, footer_y, page_label)
    c.restoreState()


RENDERERS = {"txt": render_txt, "docx": render_docx, "pdf": render_pdf, "pdf2col": render_pdf}


def write_metadata(docs: list[Doc], out: Path) -> None:
    with (out / "metadata.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(METADATA_COLUMNS)
        writer.writerows([d.entry.doc_id, d.entry.path, d.entry.site, d.entry.kind,
                          d.entry.actor, d.entry.date.isoformat(), d.entry.title] for d in docs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=SCRIPTS / "demo_corpus_src")
    parser.add_argument("--out", type=Path, default=SCRIPTS.parent / "corpus")
    args = parser.parse_args(argv)
    try:
        docs = load_corpus(args.src)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for doc in docs:
        target = args.out / doc.entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        RENDERERS[doc.entry.format](doc, target)
    write_metadata(docs, args.out)
    print(f"rendered {len(docs)} documents into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
