"""What moved between runs: the comparison core on hand-built runs, `interplay diff` on
fabricated outputs folders, and changes.csv/.md written by the pipeline after a codebook
edit (one small corpus run three times: first run, codebook edited, nothing changed)."""

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from builders import mini_corpus_with_interview
from conftest import REPO, read_csv, run_pipeline

from interplay.changes import (
    CHANGE_COLUMNS,
    RunFolderError,
    RunView,
    changes_markdown,
    compare,
    existing_snapshot,
    flatten_figures,
    matrix_figures,
    passage_changes,
    read_run,
    record_changes,
    site_digests,
)
from interplay.cli import main
from interplay.passage_table import CodedPassage

TENDER, PARTNER = "competition.tendering", "cooperation.partnership"
CODES = (TENDER, PARTNER)


def passage(passage_id: str, codes: str = "", *, site: str = "site_a", codable: bool = True,
            scores: tuple[float, float] = (0.1, 0.2), text: str = "Some words here.",
            ) -> CodedPassage:
    doc_id = passage_id.split(":")[0]
    return CodedPassage(
        passage_id=passage_id, doc_id=doc_id, site=site, actor="commissioner",
        kind="interview", speaker_role="", page="", start=0, end=len(text), text=text,
        codes=tuple(c for c in codes.split(";") if c), orientation="",
        scores=dict(zip(CODES, scores)) if codable else {})


def view(passages: list[CodedPassage], figures: dict | None = None) -> RunView:
    figures = figures or {}
    return RunView(folder="run", codes=CODES, passages={p.passage_id: p for p in passages},
                   matrix=matrix_figures(passages, CODES, {s for s, _ in figures}),
                   figures=figures, provenance={})


# ---------------------------------------------------------------------------------------
# The core


def test_each_code_gained_or_lost_is_one_row_with_both_scores():
    before = [passage("D:1", TENDER, scores=(0.8, 0.3)), passage("D:2"),
              passage("D:3", PARTNER)]
    after = [passage("D:1", PARTNER, scores=(0.4, 0.7)), passage("D:2"),
             passage("D:3", PARTNER)]
    changes = passage_changes({p.passage_id: p for p in before},
                              {p.passage_id: p for p in after}, CODES)
    assert [(c.change, c.passage_id, c.code, c.score_before, c.score_after,
             c.codes_before, c.codes_after) for c in changes] == [
        ("lost", "D:1", TENDER, 0.8, 0.4, (TENDER,), (PARTNER,)),
        ("gained", "D:1", PARTNER, 0.3, 0.7, (TENDER,), (PARTNER,))]


def test_passages_in_one_run_only_are_added_or_removed_not_recoded():
    before = [passage("D:old", TENDER), passage("D:kept")]
    after = [passage("D:kept"), passage("E:new", PARTNER)]
    changes = passage_changes({p.passage_id: p for p in before},
                              {p.passage_id: p for p in after}, CODES)
    assert [(c.change, c.passage_id, c.code, c.codes_before, c.codes_after)
            for c in changes] == [("added", "E:new", "", (), (PARTNER,)),
                                  ("removed", "D:old", "", (TENDER,), ())]


def test_matrix_cells_count_passages_and_share_of_codable_as_the_matrix_does():
    passages = [passage("D:1", TENDER), passage("D:2", f"{TENDER};{PARTNER}"),
                passage("D:3"), passage("D:4", codable=False),
                passage("E:1", PARTNER, site="site_b")]
    figures = matrix_figures(passages, CODES, ["site_c"])
    assert figures[("site_a", "", "codable passages")] == 3
    assert figures[("site_a", TENDER, "passages")] == 2
    assert figures[("site_a", TENDER, "share of codable")] == 0.6667  # summarise.share rounds
    assert figures[("site_b", PARTNER, "share of codable")] == 1.0
    assert figures[("site_c", TENDER, "passages")] == 0  # a site without passages: zeros


