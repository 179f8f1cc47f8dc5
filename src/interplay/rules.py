"""The rule layer: codebook phrases and token patterns as spaCy matchers.

Every match is evidence: the code, the matched words and their character offsets in the
passage. Evidence is shown to reviewers and feeds the classifier; it is not the decision.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy
import spacy
from spacy.attrs import LEMMA, ORTH
from spacy.language import Language
from spacy.lookups import load_lookups
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from interplay.codebook import Codebook
from interplay.threadcache import per_thread


@dataclass(frozen=True)
class Evidence:
    code: str
    text: str
    start: int  # character offsets within the passage
    end: int


@Language.factory("lookup_lemmas")
class LookupLemmas:
    """spaCy's lookup lemmatizer (tables from spacy-lookups-data), except that a word the
    table lacks in its own case is looked up in lower case: the table is keyed by
    lower-case words, so 'Tenders' at the start of a sentence would otherwise keep itself
    as lemma. A word's lemma depends on nothing but the word, so it is worked out once per
    distinct word and set on the whole Doc at once, with no Python Token object per token
    (token by token, lemmatising took a quarter of the time it takes to code a passage)."""

    def __init__(self, nlp: Language, name: str):
        self.strings = nlp.vocab.strings
        self.table = load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
        self.lemma_of: dict[int, int] = {}  # word hash -> lemma hash

    def _lemma(self, orth: int) -> int:
        text = self.strings[orth]
        lemma = self.table.get(text, text)
        if lemma == text and not text.islower():
            lemma = self.table.get(text.lower(), text.lower())
        self.lemma_of[orth] = self.strings.add(lemma)
        return self.lemma_of[orth]

    def __call__(self, doc: Doc) -> Doc:
        lemma_of, lemma = self.lemma_of, self._lemma
        words = doc.to_array(ORTH).tolist()
        lemmas = numpy.array([lemma_of.get(w) or lemma(w) for w in words], dtype=numpy.uint64)
        doc.from_array([LEMMA], lemmas.reshape(-1, 1))
        return doc


@per_thread
def english() -> Language:
    """Blank English with lookup lemmas (from spacy-lookups-data; no download)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lookup_lemmas")
    return nlp


ANCHOR_ATTRS = {"LOWER": "LOWER", "LEMMA": "LEMMA", "ORTH": "ORTH", "TEXT": "ORTH"}
COLUMNS = sorted(set(ANCHOR_ATTRS.values()))  # Doc.to_array columns the anchors look at
REPEAT = re.compile(r"^\{(\d*)(?:(,)(\d*))?\}$")  # {n}, {n,m}, {,m}, {n,}


def _anchors(pattern: list[dict]) -> list[tuple[str, frozenset[str]]]:
    """Words a pattern cannot match without: (token attribute, allowed values) of each
    mandatory token constrained by an exact value or an IN list."""
    anchors = []
    for token in pattern:
        op = str(token.get("OP", ""))
        repeat = REPEAT.match(op)
        if op in ("?", "*", "!") or (repeat and int(repeat[1] or 0) == 0):
            continue  # the token may be absent from a match
        for attr, value in token.items():
            if attr not in ANCHOR_ATTRS:
                continue
            if isinstance(value, str):
                anchors.append((ANCHOR_ATTRS[attr], frozenset([value])))
            elif isinstance(value, dict) and set(value) == {"IN"}:
                anchors.append((ANCHOR_ATTRS[attr], frozenset(value["IN"])))
    return anchors


def _windows(column: list, allowed: frozenset, longest: int
             ) -> list[tuple[int, int]]:
    """Token ranges around each position whose value is in `allowed`, reaching `longest`
    - 1 tokens either side, merged where they overlap."""
    windows: list[tuple[int, int]] = []
    for position, value in enumerate(column):
        if value not in allowed:
            continue
        begin, end = max(0, position - longest + 1), min(len(column), position + longest)
        if windows and begin < windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((begin, end))
    return windows


CONTEXT_KEYS = frozenset({"IS_SENT_START", "SENT_START"})  # depend on tokens outside a match


