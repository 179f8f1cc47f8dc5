"""The report's analysis pages: the concordance page (keyword in context, searched in the
browser) and the similar passages listed under each passage of a document page."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urljoin

import pytest
from lxml import html
from test_report import CODEBOOK, SCRIPT, chromium  # noqa: F401 (fixture)

from interplay.codebook import load_codebook
from interplay.concordance import find_occurrences
from interplay.passage_table import CodedPassage, read_coded_passages
from interplay.reliability import RECOMMENDATION_RULE, RELIABILITY_COLUMNS
from interplay.report import DocumentInfo, ReportInputs, write_report

TENDERING = "competition.tendering"
# A non-BMP letter (two UTF-16 units, one code point) before a hit checks that offsets are
# counted as Python counts them; "market\nengagement" checks a phrase across a line break.
MARKET = ("We put the community contract out to the market in 2019. \U0001d538 market\n"
          "engagement came first, and the market told us what it could do.")
NEAR_DUPLICATE = ("We put the community contract out to the market in 2020. \U0001d538 market\n"
                  "engagement came first, and the market told us what it could do.")
HOSTILE = f"Someone pasted {SCRIPT} next to the word market </script> into the minutes."
OTHER = "The alliance board meets monthly and shares one pot of risk money."
TEXTS = {"D1": f"Minutes\n\n{MARKET}\n\n{HOSTILE}\n", "D2": f"{NEAR_DUPLICATE}\n\n{OTHER}\n"}
PARTS = {"D1": [("Minutes", False, ()), (MARKET, True, ()), (HOSTILE, True, ())],
         "D2": [(NEAR_DUPLICATE, True, (TENDERING,)), (OTHER, True, ("cooperation.contracting",))]}
SITES = {"D1": "harbourside", "D2": "wealdmoor"}


def _passages(codebook) -> list[CodedPassage]:
    passages = []
    for doc_id, parts in PARTS.items():
        cursor = 0
        for number, (text, codable, codes) in enumerate(parts):
            start = TEXTS[doc_id].index(text, cursor)
            cursor = start + len(text)
            passages.append(CodedPassage(
                passage_id=f"{doc_id}:{number:010x}", doc_id=doc_id, site=SITES[doc_id],
                actor="commissioner", kind="document", speaker_role="", page="", start=start,
                end=cursor, text=text, codes=codes, orientation=codebook.orientation(codes),
                scores={c: (0.9 if c in codes else 0.1) for c in codebook.ids} if codable
                else {}))
    return passages


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    codebook = load_codebook(CODEBOOK)
    passages = _passages(codebook)
    out = tmp_path_factory.mktemp("analysis") / "report"
    documents = {d: DocumentInfo(d, f"Document {d}", SITES[d], "document", "commissioner", "")
                 for d in TEXTS}
    write_report(ReportInputs(passages=passages, codebook=codebook, documents=documents,
                              texts=TEXTS, evidence={}), out)
    return {"out": out, "passages": passages}


def _tree(path: Path):
    return html.fromstring(path.read_text(encoding="utf-8"))


def test_concordance_page_carries_every_passage_as_inert_json(report):
    raw = (report["out"] / "concordance.html").read_text(encoding="utf-8")
    assert SCRIPT not in raw and "market </script>" not in raw
    tree = html.fromstring(raw)
    scripts = tree.xpath("//script")
    assert [s.get("type") or s.get("src") for s in scripts] == [
        "application/json", "application/json", "assets/concordance.js", "assets/report.js"]
    data = json.loads(scripts[0].text)
    assert [d["id"] for d in data] == [p.passage_id for p in report["passages"]]
    for item, passage in zip(data, report["passages"], strict=True):
        assert item["text"] == TEXTS[passage.doc_id][passage.start:passage.end]
        assert (report["out"] / unquote(item["href"].split("#")[0])).is_file()
    assert json.loads(scripts[1].text)[TENDERING] == "Competitive tendering"
    assert tree.xpath("//nav/a[@href='concordance.html']")


def test_similar_passages_under_each_passage_link_to_them(report):
    tree = _tree(report["out"] / "docs" / "D1.html")
    market = tree.get_element_by_id("D1:0000000001")
    items = market.xpath(".//details[contains(@class, 'similar')]//li")
    assert items, "no similar passages listed"
    first = items[0].xpath(".//a")[0].get("href")
    assert first == "D2.html#D2:0000000000"  # the near-duplicate, in the other document
    assert "not coded here: Competitive tendering" in items[0].text_content()
    assert all("D1:0000000001" not in a.get("href") for a in market.xpath(".//details//a"))
    target = _tree(report["out"] / "docs" / "D2.html").get_element_by_id("D2:0000000000")
    assert "passage" in target.get("class")
    heading = tree.get_element_by_id("D1:0000000000")  # not codable: nothing to compare
    assert not heading.xpath(".//details[contains(@class, 'similar')]")


def _rows(page) -> list[tuple]:
    return [tuple(r) for r in page.evaluate("""() => Array.from(
        document.querySelectorAll('#kwic-rows tr.hit'), r => [r.dataset.passage,
        +r.dataset.start, +r.dataset.end, r.cells[1].textContent, r.cells[2].textContent,
        r.cells[3].textContent])""")]


def _expected(passages, term: str, **filters) -> list[tuple]:
    return [(o.passage_id, o.start, o.end, o.left, o.match, o.right)
            for o in find_occurrences(passages, term, **filters)]


def test_concordance_in_chromium_matches_interplay_kwic(report, chromium):  # noqa: F811
    page = chromium.new_page()
    errors, dialogs = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    index = report["out"] / "concordance.html"
    page.goto(index.as_uri() + "#q=market")
    rows = _rows(page)
    assert rows == _expected(report["passages"], "market")
    assert len(rows) == 7
    assert page.text_content("#kwic-count") == "7 occurrences in 3 passages"

    page.fill("#kwic-term", "MARKET   engagement")
    assert _rows(page) == _expected(report["passages"], "market engagement") != []
    assert page.url.endswith("#q=MARKET+++engagement")

    page.select_option("#kwic-code", TENDERING)
    assert _rows(page) == _expected(report["passages"], "market engagement", code=TENDERING)
    assert [r[0] for r in _rows(page)] == ["D2:0000000000"]
    page.select_option("#kwic-code", "")
    page.select_option("#kwic-site", "harbourside")
    assert {r[0] for r in _rows(page)} == {"D1:0000000001"}

    page.fill("#kwic-term", "mark")  # whole words only
    assert _rows(page) == []
    assert page.locator("#kwic-table").is_hidden()

    page.goto(index.as_uri() + "#q=word+market")  # text around the hostile markup stays text
    (hit,) = _rows(page)
    assert hit == _expected(report["passages"], "word market")[0]
    assert SCRIPT in hit[3]
    page.click("#kwic-rows a")
    page.wait_for_load_state()
    assert page.url == urljoin(index.as_uri(), "docs/D1.html#D1:0000000002")
    assert not errors and not dialogs, (errors, dialogs)
    page.close()


def test_concordance_on_the_demo_corpus_matches_interplay_kwic(demo_run, chromium):  # noqa: F811
    _, outputs = demo_run
    passages = read_coded_passages(outputs / "coded_passages.csv")
    page = chromium.new_page()
    for term in ("market", "pooled budget", "any qualified provider"):
        page.goto((outputs / "report" / "concordance.html").as_uri() + "#q=" + term)
        expected = _expected(passages, term)
        assert expected, term
        assert _rows(page) == expected, term
    page.close()


def _words(element) -> str:
    return " ".join(" ".join(element.itertext()).split())


def _reliability_row(reference: str, site: str, code: str, kappa: str, low: str, high: str,
                     recommendation: str = "", basis: str = "") -> dict:
    row = {column: "" for column in RELIABILITY_COLUMNS}
    row.update(reference=reference, site=site, code=code, documents="12", units="200",
               human_positive="40", machine_positive="38", kappa=kappa, kappa_low=low,
               kappa_high=high, precision="0.9", precision_low="0.8", precision_high="0.95",
               recommendation=recommendation, basis=basis)
    return row


def test_reliability_section_shows_each_codes_recommendation_and_intervals(tmp_path):
    codebook = load_codebook(CODEBOOK)
    rows = [
        _reliability_row("cross_validation", "all", "cooperation.contracting", "0.7", "0.6",
                         "0.8", "needs review", "cross_validation"),
        _reliability_row("cross_validation", "all", TENDERING, "0.81", "0.74", "0.87",
                         "safe to auto-apply", "cross_validation"),
        _reliability_row("cross_validation", "<b>north</b>", TENDERING, "", "", ""),
    ]
    write_report(ReportInputs(passages=_passages(codebook), codebook=codebook, documents={},
                              texts={}, evidence={}, reliability=rows), tmp_path)
    tree = _tree(tmp_path / "index.html")
    (section,) = tree.xpath("//section[@id='reliability']")
    table = section.xpath(".//table[contains(@class, 'reliability')]")[0]
    body = [_words(r) for r in table.xpath("./tbody/tr")]
    assert body[0].startswith("Competitive tendering safe to auto-apply")  # codebook order
    assert "0.81 0.74–0.87" in body[0] and "0.90 0.80–0.95" in body[0]
    assert "needs review" in body[1]
    assert "1 needs review, 1 safe to auto-apply" in " ".join(section.text_content().split())
    assert RECOMMENDATION_RULE in section.text_content()
    (site,) = section.xpath(".//details[contains(@class, 'reliability-site')]")
    assert site.xpath("./summary")[0].text_content() == "<b>north</b>"  # escaped, shown
    assert "200 (40 / 38) – – 0.90 0.80–0.95 –" in _words(site.xpath(".//tbody/tr")[0])


def test_report_without_reliability_says_so(report):
    tree = _tree(report["out"] / "index.html")
    assert "No reliability figures" in tree.get_element_by_id("reliability").text_content()
