"""The pypdfium2 backend against pdfplumber, and the vectorised word and table code
against pdfplumber's own: same text, or the differences documented in
interplay.extract.pdfium_boxes."""

import gzip
import json
import re
import subprocess
import sys
from importlib.resources import files

import pdfplumber
import pytest
from builders import column_lines, draw_pdf, mini_corpus, table_pdf, two_column_story_pdf
from hypothesis import given, settings
from hypothesis import strategies as st
from pdfplumber.utils import extract_text
from pdfplumber.utils.text import WordExtractor

from interplay.config import ExtractionSettings, Settings, settings_from_mapping
from interplay.errors import ConfigError, ExtractionError
from interplay.extract import extract_document, extract_to_files
from interplay.extract import pdf as pdf_module
from interplay.extract.pdf import _find_gutter, _layout_objects, _word_log_probs, extract_pdf
from interplay.extract.pdf_words import Chars, _cells, extract_words, find_tables, table_rows
from interplay.fileio import read_json

BACKENDS = ("pdfplumber", "pypdfium2")
LEFT = ["Commissioners in the county spent most", "of 2015 deciding whether community",
        "nursing should be put out to the", "market at all.", "",
        "In the end the governing body chose to", "work with the incumbent trust instead."]
RIGHT = ["The alliance board met monthly and kept", "a shared risk register across all five",
         "partners.", "", "Money followed the outcomes framework", "from April 2017."]


def _two_columns(path):
    return draw_pdf(path, [column_lines(56, 100, LEFT) + column_lines(310, 100, RIGHT),
                           column_lines(56, 100, ["Page two opens with a line of its own",
                                                  "and then ends."])])


def _hyphenated(path):
    lines = ["The CCG reviewed the commis-", "sioning of adult hearing services and a well-",
             "known local charity bid for the work."]
    return draw_pdf(path, [column_lines(56, 100, lines)], header=None)


def _continued(path):
    return draw_pdf(path, [column_lines(56, 100, ["The review found that the tender had not"]),
                           column_lines(56, 100, ["attracted any credible bidders.", "",
                                                  "New paragraph."])])


def _mixed_sizes(path):
    pages = [column_lines(56, 100, ["Procurement route", "", *LEFT]),
             column_lines(56, 100, RIGHT)]
    return draw_pdf(path, pages, size=11)


def _report(path, repo):
    source = (repo / "tests" / "data" / "unseen_report.txt").read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in source.split("\n\n") if p.strip()]
    return two_column_story_pdf(path, paragraphs, "Review of community services procurement")


FIXTURES = {"two_columns": _two_columns, "hyphenated": _hyphenated, "continued": _continued,
            "mixed_sizes": _mixed_sizes, "table": table_pdf}


def _same(path):
    reference, fast = (extract_pdf(path, backend=backend) for backend in BACKENDS)
    assert fast.text == reference.text
    assert fast.page_starts == reference.page_starts
    assert fast.warnings == reference.warnings


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_backends_agree_on_the_test_pdfs(tmp_path, name):
    _same(FIXTURES[name](tmp_path / f"{name}.pdf"))


def test_backends_agree_on_a_hyphenated_two_column_report(tmp_path, repo):
    _same(_report(tmp_path / "report.pdf", repo))


def _demo_pdfs():
    from conftest import REPO

    return sorted(p.relative_to(REPO).as_posix() for p in (REPO / "corpus").rglob("*.pdf"))


@pytest.mark.parametrize("relative", _demo_pdfs())
def test_backends_agree_on_the_demo_corpus(repo, relative):
    _same(repo / relative)


def _documented(text: str) -> str:
    """The REFI-QDA text with the documented differences taken out: a space glyph under a
    dot leader (PDFium drops it), list bullets without a Unicode mapping (PDFium reads
    '-', pdfminer a space), and right-to-left script (PDFium applies the bidi algorithm:
    reorders, mirrors '<' and '>', infers spaces), of which only the Latin letters and
    digits are compared."""
    text = re.sub(r" ?(\.{4,}) ?", r"\1", text)
    text = re.sub(r"(^|\s)- (?=\S)", r"\1", text, flags=re.MULTILINE)
    paragraphs = []
    for paragraph in text.split("\n\n"):
        if re.search(r"[\u0590-\u08ff]", paragraph):
            paragraph = "".join(re.findall(r"[A-Za-z0-9]", paragraph))
        paragraphs.append(" ".join(paragraph.split()))
    return "\n\n".join(paragraphs)


def test_backends_differ_on_a_real_specification_only_as_documented(shared):
    path = shared / "refi-qda" / "REFI-QDA-1-5.pdf"
    reference, fast = (extract_pdf(path, backend=backend) for backend in BACKENDS)
    assert fast.text != reference.text  # the differences are real; see _documented
    assert _documented(fast.text) == _documented(reference.text)
    assert len(fast.page_starts) == len(reference.page_starts) == 60
    assert "REFI-QDA" not in fast.text.splitlines()[5:]  # running header gone here too


