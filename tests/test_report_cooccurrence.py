"""The report's co-occurrence section: one code × code table per site and for all sites,
`all` first, each cell the passages carrying both codes and their c-coefficient,
competition × cooperation (interplay) pairs highlighted. Built from small fabricated
outputs (tests/test_report_review.py's), not the demo run."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pytest
from test_report import CODEBOOK, SCRIPT
from test_report_review import (
    RELATIONSHIPS,
    TENDERING,
    _page,
    _words,
    _write_csv,
    _write_outputs,
    codebook,  # noqa: F401 (fixture)
)

from interplay.cooccurrence import COOCCURRENCE_COLUMNS
from interplay.report import build_report

CHOICE, CONTRACTING = "competition.choice", "cooperation.contracting"
HOSTILE_SITE = f"river{SCRIPT}"
SITES = ("harbourside", HOSTILE_SITE, "all")  # as cooccurrence.csv orders them: `all` last
# site -> code -> passages carrying it; (site, code_a, code_b) -> (passages_both, c)
OWN = {"all": {TENDERING: 3, RELATIONSHIPS: 4, CHOICE: 1},
       "harbourside": {TENDERING: 2, RELATIONSHIPS: 2}}
PAIRS = {
    ("all", TENDERING, RELATIONSHIPS): (2, 0.4),
    ("all", TENDERING, CHOICE): (1, 0.3333),
    ("harbourside", TENDERING, RELATIONSHIPS): (1, 0.3333),
}


def _cooccurrence_rows(book) -> list[dict]:
    family = {code.id: code.family for code in book.codes}
    rows = []
    for site in SITES:
        own = OWN.get(site, {})
        for code_a, code_b in combinations(book.ids, 2):
            n_both, c = PAIRS.get((site, code_a, code_b), (0, 0.0))
            rows.append({"site": site, "code_a": code_a, "code_b": code_b,
                         "codable_passages": 5, "passages_a": own.get(code_a, 0),
                         "passages_b": own.get(code_b, 0),
                         "passages_both": n_both, "c_coefficient": c,
                         "interplay": {family[code_a], family[code_b]}
                         == {"competition", "cooperation"}})
    return rows


def _rebuild(root: Path, built: dict, cooccurrence_csv: Path | None):
    """The fabricated outputs' report again, now given cooccurrence.csv (or not)."""
    out = built["out"]
    build_report(out / "report", coded_csv=out / "coded_passages.csv", codebook_path=CODEBOOK,
                 metadata_csv=root / "corpus" / "metadata.csv",
                 coded_files=[out / "coded" / "HB-INT-01.json"],
                 text_files=[out / "text" / "HB-INT-01.txt"],
                 agreement_csv=out / "agreement.csv", decisions_csv=out / "review_decisions.csv",
                 cooccurrence_csv=cooccurrence_csv)
    return _page(out / "report" / "index.html")


@pytest.fixture(scope="module")
def page(tmp_path_factory, codebook):  # noqa: F811
    root = tmp_path_factory.mktemp("cooccurrence")
    built = _write_outputs(root, codebook)
    csv_path = _write_csv(built["out"] / "cooccurrence.csv", COOCCURRENCE_COLUMNS,
                          _cooccurrence_rows(codebook))
    return _rebuild(root, built, csv_path)


def _table(page, site: str):
    return page.xpath("//section[@id='cooccurrence']//section[@data-site=$s]"
                      "//table[contains(@class, 'cooccurrence')]", s=site)[0]


def _cell(table, code_a: str, code_b: str):
    return table.xpath(".//td[@data-code-a=$a and @data-code-b=$b]", a=code_a, b=code_b)[0]


def test_section_is_in_the_nav_with_all_sites_first(page):
    assert page.xpath("//nav/a[@href='index.html#cooccurrence']")
    sections = page.xpath("//section[@id='cooccurrence']//section[@data-site]")
    assert [s.get("data-site") for s in sections] == ["all", "harbourside", HOSTILE_SITE]
    section = _words(page.xpath("//section[@id='cooccurrence']")[0])
    assert "nboth / (na + nb − nboth)" in section
    assert "Interplay: a competition code with a cooperation code" in section


def test_matrix_is_in_codebook_order_with_labels(page, codebook):  # noqa: F811
    table = _table(page, "all")
    labels = [c.label for c in codebook.codes]
    assert [_words(th) for th in table.xpath("./thead/tr/th[@scope='col']")] == labels
    assert [_words(th) for th in table.xpath("./tbody/tr/th[@scope='row']")] == labels
    assert len(table.xpath("./tbody/tr/td")) == len(labels) ** 2


def test_cells_show_count_and_coefficient_symmetrically(page):
    table = _table(page, "all")
    for a, b in ((TENDERING, RELATIONSHIPS), (RELATIONSHIPS, TENDERING)):
        cell = _cell(table, a, b)
        assert cell.xpath("string(.//span[@class='both'])") == "2"
        assert cell.xpath("string(.//span[@class='c'])") == "0.40"
    assert _words(_cell(table, TENDERING, CHOICE)) == "1 0.33"
    assert _words(_cell(table, CONTRACTING, RELATIONSHIPS)) == ""  # never together: empty
    assert _words(_cell(table, TENDERING, TENDERING)) == "3"  # the diagonal: own passages
    assert _words(_cell(_table(page, "harbourside"), TENDERING, RELATIONSHIPS)) == "1 0.33"


def test_interplay_pairs_are_highlighted(page):
    table = _table(page, "all")
    highlighted = {(td.get("data-code-a"), td.get("data-code-b"))
                   for td in table.xpath(".//td[contains(concat(' ', @class, ' '), ' interplay ')]")}
    assert (TENDERING, RELATIONSHIPS) in highlighted
    assert (CONTRACTING, CHOICE) in highlighted  # never together, still an interplay pair
    assert all({a.split(".")[0], b.split(".")[0]} == {"competition", "cooperation"}
               for a, b in highlighted)
    assert "interplay" not in _cell(table, TENDERING, CHOICE).get("class").split()
    assert "interplay" not in _cell(table, CONTRACTING, RELATIONSHIPS).get("class").split()


def test_site_names_are_escaped(page):
    assert not page.xpath("//section[@id='cooccurrence']//script")
    assert HOSTILE_SITE in _words(page.xpath("//section[@id='cooccurrence']")[0])


@pytest.mark.parametrize("given", ["missing", "header only"])
def test_nothing_to_show(tmp_path, codebook, given):  # noqa: F811
    built = _write_outputs(tmp_path, codebook)
    csv_path = None if given == "missing" else _write_csv(
        built["out"] / "cooccurrence.csv", COOCCURRENCE_COLUMNS, [])
    page = _rebuild(tmp_path, built, csv_path)
    section = page.xpath("//section[@id='cooccurrence']")[0]
    assert "No co-occurrence to show" in _words(section)
    assert not section.xpath(".//table")
