"""`interplay similar`: passages most like a given one, by TF-IDF cosine similarity."""

import csv
import json

import numpy as np
import pytest
from conftest import read_csv
from scipy import sparse

from interplay.cli import main
from interplay.errors import InterplayError
from interplay.passage_table import CodedPassage
from interplay.similarity import (
    TermWeights,
    _at_most_kth_highest,
    cosine_blocks,
    neighbours_of_codable,
    similar_passages,
    update_neighbours,
    write_neighbours,
)
from interplay.training import CODED_COLUMNS

CODES = ("collab", "compete")
BASE = ("The trust and the federation agreed to share community nursing staff across the "
        "two boroughs from April")
TEXTS = {
    "A:1": (BASE, ("collab",)),
    "A:2": (BASE.replace("April", "June").replace("agreed", "decided"), ("collab",)),
    "A:3": ("Providers bid against each other for the diabetes contract last year", ("compete",)),
    "B:1": ("The federation and the trust share community staff in one borough", ()),
    "B:2": ("Tender rounds set providers against each other on price", ("compete",)),
    "B:3": ("Community nursing staff across boroughs were shared by agreement", ("compete",)),
}


# the terms weighed over the test passages themselves (the pipeline weighs them over the
# annotations)
WEIGHTS = TermWeights.from_texts([text for text, _ in TEXTS.values()])


def passage(passage_id: str, text: str, codes: tuple[str, ...], codable: bool = True):
    return CodedPassage(
        passage_id=passage_id, doc_id=passage_id.split(":")[0],
        site="north" if passage_id.startswith("A") else "south", actor="provider",
        kind="interview", speaker_role="", page="", start=0, end=len(text), text=text,
        codes=codes, orientation="",
        scores={c: (0.9 if c in codes else 0.1) for c in CODES} if codable else {})


@pytest.fixture
def passages():
    return [passage(pid, text, codes) for pid, (text, codes) in TEXTS.items()]


def test_near_duplicate_first_and_itself_never(passages):
    found = similar_passages(passages, "A:1", top=10, weights=WEIGHTS)
    ids = [p.passage_id for _, p in found]
    assert "A:1" not in ids
    assert ids[0] == "A:2"
    assert found[0][0] > 0.5
    scores = [s for s, _ in found]
    assert scores == sorted(scores, reverse=True)
    assert len(similar_passages(passages, "A:1", top=2, weights=WEIGHTS)) == 2


def test_only_codable_candidates_and_ties_by_id(passages):
    passages.append(passage("C:1", BASE, ("collab",), codable=False))
    passages += [passage("Z:2", "the alpha beta", ()), passage("Z:1", "the alpha beta", ()),
                 passage("Z:3", "alpha beta", ())]
    ids = [p.passage_id for _, p in similar_passages(passages, "A:1", top=10, weights=WEIGHTS)]
    assert "C:1" not in ids
    assert ids.index("Z:1") + 1 == ids.index("Z:2")
    assert "Z:3" not in ids  # no term in common
    # an uncodable passage may still be the one compared with
    assert similar_passages(passages, "C:1", top=1, weights=WEIGHTS)[0][1].passage_id == "A:1"


def test_code_filters(passages):
    with_code = similar_passages(passages, "A:1", top=10, weights=WEIGHTS, code="compete")
    assert {p.passage_id for _, p in with_code} == {"A:3", "B:3"}
    assert with_code[0][1].passage_id == "B:3"
    missing = similar_passages(passages, "A:1", top=10, weights=WEIGHTS,
                               missing_code="collab")
    assert all("collab" not in p.codes for _, p in missing)
    assert [p.passage_id for _, p in missing] == ["B:1", "B:3", "A:3"]  # B:2 shares no term
    both = similar_passages(passages, "A:1", top=10, weights=WEIGHTS, code="compete",
                            missing_code="collab")
    assert {p.passage_id for _, p in both} == {"A:3", "B:3"}