def _longest_match(pattern: list[dict]) -> int | None:
    """The most tokens a match of `pattern` can span; None when unbounded (`*`, `+`,
    `{n,}`) or when a token looks beyond the match (`!` or a sentence-start test), so
    the pattern must see the whole passage."""
    longest = 0
    for token in pattern:
        op = str(token.get("OP", ""))
        if op in ("*", "+", "!") or CONTEXT_KEYS & set(token):
            return None
        repeat = REPEAT.match(op)
        if repeat is None:
            longest += 1
        elif repeat[2] and not repeat[3]:
            return None
        else:
            longest += int(repeat[3] or repeat[1])
    return longest


class RuleMatcher:
    """Finds codebook evidence in passages.

    spaCy's Matcher pays for every pattern at every token, so each pattern gets its own
    matcher and runs only on passages that contain all of its anchor words, and there
    only around each occurrence of its most selective anchor: a match holds the anchor
    and spans at most as many tokens as the pattern can, so the window of that many
    tokens either side holds every match there is. The same matches as one Matcher over
    the whole passage, many times faster on a codebook with hundreds of patterns.
    """

    def __init__(self, codebook: Codebook):
        self.codebook = codebook
        self.nlp = english()
        self.phrases = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        # Per pattern: its anchors as (column, allowed string hashes), most selective (fewest
        # allowed values) first, its longest match, and its matcher.
        self.patterns: list[tuple[list[tuple[str, frozenset[int]]], int | None, Matcher]] = []
        for code in codebook.codes:
            if code.phrases:
                self.phrases.add(code.id, list(self.nlp.tokenizer.pipe(code.phrases)))
            for pattern in code.patterns:
                matcher = Matcher(self.nlp.vocab, validate=True)
                matcher.add(code.id, [pattern])
                anchors = sorted(((attr, frozenset(self.nlp.vocab.strings.add(v)
                                                   for v in allowed))
                                  for attr, allowed in _anchors(pattern)),
                                 key=lambda anchor: len(anchor[1]))
                self.patterns.append((anchors, _longest_match(pattern), matcher))
        # Index each pattern under the values of its most selective anchor.
        self._unanchored: list[int] = []
        self._by_value: dict[tuple[str, int], list[int]] = {}
        for number, (anchors, _, _) in enumerate(self.patterns):
            if not anchors:
                self._unanchored.append(number)
                continue
            attr, allowed = anchors[0]
            for value in allowed:
                self._by_value.setdefault((attr, value), []).append(number)

    def _pattern_matches(self, doc: Doc) -> list[tuple[int, int, int]]:
        # Token attributes as string hashes, straight from the Doc's arrays (anchors are
        # stored as hashes too): no Python Token object per token.
        array = doc.to_array(COLUMNS).reshape(len(doc), len(COLUMNS))
        columns = {attr: array[:, i].tolist() for i, attr in enumerate(COLUMNS)}
        values = {attr: set(column) for attr, column in columns.items()}
        candidates = set(self._unanchored)
        for attr, present in values.items():
            for value in present:
                candidates.update(self._by_value.get((attr, value), ()))
        matches = set()
        for number in sorted(candidates):
            anchors, longest, matcher = self.patterns[number]
            if not all(not allowed.isdisjoint(values[attr]) for attr, allowed in anchors):
                continue
            if longest is None or not anchors:
                matches.update(matcher(doc))
                continue
            attr, allowed = anchors[0]
            for begin, end in _windows(columns[attr], allowed, longest):
                matches.update((key, begin + start, begin + stop)
                               for key, start, stop in matcher(doc[begin:end]))
        return sorted(matches)

    def docs(self, texts: Iterable[str]) -> Iterable[Doc]:
        return self.nlp.pipe(texts, batch_size=256)

    def evidence(self, doc: Doc) -> list[Evidence]:
        """Matches in one passage, longest first where they overlap within a code."""
        found: dict[tuple[str, int, int], Evidence] = {}
        for match_id, start, end in [*self.phrases(doc), *self._pattern_matches(doc)]:
            span = doc[start:end]
            code = self.nlp.vocab.strings[match_id]
            found[(code, span.start_char, span.end_char)] = Evidence(
                code, span.text, span.start_char, span.end_char)
        kept: list[Evidence] = []
        for item in sorted(found.values(), key=lambda e: (e.code, e.start, -(e.end - e.start))):
            if kept and kept[-1].code == item.code and item.start < kept[-1].end:
                continue  # inside a longer match for the same code
            kept.append(item)
        return sorted(kept, key=lambda e: (e.start, e.code))
