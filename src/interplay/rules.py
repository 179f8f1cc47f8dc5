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
from scipy import sparse
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


def _positions(found: sparse.csc_matrix, anchor: int) -> numpy.ndarray:
    """The tokens where an anchor occurs, in order: its column of RuleMatcher._occurrences."""
    return found.indices[found.indptr[anchor]:found.indptr[anchor + 1]]


class RuleMatcher:
    """Finds codebook evidence in passages.

    spaCy's Matcher pays for every pattern at every token (a Python call per token for
    each IN list), so each pattern gets its own matcher and runs only where it could
    match. A match holds all of the pattern's anchors and spans at most as many tokens as
    the pattern can, so every match lies within that reach of an occurrence of the
    pattern's rarest anchor, in a window that holds all its other anchors too. Those
    windows are worked out in arrays for a whole batch of passages at once, and the
    pattern's matcher runs on each. The same matches as one Matcher over each whole
    passage, many times faster on a codebook with hundreds of patterns.
    """

    def __init__(self, codebook: Codebook):
        self.codebook = codebook
        self.nlp = english()
        self.phrases = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self.matchers: list[Matcher] = []  # one per pattern
        numbers: dict[tuple[str, frozenset[int]], int] = {}  # each distinct anchor's number
        anchors: list[list[int]] = []  # per pattern, the numbers of its anchors
        longest: list[int | None] = []  # per pattern, its longest match
        for code in codebook.codes:
            if code.phrases:
                self.phrases.add(code.id, list(self.nlp.tokenizer.pipe(code.phrases)))
            for pattern in code.patterns:
                matcher = Matcher(self.nlp.vocab, validate=True)
                matcher.add(code.id, [pattern])
                self.matchers.append(matcher)
                anchors.append([
                    numbers.setdefault((attr, frozenset(map(self.nlp.vocab.strings.add, allowed))),
                                       len(numbers))
                    for attr, allowed in _anchors(pattern)])
                longest.append(_longest_match(pattern))
        # The anchors as (column, allowed string hashes), in the order of their numbers.
        self.anchors: list[tuple[str, frozenset[int]]] = list(numbers)
        # The patterns that run in windows (anchored, of bounded length): their numbers,
        # longest matches and anchors (a row each, padded with -1). The others run on
        # whole passages.
        windowed = [n for n in range(len(anchors)) if anchors[n] and longest[n] is not None]
        self._whole = [(n, anchors[n]) for n in range(len(anchors))
                       if not anchors[n] or longest[n] is None]
        width = max((len(anchors[n]) for n in windowed), default=0)
        self._windowed = numpy.array(windowed, dtype=int)
        self._longest = numpy.array([longest[n] for n in windowed], dtype=int)
        self._anchors_of = numpy.array([anchors[n] + [-1] * (width - len(anchors[n]))
                                        for n in windowed], dtype=int).reshape(len(windowed), width)
        # Every value an anchor allows, numbered: per column, the values (sorted string
        # hashes) with their numbers; and which anchors allow each value, as a sparse
        # (values x anchors) matrix.
        allowing: dict[tuple[int, int], list[int]] = {}  # (column, value) -> anchors
        for anchor, (attr, allowed) in enumerate(self.anchors):
            for value in allowed:
                allowing.setdefault((COLUMNS.index(attr), value), []).append(anchor)
        self._values: list[tuple[int, numpy.ndarray, numpy.ndarray]] = []
        for column in range(len(COLUMNS)):
            numbered = sorted((value, number) for number, (c, value) in enumerate(allowing)
                              if c == column)
            if numbered:
                values, value_numbers = zip(*numbered, strict=True)
                self._values.append((column, numpy.array(values, dtype=numpy.uint64),
                                     numpy.array(value_numbers, dtype=int)))
        cells = [(number, anchor) for number, allowed_by in enumerate(allowing.values())
                 for anchor in allowed_by]
        self._allowed_by = sparse.csr_matrix(
            (numpy.ones(len(cells), dtype=bool),
             ([number for number, _ in cells], [anchor for _, anchor in cells])),
            shape=(len(allowing), len(self.anchors)))

    def _occurrences(self, tokens: numpy.ndarray) -> sparse.csc_matrix:
        """Where each anchor occurs, given a batch's tokens (rows) by their COLUMNS as string
        hashes: a sparse (tokens x anchors) matrix, whose column for an anchor holds the
        positions of the tokens where it occurs, in order."""
        rows, values = [numpy.zeros(0, dtype=int)], [numpy.zeros(0, dtype=int)]  # none yet
        for column, known, numbers in self._values:
            # Each token's place among the known values (after the last one wraps round to 0).
            place = numpy.searchsorted(known, tokens[:, column]) % len(known)
            hits = numpy.flatnonzero(known[place] == tokens[:, column])
            rows.append(hits)
            values.append(numbers[place[hits]])
        rows, values = numpy.concatenate(rows), numpy.concatenate(values)
        has_value = sparse.csr_matrix((numpy.ones(len(rows), dtype=bool), (rows, values)),
                                      shape=(len(tokens), self._allowed_by.shape[0]))
        return (has_value @ self._allowed_by).tocsc()

    def _windows(self, found: sparse.csc_matrix, starts: numpy.ndarray
                 ) -> list[tuple[int, int, int, int]]:
        """Where the windowed patterns can match, as (pattern, passage, begin, end) token
        ranges, given `found` by _occurrences and the token where each passage starts (and
        the batch ends): as far as a match can reach either side of each occurrence of the
        pattern's rarest anchor, within its passage, where all its other anchors occur too;
        merged where they overlap. All patterns at once: pattern by pattern, the array
        operations would cost more than the matching on a document's few passages."""
        if not len(self._windowed):
            return []
        count = numpy.diff(found.indptr)  # occurrences of each anchor
        counts = numpy.where(self._anchors_of >= 0, count[self._anchors_of], numpy.inf)
        held = numpy.flatnonzero(counts.min(axis=1) > 0)  # patterns whose anchors all occur
        if not len(held):
            return []
        rarest = self._anchors_of[held, counts[held].argmin(axis=1)]
        pattern = numpy.repeat(held, count[rarest])
        position = numpy.concatenate([_positions(found, anchor) for anchor in rarest])
        passage = numpy.searchsorted(starts, position, side="right") - 1
        begin = numpy.maximum(position - self._longest[pattern] + 1, starts[passage])
        end = numpy.minimum(position + self._longest[pattern], starts[passage + 1])
        # Whether each of the pattern's anchors occurs in [begin, end): looked up among all
        # occurrences as anchor * tokens + position, the order `found` holds them in.
        tokens = found.shape[0]
        occurrences = numpy.repeat(numpy.arange(len(count)), count) * tokens + found.indices
        near = numpy.ones(len(position), dtype=bool)
        for anchor in self._anchors_of[pattern].T:  # the patterns' first anchors, second ...
            near &= (anchor < 0) | (numpy.searchsorted(occurrences, anchor * tokens + begin)
                                    < numpy.searchsorted(occurrences, anchor * tokens + end))
        pattern, passage, begin, end = pattern[near], passage[near], begin[near], end[near]
        if not len(pattern):
            return []
        # The ranges come pattern by pattern, in order, so each overlaps the one before or
        # starts a new window; never across passages, since ranges stay within theirs.
        new = numpy.ones(len(pattern), dtype=bool)
        new[1:] = (pattern[1:] != pattern[:-1]) | (begin[1:] >= end[:-1])
        first, last = numpy.flatnonzero(new), numpy.flatnonzero(numpy.append(new[1:], True))
        offset = starts[passage[first]]
        return list(zip(self._windowed[pattern[first]].tolist(), passage[first].tolist(),
                        (begin[first] - offset).tolist(), (end[last] - offset).tolist(),
                        strict=True))

    def _pattern_matches(self, docs: list[Doc]) -> list[list[tuple[int, int, int]]]:
        """Each passage's pattern matches. The anchors are found for the whole batch at
        once, its tokens numbered through all of its passages."""
        if not docs:
            return []
        starts = numpy.cumsum([0, *map(len, docs)])
        # Token attributes as string hashes, straight from the Doc's arrays (anchors are
        # stored as hashes too): no Python Token object per token.
        found = self._occurrences(numpy.concatenate(
            [doc.to_array(COLUMNS).reshape(-1, len(COLUMNS)) for doc in docs]))
        matches: list[set[tuple[int, int, int]]] = [set() for _ in docs]
        for pattern, passage, begin, end in self._windows(found, starts):
            matches[passage].update(
                (key, begin + start, begin + stop)
                for key, start, stop in self.matchers[pattern](docs[passage][begin:end]))
        for pattern, anchors in self._whole:  # in every passage that holds all its anchors
            passages = set(range(len(docs))).intersection(*(
                (numpy.searchsorted(starts, _positions(found, anchor), side="right") - 1).tolist()
                for anchor in anchors))
            for passage in passages:
                matches[passage].update(self.matchers[pattern](docs[passage]))
        return [sorted(found_in) for found_in in matches]

    def docs(self, texts: Iterable[str]) -> Iterable[Doc]:
        return self.nlp.pipe(texts, batch_size=256)

    def evidence(self, doc: Doc) -> list[Evidence]:
        """Matches in one passage, longest first where they overlap within a code."""
        return self.evidence_of([doc])[0]

    def evidence_of(self, docs: list[Doc]) -> list[list[Evidence]]:
        """Matches in each passage of a batch: much faster than passage by passage."""
        return [self._evidence(doc, matches)
                for doc, matches in zip(docs, self._pattern_matches(docs), strict=True)]

    def _evidence(self, doc: Doc, pattern_matches: list[tuple[int, int, int]]) -> list[Evidence]:
        found: dict[tuple[str, int, int], Evidence] = {}
        for match_id, start, end in [*self.phrases(doc), *pattern_matches]:
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
