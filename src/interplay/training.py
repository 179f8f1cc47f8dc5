"""Training and applying the coder at the workflow's edges: files in, files out.

A trained model is stored with the fingerprint of what it was trained on (codebook,
annotation files, settings, seed), so `interplay code` can tell a stale model from a
current one and retrain rather than silently code with the wrong codebook.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
from pathlib import Path

import joblib
import numpy as np

from interplay import __version__
from interplay.annotations import Annotation, AnnotationSet, read_annotations
from interplay.codebook import Codebook, file_hash, load_codebook
from interplay.coder import Coding, PassageCoder
from interplay.config import CodingSettings
from interplay.errors import InterplayError
from interplay.fileio import atomic_open, read_json, write_csv, write_json
from interplay.passage_table import MACHINE
from interplay.reliability import CROSS_VALIDATED_COLUMNS
from interplay.review import (
    Decision,
    ReviewSet,
    decision_digests,
    read_review_sheets,
    resolve,
    training_rows,
    write_decisions,
)
from interplay.segment import PASSAGE_COLUMNS

CODED_COLUMNS = ("passage_id", "doc_id", "site", "actor", "kind", "speaker_role", "page",
                 "start", "end", "text", "codes", "orientation", "coded_by", "machine_codes",
                 "review_status", "review_comments")


def fingerprint(codebook_path: str | Path, annotation_paths: list[str | Path],
                settings: CodingSettings, seed: int, review_dir: str | Path | None = None
                ) -> dict:
    return {
        "interplay": __version__,
        "codebook_sha256": file_hash(codebook_path),
        "annotations_sha256": {Path(p).name: file_hash(p) for p in sorted(map(str, annotation_paths))},
        "reviews": decision_digests(review_dir).training if review_dir else "",
        "settings": settings.model_dump(),
        "seed": seed,
    }


def _normal(text: str) -> str:
    return " ".join(text.split())


def reviewed_training_rows(annotations: AnnotationSet, reviews: list[Decision]
                           ) -> tuple[list[Decision], list[str]]:
    """Reviewed passages not already in the annotations: the annotations are the adjudicated
    gold standard, so where a review covers the same passage the annotation is kept (and a
    disagreement reported) rather than one silently replacing the other."""
    annotated = {(a.doc_id, _normal(a.text)): a for a in annotations.annotations}
    kept, warnings = [], []
    for item in reviews:
        gold = annotated.get((item.doc_id, _normal(item.text)))
        if gold is None:
            kept.append(item)
        elif set(gold.codes) != set(item.codes):
            warnings.append(f"{item.where}: {item.reviewer} codes "
                            f"{';'.join(item.codes) or 'none'} where {gold.source} has "
                            f"{';'.join(gold.codes) or 'none'}: trained on the annotation")
    return kept, warnings


def training_data(annotations: AnnotationSet, codebook: Codebook, *, use_examples: bool,
                  reviewed: list[Decision] = (), settings: CodingSettings | None = None
                  ) -> tuple[list[str], np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Texts, labels, groups (document), which rows are human-coded passages, and each
    row's weight in training (`settings.annotation_weights`, by annotation file; 1 for
    reviewed passages and codebook examples).

    Codebook examples and reviewed passages are extra training rows: they never count in
    the cross-validated metrics, which therefore stay comparable before and after review
    (always measured on the annotations). A reviewed passage is grouped with its document,
    so it never trains a fold that evaluates that document.
    """
    settings = settings or CodingSettings()
    texts, labels, groups, is_passage, weights = [], [], [], [], []
    for item in annotations.annotations:
        texts.append(item.text)
        labels.append([code in item.codes for code in codebook.ids])
        groups.append(item.doc_id)
        is_passage.append(True)
        weights.append(settings.annotation_weight(item.file_name))
    for item in reviewed:
        texts.append(item.text)
        labels.append([code in item.codes for code in codebook.ids])
        groups.append(item.doc_id)
        is_passage.append(False)
        weights.append(1.0)
    if use_examples:
        for code in codebook.codes:
            for example in code.examples:
                texts.append(example)
                labels.append([other == code.id for other in codebook.ids])
                groups.append(f"codebook:{code.id}")
                is_passage.append(False)
                weights.append(1.0)
    return (texts, np.array(labels, dtype=int), groups, np.array(is_passage),
            np.array(weights, dtype=float))


def _fit(codebook: Codebook, annotations: AnnotationSet, reviewed: list[Decision], *,
         settings: CodingSettings, seed: int) -> tuple[PassageCoder, np.ndarray, np.ndarray]:
    texts, Y, groups, is_passage, weights = training_data(
        annotations, codebook, use_examples=settings.use_codebook_examples, reviewed=reviewed,
        settings=settings)
    coder = PassageCoder(codebook, C=settings.C, min_words=settings.min_words,
                         heading_max_words=settings.heading_max_words,
                         rule_weight=settings.rule_weight, folds=settings.folds, seed=seed)
    return coder.fit(texts, Y, groups, evaluate=is_passage, sample_weight=weights), Y, is_passage


