"""Agreement between coders: the machine against each reviewer, and reviewers between them.

Per code, every passage both coders decided is a unit with a yes/no value from each; Cohen's
kappa and Krippendorff's alpha (nominal) are computed on those units, and the row "all"
pools every code's units. Both statistics are undefined when the coders' values leave
nothing to chance-correct (every unit the same value): the cell is then left empty rather
than reported as perfect or zero.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from itertools import combinations

from interplay.fileio import write_csv
from interplay.passage_table import MACHINE
from interplay.review import read_decisions

AGREEMENT_COLUMNS = ("code", "comparison", "coder_a", "coder_b", "passages", "positive_a",
                     "positive_b", "observed_agreement", "cohen_kappa", "krippendorff_alpha")
ATTACHED = ("applied", "conflict")  # decisions on passages that exist


def cohen_kappa(a: Sequence[int], b: Sequence[int]) -> float | None:
    """Cohen's kappa of two coders' nominal values on the same units (None if undefined)."""
    n = len(a)
    if n == 0:
        return None
    categories = set(a) | set(b)
    observed = sum(x == y for x, y in zip(a, b)) / n
    expected = sum((list(a).count(c) / n) * (list(b).count(c) / n) for c in categories)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)


def krippendorff_alpha(a: Sequence[int], b: Sequence[int]) -> float | None:
    """Krippendorff's alpha (nominal) for two coders with no missing values (None if
    undefined): 1 - observed / expected disagreement, from the coincidence matrix."""
    if len(a) == 0:
        return None
    values = list(a) + list(b)
    n = len(values)
    totals = defaultdict(int)
    for value in values:
        totals[value] += 1
    observed = 2 * sum(x != y for x, y in zip(a, b)) / n
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k) / (n * (n - 1))
    if expected == 0:
        return None
    return 1 - observed / expected


def _pair_row(code: str, name_a: str, name_b: str, a: list[int], b: list[int],
              passages: int) -> dict:
    kappa, alpha = cohen_kappa(a, b), krippendorff_alpha(a, b)
    return {"code": code, "comparison": f"{name_a} vs {name_b}", "coder_a": name_a,
            "coder_b": name_b, "passages": passages, "positive_a": sum(a), "positive_b": sum(b),
            "observed_agreement": round(sum(x == y for x, y in zip(a, b)) / len(a), 4),
            "cohen_kappa": "" if kappa is None else round(kappa, 4),
            "krippendorff_alpha": "" if alpha is None else round(alpha, 4)}


def _rows_for(name_a: str, name_b: str, units: list[tuple[set[str], set[str]]],
              codes: Sequence[str]) -> list[dict]:
    if not units:
        return []
    rows, pooled_a, pooled_b = [], [], []
    for code in codes:
        a = [int(code in first) for first, _ in units]
        b = [int(code in second) for _, second in units]
        rows.append(_pair_row(code, name_a, name_b, a, b, len(units)))
        pooled_a += a
        pooled_b += b
    rows.append(_pair_row("all", name_a, name_b, pooled_a, pooled_b, len(units)))
    return rows


def agreement_table(decisions: list[dict], codes: Sequence[str]) -> list[dict]:
    """Rows of agreement.csv from review_decisions.csv rows: the machine (the codes the
    reviewer was shown) against each reviewer, then every pair of reviewers on the
    passages both decided."""
    by_reviewer: dict[str, dict[str, dict]] = defaultdict(dict)
    for row in decisions:
        if row["status"] in ATTACHED:
            by_reviewer[row["reviewer"]][row["passage_id"]] = row
    rows = []
    for reviewer in sorted(by_reviewer):
        units = [(_codes(r["shown_machine_codes"]), _codes(r["reviewer_codes"]))
                 for _, r in sorted(by_reviewer[reviewer].items())]
        rows += _rows_for(MACHINE, reviewer, units, codes)
    for first, second in combinations(sorted(by_reviewer), 2):
        shared = sorted(set(by_reviewer[first]) & set(by_reviewer[second]))
        units = [(_codes(by_reviewer[first][p]["reviewer_codes"]),
                  _codes(by_reviewer[second][p]["reviewer_codes"])) for p in shared]
        rows += _rows_for(first, second, units, codes)
    return rows


def _codes(value: str) -> set[str]:
    return {c for c in value.split(";") if c}


def write_agreement(decisions_csv: str | os.PathLike, codes: Sequence[str],
                    out_csv: str | os.PathLike) -> list[dict]:
    rows = agreement_table(read_decisions(decisions_csv), codes)
    write_csv(out_csv, AGREEMENT_COLUMNS, rows)
    return rows