def test_moved_matrix_cells_include_shares_moved_by_a_new_codable_passage():
    before = view([passage("D:1", TENDER), passage("D:2", codable=False)])
    after = view([passage("D:1", TENDER), passage("D:2")])
    comparison = compare(before, after)
    assert comparison.passages == []
    assert [(c.site, c.code, c.figure, c.before, c.after, c.change)
            for c in comparison.matrix] == [
        ("site_a", "", "codable passages", 1, 2, "up"),
        ("site_a", TENDER, "share of codable", 1.0, 0.5, "down")]
    [digest] = site_digests(comparison)
    assert digest.cells == [("", "1", "2"),
                            (TENDER, "1 passage (100% of codable)", "1 passage (50% of codable)")]


def test_site_figures_are_every_number_outside_quotes_under_stable_keys():
    summary = {
        "site": "site_a", "narrative": "12 sources",
        "passages": {"total": 10, "codable": 8},
        "who_coded": {"passages": {"machine": 8}, "reviewers": ["alice"]},
        "code_profile": [{"code": TENDER, "label": "Tendering", "passages": 2, "share": 0.25}],
        "sources": {"docs": [{"doc_id": "D", "title": "x", "passages": 10, "coded": 3}]},
        "interplay_passages": [{"passage_id": "D:1", "score": 0.9, "start": 0}],
        "quotes": {TENDER: [{"passage_id": "D:1", "score": 0.9}]},
        "flag": True}
    assert flatten_figures(summary) == {
        "passages.total": 10, "passages.codable": 8, "who_coded.passages.machine": 8,
        f"code_profile[{TENDER}].passages": 2, f"code_profile[{TENDER}].share": 0.25,
        "sources.docs[D].passages": 10, "sources.docs[D].coded": 3}


def test_site_figures_that_moved_appear_and_disappear():
    before = view([], {("site_a", "passages.total"): 10, ("site_a", "balance.empty"): 2})
    after = view([], {("site_a", "passages.total"): 11, ("site_b", "passages.total"): 4})
    assert [(c.site, c.figure, c.before, c.after, c.change)
            for c in compare(before, after).figures] == [
        ("site_a", "passages.total", 10, 11, "up"),
        ("site_a", "balance.empty", 2, None, "removed"),
        ("site_b", "passages.total", None, 4, "added")]


def test_nothing_moved_says_so():
    run = view([passage("D:1", TENDER)], {("site_a", "passages.total"): 1})
    text = changes_markdown(compare(run, run))
    assert "Nothing moved" in text and "##" not in text


# ---------------------------------------------------------------------------------------
# Outputs folders, the snapshot and `interplay diff`


