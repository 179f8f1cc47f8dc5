"""End to end: the Snakemake workflow on small corpora the tests build, and on the demo corpus."""

import json
from pathlib import Path

import pdfplumber
import pytest
from builders import mini_corpus
from conftest import read_csv, run_pipeline

from interplay.cli import main
from interplay.metadata import read_corpus


def assert_offsets_hold(outputs: Path, passages: list[dict]) -> None:
    texts: dict[str, str] = {}
    for row in passages:
        if row["doc_id"] not in texts:
            with open(outputs / "text" / f"{row['doc_id']}.txt", encoding="utf-8",
                      newline="") as handle:
                texts[row["doc_id"]] = handle.read()
        source = texts[row["doc_id"]]
        assert source[int(row["start"]):int(row["end"])] == row["text"], row["passage_id"]


@pytest.fixture(scope="module")
def mini_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("mini")
    corpus = mini_corpus(root)
    (corpus / "site_a" / "broken.pdf").write_bytes(b"%PDF-1.4 truncated \x00")
    with open(corpus / "metadata.csv", "a", encoding="utf-8") as handle:
        handle.write("A-BAD-01,site_a/broken.pdf,site_a,document,provider,2016,Broken\n"
                     "A-GONE-01,site_a/gone.pdf,site_a,document,provider,2016,Missing\n")
    (corpus / "site_a" / "stray.txt").write_text("An unlisted note on the pooled budget.\n")
    run_pipeline(corpus, root / "out")
    return corpus, root / "out"


def test_one_bad_document_does_not_lose_the_others(mini_run):
    _corpus, outputs = mini_run
    problems = read_csv(outputs / "problems.csv")
    errors = {p["doc_id"]: p for p in problems if p["severity"] == "error"}
    assert set(errors) == {"A-BAD-01", "A-GONE-01"}
    assert errors["A-BAD-01"]["problem"].startswith("unreadable PDF")
    assert errors["A-BAD-01"]["path"] == "site_a/broken.pdf" and errors["A-BAD-01"]["hint"]
    assert "not found" in errors["A-GONE-01"]["problem"]
    warnings = {(p["doc_id"], p["problem"]) for p in problems if p["severity"] == "warning"}
    assert ("A-NOTE-01", "decoded as cp1252 (not valid UTF-8)") in warnings
    assert any(doc.startswith("unlisted__") for doc, _ in warnings)

    passages = read_csv(outputs / "passages.csv")
    by_doc = {row["doc_id"] for row in passages}
    assert {"A-INT-01", "A-NOTE-01", "A-DOC-01", "A-DOC-02", "unlisted__site_a__stray"} <= by_doc
    assert "A-BAD-01" not in by_doc
    assert_offsets_hold(outputs, passages)
    info = json.loads((outputs / "text" / "A-DOC-02.json").read_text())
    assert [p["page"] for p in info["pages"]] == [1, 2]
    respondent = [r for r in passages if r["doc_id"] == "A-INT-01" and r["speaker"] == "R1"]
    assert respondent[1]["text"].startswith("Well, we chose not to go out to tender.")
    assert {r["speaker_role"] for r in respondent} == {"commissioner"}
    for log in ("extract/A-DOC-02.log", "segment/A-DOC-02.log", "collect_passages.log"):
        assert (outputs / "logs" / log).read_text().strip()


def test_rerun_without_change_does_nothing_and_ids_are_stable(mini_run, tmp_path, capsys):
    corpus, outputs = mini_run
    before = (outputs / "passages.csv").read_text()
    run_pipeline(corpus, outputs)
    assert "Nothing to do" in capsys.readouterr().err
    run_pipeline(corpus, tmp_path / "fresh")
    assert (tmp_path / "fresh" / "passages.csv").read_text() == before


def test_outputs_inside_the_corpus_are_refused(mini_run, capsys):
    corpus, _ = mini_run
    assert main(["run", "--corpus", str(corpus), "--outputs", str(corpus / "out")]) == 2
    assert "overlap" in capsys.readouterr().err


def test_demo_corpus_is_coded_with_scores_and_evidence(demo_run):
    _, outputs = demo_run
    coded = read_csv(outputs / "coded_passages.csv")
    passages = read_csv(outputs / "passages.csv")
    assert [r["passage_id"] for r in coded] == [r["passage_id"] for r in passages]
    with_codes = [r for r in coded if r["codes"]]
    assert len(with_codes) > 0.4 * sum(r["codable"] == "True" for r in passages)
    for row in with_codes:
        for code in row["codes"].split(";"):
            assert float(row[f"score:{code}"]) > 0
            assert row["evidence"] and f"{code}:" in row["evidence"]
        assert row["orientation"] in {"competition", "cooperation", "interplay", "context"}
    assert {r["orientation"] for r in with_codes} == {"competition", "cooperation", "interplay",
                                                      "context"}
    interviewer = [r for r in coded if r["speaker_role"] == "interviewer"]
    assert interviewer and not any(r["codes"] for r in interviewer)
    evaluation = json.loads((outputs / "evaluation.json").read_text())
    per_code = evaluation["cross_validation"]["per_code"]
    assert len(per_code) == 11
    assert all({"precision", "recall", "f1", "kappa"} <= set(v) for v in per_code.values())
    assert all(n >= 25 for n in evaluation["training"]["positives_per_code"].values())
    assert (outputs / "model" / "coder.joblib").is_file()


