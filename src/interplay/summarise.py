"""Per-site summaries and the Framework Method matrix: what a researcher reports per case.

A case study is reported site by site: which sources stand behind it, which mechanisms
its accounts dwell on compared with the other sites, the balance of competition and
cooperation, where the two interplay, how commissioners and providers differ, and a few
verbatim quotes evidencing each point. This module computes all of that from the coded
passages (`coded_passages.csv`), the documents' texts, the codebook and the corpus
index, and renders it as `sites/<site>.json` (every number and quote), `sites/<site>.md`
(the same for reading), `sites/index.md` (all sites side by side) and the framework
matrix (`framework_matrix.xlsx` / `.csv`: sites x codes, each cell a count and short
quotes, as in the Framework Method's charting stage).

Why quotes are checked: a quote is evidence only if a reader can find it. Every quote is
the exact text of the document at its `start`/`end` offsets (a whole passage, or a run of
whole sentences of a long passage with that run's own offsets), and the writers refuse to
write a quote that is not (`QuoteOffsetError`).

The numbers, and the rules behind them:

- A passage is *codable* when the coder scored it (interviewer turns, headings and very
  short passages are not). A code's *share* in a site is the number of passages carrying
  it divided by the site's codable passages; the *all-site mean* is the unweighted mean
  of the per-site shares over every site with codable passages, so a large site does not
  dominate the comparison.
- The *balance* counts coded passages by orientation (competition only, cooperation only,
  interplay of both, context = rules/contract codes only); its shares are of the coded
  passages. `empty` counts codable passages that carry no code.
- Whose account a passage is (its *voice*, used for the commissioner/provider contrast):
  in interviews the speaker's role read from the turn label (`speaker_role`), which falls
  back on the document's actor (the interviewee's organisation type); in documents the
  document's actor. A provider speaking in a commissioner's interview therefore counts
  as a provider. Interviewer turns are not codable, so never counted.
- A code is *salient* in a site when at least `salient_min_passages` passages carry it
  and they make up at least `salient_min_share` of the codable passages (defaults: 5
  passages and 10%).
- *Who coded* a passage: reviewers' decisions override the machine's. A site's codable
  passages are counted as coded by the machine alone (not reviewed), reviewed and agreed
  with the machine (`agrees`), reviewed and changed (`changed`), or in conflict (two
  reviewers disagree, so the machine's codes stand). Every quote carries `coded_by`
  ("machine" or the reviewers, "alice;bob") and `review_status`, and its reference says
  "machine" or "reviewed by alice". Older coded_passages.csv files without these columns
  read as machine-coded.
- Quotes are chosen greedily for confidence and diversity: highest score first, at most
  one quote per document, and a passage in a voice not yet quoted is preferred when its
  score is within `role_preference_margin` of the best remaining one. If fewer documents
  than `min_quotes` carry the code, further passages of the same documents fill up. A
  passage already quoted on the page (or in the matrix row) is used again only when no
  other passage can fill the place.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interplay.codebook import ORIENTATIONS, Codebook, load_codebook
from interplay.errors import InterplayError
from interplay.fileio import atomic_open, write_json, write_text
from interplay.metadata import ACTORS, KINDS, Document, read_corpus
from interplay.passage_table import MACHINE, REVIEW_STATUSES

if TYPE_CHECKING:
    import pandas as pd

# pandas, spaCy's stop words and openpyxl are imported where they are used: the Snakefile
# imports this module for `site_file_stems`, and every Snakemake job parses the Snakefile.

REQUIRED_COLUMNS = ("passage_id", "doc_id", "site", "actor", "kind", "speaker_role", "page",
                    "start", "end", "text", "codes", "orientation")
CONTRASTED_VOICES = ("commissioner", "provider")
BALANCE_ORIENTATIONS = ("competition", "cooperation", "interplay")
SITE_INDEX_STEM = "index"
MATRIX_SHEETS = ("sites", "documents")
ELLIPSIS = "…"
FORMULA_OPENERS = ("=", "+", "-", "@", "\t", "\r")  # see spreadsheet_cell


class SummaryError(InterplayError):
    """The coded passages cannot be summarised as they are (missing columns, unknown codes)."""

    code = "E008"


class QuoteOffsetError(InterplayError):
    """A quote is not the document's text at its offsets: it could not be traced back."""

    code = "E009"


@dataclass(frozen=True)
class SummarySettings:
    """The rules for choosing what a summary shows; the defaults suit a case-study site."""

    salient_min_passages: int = 5
    salient_min_share: float = 0.10
    quotes_per_code: int = 3
    min_quotes: int = 2
    interplay_quotes: int = 3
    quote_max_chars: int = 600
    role_preference_margin: float = 0.2
    contrast_min_passages: int = 5
    contrast_min_difference: float = 0.10
    contrast_notable: int = 3
    cell_quotes: int = 2
    document_cell_quotes: int = 1
    cell_quote_max_chars: int = 280


# ---------------------------------------------------------------------------------------
# The passage table


def voice(actor: str, speaker_role: str) -> str:
    """Whose account a passage gives: the speaker's role when it names an actor type
    (interview turns), else the document's actor."""
    return speaker_role if speaker_role in ACTORS else actor


