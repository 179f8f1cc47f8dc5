"""The review loop end to end: sheets, decisions winning in every output, agreement,
learning from review, orphaned decisions, and reruns that touch only what changed.

The stages run in order on one small corpus (fixtures chained module-wide); each fixture
captures what its tests check before the next stage changes the corpus.
"""

import csv
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from builders import mini_corpus_with_interview
from conftest import REPO, read_csv, run_pipeline
from lxml import etree
from openpyxl import load_workbook
from sklearn.metrics import cohen_kappa_score

from interplay.cli import main

THIRD_INTERVIEW = """Interviewer: What changed when the new provider arrived?

R2: Frankly, a lot of paperwork. The contract has a performance schedule with penalties for missed waiting-time targets, and we meet every month to go through the dashboard line by line.

Interviewer: Did that help?

R2: Some of it. People stopped arguing about whose numbers were right, which was worth something on its own.
"""

PER_DOCUMENT_RULES = {"extract", "segment", "code"}


def planned_jobs(corpus: Path, outputs: Path, *extra: str) -> dict[str, int]:
    """What Snakemake would run now, from its own dry run: rule -> job count."""
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
         "--directory", str(REPO), "--cores", "1", "--dry-run",
         "--config", f"corpus={corpus}", f"outputs={outputs}", *extra],
        capture_output=True, text=True, check=True)
    if "Nothing to be done" in result.stdout + result.stderr:
        return {}
    table = result.stdout.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.MULTILINE)}


def sheet_rows(path: Path) -> list[dict]:
    if path.suffix == ".csv":
        return read_csv(path)
    sheet = load_workbook(path)["review"]
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, (c.value or "" for c in r))) for r in sheet.iter_rows(min_row=2)]


def decide(path: Path, decisions: dict[str, tuple[str, str, str]]) -> None:
    """Fill (decision, codes, comment) into the rows of these passages, as a reviewer would."""
    if path.suffix == ".csv":
        rows = read_csv(path)
        for row in rows:
            if row["passage_id"] in decisions:
                row["decision"], row["codes"], row["comment"] = decisions[row["passage_id"]]
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return
    workbook = load_workbook(path)
    sheet = workbook["review"]
    header = [c.value for c in sheet[1]]
    for r in range(2, sheet.max_row + 1):
        passage_id = sheet.cell(r, 1).value
        if passage_id in decisions:
            for name, value in zip(("decision", "codes", "comment"), decisions[passage_id]):
                sheet.cell(r, header.index(name) + 1).value = value
    workbook.save(path)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("review")
    corpus = mini_corpus_with_interview(root, site="site_a", doc_id="A-INT-02")
    outputs = root / "out"
    run_pipeline(corpus, outputs)
    return corpus, outputs


