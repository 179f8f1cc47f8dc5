import csv
import json

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score

from interplay.annotations import AnnotationError, read_annotations
from interplay.cli import main
from interplay.codebook import load_codebook
from interplay.coder import NotFittedError, PassageCoder, looks_like_heading, summary_metrics


@pytest.fixture(scope="module")
def codebook(repo):
    return load_codebook(repo / "config" / "codebook.yaml")


def write_rows(path, rows, columns=("doc_id", "text", "codes", "coder")):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)
    return path


def test_annotation_errors_name_file_and_line(tmp_path, codebook):
    path = write_rows(tmp_path / "a.csv", [
        ("D1", "We tendered it.", "competition.tendering", "JR"),
        ("D1", "Odd one.", "competition.tendring", "JR"),
        ("D1", "", "", "JR")])
    with pytest.raises(AnnotationError) as error:
        read_annotations([path], codebook)
    assert f"{path}:3: unknown code(s) competition.tendring" in str(error.value)
    assert f"{path}:4: no text" in str(error.value)
    bad = write_rows(tmp_path / "b.csv", [("x", "y")], columns=("doc", "words"))
    with pytest.raises(AnnotationError, match="needs columns 'codes'"):
        read_annotations([bad], codebook)


def test_two_coders_on_one_passage_are_merged_with_a_warning(tmp_path, codebook):
    path = write_rows(tmp_path / "a.csv", [
        ("D1", "We tendered it.", "competition.tendering", "JR"),
        ("D1", "We  tendered it.", "competition.tendering;regulation.procurement_law", "AK")])
    result = read_annotations([path], codebook)
    [merged] = result.annotations
    assert merged.codes == ("competition.tendering", "regulation.procurement_law")
    assert "different codes" in result.warnings[0]


def test_summary_metrics_match_scikit_learn():
    rng = np.random.default_rng(0)
    Y = rng.integers(0, 2, size=(60, 3))
    P = np.where(rng.random((60, 3)) < 0.8, Y, 1 - Y)
    result = summary_metrics(Y, P, ["a", "b", "c"])
    assert result["macro_f1"] == pytest.approx(f1_score(Y, P, average="macro"))
    assert result["micro_f1"] == pytest.approx(f1_score(Y, P, average="micro"))
    assert result["per_code"]["b"]["kappa"] == pytest.approx(cohen_kappa_score(Y[:, 1], P[:, 1]))


def test_headings_are_not_coded():
    assert looks_like_heading("Complying with procurement rules – key questions", max_words=12)
    assert not looks_like_heading("We went out to tender in 2015.", max_words=12)


def test_unfitted_coder_says_what_to_do(codebook):
    with pytest.raises(NotFittedError, match="not trained"):
        PassageCoder(codebook).code(["text"])


@pytest.fixture(scope="module")
def trained_outputs(repo, tmp_path_factory):
    outputs = tmp_path_factory.mktemp("model") / "outputs"
    assert main(["train", "--outputs", str(outputs)]) == 0
    return outputs