def _as_int(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if not text:
        return None
    return int(float(text))


def prepare_passages(table: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """The coded passages with typed columns: int offsets, page (int or None), float scores
    (NaN when not scored), `codable`, `code_list`, `voice`, `coded_by` and `review_status`
    (both optional in the table). Raises SummaryError naming every missing column and
    unknown code at once."""
    import pandas as pd

    problems = [f"missing column '{c}'" for c in REQUIRED_COLUMNS if c not in table.columns]
    score_columns = [f"score:{c}" for c in codebook.ids]
    problems += [f"missing column '{c}' (was the table coded with another codebook?)"
                 for c in score_columns if c not in table.columns]
    if problems:
        raise SummaryError("coded passages: " + "; ".join(problems))
    out = table.copy()
    for column in ("passage_id", "doc_id", "site", "actor", "kind", "speaker_role", "text",
                   "codes", "orientation", *(["evidence"] if "evidence" in out else [])):
        out[column] = out[column].fillna("").astype(str)
    for column in ("start", "end", "page"):
        values = [_as_int(v) for v in out[column]]
        if column != "page" and None in values:
            raise SummaryError(f"coded passages: empty '{column}' in passage "
                               f"{out['passage_id'].iloc[values.index(None)]}")
        out[column] = pd.Series(values, index=out.index, dtype=object)
    for column in score_columns:
        out[column] = pd.to_numeric(out[column].astype(str).str.strip(),
                                    errors="coerce").astype(float)
    out["codable"] = out[score_columns].notna().any(axis=1)
    if "coded_by" in out:
        out["coded_by"] = out["coded_by"].fillna("").astype(str)
    else:  # written before the review loop: every codable passage is the machine's
        out["coded_by"] = out["codable"].map({True: MACHINE, False: ""})
    out["review_status"] = (out["review_status"].fillna("").astype(str)
                            if "review_status" in out else "")
    odd = sorted(set(out["review_status"]) - set(REVIEW_STATUSES))
    if odd:
        raise SummaryError(f"coded passages: unknown review_status {', '.join(odd)} (expected "
                           f"one of {', '.join(s for s in REVIEW_STATUSES if s)} or empty)")
    out["code_list"] = out["codes"].map(lambda s: [c for c in s.split(";") if c])
    known = set(codebook.ids)
    unknown = sorted({(row.passage_id, c) for row in out.itertuples()
                      for c in row.code_list if c not in known})
    if unknown:
        raise SummaryError("coded passages: unknown code(s) not in the codebook: "
                           + ", ".join(f"{c} (passage {p})" for p, c in unknown[:20]))
    out["voice"] = [voice(a, r) for a, r in zip(out["actor"], out["speaker_role"])]
    return out


def all_sites(passages: pd.DataFrame, documents: Iterable[Document]) -> list[str]:
    """Every site with a document in the corpus index or a passage in the table."""
    return sorted({d.site for d in documents} | set(passages["site"]))


def site_file_stem(site: str) -> str:
    """The file name (without suffix) of a site's summary: the site name with anything
    other than letters, digits, '.', '_' and '-' replaced by '_'. `index` is taken by
    the comparison page, so a site called that becomes `index_site`."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", site).strip(".") or "_"
    return f"{stem}_site" if stem == SITE_INDEX_STEM else stem


def site_file_stems(sites: Iterable[str]) -> dict[str, str]:
    """site -> file stem; raises SummaryError when two sites would share a file."""
    stems: dict[str, str] = {}
    for site in sorted(set(sites)):
        stem = site_file_stem(site)
        clash = [other for other, s in stems.items() if s == stem]
        if clash:
            raise SummaryError(f"sites '{clash[0]}' and '{site}' would both be written to "
                               f"sites/{stem}.md: rename one of them in metadata.csv")
        stems[site] = stem
    return stems


# ---------------------------------------------------------------------------------------
# Quotes: exact spans, the best sentences of a long passage, diverse choices

SENTENCE_BREAK = re.compile(
    r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)\]]))[ \t]+(?=\S)|[ \t]*\n\s*")
# Words that end with a full stop without ending the sentence ("(No. 2) Regulations").
ABBREVIATIONS = frozenset({"no", "nos", "dr", "mr", "mrs", "ms", "st", "cllr", "prof", "rev",
                           "e.g", "i.e", "etc", "vs", "cf", "approx", "para", "paras", "sec",
                           "art", "fig", "ref", "vol", "p", "pp", "ch", "co", "inc", "ltd"})


def _ends_sentence(text: str, match: re.Match) -> bool:
    """Whether a break after punctuation really ends a sentence: not after an abbreviation
    or an initial, and not when the next word starts in lower case."""
    if "\n" in match.group():
        return True
    following = text[match.end():match.end() + 1]
    if following.islower():
        return False
    word = re.search(r"(\S+)$", text[:match.start()])
    token = word.group(1).lstrip("(\"'“‘[").rstrip(".\"'”’)]").lower() if word else ""
    return not (token in ABBREVIATIONS or (len(token) == 1 and token.isalpha()))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence or line of `text`, surrounding whitespace excluded.
    A plain splitter (end punctuation then a space, or a line break): a wrong split only
    makes an excerpt a sentence shorter, and every span is still exact."""
    spans = []
    position = 0
    for match in SENTENCE_BREAK.finditer(text):
        if _ends_sentence(text, match):
            spans.append((position, match.start()))
            position = match.end()
    spans.append((position, len(text)))
    trimmed = []
    for start, end in spans:
        piece = text[start:end]
        left = len(piece) - len(piece.lstrip())
        right = len(piece.rstrip())
        if right > left:
            trimmed.append((start + left, start + right))
    return trimmed


@cache
def stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def evidence_hits(passage_text: str, evidence: str, code: str, code_ids: Sequence[str]
                  ) -> list[tuple[int, int, int]]:
    """Where the coder's evidence for `code` lies in the passage: (start, end, weight).

    Reads the evidence column (`code: "match" [s-e], ...; terms: a, b | code2: ...`):
    a rule match (weight 3) is kept only if the passage text at its offsets is the quoted
    match; a term (weight 1; stop words skipped) is found as a word prefix, so the lemma
    `bid` finds `bids`. Evidence only steers which sentences of a long passage are quoted.
    """
    alternatives = "|".join(re.escape(c) for c in sorted(code_ids, key=len, reverse=True))
    parts = re.split(rf"(?:^|\s\|\s)({alternatives}): ", evidence)
    segments = {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}
    segment = segments.get(code, "")
    hits = []
    for match in re.finditer(r"\[(\d+)-(\d+)\]", segment):
        start, end = int(match.group(1)), int(match.group(2))
        if 0 <= start < end <= len(passage_text) and \
                f'"{passage_text[start:end]}" [{start}-{end}]' in segment:
            hits.append((start, end, 3))
    if "terms: " in segment:
        for term in segment.rsplit("terms: ", 1)[1].split(", "):
            words = term.split()
            if not words or all(w.lower() in stop_words() for w in words):
                continue
            pattern = r"\b" + r"\s+".join(re.escape(w) for w in words)
            hits += [(m.start(), m.end(), 1)
                     for m in re.finditer(pattern, passage_text, re.IGNORECASE)]
    return hits


def best_excerpt(text: str, hit_groups: Sequence[Sequence[tuple[int, int, int]]], *,
                 max_chars: int) -> tuple[int, int]:
    """(start, end) within `text` of what to quote.

    The whole text (whitespace trimmed) if it fits in `max_chars`. Otherwise the shortest
    run of consecutive sentences within `max_chars` that covers the most evidence groups,
    then the most evidence weight (earliest on ties), grown with its neighbouring sentences
    (following first) while it stays within half of `max_chars`, so the evidence comes with
    some context. Without evidence, the passage's opening sentences. If no single sentence
    fits, the best single sentence."""
    sentences = sentence_spans(text)
    if not sentences:
        return 0, len(text)
    if sentences[-1][1] - sentences[0][0] <= max_chars:
        return sentences[0][0], sentences[-1][1]

    def length(first: int, last: int) -> int:
        return sentences[last][1] - sentences[first][0]

    windows = [(i, j) for i in range(len(sentences)) for j in range(i, len(sentences))
               if length(i, j) <= max_chars or i == j]
    fitting = [w for w in windows if length(*w) <= max_chars] or windows

    def rank(window: tuple[int, int]) -> tuple:
        first, last = sentences[window[0]][0], sentences[window[1]][1]
        inside = [[h for h in group if first <= h[0] and h[1] <= last] for group in hit_groups]
        covered = sum(1 for group in inside if group)
        weight = sum(h[2] for group in inside for h in group)
        return (-covered, -weight, length(*window), window[0])

    first, last = min(fitting, key=rank) if any(hit_groups) else (0, 0)
    target = max_chars // 2
    grown = True
    while grown:
        grown = False
        if last + 1 < len(sentences) and length(first, last + 1) <= target:
            last, grown = last + 1, True
        if first > 0 and length(first - 1, last) <= target:
            first, grown = first - 1, True
    return sentences[first][0], sentences[last][1]


def clip_span(text: str, start: int, end: int, max_chars: int) -> tuple[int, int]:
    """Shorten text[start:end] to at most `max_chars` characters, cutting at a word
    boundary and dropping trailing punctuation, so it can be shown with an ellipsis."""
    if end - start <= max_chars:
        return start, end
    cut = text[start:start + max_chars]
    space = cut.rfind(" ")
    if space > max_chars // 2:
        cut = cut[:space]
    cut = cut.rstrip(" \t\n,;:–—-")
    return start, start + len(cut)


def check_quote(quote: dict, texts: dict[str, str]) -> str | None:
    """None if the quote is its document's text at its offsets, else what is wrong."""
    text = texts.get(quote["doc_id"])
    where = f"quote of passage {quote['passage_id']} [{quote['start']}:{quote['end']}]"
    if text is None:
        return f"{where}: no text for document '{quote['doc_id']}'"
    if text[quote["start"]:quote["end"]] != quote["text"]:
        return (f"{where}: the text of {quote['doc_id']} at these offsets is "
                f"{text[quote['start']:quote['end']][:60]!r}, not {quote['text'][:60]!r}")
    return None


def verify_quotes(quotes: Iterable[dict], texts: dict[str, str], *, where: str) -> None:
    """Raise QuoteOffsetError listing every quote that does not match its document."""
    problems = [p for p in (check_quote(q, texts) for q in quotes) if p]
    if problems:
        raise QuoteOffsetError(f"{where}: {len(problems)} quote(s) do not match the document "
                               "text (rerun the pipeline from extraction):\n"
                               + "\n".join(f"  - {p}" for p in problems))


def make_quote(row: dict, texts: dict[str, str], *, score: float,
               hit_groups: Sequence[Sequence[tuple[int, int, int]]], max_chars: int) -> dict:
    """A quote of one passage (the JSON shape shared with the report): the passage, or its
    best sentences when longer than `max_chars`, with the offsets of exactly that text."""
    document_text = texts.get(row["doc_id"])
    if document_text is None or document_text[row["start"]:row["end"]] != row["text"]:
        raise QuoteOffsetError(
            f"passage {row['passage_id']}: its text is not {row['doc_id']}'s text at "
            f"[{row['start']}:{row['end']}] (coded_passages.csv and outputs/text/ are out "
            "of step: rerun the pipeline)")
    local_start, local_end = best_excerpt(row["text"], hit_groups, max_chars=max_chars)
    start, end = row["start"] + local_start, row["start"] + local_end
    return {"passage_id": row["passage_id"], "doc_id": row["doc_id"], "start": start,
            "end": end, "speaker_role": row["speaker_role"], "page": row["page"],
            "actor": row["actor"], "kind": row["kind"], "score": round(float(score), 4),
            "codes": list(row["code_list"]), "coded_by": row["coded_by"],
            "review_status": row["review_status"], "text": document_text[start:end]}


def choose_diverse(candidates: Sequence[dict], *, score: str, count: int, min_count: int,
                   margin: float, avoid: Collection[str] = ()) -> list[dict]:
    """Up to `count` rows for quoting: highest `score` first, one per document, a voice not
    yet quoted preferred when within `margin` of the best remaining score; if that gives
    fewer than `min_count`, the next best passages of documents already quoted fill up.
    Passages in `avoid` (quoted elsewhere on the same page) come only after all others."""
    ranked = sorted(candidates, key=lambda r: (r["passage_id"] in avoid, -r[score],
                                               r["passage_id"]))
    chosen: list[dict] = []
    while len(chosen) < count:
        used_docs = {r["doc_id"] for r in chosen}
        used_voices = {r["voice"] for r in chosen}
        pool = [r for r in ranked if r["doc_id"] not in used_docs]
        if not pool:
            break
        best = pool[0]
        new_voice = [r for r in pool if r["voice"] not in used_voices
                     and r["passage_id"] not in avoid and r[score] >= best[score] - margin]
        chosen.append(new_voice[0] if new_voice else best)
    for row in ranked:
        if len(chosen) >= min(min_count, count):
            break
        if all(row["passage_id"] != r["passage_id"] for r in chosen):
            chosen.append(row)
    return chosen


# ---------------------------------------------------------------------------------------
# Numbers


def share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def code_counts(passages: pd.DataFrame, codebook: Codebook) -> dict[str, int]:
    """Passages carrying each code."""
    return {c: int(passages["code_list"].map(lambda codes, c=c: c in codes).sum())
            for c in codebook.ids}


def site_shares(passages: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """sites x codes: share of each site's codable passages that carry the code. Sites
    without codable passages are left out (they have no shares to compare)."""
    import pandas as pd

    rows = {}
    for site, group in passages.groupby("site", sort=True):
        codable = int(group["codable"].sum())
        if codable:
            counts = code_counts(group, codebook)
            rows[site] = {c: share(counts[c], codable) for c in codebook.ids}
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(codebook.ids))


def all_site_mean_shares(passages: pd.DataFrame, codebook: Codebook) -> dict[str, float]:
    """Unweighted mean over sites of each code's share (each site counts once)."""
    shares = site_shares(passages, codebook)
    if shares.empty:
        return dict.fromkeys(codebook.ids, 0.0)
    return {c: round(float(shares[c].mean()), 4) for c in codebook.ids}


def code_profile(site_passages: pd.DataFrame, codebook: Codebook,
                 mean_shares: dict[str, float]) -> list[dict]:
    codable = int(site_passages["codable"].sum())
    counts = code_counts(site_passages, codebook)
    profile = []
    for code in codebook.codes:
        site_share = share(counts[code.id], codable)
        profile.append({"code": code.id, "label": code.label, "family": code.family,
                        "passages": counts[code.id], "share": site_share,
                        "all_site_mean_share": mean_shares[code.id],
                        "difference": round(site_share - mean_shares[code.id], 4)})
    return profile


def orientation_balance(site_passages: pd.DataFrame) -> dict:
    """Coded passages by orientation; shares of the coded passages."""
    codable = site_passages[site_passages["codable"]]
    counts = {o: int((codable["orientation"] == o).sum()) for o in ORIENTATIONS}
    coded = sum(counts.values())
    balance: dict[str, Any] = dict(counts)
    balance["empty"] = int(len(codable) - coded)
    for orientation in BALANCE_ORIENTATIONS:
        balance[f"{orientation}_share"] = share(counts[orientation], coded)
    return balance


def who_coded(site_passages: pd.DataFrame) -> dict:
    """Codable passages by who decided their codes (see the module docstring), and the
    reviewers whose decisions stand, so a reader knows how much was checked by a person."""
    codable = site_passages[site_passages["codable"]]
    statuses = codable["review_status"].value_counts().to_dict()
    counts = {MACHINE: int(statuses.get("", 0)),
              **{s: int(statuses.get(s, 0)) for s in REVIEW_STATUSES if s}}
    reviewers = sorted({name for names in codable["coded_by"] for name in names.split(";")}
                       - {"", MACHINE})
    return {"passages": counts, "reviewers": reviewers}


def coded_by_text(quote: dict) -> str:
    """Who gave a quoted passage its codes: 'machine', 'machine (reviewers disagree)' or
    'reviewed by alice and bob'."""
    reviewers = [name for name in quote["coded_by"].split(";") if name not in ("", MACHINE)]
    if reviewers:
        return "reviewed by " + _join(reviewers)
    return MACHINE + (" (reviewers disagree)" if quote["review_status"] == "conflict" else "")


def actor_contrast(site_passages: pd.DataFrame, codebook: Codebook,
                   settings: SummarySettings) -> dict:
    """Commissioners' and providers' codable passages: code shares per voice, and the codes
    whose shares differ most (only when both voices have enough passages)."""
    contrast: dict[str, Any] = {}
    for who in CONTRASTED_VOICES:
        group = site_passages[site_passages["codable"] & (site_passages["voice"] == who)]
        counts = code_counts(group, codebook)
        contrast[who] = {"passages": len(group),
                         "shares": {c: share(counts[c], len(group)) for c in codebook.ids}}
    notable = []
    if all(contrast[w]["passages"] >= settings.contrast_min_passages for w in CONTRASTED_VOICES):
        for code in codebook.ids:
            commissioner = contrast["commissioner"]["shares"][code]
            provider = contrast["provider"]["shares"][code]
            difference = round(commissioner - provider, 4)
            if abs(difference) >= settings.contrast_min_difference:
                notable.append({"code": code, "commissioner_share": commissioner,
                                "provider_share": provider, "difference": difference})
        notable.sort(key=lambda n: (-abs(n["difference"]), n["code"]))
    contrast["notable"] = notable[:settings.contrast_notable]
    return contrast


def site_sources(site: str, documents: Sequence[Document], site_passages: pd.DataFrame) -> dict:
    """The documents and interviews behind a site, by kind and by actor."""
    per_doc = site_passages.groupby("doc_id")
    passages = per_doc.size().to_dict()
    coded = per_doc["code_list"].agg(lambda lists: sum(1 for c in lists if c)).to_dict()
    site_docs = sorted((d for d in documents if d.site == site), key=lambda d: d.doc_id)
    known = {d.doc_id for d in site_docs}
    for doc_id, group in per_doc:  # passages whose document the index does not list
        if doc_id not in known:
            first = group.iloc[0]
            site_docs.append(Document(doc_id=doc_id, path="", site=site, kind=first["kind"],
                                      actor=first["actor"], date="", title=""))
    by_kind = {k: sum(1 for d in site_docs if d.kind == k) for k in KINDS}
    actors = [a for a in ACTORS if any(d.actor == a for d in site_docs)]
    by_actor = {a: {k: sum(1 for d in site_docs if d.actor == a and d.kind == k) for k in KINDS}
                for a in actors}
    return {"documents": len(site_docs), "by_kind": by_kind, "by_actor": by_actor,
            "docs": [{"doc_id": d.doc_id, "title": d.title, "kind": d.kind, "actor": d.actor,
                      "date": d.date, "passages": int(passages.get(d.doc_id, 0)),
                      "coded": int(coded.get(d.doc_id, 0))} for d in site_docs]}


def salient_codes(profile: list[dict], settings: SummarySettings) -> list[str]:
    """Codes the site's accounts dwell on, most frequent first (see the module docstring)."""
    salient = [p for p in profile if p["passages"] >= settings.salient_min_passages
               and p["share"] >= settings.salient_min_share]
    return [p["code"] for p in sorted(salient, key=lambda p: (-p["passages"], p["code"]))]


# ---------------------------------------------------------------------------------------
# Quotes per site


def _records(passages: pd.DataFrame) -> list[dict]:
    return passages.to_dict("records")


def code_quotes(rows: Sequence[dict], texts: dict[str, str], codebook: Codebook, code: str, *,
                count: int, min_count: int, max_chars: int, settings: SummarySettings,
                avoid: Collection[str] = ()) -> list[dict]:
    """The best, most diverse quotes of passages carrying `code`."""
    score = f"score:{code}"
    candidates = [r for r in rows if code in r["code_list"]]
    chosen = choose_diverse(candidates, score=score, count=count, min_count=min_count,
                            margin=settings.role_preference_margin, avoid=avoid)
    return [make_quote(r, texts, score=r[score], max_chars=max_chars,
                       hit_groups=[evidence_hits(r["text"], r.get("evidence", ""), code,
                                                 codebook.ids)])
            for r in chosen]


def family_score(row: dict, codebook: Codebook, family: str) -> float:
    return max((row[f"score:{c}"] for c in row["code_list"]
                if codebook.by_id[c].family == family), default=0.0)


def interplay_quotes(rows: Sequence[dict], texts: dict[str, str], codebook: Codebook,
                     settings: SummarySettings) -> list[dict]:
    """The clearest interplay passages: ranked by the weaker of their best competition and
    best cooperation scores (both sides must be convincing), diverse as other quotes; the
    quote's `score` is that weaker score."""
    candidates = [dict(r, interplay_score=min(family_score(r, codebook, "competition"),
                                              family_score(r, codebook, "cooperation")))
                  for r in rows if r["orientation"] == "interplay"]
    chosen = choose_diverse(candidates, score="interplay_score",
                            count=settings.interplay_quotes,
                            min_count=min(settings.min_quotes, settings.interplay_quotes),
                            margin=settings.role_preference_margin)
    quotes = []
    for row in chosen:
        groups = [[hit for c in row["code_list"] if codebook.by_id[c].family == family
                   for hit in evidence_hits(row["text"], row.get("evidence", ""), c,
                                            codebook.ids)]
                  for family in ("competition", "cooperation")]
        quotes.append(make_quote(row, texts, score=row["interplay_score"], hit_groups=groups,
                                 max_chars=settings.quote_max_chars))
    return quotes


# ---------------------------------------------------------------------------------------
# The narrative


def percent(value: float) -> str:
    """A share as a whole percentage: 0.2349 -> '23%' (half rounds up)."""
    return f"{math.floor(value * 100 + 0.5)}%"


def points(value: float) -> str:
    """A difference of shares in percentage points: 0.052 -> '+5 points'."""
    number = math.floor(abs(value) * 100 + 0.5)
    sign = "+" if value > 0 and number else "−" if value < 0 and number else ""
    return f"{sign}{number} point{'s' if number != 1 else ''}"


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _comparison(entry: dict) -> str:
    """'above/below/close to the all-site mean of 15%' (within 2 points counts as close)."""
    mean = percent(entry["all_site_mean_share"])
    if abs(entry["difference"]) < 0.02:
        return f"close to the all-site mean of {mean}"
    return f"{'above' if entry['difference'] > 0 else 'below'} the all-site mean of {mean}"


def narrative(summary: dict, codebook: Codebook, *,
              settings: SummarySettings = SummarySettings()) -> str:
    """A plain-English paragraph built only from the summary's own numbers, worded with
    the caution machine-coded counts deserve."""
    name = summary["site"]
    sources = summary["sources"]
    counts = summary["passages"]
    kinds = [_plural(sources["by_kind"][k], k if k != "policy" else "policy text")
             for k in KINDS if sources["by_kind"][k]]
    sentences = [f"The {name} material comprises {_plural(sources['documents'], 'source')}"
                 + (f" ({_join(kinds)})" if kinds else "")
                 + f" split into {_plural(counts['total'], 'passage')}, of which "
                 f"{counts['codable']} could be coded and {counts['coded']} carry at least "
                 "one code."]
    if not counts["codable"]:
        sentences.append("With no codable passages there is nothing to compare for this site.")
        return " ".join(sentences)

    ranked = sorted((p for p in summary["code_profile"] if p["passages"]),
                    key=lambda p: (-p["passages"], p["code"]))
    if ranked:
        lead = [f"{p['label'].lower()} ({percent(p['share'])} of codable passages, "
                f"{_comparison(p)})" for p in ranked[:2]]
        sentences.append("The accounts here most often concern " + _join(lead) + ".")
        over = max(summary["code_profile"], key=lambda p: (p["difference"], p["code"]))
        under = min(summary["code_profile"], key=lambda p: (p["difference"], p["code"]))
        contrasts = []
        if over["difference"] >= 0.05:
            contrasts.append(f"the share for {over['label'].lower()} is higher "
                             f"({points(over['difference'])})")
        if under["difference"] <= -0.05:
            contrasts.append(f"{'that' if contrasts else 'the share'} for "
                             f"{under['label'].lower()} lower ({points(under['difference'])})")
        if contrasts:
            sentences.append("Compared with the all-site mean, " + _join(contrasts) + ".")

    balance = summary["balance"]
    coded = sum(balance[o] for o in ORIENTATIONS)
    if coded:
        competition, cooperation = balance["competition_share"], balance["cooperation_share"]
        sentences.append(
            f"Of the {coded} coded passages, {percent(competition)} concern competition "
            f"mechanisms only, {percent(cooperation)} cooperation only and "
            f"{percent(balance['interplay_share'])} both at once (interplay).")
        if cooperation >= 1.5 * competition and cooperation - competition >= 0.05:
            sentences.append("Cooperation therefore appears to outweigh competition in how "
                             "this site is described.")
        elif competition >= 1.5 * cooperation and competition - cooperation >= 0.05:
            sentences.append("Competition therefore appears to outweigh cooperation in how "
                             "this site is described.")
        else:
            sentences.append("Neither competition nor cooperation clearly dominates.")

    contrast = summary["actor_contrast"]
    commissioners = contrast["commissioner"]["passages"]
    providers = contrast["provider"]["passages"]
    if contrast["notable"]:
        top = contrast["notable"][0]
        label = codebook.by_id[top["code"]].label.lower()
        more, less = (("commissioners'", "providers'") if top["difference"] > 0
                      else ("providers'", "commissioners'"))
        sentences.append(
            f"Commissioner and provider accounts seem to differ most on {label}: "
            f"{percent(top['commissioner_share'])} of commissioners' codable passages "
            f"(n = {commissioners}) against {percent(top['provider_share'])} of providers' "
            f"(n = {providers}), so it features more in {more} accounts than in {less}.")
    elif not commissioners and not providers:
        sentences.append("No codable passage here is in a commissioner's or a provider's "
                         "voice, so their accounts are not compared.")
    elif min(commissioners, providers) >= settings.contrast_min_passages:
        sentences.append(f"Commissioners' ({commissioners}) and providers' ({providers}) "
                         "codable passages show no code share differing by "
                         f"{points(settings.contrast_min_difference)[1:]} or more.")
    else:
        sentences.append(f"With {commissioners} commissioner and {providers} provider codable "
                         "passages, there are too few to compare the two accounts (at least "
                         f"{settings.contrast_min_passages} each are needed).")
    reviewed = sum(n for status, n in summary["who_coded"]["passages"].items()
                   if status in ("agrees", "changed"))
    counted = (f"coded passages ({reviewed} of the {counts['codable']} codable ones with codes "
               "settled by reviewers, the rest machine-coded)" if reviewed
               else "machine-coded passages")
    sentences.append(f"These are counts of {counted}: they indicate emphasis in the sources "
                     "rather than how often each mechanism was used.")
    return " ".join(sentences)


# ---------------------------------------------------------------------------------------
# One site, all sites


def summarise_site(site: str, passages: pd.DataFrame, texts: dict[str, str],
                   codebook: Codebook, documents: Sequence[Document], *,
                   mean_shares: dict[str, float],
                   settings: SummarySettings = SummarySettings()) -> dict:
    """Everything the site summary shows, as the JSON written to sites/<site>.json; every
    quote is checked against the document text before it is returned."""
    site_passages = passages[passages["site"] == site]
    rows = _records(site_passages)
    profile = code_profile(site_passages, codebook, mean_shares)
    interplay = interplay_quotes(rows, texts, codebook, settings)
    quoted = {q["passage_id"] for q in interplay}
    salient = salient_codes(profile, settings)
    chosen = {}
    for code in reversed(salient):  # the rarest code, with the fewest passages, picks first
        chosen[code] = code_quotes(rows, texts, codebook, code, count=settings.quotes_per_code,
                                   min_count=settings.min_quotes,
                                   max_chars=settings.quote_max_chars, settings=settings,
                                   avoid=quoted)
        quoted |= {q["passage_id"] for q in chosen[code]}
    quotes = {code: chosen[code] for code in salient}
    summary = {
        "site": site,
        "sources": site_sources(site, documents, site_passages),
        "passages": {"total": len(site_passages),
                     "codable": int(site_passages["codable"].sum()),
                     "coded": int(site_passages["code_list"].map(bool).sum())},
        "who_coded": who_coded(site_passages),
        "code_profile": profile,
        "balance": orientation_balance(site_passages),
        "interplay_passages": interplay,
        "actor_contrast": actor_contrast(site_passages, codebook, settings),
        "quotes": quotes,
    }
    summary["narrative"] = narrative(summary, codebook, settings=settings)
    verify_quotes(summary_quotes(summary), texts, where=f"site '{site}'")
    return summary


def summary_quotes(summary: dict) -> list[dict]:
    """Every quote a site summary holds."""
    return [*summary["interplay_passages"], *(q for qs in summary["quotes"].values() for q in qs)]


def summarise_sites(passages: pd.DataFrame, texts: dict[str, str], codebook: Codebook,
                    documents: Sequence[Document], *,
                    settings: SummarySettings = SummarySettings()) -> dict[str, dict]:
    """site -> summary, for every site of the corpus index and the passages."""
    mean_shares = all_site_mean_shares(passages, codebook)
    return {site: summarise_site(site, passages, texts, codebook, documents,
                                 mean_shares=mean_shares, settings=settings)
            for site in all_sites(passages, documents)}


# ---------------------------------------------------------------------------------------
# Markdown

MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]|~])")
MARKDOWN_LINE_START = re.compile(r"^(\s*)([#>+=-]|(\d+)([.)]))", re.MULTILINE)