def cross_validated_rows(annotations: list[Annotation], predicted: np.ndarray,
                         ids: list[str]) -> list[dict]:
    """model/cross_validated.csv: each annotated passage's human codes beside the codes the
    model of the fold that did not see its document gave it (a reference for reliability)."""
    return [{"passage_id": item.passage_id, "doc_id": item.doc_id, "source": item.source,
             "human_codes": ";".join(c for c in ids if c in item.codes),
             "predicted_codes": ";".join(c for c, p in zip(ids, row) if p)}
            for item, row in zip(annotations, predicted, strict=True)]


def train(codebook_path: str | Path, annotation_paths: list[str | Path], *,
          settings: CodingSettings, seed: int, review_dir: str | Path | None = None
          ) -> tuple[PassageCoder, dict, list[dict]]:
    """Train on the annotations plus reviewed passages. With reviews, a second model is
    cross-validated without them, so the report holds the metrics before and after.
    Returns the coder, the report and the rows of model/cross_validated.csv."""
    if not annotation_paths:
        raise InterplayError("no annotation files found (corpus/annotations/*.csv): the coder "
                             "needs human-coded passages to learn from")
    codebook = load_codebook(codebook_path)
    annotations = read_annotations(annotation_paths, codebook)
    reviews = read_review_sheets(review_dir, codebook) if review_dir else ReviewSet()
    decided, review_warnings = training_rows(reviews)
    reviewed, overlap_warnings = reviewed_training_rows(annotations, decided)
    coder, Y, is_passage = _fit(codebook, annotations, reviewed, settings=settings, seed=seed)
    passages = annotations.annotations
    learning = {"reviewed_passages": len(reviewed),
                "reviewers": sorted({d.reviewer for d in reviews.valid()
                                     if d.passage_id in {r.passage_id for r in reviewed}}),
                "warnings": review_warnings + overlap_warnings}
    if reviewed:
        before, _, _ = _fit(codebook, annotations, [], settings=settings, seed=seed)
        learning["before"] = before.cv_metrics_
        learning["after"] = coder.cv_metrics_
        learning["measured_on"] = ("the annotations, cross-validated by document; reviewed "
                                   "passages train but are never scored")
    report = {
        "cross_validation": coder.cv_metrics_,
        "method": (f"{coder.folds}-fold cross-validation grouped by document; per-code "
                   "threshold: the lowest within two F1 points of the best F1 on the out-of-fold "
                   "scores"),
        "training": {
            "passages": len(passages),
            "documents": len({a.doc_id for a in passages}),
            "coders": sorted({a.coder for a in passages}),
            "codebook_examples": int((~is_passage).sum()),
            "positives_per_code": {c: int(Y[is_passage, j].sum())
                                   for j, c in enumerate(codebook.ids)},
            "warnings": annotations.warnings,
        },
        "learning_from_review": learning,
        "trained_on": fingerprint(codebook_path, annotation_paths, settings, seed, review_dir),
    }
    return coder, report, cross_validated_rows(passages, coder.oof_predicted_, codebook.ids)


def save_model(path: str | Path, coder: PassageCoder, report: dict) -> None:
    with atomic_open(path, "wb") as handle:
        joblib.dump({"coder": coder, "trained_on": report["trained_on"]}, handle)


def load_model(path: str | Path) -> tuple[PassageCoder, dict]:
    stored = joblib.load(path)
    return stored["coder"], stored["trained_on"]


@functools.lru_cache(maxsize=2)
def _model_as_saved(path: str, mtime_ns: int, size: int) -> tuple[PassageCoder, dict]:
    return load_model(path)


