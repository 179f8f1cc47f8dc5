"""The rule layer: codebook phrases and token patterns as spaCy matchers.

Every match is evidence: the code, the matched words and their character offsets in the
passage. Evidence is shown to reviewers and feeds the classifier; it is not the decision.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import spacy
from spacy.language import Language
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


@Language.factory("case_insensitive_lemmas")
class CaseInsensitiveLemmas:
    """The lookup table is keyed by lower-case words, so 'Tenders' at the start of a sentence
    would keep itself as lemma; look such words up in lower case."""

    def __init__(self, nlp: Language, name: str):
        self.nlp = nlp

    def __call__(self, doc: Doc) -> Doc:
        table = self.nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
        for token in doc:
            if not token.is_lower and token.lemma_ == token.text:
                token.lemma_ = table.get(token.lower_, token.lower_)
        return doc


@per_thread
def english() -> Language:
    """Blank English with the lookup lemmatizer (tables from spacy-lookups-data; no download)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.add_pipe("case_insensitive_lemmas")
    nlp.initialize()
    return nlp


ANCHOR_ATTRS = {"LOWER": "lower_", "LEMMA": "lemma_", "ORTH": "text", "TEXT": "text"}


def _anchors(pattern: list[dict]) -> list[tuple[str, frozenset[str]]]:
    """Words a pattern cannot match without: (token attribute, allowed values) of each
    mandatory token constrained by an exact value or an IN list."""
    anchors = []
    for token in pattern:
        if token.get("OP") in ("?", "*", "!") or str(token.get("OP", "")).startswith("{0"):
            continue
        for attr, value in token.items():
            if attr not in ANCHOR_ATTRS:
                continue
            if isinstance(value, str):
                anchors.append((ANCHOR_ATTRS[attr], frozenset([value])))
            elif isinstance(value, dict) and set(value) == {"IN"}:
                anchors.append((ANCHOR_ATTRS[attr], frozenset(value["IN"])))
    return anchors


class RuleMatcher:
    """Finds codebook evidence in passages.

    spaCy's Matcher pays for every pattern at every token, so each pattern gets its own
    matcher and runs only on passages that contain all of its anchor words: the same
    matches, many times faster on a codebook with hundreds of patterns.
    """

    def __init__(self, codebook: Codebook):
        self.codebook = codebook
        self.nlp = english()
        self.phrases = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self.patterns: list[tuple[list[tuple[str, frozenset[str]]], Matcher]] = []
        for code in codebook.codes:
            if code.phrases:
                self.phrases.add(code.id, list(self.nlp.tokenizer.pipe(code.phrases)))
            for pattern in code.patterns:
                matcher = Matcher(self.nlp.vocab, validate=True)
                matcher.add(code.id, [pattern])
                self.patterns.append((_anchors(pattern), matcher))
        # Index each pattern under the values of its most selective anchor.
        self._unanchored: list[int] = []
        self._by_value: dict[tuple[str, str], list[int]] = {}
        for number, (anchors, _) in enumerate(self.patterns):
            if not anchors:
                self._unanchored.append(number)
                continue
            attr, allowed = min(anchors, key=lambda a: len(a[1]))
            for value in allowed:
                self._by_value.setdefault((attr, value), []).append(number)

    def _pattern_matches(self, doc: Doc) -> list[tuple[int, int, int]]:
        values = {attr: {getattr(t, attr) for t in doc} for attr in set(ANCHOR_ATTRS.values())}
        candidates = set(self._unanchored)
        for attr, present in values.items():
            for value in present:
                candidates.update(self._by_value.get((attr, value), ()))
        matches = []
        for number in sorted(candidates):
            anchors, matcher = self.patterns[number]
            if all(not allowed.isdisjoint(values[attr]) for attr, allowed in anchors):
                matches.extend(matcher(doc))
        return matches

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
