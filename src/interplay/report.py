"""The HTML review report: every coded passage, in its context, for a reviewer to check.

`outputs/report/` is a folder of static files that opens from disk (file://): no server,
no network, no external fonts or scripts, and only relative links, so it still works
when the outputs folder is moved or zipped and sent to a co-investigator.

- `index.html`: the charts, a section per site (with the site summary from
  `outputs/sites/<site>.json` when there is one: narrative, code profile, quotes), the
  documents by site, the codebook with counts, the review and agreement figures
  (`outputs/review_decisions.csv`, `outputs/agreement.csv`), code co-occurrence as a
  code × code table per site and for all sites (`outputs/cooccurrence.csv`), and the list of coded or
  reviewed passages with filters by code, orientation, site, actor, review state and
  minimum score (`assets/report.js`);
- `docs/<doc_id>.html`: a document's whole text, its passages as blocks with
  `id=<passage_id>`, coded ones carrying code chips, scores and highlighted evidence;
  quotes and passage list items link to `docs/<doc_id>.html#<passage_id>`.

Every coded or reviewed passage says who gave its codes (the machine, or the reviewers),
its review status, the machine's codes when review changed them, and reviewers' comments.

Pages come from Jinja2 templates with autoescaping on: document text reaches the HTML
only through template variables, run by run (`interplay.highlight`), never by string
concatenation, so a passage reading `<script>` is shown, not run.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from interplay.agreement import AGREEMENT_COLUMNS
from interplay.charts import CHART_TITLES
from interplay.codebook import ORIENTATIONS, Codebook, load_codebook
from interplay.cooccurrence import ALL_SITES, COOCCURRENCE_COLUMNS
from interplay.fileio import atomic_open, read_json, write_text
from interplay.passage_table import CodedPassage, read_coded_passages
from interplay.reliability import RECOMMENDATION_RULE, RELIABILITY_COLUMNS, STATISTICS
from interplay.report_cache import FragmentCache, digest, source_digest
from interplay.review import DECISION_COLUMNS

if TYPE_CHECKING:
    from interplay.highlight import Run

STATIC_ASSETS = ("report.css", "report.js", "concordance.js")  # copied as they are
ASSET_FILES = ("codes.css", *STATIC_ASSETS)  # everything under report/assets/ but charts
ORIENTATION_LABELS = {"competition": "Competition", "cooperation": "Cooperation",
                      "interplay": "Interplay", "context": "Context"}
REVIEW_STATUS_LABELS = {"agrees": "review agrees with machine", "changed": "changed by review",
                        "conflict": "reviewers disagree: machine codes kept"}
# The review filter's choices: value -> label ("" shows every passage in the list).
REVIEW_FILTERS = {"": "all", "machine": "machine-coded only", "reviewed": "reviewed",
                  "disagreement": "disagreements", "conflict": "conflicts"}
APPLIED = "applied"  # review_decisions.csv status; any other means not applied
DECISION_STATUS_LABELS = {"conflict": "in conflict (reviewers disagree)",
                          "orphaned": "orphaned (the passage no longer exists)",
                          "invalid": "invalid (bad decision or unknown code)",
                          "unreadable": "in sheets that could not be read"}


def slug(value: str) -> str:
    """A name as an HTML id/class fragment (sites are free text in metadata.csv)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", value).strip("-") or "x"


@functools.cache
def code_class(code_id: str) -> str:
    """The CSS class carrying a code's colours (rules in assets/codes.css); cached, as
    every passage's chips and score rows ask for it."""
    return "code-" + slug(code_id.replace(".", "-"))


