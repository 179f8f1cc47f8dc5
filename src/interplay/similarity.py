"""Passages most like a given one, by cosine similarity of TF-IDF vectors.

Used to find more evidence for a code (`code`: candidates carrying it) or evidence a code
missed (`missing_code`: candidates without it), as a QDA package's code-similarity search.
English stop words are kept: IDF already weighs down the common ones, and the stock list
drops words this corpus turns on ("not", "together", "against", "between"), which also
make up many of the bigrams.
"""

from __future__ import annotations

import os

from interplay.errors import InterplayError
from interplay.passage_table import CodedPassage

SUGGESTIONS = 5


def similar_passages(passages: list[CodedPassage], passage_id: str, *, top: int,
                     code: str | None = None, missing_code: str | None = None
                     ) -> list[tuple[float, CodedPassage]]:
    """Up to `top` codable passages most like `passage_id` (never itself), best first;
    ties by passage_id. Raises InterplayError for an unknown passage or code."""
    from sklearn.feature_extraction.text import TfidfVectorizer
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
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words=None)
    try:  # fitted on the whole corpus, so IDF does not depend on the filters
        vectorizer.fit([p.text for p in passages])
    except ValueError:  # no words at all (empty vocabulary)
        return []
    scores = cosine_similarity(vectorizer.transform([by_id[passage_id].text]),
                               vectorizer.transform([p.text for p in candidates]))[0]
    ranked = sorted(zip(scores.tolist(), candidates, strict=True),
                    key=lambda pair: (-round(pair[0], 12), pair[1].passage_id))
    return ranked[:top]


def closest_ids(ids, passage_id: str, limit: int = SUGGESTIONS) -> list[str]:
    """The IDs sharing the longest prefix with `passage_id` (alphabetical among equals)."""
    return sorted(ids, key=lambda i: (-len(os.path.commonprefix([i, passage_id])), i))[:limit]