def markdown_text(text: str) -> str:
    """Document text made inert in Markdown: HTML special characters as entities (so a
    `<script>` in a document stays text), Markdown punctuation and line-opening block
    markers backslash-escaped. Newlines are kept; see `markdown_cell` for table cells."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = MARKDOWN_INLINE.sub(r"\\\1", text)
    return MARKDOWN_LINE_START.sub(
        lambda m: m.group(1) + (f"{m.group(3)}\\{m.group(4)}" if m.group(3)
                                else "\\" + m.group(2)), text)


def markdown_cell(text: str) -> str:
    """Text for one Markdown table cell: escaped, pipes escaped, line breaks as <br>."""
    return "<br>".join(markdown_text(line) for line in text.strip().splitlines()) or " "


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]],
                   align: Sequence[str] | None = None) -> list[str]:
    """A table; cells must already be Markdown (use `markdown_cell` for any text)."""
    align = align or ["---"] * len(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def reference_line(quote: dict) -> str:
    """`— HBS-INT-01, commissioner, p. 2, passage `HBS-INT-01:3fa2b9c1d0` [123–456],
    reviewed by alice` (or `, machine`)."""
    parts = [markdown_text(quote["doc_id"]), markdown_text(voice(quote["actor"],
                                                                 quote["speaker_role"]))]
    if quote["kind"] != "interview":
        parts[1] += f" {markdown_text(quote['kind'])}"
    if quote["page"] is not None:
        parts.append(f"p. {quote['page']}")
    parts.append(f"passage `{quote['passage_id']}` [{quote['start']}–{quote['end']}]")
    parts.append(markdown_text(coded_by_text(quote)))
    return "— " + ", ".join(parts)


def markdown_quote(quote: dict) -> list[str]:
    """The quote as a blockquote, verbatim (escaped), then its reference line."""
    lines = [f"> {line}".rstrip() if line.strip() else ">"
             for line in markdown_text(quote["text"]).split("\n")]
    return [*lines, "", reference_line(quote), ""]


def _label(codebook: Codebook, code: str) -> str:
    return f"{markdown_text(codebook.by_id[code].label)} (`{code}`)"


def site_markdown(summary: dict, codebook: Codebook, *, site_count: int) -> str:
    """sites/<site>.md: the summary for reading, built only from the JSON's contents."""
    site = summary["site"]
    sources = summary["sources"]
    counts = summary["passages"]
    out = [f"# Site summary: {markdown_text(site)}", "", markdown_text(summary["narrative"]), ""]

    out += ["## Sources", "",
            f"{_plural(sources['documents'], 'source')}: "
            + ", ".join(_plural(sources["by_kind"][k], k if k != "policy" else "policy text")
                        for k in KINDS)
            + f"; {counts['total']} passages, {counts['codable']} codable, "
            f"{counts['coded']} with at least one code.", ""]
    if sources["by_actor"]:
        out += markdown_table(["actor", *KINDS],
                              ([markdown_cell(a), *(str(n[k]) for k in KINDS)]
                               for a, n in sources["by_actor"].items()),
                              ["---", *["---:"] * len(KINDS)])
        out.append("")
    if sources["docs"]:
        out += markdown_table(
            ["document", "kind", "actor", "date", "title", "passages", "coded"],
            ([markdown_cell(d["doc_id"]), d["kind"], markdown_cell(d["actor"]),
              markdown_cell(d["date"]), markdown_cell(d["title"]), str(d["passages"]),
              str(d["coded"])] for d in sources["docs"]),
            ["---", "---", "---", "---", "---", "---:", "---:"])
        out.append("")

    who = summary["who_coded"]
    out += ["## Who coded", "",
            ("The site's codable passages by who decided their codes: reviewers' decisions "
             "override the machine's."), ""]
    out += markdown_table(
        ["coded by", "passages"],
        [["machine (not reviewed)", str(who["passages"][MACHINE])],
         ["reviewers, agreeing with the machine", str(who["passages"]["agrees"])],
         ["reviewers, changing the machine's codes", str(who["passages"]["changed"])],
         ["machine (reviewers disagree with each other)", str(who["passages"]["conflict"])]],
        ["---", "---:"])
    out.append("")
    if who["reviewers"]:
        out += ["Reviewers: " + ", ".join(markdown_text(r) for r in who["reviewers"]) + ".", ""]

    out += ["## Code profile", "",
            (f"Share = passages carrying the code ÷ the site's {counts['codable']} codable "
            f"passages. All-site mean = the unweighted mean of that share over the {site_count} "
            "sites with codable passages; difference in percentage points."), ""]
    out += markdown_table(
        ["code", "family", "passages", "share", "all-site mean", "difference"],
        ([_label(codebook, p["code"]), markdown_cell(p["family"]), str(p["passages"]),
          percent(p["share"]), percent(p["all_site_mean_share"]), points(p["difference"])]
         for p in summary["code_profile"]),
        ["---", "---", "---:", "---:", "---:", "---:"])
    out.append("")

    balance = summary["balance"]
    coded = sum(balance[o] for o in ORIENTATIONS)
    out += ["## Competition and cooperation", "",
            ("Orientation of the coded passages: competition or cooperation codes only, both "
            "(interplay), or only rules and contract-design codes (context)."), ""]
    out += markdown_table(
        ["orientation", "passages", "share of coded"],
        [[o, str(balance[o]), percent(share(balance[o], coded))] for o in ORIENTATIONS]
        + [["codable, no code", str(balance["empty"]), ""]],
        ["---", "---:", "---:"])
    out.append("")

    out += ["## Where competition and cooperation interplay", ""]
    if summary["interplay_passages"]:
        out += [(f"{balance['interplay']} passages carry codes of both families; the clearest "
                "(ranked by the weaker of their competition and cooperation scores):"), ""]
        for quote in summary["interplay_passages"]:
            out += markdown_quote(quote)
    else:
        out += ["No passage here carries codes of both families.", ""]

    contrast = summary["actor_contrast"]
    out += ["## Commissioners and providers", "",
            (f"Codable passages in commissioners' voices: {contrast['commissioner']['passages']}; "
            f"in providers': {contrast['provider']['passages']}. In interviews the voice is "
            "the speaker's role, in documents the document's actor."), ""]
    if min(contrast[w]["passages"] for w in CONTRASTED_VOICES):
        out += markdown_table(
            ["code", "commissioners", "providers", "difference"],
            ([_label(codebook, c), percent(contrast["commissioner"]["shares"][c]),
              percent(contrast["provider"]["shares"][c]),
              points(contrast["commissioner"]["shares"][c] - contrast["provider"]["shares"][c])]
             for c in codebook.ids),
            ["---", "---:", "---:", "---:"])
        out.append("")
    if contrast["notable"]:
        out.append("Largest differences (commissioners minus providers):")
        out.append("")
        out += [f"- {_label(codebook, n['code'])}: {percent(n['commissioner_share'])} vs "
                f"{percent(n['provider_share'])} ({points(n['difference'])})"
                for n in contrast["notable"]]
        out.append("")

    out += ["## Quotes by code", "",
            ("Codes carried by enough of this site's passages to be salient; quotes chosen "
            "for confidence (coder score) and diversity (one per document, different voices "
            "preferred). Offsets are character positions in `outputs/text/<doc_id>.txt`; each "
            "reference ends with who coded the passage."), ""]
    if not summary["quotes"]:
        out += ["No code is salient here.", ""]
    profile = {p["code"]: p for p in summary["code_profile"]}
    for code, quotes in summary["quotes"].items():
        out += [f"### {_label(codebook, code)}", "",
                (f"{_plural(profile[code]['passages'], 'passage')}, "
                f"{percent(profile[code]['share'])} of codable passages."), ""]
        for quote in quotes:
            out += markdown_quote(quote)
    return "\n".join(out).rstrip("\n") + "\n"


