"""Code co-occurrence per site: which codes the same passages carry together.

For every pair of codes and every site (and `all`), the passages carrying each code and
both, with the c-coefficient n_both / (n_a + n_b - n_both) that ATLAS.ti reports (the
Jaccard index of the two codes' passage sets: 0 when they never meet, 1 when they always
come together). A pair of a competition code with a cooperation code is marked
`interplay`: the passages where the framework's two logics meet.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from itertools import combinations

from interplay.codebook import Codebook
from interplay.fileio import write_csv
from interplay.passage_table import CodedPassage, read_coded_passages

COOCCURRENCE_COLUMNS = ("site", "code_a", "code_b", "codable_passages", "passages_a",
                        "passages_b", "passages_both", "c_coefficient", "interplay")
ALL_SITES = "all"


def c_coefficient(n_a: int, n_b: int, n_both: int) -> float:
    union = n_a + n_b - n_both
    return n_both / union if union else 0.0


def _site_rows(site: str, passages: list[CodedPassage], codebook: Codebook) -> list[dict]:
    carrying = {code: {p.passage_id for p in passages if code in p.codes} for code in codebook.ids}
    family = {code.id: code.family for code in codebook.codes}
    codable = sum(p.codable for p in passages)
    rows = []
    for code_a, code_b in combinations(codebook.ids, 2):
        n_a, n_b = len(carrying[code_a]), len(carrying[code_b])
        n_both = len(carrying[code_a] & carrying[code_b])
        rows.append({
            "site": site, "code_a": code_a, "code_b": code_b,
            "codable_passages": codable,
            "passages_a": n_a, "passages_b": n_b, "passages_both": n_both,
            "c_coefficient": round(c_coefficient(n_a, n_b, n_both), 4),
            "interplay": {family[code_a], family[code_b]} == {"competition", "cooperation"},
        })
    return rows


def cooccurrence_table(passages: Iterable[CodedPassage], codebook: Codebook) -> list[dict]:
    """One row per site (sorted, then `all`) and pair of codes in codebook order, on the
    final codes (a reviewer's where a review applies)."""
    passages = list(passages)
    rows = []
    for site in sorted({p.site for p in passages}):
        rows += _site_rows(site, [p for p in passages if p.site == site], codebook)
    return rows + _site_rows(ALL_SITES, passages, codebook)


def write_cooccurrence(coded_csv: str | os.PathLike, codebook: Codebook,
                       out_csv: str | os.PathLike) -> list[dict]:
    rows = cooccurrence_table(read_coded_passages(coded_csv), codebook)
    write_csv(out_csv, COOCCURRENCE_COLUMNS, rows)
    return rows