@pytest.mark.parametrize("backend", BACKENDS)
def test_unreadable_encrypted_and_scanned_pdfs_fail_alike(tmp_path, backend):
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    good = _two_columns(tmp_path / "good.pdf")
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(good.read_bytes()[:300])
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.4\n this is not really a pdf at all \x00\x01")
    for path in (truncated, garbage):
        with pytest.raises(ExtractionError, match="unreadable PDF|no text layer"):
            extract_pdf(path, backend=backend)
    locked = tmp_path / "locked.pdf"
    pdf = canvas.Canvas(str(locked), encrypt=pdfencrypt.StandardEncryption(
        "secret", ownerPassword="owner", canPrint=0))
    pdf.drawString(56, 700, "Confidential board paper")
    pdf.save()
    with pytest.raises(ExtractionError, match="encrypted PDF"):
        extract_pdf(locked, backend=backend)
    scan = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(scan))
    pdf.rect(100, 100, 300, 400, fill=1)
    pdf.showPage()
    pdf.save()
    with pytest.raises(ExtractionError, match="no text layer: needs OCR"):
        extract_pdf(scan, backend=backend)


def test_unknown_backend_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown PDF backend 'fitz'"):
        extract_pdf(_hyphenated(tmp_path / "a.pdf"), backend="fitz")


# --- the config option ------------------------------------------------------------------

def test_config_option_is_validated():
    assert Settings().extraction.pdf_backend == "pdfplumber"
    chosen = settings_from_mapping({"extraction": {"pdf_backend": "pypdfium2"}})
    assert chosen.extraction == ExtractionSettings(pdf_backend="pypdfium2")
    with pytest.raises(ConfigError, match="key 'extraction.pdf_backend'"):
        settings_from_mapping({"extraction": {"pdf_backend": "fitz"}})


def test_extract_document_uses_the_backend_it_is_given(tmp_path, monkeypatch):
    from interplay.extract import pdfium_boxes

    path = _hyphenated(tmp_path / "a.pdf")
    calls = []
    real = pdfium_boxes.read_pages
    monkeypatch.setattr(pdfium_boxes, "read_pages", lambda p: calls.append(p) or real(p))
    extract_document(path)
    assert calls == []
    extract_document(path, pdf_backend="pypdfium2")
    assert calls == [path]
    info = extract_to_files(path, tmp_path / "a.txt", tmp_path / "a.json", doc_id="A",
                            display_path="a.pdf", pdf_backend="pypdfium2")
    assert info["pdf_backend"] == read_json(tmp_path / "a.json")["pdf_backend"] == "pypdfium2"


def test_workflow_passes_the_configured_backend_to_extraction(tmp_path, repo):
    corpus = mini_corpus(tmp_path)
    outputs = tmp_path / "outputs"
    target = outputs / "text" / "A-DOC-02.json"
    subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"),
                    "--directory", str(repo), "--cores", "1", str(target),
                    "--config", f"corpus={corpus}", f"outputs={outputs}",
                    "extraction={pdf_backend: pypdfium2}"],
                   cwd=repo, check=True, capture_output=True)
    info = read_json(target)
    assert info["pdf_backend"] == "pypdfium2"
    assert info["chars"] > 100


# --- pdfplumber's algorithms, rewritten: same results --------------------------------------

def _pdfplumber_pages(path):
    with pdfplumber.open(path) as pdf:
        return [(page.chars, page.extract_words(extra_attrs=["size"], use_text_flow=False),
                 page.find_tables()) for page in pdf.pages]


WORD_KEYS = ("text", "x0", "x1", "top", "bottom", "size")


EDGE_KEYS = ("x0", "x1", "top", "bottom", "width", "height", "orientation", "object_type")
CHAR_KEYS = ("x0", "x1", "top", "bottom", "size", "upright")


def _same_layout_objects(path):
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            chars, edges = _layout_objects(page)
            reference = Chars.from_dicts(page.chars)
            assert chars.text == reference.text
            for key in CHAR_KEYS:
                assert getattr(chars, key).tolist() == getattr(reference, key).tolist()
            assert [tuple(e[k] for k in EDGE_KEYS) for e in edges] == \
                   [tuple(e[k] for k in EDGE_KEYS) for e in page.edges]
            assert [t.cells for t in find_tables(edges)] == \
                   [t.cells for t in page.find_tables()]


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_characters_edges_and_tables_read_as_pdfplumber_reads_them(tmp_path, name):
    _same_layout_objects(FIXTURES[name](tmp_path / f"{name}.pdf"))


