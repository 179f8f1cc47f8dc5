"""Concordance (keyword in context): every occurrence of a word or phrase in the passages.

Offsets are in the document text (`outputs/text/<doc_id>.txt`): a passage's text is
`document[passage.start:passage.end]`, so a hit at `i:j` in the passage is at
`passage.start + i : passage.start + j` in the document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from interplay.errors import InterplayError
from interplay.passage_table import CodedPassage

WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Occurrence:
    passage_id: str
    doc_id: str
    site: str
    start: int  # character offsets in the document text
    end: int
    left: str  # up to `width` characters before the hit, within the passage, whitespace collapsed
    match: str  # the matched text exactly as in the document
    right: str
    codes: tuple[str, ...]


def find_occurrences(passages: list[CodedPassage], term: str, *, lemma: bool = False,
                     code: str | None = None, site: str | None = None,
                     width: int = 60) -> list[Occurrence]:
    """Every whole-word, case-insensitive occurrence of `term` (a word or phrase) in the
    passages, in passage order; with `lemma`, words match on their lemmas ("tender" finds
    "tendered"). `code` keeps passages whose final codes include it, `site` those from it."""
    words = term.split()
    if not words:
        raise InterplayError("the term to look for is empty")
    selected = [p for p in passages
                if (code is None or code in p.codes) and (site is None or p.site == site)]
    spans = _lemma_spans(words) if lemma else _word_spans(words)
    occurrences = []
    for passage in selected:
        text = passage.text
        for begin, end in spans(text):
            occurrences.append(Occurrence(
                passage_id=passage.passage_id, doc_id=passage.doc_id, site=passage.site,
                start=passage.start + begin, end=passage.start + end,
                left=_collapsed(text[max(0, begin - width):begin]), match=text[begin:end],
                right=_collapsed(text[end:end + width]), codes=passage.codes))
    return occurrences


def _collapsed(text: str) -> str:
    return WHITESPACE.sub(" ", text)


def _word_spans(words: list[str]):
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)",
                         re.IGNORECASE)

    def spans(text: str) -> list[tuple[int, int]]:
        return [match.span() for match in pattern.finditer(text)]
    return spans


def _lemma_spans(words: list[str]):
    from interplay.rules import english

    nlp = english()
    wanted = [_lemma(t) for t in nlp(" ".join(words)) if not t.is_space]

    def spans(text: str) -> list[tuple[int, int]]:
        tokens = [t for t in nlp(text) if not t.is_space]
        lemmas = [_lemma(t) for t in tokens]
        found, n, i = [], len(wanted), 0
        while i + n <= len(tokens):
            if lemmas[i:i + n] == wanted:
                found.append((tokens[i].idx, tokens[i + n - 1].idx + len(tokens[i + n - 1])))
                i += n
            else:
                i += 1
        return found
    return spans


def _lemma(token) -> str:
    return (token.lemma_ or token.lower_).lower()
