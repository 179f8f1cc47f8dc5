"""Code co-occurrence per site: counts, the c-coefficient, and the interplay pairs."""

import csv
from pathlib import Path

import pytest

from interplay.codebook import load_codebook
from interplay.cooccurrence import c_coefficient, cooccurrence_table, write_cooccurrence
from interplay.passage_table import CodedPassage

REPO = Path(__file__).resolve().parents[1]
TENDER, CHOICE, TRUST, PAY = ("competition.tendering", "competition.choice",
                              "cooperation.relationships", "contract.payment")


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(REPO / "config" / "codebook.yaml")


def passage(number: int, site: str, codes: tuple[str, ...], codable: bool = True):
    return CodedPassage(passage_id=f"D:{number}", doc_id="D", site=site, actor="provider",
                        kind="interview", speaker_role="", page="", start=0, end=1, text="x",
                        codes=codes, orientation="", scores={TENDER: 0.5} if codable else {})


PASSAGES = [passage(1, "north", (TENDER, TRUST)), passage(2, "north", (TENDER,)),
            passage(3, "north", (TRUST, PAY)), passage(4, "north", ()),
            passage(5, "north", (), codable=False),
            passage(6, "south", (TENDER, TRUST)), passage(7, "south", (TENDER, TRUST, CHOICE))]


def test_counts_coefficient_and_interplay_per_site_and_overall(codebook):
    rows = {(r["site"], r["code_a"], r["code_b"]): r for r in cooccurrence_table(PASSAGES, codebook)}
    north = rows[("north", TENDER, TRUST)]
    assert (north["codable_passages"], north["passages_a"], north["passages_b"],
            north["passages_both"]) == (4, 2, 2, 1)
    assert north["c_coefficient"] == pytest.approx(1 / 3, abs=1e-4) and north["interplay"]
    assert rows[("south", TENDER, TRUST)]["c_coefficient"] == 1.0
    overall = rows[("all", TENDER, TRUST)]
    assert (overall["passages_a"], overall["passages_b"], overall["passages_both"]) == (4, 4, 3)
    assert overall["c_coefficient"] == pytest.approx(3 / 5, abs=1e-4)
    assert not rows[("all", TENDER, CHOICE)]["interplay"]  # both competition
    assert not rows[("north", TRUST, PAY)]["interplay"]  # cooperation with contract design
    assert rows[("south", TRUST, PAY)]["passages_both"] == 0
    pairs = len(codebook.ids) * (len(codebook.ids) - 1) // 2
    assert len(rows) == 3 * pairs  # north, south, all


def test_c_coefficient_bounds():
    assert c_coefficient(0, 0, 0) == 0.0
    assert c_coefficient(5, 5, 5) == 1.0
    assert c_coefficient(3, 4, 0) == 0.0


def test_written_table_reads_back(tmp_path, codebook):
    coded = tmp_path / "coded_passages.csv"
    with open(coded, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["passage_id", "doc_id", "site", "actor", "kind", "speaker_role", "page",
                         "start", "end", "text", "codes", "orientation", f"score:{TENDER}"])
        for p in PASSAGES:
            writer.writerow([p.passage_id, p.doc_id, p.site, p.actor, p.kind, "", "", 0, 1,
                             p.text, ";".join(p.codes), "", "0.5" if p.codable else ""])
    rows = write_cooccurrence(coded, codebook, tmp_path / "cooccurrence.csv")
    with open(tmp_path / "cooccurrence.csv", encoding="utf-8", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == len(rows)
    first = next(r for r in written if r["site"] == "north" and r["code_a"] == TENDER
                 and r["code_b"] == TRUST)
    assert (first["passages_both"], first["interplay"]) == ("1", "True")
