"""The review report: who coded each passage, review statuses, machine codes review
changed, reviewers' comments (escaped), agreement figures, decisions not applied, and the
review filter in headless Chromium. Built from small fabricated outputs, not the demo run."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from lxml import html
from test_report import CODEBOOK, SCRIPT, _passages, chromium  # noqa: F401 (fixture)

from interplay.codebook import load_codebook
from interplay.report import build_report, statistic

TENDERING, RELATIONSHIPS, CONTRACTING = ("competition.tendering", "cooperation.relationships",
                                         "cooperation.contracting")
HEADER = "Interview transcript"
AGREED = "We went out to tender for the frailty service; three providers bid."
CHANGED = "The trusts meet monthly and we trust each other, though the tender looms."
CONFLICT = "The alliance contract runs for ten years across the partnership."
MACHINE_ONLY = "Any qualified provider opened the market to independent providers."
EMPTIED = "The weather was dreadful on the day of the board meeting, so few came."
HOSTILE_COMMENT = f"alice: {SCRIPT} not about tendering"
BASE_COLUMNS = ("passage_id", "doc_id", "site", "actor", "kind", "speaker_role", "page",
                "start", "end", "text", "codes", "orientation", "coded_by", "machine_codes",
                "review_status", "review_comments")

# passage text -> (final codes, coded_by, machine codes, review_status, review_comments)
REVIEWS = {
    AGREED: ([TENDERING], "alice;bob", [TENDERING], "agrees", "alice: clear | bob: agree"),
    CHANGED: ([RELATIONSHIPS], "alice", [TENDERING, RELATIONSHIPS], "changed", HOSTILE_COMMENT),
    CONFLICT: ([CONTRACTING], "machine", [CONTRACTING], "conflict", "alice: keep | bob: drop"),
    MACHINE_ONLY: ([TENDERING], "machine", [TENDERING], "", ""),
    EMPTIED: ([], "bob", [RELATIONSHIPS], "changed", "bob: about the weather"),
}
AGREEMENT = [
    {"code": TENDERING, "comparison": "machine vs alice", "coder_a": "machine",
     "coder_b": "alice", "passages": 3, "positive_a": 2, "positive_b": 1,
     "observed_agreement": 0.6667, "cohen_kappa": 0.4, "krippendorff_alpha": 0.3333},
    {"code": CONTRACTING, "comparison": "machine vs alice", "coder_a": "machine",
     "coder_b": "alice", "passages": 3, "positive_a": 0, "positive_b": 0,
     "observed_agreement": 1.0, "cohen_kappa": "", "krippendorff_alpha": ""},
    {"code": "all", "comparison": "machine vs alice", "coder_a": "machine", "coder_b": "alice",
     "passages": 3, "positive_a": 4, "positive_b": 3, "observed_agreement": 0.8125,
     "cohen_kappa": 0.5714, "krippendorff_alpha": 0.5556},
]
ORPHAN_ID = "HB-INT-01:deadbeef00"


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(CODEBOOK)


def _write_csv(path: Path, columns: list[str] | tuple[str, ...], rows: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _decisions(ids: dict[str, str]) -> list[dict]:
    """review_decisions.csv rows: what the reviewers decided, and what became of it."""
    def row(reviewer, number, text, decision, codes, status, problem="", comment="",
            passage_id=None):
        return {"reviewer": reviewer, "sheet": f"{reviewer}.csv", "row": number,
                "passage_id": passage_id or ids[text], "doc_id": "HB-INT-01",
                "decision": decision, "shown_machine_codes": ";".join(REVIEWS[text][2]),
                "reviewer_codes": ";".join(codes), "comment": comment, "status": status,
                "problem": problem}
    clash = "reviewers disagree; the machine's codes stand"
    return [
        row("alice", 2, AGREED, "accept", [TENDERING], "applied", comment="clear"),
        row("bob", 2, AGREED, "accept", [TENDERING], "applied", comment="agree"),
        row("alice", 3, CHANGED, "edit", [RELATIONSHIPS], "applied", comment=HOSTILE_COMMENT),
        row("bob", 4, EMPTIED, "reject", [], "applied"),
        row("alice", 4, CONFLICT, "accept", [CONTRACTING], "conflict", clash),
        row("bob", 3, CONFLICT, "reject", [], "conflict", clash),
        row("carol", 7, AGREED, "accept", [TENDERING], "orphaned",
            "the passage no longer exists; not applied", passage_id=ORPHAN_ID),
        row("dave", 3, MACHINE_ONLY, "edit", ["competition.bogus"], "invalid",
            "unknown code(s) competition.bogus <b>"),
    ]


def _write_outputs(root: Path, codebook, *, reviewed: bool = True) -> dict:
    """A tiny outputs folder: one interview whose passages cover every review status.
    `reviewed=False` writes coded_passages.csv the old way, without the review columns."""
    corpus, out = root / "corpus", root / "outputs"
    for folder in (corpus, out / "text", out / "coded"):
        folder.mkdir(parents=True)
    parts = [(HEADER, "", []), *((text, "commissioner", REVIEWS[text][0]) for text in REVIEWS)]
    text = "\n\n".join(part for part, _, _ in parts) + "\n"
    rows = _passages("HB-INT-01", "harbourside", "commissioner", "interview", text, parts)
    ids = {row["text"]: row["passage_id"] for row in rows}
    (out / "text" / "HB-INT-01.txt").write_text(text, encoding="utf-8", newline="")
    codings = [{"passage_id": r["passage_id"], "codes": REVIEWS[r["text"]][2],
                "scores": {c: 0.9 if c in REVIEWS[r["text"]][2] else 0.1 for c in codebook.ids},
                "evidence": {}} for r in rows if r["codable"]]
    (out / "coded" / "HB-INT-01.json").write_text(json.dumps(
        {"doc_id": "HB-INT-01", "model_id": "test", "codings": codings}), encoding="utf-8")
    table = []
    for row in rows:
        codes, coded_by, machine, status, comments = REVIEWS.get(row["text"],
                                                                 ([], "", [], "", ""))
        if not reviewed:
            codes, coded_by, status, comments = machine, "", "", ""
        scores = {f"score:{c}": (0.9 if c in machine else 0.1) if row["codable"] else ""
                  for c in codebook.ids}
        table.append({**row, "codes": ";".join(codes),
                      "orientation": codebook.orientation(codes) if codes else "",
                      "coded_by": coded_by, "machine_codes": ";".join(machine),
                      "review_status": status, "review_comments": comments, **scores})
    columns = [*(BASE_COLUMNS if reviewed else BASE_COLUMNS[:12]),
               *(f"score:{c}" for c in codebook.ids), "evidence"]
    _write_csv(out / "coded_passages.csv", columns, table)
    (corpus / "metadata.csv").write_text(
        "doc_id,path,site,kind,actor,date,title\n"
        "HB-INT-01,a.txt,harbourside,interview,commissioner,2017-04-11,Interview\n",
        encoding="utf-8")
    agreement = _write_csv(out / "agreement.csv", list(AGREEMENT[0]),
                           AGREEMENT if reviewed else [])
    decisions = _write_csv(out / "review_decisions.csv", list(_decisions(ids)[0]),
                           _decisions(ids) if reviewed else [])
    log = build_report(out / "report", coded_csv=out / "coded_passages.csv",
                       codebook_path=CODEBOOK, metadata_csv=corpus / "metadata.csv",
                       coded_files=[out / "coded" / "HB-INT-01.json"],
                       text_files=[out / "text" / "HB-INT-01.txt"],
                       agreement_csv=agreement, decisions_csv=decisions)
    return {"out": out, "ids": ids, "log": log}


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory, codebook) -> dict:
    return _write_outputs(tmp_path_factory.mktemp("reviewed"), codebook)


def _page(path: Path):
    return html.fromstring(path.read_text(encoding="utf-8"))


def _words(element) -> str:
    return re.sub(r"\s+", " ", element.text_content()).strip()


def _items(reviewed) -> dict[str, html.HtmlElement]:
    """The index's passage list items, by the passage's text."""
    tree = _page(reviewed["out"] / "report" / "index.html")
    return {_words(item.xpath(".//*[contains(@class, 'passage-text')]")[0]): item
            for item in tree.xpath("//li[contains(@class, 'passage-item')]")}


def _note(element) -> str:
    return _words(element.xpath(".//div[@class='review-note']")[0])


def test_passage_list_shows_who_coded_and_review_status(reviewed):
    items = _items(reviewed)
    assert set(items) == set(REVIEWS)  # a passage review emptied of codes stays listed
    assert "reviewed by alice; bob" in _note(items[AGREED])
    assert "review agrees with machine" in _note(items[AGREED])
    assert "reviewed by alice" in _note(items[CHANGED])
    assert "changed by review" in _note(items[CHANGED])
    assert _note(items[CONFLICT]).startswith("machine reviewers disagree: machine codes kept")
    assert _note(items[MACHINE_ONLY]) == "machine"
    assert "reviewed by bob" in _note(items[EMPTIED])
    assert {text: item.get("data-review") for text, item in items.items()} == {
        AGREED: "reviewed", CHANGED: "reviewed disagreement",
        CONFLICT: "reviewed disagreement conflict", MACHINE_ONLY: "machine",
        EMPTIED: "reviewed disagreement"}
    assert items[EMPTIED].get("data-codes") == ""


def test_machine_codes_review_changed_are_shown_struck_through(reviewed):
    items = _items(reviewed)
    changed = items[CHANGED].xpath(".//span[@class='machine-codes']")[0]
    assert [_words(d) for d in changed.xpath(".//del")] == ["Competitive tendering"]
    assert _words(changed) == "machine: Competitive tendering Relational working and trust"
    emptied = items[EMPTIED].xpath(".//span[@class='machine-codes']//del")
    assert [e.xpath(".//*[@title]")[0].get("title") for e in emptied] == [RELATIONSHIPS]
    for text in (AGREED, CONFLICT, MACHINE_ONLY):  # the final codes are the machine's
        assert not items[text].xpath(".//span[@class='machine-codes']")


@pytest.mark.parametrize("page", ["index.html", "docs/HB-INT-01.html"])
def test_reviewer_comments_are_shown_escaped(reviewed, page):
    source = (reviewed["out"] / "report" / page).read_text(encoding="utf-8")
    assert "alice: &lt;script&gt;alert(1)&lt;/script&gt; not about tendering" in source
    assert "<script>alert" not in source
    tree = html.fromstring(source)
    comments = [_words(c) for c in tree.xpath("//p[@class='review-comments']")]
    assert HOSTILE_COMMENT in comments and "alice: keep | bob: drop" in comments
    assert [s.get("src") for s in tree.xpath("//script")] == [
        ("../" if "/" in page else "") + "assets/report.js"]


def test_document_page_shows_review(reviewed):
    tree = _page(reviewed["out"] / "report" / "docs" / "HB-INT-01.html")
    ids = reviewed["ids"]
    note = {text: _note(tree.xpath("//section[@id=$id]", id=ids[text])[0]) for text in REVIEWS}
    assert "reviewed by alice; bob" in note[AGREED]
    assert "changed by review" in note[CHANGED] and "machine: Competitive tendering" in (
        note[CHANGED])
    assert "reviewers disagree" in note[CONFLICT]
    assert note[MACHINE_ONLY] == "machine"
    header = tree.xpath("//section[@id=$id]", id=ids[HEADER])[0]
    assert not header.xpath(".//div[@class='review-note']")  # nobody coded it
    assert "4 reviewed" in _words(tree.xpath("//p[@class='doc-meta']")[0])


def test_review_filter_offers_every_choice(reviewed):
    tree = _page(reviewed["out"] / "report" / "index.html")
    options = tree.xpath("//select[@id='filter-review']/option")
    assert [(o.get("value"), o.get("data-label")) for o in options] == [
        ("", "all"), ("machine", "machine-coded only"), ("reviewed", "reviewed"),
        ("disagreement", "disagreements"), ("conflict", "conflicts")]


def test_review_section_counts_agreement_and_decisions_not_applied(reviewed):
    tree = _page(reviewed["out"] / "report" / "index.html")
    section = tree.xpath("//section[@id='review']")[0]
    text = _words(section)
    assert ("4 reviewed passages: 1 agree with the machine, 2 changed, 1 in conflict"
            in text)
    assert ("8 review decisions: 4 applied, 2 in conflict (reviewers disagree), 1 invalid "
            "(bad decision or unknown code), 1 orphaned (the passage no longer exists)." in text)
    assert "least sure of first" in text and "understates agreement" in text
    rows = [[_words(td) for td in tr.xpath("td")]
            for tr in section.xpath(".//table[@class='agreement']/tbody/tr")]
    assert rows == [
        ["all codes", "machine vs alice", "3", "4 / 3", "81%", "0.57", "0.56"],
        ["Competitive tendering", "machine vs alice", "3", "2 / 1", "67%", "0.40", "0.33"],
        ["Collaborative contracting vehicles", "machine vs alice", "3", "0 / 0", "100%", "–",
         "–"],
    ]
    not_applied = [[_words(td) for td in tr.xpath("td")]
                   for tr in section.xpath(".//table[@class='not-applied']/tbody/tr")]
    ids = reviewed["ids"]
    assert sorted(not_applied) == sorted([
        ["conflict", "alice", "alice.csv", "4", ids[CONFLICT],
         "reviewers disagree; the machine's codes stand"],
        ["conflict", "bob", "bob.csv", "3", ids[CONFLICT],
         "reviewers disagree; the machine's codes stand"],
        ["orphaned", "carol", "carol.csv", "7", ORPHAN_ID,
         "the passage no longer exists; not applied"],
        ["invalid", "dave", "dave.csv", "3", ids[MACHINE_ONLY],
         "unknown code(s) competition.bogus <b>"],
    ])
    links = section.xpath(".//table[@class='not-applied']//a/@href")
    assert links == [f"docs/HB-INT-01.html#{ids[CONFLICT]}"] * 2 + [
        f"docs/HB-INT-01.html#{ids[MACHINE_ONLY]}"]  # the orphan has no passage to link to
    assert any("8 review decisions (4 not applied)" in line for line in reviewed["log"])


def test_report_without_review_says_how_to_start(tmp_path, codebook):
    """An old coded_passages.csv without the review columns, and review files holding only
    their header: every listed passage is the machine's, and the report says how to review."""
    built = _write_outputs(tmp_path, codebook, reviewed=False)
    tree = _page(built["out"] / "report" / "index.html")
    section = _words(tree.xpath("//section[@id='review']")[0])
    assert "No review decisions yet" in section
    assert "interplay review --reviewer NAME" in section
    items = tree.xpath("//li[contains(@class, 'passage-item')]")
    assert len(items) == len(REVIEWS)  # the machine coded every codable passage
    assert {i.get("data-review") for i in items} == {"machine"}
    assert {_note(i) for i in items} == {"machine"}
    assert not tree.xpath("//span[contains(@class, 'review-status')]")


