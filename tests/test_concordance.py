"""Concordance (`interplay kwic`): occurrences, filters, exact offsets, the command."""

import csv
from pathlib import Path

import pytest

from interplay.cli import main
from interplay.concordance import find_occurrences
from interplay.passage_table import CodedPassage, read_coded_passages
from interplay.training import CODED_COLUMNS

TENDER, TRUST = "competition.tendering", "cooperation.relationships"
DOCUMENTS = {
    "d1": "Intro line.\n\nTender was run. We tendered twice and the TENDER   process\n"
          "took months, said the tender\n\nNo tenderness here, but tenders and retendering.",
    "d2": "Preamble.\n\nThe tendering round ended; trust grew after the tender process.",
}
# (passage_id, doc_id, site, paragraph number in the document, codes)
LAYOUT = [("d1-p1", "d1", "north", 1, (TENDER,)), ("d1-p2", "d1", "north", 2, ()),
          ("d2-p1", "d2", "south", 1, (TENDER, TRUST))]


def passages() -> list[CodedPassage]:
    made = []
    for passage_id, doc_id, site, number, codes in LAYOUT:
        text = DOCUMENTS[doc_id]
        paragraph = text.split("\n\n")[number]
        start = text.index(paragraph)
        made.append(CodedPassage(
            passage_id=passage_id, doc_id=doc_id, site=site, actor="commissioner",
            kind="interview", speaker_role="", page="", start=start,
            end=start + len(paragraph), text=paragraph, codes=codes, orientation="",
            scores={TENDER: 0.5, TRUST: 0.1}, coded_by="machine", machine_codes=codes))
    return made


def outputs_folder(root: Path) -> Path:
    outputs = root / "outputs"
    (outputs / "text").mkdir(parents=True)
    for doc_id, text in DOCUMENTS.items():
        (outputs / "text" / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    columns = [*CODED_COLUMNS, f"score:{TENDER}", f"score:{TRUST}", "evidence"]
    with open(outputs / "coded_passages.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for p in passages():
            writer.writerow({
                "passage_id": p.passage_id, "doc_id": p.doc_id, "site": p.site,
                "actor": p.actor, "kind": p.kind, "speaker_role": "", "page": "",
                "start": p.start, "end": p.end, "text": p.text, "codes": ";".join(p.codes),
                "orientation": "", "coded_by": "machine", "machine_codes": ";".join(p.codes),
                "review_status": "", "review_comments": "", f"score:{TENDER}": 0.5,
                f"score:{TRUST}": 0.1, "evidence": ""})
    return outputs


def assert_exact(hits):
    for hit in hits:
        assert DOCUMENTS[hit.doc_id][hit.start:hit.end] == hit.match


def test_every_whole_word_occurrence_case_insensitive_with_exact_offsets():
    hits = find_occurrences(passages(), "tender", lemma=False, code=None, site=None, width=60)
    assert [(h.passage_id, h.match) for h in hits] == [
        ("d1-p1", "Tender"), ("d1-p1", "TENDER"), ("d1-p1", "tender"), ("d2-p1", "tender")]
    assert_exact(hits)
    first, last = hits[0], hits[2]
    assert first.left == "" and first.start == DOCUMENTS["d1"].index("Tender")  # passage start
    assert last.right == "" and last.end == passages()[0].end  # passage end
    assert "tenderness" not in {h.match.lower() for h in hits}


def test_phrase_across_whitespace_and_context_collapsed():
    hits = find_occurrences(passages(), "tender  process", lemma=False, code=None, site=None,
                            width=12)
    assert [h.match for h in hits] == ["TENDER   process", "tender process"]
    assert_exact(hits)
    assert hits[0].left == "ice and the " and hits[0].right == " took months"
    assert all(len(h.left) <= 12 and len(h.right) <= 12 for h in hits)


def test_lemma_mode_finds_inflections_but_not_other_words():
    hits = find_occurrences(passages(), "tender", lemma=True, code=None, site=None, width=20)
    assert [h.match for h in hits] == ["Tender", "tendered", "TENDER", "tender", "tenders",
                                       "tendering", "tender"]
    assert_exact(hits)
    phrase = find_occurrences(passages(), "tender processes", lemma=True, code=None, site=None,
                              width=20)
    assert [h.match for h in phrase] == ["TENDER   process", "tender process"]
    assert_exact(phrase)


def test_code_and_site_filters():
    by_code = find_occurrences(passages(), "tender", lemma=True, code=TRUST, site=None, width=5)
    assert {h.passage_id for h in by_code} == {"d2-p1"}
    assert by_code[0].codes == (TENDER, TRUST)
    by_site = find_occurrences(passages(), "tender", lemma=False, code=None, site="north",
                               width=5)
    assert {h.site for h in by_site} == {"north"} and len(by_site) == 3
    assert find_occurrences(passages(), "tender", lemma=False, code=TENDER, site="south",
                            width=5)[0].passage_id == "d2-p1"


def test_offsets_exact_against_written_document_text(tmp_path):
    outputs = outputs_folder(tmp_path)
    read = read_coded_passages(outputs / "coded_passages.csv")
    for hit in find_occurrences(read, "tender", lemma=True, code=None, site=None, width=10):
        document = (outputs / "text" / f"{hit.doc_id}.txt").read_text(encoding="utf-8")
        assert document[hit.start:hit.end] == hit.match


def test_cli_prints_table_and_writes_csv(tmp_path, capsys):
    outputs = outputs_folder(tmp_path)
    out = tmp_path / "kwic.csv"
    assert main(["kwic", "tender", "--lemma", "--site", "north", "--width", "15",
                 "--outputs", str(outputs), "--csv", str(out)]) == 0
    captured = capsys.readouterr()
    assert "tendered" in captured.out and "d1-p2" in captured.out
    assert "5 occurrence(s)" in captured.err
    with open(out, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["passage_id", "doc_id", "site", "start", "end", "left", "match",
                             "right", "codes"]
    assert [r["match"] for r in rows] == ["Tender", "tendered", "TENDER", "tender", "tenders"]
    for row in rows:
        assert DOCUMENTS[row["doc_id"]][int(row["start"]):int(row["end"])] == row["match"]
    assert rows[0]["codes"] == TENDER and rows[-1]["codes"] == ""


def test_cli_code_filter(tmp_path):
    outputs = outputs_folder(tmp_path)
    out = tmp_path / "kwic.csv"
    assert main(["kwic", "tender", "--code", TRUST, "--outputs", str(outputs),
                 "--csv", str(out)]) == 0
    with open(out, encoding="utf-8", newline="") as handle:
        assert [r["passage_id"] for r in csv.DictReader(handle)] == ["d2-p1"]


@pytest.mark.parametrize("argv, message", [
    (["--outputs", "{missing}"], "run `interplay run` first"),
    (["--outputs", "{outputs}", "--code", "no.such.code"], "not in the codebook"),
])
def test_cli_errors_clearly(tmp_path, capsys, argv, message):
    outputs = outputs_folder(tmp_path)
    argv = [a.format(missing=tmp_path / "nowhere", outputs=outputs) for a in argv]
    assert main(["kwic", "tender", *argv]) == 2
    assert message in capsys.readouterr().err