def write_run(folder: Path, passages: list[CodedPassage], *, model_id: str = "m1",
              codebook: str = "c1") -> Path:
    """A fabricated outputs folder: coded_passages.csv, one site summary per site and
    the model's metrics (what the coder was trained on)."""
    columns = ["passage_id", "doc_id", "site", "actor", "kind", "speaker_role", "page",
               "start", "end", "text", "codes", "orientation",
               *(f"score:{c}" for c in CODES)]
    folder.mkdir(parents=True)
    with open(folder / "coded_passages.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for p in passages:
            writer.writerow({**{c: getattr(p, c) for c in columns[:10]},
                             "codes": ";".join(p.codes), "orientation": "",
                             **{f"score:{c}": p.scores.get(c, "") for c in CODES}})
    (folder / "sites").mkdir()
    for site in sorted({p.site for p in passages}):
        rows = [p for p in passages if p.site == site]
        (folder / "sites" / f"{site}.json").write_text(json.dumps({
            "site": site, "passages": {"total": len(rows),
                                       "coded": sum(1 for p in rows if p.codes)},
            "quotes": {}, "narrative": "words"}), encoding="utf-8")
    (folder / "model").mkdir()
    (folder / "model" / "metrics.json").write_text(json.dumps({
        "model_id": model_id, "trained_on": {"codebook_sha256": codebook, "seed": 13}}))
    return folder


SCRIPT = "Tender <script>alert('owned')</script> & more"


@pytest.fixture
def two_runs(tmp_path):
    before = write_run(tmp_path / "a", [
        passage("D:1", TENDER), passage("D:2"), passage("D:3", PARTNER, text=SCRIPT),
        passage("E:1", PARTNER, site="site_b"), passage("D:gone", TENDER)])
    after = write_run(tmp_path / "b", [
        passage("D:1", f"{TENDER};{PARTNER}"), passage("D:2", TENDER),
        passage("D:3", text=SCRIPT), passage("E:1", PARTNER, site="site_b"),
        passage("D:new", TENDER), passage("D:extra")], model_id="m2", codebook="c2")
    return before, after


def test_interplay_diff_shows_codes_cells_and_figures_in_the_terminal(two_runs, capsys):
    before, after = two_runs
    assert main(["diff", str(before), str(after)]) == 0
    out = capsys.readouterr().out
    assert "model m1" in out and "model m2" in out
    assert "what the coder was trained on changed: codebook." in out
    assert "2 codes gained and 1 lost, on 3 passages; 2 passages added and 1 removed" in out
    assert "site_a" in out and "site_b" not in out  # nothing moved in site_b
    assert re.search(rf"{TENDER}\s*│\s*1\s*│\s*0", out)  # D:2 gained it; D:gone is not 'lost'
    assert re.search(rf"{PARTNER}\s*│\s*1\s*│\s*1", out)
    assert "Passages in one run only: 2 added, 1 removed." in out
    assert re.search(r"codable passages\s*│\s*4\s*│\s*5", out)
    assert "2 passages (50% of" in out and "3 passages (60% of" in out  # tendering cell
    assert "1 passage (25% of" in out and "1 passage (20% of" in out  # partnership cell
    assert re.search(r"passages\.total\s*│\s*4\s*│\s*5", out)
    assert "passages.coded" not in out  # 3 in both runs: not shown


def test_interplay_diff_html_is_self_contained_and_escapes_passage_text(two_runs, tmp_path,
                                                                         capsys):
    before, after = two_runs
    page_path = tmp_path / "diff" / "page.html"
    assert main(["diff", str(before), str(after), "--html", str(page_path),
                 "--site", "site_a"]) == 0
    page = page_path.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt; &amp; more" in page
    assert "<script" not in page
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page)
    assert "<link" not in page
    assert page.count("<tr>\n    <td><code>D:") == 6  # the passage list
    assert all(f"<code>D:{p}</code>" in page for p in ("1", "2", "3", "new", "extra", "gone"))


