"""Review sheets, how decisions apply, and agreement statistics (unit level)."""

import csv
import random
from pathlib import Path

import krippendorff
import pytest
from openpyxl import load_workbook
from sklearn.metrics import cohen_kappa_score

from interplay.agreement import agreement_table, cohen_kappa, krippendorff_alpha
from interplay.codebook import load_codebook
from interplay.passage_table import CodedPassage
from interplay.review import (
    SHEET_COLUMNS,
    ReviewError,
    append_to_sheet,
    decision_digests,
    new_versions,
    raw_rows,
    read_review_sheets,
    resolve,
    select_for_review,
    sheet_for,
    training_rows,
)

REPO = Path(__file__).resolve().parents[1]
TENDER, TRUST, LAW = "competition.tendering", "cooperation.relationships", "regulation.procurement_law"


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(REPO / "config" / "codebook.yaml")


def write_sheet(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SHEET_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in SHEET_COLUMNS})
    return path


def row(passage_id, decision="", codes="", machine_codes="", text="some passage text", **extra):
    return {"passage_id": passage_id, "doc_id": passage_id.split(":")[0], "text": text,
            "decision": decision, "codes": codes, "machine_codes": machine_codes, **extra}


def passage(passage_id, text="Text of the passage about services.", scores=None,
            machine_codes=()):
    return CodedPassage(passage_id=passage_id, doc_id=passage_id.split(":")[0], site="s",
                        actor="commissioner", kind="interview", speaker_role="", page="",
                        start=0, end=len(text), text=text, codes=tuple(machine_codes),
                        orientation="", scores=scores or {TENDER: 0.1, TRUST: 0.1},
                        coded_by="machine", machine_codes=tuple(machine_codes))


# --- reading decisions ---------------------------------------------------------------------

def test_decisions_mean_what_the_sheet_says(tmp_path, codebook):
    write_sheet(tmp_path / "alice.csv", [
        row("D:1", "accept", machine_codes=f"{TENDER};{TRUST}"),
        row("D:2", "Reject", machine_codes=TENDER),
        row("D:3", "edit", codes=f"{LAW}; {TENDER}", machine_codes=TENDER),
        row("D:4", "reject", codes=TRUST, machine_codes=TENDER),  # codes given win
        row("D:5", "", codes=TRUST),  # not reviewed yet
        row("D:6", "edit", machine_codes=TENDER),  # edit to what?
        row("D:7", "accept", codes="competition.markets"),
        row("D:8", "maybe"),
    ])
    reviews = read_review_sheets(tmp_path, codebook)
    decided = {d.passage_id: d for d in reviews.decisions}
    assert set(decided) == {"D:1", "D:2", "D:3", "D:4", "D:6", "D:7", "D:8"}
    assert decided["D:1"].codes == (TENDER, TRUST) and decided["D:1"].reviewer == "alice"
    assert decided["D:2"].codes == () and decided["D:2"].decision == "reject"
    assert decided["D:3"].codes == (TENDER, LAW) or decided["D:3"].codes == tuple(sorted((LAW, TENDER)))
    assert decided["D:4"].codes == (TRUST,)
    assert "edit with no codes" in decided["D:6"].problem
    assert "unknown code(s) competition.markets" in decided["D:7"].problem
    assert "not one of accept, reject, edit" in decided["D:8"].problem
    assert decided["D:8"].row == 9  # the spreadsheet's own row number (header is row 1)
    assert {d.passage_id for d in reviews.valid()} == {"D:1", "D:2", "D:3", "D:4"}