def ink_for(colour: str) -> str:
    """Black or white text, whichever reads better on the code's colour (WCAG luminance)."""
    channels = [int(colour[i: i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#000000" if luminance > 0.23 else "#ffffff"


def doc_page(doc_id: str) -> str:
    """A document page's path relative to the report folder (also its URL there)."""
    return f"docs/{doc_id}.html"


def passage_href(doc_id: str, passage_id: str, *, from_docs: bool = False) -> str:
    """Relative link to a passage in its document page; the fragment is percent-encoded
    except for ':' and '~', which fragments allow and passage IDs use."""
    page = quote(f"{doc_id}.html") if from_docs else quote(doc_page(doc_id))
    return f"{page}#{quote(passage_id, safe=':~')}"


@dataclass(frozen=True)
class DocumentInfo:
    doc_id: str
    title: str
    site: str
    kind: str
    actor: str
    date: str


@dataclass
class ReportInputs:
    """Everything the report shows, already read from disk."""

    passages: list[CodedPassage]
    codebook: Codebook
    documents: dict[str, DocumentInfo]  # every document that gets a page
    texts: dict[str, str]  # doc_id -> extracted text
    evidence: dict[str, dict]  # passage_id -> {code: {"rules": [...], "terms": [...]}}
    charts: list[Path] = field(default_factory=list)
    site_summaries: dict[str, dict] = field(default_factory=dict)  # site -> sites/<site>.json
    agreement: list[dict[str, str]] = field(default_factory=list)  # agreement.csv rows
    decisions: list[dict[str, str]] = field(default_factory=list)  # review_decisions.csv rows
    cooccurrence: list[dict[str, str]] = field(default_factory=list)  # cooccurrence.csv rows
    reliability: list[dict[str, str]] = field(default_factory=list)  # reliability.csv rows
    # passage_id -> [(score, passage_id)] from similar.json; None: worked out when rendering
    neighbours: dict[str, list[tuple[float, str]]] | None = None


@dataclass(frozen=True)
class PassageView:
    """A passage as the templates show it."""

    passage: CodedPassage
    evidence: dict[str, dict]
    href: str  # from the report folder
    anchor_href: str  # from a page in docs/
    code_order: tuple[str, ...]  # the codebook's: a highlight's colour is its first code's
    # the most similar codable passages, best first, with their scores
    neighbours: list[tuple[float, CodedPassage]] = field(default_factory=list)

    @functools.cached_property
    def runs(self) -> list[Run]:
        """The text with its evidence marked; worked out only for a fragment not cached."""
        from interplay.highlight import highlight  # spaCy: loaded only when highlighting

        return highlight(self.passage.text, self.evidence, code_order=list(self.code_order))

    @functools.cached_property
    def similar(self) -> list[dict]:
        """The similar passages as the page lists them; `not_here` are their codes this
        passage lacks: where a code may have been missed (or given wrongly there). Worked
        out only for a fragment not cached."""
        return [{"passage_id": other.passage_id, "doc_id": other.doc_id, "site": other.site,
                 "score": score, "codes": other.codes,
                 "not_here": [c for c in other.codes if c not in self.passage.codes],
                 "href": passage_href(other.doc_id, other.passage_id, from_docs=True),
                 "excerpt": _excerpt(other.text)} for score, other in self.neighbours]

    def fragment_key(self, kind: str, context: str) -> str:
        """What the passage's `kind` fragment shows (FRAGMENTS), as a digest. The links
        follow from the passages' IDs, so they are not digested again."""
        if kind == "similar":  # scores as shown, so a shift in the fourth place keeps it
            return digest(kind, context, ";".join(self.passage.codes), *(
                part for score, other in self.neighbours
                for part in (f"{score:.2f}", other.passage_id, other.doc_id, other.site,
                             ";".join(other.codes), other.text)))
        row = {name: value for name, value in vars(self.passage).items() if name != "text"}
        return digest(kind, context, self.passage.text, row, self.evidence)

    @property
    def state(self) -> str:
        if self.passage.codes:
            return "coded"
        return "codable" if self.passage.codable else "not-codable"

    @property
    def scores_json(self) -> str:
        """Assigned codes' scores for the filter script (a data attribute, so escaped)."""
        return json.dumps({code: self.passage.scores.get(code, 0.0) for code in self.passage.codes},
                          sort_keys=True)

    @property
    def ranked_scores(self) -> list[tuple[str, float]]:
        return sorted(self.passage.scores.items(), key=lambda item: (-item[1], item[0]))

    @property
    def listed(self) -> bool:
        """In the index's passage list: coded, or reviewed (a reviewer may remove every code)."""
        return bool(self.passage.codes or self.passage.review_status)

    @property
    def coded_by_label(self) -> str:
        """Who gave the passage its codes; empty for a passage nobody coded."""
        if self.passage.reviewers:
            return "reviewed by " + "; ".join(self.passage.reviewers)
        return "machine" if self.listed else ""

    @property
    def machine_codes_differ(self) -> bool:
        """Review changed the codes (an old coded_passages.csv has no machine_codes, and
        nothing was reviewed, so it never differs)."""
        return bool(self.passage.review_status) and (
            set(self.passage.machine_codes) != set(self.passage.codes))

    @property
    def review_filters(self) -> list[str]:
        """The review filter's values this passage matches (REVIEW_FILTERS)."""
        if not self.passage.review_status:
            return ["machine"]
        return ["reviewed", *(["disagreement"] if self.passage.disagrees_with_machine else []),
                *(["conflict"] if self.passage.review_status == "conflict" else [])]


def read_documents(metadata_csv: str | os.PathLike) -> dict[str, DocumentInfo]:
    """metadata.csv rows by doc_id (title, site, kind, actor, date)."""
    with open(metadata_csv, encoding="utf-8-sig", newline="") as handle:
        return {row["doc_id"]: DocumentInfo(
            doc_id=row["doc_id"], title=(row.get("title") or "").strip(),
            site=(row.get("site") or "").strip(), kind=(row.get("kind") or "").strip(),
            actor=(row.get("actor") or "").strip(), date=(row.get("date") or "").strip())
            for row in csv.DictReader(handle) if row.get("doc_id")}


def read_table(path: str | os.PathLike | None, columns: Sequence[str]) -> list[dict[str, str]]:
    """A CSV's rows with every expected column present (empty when absent), so the
    templates never meet a missing key; no path means no rows."""
    if path is None:
        return []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [{column: (row.get(column) or "").strip() for column in columns}
                for row in csv.DictReader(handle)]


def load_inputs(*, coded_csv: str | os.PathLike, codebook_path: str | os.PathLike,
                metadata_csv: str | os.PathLike, coded_files: Iterable[str | os.PathLike],
                text_files: Iterable[str | os.PathLike],
                chart_files: Iterable[str | os.PathLike] = (),
                site_files: Iterable[str | os.PathLike] = (),
                agreement_csv: str | os.PathLike | None = None,
                decisions_csv: str | os.PathLike | None = None,
                cooccurrence_csv: str | os.PathLike | None = None,
                reliability_csv: str | os.PathLike | None = None,
                similar_json: str | os.PathLike | None = None) -> ReportInputs:
    """Read the pipeline's outputs. Site summaries are optional: without them each site
    section shows its counts only; without the review files the report says nothing was
    reviewed; without cooccurrence.csv or reliability.csv it says there is nothing to show;
    without similar.json the similar passages are worked out here, with the terms weighed
    over the passages reported (the pipeline's similar.json weighs them over the
    annotations, similarity.TermWeights)."""
    passages = read_coded_passages(coded_csv)
    listed = read_documents(metadata_csv)
    texts = {}
    for path in text_files:
        with open(path, encoding="utf-8", newline="") as handle:
            texts[Path(path).stem] = handle.read()
    first_passage = {}
    for p in passages:
        first_passage.setdefault(p.doc_id, p)
    documents = {}
    for doc_id in sorted(set(texts) | set(first_passage)):
        if doc_id in listed:
            documents[doc_id] = listed[doc_id]
        else:  # a file metadata.csv does not list: the pipeline ran it as site 'unassigned'
            seen = first_passage.get(doc_id)
            documents[doc_id] = DocumentInfo(doc_id, "", seen.site if seen else "unassigned",
                                             seen.kind if seen else "", seen.actor if seen
                                             else "", "")
    evidence = {}
    for path in coded_files:
        for coding in read_json(path)["codings"]:
            evidence[coding["passage_id"]] = coding.get("evidence") or {}
    summaries = {}
    for path in site_files:
        summary = read_json(path)
        summaries[summary.get("site") or Path(path).stem] = summary
    return ReportInputs(passages=passages, codebook=load_codebook(codebook_path),
                        documents=documents, texts=texts, evidence=evidence,
                        charts=[Path(p) for p in chart_files], site_summaries=summaries,
                        agreement=read_table(agreement_csv, AGREEMENT_COLUMNS),
                        decisions=read_table(decisions_csv, DECISION_COLUMNS),
                        cooccurrence=read_table(cooccurrence_csv, COOCCURRENCE_COLUMNS),
                        reliability=read_table(reliability_csv, RELIABILITY_COLUMNS),
                        neighbours=(read_json(similar_json)["neighbours"]
                                    if similar_json else None))


def template_environment() -> Environment:
    """Jinja2 over the package's templates, for every HTML page interplay writes:
    autoescaping on, and a name a template uses but is not given is an error."""
    return Environment(loader=PackageLoader("interplay", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)


def _environment() -> Environment:
    environment = template_environment()
    environment.filters.update(code_class=code_class, slug=slug, percent=_percent,
                               score=lambda value: f"{float(value):.2f}", statistic=statistic)
    return environment


def _percent(value: float | None) -> str:
    return "" if value is None else f"{float(value):.0%}"


def statistic(value: str, *, as_percent: bool = False) -> str:
    """An agreement.csv cell for reading: '–' where the measure is undefined (empty, or
    not a number: kappa and alpha have no value when a coder never varies)."""
    try:
        number = float(value)
    except ValueError:
        return "–"
    if math.isnan(number):
        return "–"
    return f"{number:.0%}" if as_percent else f"{number:.2f}"


def _passage_views(inputs: ReportInputs, *, similar: bool = True) -> list[PassageView]:
    """Every passage as the report shows it; `similar=False` leaves the similar passages
    out (the index does not show them)."""
    from interplay.similarity import TermWeights, neighbours_of_codable

    order = tuple(inputs.codebook.ids)
    if not similar:
        neighbours = {}
    elif inputs.neighbours is None:
        neighbours = neighbours_of_codable(
            inputs.passages, weights=TermWeights.from_texts([p.text for p in inputs.passages]))
    else:  # a passage missing from similar.json (none, unless it is stale) lists none
        by_id = {p.passage_id: p for p in inputs.passages}
        neighbours = {pid: [(score, by_id[other]) for score, other in found if other in by_id]
                      for pid, found in inputs.neighbours.items()}
    views = []
    for p in inputs.passages:
        evidence = inputs.evidence.get(p.passage_id, {}) if p.codes else {}
        evidence = {code: evidence[code] for code in p.codes if code in evidence}
        views.append(PassageView(
            passage=p, evidence=evidence, href=passage_href(p.doc_id, p.passage_id),
            anchor_href=passage_href(p.doc_id, p.passage_id, from_docs=True),
            code_order=order, neighbours=neighbours.get(p.passage_id, [])))
    return views


def _excerpt(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + " …"


def _concordance_data(views: Sequence[PassageView]) -> list[dict]:
    """Every passage as the concordance page's script searches it: the text exactly as in
    the document (so a hit's document offset is the passage's start plus its place)."""
    return [{"id": v.passage.passage_id, "doc": v.passage.doc_id, "site": v.passage.site,
             "start": v.passage.start, "codes": list(v.passage.codes), "href": v.href,
             "text": v.passage.text} for v in views]


def _document_blocks(text: str, views: Sequence[PassageView],
                     section: Callable[[PassageView], dict]) -> list[dict]:
    """The document's text in order: passages (their fragments, as `section` gives them),
    and any text between them that belongs to no passage (so the page shows the whole
    document)."""
    blocks, cursor = [], 0
    for view in sorted(views, key=lambda v: (v.passage.start, v.passage.end)):
        if view.passage.start > cursor and text[cursor: view.passage.start].strip():
            blocks.append({"between": text[cursor: view.passage.start]})
        blocks.append(section(view))
        cursor = max(cursor, view.passage.end)
    if text[cursor:].strip():
        blocks.append({"between": text[cursor:]})
    return blocks


def _link_quotes(quotes: Iterable[Mapping], known: Mapping[str, CodedPassage]) -> list[dict]:
    """Quotes from a site summary, each with a link to its passage when the passage is in
    the report (a stale summary's quote is shown unlinked, never with a dead link)."""
    linked = []
    for quote_data in quotes:
        item = dict(quote_data)
        passage = known.get(item.get("passage_id", ""))
        item["href"] = (passage_href(passage.doc_id, passage.passage_id)
                        if passage and passage.doc_id == item.get("doc_id") else None)
        linked.append(item)
    return linked


def _site_views(inputs: ReportInputs, views: Sequence[PassageView]) -> list[dict]:
    known = {v.passage.passage_id: v.passage for v in views}
    sites = sorted({v.passage.site for v in views} | {d.site for d in inputs.documents.values()}
                   | set(inputs.site_summaries))
    result = []
    for site in sites:
        in_site = [v for v in views if v.passage.site == site]
        summary = inputs.site_summaries.get(site)
        quotes = {}
        interplay_quotes = []
        if summary:
            quotes = {code: _link_quotes(items, known)
                      for code, items in (summary.get("quotes") or {}).items()}
            interplay_quotes = _link_quotes(summary.get("interplay_passages") or [], known)
        result.append({
            "name": site, "slug": slug(site), "summary": summary, "quotes": quotes,
            "interplay_quotes": interplay_quotes,
            "documents": sorted((d for d in inputs.documents.values() if d.site == site),
                                key=lambda d: d.doc_id),
            "passages": len(in_site), "codable": sum(1 for v in in_site if v.passage.codable),
            "coded": sum(1 for v in in_site if v.passage.codes),
            "orientations": Counter(v.passage.orientation for v in in_site if v.passage.codes),
        })
    return result


def _code_views(codebook: Codebook, views: Sequence[PassageView]) -> list[dict]:
    counts = Counter(code for v in views for code in v.passage.codes)
    return [{"id": c.id, "label": c.label, "family": c.family,
             "family_label": codebook.families[c.family].label, "colour": c.colour,
             "ink": ink_for(c.colour), "definition": c.definition, "passages": counts[c.id]}
            for c in codebook.codes]


def _chart_views(charts: Sequence[Path]) -> list[dict]:
    """Charts by name, SVG shown and PNG offered, in the order CHART_TITLES gives."""
    by_name: dict[str, dict[str, str]] = {}
    for path in charts:
        by_name.setdefault(path.stem, {})[path.suffix.lstrip(".")] = f"assets/charts/{path.name}"
    ordered = [name for name in CHART_TITLES if name in by_name]
    ordered += sorted(set(by_name) - set(CHART_TITLES))
    return [{"name": name, "title": CHART_TITLES.get(name, name), **by_name[name]}
            for name in ordered]


def _review_view(inputs: ReportInputs, views: Sequence[PassageView]) -> dict:
    """The index's review section: how many passages review touched, agreement (each
    comparison's pooled row first), and the decisions the pipeline could not apply, linked
    when the passage is still in the report."""
    statuses = Counter(v.passage.review_status for v in views if v.passage.review_status)
    known = {v.passage.passage_id: v for v in views}
    not_applied = []
    for decision in inputs.decisions:
        if decision["status"] != APPLIED:
            view = known.get(decision["passage_id"])
            not_applied.append({**decision, "href": view.href if view else None})
    comparisons: dict[str, int] = {}
    for row in inputs.agreement:
        comparisons.setdefault(row["comparison"], len(comparisons))
    agreement = sorted(inputs.agreement,
                       key=lambda row: (comparisons[row["comparison"]], row["code"] != "all"))
    return {"reviewed": sum(statuses.values()), "statuses": statuses,
            "decisions": len(inputs.decisions),
            "applied": sum(1 for d in inputs.decisions if d["status"] == APPLIED),
            "not_applied_counts": Counter(d["status"] for d in not_applied),
            "status_labels": DECISION_STATUS_LABELS, "agreement": agreement,
            "not_applied": not_applied}


def _count(value: str) -> int:
    try:
        return int(float(value))
    except ValueError:
        return 0


def _cooccurrence_view(codebook: Codebook, rows: Sequence[Mapping[str, str]]) -> list[dict]:
    """cooccurrence.csv as one symmetric code × code table per site, `all` first, then the
    sites in the file's order; codes in codebook order (any code the codebook no longer
    has after them, as the file has it). Cell (a, b) is the pair's row or None; the
    diagonal holds each code's own passage count."""
    sites: dict[str, dict] = {}
    extra: list[str] = []
    for row in rows:
        site = sites.setdefault(row["site"], {"name": row["site"], "pairs": {}, "own": {},
                                              "codable": row["codable_passages"]})
        cell = {"both": _count(row["passages_both"]), "c": row["c_coefficient"],
                "interplay": row["interplay"].strip().lower() == "true",
                "code_a": row["code_a"], "code_b": row["code_b"]}
        site["pairs"][(row["code_a"], row["code_b"])] = cell
        site["pairs"][(row["code_b"], row["code_a"])] = cell
        site["own"][row["code_a"]] = _count(row["passages_a"])
        site["own"][row["code_b"]] = _count(row["passages_b"])
        extra += [c for c in (row["code_a"], row["code_b"])
                  if c not in codebook.ids and c not in extra]
    codes = [*codebook.ids, *extra]
    ordered = sorted(sites.values(), key=lambda s: s["name"] != ALL_SITES)  # stable
    tables = []
    for site in ordered:
        used = [c for c in codes if c in site["own"]]
        tables.append({
            "name": site["name"], "slug": slug(site["name"]), "all": site["name"] == ALL_SITES,
            "codable": site["codable"], "codes": used,
            "rows": [(a, [(b, site["own"][a] if a == b else site["pairs"].get((a, b)))
                          for b in used]) for a in used]})
    return tables


RECOMMENDATION_CLASSES = {"safe to auto-apply": "safe", "needs review": "review",
                          "too rare to judge": "rare"}
REFERENCE_LABELS = {"review": "reviews", "cross_validation": "annotations (cross-validated)"}


def _reliability_view(codebook: Codebook, rows: Sequence[Mapping[str, str]]) -> dict:
    """reliability.csv for the index: per code (codebook order) its recommendation and the
    all-sites figures of each reference; then, per site, the same figures code by code."""
    order = {code: i for i, code in enumerate(codebook.ids)}

    def figures(row: Mapping[str, str]) -> dict:
        return {**row, "reference_label": REFERENCE_LABELS.get(row["reference"],
                                                                row["reference"]),
                "statistics": [(name, row[name], row[f"{name}_low"], row[f"{name}_high"])
                               for name in STATISTICS]}

    def ranked(selected: Iterable[Mapping[str, str]]) -> list[dict]:
        return [figures(r) for r in sorted(selected, key=lambda r: (
            order.get(r["code"], len(order)), r["code"], r["reference"]))]

    pooled = ranked(r for r in rows if r["site"] == ALL_SITES)
    codes = []
    for row in pooled:
        if not codes or codes[-1]["code"] != row["code"]:
            codes.append({"code": row["code"], "recommendation": row["recommendation"],
                          "basis": REFERENCE_LABELS.get(row["basis"], row["basis"]),
                          "css": RECOMMENDATION_CLASSES.get(row["recommendation"], ""),
                          "rows": []})
        codes[-1]["rows"].append(row)
    sites = sorted({r["site"] for r in rows} - {ALL_SITES})
    return {"codes": codes, "rule": RECOMMENDATION_RULE, "statistics": STATISTICS,
            "counts": Counter(c["recommendation"] for c in codes),
            "sites": [{"name": site, "slug": slug(site),
                       "rows": ranked(r for r in rows if r["site"] == site)} for site in sites]}


def _filter_selects(codes: list[dict], listed: list[PassageView]) -> list[dict]:
    """The index's drop-down filters, in order: the `data-filter` name the script reads, the
    label, an optional tooltip, and the options as (value, text), the first matching all."""
    orientations = [o for o in ORIENTATIONS if any(v.passage.orientation == o for v in listed)]
    return [
        {"name": "code", "label": "Code", "title": "",
         "options": [("", "any code"), *((c["id"], c["label"]) for c in codes)]},
        {"name": "orientation", "label": "Orientation", "title": "",
         "options": [("", "any orientation"),
                     *((o, ORIENTATION_LABELS[o]) for o in orientations)]},
        {"name": "site", "label": "Site", "title": "",
         "options": [("", "any site"), *((s, s) for s in sorted({v.passage.site for v in listed}))]},
        {"name": "actor", "label": "Actor", "title": "",
         "options": [("", "any actor"),
                     *((a, a) for a in sorted({v.passage.actor for v in listed}))]},
        {"name": "review", "label": "Review",
         "title": "Disagreements: a reviewer changed the machine's codes, or reviewers disagree",
         "options": list(REVIEW_FILTERS.items())},
    ]


# A passage's fragments, each rendered or reused on its own (see report_cache): on its
# document's page, its body (text, codes, evidence, scores) and its similar passages, which
# change as other documents come and go; in the index's list, its item.
FRAGMENTS = ("body", "similar", "item")
# What renders them, besides the data they show.
FRAGMENT_TEMPLATES = (*(f"passage_{kind}.html" for kind in FRAGMENTS), "macros.html")
FRAGMENT_MODULES = ("interplay.report", "interplay.highlight", "interplay.rules",
                    "interplay.coder")
FRAGMENT_PACKAGES = ("jinja2", "markupsafe", "spacy", "spacy-lookups-data")


@functools.cache
def _renderer_digest() -> str:
    """The fragment templates, the modules that highlight and render, and the versions of
    the packages they use: a change to any of them renders every fragment again."""
    from importlib.metadata import version
    from importlib.util import find_spec

    templates = resources.files("interplay") / "templates"
    files = [templates / name for name in FRAGMENT_TEMPLATES]
    files += [find_spec(module).origin for module in FRAGMENT_MODULES]
    return source_digest(files, *(f"{name} {version(name)}" for name in FRAGMENT_PACKAGES))


# The report in two parts, each a job of its own, so the document pages (most of the
# work) are written while the charts, site summaries and the rest are still being made,
# and the index, which shows those, waits for them alone.
DOCUMENT_PAGES = "documents"  # docs/<doc_id>.html and concordance.html
INDEX = "index"  # index.html and everything under assets/
REPORT_PARTS = (DOCUMENT_PAGES, INDEX)


class _Renderer:
    """What both parts of the report render with: the templates, the passages' views, and
    their fragments from the cache (added to it where it has not got them)."""

    def __init__(self, inputs: ReportInputs, cache: FragmentCache | None, *,
                 similar: bool) -> None:
        self.environment = _environment()
        self.views = _passage_views(inputs, similar=similar)
        self.codes = _code_views(inputs.codebook, self.views)
        self.labels = {c["id"]: c["label"] for c in self.codes}
        self.fragment_context = {"labels": self.labels, "orientation_labels": ORIENTATION_LABELS,
                                 "review_labels": REVIEW_STATUS_LABELS}
        self.context = digest(_renderer_digest(), self.fragment_context)
        self.templates = {kind: self.environment.get_template(f"passage_{kind}.html")
                          for kind in FRAGMENTS}
        self.cache = cache if cache is not None else FragmentCache()
        self.common = {"codes": self.codes, **self.fragment_context}
        self.documents = sorted(inputs.documents.values(), key=lambda d: (d.site, d.doc_id))
        self.per_document: dict[str, list[PassageView]] = {}
        for view in self.views:
            self.per_document.setdefault(view.passage.doc_id, []).append(view)

    def fragment(self, kind: str, view: PassageView) -> Markup:
        return Markup(self.cache.fragment(view.fragment_key(kind, self.context), lambda: (
            self.templates[kind].render(view=view, **self.fragment_context))))

    def document_section(self, view: PassageView) -> dict:
        similar = self.fragment("similar", view) if view.passage.codable else ""
        return {"view": view, "body": self.fragment("body", view), "similar": similar}


def render_document_pages(inputs: ReportInputs, cache: FragmentCache | None = None
                          ) -> dict[str, str]:
    """The report's document pages and its concordance page, by path in the report folder."""
    renderer = _Renderer(inputs, cache, similar=True)
    views, codes = renderer.views, renderer.codes
    files = {"concordance.html": renderer.environment.get_template("concordance.html").render(
        root="", **renderer.common, passages=_concordance_data(views),
        sites=sorted({v.passage.site for v in views}))}
    document_template = renderer.environment.get_template("document.html")
    for document in renderer.documents:
        in_document = renderer.per_document.get(document.doc_id, [])
        files[doc_page(document.doc_id)] = document_template.render(
            root="../", **renderer.common, document=document,
            blocks=_document_blocks(inputs.texts.get(document.doc_id, ""), in_document,
                                    renderer.document_section),
            passages=len(in_document), coded=sum(1 for v in in_document if v.passage.codes),
            reviewed=sum(1 for v in in_document if v.passage.review_status),
            codes_here=[c for c in codes if any(c["id"] in v.passage.codes for v in in_document)])
    return files


def render_index(inputs: ReportInputs, cache: FragmentCache | None = None
                 ) -> dict[str, str | bytes]:
    """The report's index page and its assets (styles, scripts, charts), by path in the
    report folder."""
    renderer = _Renderer(inputs, cache, similar=False)
    views, codes, environment = renderer.views, renderer.codes, renderer.environment
    coded = [v for v in views if v.passage.codes]
    listed = [v for v in views if v.listed]
    files: dict[str, str | bytes] = {
        "index.html": environment.get_template("index.html").render(
            root="", **renderer.common, sites=_site_views(inputs, views), listed=listed,
            listed_items=[renderer.fragment("item", v) for v in listed],
            documents=renderer.documents, per_document=renderer.per_document,
            charts=_chart_views(inputs.charts), filter_selects=_filter_selects(codes, listed),
            review=_review_view(inputs, views),
            cooccurrence=_cooccurrence_view(inputs.codebook, inputs.cooccurrence),
            reliability=_reliability_view(inputs.codebook, inputs.reliability),
            totals={"documents": len(renderer.documents), "passages": len(views),
                    "codable": sum(1 for v in views if v.passage.codable), "coded": len(coded)}),
        "assets/codes.css": environment.get_template("codes.css").render(codes=codes),
    }
    assets = resources.files("interplay") / "templates" / "assets"
    for name in STATIC_ASSETS:
        files[f"assets/{name}"] = (assets / name).read_text(encoding="utf-8")
    for chart in inputs.charts:
        files[f"assets/charts/{chart.name}"] = chart.read_bytes()
    return files


def render_report(inputs: ReportInputs, cache: FragmentCache | None = None,
                  parts: Sequence[str] = REPORT_PARTS) -> dict[str, str | bytes]:
    """Every file of the report's `parts`, by path relative to the report folder; passages'
    fragments come from `cache` where it has them (and are added to it where it has not)."""
    cache = cache if cache is not None else FragmentCache()
    unknown = set(parts) - set(REPORT_PARTS)
    if unknown:
        raise ValueError(f"unknown report part(s) {sorted(unknown)}; parts: {REPORT_PARTS}")
    files: dict[str, str | bytes] = {}
    if INDEX in parts:
        files.update(render_index(inputs, cache))
    if DOCUMENT_PAGES in parts:
        files.update(render_document_pages(inputs, cache))
    return files


def write_report(inputs: ReportInputs, out_dir: str | os.PathLike,
                 cache: FragmentCache | None = None,
                 parts: Sequence[str] = REPORT_PARTS) -> list[Path]:
    """Render and write the report's `parts` atomically, file by file; returns the files
    written."""
    written = []
    for relative, content in render_report(inputs, cache, parts).items():
        path = Path(out_dir) / relative
        if isinstance(content, bytes):
            with atomic_open(path, "wb") as handle:
                handle.write(content)
        else:
            write_text(path, content)
        written.append(path)
    return written


def build_report(out_dir: str | os.PathLike, *, coded_csv: str | os.PathLike,
                 codebook_path: str | os.PathLike, metadata_csv: str | os.PathLike,
                 coded_files: Iterable[str | os.PathLike],
                 text_files: Iterable[str | os.PathLike],
                 chart_files: Iterable[str | os.PathLike] = (),
                 site_files: Iterable[str | os.PathLike] = (),
                 agreement_csv: str | os.PathLike | None = None,
                 decisions_csv: str | os.PathLike | None = None,
                 cooccurrence_csv: str | os.PathLike | None = None,
                 reliability_csv: str | os.PathLike | None = None,
                 similar_json: str | os.PathLike | None = None,
                 cache_path: str | os.PathLike | None = None,
                 parts: Sequence[str] = REPORT_PARTS) -> list[str]:
    """The Snakemake rules' entry point: read the outputs, write the report's `parts`
    (reusing the passages' fragments kept in `cache_path`, see report_cache); returns the
    lines for the rule's log (what was written, and quotes that could not be linked)."""
    inputs = load_inputs(coded_csv=coded_csv, codebook_path=codebook_path,
                         metadata_csv=metadata_csv, coded_files=coded_files,
                         text_files=text_files, chart_files=chart_files, site_files=site_files,
                         agreement_csv=agreement_csv, decisions_csv=decisions_csv,
                         cooccurrence_csv=cooccurrence_csv, reliability_csv=reliability_csv,
                         similar_json=similar_json)
    cache = FragmentCache(cache_path)
    written = write_report(inputs, out_dir, cache, parts)
    cache.save()
    coded = sum(1 for p in inputs.passages if p.codes)
    lines = [f"{', '.join(parts)}: {len(written)} files written to {out_dir}",
             *([(f"{cache.reused} of {len(cache.used)} passage fragments reused from "
                 f"{cache_path}")] if cache_path else []),
             *cache.notes,
             (f"{coded} coded passages of {len(inputs.passages)}, "
              f"{len(inputs.documents)} documents, {len(inputs.charts)} chart files, "
              f"{len(inputs.site_summaries)} site summaries")]
    if INDEX in parts:
        lines.append(
            f"{sum(1 for p in inputs.passages if p.review_status)} reviewed passages, "
            f"{len(inputs.decisions)} review decisions "
            f"({sum(1 for d in inputs.decisions if d['status'] != APPLIED)} not applied), "
            f"{len(inputs.agreement)} agreement rows, "
            f"{len(inputs.cooccurrence)} co-occurrence rows, "
            f"{len(inputs.reliability)} reliability rows")
        lines += [f"warning: {problem}" for problem in unlinked_quotes(inputs)]
    return lines


def unlinked_quotes(inputs: ReportInputs) -> list[str]:
    """Site summary quotes whose passage is not in coded_passages.csv (a stale summary)."""
    known = {(p.doc_id, p.passage_id) for p in inputs.passages}
    problems = []
    for site, summary in sorted(inputs.site_summaries.items()):
        quotes = [*(summary.get("interplay_passages") or []),
                  *(q for items in (summary.get("quotes") or {}).values() for q in items)]
        for q in quotes:
            if (q.get("doc_id"), q.get("passage_id")) not in known:
                problems.append(f"site {site!r}: quote {q.get('passage_id')!r} is not a passage "
                                f"of {q.get('doc_id')!r}; shown without a link")
    return problems
