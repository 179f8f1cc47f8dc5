"""Passages most like a given one, by cosine similarity of TF-IDF vectors.

Used to find more evidence for a code (`code`: candidates carrying it) or evidence a code
missed (`missing_code`: candidates without it), as a QDA package's code-similarity search,
and for the report's "similar passages" under every codable passage (similar.json).

A term's IDF comes from the project's annotated passages (TermWeights), not from the
corpus being compared: a passage's vector then depends on its own words only, so adding a
document changes a similar list only where the new passages are closer than what it held,
and the lists are updated instead of recomputed (update_neighbours). On the benchmark's
synthetic corpus (N = 200, 11,000 passages), 84 % of the five neighbours were those IDF
fitted on the corpus itself gives. A term the annotations never use weighs as much as the rarest there.
English stop words are kept: IDF already weighs down the common ones, and the stock list
drops words this corpus turns on ("not", "together", "against", "between"), which also
make up many of the bigrams.
"""

from __future__ import annotations

import csv
import hashlib
import os
import pickle
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import sparse

from interplay.errors import InterplayError
from interplay.fileio import atomic_open, write_json
from interplay.passage_table import CodedPassage

SUGGESTIONS = 5
NEIGHBOURS = 5  # similar passages the report lists under each codable passage
# Words and word pairs, as scikit-learn's TfidfVectorizer(ngram_range=(1, 2)) reads them;
# counts weigh 1 + log(count) ("sublinear" TF). Single precision: the neighbour table
# multiplies every codable passage by every other, and at 11,000 passages float32 took
# 7.3 s where float64 took 10.4, with the same lists; scores differ by under 1e-6, and are
# written (and cached in the report) rounded.
NGRAMS = (1, 2)
SCORE_PLACES = 6  # float32 holds about seven significant digits
TIE = 10 ** -SCORE_PLACES  # scores this close may rank as equals (see _best)
# Terms in more than this share of the passages ("the", "and", "trust") are multiplied out
# as a dense matrix (BLAS), the rest as a sparse one. A sparse product costs each term its
# passages squared, so the commonest few hundred terms were most of it: at N = 200 (11,000
# passages) splitting here took the products from 5.7 s to 2.3 s, on one core. The best
# share measured was between 1/30 and 1/20.
DENSE_TERM_SHARE = 1 / 24
DENSE_CELLS = 50_000_000  # at most this many floats (200 MB) in the dense part
# When more passages than this share of the codable ones are new or gone, every list is
# worked out afresh (all rows at once, which is quicker per row than updating them).
UPDATE_SHARE = 0.2
STATE_VERSION = 1  # bump when what the saved state holds, or how it is computed, changes


def _counter():
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(ngram_range=NGRAMS, dtype=np.float32)


@dataclass(frozen=True)
class TermWeights:
    """Each term's IDF over reference passages (the annotations): ln((1 + n) / (1 + df)) + 1,
    as scikit-learn smooths it; a term not among them weighs as one in no passage."""

    passages_with: dict[str, int]
    passages: int
    key: str  # digest of the reference texts: saved lists are kept only for the same weights

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> TermWeights:
        digest = hashlib.sha256()
        for text in texts:
            digest.update(text.encode("utf-8") + b"\0")
        counter = _counter().set_params(binary=True)
        try:
            counts = counter.fit_transform(texts)
        except ValueError:  # no text, or no words in any
            return cls({}, len(texts), digest.hexdigest())
        frequency = np.bincount(counts.indices, minlength=counts.shape[1]).tolist()
        return cls(dict(zip(counter.get_feature_names_out().tolist(), frequency, strict=True)),
                   len(texts), digest.hexdigest())

    def of(self, terms: Iterable[str]) -> np.ndarray:
        frequency = np.array([self.passages_with.get(t, 0) for t in terms], dtype=np.float64)
        return (np.log((1 + self.passages) / (1 + frequency)) + 1).astype(np.float32)