def test_unknown_id_and_code(passages):
    with pytest.raises(InterplayError, match=r"no passage 'A:9'.*A:1, A:2, A:3"):
        similar_passages(passages, "A:9", top=5, weights=WEIGHTS)
    with pytest.raises(InterplayError, match=r"unknown code 'nope'.*collab, compete"):
        similar_passages(passages, "A:1", top=5, weights=WEIGHTS, missing_code="nope")


def write_outputs(outputs, passages):
    outputs.mkdir(parents=True)
    columns = [*CODED_COLUMNS, *(f"score:{c}" for c in CODES)]
    with open(outputs / "coded_passages.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for p in passages:
            writer.writerow({
                "passage_id": p.passage_id, "doc_id": p.doc_id, "site": p.site,
                "actor": p.actor, "kind": p.kind, "speaker_role": "", "page": "",
                "start": p.start, "end": p.end, "text": p.text, "codes": ";".join(p.codes),
                "orientation": "", "coded_by": "machine", "machine_codes": ";".join(p.codes),
                "review_status": "", "review_comments": "",
                **{f"score:{c}": p.scores[c] for c in CODES}})


def test_cli_writes_csv(tmp_path, passages, capsys):
    outputs = tmp_path / "outputs"
    write_outputs(outputs, passages)
    out = tmp_path / "similar" / "a1.csv"
    assert main(["similar", "A:1", "--top", "3", "--outputs", str(outputs),
                 "--csv", str(out)]) == 0
    rows = read_csv(out)
    assert list(rows[0]) == ["rank", "similarity", "passage_id", "doc_id", "site", "codes",
                             "text"]
    assert [r["rank"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["passage_id"] == "A:2" and rows[0]["site"] == "north"
    assert rows[0]["text"] == TEXTS["A:2"][0]
    assert "A:2" in capsys.readouterr().err


def test_cli_errors(tmp_path, passages, capsys):
    outputs = tmp_path / "outputs"
    assert main(["similar", "A:1", "--outputs", str(outputs)]) == 2
    assert "run `interplay run` first" in capsys.readouterr().err
    write_outputs(outputs, passages)
    assert main(["similar", "B:7", "--outputs", str(outputs)]) == 2
    assert "closest IDs: B:1, B:2, B:3" in capsys.readouterr().err
    assert main(["similar", "A:1", "--code", "nope", "--outputs", str(outputs)]) == 2
    assert "unknown code 'nope'" in capsys.readouterr().err


def test_neighbours_of_every_codable_passage_match_the_single_query(passages):
    passages.append(passage("C:1", BASE, ("collab",), codable=False))
    passages += [passage("Z:2", "alpha beta", ()), passage("Z:1", "alpha beta", ())]
    for chunk in (1, 3, 1000):
        everyone = neighbours_of_codable(passages, top=3, chunk=chunk, weights=WEIGHTS)
        assert set(everyone) == {p.passage_id for p in passages if p.codable}
        for passage_id, found in everyone.items():
            single = similar_passages(passages, passage_id, top=3, weights=WEIGHTS)
            assert [p.passage_id for _, p in found] == [p.passage_id for _, p in single]
            assert [s for s, _ in found] == pytest.approx([s for s, _ in single], abs=1e-6)
            assert passage_id not in [p.passage_id for _, p in found]
    nearest = neighbours_of_codable(passages, top=1, weights=WEIGHTS)
    assert [p.passage_id for _, p in nearest["A:1"]] == ["A:2"]
    assert nearest["Z:2"][0][1].passage_id == "Z:1"


def test_neighbours_when_there_is_nothing_to_compare():
    lonely = [passage("A:1", BASE, ())]
    assert neighbours_of_codable(lonely, weights=WEIGHTS) == {"A:1": []}
    assert neighbours_of_codable([passage("A:1", "", ()), passage("A:2", "", ())],
                                 weights=WEIGHTS) == \
        {"A:1": [], "A:2": []}


@pytest.mark.parametrize("dense_share, dense_cells", [
    (0.0, 10**9),   # every term dense
    (2.0, 10**9),   # every term sparse
    (0.2, 10**9),   # the common terms dense, the rest sparse
    (0.0, 7 * 40),  # every term common, but room for the 7 commonest only
])
def test_cosine_blocks_add_up_to_the_whole_product(dense_share, dense_cells):
    rng = np.random.default_rng(5)
    # a few terms in most rows (as "the" is), many in a row or two
    common = rng.random((40, 6)) < 0.8
    rare = rng.random((40, 60)) < 0.04
    matrix = sparse.csr_matrix(np.hstack([common, rare]) * rng.random((40, 66)),
                               dtype=np.float32)
    expected = (matrix @ matrix.T).toarray()
    blocks = list(cosine_blocks(matrix, chunk=15, dense_share=dense_share,
                                dense_cells=dense_cells))
    assert [begin for begin, _ in blocks] == [0, 15, 30]
    assert np.vstack([block for _, block in blocks]) == pytest.approx(expected, abs=1e-5)


def test_neighbours_in_a_corpus_too_big_to_partition_whole_rows():
    """Over a few hundred passages, the candidates come from maxima of column groups
    (_at_most_kth_highest) rather than an exact partition; the lists must not change,
    duplicates (ties) included."""
    rng = np.random.default_rng(11)
    words = [f"w{i}" for i in range(400)]
    texts = [" ".join(rng.choice(words, size=12, p=np.r_[[0.2] * 3, [0.4 / 397] * 397]))
             for _ in range(300)]
    corpus = [passage(f"D{i // 10:02d}:{i % 10}", text, ()) for i, text in enumerate(texts)]
    corpus += [passage("Y:1", texts[7], ()), passage("Y:2", texts[7], ())]  # tied with D00:7
    everyone = neighbours_of_codable(corpus, top=4, chunk=128, weights=WEIGHTS)
    for passage_id in ["D00:7", "Y:1", *(p.passage_id for p in corpus[::23])]:
        single = similar_passages(corpus, passage_id, top=4, weights=WEIGHTS)
        assert [p.passage_id for _, p in everyone[passage_id]] == \
            [p.passage_id for _, p in single]
    assert [p.passage_id for _, p in everyone["D00:7"]][:2] == ["Y:1", "Y:2"]


def test_the_floor_under_each_rows_kth_highest_score():
    rng = np.random.default_rng(3)
    block = rng.random((20, 1000)).astype(np.float32)
    block[0, 5] = -np.inf
    for k in (1, 5, 30):
        floor = _at_most_kth_highest(block, k)
        exact = np.sort(block, axis=1)[:, -k]
        assert (floor <= exact).all()
        assert ((block >= floor[:, None]).sum(axis=1) >= k).all()
        assert ((block >= floor[:, None]).sum(axis=1) < 200).all()  # and not all of them
    assert (_at_most_kth_highest(block[:, :3], 3) == np.sort(block[:, :3], axis=1)[:, 0]).all()
    assert np.isneginf(_at_most_kth_highest(block[:, :3], 4)).all()


def test_term_weights_are_the_reference_passages_idf():
    weights = TermWeights.from_texts(["the trust and the council", "the alliance", "the market"])
    the, trust, alliance_board, never = weights.of(["the", "trust", "alliance board", "zzz"])
    assert the == pytest.approx(np.log(4 / 4) + 1)
    assert trust == pytest.approx(np.log(4 / 2) + 1)
    assert alliance_board == never == pytest.approx(np.log(4 / 1) + 1)  # as rare as can be
    assert TermWeights.from_texts([]).of(["any"]) == pytest.approx([1.0])
    assert weights.key != TermWeights.from_texts(["the trust and the council"]).key


def _corpus(size: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(300)]
    odds = np.r_[[0.15] * 3, [0.55 / 297] * 297]
    texts = [" ".join(rng.choice(words, size=10, p=odds)) for _ in range(size)]
    texts[5] = texts[9]  # a tie, which the passage IDs break
    return [passage(f"D{i // 10:02d}:{i % 10}", text, (), codable=i % 7 != 3)
            for i, text in enumerate(texts)]


def _lists(state) -> dict:
    return {pid: [other for _, other in found] for pid, found in state.neighbours.items()}


@pytest.mark.parametrize("change", ["add", "remove", "edit", "add and remove"])
def test_updated_lists_are_those_a_fresh_start_gives(change):
    corpus = _corpus(400, seed=8)
    weights = TermWeights.from_texts([p.text for p in _corpus(60, seed=2)])
    before, after = corpus[:380], list(corpus)  # "add": the last two documents are new
    if change == "remove":
        before, after = corpus, corpus[:150] + corpus[160:]
    elif change == "edit":
        before = list(corpus)
        after[42] = passage(after[42].passage_id, corpus[9].text, (), after[42].codable)
    elif change == "add and remove":
        before, after = corpus[10:380], corpus[:370]
    state = update_neighbours(None, before, weights=weights, top=4, chunk=64)
    updated = update_neighbours(state, after, weights=weights, top=4, chunk=64)
    fresh = update_neighbours(None, after, weights=weights, top=4, chunk=64)
    assert _lists(updated) == _lists(fresh)
    for pid, found in updated.neighbours.items():
        assert [s for s, _ in found] == pytest.approx([s for s, _ in fresh.neighbours[pid]],
                                                      abs=1e-6)
    assert 0 < updated.redone < len(updated.ids) / 4  # most lists were not worked out again
    assert updated.redone < fresh.redone == len(fresh.ids)


def test_lists_start_afresh_when_the_weights_or_many_passages_change():
    corpus = _corpus(200, seed=4)
    weights = TermWeights.from_texts([p.text for p in corpus[:50]])
    state = update_neighbours(None, corpus, weights=weights, top=3)
    same = update_neighbours(state, corpus, weights=weights, top=3)
    assert same.redone == 0 and same.neighbours == state.neighbours
    other = TermWeights.from_texts([p.text for p in corpus[:51]])
    assert update_neighbours(state, corpus, weights=other, top=3).redone == len(state.ids)
    assert update_neighbours(state, corpus, weights=weights, top=4).redone == len(state.ids)
    half = update_neighbours(state, corpus[:100], weights=weights, top=3)
    assert half.redone == len(half.ids)


def test_the_similar_job_keeps_its_lists_for_the_next_run(tmp_path):
    annotations = tmp_path / "annotations.csv"
    corpus = _corpus(120, seed=6)
    with open(annotations, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["doc_id", "text", "codes", "coder"])
        writer.writerows([p.doc_id, p.text, "", "ann"] for p in corpus[:40])
        writer.writerow(["D99", "", "", "ann"])  # a row naming its passage only: no text

    def run(passages):
        table = tmp_path / "passages.csv"
        with open(table, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["passage_id", "text", "codable"])
            writer.writerows([p.passage_id, p.text, p.codable] for p in passages)
        lines = write_neighbours(table, [str(annotations)], tmp_path / "similar.json",
                                 tmp_path / ".cache" / "similar-state.pickle")
        return lines, json.loads((tmp_path / "similar.json").read_text())

    lines, first = run(corpus[:110])
    assert "term weights from 40 annotated passages" in lines
    assert f"{sum(p.codable for p in corpus[:110])} lists worked out afresh" in lines[2]
    lines, updated = run(corpus)
    assert int(lines[2].split()[0]) < 20
    (tmp_path / ".cache" / "similar-state.pickle").write_bytes(b"damaged")
    lines, fresh = run(corpus)
    assert lines[2].startswith(f"{sum(p.codable for p in corpus)} lists worked out afresh")
    assert "similar-state.pickle unreadable (UnpicklingError)" in lines[3]
    assert {pid: [other for _, other in found] for pid, found in updated["neighbours"].items()} \
        == {pid: [other for _, other in found] for pid, found in fresh["neighbours"].items()}
    assert first["neighbours"].keys() < fresh["neighbours"].keys()
