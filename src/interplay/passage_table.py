"""coded_passages.csv read back as typed rows, for the stages that present the coding.

The CSV is the one table every presentation stage starts from (charts, report); reading it
in one place keeps the convention that a passage is codable exactly when its score
columns are filled, rather than each reader rediscovering it.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from interplay.fileio import read_once_per_version

SCORE_PREFIX = "score:"
MACHINE = "machine"
# review_status: the reviewers' final codes equal the machine's ("agrees"), differ from
# them ("changed"), or two reviewers disagree and the machine's codes stand ("conflict").
REVIEW_STATUSES = ("", "agrees", "changed", "conflict")


@dataclass(frozen=True)
class CodedPassage:
    """One passage of coded_passages.csv; `scores` is empty when it was not codable."""

    passage_id: str
    doc_id: str
    site: str
    actor: str
    kind: str
    speaker_role: str
    page: str
    start: int
    end: int
    text: str
    codes: tuple[str, ...]
    orientation: str
    scores: dict[str, float] = field(default_factory=dict)
    coded_by: str = ""  # "machine", or the reviewers whose decision gave `codes` ("a;b")
    machine_codes: tuple[str, ...] = ()
    review_status: str = ""  # "", "agrees", "changed" or "conflict" (see REVIEW_STATUSES)
    review_comments: str = ""

    @property
    def codable(self) -> bool:
        return bool(self.scores)

    @property
    def reviewers(self) -> tuple[str, ...]:
        """Who decided this passage's final codes (empty when the machine did)."""
        return () if self.coded_by in ("", MACHINE) else tuple(self.coded_by.split(";"))

    @property
    def disagrees_with_machine(self) -> bool:
        """A reviewer changed the machine's codes, or reviewers disagree with each other."""
        return self.review_status in ("changed", "conflict")


def passage_from_row(row: dict[str, str], score_columns: Iterable[str] | None = None
                     ) -> CodedPassage:
    """A CodedPassage from a coded_passages.csv row; `score_columns`, the row's keys that
    start with SCORE_PREFIX, saves looking for them row by row in a long table."""
    if score_columns is None:
        score_columns = [key for key in row if key.startswith(SCORE_PREFIX)]
    scores = {key[len(SCORE_PREFIX):]: float(value) for key in score_columns
              if (value := row[key]) not in ("", None)}
    return CodedPassage(
        passage_id=row["passage_id"], doc_id=row["doc_id"], site=row["site"],
        actor=row["actor"], kind=row["kind"], speaker_role=row.get("speaker_role") or "",
        page=row.get("page") or "", start=int(row["start"]), end=int(row["end"]),
        text=row["text"], codes=_codes(row.get("codes")),
        orientation=row.get("orientation") or "", scores=scores,
        coded_by=row.get("coded_by") or "", machine_codes=_codes(row.get("machine_codes")),
        review_status=row.get("review_status") or "",
        review_comments=row.get("review_comments") or "")


def _codes(value: str | None) -> tuple[str, ...]:
    return tuple(c for c in (value or "").split(";") if c)


def read_coded_passages(path: str | os.PathLike) -> list[CodedPassage]:
    """Every row of coded_passages.csv, in file order (documents in order, passages in
    order). Read once per process while the file stays the same (six jobs of a run read
    it); the list is the caller's, the passages in it are shared: never change them."""
    return list(_read_once(path))


def _read(path: Path) -> tuple[CodedPassage, ...]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        score_columns = [key for key in reader.fieldnames or () if key.startswith(SCORE_PREFIX)]
        return tuple(passage_from_row(row, score_columns) for row in reader)


_read_once = read_once_per_version(_read, versions=1)


def share_with_code(passages: Iterable[CodedPassage], code: str) -> float:
    """Passages carrying `code` as a share of the codable ones (0 when none are codable)."""
    codable = [p for p in passages if p.codable]
    if not codable:
        return 0.0
    return sum(1 for p in codable if code in p.codes) / len(codable)
