"""Reliability with uncertainty: how far each code's machine coding can be trusted, per site.

Two references, each a set of units with a human and a machine yes/no for every code:

- `review`: each reviewer's decision on a passage that exists (status applied or conflict)
  against the machine codes that reviewer was shown; reviewers pooled, one unit per
  (reviewer, passage). Sheets put uncertain passages first, so this understates agreement
  on the corpus as a whole.
- `cross_validation`: each human-annotated passage against the codes predicted for it by a
  model that never saw its document (`model/cross_validated.csv`, written by training).

Per reference, code and site, and over all sites (`all`): Cohen's kappa, Krippendorff's
alpha (nominal), and the machine's precision and recall, each with a 95% percentile
bootstrap interval. The bootstrap resamples documents, not passages: passages of one
document share a speaker, a topic and a coder, so they are not independent, and resampling
them one by one would give intervals that are too narrow. A document's site comes from
coded_passages.csv; a document it does not hold (annotated, but not in this corpus) counts
under site `unknown`, and in `all`.

A statistic is undefined (its cell empty, never 0 or 1) when nothing decides it: kappa and
alpha when both coders give every unit the same value, precision without machine positives,
recall without human positives. Its interval is taken over the replicates where it is
defined, and left empty when it is undefined in more than a tenth of them (too few
documents decide it to say how far it could move) or when the units come from fewer than
five documents.
"""

from __future__ import annotations

import csv
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from interplay.agreement import ATTACHED, cohen_kappa, krippendorff_alpha
from interplay.cooccurrence import ALL_SITES  # the pooled row's site, as cooccurrence.csv names it
from interplay.fileio import write_csv
from interplay.passage_table import read_coded_passages
from interplay.review import read_decisions

REVIEW, CROSS_VALIDATION = "review", "cross_validation"
REFERENCES = (REVIEW, CROSS_VALIDATION)
UNKNOWN_SITE = "unknown"
STATISTICS = ("kappa", "alpha", "precision", "recall")
RELIABILITY_COLUMNS = ("reference", "site", "code", "documents", "units", "human_positive",
                       "machine_positive",
                       *(f"{s}{part}" for s in STATISTICS for part in ("", "_low", "_high")),
                       "recommendation", "basis")
CROSS_VALIDATED_COLUMNS = ("passage_id", "doc_id", "source", "human_codes", "predicted_codes")

REPLICATES = 1000
MIN_DOCUMENTS = 5  # fewer cannot be resampled into anything worth calling an interval
MIN_DEFINED = 0.9  # share of replicates in which a statistic must be defined to get an interval
MIN_POSITIVES = 20
SAFE_KAPPA = 0.60  # Landis & Koch: above 0.6 is substantial agreement
SAFE_PRECISION = 0.75  # at most one machine coding in four wrong
SAFE, REVIEW_NEEDED, TOO_RARE = "safe to auto-apply", "needs review", "too rare to judge"
RECOMMENDATION_RULE = (
    f"Each code is judged on the all-sites row of one reference, its basis: the reviews "
    f"when at least {MIN_POSITIVES} reviewer decisions give the code (the cautious choice: "
    f"sheets put uncertain passages first), cross-validation otherwise. '{TOO_RARE}' when "
    f"the basis has fewer than {MIN_POSITIVES} human-positive units or no interval for "
    f"kappa or precision; '{SAFE}' when the lower 95% bound of kappa is at least "
    f"{SAFE_KAPPA:.2f} (substantial agreement, Landis & Koch) and that of precision at "
    f"least {SAFE_PRECISION:.2f} (at most one machine coding in four wrong, at the "
    f"pessimistic end); '{REVIEW_NEEDED}' otherwise.")


@dataclass(frozen=True)
class Unit:
    """One human judgement of a passage beside the machine's, with the document it is from."""

    doc_id: str
    site: str
    human: frozenset[str]
    machine: frozenset[str]


