import csv
import itertools
import json

import numpy as np
import pytest
from sklearn.metrics import precision_score, recall_score

from interplay.agreement import cohen_kappa, krippendorff_alpha
from interplay.coder import code_metrics
from interplay.config import load_settings
from interplay.reliability import (
    ALL_SITES,
    CROSS_VALIDATED_COLUMNS,
    CROSS_VALIDATION,
    RELIABILITY_COLUMNS,
    REVIEW,
    REVIEW_NEEDED,
    SAFE,
    STATISTICS,
    TOO_RARE,
    UNKNOWN_SITE,
    Unit,
    _statistics,
    reliability_table,
    write_reliability,
)
from interplay.review import DECISION_COLUMNS
from interplay.training import CODED_COLUMNS, train_to_files

CODES = ("a", "b", "c")


def random_units(rng: np.random.Generator, *, documents: int, per_document: int,
                 codes=CODES) -> list[Unit]:
    """Units whose codes' base rates vary by document, the machine flipping some values."""
    noise, units = rng.uniform(0.05, 0.4), []
    for d in range(documents):
        rate = rng.uniform(0.05, 0.6)
        for _ in range(per_document):
            human = {c for c in codes if rng.random() < rate}
            machine = {c for c in codes if (c in human) != (rng.random() < noise)}
            units.append(Unit(f"D{d}", f"site{d % 2}", frozenset(human), frozenset(machine)))
    return units


def table(units, *, seed=13, replicates=300, reference=CROSS_VALIDATION, codes=CODES):
    return reliability_table({reference: units}, codes, seed=seed, replicates=replicates)


def pooled(rows, code, reference=CROSS_VALIDATION):
    [row] = [r for r in rows if r["site"] == ALL_SITES and r["code"] == code
             and r["reference"] == reference]
    return row


def test_vectorised_statistics_equal_the_agreement_functions_on_every_small_table():
    for counts in itertools.product(range(4), repeat=4):
        both, human_only, machine_only, neither = counts
        human = [1] * (both + human_only) + [0] * (machine_only + neither)
        machine = [1] * both + [0] * human_only + [1] * machine_only + [0] * neither
        stats = _statistics(np.array(counts))
        for name, expected in (("kappa", cohen_kappa(human, machine)),
                               ("alpha", krippendorff_alpha(human, machine))):
            if expected is None:
                assert np.isnan(stats[name]), (name, counts)
            else:
                assert stats[name] == pytest.approx(expected), (name, counts)


def test_point_estimates_match_agreement_and_scikit_learn():
    units = random_units(np.random.default_rng(0), documents=12, per_document=15)
    rows = table(units)
    for site in (ALL_SITES, "site0", "site1"):
        chosen = [u for u in units if site in (ALL_SITES, u.site)]
        for code in CODES:
            [row] = [r for r in rows if r["site"] == site and r["code"] == code]
            human = [int(code in u.human) for u in chosen]
            machine = [int(code in u.machine) for u in chosen]
            assert row["units"] == len(chosen) and row["documents"] == 6 + 6 * (site == "all")
            assert (row["human_positive"], row["machine_positive"]) == (sum(human), sum(machine))
            assert row["kappa"] == round(cohen_kappa(human, machine), 4)
            assert row["alpha"] == round(krippendorff_alpha(human, machine), 4)
            assert row["precision"] == round(precision_score(human, machine), 4)
            assert row["recall"] == round(recall_score(human, machine), 4)


def test_every_interval_contains_its_point_estimate():
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(150):
        units = random_units(rng, documents=int(rng.integers(5, 15)),
                             per_document=int(rng.integers(1, 10)))
        for row in table(units, seed=int(rng.integers(1000)), replicates=200):
            for name in STATISTICS:
                if row[f"{name}_low"] != "":
                    assert row[f"{name}_low"] <= row[name] <= row[f"{name}_high"], (name, row)
                    checked += 1
    assert checked > 2000


def replicated(units: list[Unit], times: int) -> list[Unit]:
    """The same documents again under new IDs: the same estimates from more documents."""
    return [Unit(f"{u.doc_id}~{k}", u.site, u.human, u.machine)
            for k in range(times) for u in units]


def widths(rows):
    return {(r["site"], r["code"], name): r[f"{name}_high"] - r[f"{name}_low"]
            for r in rows for name in STATISTICS if r[f"{name}_low"] != ""}


