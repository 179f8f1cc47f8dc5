"""PDF to clean reading-order text with pdfplumber.

Per page: tables are found first and kept as whole blocks; the remaining words are
grouped into rows, a column gutter is looked for, and two-column stretches are read
column by column. Across pages, lines in the top and bottom margins that repeat
(running headers and footers) and bare page numbers are dropped. Lines are joined
into paragraphs by vertical spacing, words hyphenated across line breaks are rejoined.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfparser import PDFSyntaxError
from pdfminer.psparser import PSException
from pdfplumber.utils.exceptions import PdfminerException

from interplay.errors import ExtractionError

MARGIN_SHARE = 0.085  # top/bottom share of the page where running lines live (A4: 72pt)
TERMINAL = tuple('.!?:;"”’)]')
PAGE_NUMBER = re.compile(
    r"^[-–—\s]*(page\s*)?(\d+|[ivxlcdm]+)(\s*(of|/)\s*\d+)?[-–—\s]*$", re.IGNORECASE)


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


def extract_pdf(path: str | Path) -> ExtractedPdf:
    """Extract a PDF; raise ExtractionError for files that cannot yield text."""
    try:
        with pdfplumber.open(path) as pdf:
            pages = [_read_page(page) for page in pdf.pages]
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise ExtractionError("encrypted PDF", "save an unprotected copy and add that") from None
    except PdfminerException as error:
        cause = error.args[0] if error.args else error
        if isinstance(cause, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise ExtractionError("encrypted PDF", "save an unprotected copy and add that") from None
        raise ExtractionError(f"unreadable PDF: {cause}",
                              "the file is corrupt or truncated; export or download it again") from None
    except (PDFSyntaxError, PSException) as error:
        raise ExtractionError(f"unreadable PDF: {error}",
                              "the file is corrupt or truncated; export or download it again") from None
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


# --- one page ---------------------------------------------------------------------------

@dataclass
class PageContent:
    """What pdfplumber gives for one page, before reading order is decided."""

    width: float
    height: float
    rows: list[list[dict]]
    tables: list[Line]


def _read_page(page: pdfplumber.page.Page) -> PageContent:
    tables = [t for t in page.find_tables() if len(t.rows) >= 2]
    table_boxes = [t.bbox for t in tables]
    words = [w for w in page.extract_words(extra_attrs=["size"], use_text_flow=False)
             if not any(_inside(w, box) for box in table_boxes)]
    table_lines = [line for line in map(_table_line, tables) if line.text]
    return PageContent(width=float(page.width), height=float(page.height),
                       rows=_group_rows(words), tables=table_lines)


def _lay_out(pages: list[PageContent]) -> list[PageLayout]:
    """Reading order per page. A page with thin evidence of columns of its own (a short
    last column, say) borrows the gutter the rest of the document uses, if no row crosses it."""
    gutters = [_find_gutter(_body_rows(page), page.width) for page in pages]
    common = Counter(round(g) for g in gutters if g is not None).most_common(1)
    for number, page in enumerate(pages):
        if gutters[number] is None and common:
            fallback = float(common[0][0])
            rows = _body_rows(page)
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


def _table_line(table) -> Line:
    rows = []
    for row in table.extract():
        cells = [" ".join((cell or "").split()) for cell in row]
        if any(cells):
            rows.append(" | ".join(cells))
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

    Among the best-scoring positions the middle of the widest run is taken, so the
    gutter sits in the white space rather than against the edge of a column.
    """
    scores: list[tuple[float, int]] = []
    x = width * 0.3
    while x <= width * 0.7:
        crossing = left = right = 0
        for row in rows:
            if _crosses(row, x):
                crossing += 1
                continue
            left += any(w["x1"] <= x for w in row)
            right += any(w["x0"] >= x for w in row)
        if left >= 3 and right >= 3 and crossing <= 0.2 * len(rows):
            scores.append((x, min(left, right) - 3 * crossing))
        x += 2.0
    if not scores:
        return None
    best = max(score for _, score in scores)
    runs: list[list[float]] = []
    for x, score in scores:
        if score == best and runs and x - runs[-1][-1] <= 2.0:
            runs[-1].append(x)
        elif score == best:
            runs.append([x])
    widest = max(runs, key=len)
    return (widest[0] + widest[-1]) / 2


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
                entries.append((min(w["top"] for w in part), side, _line_from(part)))
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


@lru_cache(maxsize=1)
def _word_log_probs() -> dict[str, float]:
    """English word frequencies shipped with spacy-lookups-data (no download)."""
    import gzip
    import json
    from importlib.resources import files

    data = files("spacy_lookups_data") / "data" / "en_lexeme_prob.json.gz"
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as handle:
        return json.load(handle)


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
    compound = (probs.get(first, -99) > -15 and probs.get(second, -99) > -15
                and probs.get(first + second, -99) < -17)
    return left + right if compound else left[:-1] + right


def _document_words(layouts: list[PageLayout]) -> frozenset[str]:
    """Words (and hyphenated compounds) the document uses inside its lines."""
    words: set[str] = set()
    for layout in layouts:
        for flow in layout.flows:
            for line in flow.lines:
                inner = re.sub(r"\S+-$", "", line.text)  # a line-final fragment is no word
                words.update(w.lower() for w in re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", inner))
    return frozenset(words)


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
