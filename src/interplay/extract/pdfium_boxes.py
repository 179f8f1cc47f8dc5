"""Character and ruling-line boxes read with PDFium (pypdfium2), shaped like pdfplumber's.

pdfplumber parses the PDF content streams in pure Python (pdfminer.six); PDFium does the
same in C++, about 50x faster. This module asks PDFium for every character's box and
every path's points and rewrites them in pdfplumber's terms (origin at the top left,
`top`/`bottom` from the font's descent and size, line edges as pdfplumber derives them
from pdfminer's lines, rectangles and curves), so that `interplay.extract.pdf` cuts
words, finds tables and cleans up exactly as it does with pdfplumber.

Where the two still differ (measured on the test PDFs, the demo corpus and the 60-page
REFI-QDA specification; tests/test_extract_pdfium.py holds them to this list):

- PDFium's descent for the standard 14 fonts (Helvetica, Times...) is its own
  substitute font's, not Adobe's AFM value: boxes of such text sit up to 0.4 pt lower.
  Every line moves together, so reading order and paragraphs do not change. A glyph
  whose ink overhangs its advance (an italic 't') may end up to 0.1 pt further right.
- PDFium drops a space glyph that the next character overlaps (the space before the
  dot leader of a table of contents: "Scope....... 6" reads "Scope.......6").
- Where the font has no usable Unicode map, PDFium's guess stands in for pdfminer's
  (the REFI-QDA list bullets read "-" instead of a space; `(cid:N)` does not occur).
- Right-to-left script (Arabic, Hebrew) comes out of PDFium's bidi processing:
  reordered, with brackets mirrored and spaces it inferred.
- Spaces PDFium inferred between text runs end words (see `_chars`); pdfminer, given
  no space character, joins two runs closer than 3 pt into one word.
- Text set at an angle, and pages with /Rotate, read poorly with either backend, and
  differently: PDFium's boxes for such text are the glyph boxes turned, pdfminer's
  sizes are the box heights.
- A diagonal two-point line is no table edge here; pdfplumber counts it as vertical.
- PDFium repairs some damaged files pdfminer refuses, so a truncated PDF may yield
  the text of its readable pages instead of "unreadable PDF".
"""

from __future__ import annotations

import ctypes
import itertools
import unicodedata
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from interplay.errors import ExtractionError
from interplay.extract.pdf import CORRUPT_HINT, ENCRYPTED, PageContent, page_content
from interplay.extract.pdf_words import Chars, find_tables

FORM_DEPTH = 15  # nested form XObjects followed, as pypdfium2 does by default

Matrix = tuple[float, float, float, float, float, float]


def read_pages(path: str | Path) -> list[PageContent]:
    """Every page's words and tables, as `extract.pdf` expects them."""
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as error:
        if error.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise ExtractionError(*ENCRYPTED) from None
        raise ExtractionError(f"unreadable PDF: {error}", CORRUPT_HINT) from None
    try:
        return [_read_page(document, index) for index in range(len(document))]
    except pdfium.PdfiumError as error:
        raise ExtractionError(f"unreadable PDF: {error}", CORRUPT_HINT) from None
    finally:
        document.close()


def _read_page(document: pdfium.PdfDocument, index: int) -> PageContent:
    page = document[index]
    textpage = page.get_textpage()
    try:
        frame = PageFrame.of(page)
        chars = _chars(textpage, frame)
        tables = find_tables(_edges(page, frame))
        return page_content(frame.width, frame.height, chars, tables)
    finally:
        textpage.close()
        page.close()


class PageFrame:
    """From PDF user space to pdfplumber's page coordinates.

    pdfminer maps user space through the page's rotation and MediaBox origin, and
    pdfplumber then measures `top` down from the (rotated) MediaBox height; the same
    two steps are folded into one affine map here.
    """

    def __init__(self, mediabox: tuple[float, float, float, float], rotation: int):
        x0, x1 = sorted(mediabox[0::2])
        y0, y1 = sorted(mediabox[1::2])
        ctm = {90: (0, -1, 1, 0, -y0, x1), 180: (-1, 0, 0, -1, x1, y1),
               270: (0, 1, -1, 0, y1, -x0)}.get(rotation % 360, (1, 0, 0, 1, -x0, -y0))
        left, bottom, right, top = (y0, x0, y1, x1) if rotation % 180 else (x0, y0, x1, y1)
        self.width, self.height = right - left, top - bottom
        self.upright = rotation % 180 == 0
        a, b, c, d, e, f = ctm
        # x' = X + left and top' = height - Y - bottom, where (X, Y) = ctm applied to (x, y)
        self.matrix: Matrix = (a, -b, c, -d, e + left, self.height - f - bottom)

    @classmethod
    def of(cls, page: pdfium.PdfPage) -> PageFrame:
        return cls(page.get_mediabox(), page.get_rotation())