def test_intervals_narrow_with_more_documents():
    units = random_units(np.random.default_rng(2), documents=10, per_document=12)
    small, large = table(units), table(replicated(units, 4))
    for before, after in zip(small, large):  # alpha corrects for sample size; the rest do not
        assert [before[n] for n in ("kappa", "precision", "recall")] == \
            [after[n] for n in ("kappa", "precision", "recall")]
    narrow, wide = widths(large), widths(small)
    assert narrow.keys() == wide.keys() and len(wide) > 20
    assert all(narrow[k] <= wide[k] for k in wide)
    assert np.mean([narrow[k] / wide[k] for k in wide if wide[k]]) < 0.7  # about 1/sqrt(4)


def test_passages_of_one_document_are_resampled_together():
    """Copying every passage within its own document adds no independent evidence: the
    intervals stay as they were (they would shrink if passages were resampled one by one)."""
    units = random_units(np.random.default_rng(3), documents=10, per_document=6)
    once, thrice = table(units), table([u for u in units for _ in range(3)])
    for a, b in zip(once, thrice):
        for name in ("kappa", "precision", "recall"):
            assert a[f"{name}_low"] == b[f"{name}_low"]
            assert a[f"{name}_high"] == b[f"{name}_high"]


def test_the_same_seed_gives_the_same_intervals():
    units = random_units(np.random.default_rng(4), documents=10, per_document=8)
    assert table(units, seed=7) == table(units, seed=7)
    assert widths(table(units, seed=7)) != widths(table(units, seed=8))


def test_undefined_statistics_are_empty_not_zero_or_one():
    units = [Unit(f"D{d}", "north", frozenset({"a"} if i == 0 else ()), frozenset())
             for d in range(8) for i in range(3)]
    rows = table(units)
    never = pooled(rows, "c")  # neither coder ever gives it
    assert all(never[f"{n}{part}"] == "" for n in STATISTICS for part in ("", "_low", "_high"))
    missed = pooled(rows, "a")  # the human gives it, the machine never does
    assert missed["precision"] == "" and missed["precision_low"] == ""
    assert missed["recall"] == 0.0 and missed["recall_low"] == 0.0
    assert missed["kappa"] == 0.0
    few = table(units[:12])  # four documents: estimates, but no interval
    assert pooled(few, "a")["recall"] == 0.0 and pooled(few, "a")["recall_low"] == ""


def designed_units(*, documents=40, review=False) -> list[Unit]:
    """`a` always agreed, `b` a third of its values flipped, `c` given to three passages."""
    units = []
    for i in range(documents * 3):
        human = {code for code, given in (("a", i % 3 == 0), ("b", i % 2 == 0),
                                          ("c", i in (0, 7, 14))) if given}
        machine = human ^ ({"b"} if i % 3 == 1 else set())
        if review:  # reviewers overturn the machine on `a` half the time
            machine ^= {"a"} if i % 6 == 0 else set()
        units.append(Unit(f"D{i // 3}", "north", frozenset(human), frozenset(machine)))
    return units


def test_recommendation_outcomes():
    rows = table(designed_units())
    assert {c: pooled(rows, c)["recommendation"] for c in CODES} == {
        "a": SAFE, "b": REVIEW_NEEDED, "c": TOO_RARE}
    assert all(r["recommendation"] == r["basis"] == "" for r in rows if r["site"] != ALL_SITES)


def test_recommendation_rests_on_reviews_with_enough_positives():
    rows = reliability_table({CROSS_VALIDATION: designed_units(),
                              REVIEW: designed_units(documents=20, review=True)},
                             CODES, seed=13, replicates=300)
    assert (pooled(rows, "a", REVIEW)["recommendation"], pooled(rows, "a", REVIEW)["basis"]) \
        == (REVIEW_NEEDED, REVIEW)  # 20 positives reviewed, and reviewers disagree
    assert pooled(rows, "a", CROSS_VALIDATION)["basis"] == REVIEW  # every `all` row says so
    assert pooled(rows, "c", REVIEW)["basis"] == CROSS_VALIDATION  # too few reviewed


