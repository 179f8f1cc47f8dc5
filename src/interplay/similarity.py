"""Passages most like a given one, by cosine similarity of TF-IDF vectors.

Used to find more evidence for a code (`code`: candidates carrying it) or evidence a code
missed (`missing_code`: candidates without it), as a QDA package's code-similarity search.
English stop words are kept: IDF already weighs down the common ones, and the stock list
drops words this corpus turns on ("not", "together", "against", "between"), which also
make up many of the bigrams.
"""

from __future__ import annotations

import os

import numpy as np

from interplay.errors import InterplayError
from interplay.passage_table import CodedPassage

SUGGESTIONS = 5
NEIGHBOURS = 5  # similar passages the report lists under each codable passage


def similar_passages(passages: list[CodedPassage], passage_id: str, *, top: int,
                     code: str | None = None, missing_code: str | None = None
                     ) -> list[tuple[float, CodedPassage]]:
    """Up to `top` codable passages most like `passage_id` (never itself), best first;
    ties by passage_id. Raises InterplayError for an unknown passage or code."""
    from sklearn.metrics.pairwise import cosine_similarity

    by_id = {p.passage_id: p for p in passages}
    if passage_id not in by_id:
        raise InterplayError(f"no passage '{passage_id}' in coded_passages.csv; "
                             f"closest IDs: {', '.join(closest_ids(by_id, passage_id))}")
    known = sorted({c for p in passages for c in (*p.scores, *p.codes)})
    for wanted in (code, missing_code):
        if wanted is not None and wanted not in known:
            raise InterplayError(f"unknown code '{wanted}'; codes in coded_passages.csv: "
                                 f"{', '.join(known) or '(none)'}")
    candidates = [p for p in passages if p.codable and p.passage_id != passage_id
                  and (code is None or code in p.codes)
                  and (missing_code is None or missing_code not in p.codes)]
    if not candidates or top < 1:
        return []
    vectorizer = _fitted_vectorizer(passages)
    if vectorizer is None:
        return []
    scores = cosine_similarity(vectorizer.transform([by_id[passage_id].text]),
                               vectorizer.transform([p.text for p in candidates]))[0]
    return _best(scores.tolist(), candidates, top)


def neighbours_of_codable(passages: list[CodedPassage], *, top: int = NEIGHBOURS,
                          chunk: int = 1000) -> dict[str, list[tuple[float, CodedPassage]]]:
    """For every codable passage, the `top` codable passages most like it (never itself),
    ranked as `similar_passages` ranks them: the report's "similar passages" lists.
    Rows are compared `chunk` at a time, so memory stays linear in the corpus."""
    codable = [p for p in passages if p.codable]
    vectorizer = _fitted_vectorizer(passages)
    if vectorizer is None or len(codable) < 2 or top < 1:
        return {p.passage_id: [] for p in codable}
    matrix = vectorizer.transform([p.text for p in codable])  # rows are L2-normalised
    neighbours = {}
    for begin in range(0, len(codable), chunk):
        block = (matrix[begin:begin + chunk] @ matrix.T).toarray()
        for offset, row in enumerate(block):
            index = begin + offset
            row[index] = -np.inf  # never itself
            if top < len(codable) - 1:  # the top scores, with every passage tied at the last
                kth = np.partition(row, -top)[-top]
                chosen = np.flatnonzero(row >= kth - 1e-12)
            else:
                chosen = np.flatnonzero(row > -np.inf)
            neighbours[codable[index].passage_id] = _best(
                row[chosen].tolist(), [codable[i] for i in chosen], top)
    return neighbours


def _fitted_vectorizer(passages: list[CodedPassage]):
    """TF-IDF fitted on every passage, so IDF does not depend on which are compared;
    None when the corpus has no words at all."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words=None)
    try:
        vectorizer.fit([p.text for p in passages])
    except ValueError:  # empty vocabulary
        return None
    return vectorizer


def _best(scores: list[float], candidates: list[CodedPassage], top: int
          ) -> list[tuple[float, CodedPassage]]:
    """The `top` highest scores, best first, ties by passage_id."""
    ranked = sorted(zip(scores, candidates, strict=True),
                    key=lambda pair: (-round(pair[0], 12), pair[1].passage_id))
    return ranked[:top]


def closest_ids(ids, passage_id: str, limit: int = SUGGESTIONS) -> list[str]:
    """The IDs sharing the longest prefix with `passage_id` (alphabetical among equals)."""
    return sorted(ids, key=lambda i: (-len(os.path.commonprefix([i, passage_id])), i))[:limit]