@pytest.fixture(scope="module")
def reviewed(built):
    """alice (xlsx) and bob (csv) review; alice also holds a decision on a passage that
    never existed in this corpus."""
    corpus, outputs = built
    for reviewer, fmt in (("alice", "xlsx"), ("bob", "csv")):
        assert main(["review", "--reviewer", reviewer, "--format", fmt, "--corpus", str(corpus),
                     "--outputs", str(outputs), "--uncertain", "40"]) == 0
    alice, bob = corpus / "reviews" / "alice.xlsx", corpus / "reviews" / "bob.csv"
    jobs_after_new_sheets = planned_jobs(corpus, outputs)

    machine = {r["passage_id"]: r for r in read_csv(outputs / "coded_passages.csv")}
    held = [r["passage_id"] for r in sheet_rows(alice)]
    coded = [p for p in held if machine[p]["machine_codes"]]
    in_second = [p for p in coded if p.startswith("A-INT-02:")]
    accepted = in_second[0]
    rejected = next(p for p in coded if p != accepted)
    edited = next(p for p in held if p not in (accepted, rejected))
    decide(alice, {accepted: ("accept", "", "clear <b>case</b>"), rejected: ("reject", "", ""),
                   edited: ("edit", "contract.accountability", "")})
    decide(bob, {accepted: ("Accept", "", ""), edited: ("edit", "cooperation.partnership", "")})
    workbook = load_workbook(alice)
    workbook["review"].append(["A-INT-02:00000000ff", "A-INT-02", "site_a", "", "", "", "",
                               "reject", "", "a passage that does not exist"])
    workbook.save(alice)
    sheets_before = {p.name: p.read_bytes() for p in (alice, bob)}
    run_pipeline(corpus, outputs)
    sheets_after = {p.name: p.read_bytes() for p in (alice, bob)}
    with zipfile.ZipFile(outputs / "project.qdpx") as archive:
        project = etree.fromstring(archive.read("project.qde"))
    return {
        "corpus": corpus, "outputs": outputs, "accepted": accepted, "rejected": rejected,
        "edited": edited, "machine": machine, "jobs_after_new_sheets": jobs_after_new_sheets,
        "sheets_unchanged": sheets_before == sheets_after,
        "coded": {r["passage_id"]: r for r in read_csv(outputs / "coded_passages.csv")},
        "problems": read_csv(outputs / "problems.csv"),
        "decisions": read_csv(outputs / "review_decisions.csv"),
        "agreement": read_csv(outputs / "agreement.csv"),
        "evaluation": json.loads((outputs / "evaluation.json").read_text()),
        "project": project,
        "report": (outputs / "report" / "index.html").read_text(encoding="utf-8"),
        "site": json.loads((outputs / "sites" / "site_a.json").read_text()),
        "matrix": (outputs / "framework_matrix.csv").read_text(encoding="utf-8"),
    }


def test_new_sheets_without_decisions_retrain_and_recode_nothing(reviewed):
    assert set(reviewed["jobs_after_new_sheets"]) == {"run_manifest", "all"}


def test_decisions_win_and_say_who_coded(reviewed):
    coded, machine = reviewed["coded"], reviewed["machine"]
    accepted = coded[reviewed["accepted"]]
    assert accepted["codes"] == machine[reviewed["accepted"]]["codes"]
    assert (accepted["coded_by"], accepted["review_status"]) == ("alice;bob", "agrees")
    assert accepted["review_comments"] == "alice: clear <b>case</b>"
    # the machine's codes are those of the model retrained with the reviews
    rejected = coded[reviewed["rejected"]]
    assert (rejected["codes"], rejected["orientation"], rejected["coded_by"]) == ("", "", "alice")
    assert rejected["review_status"] == ("changed" if rejected["machine_codes"] else "agrees")
    conflict = coded[reviewed["edited"]]  # alice and bob edited to different codes
    assert (conflict["codes"], conflict["coded_by"], conflict["review_status"]) == (
        conflict["machine_codes"], "machine", "conflict")
    untouched = [r for p, r in coded.items() if p not in (reviewed["accepted"],
                 reviewed["rejected"], reviewed["edited"]) and r["machine_codes"]]
    assert untouched and all(r["coded_by"] == "machine" and not r["review_status"]
                             for r in untouched)
    assert reviewed["sheets_unchanged"]


def test_conflicts_and_orphans_are_reported_not_resolved(reviewed):
    review_problems = [p for p in reviewed["problems"] if p["stage"] == "review"]
    conflicts = [p for p in review_problems if "reviewers disagree" in p["problem"]]
    assert {p["path"] for p in conflicts} == {"reviews/alice.xlsx", "reviews/bob.csv"}
    assert all(reviewed["edited"] in p["problem"] and p["severity"] == "warning"
               for p in conflicts)
    orphan = [p for p in review_problems if "no longer exists" in p["problem"]]
    assert len(orphan) == 1 and "A-INT-02:00000000ff" in orphan[0]["problem"]
    assert "A-INT-02:00000000ff" not in reviewed["coded"]
    statuses = {(d["reviewer"], d["passage_id"]): d["status"] for d in reviewed["decisions"]}
    assert statuses[("alice", "A-INT-02:00000000ff")] == "orphaned"
    assert statuses[("alice", reviewed["edited"])] == statuses[("bob", reviewed["edited"])] == \
        "conflict"