def test_interplay_code_on_an_arbitrary_csv(trained_outputs, tmp_path, codebook):
    source = tmp_path / "in.csv"
    write_rows(source, [
        ("p1", "We put the whole community contract out to the market and three firms bid.",
         "x"),
        ("p2", ("The council and the CCG agreed to put their money in one pot under a section "
                "75 agreement."), "y"),
        ("p3", "The car park will be closed on Tuesday for resurfacing works.", "z"),
        ("p4", "", "w")], columns=("id", "text", "site"))
    out = tmp_path / "out.csv"
    assert main(["code", "--input", str(source), "--output", str(out),
                 "--outputs", str(trained_outputs)]) == 0
    with open(out, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    header = list(rows[0])
    assert header[:2] == ["id", "codes"]
    assert header[2:13] == [f"score:{c}" for c in codebook.ids]
    assert header[13:] == ["text", "site"]
    codes = {r["id"]: r["codes"].split(";") if r["codes"] else [] for r in rows}
    assert "competition.tendering" in codes["p1"]
    assert "cooperation.partnership" in codes["p2"]
    assert codes["p3"] == [] and codes["p4"] == []
    assert [r["site"] for r in rows] == ["x", "y", "z", "w"]


def test_interplay_code_refuses_a_table_without_text(trained_outputs, tmp_path, capsys):
    source = write_rows(tmp_path / "in.csv", [("p1", "x")], columns=("id", "body"))
    assert main(["code", "--input", str(source), "--output", str(tmp_path / "o.csv"),
                 "--outputs", str(trained_outputs)]) == 2
    assert "missing column(s) text" in capsys.readouterr().err


def test_training_report(trained_outputs):
    evaluation = json.loads((trained_outputs / "evaluation.json").read_text())
    cv = evaluation["cross_validation"]
    assert cv["codes_with_support"] == 11 and cv["passages"] > 900
    assert 0.6 < cv["macro_f1"] <= 1
    metrics = json.loads((trained_outputs / "model" / "metrics.json").read_text())
    assert metrics["trained_on"]["codebook_sha256"]


def test_dev_gold_regression_floor(trained_outputs, shared, codebook):
    """Measured on real passages coded by two coders (never trained on). The issue's targets
    are higher; this floor only catches regressions. See scripts/evaluate_dev_gold.py."""
    from interplay.training import load_model

    coder, _ = load_model(trained_outputs / "model" / "coder.joblib")
    lines = (shared / "data" / "dev-gold.jsonl").read_text(encoding="utf-8").splitlines()
    gold = [json.loads(line) for line in lines if line.strip()]
    truth = np.array([[c in g["codes"] for c in codebook.ids] for g in gold], dtype=int)
    predicted = np.array([[c in x.codes for c in codebook.ids]
                          for x in coder.code([g["text"] for g in gold])], dtype=int)
    result = summary_metrics(truth, predicted, codebook.ids)
    assert result["micro_f1"] >= 0.78 and result["macro_f1"] >= 0.65


def test_evidence_terms_are_content_words(trained_outputs, codebook):
    """Terms shown to a reviewer explain the code: none begins or ends with a stop word."""
    from spacy.lang.en.stop_words import STOP_WORDS

    from interplay.training import load_model

    coder, _ = load_model(trained_outputs / "model" / "coder.joblib")
    passage = ("The trust may be unlikely to bid, so the CCG put the community contract out "
               "to tender and three providers submitted bids.")
    [coding] = coder.code([passage])
    assert "competition.tendering" in coding.codes
    terms = [t for detail in coding.evidence.values() for t in detail["terms"]]
    assert terms
    assert all(t.split()[0] not in STOP_WORDS and t.split()[-1] not in STOP_WORDS
               for t in terms)


def test_coding_nothing_gives_nothing(trained_outputs):
    from interplay.training import load_model

    coder, _ = load_model(trained_outputs / "model" / "coder.joblib")
    assert coder.code([]) == []


def test_annotation_files_weigh_as_the_settings_say(tmp_path, codebook):
    from pydantic import ValidationError

    from interplay.config import CodingSettings
    from interplay.training import training_data

    settings = CodingSettings(annotation_weights={"press_extra.csv": 1, "press_*.csv": 3})
    files = [write_rows(tmp_path / "press_2.csv", [("D1", "We tendered it.", "", "JR")]),
             write_rows(tmp_path / "press_extra.csv", [("D2", "We pooled it.", "", "JR")]),
             write_rows(tmp_path / "site.csv", [("D3", "We met them.", "", "JR")])]
    texts, _, _, is_passage, weights = training_data(
        read_annotations(files, codebook), codebook, use_examples=True, settings=settings)
    by_text = dict(zip(texts, weights, strict=True))
    assert (by_text["We tendered it."], by_text["We pooled it."], by_text["We met them."]) == \
        (3, 1, 1)
    assert len(weights) > 3 and (weights[~is_passage] == 1).all()  # codebook examples
    with pytest.raises(ValidationError, match=r"a weight must be above 0 \('press_\*.csv': 0"):
        CodingSettings(annotation_weights={"press_*.csv": 0})


def test_weights_reach_the_classifier_and_its_calibration(codebook):
    tender = ["The contract went out to open tender and {} providers bid for it.",
              "We ran a procurement and {} bidders competed on price and quality.",
              "The service was put out to the market and {} firms submitted bids."]
    other = ["The weather in {} was awful and the trains were late again.",
             "We talked about the car park and the {} new parking permits.",
             "Lunch was sandwiches, and {} of us stayed for the afternoon session."]
    words = ["two", "three", "four", "five", "six", "seven", "eight"]
    texts = [t.format(w) for t in tender for w in words] + [o.format(w) for o in other
                                                           for w in words]
    tendering = codebook.ids.index("competition.tendering")
    Y = np.zeros((len(texts), len(codebook.ids)), dtype=int)
    Y[: len(words) * len(tender), tendering] = 1
    groups = [f"D{i}" for i in range(len(texts))]
    query = ["The contract went out to tender and providers bid."]
    even = PassageCoder(codebook).fit(texts, Y, groups)
    light = PassageCoder(codebook).fit(texts, Y, groups, sample_weight=np.where(
        Y[:, tendering] == 1, 0.05, 1.0))
    assert light.score(query)[0][0, tendering] < even.score(query)[0][0, tendering] - 0.05
