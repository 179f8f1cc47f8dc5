"""Charts and the HTML review report: escaping, highlight offsets, links, determinism, and
the report in headless Chromium (Debian's /usr/bin/chromium driven by Playwright)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from conftest import REPO, read_csv
from lxml import html

from interplay.charts import CHART_FORMATS, CHART_NAMES, draw_charts
from interplay.codebook import load_codebook
from interplay.highlight import highlight
from interplay.passage_table import read_coded_passages
from interplay.report import ASSET_FILES, build_report, load_inputs, passage_href, render_report
from interplay.training import CODED_COLUMNS

CODEBOOK = REPO / "config" / "codebook.yaml"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE_BREAK = '"><img src=x onerror=alert(2)>'
HOSTILE = f"The provider wrote {SCRIPT} and then {ATTRIBUTE_BREAK} into the tender bid."
TENDERING = ("We went out to tender for the frailty service, and three providers were "
             "tendering for it.")
ALLIANCE = ("The alliance contract binds the trusts together, and we share one budget "
            "across the integrated care partnership.")
HEADER = "Interview transcript\nHarbourside\n\n"


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(CODEBOOK)


def _passages(doc_id: str, site: str, actor: str, kind: str, text: str,
              parts: list[tuple[str, str, list[str]]]) -> list[dict]:
    """Rows for coded_passages.csv: parts are (text, speaker_role, codes); '' role = header."""
    rows, cursor = [], 0
    for number, (part, role, codes) in enumerate(parts):
        start = text.index(part, cursor)
        cursor = start + len(part)
        rows.append({"passage_id": f"{doc_id}:{number:010x}", "doc_id": doc_id, "site": site,
                     "actor": actor, "kind": kind, "speaker_role": role, "page": "",
                     "start": start, "end": cursor, "text": part, "codes": codes,
                     "codable": bool(role)})
    return rows


def _evidence_for(text: str, code: str, words: list[str], terms: list[str]) -> dict:
    rules = []
    for word in words:
        start = text.index(word)
        rules.append({"code": code, "text": word, "start": start, "end": start + len(word)})
    return {"rules": rules, "terms": terms}


@pytest.fixture(scope="module")
def small_outputs(tmp_path_factory, codebook) -> Path:
    """A tiny outputs folder as the pipeline writes it: two documents in two sites, one
    passage holding markup, a site summary JSON following the shared contract."""
    root = tmp_path_factory.mktemp("small")
    corpus, out = root / "corpus", root / "outputs"
    (out / "text").mkdir(parents=True)
    (out / "coded").mkdir()
    (out / "sites").mkdir()
    corpus.mkdir()
    interview = f"{HEADER}{TENDERING}\n\n{HOSTILE}\n"
    document = f"Annual report\n\n{ALLIANCE}\n"
    rows = [
        *_passages("HB-INT-01", "harbourside", "commissioner", "interview", interview,
                   [(HEADER.strip(), "", []),
                    (TENDERING, "commissioner", ["competition.tendering"]),
                    (HOSTILE, "commissioner", ["competition.tendering",
                                               "cooperation.relationships"])]),
        *_passages("KV-DOC-01", "kestrel_valley", "provider", "document", document,
                   [("Annual report", "provider", []),
                    (ALLIANCE, "provider", ["cooperation.contracting"])]),
    ]
    evidence = {
        rows[1]["passage_id"]: {"competition.tendering": _evidence_for(
            TENDERING, "competition.tendering", ["tender"], ["tender", "provider"])},
        rows[2]["passage_id"]: {
            "competition.tendering": _evidence_for(HOSTILE, "competition.tendering",
                                                   ["tender bid"], ["bid"]),
            "cooperation.relationships": {"rules": [], "terms": ["alert"]}},
        rows[4]["passage_id"]: {"cooperation.contracting": _evidence_for(
            ALLIANCE, "cooperation.contracting", ["alliance contract"], ["share"])},
    }
    for doc_id, text in (("HB-INT-01", interview), ("KV-DOC-01", document)):
        (out / "text" / f"{doc_id}.txt").write_text(text, encoding="utf-8", newline="")
        codings = [{"passage_id": r["passage_id"], "codes": r["codes"],
                    "scores": {c: (0.9 if c in r["codes"] else 0.1) for c in codebook.ids},
                    "evidence": evidence.get(r["passage_id"], {})}
                   for r in rows if r["doc_id"] == doc_id and r["codable"]]
        (out / "coded" / f"{doc_id}.json").write_text(json.dumps(
            {"doc_id": doc_id, "model_id": "test", "codings": codings}), encoding="utf-8")
    columns = [*CODED_COLUMNS, *(f"score:{c}" for c in codebook.ids), "evidence"]
    with open(out / "coded_passages.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            scores = {f"score:{c}": (0.9 if c in row["codes"] else 0.1) if row["codable"] else ""
                      for c in codebook.ids}
            writer.writerow({**row, "codes": ";".join(row["codes"]),
                             "orientation": codebook.orientation(row["codes"]), **scores})
    with open(corpus / "metadata.csv", "w", encoding="utf-8", newline="") as handle:
        handle.write("doc_id,path,site,kind,actor,date,title\n"
                     "HB-INT-01,a.txt,harbourside,interview,commissioner,2017-04-11,"
                     "\"Interview <b>bold</b> & co\"\n"
                     "KV-DOC-01,b.txt,kestrel_valley,document,provider,2016-01-01,Annual report\n")
    quote = {key: rows[2][key] for key in ("passage_id", "doc_id", "start", "end",
                                          "speaker_role", "page", "actor", "kind", "text")}
    summary = {
        "site": "harbourside",
        "sources": {"documents": 1, "by_kind": {"interview": 1}, "by_actor": {},
                    "docs": [{"doc_id": "HB-INT-01", "title": "Interview", "kind": "interview",
                              "actor": "commissioner", "date": "2017-04-11", "passages": 3,
                              "coded": 2}]},
        "passages": {"total": 3, "codable": 2, "coded": 2},
        "code_profile": [{"code": "competition.tendering", "label": "Competitive tendering",
                          "family": "competition", "passages": 2, "share": 1.0,
                          "all_site_mean_share": 0.5, "difference": 0.5}],
        "balance": {"competition": 1, "cooperation": 0, "interplay": 1, "context": 0,
                    "empty": 0, "competition_share": 0.5, "cooperation_share": 0.0,
                    "interplay_share": 0.5},
        "interplay_passages": [{**quote, "score": 0.9,
                                "codes": ["competition.tendering", "cooperation.relationships"]}],
        "actor_contrast": {"commissioner": {"passages": 2, "shares": {}},
                           "provider": {"passages": 0, "shares": {}}, "notable": []},
        "quotes": {"competition.tendering": [
            {**quote, "score": 0.9, "codes": ["competition.tendering"]},
            {**{k: rows[1][k] for k in quote}, "score": 0.9, "codes": ["competition.tendering"]},
        ]},
        "narrative": "Harbourside <em>tendered</em> & talked.",
    }
    (out / "sites" / "harbourside.json").write_text(json.dumps(summary), encoding="utf-8")
    charts = draw_charts(read_coded_passages(out / "coded_passages.csv"), codebook,
                         out / "charts")
    build_report(out / "report", coded_csv=out / "coded_passages.csv", codebook_path=CODEBOOK,
                 metadata_csv=corpus / "metadata.csv",
                 coded_files=sorted((out / "coded").glob("*.json")),
                 text_files=sorted((out / "text").glob("*.txt")), chart_files=charts,
                 site_files=[out / "sites" / "harbourside.json"])
    return out


def _page(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# --- escaping -------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["index.html", "docs/HB-INT-01.html"])
def test_document_text_is_escaped_never_run(small_outputs, page):
    text = _page(small_outputs / "report" / page)
    assert "&lt;script&gt;" in text and "&lt;/script&gt;" in text
    assert "<script>alert" not in text
    assert "<img src=x" not in text  # the attribute-breaking text stayed text
    assert "&#34;&gt;&lt;img src=x onerror=" in text
    tree = html.fromstring(text)
    assert not tree.xpath("//img[@onerror]")
    scripts = tree.xpath("//script")
    assert [s.get("src") for s in scripts] == [("../" if "/" in page else "")
                                                + "assets/report.js"]
    passage = [e for e in tree.xpath("//*[contains(@class, 'passage-text')]")
               if SCRIPT in e.text_content()]
    assert passage and passage[0].text_content().strip() == HOSTILE


def test_metadata_and_summary_text_is_escaped(small_outputs):
    index = _page(small_outputs / "report" / "index.html")
    page = _page(small_outputs / "report" / "docs" / "HB-INT-01.html")
    assert "Interview &lt;b&gt;bold&lt;/b&gt; &amp; co" in page
    assert "<b>bold" not in page and "<em>" not in index
    assert "Harbourside &lt;em&gt;tendered&lt;/em&gt; &amp; talked." in index


# --- highlights -----------------------------------------------------------------------

def test_rule_matches_are_highlighted_at_their_offsets():
    text = "Market testing came first; then the tender, then the contract award."
    start = text.index("tender,")
    evidence = {"competition.tendering": {"rules": [
        {"text": "tender", "start": start, "end": start + 6},
        {"text": "contract award", "start": text.index("contract award"),
         "end": text.index("contract award") + 14},
        {"text": "stale words", "start": 0, "end": 11},  # offsets that do not hold: ignored
    ], "terms": []}}
    runs = highlight(text, evidence)
    assert "".join(r.text for r in runs) == text
    marked = [(r.text, r.rule_codes) for r in runs if r.rule_codes]
    assert marked == [("tender", ("competition.tendering",)),
                      ("contract award", ("competition.tendering",))]
    position = sum(len(r.text) for r in runs[: runs.index(next(r for r in runs if r.rule_codes))])
    assert position == start


def test_terms_are_found_by_lemma_and_overlaps_are_split():
    text = "Providers were tendering; the Governing Body approved the tender process."
    evidence = {"competition.tendering": {"rules": [{"text": "tender process",
                                                     "start": text.index("tender process"),
                                                     "end": text.index("tender process") + 14}],
                                          "terms": ["tender", "govern body"]},
                "cooperation.relationships": {"rules": [], "terms": ["process"]}}
    order = ["competition.tendering", "cooperation.relationships"]
    runs = highlight(text, evidence, code_order=order)
    assert "".join(r.text for r in runs) == text
    terms = {r.text: r.term_codes for r in runs if r.term_codes}
    assert terms["tendering"] == ("competition.tendering",)  # lemma 'tender'
    assert terms["Governing Body"] == ("competition.tendering",)  # lemma pair
    assert terms["tender"] == ("competition.tendering",)
    assert terms["process"] == ("cooperation.relationships",)
    both = next(r for r in runs if r.text == "process")
    assert both.rule_codes == ("competition.tendering",)


def test_report_marks_evidence_inside_the_passage(small_outputs):
    tree = html.fromstring(_page(small_outputs / "report" / "docs" / "HB-INT-01.html"))
    rule_marks = [m.text_content() for m in tree.xpath("//mark[contains(@class, 'rule')]")]
    term_marks = [m.text_content() for m in tree.xpath("//mark[contains(@class, 'term')]")]
    both = [m.text_content() for m in tree.xpath("//mark[contains(@class, 'rule') and "
                                                 "contains(@class, 'term')]")]
    assert rule_marks == ["tender", "tender ", "bid"]  # the rule 'tender bid', cut by a term
    assert both == ["tender", "bid"]
    assert "tendering" in term_marks  # the term 'tender', found by its lemma
    assert term_marks.count("alert") == 2  # inside the escaped markup, and still only text


# --- structure and links --------------------------------------------------------------

def _local_links(page: Path) -> list[str]:
    tree = html.fromstring(_page(page))
    return [*tree.xpath("//a/@href"), *tree.xpath("//img/@src"), *tree.xpath("//link/@href"),
            *tree.xpath("//script/@src")]


def _resolve(page: Path, link: str) -> tuple[Path, str]:
    parts = urlsplit(link)
    target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
    return target, unquote(parts.fragment)


def test_site_quotes_link_to_existing_passage_anchors(small_outputs):
    index = small_outputs / "report" / "index.html"
    tree = html.fromstring(_page(index))
    quotes = tree.xpath("//blockquote[@class='quote']")
    assert len(quotes) == 3
    for link in tree.xpath("//a[@class='quote-link']/@href"):
        target, fragment = _resolve(index, link)
        assert target.is_file(), link
        anchors = html.fromstring(_page(target)).xpath("//*[@id=$id]", id=fragment)
        assert len(anchors) == 1 and "passage" in anchors[0].get("class"), link
    assert passage_href("HB-INT-01", "HB-INT-01:00~2") == "docs/HB-INT-01.html#HB-INT-01:00~2"


def test_every_relative_link_resolves_so_the_folder_can_move(small_outputs):
    report = small_outputs / "report"
    for page in [report / "index.html", *sorted((report / "docs").glob("*.html"))]:
        for link in _local_links(page):
            assert not urlsplit(link).scheme and not link.startswith("/"), (page, link)
            target, fragment = _resolve(page, link)
            assert target.is_file(), (page, link)
            if fragment and not fragment.startswith("passages?") and target.suffix == ".html":
                ids = html.fromstring(_page(target)).xpath("//*[@id=$id]", id=fragment)
                assert ids, (page, link)


def test_report_lists_coded_passages_with_their_filter_data(small_outputs, codebook):
    tree = html.fromstring(_page(small_outputs / "report" / "index.html"))
    items = tree.xpath("//li[contains(@class, 'passage-item')]")
    assert len(items) == 3  # the coded passages only
    hostile = next(i for i in items if SCRIPT in i.text_content())
    assert hostile.get("data-codes") == "competition.tendering cooperation.relationships"
    assert hostile.get("data-orientation") == "interplay"
    assert json.loads(hostile.get("data-scores")) == {"competition.tendering": 0.9,
                                                      "cooperation.relationships": 0.9}
    options = tree.xpath("//select[@id='filter-code']/option/@value")
    assert options == ["", *codebook.ids]
    page = html.fromstring(_page(small_outputs / "report" / "docs" / "HB-INT-01.html"))
    assert page.xpath("//section[contains(@class, 'not-codable')]")  # the header block
    text = "".join(e.text_content() for e in page.xpath("//article//*[contains(@class, "
                                                        "'passage-text')]"))
    assert TENDERING in text and HOSTILE in text


def test_report_without_site_summaries_or_charts(small_outputs):
    out = small_outputs
    inputs = load_inputs(coded_csv=out / "coded_passages.csv", codebook_path=CODEBOOK,
                         metadata_csv=out.parent / "corpus" / "metadata.csv",
                         coded_files=sorted((out / "coded").glob("*.json")),
                         text_files=sorted((out / "text").glob("*.txt")))
    files = render_report(inputs)
    assert set(files) == {"index.html", "concordance.html", *(f"assets/{a}" for a in ASSET_FILES),
                          "docs/HB-INT-01.html", "docs/KV-DOC-01.html"}
    assert "No site summary" in files["index.html"]


def test_report_writes_exactly_the_rule_outputs(small_outputs):
    report = small_outputs / "report"
    written = {p.relative_to(report).as_posix() for p in report.rglob("*") if p.is_file()}
    charts = {f"assets/charts/{n}.{f}" for n in CHART_NAMES for f in CHART_FORMATS}
    assert written == {"index.html", "concordance.html", *(f"assets/{a}" for a in ASSET_FILES),
                       *charts,
                       "docs/HB-INT-01.html", "docs/KV-DOC-01.html"}


# --- charts ---------------------------------------------------------------------------

def test_charts_are_written_and_deterministic(small_outputs, codebook, tmp_path):
    passages = read_coded_passages(small_outputs / "coded_passages.csv")
    again = draw_charts(passages, codebook, tmp_path)
    assert [p.name for p in again] == [f"{n}.{f}" for n in CHART_NAMES for f in CHART_FORMATS]
    for path in again:
        first = (small_outputs / "charts" / path.name).read_bytes()
        assert first == path.read_bytes(), f"{path.name} differs between runs"
        assert len(first) > 1000
    svg = (tmp_path / "site_code_heatmap.svg").read_text(encoding="utf-8")
    assert "<dc:date>" not in svg
    assert (tmp_path / "actor_profile.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_charts_with_no_passages(codebook, tmp_path):
    written = draw_charts([], codebook, tmp_path)
    assert len(written) == len(CHART_NAMES) * len(CHART_FORMATS)


# --- the demo run, in a browser -------------------------------------------------------

@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, driven by Playwright; never a downloaded browser."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _visible_items(page) -> list[dict]:
    return page.evaluate("""() => Array.from(
        document.querySelectorAll('li.passage-item:not([hidden])'),
        e => ({codes: e.dataset.codes.split(' '), orientation: e.dataset.orientation}))""")


def test_report_in_headless_chromium(demo_run, chromium, tmp_path):
    _, outputs = demo_run
    index = outputs / "report" / "index.html"
    coded = [r for r in read_csv(outputs / "coded_passages.csv") if r["codes"]]
    page = chromium.new_page(viewport={"width": 1280, "height": 1000})
    errors, requests = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(index.as_uri())

    visible = _visible_items(page)
    assert len(visible) == len(coded) > 0
    assert page.text_content("#visible-count") == str(len(coded))

    # A code whose passages have more than one orientation, so both filters bite.
    by_code: dict[str, set[str]] = {}
    for item in visible:
        for code in item["codes"]:
            by_code.setdefault(code, set()).add(item["orientation"])
    code = max(sorted(by_code), key=lambda c: (len(by_code[c]),
                                                sum(c in i["codes"] for i in visible)))
    page.select_option("#filter-code", code)
    with_code = _visible_items(page)
    assert 0 < len(with_code) < len(visible)
    assert all(code in item["codes"] for item in with_code)
    assert len(with_code) == sum(1 for r in coded if code in r["codes"].split(";"))
    assert page.text_content("#visible-count") == str(len(with_code))

    orientation = min(sorted(by_code[code]),
                      key=lambda o: sum(i["orientation"] == o for i in with_code))
    page.select_option("#filter-orientation", orientation)
    narrowed = _visible_items(page)
    assert 0 < len(narrowed) < len(with_code)
    assert all(i["orientation"] == orientation and code in i["codes"] for i in narrowed)
    page.evaluate("() => document.getElementById('passages').scrollIntoView()")
    screenshot = tmp_path / "report-filtered.png"
    page.screenshot(path=str(screenshot))
    print(f"\nscreenshot of the filtered report: {screenshot}")

    # A quote in a site summary leads to its passage in the document page.
    page.goto(index.as_uri())
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    links = page.locator("a.quote-link")
    assert links.count() > 0, "no site summary quotes in the report"
    href = links.first.get_attribute("href")
    quote_text = page.locator("blockquote.quote").first.locator("p").text_content()
    links.first.click()
    page.wait_for_load_state()
    assert page.url == urljoin(index.as_uri(), href)
    target = page.locator(":target")
    assert target.count() == 1
    assert "passage" in target.get_attribute("class")
    passage_text = target.locator(".passage-text").text_content()
    assert quote_text.strip("“”").strip() in passage_text
    document_shot = tmp_path / "report-document.png"
    page.screenshot(path=str(document_shot))
    print(f"screenshot of the quoted passage in its document: {document_shot}")

    assert not errors, errors
    assert all(url.startswith("file://") for url in requests), requests
    page.close()