def index_markdown(summaries: dict[str, dict], codebook: Codebook,
                   stems: dict[str, str]) -> str:
    """sites/index.md: every site in one table (code shares and orientation balance)."""
    out = ["# Sites compared", "",
           ("Each code column: share of the site's codable passages carrying the code. "
           "Orientation columns: share of the site's coded passages that are competition "
           "only, cooperation only, both (interplay), or only rules and contract design "
           "(context). The last row is the unweighted all-site mean."), ""]
    header = ["site", "sources", "codable", "coded", *(f"`{c}`" for c in codebook.ids),
              *ORIENTATIONS]
    rows = []
    for site, summary in summaries.items():
        profile = {p["code"]: p for p in summary["code_profile"]}
        balance = summary["balance"]
        rows.append([f"[{markdown_text(site)}]({stems[site]}.md)",
                     str(summary["sources"]["documents"]), str(summary["passages"]["codable"]),
                     str(summary["passages"]["coded"]),
                     *(percent(profile[c]["share"]) for c in codebook.ids),
                     *(percent(share(balance[o], summary["passages"]["coded"]))
                       for o in ORIENTATIONS)])
    first = next(iter(summaries.values()), None)
    if first:
        means = {p["code"]: p["all_site_mean_share"] for p in first["code_profile"]}
        rows.append(["*all-site mean*", "", "", "", *(percent(means[c]) for c in codebook.ids),
                     *[""] * len(ORIENTATIONS)])
    out += markdown_table(header, rows, ["---", *["---:"] * (len(header) - 1)])
    out += ["", "Codes:", ""]
    out += [f"- `{c.id}`: {markdown_text(c.label)} ({markdown_text(c.family)})"
            for c in codebook.codes]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------