def _untyped(function, result, *arguments):
    """A PDFium function re-declared with plain ints for pointers: pypdfium2's typed
    wrappers convert every argument and result, which cost more than the call itself
    in the per-character loop. `None` comes back for a null pointer."""
    address = ctypes.cast(function, ctypes.c_void_p).value
    return ctypes.CFUNCTYPE(result, *arguments)(address)


_VOID_P, _INT = ctypes.c_void_p, ctypes.c_int
# the text object as an integer address, 0 for none
_text_object = _untyped(pdfium_c.FPDFText_GetTextObject, ctypes.c_size_t, _VOID_P, _INT)
_unicode = _untyped(pdfium_c.FPDFText_GetUnicode, ctypes.c_uint, _VOID_P, _INT)
_loose_box = _untyped(pdfium_c.FPDFText_GetLooseCharBox, _INT, _VOID_P, _INT, _VOID_P)
HYPHEN_MARK = 2  # PDFium's code for a hyphen it judged to end a line (text view: U+FFFE)


def _chars(textpage: pdfium.PdfTextPage, frame: PageFrame) -> Chars:
    """The page's characters in content-stream order, in pdfplumber's coordinates.

    The horizontal extent is PDFium's loose box (origin to advance width: pdfminer's
    box); the vertical one is pdfminer's, `size` high with its foot at the font's
    descent, which is the loose box's bottom.

    PDFium also lists characters it generated (they have no text object): line breaks,
    left out, and spaces, kept as spaces. PDFium leaves a text object that holds only a
    space out of its character list and generates a space in its place, so dropping
    generated spaces loses real ones ("Editor:Fred" in the REFI-QDA specification). A
    generated space takes the box and size of the character before it, so it sits at the
    end of that character's line and run and, as a space, only ends the word.

    This is the backend's hot path, so the per-character work is one C call mapped over
    the page (no Python loop body): PDFium writes each box straight into a numpy array.
    The text comes in one call for the page (see `_page_text`), text objects are asked
    for only where they may change (see `_text_objects`), and sizes, rotation and the
    change of coordinates are applied to whole columns afterwards.
    """
    raw = textpage.raw
    handle = ctypes.cast(raw, ctypes.c_void_p).value
    count = max(pdfium_c.FPDFText_CountChars(raw), 0)
    text = _page_text(textpage, handle, count)
    boxes = np.zeros((count, 4), dtype=np.float32)  # FS_RECTF: left, top, right, bottom
    addresses = itertools.count(boxes.ctypes.data, boxes.strides[0])
    list(map(_loose_box, itertools.repeat(handle, count), range(count), addresses))
    objects = _text_objects(handle, boxes, text)
    # generated spaces: the box and text object of the last real character before them
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    last_real = np.maximum.accumulate(np.where(objects != 0, np.arange(count), -1))
    spaces = np.flatnonzero((objects == 0) & (codes == ord(" ")) & (last_real >= 0))
    before = last_real[spaces]
    boxes[spaces] = boxes[before]
    objects[spaces] = objects[before]
    boxes[spaces, 0] = boxes[spaces, 2]  # no width, right after its neighbour
    kept = np.flatnonzero(objects)
    left, high, right, low = boxes[kept].astype(np.float64).T
    # one style per text object, read at its first (always real) character
    _, first, which = np.unique(objects[kept], return_index=True, return_inverse=True)
    styles = [_style(raw, i, frame) for i in kept[first].tolist()]
    size = np.array([size for size, _ in styles], dtype=np.float64).reshape(-1)[which]
    upright = np.array([up for _, up in styles], dtype=bool).reshape(-1)[which]
    a, b, c, d, e, f = frame.matrix
    xa, xb = a * left + c * low + e, a * right + c * high + e
    ya, yb = b * left + d * low + f, b * right + d * high + f
    x0, x1 = np.minimum(xa, xb), np.maximum(xa, xb)
    top, bottom = np.minimum(ya, yb), np.maximum(ya, yb)
    top = np.where(upright, bottom - size, top)
    kept_text = codes[kept].tobytes().decode("utf-32-le", "surrogatepass")
    return Chars(list(kept_text), x0, x1, top, bottom, size, upright)


