"""PDF to clean reading-order text.

Per page: tables are found first and kept as whole blocks; the remaining words are
grouped into rows, a column gutter is looked for, and two-column stretches are read
column by column. Across pages, lines in the top and bottom margins that repeat
(running headers and footers) and bare page numbers are dropped. Lines are joined
into paragraphs by vertical spacing, words hyphenated across line breaks are rejoined.

Two backends read the character and ruling-line boxes that all of this works from:
pdfplumber (pdfminer.six, pure Python; the reference) and pypdfium2 (PDFium, C++;
see `interplay.extract.pdfium_boxes` for how its boxes are made to match pdfplumber's
and where they still differ). Everything after the boxes is shared. On the demo corpus
and the benchmark's papers (CPU time), plain pdfplumber `extract_text` does 8-10 pages
a second; this module does 25 with pdfplumber and 110-140 with pypdfium2.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pdfplumber
from pdfminer.layout import LTChar, LTContainer, LTCurve, LTLine, LTRect
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfparser import PDFSyntaxError
from pdfminer.psparser import PSException
from pdfplumber.table import Table
from pdfplumber.utils import curve_to_edges, line_to_edge, rect_to_edges
from pdfplumber.utils.exceptions import PdfminerException

from interplay.errors import ExtractionError
from interplay.extract.pdf_words import Chars, extract_words, find_tables, table_rows

MARGIN_SHARE = 0.085  # top/bottom share of the page where running lines live (A4: 72pt)
TERMINAL = tuple('.!?:;"”’)]')
PAGE_NUMBER = re.compile(
    r"^[-–—\s]*(page\s*)?(\d+|[ivxlcdm]+)(\s*(of|/)\s*\d+)?[-–—\s]*$", re.IGNORECASE)
PDF_BACKENDS = ("pdfplumber", "pypdfium2")
ENCRYPTED = ("encrypted PDF", "save an unprotected copy and add that")
CORRUPT_HINT = "the file is corrupt or truncated; export or download it again"


@dataclass
class Line:
    """A run of text at one height: a body line, or a whole table (kind 'table')."""

    text: str
    top: float
    bottom: float
    x0: float
    x1: float
    size: float
    kind: str = "body"


@dataclass
class Flow:
    """Lines read in order without a column or band change."""

    lines: list[Line] = field(default_factory=list)
    full_width: bool = False


@dataclass
class PageLayout:
    number: int
    height: float
    flows: list[Flow]


@dataclass
class ExtractedPdf:
    text: str
    page_starts: list[int]
    warnings: list[str]


def extract_pdf(path: str | Path, *, backend: str = "pdfplumber") -> ExtractedPdf:
    """Extract a PDF; raise ExtractionError for files that cannot yield text.

    `backend` picks the library that reads character and line boxes (PDF_BACKENDS);
    the cleanup that follows is the same for both.
    """
    if backend == "pdfplumber":
        pages = _read_pages_pdfplumber(path)
    elif backend == "pypdfium2":
        from interplay.extract.pdfium_boxes import read_pages

        pages = read_pages(path)
    else:
        raise ValueError(f"unknown PDF backend {backend!r}: use one of {', '.join(PDF_BACKENDS)}")
    if not pages:
        raise ExtractionError("PDF has no pages", "check the file")
    layouts = _lay_out(pages)
    _drop_running_lines(layouts)
    warnings = [f"page {layout.number}: no text layer (scanned image?)"
                for layout in layouts if not any(f.lines for f in layout.flows)]
    if len(warnings) == len(layouts):
        raise ExtractionError("no text layer: needs OCR",
                              "run OCR (e.g. ocrmypdf) on the PDF and add the OCR'd copy")
    text, page_starts = _assemble(layouts)
    return ExtractedPdf(text=text, page_starts=page_starts, warnings=warnings)


def _read_pages_pdfplumber(path: str | Path) -> list[PageContent]:
    try:
        with pdfplumber.open(path) as pdf:
            pages = []
            for page in pdf.pages:
                chars, edges = _layout_objects(page)
                pages.append(page_content(float(page.width), float(page.height), chars,
                                          find_tables(edges)))
            return pages
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise ExtractionError(*ENCRYPTED) from None
    except PdfminerException as error:
        cause = error.args[0] if error.args else error
        if isinstance(cause, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise ExtractionError(*ENCRYPTED) from None
        raise ExtractionError(f"unreadable PDF: {cause}", CORRUPT_HINT) from None
    except (PDFSyntaxError, PSException) as error:
        raise ExtractionError(f"unreadable PDF: {error}", CORRUPT_HINT) from None


def _layout_objects(page: pdfplumber.page.Page) -> tuple[Chars, list[dict]]:
    """The page's characters and ruling-line edges, as `page.chars` and `page.edges`
    give them, read straight from pdfminer's layout.

    pdfplumber turns every pdfminer object into a dict of some twenty attributes, each
    passed through `resolve_all`; on text-heavy PDFs that took two thirds of its time,
    more than pdfminer's parsing. Only the few attributes interplay uses are taken here,
    with pdfplumber's formulas (tests/test_extract_pdfium.py checks they agree).
    """
    height = page.height
    mb_x0, mb_top = page.mediabox[0], page.mediabox[1]
    texts: list[str] = []
    rows: list[tuple] = []
    shapes: dict[str, list[dict]] = {"line": [], "rect": [], "curve": []}

    def box(obj) -> dict:
        x0, x1 = (obj.x0 + mb_x0, obj.x1 + mb_x0) if mb_x0 != 0 else (obj.x0, obj.x1)
        top = height - obj.y1 + mb_top
        return {"x0": x0, "x1": x1, "y0": obj.y0, "y1": obj.y1, "top": top, "doctop": top,
                "bottom": height - obj.y0 + mb_top, "width": obj.width, "height": obj.height}

    def walk(objects) -> None:
        for obj in objects:
            if isinstance(obj, LTChar):
                x0, x1 = (obj.x0 + mb_x0, obj.x1 + mb_x0) if mb_x0 != 0 else (obj.x0, obj.x1)
                texts.append(obj.get_text())
                rows.append((x0, x1, height - obj.y1 + mb_top, height - obj.y0 + mb_top,
                             obj.size, obj.upright))
            elif isinstance(obj, LTContainer):
                walk(obj)
            elif isinstance(obj, LTCurve):  # LTLine and LTRect are LTCurves too
                kind = "rect" if isinstance(obj, LTRect) else \
                    "line" if isinstance(obj, LTLine) else "curve"
                shape = {**box(obj), "object_type": kind}
                if kind == "curve":
                    shape["pts"] = [(mb_x0 + x, mb_top + height - y) for x, y in obj.pts]
                shapes[kind].append(shape)

    walk(page.layout)
    edges = ([line_to_edge(line) for line in shapes["line"]]
             + [edge for rect in shapes["rect"] for edge in rect_to_edges(rect)]
             + [edge for curve in shapes["curve"] for edge in curve_to_edges(curve)])
    return Chars.from_rows(texts, rows), edges


# --- one page ---------------------------------------------------------------------------

@dataclass
class PageContent:
    """What the backend gives for one page, before reading order is decided."""

    width: float
    height: float
    rows: list[list[dict]]
    tables: list[Line]


def page_content(width: float, height: float, chars: Chars, tables: list[Table]
                 ) -> PageContent:
    """Words and tables of one page from its characters and the tables found on it.

    Both backends end here, so words are cut exactly as pdfplumber's `extract_words`
    cuts them (`interplay.extract.pdf_words`) whichever library read the boxes.
    """
    tables = [t for t in tables if len(t.rows) >= 2]
    words = extract_words(chars)
    if tables:
        boxes = [t.bbox for t in tables]
        words = [w for w in words if not any(_inside(w, box) for box in boxes)]
    table_lines = [line for line in (_table_line(t, chars) for t in tables) if line.text]
    return PageContent(width=width, height=height, rows=_group_rows(words), tables=table_lines)


def _lay_out(pages: list[PageContent]) -> list[PageLayout]:
    """Reading order per page. A page with thin evidence of columns of its own (a short
    last column, say) borrows the gutter the rest of the document uses, if no row crosses it."""
    body_rows = [_body_rows(page) for page in pages]
    gutters = [_find_gutter(rows, page.width) for rows, page in zip(body_rows, pages)]
    common = Counter(round(g) for g in gutters if g is not None).most_common(1)
    for number, rows in enumerate(body_rows):
        if gutters[number] is None and common:
            fallback = float(common[0][0])
            if rows and not any(_crosses(row, fallback) for row in rows):
                gutters[number] = fallback
    return [PageLayout(number=number, height=page.height,
                       flows=_reading_order(page.rows, page.tables, gutter))
            for number, (page, gutter) in enumerate(zip(pages, gutters), start=1)]


def _body_rows(page: PageContent) -> list[list[dict]]:
    """Rows outside the top and bottom margins, where running headers and footers sit."""
    low, high = page.height * MARGIN_SHARE, page.height * (1 - MARGIN_SHARE)
    return [row for row in page.rows if row[0]["top"] >= low and row[0]["bottom"] <= high]


def _crosses(row: list[dict], x: float) -> bool:
    return any(w["x0"] < x < w["x1"] for w in row)


def _inside(word: dict, box: tuple[float, float, float, float]) -> bool:
    x_mid = (word["x0"] + word["x1"]) / 2
    y_mid = (word["top"] + word["bottom"]) / 2
    return box[0] - 1 <= x_mid <= box[2] + 1 and box[1] - 1 <= y_mid <= box[3] + 1


def _table_line(table: Table, chars: Chars) -> Line:
    rows = [" | ".join(row) for row in table_rows(table, chars) if any(row)]
    x0, top, x1, bottom = table.bbox
    return Line(text="\n".join(rows), top=top, bottom=bottom, x0=x0, x1=x1, size=0, kind="table")


def _group_rows(words: list[dict]) -> list[list[dict]]:
    """Words sharing a baseline (within a fraction of their size), top to bottom."""
    rows: list[list[dict]] = []
    for word in sorted(words, key=lambda w: (round(w["bottom"], 1), w["x0"])):
        if rows and abs(rows[-1][0]["bottom"] - word["bottom"]) <= 0.3 * word["size"]:
            rows[-1].append(word)
        else:
            rows.append([word])
    return [sorted(row, key=lambda w: w["x0"]) for row in rows]


def _find_gutter(rows: list[list[dict]], width: float) -> float | None:
    """The x of a column gutter: rows on both sides of it, few crossing it.

    Candidate positions every 2 pt across the middle of the page are tested against
    every word at once (numpy), since this test runs on every page and was the costliest
    step of the cleanup in pure Python. A row has a word wholly left of a position if its
    first word ends there or before, wholly right if its last word starts there or after.
    Among the best-scoring positions the middle of the widest run (the first, if tied)
    is taken, so the gutter sits in the white space rather than against the edge of a
    column.
    """
    positions = []
    x = width * 0.3
    while x <= width * 0.7:
        positions.append(x)
        x += 2.0
    if not rows or not positions:
        return None
    xs = np.array(positions)
    x0 = np.array([w["x0"] for row in rows for w in row])
    x1 = np.array([w["x1"] for row in rows for w in row])
    starts = np.cumsum([0] + [len(row) for row in rows[:-1]])
    crossed = np.logical_or.reduceat((x0[:, None] < xs) & (xs < x1[:, None]), starts, axis=0)
    left = ((np.minimum.reduceat(x1, starts)[:, None] <= xs) & ~crossed).sum(axis=0)
    right = ((np.maximum.reduceat(x0, starts)[:, None] >= xs) & ~crossed).sum(axis=0)
    crossing = crossed.sum(axis=0)
    usable = (left >= 3) & (right >= 3) & (crossing <= 0.2 * len(rows))
    if not usable.any():
        return None
    score = np.minimum(left, right) - 3 * crossing
    best = xs[usable & (score == score[usable].max())]
    run = np.cumsum(np.diff(best, prepend=-np.inf) > 2.0)
    widest = best[run == np.bincount(run).argmax()]
    return float(widest[0] + widest[-1]) / 2


def _split_at_wide_gaps(row: list[dict]) -> list[list[dict]]:
    """Pieces of a row separated by more than a few spaces: columns, or header left/right."""
    parts = [[row[0]]]
    for previous, word in itertools.pairwise(row):
        if word["x0"] - previous["x1"] > 1.8 * max(word["size"], previous["size"]):
            parts.append([word])
        else:
            parts[-1].append(word)
    return parts


def _line_from(words: list[dict]) -> Line:
    sizes = [w["size"] for w in words]
    return Line(text=" ".join(w["text"] for w in words),
                top=min(w["top"] for w in words), bottom=max(w["bottom"] for w in words),
                x0=min(w["x0"] for w in words), x1=max(w["x1"] for w in words),
                size=statistics.median(sizes))


def _sides(row: list[dict], gutter: float | None) -> list[tuple[str, list[dict]]]:
    """Cut a row at the gutter, unless a word or an ordinary word space spans it."""
    if gutter is None or _crosses(row, gutter):
        return [("full", row)]
    left = [w for w in row if w["x1"] <= gutter]
    right = [w for w in row if w["x0"] >= gutter]
    if left and right and right[0]["x0"] - left[-1]["x1"] < max(w["size"] for w in row):
        return [("full", row)]
    return [(side, words) for side, words in (("left", left), ("right", right)) if words]


def _reading_order(rows: list[list[dict]], tables: list[Line], gutter: float | None) -> list[Flow]:
    """Bands top to bottom; inside a two-column band, the left column before the right."""
    entries: list[tuple[float, str, Line]] = []  # (top, side, line); side: full|left|right
    for row in rows:
        for side, words in _sides(row, gutter):
            for part in _split_at_wide_gaps(words):
                line = _line_from(part)
                entries.append((line.top, side, line))
    for table in tables:
        side = "full"
        if gutter is not None and table.x1 <= gutter:
            side = "left"
        elif gutter is not None and table.x0 >= gutter:
            side = "right"
        entries.append((table.top, side, table))
    entries.sort(key=lambda e: e[0])

    flows: list[Flow] = []
    band: list[tuple[str, Line]] = []

    def close_band() -> None:
        for side in ("left", "right"):
            lines = [line for s, line in band if s == side]
            if lines:
                flows.append(Flow(lines))
        band.clear()

    for _, side, line in entries:
        if side == "full":
            close_band()
            if flows and flows[-1].full_width:
                flows[-1].lines.append(line)
            else:
                flows.append(Flow([line], full_width=True))
        else:
            band.append((side, line))
    close_band()
    return flows


# --- across pages -------------------------------------------------------------------------

def _normalise(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _in_margin(line: Line, height: float) -> bool:
    return line.kind == "body" and (line.top < height * MARGIN_SHARE
                                    or line.bottom > height * (1 - MARGIN_SHARE))


def _drop_running_lines(layouts: list[PageLayout]) -> None:
    """Remove margin lines repeated on many pages, and bare page numbers."""
    pages_with: Counter[str] = Counter()
    for layout in layouts:
        seen = {_normalise(line.text) for flow in layout.flows for line in flow.lines
                if _in_margin(line, layout.height)}
        pages_with.update(seen)
    threshold = max(2, int(0.4 * len(layouts) + 0.5))
    for layout in layouts:
        for flow in layout.flows:
            flow.lines = [
                line for line in flow.lines
                if not (_in_margin(line, layout.height)
                        and (pages_with[_normalise(line.text)] >= threshold
                             or PAGE_NUMBER.match(line.text)))]
        layout.flows = [flow for flow in layout.flows if flow.lines]


def _paragraphs(flow: Flow, typical_gap: float) -> list[list[Line]]:
    paragraphs: list[list[Line]] = []
    previous: Line | None = None
    for line in flow.lines:
        new_paragraph = (
            previous is None
            or line.kind == "table" or previous.kind == "table"
            or line.top - previous.bottom > typical_gap + 0.45 * max(line.size, 1)
            or abs(line.size - previous.size) > 0.9
        )
        if new_paragraph:
            paragraphs.append([line])
        else:
            paragraphs[-1].append(line)
        previous = line
    return paragraphs


def _typical_gap(layouts: list[PageLayout]) -> float:
    gaps = [b.top - a.bottom for layout in layouts for flow in layout.flows
            for a, b in zip(flow.lines, flow.lines[1:])
            if a.kind == b.kind == "body" and 0 <= b.top - a.bottom < 3 * max(a.size, 1)]
    return statistics.median(gaps) if gaps else 2.0


COMMON_WORD, RARE_WORD = -15, -17  # log probabilities join_hyphenated compares against
WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")
LINE_FINAL_FRAGMENT = re.compile(r"\S+-$")
ENTRY_BREAK = b',\n  "'  # between two entries of the word-frequency file
LAST_VALUE = re.compile(rb'":(-?\d+(?:\.\d+)?)$')


@lru_cache(maxsize=1)
def _word_log_probs() -> dict[str, float]:
    """English word log-probabilities shipped with spacy-lookups-data (no download),
    for every word at least as common as RARE_WORD.

    The file lists a million words from the most to the least frequent; only the head
    can change a decision of `join_hyphenated` (a word missing from the dict counts as
    rarer than RARE_WORD, as before), so decompression stops at the first rarer word.
    That reads the first sixth of the file in about 0.2 s instead of 1.5 s, a cost every
    extract job meeting a hyphenated line break used to pay. Falls back to the whole
    file if it does not look as expected.
    """
    import json
    import zlib
    from importlib.resources import files

    data = files("spacy_lookups_data") / "data" / "en_lexeme_prob.json.gz"
    inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip container
    chunks: list[bytes] = []
    with data.open("rb") as raw:
        while block := raw.read(1 << 16):
            chunks.append(inflate.decompress(block))
            # the last entry of the block, perhaps cut short: a cut value reads higher
            # than the real one, so it never ends the reading too early
            value = LAST_VALUE.search(chunks[-1][chunks[-1].rfind(ENTRY_BREAK) + 1:])
            if value and float(value[1]) < RARE_WORD:
                break
        else:
            chunks.append(inflate.flush())
            return json.loads(b"".join(chunks))
    head = b"".join(chunks)
    try:
        return json.loads(head[:head.rfind(ENTRY_BREAK)] + b"}")
    except ValueError:  # not the layout this relies on: read it all
        with data.open("rb") as raw:
            return json.loads(zlib.decompress(raw.read(), wbits=16 + zlib.MAX_WBITS))


def join_hyphenated(left: str, right: str, *, document_words: frozenset[str] = frozenset()
                    ) -> str:
    """Join 'commis-' + 'sioning', but keep real compounds such as 'well-' + 'known'.

    The document's own words decide first ('North-' + 'bridge' is 'Northbridge' if the
    document says Northbridge elsewhere); English word frequencies decide otherwise.
    """
    head = re.search(r"([A-Za-z]+)-$", left)
    tail = re.match(r"([A-Za-z]+)", right)
    if not head or not tail or not right[:1].islower():
        return f"{left} {right}"
    first, second = head.group(1).lower(), tail.group(1).lower()
    if first + second in document_words:
        return left[:-1] + right
    if f"{first}-{second}" in document_words:
        return left + right
    probs = _word_log_probs()
    compound = (probs.get(first, -99) > COMMON_WORD and probs.get(second, -99) > COMMON_WORD
                and probs.get(first + second, -99) < RARE_WORD)
    return left + right if compound else left[:-1] + right


def _document_words(layouts: list[PageLayout]) -> frozenset[str]:
    """Words (and hyphenated compounds) the document uses inside its lines."""
    texts = (line.text for layout in layouts for flow in layout.flows for line in flow.lines)
    # a line-final fragment is no word; no word runs on across "\n"
    inner = "\n".join(LINE_FINAL_FRAGMENT.sub("", text) for text in texts)
    return frozenset(map(str.lower, WORD.findall(inner)))


def _join_lines(lines: list[Line], words: frozenset[str]) -> str:
    if lines[0].kind == "table":
        return lines[0].text
    text = lines[0].text
    for line in lines[1:]:
        text = (join_hyphenated(text, line.text, document_words=words) if text.endswith("-")
                else f"{text} {line.text}")
    return text


def _continues(previous: Line, following: Line, previous_text: str, following_text: str) -> bool:
    """Does a body paragraph cut by a column or page break carry on in the next one?"""
    return (previous.kind == following.kind == "body"
            and not previous_text.endswith(TERMINAL) and following_text[:1].islower())


def _assemble(layouts: list[PageLayout]) -> tuple[str, list[int]]:
    """Paragraphs joined by blank lines; returns the text and each page's start offset."""
    gap = _typical_gap(layouts)
    words = _document_words(layouts)
    text = ""
    last_line: Line | None = None
    page_starts: list[int] = []
    for layout in layouts:
        page_starts.append(len(text) + 2 if text else 0)
        first_on_page = True
        for flow in layout.flows:
            for lines in _paragraphs(flow, gap):
                paragraph = _join_lines(lines, words)
                if last_line and _continues(last_line, lines[0], text, paragraph):
                    text = (join_hyphenated(text, paragraph, document_words=words)
                            if text.endswith("-")
                            else f"{text} {paragraph}")
                    if first_on_page:
                        page_starts[-1] = len(text) - len(paragraph)
                else:
                    text = f"{text}\n\n{paragraph}" if text else paragraph
                first_on_page = False
                last_line = lines[-1]
        if first_on_page:  # an empty page starts (and ends) where the text stands
            page_starts[-1] = len(text)
    return text, page_starts