# The framework matrix


def cell_quote_text(quote: dict, texts: dict[str, str], passage: dict) -> str:
    """`“… text …” (HBS-INT-01:3fa2b9c1d0 [123–456], commissioner, p. 2, machine)`: the
    quoted characters are exactly the document's text at [start–end]; an ellipsis stands
    for passage text left out before or after them; the last part says who coded it
    (`reviewed by alice` when a reviewer's decision gave the codes)."""
    text = texts[quote["doc_id"]]
    before = f"{ELLIPSIS} " if text[passage["start"]:quote["start"]].strip() else ""
    after = f" {ELLIPSIS}" if text[quote["end"]:passage["end"]].strip() else ""
    where = [f"{quote['passage_id']} [{quote['start']}–{quote['end']}]",
             voice(quote["actor"], quote["speaker_role"])]
    if quote["page"] is not None:
        where.append(f"p. {quote['page']}")
    where.append(coded_by_text(quote))
    return f"“{before}{quote['text']}{after}” ({', '.join(where)})"


def cell_quotes(rows: Sequence[dict], texts: dict[str, str], codebook: Codebook, code: str, *,
                count: int, settings: SummarySettings, avoid: Collection[str] = ()
                ) -> list[tuple[dict, dict]]:
    """(quote, passage) pairs for a matrix cell: the best sentences of the best diverse
    passages, clipped to `cell_quote_max_chars` at a word boundary when still too long."""
    by_id = {r["passage_id"]: r for r in rows}
    quotes = code_quotes(rows, texts, codebook, code, count=count, min_count=count,
                         max_chars=settings.cell_quote_max_chars, settings=settings,
                         avoid=avoid)
    pairs = []
    for quote in quotes:
        start, end = clip_span(texts[quote["doc_id"]], quote["start"], quote["end"],
                               settings.cell_quote_max_chars)
        clipped = dict(quote, end=end, text=texts[quote["doc_id"]][start:end])
        pairs.append((clipped, by_id[quote["passage_id"]]))
    verify_quotes([q for q, _ in pairs], texts, where=f"matrix cell for {code}")
    return pairs