def test_interplay_diff_names_a_folder_that_is_not_an_outputs_folder(two_runs, tmp_path,
                                                                     capsys):
    before, _ = two_runs
    (tmp_path / "empty").mkdir()
    assert main(["diff", str(before), str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert f"E010: {tmp_path / 'empty'} is not an interplay outputs folder" in err
    assert "coded_passages.csv is missing" in err
    assert main(["diff", str(before), str(before), "--site", "nowhere"]) == 2
    assert "site 'nowhere' is in neither run; the sites are: site_a, site_b" in (
        capsys.readouterr().err)
    with pytest.raises(RunFolderError, match=r"sites is missing"):
        shutil.rmtree(before / "sites")
        read_run(before)


def test_record_changes_keeps_a_snapshot_and_compares_the_next_run_with_it(two_runs, tmp_path,
                                                                            capsys):
    before, after = two_runs
    outputs = tmp_path / "outputs"
    shutil.copytree(before, outputs)
    snapshot = outputs / "snapshot"
    paths = {"csv_path": outputs / "changes.csv", "md_path": outputs / "changes.md",
             "snapshot": snapshot}
    record_changes(outputs, site_files=sorted((outputs / "sites").glob("*.json")), **paths)
    assert (outputs / "changes.csv").read_text().strip() == ",".join(CHANGE_COLUMNS)
    assert "no previous run to compare against" in (outputs / "changes.md").read_text()
    assert (snapshot / "coded_passages.csv").read_bytes() == (
        before / "coded_passages.csv").read_bytes()
    assert json.loads((snapshot / "snapshot.json").read_text())["model_id"] == "m1"

    for name in ("sites", "model"):  # the next run: the later outputs
        shutil.rmtree(outputs / name)
        shutil.copytree(after / name, outputs / name)
    shutil.copy(after / "coded_passages.csv", outputs)
    (outputs / ".snapshot.new-999").mkdir()  # left by a killed job
    record_changes(outputs, site_files=sorted((outputs / "sites").glob("*.json")), **paths)
    rows = read_csv(outputs / "changes.csv")
    assert [(r["change"], r["passage_id"], r["code"]) for r in rows
            if r["kind"] == "passage"] == [
        ("gained", "D:1", PARTNER), ("gained", "D:2", TENDER), ("lost", "D:3", PARTNER),
        ("added", "D:new", ""), ("added", "D:extra", ""), ("removed", "D:gone", "")]
    assert [(r["site"], r["code"], r["figure"], r["before"], r["after"], r["change"])
            for r in rows if r["kind"] == "matrix_cell"] == [
        ("site_a", "", "codable passages", "4", "5", "up"),
        ("site_a", TENDER, "passages", "2", "3", "up"),
        ("site_a", TENDER, "share of codable", "0.5", "0.6", "up"),
        ("site_a", PARTNER, "share of codable", "0.25", "0.2", "down")]
    assert [(r["site"], r["figure"], r["before"], r["after"]) for r in rows
            if r["kind"] == "site_figure"] == [("site_a", "passages.total", "4", "5")]
    md = (outputs / "changes.md").read_text()
    assert "model m1" in md and "model m2" in md and "changed: codebook." in md
    assert "&lt;script&gt;" in md and "<script>" not in md
    assert json.loads((snapshot / "snapshot.json").read_text())["model_id"] == "m2"
    assert sorted(p.name for p in outputs.iterdir() if "snapshot" in p.name) == ["snapshot"]

    # the snapshot works as RUN_A of `interplay diff`: nothing moved since it was kept
    assert main(["diff", str(snapshot), str(outputs)]) == 0
    assert "Nothing moved" in capsys.readouterr().out


def test_a_crash_between_the_renames_leaves_the_previous_snapshot_readable(tmp_path):
    snapshot = tmp_path / "snapshot"
    assert existing_snapshot(snapshot) is None
    previous = tmp_path / ".snapshot.previous"
    previous.mkdir()
    (previous / "snapshot.json").write_text("{}")
    assert existing_snapshot(snapshot) == previous


# ---------------------------------------------------------------------------------------
# The pipeline: a codebook edit, then a run with nothing new

# The edit: phrases that only the first answer of NORTHFIELD_INTERVIEW uses, added to a code.
PHRASES_AFTER = '      - "relational"\n'
ADDED_PHRASES = '      - "picking up the phone"\n      - "sit down together"\n'
RECODED = "cooperation.relationships"


def file_state(path: Path) -> tuple[int, bytes]:
    return path.stat().st_mtime_ns, path.read_bytes()


@pytest.fixture(scope="module")
def recoded(tmp_path_factory):
    root = tmp_path_factory.mktemp("changes")
    corpus = mini_corpus_with_interview(root, site="site_b", doc_id="B-INT-01")
    outputs = root / "out"
    run_pipeline(corpus, outputs)
    first = {"csv": (outputs / "changes.csv").read_text(encoding="utf-8"),
             "md": (outputs / "changes.md").read_text(encoding="utf-8")}
    shutil.copytree(outputs / "snapshot", root / "first_snapshot")
    shutil.copy(outputs / "coded_passages.csv", root / "coded_first.csv")
    shutil.copy(outputs / "framework_matrix.csv", root / "matrix_first.csv")

    codebook = (REPO / "config" / "codebook.yaml").read_text(encoding="utf-8")
    assert codebook.count(PHRASES_AFTER) == 1
    (root / "codebook.yaml").write_text(
        codebook.replace(PHRASES_AFTER, PHRASES_AFTER + ADDED_PHRASES), encoding="utf-8")
    config = root / "config.yaml"
    config.write_text(f"codebook: {root / 'codebook.yaml'}\n", encoding="utf-8")
    command = ["run", "--corpus", str(corpus), "--outputs", str(outputs), "--cores", "2",
               "--config", str(config)]
    assert main(command) == 0
    after_edit = file_state(outputs / "changes.csv")
    assert main(command) == 0  # nothing changed since
    return {"root": root, "outputs": outputs, "first": first, "after_edit": after_edit}


def code_sets(path: Path) -> dict[str, set[str]]:
    return {r["passage_id"]: {c for c in r["codes"].split(";") if c} for r in read_csv(path)}


def test_the_first_run_has_nothing_to_compare_and_keeps_a_snapshot(recoded):
    assert recoded["first"]["csv"].strip() == ",".join(CHANGE_COLUMNS)
    assert "no previous run to compare against" in recoded["first"]["md"]
    first = recoded["root"] / "first_snapshot"
    assert (first / "coded_passages.csv").read_bytes() == (
        recoded["root"] / "coded_first.csv").read_bytes()
    assert sorted(p.name for p in (first / "sites").iterdir()) == ["site_a.json", "site_b.json"]


def test_a_codebook_edit_lists_exactly_the_passages_whose_codes_changed(recoded):
    root, outputs = recoded["root"], recoded["outputs"]
    before, after = code_sets(root / "coded_first.csv"), code_sets(outputs / "coded_passages.csv")
    assert set(before) == set(after)  # the same passages: only their codes can move
    expected = sorted((pid, "gained" if code in after[pid] else "lost", code)
                      for pid in after for code in before[pid] ^ after[pid])
    rows = read_csv(outputs / "changes.csv")
    listed = sorted((r["passage_id"], r["change"], r["code"]) for r in rows
                    if r["kind"] == "passage")
    assert listed == expected
    first_answer = next(r["passage_id"] for r in read_csv(outputs / "coded_passages.csv")
                        if r["text"].startswith("Mostly by picking up the phone"))
    assert (first_answer, "gained", RECODED) in listed  # the edit did recode something
    for row in (r for r in rows if r["kind"] == "passage"):
        assert row["codes_before"].split(";") != row["codes_after"].split(";")
        assert float(row["score_after"]) >= 0 and float(row["score_before"]) >= 0


def matrix_counts(path: Path) -> dict[tuple[str, str], str]:
    """(site, code) -> the cell's first line, from framework_matrix.csv."""
    cells = {}
    for row in read_csv(path):
        for header, cell in row.items():
            if match := re.search(r"\[([a-z_.]+)\]$", header):
                cells[(row["site"], match[1])] = cell.split("\n")[0]
    return cells


def test_matrix_rows_are_the_cells_that_moved_in_framework_matrix_csv(recoded):
    root, outputs = recoded["root"], recoded["outputs"]
    before, after = matrix_counts(root / "matrix_first.csv"), matrix_counts(
        outputs / "framework_matrix.csv")
    moved = {key for key in after if before[key].split(" (")[0] != after[key].split(" (")[0]}
    rows = read_csv(outputs / "changes.csv")
    assert moved and {(r["site"], r["code"]) for r in rows if r["kind"] == "matrix_cell"
                      and r["figure"] == "passages"} == moved
    for row in (r for r in rows if r["kind"] == "matrix_cell" and r["figure"] == "passages"):
        assert after[(row["site"], row["code"])].startswith(f"{row['after']} passage")
        assert before[(row["site"], row["code"])].startswith(f"{row['before']} passage")


def test_changes_md_says_what_changed_and_shows_the_passages(recoded):
    md = (recoded["outputs"] / "changes.md").read_text(encoding="utf-8")
    assert "what the coder was trained on changed: codebook." in md
    assert "## site\\_b" in md and f"**gained** `{RECODED}`" in md
    assert "Framework-matrix cells that moved" in md and "Site-summary figures" in md
    assert "> Mostly by picking up the phone" in md


def test_the_snapshot_is_refreshed_and_a_run_with_nothing_new_leaves_changes_alone(recoded):
    outputs = recoded["outputs"]
    assert (outputs / "snapshot" / "coded_passages.csv").read_bytes() == (
        outputs / "coded_passages.csv").read_bytes()
    assert file_state(outputs / "changes.csv") == recoded["after_edit"]
    assert [p.name for p in outputs.iterdir() if "snapshot" in p.name] == ["snapshot"]


def test_interplay_diff_of_the_kept_snapshot_agrees_with_changes_csv(recoded, capsys):
    root, outputs = recoded["root"], recoded["outputs"]
    comparison = compare(read_run(root / "first_snapshot"), read_run(outputs))
    rows = read_csv(outputs / "changes.csv")
    assert sorted((c.passage_id, c.change, c.code) for c in comparison.passages) == sorted(
        (r["passage_id"], r["change"], r["code"]) for r in rows if r["kind"] == "passage")
    assert main(["diff", str(root / "first_snapshot"), str(outputs), "--site", "site_b"]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"{RECODED}\s*│\s*1\s*│\s*0", out)
