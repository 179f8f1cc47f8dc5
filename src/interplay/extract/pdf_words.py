"""A PDF page's characters to words and table cells, exactly as pdfplumber cuts them.

pdfplumber's `WordExtractor` and `Table.extract()` are general (any reading direction,
any extra attribute) and walk Python dicts character by character; once PDFium reads
the boxes in C, they are most of what is left of the extraction time. Here the same
algorithms run on a page's characters held as columns (numpy arrays), for upright text;
a page or cell with a character set at an angle goes to pdfplumber's own code. Both
backends come through here, so the choice of backend never changes how words are cut.
tests/test_extract_pdfium.py checks the results equal pdfplumber's, on every test PDF
and on random characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from pdfplumber.table import (
    Table,
    TableSettings,
    cells_to_tables,
    edges_to_intersections,
    merge_edges,
)
from pdfplumber.utils import extract_text, filter_edges, obj_to_bbox
from pdfplumber.utils.text import LIGATURES, WordExtractor

WORDS = WordExtractor(extra_attrs=["size"], use_text_flow=False)  # page words
CELL_WORDS = WordExtractor()  # what pdfplumber's extract_text uses inside a table cell
WORD_GAP = LINE_GAP = 3  # pdfplumber's default x and y tolerances
TABLES = TableSettings()  # pdfplumber's defaults, as `page.find_tables()` uses them
WHITESPACE = [c for c in range(0x3001) if chr(c).isspace()]  # U+3000 is the last one
EXPAND_LIGATURES = str.maketrans(LIGATURES)
Box = tuple[float, float, float, float]  # x0, top, x1, bottom


@dataclass
class Chars:
    """A page's characters, in content-stream order, as columns.

    Coordinates are pdfplumber's: points from the top left of the page; `top` and
    `bottom` as pdfminer sets them (the box is `size` high, its foot at the descent).
    """

    text: list[str]
    x0: np.ndarray
    x1: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    size: np.ndarray
    upright: np.ndarray

    @classmethod
    def from_rows(cls, text: list[str], rows: list[tuple]) -> Chars:
        """From the text and (x0, x1, top, bottom, size, upright) of each character."""
        table = np.array(rows, dtype=float).reshape(-1, 6)
        return cls(text, *table[:, :5].T, table[:, 5].astype(bool))

    @classmethod
    def from_dicts(cls, chars: list[dict]) -> Chars:
        """From pdfplumber's char dicts (`page.chars`)."""
        return cls.from_rows([c["text"] for c in chars],
                             [(c["x0"], c["x1"], c["top"], c["bottom"], c["size"], c["upright"])
                              for c in chars])

    def __len__(self) -> int:
        return len(self.text)

    def take(self, index: np.ndarray) -> Chars:
        """The characters at these positions, in that order."""
        return Chars([self.text[i] for i in index.tolist()], self.x0[index], self.x1[index],
                     self.top[index], self.bottom[index], self.size[index],
                     self.upright[index])

    def in_box(self, box: Box) -> Chars:
        """The characters whose centre lies in the box, half-open as pdfplumber tests
        cell membership (`Table.extract`), in their order."""
        x_mid, y_mid = (self.x0 + self.x1) / 2, (self.top + self.bottom) / 2
        inside = ((x_mid >= box[0]) & (x_mid < box[2])
                  & (y_mid >= box[1]) & (y_mid < box[3]))
        return self.take(np.flatnonzero(inside))

    @cached_property
    def codes(self) -> np.ndarray | None:
        """Each character's code point, if each has exactly one: always so with PDFium;
        pdfminer gives none for some and several for others ("(cid:12)")."""
        joined = "".join(self.text)
        if len(joined) != len(self.text):
            return None
        return np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)

    def blank(self) -> tuple[np.ndarray, np.ndarray]:
        """Which characters are whitespace, and which have no text at all."""
        n = len(self.text)
        if self.codes is not None:
            return np.isin(self.codes, WHITESPACE, kind="table"), np.zeros(n, dtype=bool)
        space = np.fromiter(map(str.isspace, self.text), dtype=bool, count=n)
        empty = np.fromiter(map(len, self.text), dtype=np.int64, count=n) == 0
        return space, empty

    def as_dicts(self) -> list[dict]:
        """pdfplumber's char dicts again, for its own code on text set at an angle."""
        return [{"text": text, "x0": x0, "x1": x1, "top": top, "bottom": bottom, "doctop": top,
                 "size": size, "upright": upright}
                for text, x0, x1, top, bottom, size, upright in zip(
                    self.text, self.x0.tolist(), self.x1.tolist(), self.top.tolist(),
                    self.bottom.tolist(), self.size.tolist(), self.upright.tolist())]