def reference_texts(annotation_paths: Iterable[str | os.PathLike]) -> list[str]:
    """The annotated passages' texts (rows naming a passage_id only have none); the
    annotation files are checked when the coder is trained, not here."""
    texts = []
    for path in sorted(map(str, annotation_paths)):
        with open(path, encoding="utf-8-sig", newline="") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)
                      if (row.get("text") or "").strip()]
    return texts


def vectors(texts: Sequence[str], weights: TermWeights,
            vocabulary: dict[str, int] | None = None) -> sparse.csr_matrix:
    """The texts' TF-IDF rows, L2-normalised (a row without words is all zeros). Columns
    are `vocabulary`'s, which gains the terms it lacks, so rows from different calls with
    the same vocabulary can be compared."""
    from sklearn.preprocessing import normalize

    vocabulary = {} if vocabulary is None else vocabulary
    counter = _counter()
    try:
        counts = counter.fit_transform(texts).tocsr()
    except ValueError:  # no words in any
        return sparse.csr_matrix((len(texts), len(vocabulary)), dtype=np.float32)
    terms = counter.get_feature_names_out().tolist()
    columns = np.array([vocabulary.setdefault(term, len(vocabulary)) for term in terms])
    data = (1 + np.log(counts.data)) * weights.of(terms)[counts.indices]
    rows = sparse.csr_matrix((data.astype(np.float32), columns[counts.indices], counts.indptr),
                             shape=(len(texts), len(vocabulary)))
    rows.sort_indices()
    return normalize(rows).astype(np.float32)


def similar_passages(passages: list[CodedPassage], passage_id: str, *, top: int,
                     weights: TermWeights, code: str | None = None,
                     missing_code: str | None = None) -> list[tuple[float, CodedPassage]]:
    """Up to `top` codable passages most like `passage_id` (never itself, nor one sharing
    no term with it), best first; ties by passage_id. Raises InterplayError for an unknown
    passage or code."""
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
    rows = vectors([by_id[passage_id].text, *(p.text for p in candidates)], weights)
    scores = (rows[0] @ rows[1:].T).toarray()[0]  # rows are L2-normalised: cosine similarity
    sharing = np.flatnonzero(scores > 0)
    return _best(scores[sharing].tolist(), [candidates[i] for i in sharing], top)


class PassageText(NamedTuple):
    """What similarity needs of a passage (a passages.csv row, or a CodedPassage)."""

    passage_id: str
    text: str
    codable: bool


@dataclass
class NeighbourState:
    """What a run of `update_neighbours` leaves for the next: every codable passage's row
    and neighbours, and the digest of its text (a changed text is a new passage)."""

    weights: TermWeights
    top: int
    ids: list[str] = field(default_factory=list)
    digests: list[bytes] = field(default_factory=list)
    vocabulary: dict[str, int] = field(default_factory=dict)
    matrix: sparse.csr_matrix = field(default_factory=lambda: sparse.csr_matrix((0, 0)))
    # passage_id -> [(score, passage_id)], best first, scores as computed (not rounded)
    neighbours: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    redone: int = 0  # lists worked out afresh by the run that left this state
    version: int = STATE_VERSION


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def neighbours_of_codable(passages: Sequence[PassageText | CodedPassage], *,
                          weights: TermWeights, top: int = NEIGHBOURS, chunk: int = 1000
                          ) -> dict[str, list[tuple[float, PassageText | CodedPassage]]]:
    """For every codable passage, the `top` codable passages most like it (never itself),
    ranked as `similar_passages` ranks them: the report's "similar passages" lists.
    The neighbours depend on the passages' words only, never on their codes, so they are
    worked out from passages.csv while the coder is still at work."""
    state = update_neighbours(None, passages, weights=weights, top=top, chunk=chunk)
    by_id = {p.passage_id: p for p in passages}
    return {passage_id: [(score, by_id[other]) for score, other in found]
            for passage_id, found in state.neighbours.items()}


