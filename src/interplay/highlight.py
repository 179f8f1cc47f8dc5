"""Evidence highlighting: a passage cut into runs of text, each run knowing which codes'
evidence covers it.

The coder keeps two kinds of evidence per code (see `coder.PassageCoder.code`): rule
matches with character offsets in the passage, and the classifier's strongest terms,
which are lemmas or lemma pairs ("tender", "integrate care") rather than positions.
Rule matches are placed by their offsets. Terms are found again by lemmatising the
passage with the same spaCy pipeline the coder used, so "tendering" and "tenders" light up
for the term "tender", exactly as the classifier saw them.

The output is plain data (text runs and code IDs); the HTML templates escape each run on
its own, so no document text is ever spliced into markup.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

from spacy.attrs import IDX, LEMMA, ORTH
from spacy.tokens import Doc

from interplay.coder import NOT_A_WORD
from interplay.rules import english

# scikit-learn's default token pattern: how the classifier split lemmas into its terms.
TERM_TOKEN = re.compile(r"(?u)\b\w\w+\b")
WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Run:
    """A stretch of passage text and the codes whose rule matches or terms cover it."""

    text: str
    rule_codes: tuple[str, ...] = ()
    term_codes: tuple[str, ...] = ()

    @property
    def highlighted(self) -> bool:
        return bool(self.rule_codes or self.term_codes)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    code: str
    kind: str  # "rule" or "term"


def rule_spans(text: str, evidence: Mapping[str, Mapping]) -> list[Span]:
    """Rule matches placed by their offsets; a match whose offsets do not hold the matched
    words (evidence from another version of the passage) is left out rather than shown in
    the wrong place."""
    spans = []
    for code, detail in evidence.items():
        for match in detail.get("rules", []):
            start, end = int(match["start"]), int(match["end"])
            if 0 <= start < end <= len(text) and text[start:end] == match["text"]:
                spans.append(Span(start, end, code, "rule"))
    return spans


def _term_words(doc: Doc) -> list[tuple[str, int, int]]:
    """The classifier's token stream for this passage, each word with the character span
    it came from: the whole token ("tendering" for the lemma "tender"), or, when the token
    is more than one plain word ("alert(1)</script"), the place of the word in it."""
    words = []
    strings = doc.vocab.strings
    for lemma, orth, idx, *not_a_word in doc.to_array([LEMMA, ORTH, IDX, *NOT_A_WORD]).tolist():
        lemma_string = strings[lemma]
        if any(not_a_word) or not lemma_string:
            continue  # punctuation, spaces, numbers: not in the classifier's text (lemma_text)
        text = strings[orth]
        parts = TERM_TOKEN.findall(lemma_string.lower())
        lowered, cursor = text.lower(), 0
        narrow = len(parts) > 1 or not WORD.fullmatch(text)
        for word in parts:
            found = lowered.find(word, cursor) if narrow else -1
            if found < 0:
                words.append((word, idx, idx + len(text)))
            else:
                words.append((word, idx + found, idx + found + len(word)))
                cursor = found + len(word)
    return words


def term_spans(text: str, evidence: Mapping[str, Mapping], *, doc: Doc | None = None
               ) -> list[Span]:
    """Where each code's strongest terms (single lemmas or lemma pairs) occur."""
    wanted = {(code, term) for code, detail in evidence.items() for term in detail.get("terms", [])}
    if not wanted:
        return []
    words = _term_words(doc if doc is not None else english()(text))
    starts: dict[str, list[int]] = {}
    for i, (word, _, _) in enumerate(words):
        starts.setdefault(word, []).append(i)
    spans = []
    for code, term in sorted(wanted):
        parts = term.split()
        width = len(parts)
        for i in starts.get(parts[0], []):
            window = words[i: i + width]
            if len(window) == width and [w for w, _, _ in window] == parts:
                spans.append(Span(window[0][1], window[-1][2], code, "term"))
    return spans


def runs(text: str, spans: list[Span], *, code_order: list[str] | None = None) -> list[Run]:
    """Cut `text` at every span boundary; each run lists the codes covering it, in
    codebook order (so a run's first code, which picks its colour, is stable)."""
    order = {code: i for i, code in enumerate(code_order or [])}

    def ordered(codes: set[str]) -> tuple[str, ...]:
        return tuple(sorted(codes, key=lambda c: (order.get(c, len(order)), c)))

    cuts = sorted({0, len(text), *(s.start for s in spans), *(s.end for s in spans)})
    result: list[Run] = []
    for start, end in pairwise(cuts):
        covering = [s for s in spans if s.start <= start and end <= s.end]
        run = Run(text[start:end],
                  ordered({s.code for s in covering if s.kind == "rule"}),
                  ordered({s.code for s in covering if s.kind == "term"}))
        previous = result[-1] if result else None
        if previous and (previous.rule_codes, previous.term_codes) == (run.rule_codes,
                                                                       run.term_codes):
            result[-1] = Run(previous.text + run.text, run.rule_codes, run.term_codes)
        else:
            result.append(run)
    return result or [Run(text)]


def highlight(text: str, evidence: Mapping[str, Mapping], *,
              code_order: list[str] | None = None) -> list[Run]:
    """A passage as runs, with its rule matches and strongest terms marked."""
    return runs(text, rule_spans(text, evidence) + term_spans(text, evidence),
                code_order=code_order)