@pytest.mark.parametrize("relative", _demo_pdfs()[:6])
def test_characters_edges_and_tables_on_demo_papers(repo, relative):
    _same_layout_objects(repo / relative)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_words_and_table_cells_match_pdfplumber_on_real_pages(tmp_path, name):
    for chars, words, tables in _pdfplumber_pages(FIXTURES[name](tmp_path / f"{name}.pdf")):
        ours = extract_words(Chars.from_dicts(chars))
        assert [tuple(w[k] for k in WORD_KEYS) for w in ours] == \
               [tuple(w[k] for k in WORD_KEYS) for w in words]
        for table in tables:
            expected = [[" ".join((cell or "").split()) for cell in row]
                        for row in table.extract()]
            assert table_rows(table, Chars.from_dicts(chars)) == expected


def _char(text, x0, width, top, size):
    return {"text": text, "x0": x0, "x1": x0 + width, "top": top, "bottom": top + size,
            "doctop": top, "size": size, "upright": True}


CHARS = st.lists(st.builds(
    _char,
    text=st.sampled_from(["a", "b", "C", "1", ".", " ", "\u00a0", "", "ﬁ", "é"]),
    x0=st.integers(0, 60).map(lambda v: v * 2.5),
    width=st.sampled_from([0.0, 2.0, 4.5, 6.1]),
    top=st.sampled_from([10.0, 11.5, 12.0, 13.9, 15.0, 20.0, 23.5, 40.0]),
    size=st.sampled_from([8.0, 10.0])), max_size=80)


@settings(max_examples=300, deadline=None)
@given(CHARS)
def test_words_match_pdfplumber_on_random_characters(chars):
    for by_size, extractor in ((True, WordExtractor(extra_attrs=["size"])),
                               (False, WordExtractor())):
        expected = extractor.extract_words(chars)
        ours = extract_words(Chars.from_dicts(chars), by_size=by_size)
        keys = WORD_KEYS if by_size else WORD_KEYS[:-1]
        assert [tuple(w[k] for k in keys) for w in ours] == \
               [tuple(w[k] for k in keys) for w in expected]


@settings(max_examples=200, deadline=None)
@given(CHARS)
def test_cell_text_matches_pdfplumber_on_random_characters(chars):
    from interplay.extract.pdf_words import cell_text

    assert cell_text(Chars.from_dicts(chars)) == " ".join(extract_text(chars).split())


def _reference_gutter(rows, width):
    """interplay's column-gutter search as first written, in plain Python."""
    def crosses(row, x):
        return any(w["x0"] < x < w["x1"] for w in row)

    scores = []
    x = width * 0.3
    while x <= width * 0.7:
        crossing = left = right = 0
        for row in rows:
            if crosses(row, x):
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
    runs = []
    for x, score in scores:
        if score == best and runs and x - runs[-1][-1] <= 2.0:
            runs[-1].append(x)
        elif score == best:
            runs.append([x])
    widest = max(runs, key=len)
    return (widest[0] + widest[-1]) / 2


GRID = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(1, 3),
                          st.booleans()), max_size=30)


@settings(max_examples=300, deadline=None)
@given(GRID)
def test_cells_match_pdfplumber_on_random_rulings(lines):
    """Horizontal and vertical rules on a small grid, some crossing, some not."""
    from pdfplumber.table import edges_to_intersections, intersections_to_cells

    edges = []
    for a, b, length, vertical in lines:
        x, y = a * 10.0, b * 10.0
        x1, y1 = (x, y + length * 10) if vertical else (x + length * 10, y)
        edges.append({"x0": x, "x1": x1, "top": y, "bottom": y1, "width": x1 - x,
                      "height": y1 - y, "orientation": "v" if vertical else "h",
                      "object_type": "line", "doctop": y})
    intersections = edges_to_intersections(edges, 3, 3)
    assert _cells(intersections) == intersections_to_cells(intersections)


WORD_BOX = st.tuples(st.integers(0, 100).map(lambda v: v * 5.0), st.integers(1, 40))
ROWS = st.lists(st.lists(WORD_BOX, min_size=1, max_size=6), max_size=25)


@settings(max_examples=300, deadline=None)
@given(ROWS)
def test_gutter_search_matches_the_plain_python_version(boxes):
    rows = [[{"x0": x0, "x1": x0 + width} for x0, width in row] for row in boxes]
    assert _find_gutter(rows, 500.0) == _reference_gutter(rows, 500.0)


def test_word_frequencies_head_decides_as_the_whole_file_would():
    data = files("spacy_lookups_data") / "data" / "en_lexeme_prob.json.gz"
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as handle:
        whole = json.load(handle)
    head = _word_log_probs()
    assert len(head) < len(whole) / 2  # it did stop early
    for word, prob in whole.items():
        if prob >= pdf_module.RARE_WORD:
            assert head[word] == prob
    assert all(whole[word] == prob for word, prob in head.items())