def update_neighbours(state: NeighbourState | None,
                      passages: Sequence[PassageText | CodedPassage], *,
                      weights: TermWeights, top: int = NEIGHBOURS, chunk: int = 1000
                      ) -> NeighbourState:
    """Every codable passage's neighbours, as the previous run's `state` left them where
    that still holds. A list stays as it was unless a new passage comes closer; a list
    holding a passage that is gone (or whose text changed) is worked out afresh, as are the
    new passages' own. The lists are those a fresh start gives (`state=None`), with scores
    equal to the sixth decimal place: the same products, summed in another order.
    Rows are compared `chunk` at a time, so memory stays linear in the corpus."""
    codable = [p for p in passages if p.codable]
    ids = [p.passage_id for p in codable]
    digests = [_digest(p.text) for p in codable]
    if state is not None and (state.version, state.top, state.weights.key) != (
            STATE_VERSION, top, weights.key):
        state = None
    previous = {} if state is None else dict(zip(state.ids, zip(range(len(state.ids)),
                                                                state.digests)))
    kept = [i for i, (pid, digest) in enumerate(zip(ids, digests))
            if pid in previous and previous[pid][1] == digest]
    new_or_gone = len(ids) + (len(state.ids) if state else 0) - 2 * len(kept)
    if state is None or new_or_gone > UPDATE_SHARE * max(len(ids), len(state.ids), 1):
        state, kept = NeighbourState(weights, top), []
    fresh = sorted(set(range(len(ids))) - set(kept))
    vocabulary = state.vocabulary
    new_rows = vectors([codable[i].text for i in fresh], weights, vocabulary)
    old_rows = state.matrix[[previous[ids[i]][0] for i in kept]] if kept else \
        sparse.csr_matrix((0, 0), dtype=np.float32)
    stacked = sparse.vstack([_with_columns(old_rows, len(vocabulary)),
                             _with_columns(new_rows, len(vocabulary))]).tocsr()
    matrix = stacked[np.argsort(np.array(kept + fresh, dtype=int), kind="stable")]

    kept_ids = {ids[i] for i in kept}
    fresh_ids = {ids[i] for i in fresh}
    gone = set(state.ids) - kept_ids
    redo = [i for i in range(len(ids)) if ids[i] in fresh_ids
            or any(other in gone for _, other in state.neighbours[ids[i]])]
    neighbours: dict[str, list[tuple[float, str]]] = {}
    if len(ids) >= 2 and top >= 1:
        redone = set(redo)
        merged = {ids[i]: list(state.neighbours[ids[i]])
                  for i in range(len(ids)) if i not in redone}
        for rows, block in _blocks(matrix, redo, chunk=chunk):
            block[np.arange(len(rows)), rows] = -np.inf  # never itself
            floor = _at_most_kth_highest(block, top) - TIE
            for offset, row in enumerate(block):
                chosen = np.flatnonzero((row >= floor[offset]) & (row > 0))
                neighbours[ids[rows[offset]]] = [
                    (score, ids[j]) for score, j in
                    _best(row[chosen].tolist(), chosen.tolist(), top, key=ids.__getitem__)]
            if merged:  # fresh rows may come closer to a kept list than what it holds
                _offer(block, rows, fresh_ids, ids, merged, top)
        for passage_id, candidates in merged.items():
            neighbours[passage_id] = [(score, other) for score, other in
                                      _best([s for s, _ in candidates],
                                            [o for _, o in candidates], top, key=str)]
    return NeighbourState(weights, top, ids, digests, vocabulary, matrix,
                          {pid: neighbours.get(pid, []) for pid in ids}, redone=len(redo))


def _with_columns(rows: sparse.csr_matrix, columns: int) -> sparse.csr_matrix:
    """The rows widened to `columns` (a vocabulary that has gained terms since)."""
    return sparse.csr_matrix((rows.data, rows.indices, rows.indptr),
                             shape=(rows.shape[0], columns), dtype=np.float32)


