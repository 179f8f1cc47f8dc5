"""Per-document problems: one bad document is reported in problems.csv, never fatal to the rest."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

from interplay.fileio import write_csv

PROBLEM_COLUMNS = ("doc_id", "path", "severity", "stage", "problem", "hint")


@dataclass(frozen=True)
class Problem:
    doc_id: str
    path: str
    severity: str  # "error": the document is missing from the results; "warning": it is not
    stage: str
    problem: str
    hint: str


def write_problems(path: str | Path, problems: list[Problem]) -> None:
    ordered = sorted(problems, key=lambda p: (p.severity, p.doc_id, p.stage, p.problem))
    write_csv(path, PROBLEM_COLUMNS, (asdict(problem) for problem in ordered))


def read_problems(path: str | Path) -> list[Problem]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [Problem(**row) for row in csv.DictReader(handle)]
