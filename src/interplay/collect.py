"""Corpus-wide tables gathered from the per-document outputs."""

from __future__ import annotations

import csv

from interplay.fileio import atomic_open, read_json
from interplay.metadata import read_corpus
from interplay.problems import Problem, write_problems
from interplay.review import problem_for_decision, read_decisions
from interplay.segment import PASSAGE_COLUMNS


def collect_passages(passage_files: list[str], out_csv: str) -> int:
    """One row per passage of every document, in document order; returns the row count."""
    count = 0
    with atomic_open(out_csv) as handle:
        writer = csv.DictWriter(handle, fieldnames=PASSAGE_COLUMNS)
        writer.writeheader()
        for path in sorted(passage_files):
            for row in read_json(path)["passages"]:
                writer.writerow(row)
                count += 1
    return count


def collect_problems(corpus_dir: str, info_files: list[str], passage_files: list[str],
                     out_csv: str, *, decisions_csv: str | None = None) -> list[Problem]:
    """Metadata faults, unreadable documents, structural warnings and review decisions that
    could not be applied, one row each."""
    index = read_corpus(corpus_dir)
    problems = list(index.problems)
    for path in sorted(info_files):
        info = read_json(path)
        if "problem" in info:
            problems.append(Problem(info["doc_id"], info["path"], "error", "extract",
                                    info["problem"]["problem"], info["problem"]["hint"]))
        for warning in info["warnings"]:
            problems.append(Problem(info["doc_id"], info["path"], "warning", "extract", warning,
                                    "check the extracted text in outputs/text/"))
    paths = {d.doc_id: d.path for d in index.documents}
    for path in sorted(passage_files):
        data = read_json(path)
        for warning in data["warnings"]:
            problems.append(Problem(data["doc_id"], paths.get(data["doc_id"], ""), "warning",
                                    "segment", warning, "check the speaker labels in the transcript"))
    problems.extend(index.warnings)
    if decisions_csv:
        problems.extend(problem_for_decision(row) for row in read_decisions(decisions_csv)
                        if row["status"] != "applied")
    write_problems(out_csv, problems)
    return problems