def _text_objects(handle: int, boxes: np.ndarray, text: str) -> np.ndarray:
    """Each character's text object (its address; 0 for the line breaks and spaces PDFium
    generated between objects), asking PDFium about few of the characters.

    PDFium lists a text object's characters one after another, with nothing of another
    object among them; only the bidi reordering of a line with right-to-left script
    interleaves objects, so such pages are asked about character by character. When the
    first and the last character of a stretch belong to one object, so do all between:
    only the ends of a stretch are asked about, and all its characters if they differ.
    Stretches end where the top or bottom of the boxes changes, which it does not inside
    an upright object: on the demo corpus and the benchmark's papers that asks about 6%
    of the characters.
    """
    count = len(boxes)
    if not count or any(unicodedata.bidirectional(c) in ("R", "AL") for c in set(text)):
        return _objects_of(handle, np.arange(count))
    changed = np.flatnonzero((boxes[1:, 1] != boxes[:-1, 1]) | (boxes[1:, 3] != boxes[:-1, 3]))
    first, last = np.r_[0, changed + 1], np.r_[changed, count - 1]
    objects = np.zeros(count, dtype=np.uint64)
    asked = np.zeros(count, dtype=bool)
    asked[first] = asked[last] = True
    objects[asked] = _objects_of(handle, np.flatnonzero(asked))
    stretch = np.repeat(np.arange(len(first)), last - first + 1)
    one_object = (objects[first] == objects[last]) & (objects[first] != 0)
    known = one_object[stretch]
    objects[known] = objects[first][stretch[known]]
    unknown = np.flatnonzero(~known & ~asked)
    objects[unknown] = _objects_of(handle, unknown)
    return objects


def _objects_of(handle: int, indices: np.ndarray) -> np.ndarray:
    return np.fromiter(map(_text_object, itertools.repeat(handle, len(indices)), indices.tolist()),
                       dtype=np.uint64, count=len(indices))


def _page_text(textpage: pdfium.PdfTextPage, handle: int, count: int) -> str:
    """Every character's text, by index in PDFium's list.

    One FPDFText_GetText call for the page instead of FPDFText_GetUnicode per character.
    The two views agree character for character unless PDFium left a character out of
    its text (a control or unmapped character), which makes the text shorter; that, or
    any disagreement at a sample of positions, falls back to asking per character.
    A hyphen PDFium judged to end a line reads U+FFFE in the text and 2 from
    GetUnicode; it is the hyphen pdfminer reports.
    """
    text = textpage.get_text_range(0, count) if count else ""
    samples = [*range(0, count, 61), count - 1] if count else []
    if len(text) == count and all(
            _char_text(_unicode(handle, i)) == _char_text(text[i]) for i in samples):
        return text.replace("\ufffe", "-")
    return "".join(_char_text(_unicode(handle, i)) for i in range(count))


def _char_text(code: int | str) -> str:
    if code in (HYPHEN_MARK, "\ufffe"):
        return "-"
    if isinstance(code, str):
        return code
    return chr(code) if code < 0x110000 else "\ufffd"


def _style(textpage, index: int, frame: PageFrame) -> tuple[float, bool]:
    """A text object's font size and whether it reads upright on the displayed page."""
    size = pdfium_c.FPDFText_GetFontSize(textpage, index)
    matrix = pdfium_c.FS_MATRIX()
    if not pdfium_c.FPDFText_GetMatrix(textpage, index, matrix):
        return size, frame.upright
    rotated = abs(matrix.b) > 1e-6 or abs(matrix.c) > 1e-6
    return size, rotated != frame.upright


# --- ruling lines and tables ------------------------------------------------------------

def _multiply(first: Matrix, then: Matrix) -> Matrix:
    """The matrix applying `first`, then `then` (PDF row-vector convention)."""
    a, b, c, d, e, f = first
    A, B, C, D, E, F = then
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D,
            e * A + f * C + E, e * B + f * D + F)


_SIZE = ctypes.c_size_t  # pointers as plain ints, 0 for none
_count_objects = _untyped(pdfium_c.FPDFPage_CountObjects, _INT, _VOID_P)
_get_object = _untyped(pdfium_c.FPDFPage_GetObject, _SIZE, _VOID_P, _INT)
_count_form_objects = _untyped(pdfium_c.FPDFFormObj_CountObjects, _INT, _VOID_P)
_get_form_object = _untyped(pdfium_c.FPDFFormObj_GetObject, _SIZE, _VOID_P, ctypes.c_ulong)
_object_type = _untyped(pdfium_c.FPDFPageObj_GetType, _INT, _VOID_P)
_object_matrix_into = _untyped(pdfium_c.FPDFPageObj_GetMatrix, _INT, _VOID_P, _VOID_P)
_count_segments = _untyped(pdfium_c.FPDFPath_CountSegments, _INT, _VOID_P)
_get_segment = _untyped(pdfium_c.FPDFPath_GetPathSegment, _SIZE, _VOID_P, _INT)
_segment_point = _untyped(pdfium_c.FPDFPathSegment_GetPoint, _INT, _VOID_P, _VOID_P, _VOID_P)
_segment_type = _untyped(pdfium_c.FPDFPathSegment_GetType, _INT, _VOID_P)
_segment_closes = _untyped(pdfium_c.FPDFPathSegment_GetClose, _INT, _VOID_P)