def test_a_bad_sheet_does_not_lose_the_others(tmp_path, codebook):
    write_sheet(tmp_path / "alice.csv", [row("D:1", "reject")])
    (tmp_path / "bob.xlsx").write_bytes(b"not a workbook at all")
    write_sheet(tmp_path / "machine.csv", [row("D:1", "reject")])
    (tmp_path / "~$alice.xlsx").write_bytes(b"excel lock file")
    (tmp_path / "carol.csv").write_text("id,verdict\nD:1,accept\n", encoding="utf-8")
    reviews = read_review_sheets(tmp_path, codebook)
    assert [(d.reviewer, d.passage_id) for d in reviews.decisions] == [("alice", "D:1")]
    problems = {p.path: p.problem for p in reviews.unreadable}
    assert set(problems) == {"reviews/bob.xlsx", "reviews/machine.csv", "reviews/carol.csv"}
    assert problems["reviews/bob.xlsx"].startswith("cannot read the sheet")
    assert "missing column(s) passage_id, decision" in problems["reviews/carol.csv"]


def test_one_reviewer_deciding_a_passage_twice_differently_is_refused(tmp_path, codebook):
    write_sheet(tmp_path / "alice.csv", [row("D:1", "reject"), row("D:1", "edit", codes=TRUST),
                                         row("D:2", "reject"), row("D:2", "reject")])
    decided = read_review_sheets(tmp_path, codebook).decisions
    assert all("decided more than once" in d.problem for d in decided if d.passage_id == "D:1")
    assert not any(d.problem for d in decided if d.passage_id == "D:2")


# --- applying them -------------------------------------------------------------------------

def test_decisions_apply_conflict_or_orphan_but_are_never_guessed(tmp_path, codebook):
    write_sheet(tmp_path / "alice.csv", [
        row("D:1", "accept", machine_codes=TENDER, comment="clear case"),
        row("D:2", "edit", codes=TRUST, machine_codes=TENDER),
        row("D:3", "edit", codes=LAW),
        row("GONE:9", "reject"),
        row("D:4", "bogus"),
    ])
    write_sheet(tmp_path / "bob.csv", [
        row("D:1", "accept", machine_codes=TENDER),
        row("D:3", "edit", codes=TRUST),
    ])
    reviews = read_review_sheets(tmp_path, codebook)
    machine = {"D:1": (TENDER,), "D:2": (TENDER,), "D:3": (TENDER,), "D:4": ()}
    result = resolve(reviews, machine, {"D:1", "D:2", "D:3", "D:4"})
    d1, d2, d3 = (result.by_passage[p] for p in ("D:1", "D:2", "D:3"))
    assert (d1.codes, d1.coded_by, d1.status, d1.comments) == (
        (TENDER,), "alice;bob", "agrees", "alice: clear case")
    assert (d2.codes, d2.coded_by, d2.status) == ((TRUST,), "alice", "changed")
    assert (d3.codes, d3.coded_by, d3.status) == ((TENDER,), "machine", "conflict")
    assert "GONE:9" not in result.by_passage and "D:4" not in result.by_passage
    status = {(r["reviewer"], r["passage_id"]): r["status"] for r in result.decisions}
    assert status == {("alice", "D:1"): "applied", ("alice", "D:2"): "applied",
                      ("alice", "D:3"): "conflict", ("alice", "GONE:9"): "orphaned",
                      ("alice", "D:4"): "invalid", ("bob", "D:1"): "applied",
                      ("bob", "D:3"): "conflict"}
    chosen, warnings = training_rows(reviews)
    assert {d.passage_id for d in chosen} == {"D:1", "D:2", "GONE:9"}
    assert any("D:3: reviewers disagree" in w for w in warnings)