def matrix_row(rows: Sequence[dict], texts: dict[str, str], codebook: Codebook, *,
               count: int, settings: SummarySettings) -> dict[str, str]:
    """One row of Framework Method cells (header -> text): `n passages (x% of codable)`
    then the quotes. A passage quoted in one cell of the row is quoted in another only if
    that cell has nothing else; the rarest codes choose first."""
    codable = sum(1 for r in rows if r["codable"])
    carrying = {c: sum(1 for r in rows if c in r["code_list"]) for c in codebook.ids}
    quoted: set[str] = set()
    cells = {}
    for code in sorted(codebook.ids, key=lambda c: (carrying[c], c)):
        if not carrying[code]:
            cells[code] = "0 passages"
            continue
        lines = [(f"{_plural(carrying[code], 'passage')} "
                 f"({percent(share(carrying[code], codable))} of codable)")]
        for quote, passage in cell_quotes(rows, texts, codebook, code, count=count,
                                          settings=settings, avoid=quoted):
            lines.append(cell_quote_text(quote, texts, passage))
            quoted.add(quote["passage_id"])
        cells[code] = "\n\n".join(lines)
    return {code_header(codebook, c): cells[c] for c in codebook.ids}


def code_header(codebook: Codebook, code: str) -> str:
    return f"{codebook.by_id[code].label} [{code}]"