def load_model_cached(path: str | Path) -> tuple[PassageCoder, dict]:
    """The model at `path`, loaded once per process while the file stays the same: a run's
    code jobs share worker processes, and loading took longer than coding a document."""
    stat = Path(path).stat()
    return _model_as_saved(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


def model_id(trained_on: dict) -> str:
    return hashlib.sha256(json.dumps(trained_on, sort_keys=True).encode()).hexdigest()[:12]


def train_to_files(codebook_path: str, annotation_paths: list[str], model_path: str,
                   metrics_path: str, evaluation_path: str, cross_validated_path: str, *,
                   settings: CodingSettings, seed: int,
                   review_dir: str | Path | None = None) -> dict:
    coder, report, cross_validated = train(codebook_path, annotation_paths, settings=settings,
                                           seed=seed, review_dir=review_dir)
    write_csv(cross_validated_path, CROSS_VALIDATED_COLUMNS, cross_validated)
    save_model(model_path, coder, report)
    write_json(metrics_path, {**report, "model_id": model_id(report["trained_on"])})
    write_json(evaluation_path, {k: report[k] for k in ("cross_validation", "method", "training",
                                                        "learning_from_review")})
    return report


def training_log(report: dict) -> list[str]:
    """The train job's log: what it learnt from and how well, before and after review."""
    cv = report["cross_validation"]
    lines = [f"trained on {report['training']['passages']} annotated passages",
             (f"cross-validated macro-F1 {cv['macro_f1']:.3f}, micro-F1 {cv['micro_f1']:.3f}, "
              f"mean kappa {cv['mean_kappa']:.3f}")]
    learning = report["learning_from_review"]
    if learning["reviewed_passages"]:
        before = learning["before"]
        lines.append(f"plus {learning['reviewed_passages']} reviewed passages "
                     f"({', '.join(learning['reviewers'])}); without them macro-F1 "
                     f"{before['macro_f1']:.3f}, micro-F1 {before['micro_f1']:.3f}, "
                     f"mean kappa {before['mean_kappa']:.3f}")
    return [*lines, *report["training"]["warnings"], *learning["warnings"]]


def evidence_summary(coding: Coding) -> str:
    """Readable evidence for a table cell: rule matches with offsets, then strongest terms."""
    parts = []
    for code, detail in coding.evidence.items():
        rules = ", ".join(f'"{r["text"]}" [{r["start"]}-{r["end"]}]' for r in detail["rules"])
        terms = ", ".join(detail["terms"])
        parts.append(f"{code}: " + "; ".join(x for x in (rules, f"terms: {terms}" if terms
                                                             else "") if x))
    return " | ".join(parts)


def code_document_to_file(passages_path: str, model_path: str, out_path: str) -> int:
    """Code one document's codable passages; write codings with scores and evidence."""
    coder, trained_on = load_model_cached(model_path)
    data = read_json(passages_path)
    codable = [p for p in data["passages"] if p["codable"]]
    codings = coder.code([p["text"] for p in codable])
    write_json(out_path, {
        "doc_id": data["doc_id"], "model_id": model_id(trained_on),
        "codings": [{"passage_id": p["passage_id"], "codes": c.codes, "scores": c.scores,
                     "evidence": c.evidence} for p, c in zip(codable, codings)]})
    return sum(1 for c in codings if c.codes)


def collect_coded(passage_files: list[str], coded_files: list[str], codebook_path: str,
                  out_csv: str, *, review_dir: str | Path | None = None,
                  decisions_csv: str | None = None) -> int:
    """coded_passages.csv: every passage, its final codes (a reviewer's decision wins over
    the machine), who gave them, orientation, the machine's scores and evidence; and
    review_decisions.csv: what became of every decided row of the review sheets."""
    codebook = load_codebook(codebook_path)
    codings = {}
    for path in coded_files:
        for item in read_json(path)["codings"]:
            codings[item["passage_id"]] = item
    passages = [(path, p) for path in sorted(passage_files) for p in read_json(path)["passages"]]
    reviews = read_review_sheets(review_dir, codebook) if review_dir else ReviewSet()
    resolution = resolve(reviews, {pid: tuple(item["codes"]) for pid, item in codings.items()},
                         {p["passage_id"] for _, p in passages})
    if decisions_csv:
        write_decisions(decisions_csv, resolution.decisions)
    columns = [*CODED_COLUMNS, *(f"score:{c}" for c in codebook.ids), "evidence"]
    with atomic_open(out_csv) as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for _, passage in passages:
            row = {k: passage[k] for k in PASSAGE_COLUMNS if k in CODED_COLUMNS}
            item = codings.get(passage["passage_id"])
            if item:
                row["codes"] = row["machine_codes"] = ";".join(item["codes"])
                row["coded_by"] = MACHINE
                row.update({f"score:{c}": item["scores"][c] for c in codebook.ids})
                row["evidence"] = evidence_summary(Coding(
                    codes=item["codes"], scores=item["scores"], evidence=item["evidence"]))
            review = resolution.by_passage.get(passage["passage_id"])
            if review:
                # in codebook order, as the machine's codes are, whoever gave them
                row.update(codes=";".join(sorted(review.codes, key=codebook.ids.index)),
                           coded_by=review.coded_by,
                           review_status=review.status, review_comments=review.comments)
            if row.get("coded_by"):
                row["orientation"] = codebook.orientation(row["codes"].split(";")
                                                          if row["codes"] else [])
            writer.writerow(row)
    return len(passages)


def code_table(coder: PassageCoder, table):
    """Code a table of passages (columns id, text): id, codes, score per code, then the
    table's other columns unchanged."""
    codings = coder.code(table["text"].tolist(), with_evidence=False)
    out = table[["id"]].copy()
    out["codes"] = [";".join(c.codes) for c in codings]
    for code in coder.codebook.ids:
        out[f"score:{code}"] = [c.scores[code] for c in codings]
    for column in table.columns:
        if column != "id":
            out[column] = table[column]
    return out