def _object_matrix(obj: int) -> Matrix:
    m = pdfium_c.FS_MATRIX()
    _object_matrix_into(obj, ctypes.addressof(m))
    return (m.a, m.b, m.c, m.d, m.e, m.f)


def _path_objects(parent: int, *, form: bool, outer: Matrix, depth: int = 0):
    """(path object, its matrix to user space), looking inside form XObjects."""
    count = (_count_form_objects if form else _count_objects)(parent)
    get = _get_form_object if form else _get_object
    for index in range(max(count, 0)):
        obj = get(parent, index)
        kind = _object_type(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            yield obj, _multiply(_object_matrix(obj), outer)
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < FORM_DEPTH - 1:
            yield from _path_objects(obj, form=True, depth=depth + 1,
                                     outer=_multiply(_object_matrix(obj), outer))


def _subpaths(obj: int, matrix: Matrix, frame: PageFrame) -> list[tuple[str, list]]:
    """A path as pdfminer sees it: per subpath, its operators ('m', 'l', 'c', 'h') and
    one page point per operator (a curve's end point; 'h' returns to the start)."""
    xy = (ctypes.c_float * 2)()
    x_at, y_at = ctypes.addressof(xy), ctypes.addressof(xy) + ctypes.sizeof(ctypes.c_float)
    # the object's matrix, then the page frame's, as one affine map
    a, b, c, d, e, f = _multiply(matrix, frame.matrix)
    moveto, bezierto = pdfium_c.FPDF_SEGMENT_MOVETO, pdfium_c.FPDF_SEGMENT_BEZIERTO
    subpaths: list[tuple[str, list]] = []
    shape, points = "", []
    beziers = 0
    for index in range(_count_segments(obj)):
        segment = _get_segment(obj, index)
        kind = _segment_type(segment)
        _segment_point(segment, x_at, y_at)
        x, y = xy
        point = (a * x + c * y + e, b * x + d * y + f)
        if kind == moveto:
            if shape:
                subpaths.append((shape, points))
            shape, points, beziers = "m", [point], 0
        elif kind == bezierto:
            beziers += 1  # PDFium lists both control points and the end point
            if beziers % 3 == 0:
                shape += "c"
                points.append(point)
        else:
            shape += "l"
            points.append(point)
        if shape and _segment_closes(segment):
            shape += "h"
            points.append(points[0])
    if shape:
        subpaths.append((shape, points))
    return subpaths


def _edge(p: tuple[float, float], q: tuple[float, float], orientation: str | None,
          kind: str) -> dict:
    x0, x1 = sorted((p[0], q[0]))
    top, bottom = sorted((p[1], q[1]))
    return {"object_type": kind, "x0": x0, "x1": x1, "top": top, "bottom": bottom,
            "doctop": top, "width": x1 - x0, "height": bottom - top,
            "orientation": orientation}


def _subpath_edges(shape: str, points: list) -> list[dict]:
    """pdfplumber's edges for one subpath: a two-point line is one edge; anything else
    (rectangles included) gives an edge per side, horizontal or vertical ones counting."""
    if len(shape) > 3 and shape.endswith("lh") and points[-2] == points[0]:
        shape, points = shape[:-2] + "h", points[:-2] + points[-1:]
    if shape in ("ml", "mlh"):
        p, q = points[0], points[1]
        return [_edge(p, q, "h" if p[1] == q[1] else "v", "line")]
    edges = []
    for p, q in itertools.pairwise(points):
        orientation = "v" if p[0] == q[0] else "h" if p[1] == q[1] else None
        edges.append(_edge(p, q, orientation, "curve_edge"))
    return edges


def _edges(page: pdfium.PdfPage, frame: PageFrame) -> list[dict]:
    identity: Matrix = (1, 0, 0, 1, 0, 0)
    edges = []
    handle = ctypes.cast(page.raw, ctypes.c_void_p).value
    for obj, matrix in _path_objects(handle, form=False, outer=identity):
        for shape, points in _subpaths(obj, matrix, frame):
            edges.extend(_subpath_edges(shape, points))
    return edges