def framework_tables(passages: pd.DataFrame, texts: dict[str, str], codebook: Codebook,
                     documents: Sequence[Document], *,
                     settings: SummarySettings = SummarySettings()
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The matrix as two tables of text: sites x codes and documents x codes. The table
    becomes records once and is grouped in Python: a DataFrame's to_dict per document
    took a second at 200 documents."""
    import pandas as pd

    by_site: dict[str, list[dict]] = defaultdict(list)
    by_document: dict[str, list[dict]] = defaultdict(list)
    for record in _records(passages):
        by_site[record["site"]].append(record)
        by_document[record["doc_id"]].append(record)
    site_rows = []
    for site in all_sites(passages, documents):
        group = by_site.get(site, [])
        site_rows.append({
            "site": site,
            "sources": len({d.doc_id for d in documents if d.site == site}
                           | {r["doc_id"] for r in group}),
            "codable passages": sum(1 for r in group if r["codable"]),
            **matrix_row(group, texts, codebook, count=settings.cell_quotes,
                         settings=settings)})
    known = {d.doc_id: d for d in documents}
    doc_rows = []
    for doc_id in sorted(set(known) | set(by_document)):
        group = by_document.get(doc_id, [])
        document = known.get(doc_id)
        first = group[0] if group else None
        doc_rows.append({
            "doc_id": doc_id,
            "site": document.site if document else first["site"],
            "kind": document.kind if document else first["kind"],
            "actor": document.actor if document else first["actor"],
            "date": document.date if document else "",
            "title": document.title if document else "",
            "passages": len(group), "codable passages": sum(1 for r in group if r["codable"]),
            **matrix_row(group, texts, codebook,
                         count=settings.document_cell_quotes, settings=settings)})
    return pd.DataFrame(site_rows), pd.DataFrame(doc_rows)


def spreadsheet_cell(value: Any) -> Any:
    """A matrix cell as both matrix files hold it, so they stay cell-for-cell equal.

    Sites, titles and quotes come from documents, and a spreadsheet runs a cell that opens
    with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula when it opens the CSV
    (CSV formula injection). Such text gets a leading apostrophe, the spreadsheet
    convention for "this is text", and stays visibly the document's text after it.
    Control characters Excel cannot store are shown as U+FFFD."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return "'" + value if value.startswith(FORMULA_OPENERS) else value


def _text_colour(hex_colour: str) -> str:
    red, green, blue = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return "000000" if 0.299 * red + 0.587 * green + 0.114 * blue > 150 else "FFFFFF"


def _fill_sheet(sheet, table: pd.DataFrame, codebook: Codebook, *,
                widths: dict[str, float], code_width: float) -> None:
    """Cells as `spreadsheet_cell` makes them, every text cell typed as text (never a
    formula or an error value such as `#N/A`); header bold (code columns in their code
    colour), text wrapped and top-aligned, header row and first column frozen, widths set,
    row heights estimated (Excel does not grow rows for wrapped text written by other
    programs)."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    headers = {code_header(codebook, c): c for c in codebook.ids}
    wrap = Alignment(wrap_text=True, vertical="top")
    sheet.append([spreadsheet_cell(name) for name in table.columns])
    for row in table.itertuples(index=False):
        sheet.append([spreadsheet_cell(v) for v in row])
    column_widths = []
    for number, name in enumerate(table.columns, start=1):
        width = code_width if name in headers else widths.get(name, 14)
        column_widths.append(width)
        sheet.column_dimensions[get_column_letter(number)].width = width
        header = sheet.cell(row=1, column=number)
        header.alignment = wrap
        if name in headers:
            colour = codebook.by_id[headers[name]].colour.lstrip("#").upper()
            header.fill = PatternFill("solid", start_color=colour, end_color=colour)
            header.font = Font(bold=True, color=_text_colour("#" + colour))
        else:
            header.font = Font(bold=True)
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    for row in sheet.iter_rows(min_row=2):
        lines = 1
        for cell, width in zip(row, column_widths):
            cell.alignment = wrap
            text = "" if cell.value is None else str(cell.value)
            chars = max(int(width * 1.1), 1)
            lines = max(lines, sum(max(1, math.ceil(len(line) / chars))
                                   for line in text.split("\n")))
        sheet.row_dimensions[row[0].row].height = min(409, 15 * lines)
    sheet.row_dimensions[1].height = 45
    sheet.freeze_panes = "B2"


def write_matrix_xlsx(sites: pd.DataFrame, documents: pd.DataFrame, codebook: Codebook,
                      path: str | Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = MATRIX_SHEETS[0]
    _fill_sheet(sheet, sites, codebook, code_width=48,
                widths={"site": 18, "sources": 9, "codable passages": 10})
    _fill_sheet(book.create_sheet(MATRIX_SHEETS[1]), documents, codebook, code_width=40,
                widths={"doc_id": 14, "site": 14, "kind": 10, "actor": 14, "date": 11,
                        "title": 36, "passages": 9, "codable passages": 10})
    with atomic_open(path, "wb") as handle:
        book.save(handle)


def write_matrix_csv(sites: pd.DataFrame, path: str | Path) -> None:
    """The `sites` sheet as CSV, header and cells as `spreadsheet_cell` makes them (text a
    spreadsheet would run as a formula gets a leading apostrophe), so it equals the xlsx."""
    with atomic_open(path) as handle:
        sites.rename(columns=spreadsheet_cell).map(spreadsheet_cell).to_csv(
            handle, index=False, lineterminator="\n")


# ---------------------------------------------------------------------------------------
# Files in, files out (the workflow's edges)


def read_texts(text_files: Iterable[str | Path]) -> dict[str, str]:
    """doc_id -> the exact extracted text (outputs/text/<doc_id>.txt)."""
    texts = {}
    for path in text_files:
        with open(path, encoding="utf-8", newline="") as handle:
            texts[Path(path).stem] = handle.read()
    return texts


def load_inputs(coded_csv: str | Path, codebook_path: str | Path, corpus_dir: str | Path,
                text_files: Iterable[str | Path]
                ) -> tuple[pd.DataFrame, dict[str, str], Codebook, list[Document]]:
    import pandas as pd

    codebook = load_codebook(codebook_path)
    table = pd.read_csv(coded_csv, dtype=str, keep_default_na=False, encoding="utf-8")
    passages = prepare_passages(table, codebook)
    return passages, read_texts(text_files), codebook, read_corpus(corpus_dir).documents


def write_site_summaries(coded_csv: str | Path, codebook_path: str | Path,
                         corpus_dir: str | Path, text_files: Iterable[str | Path],
                         out_dir: str | Path, *,
                         settings: SummarySettings = SummarySettings()) -> list[str]:
    """sites/<site>.json and .md for every site, and sites/index.md; returns the sites."""
    passages, texts, codebook, documents = load_inputs(coded_csv, codebook_path, corpus_dir,
                                                       text_files)
    summaries = summarise_sites(passages, texts, codebook, documents, settings=settings)
    stems = site_file_stems(summaries)
    compared = len(site_shares(passages, codebook))
    out = Path(out_dir)
    for site, summary in summaries.items():
        write_json(out / f"{stems[site]}.json", summary)
        write_text(out / f"{stems[site]}.md", site_markdown(summary, codebook,
                                                            site_count=compared))
    write_text(out / f"{SITE_INDEX_STEM}.md", index_markdown(summaries, codebook, stems))
    return list(summaries)


def write_framework_matrix(coded_csv: str | Path, codebook_path: str | Path,
                           corpus_dir: str | Path, text_files: Iterable[str | Path],
                           xlsx_path: str | Path, csv_path: str | Path, *,
                           settings: SummarySettings = SummarySettings()) -> tuple[int, int]:
    """framework_matrix.xlsx (sheets `sites` and `documents`) and framework_matrix.csv (the
    `sites` sheet, same columns and cell text); returns (sites, documents). Cell text that
    opens with =, +, -, @, a tab or a carriage return gets a leading apostrophe in both
    files (CSV formula injection; see `spreadsheet_cell`)."""
    passages, texts, codebook, documents = load_inputs(coded_csv, codebook_path, corpus_dir,
                                                       text_files)
    sites, docs = framework_tables(passages, texts, codebook, documents, settings=settings)
    write_matrix_xlsx(sites, docs, codebook, xlsx_path)
    write_matrix_csv(sites, csv_path)
    return len(sites), len(docs)