def test_statistic_shows_a_dash_when_undefined():
    assert [statistic(v) for v in ("", "nan", "0.4", "-0.125")] == ["–", "–", "0.40", "-0.12"]
    assert statistic("0.8125", as_percent=True) == "81%"


# --- the review filter, in a browser ---------------------------------------------------

def _visible(page) -> list[str]:
    return page.evaluate("""() => Array.from(
        document.querySelectorAll('li.passage-item:not([hidden]) .passage-text'),
        e => e.textContent.trim())""")


def test_review_filter_in_headless_chromium(reviewed, chromium):  # noqa: F811
    index = reviewed["out"] / "report" / "index.html"
    page = chromium.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(index.as_uri())
    assert len(_visible(page)) == len(REVIEWS)
    labels = page.eval_on_selector_all("#filter-review option", "os => os.map(o => o.text)")
    assert labels == ["all (5)", "machine-coded only (1)", "reviewed (4)",
                      "disagreements (3)", "conflicts (1)"]

    page.select_option("#filter-review", "disagreement")
    assert sorted(_visible(page)) == sorted([CHANGED, CONFLICT, EMPTIED])
    assert page.text_content("#visible-count") == "3"
    # The other filters' counts follow the review filter, and its counts follow them.
    codes = dict(page.eval_on_selector_all(
        "#filter-code option", "os => os.map(o => [o.value, o.text])"))
    assert codes[RELATIONSHIPS].endswith("(1)") and codes[""].endswith("(3)")
    page.select_option("#filter-code", TENDERING)
    labels = page.eval_on_selector_all("#filter-review option", "os => os.map(o => o.text)")
    assert labels == ["all (2)", "machine-coded only (1)", "reviewed (1)",
                      "disagreements (0)", "conflicts (0)"]
    assert _visible(page) == []

    page.goto(index.as_uri() + "#passages?review=conflict")
    page.reload()
    assert _visible(page) == [CONFLICT]
    assert not errors, errors
    page.close()
