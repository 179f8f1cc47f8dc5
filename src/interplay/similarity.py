"""Passages most like a given one, by cosine similarity of TF-IDF vectors.

Used to find more evidence for a code (`code`: candidates carrying it) or evidence a code
missed (`missing_code`: candidates without it), as a QDA package's code-similarity search.
English stop words are kept: IDF already weighs down the common ones, and the stock list
drops words this corpus turns on ("not", "together", "against", "between"), which also
make up many of the bigrams.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

from interplay.errors import InterplayError
from interplay.fileio import write_json
from interplay.passage_table import CodedPassage

SUGGESTIONS = 5
NEIGHBOURS = 5  # similar passages the report lists under each codable passage
# Single precision: the neighbour table multiplies every codable passage by every other,
# and at 11,000 passages float32 took 7.3 s where float64 took 10.4, with the same lists;
# scores differ by under 1e-6, and are written (and cached in the report) rounded.
VECTORIZER = {"ngram_range": (1, 2), "sublinear_tf": True, "stop_words": None,
              "dtype": np.float32}
SCORE_PLACES = 6  # float32 holds about seven significant digits
TIE = 10 ** -SCORE_PLACES  # scores this close may rank as equals (see _best)
# Terms in more than this share of the passages ("the", "and", "trust") are multiplied out
# as a dense matrix (BLAS), the rest as a sparse one. A sparse product costs each term its
# passages squared, so the commonest few hundred terms were most of it: at N = 200 (11,000
# passages) splitting here took the products from 5.7 s to 2.3 s, on one core. The best
# share measured was between 1/30 and 1/20.
DENSE_TERM_SHARE = 1 / 24
DENSE_CELLS = 50_000_000  # at most this many floats (200 MB) in the dense part


def similar_passages(passages: list[CodedPassage], passage_id: str, *, top: int,
                     code: str | None = None, missing_code: str | None = None
                     ) -> list[tuple[float, CodedPassage]]:
    """Up to `top` codable passages most like `passage_id` (never itself), best first;
    ties by passage_id. Raises InterplayError for an unknown passage or code."""
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
    rows = _tfidf_rows(passages)
    if rows is None:
        return []
    index = {p.passage_id: i for i, p in enumerate(passages)}
    wanted = rows[[index[passage_id]]]
    others = rows[[index[p.passage_id] for p in candidates]]
    scores = (wanted @ others.T).toarray()[0]  # rows are L2-normalised: cosine similarity
    return _best(scores.tolist(), candidates, top)


class PassageText(NamedTuple):
    """What similarity needs of a passage (a passages.csv row, or a CodedPassage)."""

    passage_id: str
    text: str
    codable: bool


def neighbours_of_codable(passages: Sequence[PassageText | CodedPassage], *,
                          top: int = NEIGHBOURS, chunk: int = 1000
                          ) -> dict[str, list[tuple[float, PassageText | CodedPassage]]]:
    """For every codable passage, the `top` codable passages most like it (never itself),
    ranked as `similar_passages` ranks them: the report's "similar passages" lists.
    Rows are compared `chunk` at a time, so memory stays linear in the corpus. The
    neighbours depend on the passages' words only, never on their codes, so they are
    worked out from passages.csv while the coder is still at work."""
    codable = [p for p in passages if p.codable]
    rows = _tfidf_rows(passages) if len(codable) >= 2 and top >= 1 else None
    if rows is None:
        return {p.passage_id: [] for p in codable}
    matrix = rows[[i for i, p in enumerate(passages) if p.codable]]
    neighbours = {}
    for begin, block in cosine_blocks(matrix, chunk=chunk):
        rows = np.arange(len(block))
        block[rows, begin + rows] = -np.inf  # never itself
        # every passage that may be among the top, and so every one tied at the last
        floor = _at_most_kth_highest(block, top) - TIE
        for offset, row in enumerate(block):
            chosen = np.flatnonzero((row >= floor[offset]) & (row > -np.inf))
            neighbours[codable[begin + offset].passage_id] = _best(
                row[chosen].tolist(), [codable[i] for i in chosen], top)
    return neighbours


def cosine_blocks(matrix, *, chunk: int, dense_share: float = DENSE_TERM_SHARE,
                  dense_cells: int = DENSE_CELLS) -> Iterator[tuple[int, np.ndarray]]:
    """`matrix @ matrix.T` as dense blocks of `chunk` rows: (first row, block). The common
    terms' columns (in more than `dense_share` of the rows, the commonest first, at most
    `dense_cells` floats) are multiplied dense and the others sparse; the sum is the same
    product, up to rounding in the last bit or two of a float32."""
    passages, terms = matrix.shape
    in_passages = np.bincount(matrix.indices, minlength=terms)
    by_frequency = np.argsort(-in_passages, kind="stable")
    common_count = min(int((in_passages > dense_share * passages).sum()),
                       dense_cells // max(passages, 1))
    common = np.zeros(terms, dtype=bool)
    common[by_frequency[:common_count]] = True
    dense = matrix[:, np.flatnonzero(common)].toarray()
    rare = matrix[:, np.flatnonzero(~common)].tocsr()
    rare_t = rare.T.tocsr()
    for begin in range(0, passages, chunk):
        block = dense[begin:begin + chunk] @ dense.T
        block += (rare[begin:begin + chunk] @ rare_t).toarray()
        yield begin, block


def _at_most_kth_highest(block: np.ndarray, k: int, groups: int = 64) -> np.ndarray:
    """Per row, a score no higher than its k-th highest (-inf when it has no k-th): the
    k-th highest of the maxima of `groups` groups of columns, since k different scores
    reach it. Partitioning whole rows for the exact k-th took 1.5 s at N = 200; this
    takes a pass, and leaves a handful more candidates than the exact one, which the
    ranking sorts out (_best)."""
    columns = block.shape[1]
    if k > columns:
        return np.full(len(block), -np.inf)
    if columns < 4 * groups:
        return np.partition(block, -k, axis=1)[:, -k]
    starts = np.linspace(0, columns, groups, endpoint=False).astype(int)
    maxima = np.maximum.reduceat(block, starts, axis=1)
    return np.partition(maxima, -k, axis=1)[:, -k]


def write_neighbours(passages_csv: str | os.PathLike, out_json: str | os.PathLike) -> int:
    """similar.json: each codable passage's neighbours as [score, passage_id] pairs, best
    first (what the report's document pages list); returns how many passages have some."""
    with open(passages_csv, encoding="utf-8", newline="") as handle:
        rows = [PassageText(row["passage_id"], row["text"], row["codable"] == "True")
                for row in csv.DictReader(handle)]
    neighbours = {passage_id: [[round(score, SCORE_PLACES), other.passage_id]
                               for score, other in found]
                  for passage_id, found in neighbours_of_codable(rows).items()}
    write_json(out_json, {"top": NEIGHBOURS, "neighbours": neighbours})
    return sum(1 for found in neighbours.values() if found)


def _tfidf_rows(passages: Sequence[PassageText | CodedPassage]):
    """Every passage's TF-IDF row (L2-normalised), fitted on every passage so IDF does not
    depend on which are compared; None when the corpus has no words at all."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        return TfidfVectorizer(**VECTORIZER).fit_transform([p.text for p in passages])
    except ValueError:  # empty vocabulary
        return None


def _best(scores: list[float], candidates: list, top: int) -> list[tuple[float, object]]:
    """The `top` highest scores, best first; scores equal to the places written are ties,
    broken by passage_id, so float rounding (which differs between the dense and sparse
    products) never orders two passages with the same words."""
    ranked = sorted(zip(scores, candidates, strict=True),
                    key=lambda pair: (-round(pair[0], SCORE_PLACES), pair[1].passage_id))
    return ranked[:top]


def closest_ids(ids, passage_id: str, limit: int = SUGGESTIONS) -> list[str]:
    """The IDs sharing the longest prefix with `passage_id` (alphabetical among equals)."""
    return sorted(ids, key=lambda i: (-len(os.path.commonprefix([i, passage_id])), i))[:limit]