def test_demo_corpus_complete_with_exact_offsets(demo_run):
    corpus, outputs = demo_run
    index = read_corpus(corpus)
    assert index.problems == [] and index.warnings == []
    passages = read_csv(outputs / "passages.csv")
    assert {row["doc_id"] for row in passages} == set(index.by_id())
    assert_offsets_hold(outputs, passages)
    errors = [p for p in read_csv(outputs / "problems.csv") if p["severity"] == "error"]
    assert errors == []
    multi_page = 0
    for document in index.documents:
        info = json.loads((outputs / "text" / f"{document.doc_id}.json").read_text())
        if info["format"] == "pdf":
            with pdfplumber.open(corpus / document.path) as pdf:
                assert len(info["pages"]) == len(pdf.pages), document.doc_id
            multi_page += len(pdf.pages) >= 2
    assert multi_page >= 30  # running headers and footers need pages to repeat on


def test_demo_corpus_shape(repo):
    documents = read_corpus(repo / "corpus").documents
    sites = {d.site for d in documents} - {"national"}
    assert len(sites) == 4
    for site in sites:
        here = [d for d in documents if d.site == site]
        assert sum(d.kind == "interview" for d in here) >= 5, site
        assert sum(d.kind == "document" for d in here) >= 2, site
        assert {"commissioner", "provider", "local_authority"} <= {d.actor for d in here}
    suffixes = {Path(d.path).suffix for d in documents}
    assert suffixes == {".pdf", ".docx", ".txt"}


def test_demo_pdf_and_docx_text_matches_the_sources(repo, demo_run):
    """Every source paragraph comes back; exactly, but for the odd hyphen at a line end
    ('in-house' broken as 'in-' + 'house' reads the same as 'inhouse' to the extractor)."""
    from demo_sources import source_paragraphs

    _, outputs = demo_run
    checked = exact = 0
    for prefix in ("pdf", "docx"):
        for doc_id, paragraphs in source_paragraphs(repo, prefix).items():
            text = " ".join((outputs / "text" / f"{doc_id}.txt").read_text().split())
            unhyphenated = text.replace("-", "")
            missing = [p for p in paragraphs if p.replace("-", "") not in unhyphenated]
            assert not missing, (doc_id, missing[:2])
            checked += len(paragraphs)
            exact += sum(p in text for p in paragraphs)
    assert checked > 700 and exact / checked >= 0.98


def test_every_demo_annotation_lands_on_one_passage(repo, demo_run):
    _, outputs = demo_run
    passages = read_csv(outputs / "passages.csv")
    def normal(text: str) -> str:  # the extractor may rejoin a hyphenated line end
        return " ".join(text.split()).replace("-", "")

    by_doc: dict[str, list[str]] = {}
    for row in passages:
        by_doc.setdefault(row["doc_id"], []).append(normal(row["text"]))
    annotations = [row for path in sorted((repo / "corpus" / "annotations").glob("*.csv"))
                   for row in read_csv(path)]
    assert len(annotations) > 1000
    for row in annotations:
        text = normal(row["text"])
        hits = [p for p in by_doc[row["doc_id"]] if text in p or p in text]
        assert len(hits) >= 1, (row["doc_id"], text[:80])


def test_demo_qdpx_validates_and_points_at_the_coded_passages(demo_run, shared):
    import zipfile

    from lxml import etree

    from interplay.refi import NS

    _, outputs = demo_run
    schema = etree.XMLSchema(etree.parse(str(shared / "refi-qda" / "Project-mrt2019.xsd")))
    coded = {r["passage_id"]: r for r in read_csv(outputs / "coded_passages.csv") if r["codes"]}
    with zipfile.ZipFile(outputs / "project.qdpx") as archive:
        project = etree.fromstring(archive.read("project.qde"))
        schema.assertValid(project)
        ns = {"q": NS}
        checked = 0
        for source in project.findall(".//q:TextSource", ns):
            name = source.get("plainTextPath").removeprefix("internal://")
            text = archive.read(f"sources/{name}").decode("utf-8")
            for selection in source.findall("q:PlainTextSelection", ns):
                row = coded[selection.get("name")]
                start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
                assert text[start:end] == row["text"]
                assert len(selection.findall("q:Coding", ns)) == len(row["codes"].split(";"))
                checked += 1
    assert checked == len(coded)