def _blocks(matrix: sparse.csr_matrix, rows: list[int], *, chunk: int
            ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Cosine scores of `rows` against every row, `chunk` rows at a time: (rows, block)."""
    if len(rows) == matrix.shape[0]:  # every row: the product split dense and sparse
        for begin, block in cosine_blocks(matrix, chunk=chunk):
            yield np.arange(begin, begin + len(block)), block
        return
    others = matrix.T.tocsr()
    for begin in range(0, len(rows), chunk):
        part = np.array(rows[begin:begin + chunk], dtype=int)
        yield part, (matrix[part] @ others).toarray()


def _offer(block: np.ndarray, rows: np.ndarray, fresh_ids: set[str], ids: list[str],
           merged: dict[str, list[tuple[float, str]]], top: int) -> None:
    """Add to each kept list the fresh rows of `block` that may rank among its `top`."""
    fresh = np.flatnonzero([ids[r] in fresh_ids for r in rows])
    if not len(fresh):
        return
    scores = block[fresh]
    floor = (np.partition(scores, -top, axis=0)[-top] - TIE if len(fresh) > top
             else np.full(scores.shape[1], -np.inf))
    offered, columns = np.nonzero((scores >= floor) & (scores > 0))
    for score, source, column in zip(scores[offered, columns].tolist(),
                                     rows[fresh[offered]].tolist(), columns.tolist(),
                                     strict=True):
        found = merged.get(ids[column])
        if found is not None:
            found.append((score, ids[source]))


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


def write_neighbours(passages_csv: str | os.PathLike, annotation_paths: Sequence[str],
                     out_json: str | os.PathLike, state_path: str | os.PathLike) -> list[str]:
    """similar.json: each codable passage's neighbours as [score, passage_id] pairs, best
    first (what the report's document pages list). The lists are kept in `state_path` for
    the next run to update; returns the job's log lines."""
    with open(passages_csv, encoding="utf-8", newline="") as handle:
        rows = [PassageText(row["passage_id"], row["text"], row["codable"] == "True")
                for row in csv.DictReader(handle)]
    weights = TermWeights.from_texts(reference_texts(annotation_paths))
    previous, notes = _read_state(Path(state_path))
    state = update_neighbours(previous, rows, weights=weights)
    neighbours = {passage_id: [[round(score, SCORE_PLACES), other] for score, other in found]
                  for passage_id, found in state.neighbours.items()}
    write_json(out_json, {"top": NEIGHBOURS, "neighbours": neighbours})
    with atomic_open(state_path, "wb") as handle:
        pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
    listed = sum(1 for found in neighbours.values() if found)
    return [f"similar passages listed for {listed} passages",
            f"term weights from {weights.passages} annotated passages",
            f"{state.redone} lists worked out afresh, the others kept or updated", *notes]


def _read_state(path: Path) -> tuple[NeighbourState | None, list[str]]:
    """The last run's lists (None when there are none yet, or they cannot be read: then
    they are worked out afresh), and a note for the log when they could not be read."""
    try:
        with open(path, "rb") as handle:
            state = pickle.load(handle)
    except FileNotFoundError:
        return None, []
    except Exception as error:  # noqa: BLE001 - a cache: any damage means starting afresh
        return None, [f"{path} unreadable ({type(error).__name__}): lists worked out afresh"]
    if not isinstance(state, NeighbourState):
        return None, [f"{path} holds no similar lists: lists worked out afresh"]
    return state, []


def _best(scores: list[float], candidates: list, top: int, key=None) -> list[tuple[float, object]]:
    """The `top` highest scores, best first; scores equal to the places written are ties,
    broken by passage_id, so float rounding (which differs between the dense and sparse
    products) never orders two passages with the same words."""
    name = key or (lambda candidate: candidate.passage_id)
    ranked = sorted(zip(scores, candidates, strict=True),
                    key=lambda pair: (-round(pair[0], SCORE_PLACES), name(pair[1])))
    return ranked[:top]


def closest_ids(ids, passage_id: str, limit: int = SUGGESTIONS) -> list[str]:
    """The IDs sharing the longest prefix with `passage_id` (alphabetical among equals)."""
    return sorted(ids, key=lambda i: (-len(os.path.commonprefix([i, passage_id])), i))[:limit]