def write_table(path, columns, rows):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_rows(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_write_reliability_from_the_pipeline_files(tmp_path):
    coded = write_table(tmp_path / "coded.csv", CODED_COLUMNS, [
        {"passage_id": f"D{d}:{d:010x}", "doc_id": f"D{d}", "site": "north" if d < 6 else "south",
         "actor": "", "kind": "interview", "start": 0, "end": 1, "text": "x"}
        for d in range(10)])
    decisions = write_table(tmp_path / "decisions.csv", DECISION_COLUMNS, [
        {"reviewer": "alice", "passage_id": "D1:1", "doc_id": "D1", "status": "applied",
         "shown_machine_codes": "a", "reviewer_codes": "a;b"},
        {"reviewer": "bob", "passage_id": "D1:1", "doc_id": "D1", "status": "conflict",
         "shown_machine_codes": "a", "reviewer_codes": ""},
        {"reviewer": "bob", "passage_id": "D2:1", "doc_id": "D2", "status": "orphaned",
         "shown_machine_codes": "a", "reviewer_codes": "a"},
        {"reviewer": "bob", "passage_id": "D3:1", "doc_id": "D3", "status": "invalid",
         "shown_machine_codes": "", "reviewer_codes": ""}])
    cross_validated = write_table(tmp_path / "cv.csv", CROSS_VALIDATED_COLUMNS, [
        {"doc_id": u.doc_id, "human_codes": ";".join(sorted(u.human)),
         "predicted_codes": ";".join(sorted(u.machine))} for u in designed_units(documents=12)])
    out = tmp_path / "reliability.csv"
    rows = write_reliability(decisions, coded, cross_validated, CODES, out, seed=13,
                             replicates=100)
    written = read_rows(out)
    assert tuple(written[0]) == RELIABILITY_COLUMNS and len(written) == len(rows)
    review = pooled(rows, "b", REVIEW)
    assert (review["units"], review["human_positive"], review["machine_positive"]) == (2, 1, 0)
    assert {r["site"] for r in rows if r["reference"] == CROSS_VALIDATION} == {
        ALL_SITES, "north", "south", UNKNOWN_SITE}  # D10 and D11 are not in the corpus
    assert {r["site"] for r in rows if r["reference"] == REVIEW} == {ALL_SITES, "north"}


@pytest.fixture(scope="module")
def trained(repo, tmp_path_factory):
    """The coder trained on two sites' annotations, with its cross-validated predictions."""
    out = tmp_path_factory.mktemp("trained")
    annotations = sorted(str(p) for p in (repo / "corpus" / "annotations").glob("*.csv")
                         if p.name.startswith(("harbourside", "northbridge")))
    settings = load_settings(repo / "config" / "config.yaml")
    train_to_files(str(repo / "config" / "codebook.yaml"), annotations, str(out / "coder.joblib"),
                   str(out / "metrics.json"), str(out / "evaluation.json"),
                   settings=settings.coding, seed=settings.random_seed,
                   cross_validated_path=str(out / "cross_validated.csv"))
    return out


def test_cross_validated_predictions_agree_with_evaluation(trained, repo, tmp_path):
    evaluation = json.loads((trained / "evaluation.json").read_text())
    rows = read_rows(trained / "cross_validated.csv")
    assert tuple(rows[0]) == CROSS_VALIDATED_COLUMNS
    assert len(rows) == evaluation["training"]["passages"]
    assert not any(r["doc_id"].startswith("codebook:") for r in rows)
    assert all(r["source"].startswith(str(repo / "corpus" / "annotations")) for r in rows)
    per_code = evaluation["cross_validation"]["per_code"]
    for code, expected in per_code.items():
        human = np.array([code in r["human_codes"].split(";") for r in rows], dtype=int)
        predicted = np.array([code in r["predicted_codes"].split(";") for r in rows], dtype=int)
        assert code_metrics(human, predicted) == pytest.approx(
            {k: v for k, v in expected.items() if k != "threshold"})

    coded = write_table(tmp_path / "coded.csv", CODED_COLUMNS, [])
    decisions = write_table(tmp_path / "decisions.csv", DECISION_COLUMNS, [])
    reliability = write_reliability(decisions, coded, trained / "cross_validated.csv",
                                    list(per_code), tmp_path / "reliability.csv", seed=13,
                                    replicates=200)
    for code, expected in per_code.items():
        row = pooled(reliability, code)
        assert row["human_positive"] == expected["support"]
        if row["precision"] != "":
            assert row["precision"] == pytest.approx(expected["precision"], abs=1e-4)
        if row["recall"] != "":
            assert row["recall"] == pytest.approx(expected["recall"], abs=1e-4)
        assert row["recommendation"] in (SAFE, REVIEW_NEEDED, TOO_RARE)