def test_undecided_rows_leave_the_digest_alone_and_decisions_change_it(tmp_path):
    sheet = write_sheet(tmp_path / "alice.csv", [row("D:1", "reject")])
    before = decision_digests(tmp_path)
    with open(sheet, "a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerow(["D:2", "D", "", "text", "", "", "", "", "", ""])
    assert decision_digests(tmp_path) == before
    write_sheet(sheet, [row("D:1", "reject", comment="a note")])
    assert decision_digests(tmp_path).decisions != before.decisions
    assert decision_digests(tmp_path).training == before.training  # comments do not train
    write_sheet(sheet, [row("D:1", "edit", codes=TRUST)])
    assert decision_digests(tmp_path).training != before.training


# --- writing sheets ------------------------------------------------------------------------

def test_uncertain_passages_come_first_then_a_confident_sample():
    thresholds = {TENDER: 0.5, TRUST: 0.4, LAW: 1.0}  # LAW has no model: never "uncertain"
    passages = [passage(f"D:{i}", scores={TENDER: s, TRUST: 0.0, LAW: 0.5},
                        machine_codes=(TENDER,) if s >= 0.5 else ())
                for i, s in enumerate([0.52, 0.9, 0.05, 0.45, 0.6, 0.99, 0.02, 0.51])]
    short = passage("D:short", scores={TENDER: 0.95, TRUST: 0.0})  # scored, never coded
    chosen = select_for_review([*passages, short], thresholds, exclude={"D:7"}, uncertain=3,
                               confident=2, seed=1)
    ids = [c.passage.passage_id for c, _ in chosen]
    assert ids[:3] == ["D:0", "D:3", "D:4"]  # margins 0.02, 0.05, 0.1; D:7 already held
    assert all(why.startswith("uncertain: competition.tendering") for _, why in chosen[:3])
    assert len(ids) == 5 and set(ids[3:]) <= {"D:1", "D:2", "D:5", "D:6"}
    assert all(why == "confident: random sample" for _, why in chosen[3:])
    assert "D:short" not in ids
    again = select_for_review([*passages, short], thresholds, exclude={"D:7"}, uncertain=3,
                              confident=2, seed=1)
    assert [c.passage.passage_id for c, _ in again] == ids  # reproducible


def test_updating_an_xlsx_sheet_only_appends(tmp_path, codebook):
    sheet = tmp_path / "reviews" / "alice.xlsx"
    first = [row("D:1", machine_codes=TENDER, text="=HYPERLINK(\"http://x\",\"click\")"),
             row("D:2", machine_codes="", text="Plain words about a pooled budget.")]
    append_to_sheet(sheet, first, codebook)
    workbook = load_workbook(sheet)
    review = workbook["review"]
    assert review.cell(2, 4).data_type == "s"  # the passage is text, never a formula
    assert [c.value for c in workbook["codes"]["A"][1:]] == list(codebook.ids)
    review.cell(2, 8).value = "edit"
    review.cell(2, 9).value = TRUST
    review.cell(2, 10).value = "reviewer's own words"
    workbook.save(sheet)
    decided = raw_rows(sheet)

    decided_bytes = sheet.read_bytes()
    backup = append_to_sheet(sheet, [row("D:3", machine_codes=LAW, text="A third passage.")],
                             codebook)
    assert backup.parent == sheet.parent / "backups" and backup.read_bytes() == decided_bytes
    header, rows = raw_rows(sheet)
    assert (header, rows[:2]) == (decided[0], decided[1])
    assert [values["passage_id"] for _, values in rows] == ["D:1", "D:2", "D:3"]
    assert rows[0][1]["decision"] == "edit" and rows[0][1]["comment"] == "reviewer's own words"
    decision = read_review_sheets(sheet.parent, codebook).decisions
    assert [(d.passage_id, d.codes) for d in decision] == [("D:1", (TRUST,))]


def test_updating_a_csv_sheet_keeps_every_existing_byte(tmp_path, codebook):
    sheet = write_sheet(tmp_path / "bob.csv", [row("D:1", "reject", comment="no, see p.2")])
    original = sheet.read_bytes()
    backup = append_to_sheet(sheet, [row("D:2", text="New passage, with a comma.")], codebook)
    assert sheet.read_bytes().startswith(original) and backup.read_bytes() == original
    assert append_to_sheet(sheet, [row("D:3")], codebook) != backup  # one backup per update
    assert len(list((tmp_path / "backups").iterdir())) == 2
    assert [d.passage_id for d in read_review_sheets(tmp_path, codebook).decisions] == ["D:1"]
    assert [values["passage_id"] for _, values in raw_rows(sheet)[1]] == ["D:1", "D:2", "D:3"]


def test_a_sheet_open_in_excel_is_not_touched(tmp_path, codebook):
    sheet = tmp_path / "alice.xlsx"
    append_to_sheet(sheet, [row("D:1")], codebook)
    before = sheet.read_bytes()
    (tmp_path / "~$alice.xlsx").write_bytes(b"lock")
    with pytest.raises(ReviewError, match="open in a spreadsheet program"):
        append_to_sheet(sheet, [row("D:2")], codebook)
    assert sheet.read_bytes() == before


def test_sheet_names_and_formats(tmp_path):
    assert sheet_for(tmp_path, "alice", None) == tmp_path / "alice.xlsx"
    assert sheet_for(tmp_path, "bob", "csv") == tmp_path / "bob.csv"
    write_sheet(tmp_path / "bob.csv", [])
    with pytest.raises(ReviewError, match="keep working in it"):
        sheet_for(tmp_path, "bob", "xlsx")
    for bad in ("machine", "../evil", "a b"):
        with pytest.raises(ReviewError, match="cannot name a reviewer"):
            sheet_for(tmp_path, bad, None)


def test_a_changed_passage_is_offered_again_in_its_new_wording():
    old = "We ran a full tender for the community contract and two providers bid for it."
    new = "We ran a full tender for the community contract, and three providers bid for it."
    passages = [passage("D:new", text=new), passage("D:other", text="Unrelated words here.")]
    offered = new_versions(passages, [(2, row("D:old", "accept", text=old))], exclude=set())
    assert [(c.passage.passage_id, why.split(" (")[0]) for c, why in offered] == [
        ("D:new", "new version of D:old")]


# --- agreement -----------------------------------------------------------------------------

def test_kappa_and_alpha_match_reference_implementations():
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(2, 40)
        bias = rng.random()
        a = [int(rng.random() < bias) for _ in range(n)]
        b = [x if rng.random() < 0.7 else 1 - x for x in a]
        if len(set(a) | set(b)) < 2:
            assert cohen_kappa(a, b) is None and krippendorff_alpha(a, b) is None
            continue
        kappa = cohen_kappa(a, b)
        if kappa is None:
            continue
        assert kappa == pytest.approx(cohen_kappa_score(a, b), abs=1e-9)
        assert krippendorff_alpha(a, b) == pytest.approx(
            krippendorff.alpha(reliability_data=[a, b], level_of_measurement="nominal"),
            abs=1e-9)


def test_agreement_table_compares_machine_and_reviewers_on_shared_passages():
    def decision(reviewer, pid, shown, given, status="applied"):
        return {"reviewer": reviewer, "passage_id": pid, "shown_machine_codes": shown,
                "reviewer_codes": given, "status": status}
    decisions = [
        decision("alice", "D:1", TENDER, TENDER), decision("alice", "D:2", TENDER, ""),
        decision("alice", "D:3", "", TRUST), decision("alice", "D:4", TRUST, TRUST),
        decision("bob", "D:1", TENDER, TENDER), decision("bob", "D:3", "", "", "conflict"),
        decision("bob", "D:9", TENDER, "", "orphaned"),
    ]
    rows = {(r["code"], r["comparison"]): r
            for r in agreement_table(decisions, [TENDER, TRUST])}
    machine_alice = rows[(TENDER, "machine vs alice")]
    assert (machine_alice["passages"], machine_alice["positive_a"],
            machine_alice["positive_b"]) == (4, 2, 1)
    assert machine_alice["cohen_kappa"] == pytest.approx(
        cohen_kappa_score([1, 1, 0, 0], [1, 0, 0, 0]), abs=1e-4)
    assert rows[(TENDER, "machine vs bob")]["passages"] == 2  # the orphan is not counted
    between = rows[(TRUST, "alice vs bob")]
    assert between["passages"] == 2 and between["observed_agreement"] == 0.5
    pooled = rows[("all", "machine vs alice")]
    assert pooled["passages"] == 4 and pooled["observed_agreement"] == 0.75
    assert rows[(TENDER, "alice vs bob")]["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=[[1, 0], [1, 0]], level_of_measurement="nominal"))