def _statistics(tables: np.ndarray) -> dict[str, np.ndarray]:
    """Kappa, alpha, precision and recall from 2x2 counts (last axis: both yes, human only,
    machine only, both no), NaN where undefined.

    The point estimates of kappa and alpha come from interplay.agreement, on the units; a
    thousand resamples need them from counts, vectorised (the tests hold the two equal).
    """
    both, human_only, machine_only, neither = np.moveaxis(tables.astype(float), -1, 0)
    n = both + human_only + machine_only + neither
    human, machine = both + human_only, both + machine_only
    chance = human * machine + (n - human) * (n - machine)  # expected agreement x n^2
    positive_values = 2 * both + human_only + machine_only  # over both coders' 2n values
    negative_values = 2 * neither + human_only + machine_only
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "kappa": _defined(n * (both + neither) - chance, n * n - chance),
            "alpha": 1 - _defined((human_only + machine_only) * (2 * n - 1),
                                  positive_values * negative_values),
            "precision": _defined(both, machine),
            "recall": _defined(both, human),
        }


def _defined(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.where(denominator > 0, numerator / denominator, np.nan)


def _interval(replicates: np.ndarray) -> tuple[float, float] | None:
    defined = replicates[~np.isnan(replicates)]
    if len(defined) < MIN_DEFINED * len(replicates):
        return None
    low, high = np.percentile(defined, [2.5, 97.5])
    return float(low), float(high)


def _cell(value: float | None) -> float | str:
    return "" if value is None or np.isnan(value) else round(float(value), 4)


def _stream(seed: int, reference: str, site: str) -> np.random.Generator:
    """Each (reference, site) draws from its own stream, so one's intervals do not change
    when another reference or site is added."""
    return np.random.default_rng([seed, zlib.crc32(f"{reference}/{site}".encode())])


def _rows_for(reference: str, site: str, units: list[Unit], codes: Sequence[str], *,
              rng: np.random.Generator, replicates: int) -> list[dict]:
    documents = {doc_id: i for i, doc_id in enumerate(sorted({u.doc_id for u in units}))}
    which = np.array([documents[u.doc_id] for u in units])
    human = np.array([[c in u.human for c in codes] for u in units], dtype=bool)
    machine = np.array([[c in u.machine for c in codes] for u in units], dtype=bool)
    cells = np.stack([human & machine, human & ~machine, ~human & machine, ~human & ~machine],
                     axis=-1).astype(int)
    per_document = np.zeros((len(documents), len(codes), 4), dtype=int)
    np.add.at(per_document, which, cells)
    draws = rng.multinomial(len(documents), np.full(len(documents), 1 / len(documents)),
                            size=replicates)
    resampled = _statistics(np.einsum("bd,dkc->bkc", draws, per_document))
    observed = _statistics(per_document.sum(axis=0))
    rows = []
    for j, code in enumerate(codes):
        h, m = human[:, j].astype(int).tolist(), machine[:, j].astype(int).tolist()
        point = {"kappa": cohen_kappa(h, m), "alpha": krippendorff_alpha(h, m),
                 "precision": observed["precision"][j], "recall": observed["recall"][j]}
        row = {"reference": reference, "site": site, "code": code,
               "documents": len(documents), "units": len(units),
               "human_positive": sum(h), "machine_positive": sum(m)}
        for name in STATISTICS:
            interval = None if _cell(point[name]) == "" or len(documents) < MIN_DOCUMENTS \
                else _interval(resampled[name][:, j])
            low, high = interval or (None, None)
            row.update({name: _cell(point[name]), f"{name}_low": _cell(low),
                        f"{name}_high": _cell(high)})
        rows.append({**row, "recommendation": "", "basis": ""})
    return rows


def recommend(rows: list[dict]) -> dict[str, tuple[str, str]]:
    """Per code, the recommendation and the reference it rests on (RECOMMENDATION_RULE)."""
    pooled = {(r["reference"], r["code"]): r for r in rows if r["site"] == ALL_SITES}
    verdicts = {}
    for code in dict.fromkeys(r["code"] for r in rows):
        review = pooled.get((REVIEW, code))
        enough_reviews = review is not None and review["human_positive"] >= MIN_POSITIVES
        basis = REVIEW if enough_reviews or (CROSS_VALIDATION, code) not in pooled \
            else CROSS_VALIDATION
        row = pooled[(basis, code)]
        if (row["human_positive"] < MIN_POSITIVES or row["kappa_low"] == ""
                or row["precision_low"] == ""):
            verdict = TOO_RARE
        elif row["kappa_low"] >= SAFE_KAPPA and row["precision_low"] >= SAFE_PRECISION:
            verdict = SAFE
        else:
            verdict = REVIEW_NEEDED
        verdicts[code] = (verdict, basis)
    return verdicts


def reliability_table(units: dict[str, list[Unit]], codes: Sequence[str], *, seed: int,
                      replicates: int = REPLICATES) -> list[dict]:
    """Rows of reliability.csv from each reference's units: per reference and code, the
    sites pooled (`all`) then each site; a code's `all` rows carry its recommendation."""
    rows = []
    for reference in REFERENCES:
        found = units.get(reference) or []
        sites = [ALL_SITES, *sorted({u.site for u in found})] if found else []
        by_site = {site: _rows_for(reference, site, [u for u in found if site in
                                                     (ALL_SITES, u.site)], codes,
                                   rng=_stream(seed, reference, site), replicates=replicates)
                   for site in sites}
        rows += [by_site[site][j] for j in range(len(codes)) for site in sites]
    verdicts = recommend(rows)
    for row in rows:
        if row["site"] == ALL_SITES:
            row["recommendation"], row["basis"] = verdicts[row["code"]]
    return rows


def reliability_log(rows: list[dict]) -> list[str]:
    """The reliability job's log: each code's recommendation and the figures behind it."""
    lines = [f"{len(rows)} rows", RECOMMENDATION_RULE]
    for row in rows:
        if row["site"] == ALL_SITES and row["reference"] == row["basis"]:
            lines.append(f"{row['code']}: {row['recommendation']} (on {row['basis']}: "
                         f"{row['human_positive']} positive of {row['units']} units; kappa "
                         f"{_span(row, 'kappa')}, precision {_span(row, 'precision')})")
    return lines


def _span(row: dict, name: str) -> str:
    if row[name] == "":
        return "undefined"
    interval = f" [{row[name + '_low']}, {row[name + '_high']}]" if row[name + "_low"] != "" \
        else " [no interval]"
    return f"{row[name]}{interval}"


def _codes(value: str) -> frozenset[str]:
    return frozenset(c for c in (value or "").split(";") if c)


def review_units(decisions: list[dict], sites: dict[str, str]) -> list[Unit]:
    """One unit per (reviewer, passage) the reviewer decided, as agreement.csv counts them."""
    latest = {(row["reviewer"], row["passage_id"]): row for row in decisions
              if row["status"] in ATTACHED}
    units = []
    for (_, passage_id), row in sorted(latest.items()):
        doc_id = row["doc_id"] or passage_id.split(":")[0]
        units.append(Unit(doc_id, sites.get(doc_id, UNKNOWN_SITE),
                          _codes(row["reviewer_codes"]), _codes(row["shown_machine_codes"])))
    return units


def cross_validation_units(rows: list[dict], sites: dict[str, str]) -> list[Unit]:
    return [Unit(row["doc_id"], sites.get(row["doc_id"], UNKNOWN_SITE),
                 _codes(row["human_codes"]), _codes(row["predicted_codes"])) for row in rows]


def write_reliability(decisions_csv: str | os.PathLike, coded_passages_csv: str | os.PathLike,
                      cross_validated_csv: str | os.PathLike, codes: Sequence[str],
                      out_csv: str | os.PathLike, *, seed: int,
                      replicates: int = REPLICATES) -> list[dict]:
    sites = {p.doc_id: p.site for p in read_coded_passages(coded_passages_csv)}
    with open(cross_validated_csv, encoding="utf-8", newline="") as handle:
        cross_validated = list(csv.DictReader(handle))
    units = {REVIEW: review_units(read_decisions(decisions_csv), sites),
             CROSS_VALIDATION: cross_validation_units(cross_validated, sites)}
    rows = reliability_table(units, codes, seed=seed, replicates=replicates)
    write_csv(out_csv, RELIABILITY_COLUMNS, rows)
    return rows