def test_agreement_figures_match_scikit_learn(reviewed):
    rows = {(r["code"], r["comparison"]): r for r in reviewed["agreement"]}
    decisions = [d for d in reviewed["decisions"] if d["status"] in ("applied", "conflict")]
    for reviewer in ("alice", "bob"):
        mine = [d for d in decisions if d["reviewer"] == reviewer]
        for code in ("competition.tendering", "contract.accountability"):
            machine = [int(code in d["shown_machine_codes"].split(";")) for d in mine]
            human = [int(code in d["reviewer_codes"].split(";")) for d in mine]
            row = rows[(code, f"machine vs {reviewer}")]
            assert int(row["passages"]) == len(mine) == (3 if reviewer == "alice" else 2)
            if len(set(machine) | set(human)) > 1:
                assert float(row["cohen_kappa"]) == pytest.approx(
                    cohen_kappa_score(machine, human), abs=1e-4)
    assert int(rows[("all", "alice vs bob")]["passages"]) == 2


def test_reviewed_passages_join_training_with_metrics_before_and_after(reviewed):
    learning = reviewed["evaluation"]["learning_from_review"]
    assert learning["reviewed_passages"] == 2  # accepted, rejected; the conflict waits
    assert learning["reviewers"] == ["alice", "bob"]
    assert set(learning["before"]) == set(learning["after"]) >= {"macro_f1", "micro_f1"}
    assert any("reviewers disagree" in w for w in learning["warnings"])


def test_every_output_shows_the_reviewers(reviewed):
    ns = {"q": "urn:QDA-XML:project:1.0"}
    users = {u.get("name"): u.get("guid") for u in reviewed["project"].iterfind(".//q:User", ns)}
    assert {"alice", "bob", "interplay machine coder"} <= set(users)
    selection = reviewed["project"].find(
        f".//q:PlainTextSelection[@name='{reviewed['accepted']}']", ns)
    assert {c.get("creatingUser") for c in selection.iterfind("q:Coding", ns)} == {
        users["alice"], users["bob"]}
    assert reviewed["project"].find(
        f".//q:PlainTextSelection[@name='{reviewed['rejected']}']", ns) is None
    assert "reviewed by alice" in reviewed["report"]
    assert "clear &lt;b&gt;case&lt;/b&gt;" in reviewed["report"]
    counts = reviewed["site"]["who_coded"]["passages"]
    statuses = [r["review_status"] for r in reviewed["coded"].values()]
    assert [counts[s] for s in ("agrees", "changed", "conflict")] == [
        statuses.count(s) for s in ("agrees", "changed", "conflict")]
    assert counts["conflict"] == 1 and counts["agrees"] + counts["changed"] == 2
    assert "reviewed by alice" in reviewed["matrix"] or "machine" in reviewed["matrix"]


@pytest.fixture(scope="module")
def grown(reviewed):
    """One interview added (file + metadata row) to the built, reviewed corpus."""
    corpus, outputs = reviewed["corpus"], reviewed["outputs"]
    (corpus / "site_a" / "int3.txt").write_text(THIRD_INTERVIEW, encoding="utf-8")
    with open(corpus / "metadata.csv", "a", encoding="utf-8") as handle:
        handle.write("A-INT-03,site_a/int3.txt,site_a,interview,provider,2016-07-01,"
                     "Interview\n")
    others = {p.name: p.stat().st_mtime_ns for p in (outputs / "coded").glob("*.json")}
    jobs = planned_jobs(corpus, outputs)
    run_pipeline(corpus, outputs)
    return {"jobs": jobs, "others": others, "outputs": outputs, "corpus": corpus,
            "jobs_after": planned_jobs(corpus, outputs)}