def extract_words(chars: Chars, *, by_size: bool = True) -> list[dict]:
    """`WORDS.extract_words(chars)` (or `CELL_WORDS` with `by_size=False`): the same
    words in the same order with the same text, x0, x1, top, bottom and size (the keys
    interplay uses; pdfplumber's others are left out).

    The algorithm, written out for upright left-to-right text: consecutive characters
    (of one size, with `by_size`) form a run; a run's characters are clustered into
    lines by `top`, distinct values chained while each is within LINE_GAP of the one
    before; each line is sorted by `x0` (stably); a word ends at a space (which is
    dropped), before and after an empty character, and where the next character
    starts more than WORD_GAP right of the previous one's end or more than LINE_GAP
    above or below it.
    """
    n = len(chars)
    if n == 0:
        return []
    if not chars.upright.all():
        return (WORDS if by_size else CELL_WORDS).extract_words(chars.as_dicts())
    run = np.zeros(n, dtype=np.int64)
    if by_size:
        run[1:] = np.cumsum(chars.size[1:] != chars.size[:-1])
    return _words(chars, run)[0]


def _words(chars: Chars, run: np.ndarray) -> tuple[list[dict], np.ndarray]:
    """extract_words' algorithm with the runs given (numbers that never decrease), for
    upright characters; also returns each word's run."""
    n = len(chars)
    by_top = np.lexsort((chars.top, run))
    tops, runs = chars.top[by_top], run[by_top]
    new_line = np.ones(n, dtype=bool)
    new_line[1:] = (runs[1:] != runs[:-1]) | (tops[1:] > tops[:-1] + LINE_GAP)
    line = np.empty(n, dtype=np.int64)
    line[by_top] = np.cumsum(new_line)  # line numbers follow run, then cluster order

    order = np.lexsort((chars.x0, line))  # stable: page order among equal x0
    space, empty = chars.blank()
    space, empty, lines = space[order], empty[order], line[order]
    x0, x1, top = chars.x0[order], chars.x1[order], chars.top[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = ((lines[1:] != lines[:-1]) | space[:-1] | empty[:-1] | empty[1:]
                  | (x0[1:] > x1[:-1] + WORD_GAP) | (np.abs(top[1:] - top[:-1]) > LINE_GAP))
    kept = order[~space]  # the characters in words, in reading order
    if not len(kept):
        return [], np.zeros(0, dtype=np.int64)
    bounds = np.flatnonzero(starts[~space])  # the first kept character starts a word
    left = chars.x0[kept][bounds].tolist()
    right = np.maximum.reduceat(chars.x1[kept], bounds).tolist()
    upper = np.minimum.reduceat(chars.top[kept], bounds).tolist()
    lower = np.maximum.reduceat(chars.bottom[kept], bounds).tolist()
    sizes = chars.size[kept][bounds].tolist()
    words = [{"text": text, "x0": x0_, "x1": x1_, "top": top_, "bottom": bottom_, "size": size_}
             for text, x0_, x1_, top_, bottom_, size_
             in zip(_word_texts(chars, kept, bounds), left, right, upper, lower, sizes)]
    return words, run[kept][bounds]


def _word_texts(chars: Chars, kept: np.ndarray, bounds: np.ndarray) -> list[str]:
    """The kept characters' text from each bound to the next, ligatures expanded as
    pdfplumber does. Sliced from one string when each character is one code point."""
    spans = list(zip(bounds.tolist(), [*bounds[1:].tolist(), len(kept)]))
    if chars.codes is not None:
        text = chars.codes[kept].tobytes().decode("utf-32-le", "surrogatepass")
        words = [text[start:end] for start, end in spans]
        if any(ligature in text for ligature in LIGATURES):
            words = [word.translate(EXPAND_LIGATURES) for word in words]
        return words
    pieces = [chars.text[i] for i in kept.tolist()]
    if not LIGATURES.keys().isdisjoint(pieces):
        pieces = [LIGATURES.get(t, t) for t in pieces]
    return ["".join(pieces[start:end]) for start, end in spans]


def cluster(objects: list[dict], key: str) -> list[list[dict]]:
    """pdfplumber's `cluster_objects(objects, key, LINE_GAP)`: the distinct values of
    `key` sorted and chained while each is within LINE_GAP of the one before; objects
    keep their order inside a cluster."""
    cluster_of: dict[float, int] = {}
    index, last = 0, None
    for value in sorted({o[key] for o in objects}):
        if last is not None and value > last + LINE_GAP:
            index += 1
        cluster_of[value] = index
        last = value
    clusters: list[list[dict]] = [[] for _ in range(index + 1)] if objects else []
    for obj in objects:
        clusters[cluster_of[obj[key]]].append(obj)
    return clusters


def table_rows(table: Table, chars: Chars) -> list[list[str]]:
    """The text of each cell, row by row, whitespace collapsed: what pdfplumber's
    `Table.extract()` returns.

    That scans every character of the page for every row and every cell, then runs the
    word extractor once per cell (a sixth of pdfplumber's time on a 60-page
    specification with boxed sections). Here the page is narrowed to the table, then to
    each row and cell with vectorised tests, and the words of all the cells come from
    one pass of the extractor, each cell a run of its own so no line or word crosses
    from one cell into another. Each cell keeps its characters in page order.
    """
    inside = chars.in_box(table.bbox)
    x_mid, y_mid = (inside.x0 + inside.x1) / 2, (inside.top + inside.bottom) / 2
    picks: list[np.ndarray] = []
    layout: list[list[int | None]] = []
    for row in table.rows:
        x0, top, x1, bottom = row.bbox
        in_row = np.flatnonzero((x_mid >= x0) & (x_mid < x1) & (y_mid >= top) & (y_mid < bottom))
        xs, ys = x_mid[in_row], y_mid[in_row]
        cells: list[int | None] = []
        for cell in row.cells:
            if cell is None:
                cells.append(None)
                continue
            cells.append(len(picks))
            picks.append(in_row[(xs >= cell[0]) & (xs < cell[2])
                                & (ys >= cell[1]) & (ys < cell[3])])
        layout.append(cells)
    texts = _cell_texts(inside, picks)
    return [["" if k is None else texts[k] for k in cells] for cells in layout]


def _cell_texts(chars: Chars, picks: list[np.ndarray]) -> list[str]:
    """pdfplumber's `extract_text` (without layout) of each group of characters,
    whitespace collapsed: the words grouped into lines by `top`, in the order the
    extractor gave them."""
    if not picks:
        return []
    group = np.repeat(np.arange(len(picks)), [len(p) for p in picks])
    selected = chars.take(np.concatenate(picks).astype(np.int64))
    if not selected.upright.all():
        return [" ".join(extract_text(chars.take(p).as_dicts()).split()) for p in picks]
    words, runs = _words(selected, group)
    by_cell: list[list[dict]] = [[] for _ in picks]
    for word, run in zip(words, runs.tolist()):
        by_cell[run].append(word)
    return [" ".join(" ".join(word["text"] for line in cluster(cell, "top") for word in line)
                     .split()) for cell in by_cell]


def cell_text(chars: Chars) -> str:
    """pdfplumber's `extract_text(chars)` (without layout), whitespace collapsed."""
    return _cell_texts(chars, [np.arange(len(chars))])[0] if len(chars) else ""


def find_tables(edges: list[dict]) -> list[Table]:
    """`page.find_tables()` from the page's edges (pdfplumber's `page.edges`, or the
    same built from PDFium's paths): TableFinder's "lines" strategy with its default
    settings, the same steps in the same order, with `_cells` for
    `intersections_to_cells`."""
    if not edges:
        return []
    settings = TABLES
    prefilter = settings.edge_min_length_prefilter
    candidates = (filter_edges(edges, "v", min_length=prefilter)
                  + filter_edges(edges, "h", min_length=prefilter))
    merged = merge_edges(candidates, snap_x_tolerance=settings.snap_x_tolerance,
                         snap_y_tolerance=settings.snap_y_tolerance,
                         join_x_tolerance=settings.join_x_tolerance,
                         join_y_tolerance=settings.join_y_tolerance)
    merged = filter_edges(merged, min_length=settings.edge_min_length)
    intersections = edges_to_intersections(merged, settings.intersection_x_tolerance,
                                           settings.intersection_y_tolerance)
    return [Table(None, group) for group in cells_to_tables(_cells(intersections))]


def _cells(intersections: dict) -> list[tuple[float, float, float, float]]:
    """pdfplumber's `intersections_to_cells`, the same cells in the same order.

    pdfplumber rebuilds both points' edge sets for every pair it tests and scans every
    later point for those directly below and to the right; on a 60-page specification
    with boxed sections that was most of the table search. Here each point's edge sets
    are built once, and the points below (the next ones in sorted order with the same
    x) and to the right (the later ones on the same y) are looked up.
    """
    points = sorted(intersections)
    vertical = {p: set(map(obj_to_bbox, e["v"])) for p, e in intersections.items()}
    horizontal = {p: set(map(obj_to_bbox, e["h"])) for p, e in intersections.items()}

    def connects(p1: tuple, p2: tuple) -> bool:
        return ((p1[0] == p2[0] and not vertical[p1].isdisjoint(vertical[p2]))
                or (p1[1] == p2[1] and not horizontal[p1].isdisjoint(horizontal[p2])))

    on_line: dict[float, list[tuple]] = {}
    for point in points:
        on_line.setdefault(point[1], []).append(point)
    place = {point: i for line in on_line.values() for i, point in enumerate(line)}
    cells = []
    for i, point in enumerate(points):
        below = []
        for other in points[i + 1:]:
            if other[0] != point[0]:
                break
            below.append(other)
        right = on_line[point[1]][place[point] + 1:]
        cell = None
        for below_point in below:
            if not connects(point, below_point):
                continue
            for right_point in right:
                if not connects(point, right_point):
                    continue
                corner = (right_point[0], below_point[1])
                if (corner in intersections and connects(corner, right_point)
                        and connects(corner, below_point)):
                    cell = (point[0], point[1], corner[0], corner[1])
                    break
            if cell:
                break
        if cell:
            cells.append(cell)
    return cells