def test_adding_a_document_runs_only_its_jobs_and_the_aggregates(grown):
    jobs = grown["jobs"]
    assert {rule: jobs[rule] for rule in PER_DOCUMENT_RULES} == {
        "extract": 1, "segment": 1, "code": 1}
    assert "train" not in jobs
    assert {"collect_passages", "collect_coded", "collect_problems", "report",
            "run_manifest"} <= set(jobs)
    outputs = grown["outputs"]
    assert {p.name: p.stat().st_mtime_ns for p in (outputs / "coded").glob("*.json")
            if p.name in grown["others"]} == grown["others"]
    assert any(r["doc_id"] == "A-INT-03" for r in read_csv(outputs / "coded_passages.csv"))
    manifest = json.loads((outputs / "run_manifest.json").read_text())
    assert "site_a/int3.txt" in manifest["inputs"]["documents_sha256"]
    assert set(manifest["inputs"]["review_sheets_sha256"]) == {"reviews/alice.xlsx",
                                                              "reviews/bob.csv"}
    assert grown["jobs_after"] == {}  # and a rerun with no change does nothing


def test_a_changed_codebook_retrains_and_recodes_everything(grown, tmp_path):
    codebook = tmp_path / "codebook.yaml"
    text = (REPO / "config" / "codebook.yaml").read_text(encoding="utf-8")
    codebook.write_text(text.replace("Running, planning, winning", "Planning, running, winning"),
                        encoding="utf-8")
    jobs = planned_jobs(grown["corpus"], grown["outputs"], f"codebook={codebook}")
    assert jobs["train"] == 1 and jobs["code"] == len(list((grown["outputs"] / "coded").glob("*.json")))


@pytest.fixture(scope="module")
def document_changed(reviewed, grown):
    """The passage both reviewers accepted is reworded in its transcript."""
    corpus, outputs = grown["corpus"], grown["outputs"]
    accepted = reviewed["coded"][reviewed["accepted"]]["text"]
    transcript = corpus / "site_a" / "int2.txt"
    text = transcript.read_text(encoding="utf-8")
    words = accepted.split(" ")
    reworded = " ".join(words[:-3] + ["(word", "changed)"] + words[-3:])
    assert accepted in text
    transcript.write_text(text.replace(accepted, reworded), encoding="utf-8")
    jobs = planned_jobs(corpus, outputs)
    run_pipeline(corpus, outputs)
    alice = corpus / "reviews" / "alice.xlsx"
    before = alice.read_bytes()
    problems = read_csv(outputs / "problems.csv")
    coded = {r["passage_id"]: r for r in read_csv(outputs / "coded_passages.csv")}
    sheet_unchanged_by_run = before == alice.read_bytes()
    assert main(["review", "--reviewer", "alice", "--corpus", str(corpus),
                 "--outputs", str(outputs), "--uncertain", "0", "--confident", "0"]) == 0
    return {"jobs": jobs, "problems": problems, "coded": coded,
            "sheet_unchanged_by_run": sheet_unchanged_by_run, "sheet": sheet_rows(alice),
            "accepted": reviewed["accepted"]}


def test_a_decision_whose_passage_changed_is_orphaned_and_kept(document_changed):
    accepted = document_changed["accepted"]
    assert "train" not in document_changed["jobs"]
    assert document_changed["jobs"]["extract"] == 1 and document_changed["jobs"]["code"] == 1
    assert accepted not in document_changed["coded"]
    orphaned = [p for p in document_changed["problems"]
                if p["stage"] == "review" and accepted in p["problem"]]
    assert {p["path"] for p in orphaned} == {"reviews/alice.xlsx", "reviews/bob.csv"}
    assert all("no longer exists" in p["problem"] for p in orphaned)
    reviewers = {r["coded_by"] for r in document_changed["coded"].values()
                 if r["doc_id"] == "A-INT-02"}
    assert "alice;bob" not in reviewers  # never applied to the reworded passage
    sheet = document_changed["sheet"]
    assert document_changed["sheet_unchanged_by_run"]
    old = next(r for r in sheet if r["passage_id"] == accepted)
    assert old["decision"] == "accept" and old["comment"] == "clear <b>case</b>"
    new = [r for r in sheet if str(r["selected_as"]).startswith(f"new version of {accepted}")]
    assert len(new) == 1 and "(word changed)" in new[0]["text"] and not new[0]["decision"]
