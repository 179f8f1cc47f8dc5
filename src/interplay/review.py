"""Review sheets: reviewers' decisions on machine-coded passages, and how they apply.

A reviewer works in `corpus/reviews/<NAME>.xlsx` (or `.csv`), one row per passage:

    passage_id, doc_id, site, text, machine_codes, machine_scores, selected_as,
    decision, codes, comment

`decision` is accept, reject or edit (empty: not reviewed yet). The reviewer's final
codes are the `codes` cell when it is filled; otherwise accept means the machine codes the
row shows, reject means no code, and edit without codes is refused as ambiguous.

`interplay review` only ever appends rows to a sheet: existing rows, decisions and
comments are never rewritten. The pipeline only reads sheets. Decisions attach by
passage_id; a decision whose passage no longer exists (its document changed) is orphaned:
reported, kept in the sheet, never applied elsewhere. Two reviewers giving one passage
different codes is a conflict: reported, and the machine's codes stand until they agree.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import re
import shutil
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from difflib import SequenceMatcher
from pathlib import Path
from typing import NamedTuple

from interplay.annotations import split_codes
from interplay.codebook import Codebook
from interplay.errors import InterplayError
from interplay.fileio import write_csv
from interplay.passage_table import MACHINE, CodedPassage
from interplay.problems import Problem

SHEET_COLUMNS = ("passage_id", "doc_id", "site", "text", "machine_codes", "machine_scores",
                 "selected_as", "decision", "codes", "comment")
REQUIRED_COLUMNS = ("passage_id", "decision")
DECISIONS = ("accept", "reject", "edit")
SHEET_SUFFIXES = (".xlsx", ".csv")
REVIEWER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SHEET_NAME = "review"
DECISION_COLUMNS = ("reviewer", "sheet", "row", "passage_id", "doc_id", "decision",
                    "shown_machine_codes", "reviewer_codes", "comment", "status", "problem")


def sheet_read_errors() -> tuple[type[Exception], ...]:
    """What reading a damaged or mislabelled sheet raises (openpyxl, zipfile, csv,
    decoding). A function, so openpyxl is imported only where a sheet is read: the
    Snakefile imports this module to plan every run."""
    from openpyxl.utils.exceptions import InvalidFileException

    return (OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile, csv.Error,
            InvalidFileException)


class ReviewError(InterplayError):
    code = "E007"


@dataclass(frozen=True)
class Decision:
    """One decided row of a review sheet, checked against the codebook."""

    reviewer: str
    sheet: str  # file name within the reviews folder
    row: int  # spreadsheet row number (the header is row 1)
    passage_id: str
    doc_id: str
    text: str
    decision: str
    codes: tuple[str, ...]  # the reviewer's final codes
    shown_machine_codes: tuple[str, ...] | None  # None when the sheet has no such column
    comment: str
    problem: str = ""  # why the row cannot be applied (status "invalid")

    @property
    def where(self) -> str:
        return f"reviews/{self.sheet} row {self.row}"


@dataclass
class ReviewSet:
    """Every decided row of every sheet, plus sheets that could not be read at all."""

    decisions: list[Decision] = field(default_factory=list)
    unreadable: list[Problem] = field(default_factory=list)

    def valid(self) -> list[Decision]:
        return [d for d in self.decisions if not d.problem]


# --- reading ---------------------------------------------------------------------------------

def sheet_paths(review_dir: str | os.PathLike) -> list[Path]:
    """The review sheets in a folder (Excel's `~$` lock files are not sheets)."""
    folder = Path(review_dir)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in SHEET_SUFFIXES and not p.name.startswith(("~$", ".")))


def _cell(value) -> str:
    return "" if value is None else str(value).strip()


def raw_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (row number, values) of a sheet, as text, whatever its format."""
    if path.suffix.lower() == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [_cell(h).lower() for h in next(reader, [])]
            rows = [(number, dict(zip(header, map(_cell, values))))
                    for number, values in enumerate(reader, start=2)]
        return header, rows
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook[SHEET_NAME] if SHEET_NAME in workbook.sheetnames else workbook.worksheets[0]
        values = sheet.iter_rows(values_only=True)
        header = [_cell(h).lower() for h in next(values, ())]
        rows = [(number, dict(zip(header, map(_cell, row))))
                for number, row in enumerate(values, start=2)]
    finally:
        workbook.close()
    return header, rows


def reviewer_of(path: Path) -> str:
    return path.stem


def read_review_sheets(review_dir: str | os.PathLike, codebook: Codebook) -> ReviewSet:
    """Every decided row of every sheet; a bad row is kept with its problem, a sheet that
    cannot be read is listed as unreadable, and neither stops the others."""
    result = ReviewSet()
    known = set(codebook.ids)
    for path in sheet_paths(review_dir):
        reviewer = reviewer_of(path)
        if not REVIEWER_NAME.match(reviewer) or reviewer.lower() == MACHINE:
            result.unreadable.append(_sheet_problem(
                path, f"'{reviewer}' cannot name a reviewer",
                "name the sheet after the reviewer: letters, digits, '.', '_', '-', not 'machine'"))
            continue
        try:
            header, rows = raw_rows(path)
        except sheet_read_errors() as error:  # a corrupt workbook must not lose the other sheets
            result.unreadable.append(_sheet_problem(
                path, f"cannot read the sheet ({type(error).__name__}: {error})",
                "save it again as .xlsx or UTF-8 .csv; its decisions are not applied"))
            continue
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            result.unreadable.append(_sheet_problem(
                path, f"missing column(s) {', '.join(missing)}",
                f"a review sheet needs the columns {', '.join(SHEET_COLUMNS)}"))
            continue
        has_machine_codes = "machine_codes" in header
        for number, values in rows:
            if not values.get("decision"):
                continue
            result.decisions.append(_decision(reviewer, path.name, number, values, known,
                                              has_machine_codes))
    result.decisions = _refuse_double_decisions(result.decisions)
    return result


def _sheet_problem(path: Path, problem: str, hint: str) -> Problem:
    return Problem("", f"reviews/{path.name}", "error", "review", problem, hint)


def _decision(reviewer: str, sheet: str, number: int, values: dict[str, str],
              known: set[str], has_machine_codes: bool) -> Decision:
    decision = values["decision"].lower()
    shown = tuple(split_codes(values.get("machine_codes", ""))) if has_machine_codes else None
    given = split_codes(values.get("codes", ""))
    problem = ""
    if decision not in DECISIONS:
        problem = f"decision '{values['decision']}' is not one of {', '.join(DECISIONS)}"
    elif unknown := [c for c in given if c not in known]:
        problem = f"unknown code(s) {', '.join(unknown)} (use the IDs in the sheet 'codes')"
    elif not values.get("passage_id"):
        problem = "no passage_id"
    elif decision == "edit" and not given:
        problem = "edit with no codes: write the codes, or use reject for no code"
    elif decision == "accept" and not given and shown is None:
        problem = "accept, but the sheet has no machine_codes column to accept"
    if given:
        codes = tuple(sorted(set(given)))
    elif decision == "accept" and shown is not None:
        codes = tuple(sorted(set(shown)))
    else:
        codes = ()
    passage_id = values.get("passage_id", "")
    return Decision(reviewer=reviewer, sheet=sheet, row=number, passage_id=passage_id,
                    doc_id=values.get("doc_id") or passage_id.split(":")[0],
                    text=values.get("text", ""), decision=decision, codes=codes,
                    shown_machine_codes=shown, comment=values.get("comment", ""),
                    problem=problem)


def _refuse_double_decisions(decisions: list[Decision]) -> list[Decision]:
    """One reviewer deciding a passage twice with different codes cannot be read either way."""
    seen: dict[tuple[str, str], list[Decision]] = defaultdict(list)
    for item in decisions:
        if not item.problem:
            seen[(item.reviewer, item.passage_id)].append(item)
    refused = {}
    for items in seen.values():
        if len({d.codes for d in items}) > 1:
            rows = ", ".join(d.where for d in items)
            for item in items:
                refused[id(item)] = f"decided more than once with different codes ({rows})"
    out = []
    for item in decisions:
        if id(item) in refused:
            item = Decision(**{**asdict(item), "problem": refused[id(item)]})
        out.append(item)
    return out


TRAINING_KEYS = ("passage_id", "doc_id", "text", "machine_codes", "decision", "codes")


class DecisionDigests(NamedTuple):
    decisions: str  # everything decided, comments included
    training: str  # only what training reads: passage text and codes


def decision_digests(review_dir: str | os.PathLike) -> DecisionDigests:
    """Hashes of what the sheets decide, so the workflow reruns when a decision changes and
    not when `interplay review` merely appends undecided rows; a changed comment reaches
    the outputs without retraining. Each sheet is read once for both (the Snakefile asks
    for them whenever it is parsed)."""
    everything, training = hashlib.sha256(), hashlib.sha256()
    for path in sheet_paths(review_dir):
        try:
            _, rows = raw_rows(path)
        except sheet_read_errors():
            unreadable = path.name.encode() + hashlib.sha256(path.read_bytes()).digest()
            everything.update(unreadable)
            training.update(unreadable)
            continue
        for number, values in rows:
            if values.get("decision"):
                for digest, keys in ((everything, SHEET_COLUMNS), (training, TRAINING_KEYS)):
                    digest.update(json.dumps([path.name, number,
                                              *(values.get(k, "") for k in keys)]).encode())
    return DecisionDigests(everything.hexdigest()[:16], training.hexdigest()[:16])


# --- applying --------------------------------------------------------------------------------

@dataclass(frozen=True)
class PassageReview:
    """What the reviews make of one passage."""

    codes: tuple[str, ...]  # the final codes
    coded_by: str  # reviewer names joined by ';', or "machine" in a conflict
    status: str  # "agrees", "changed" or "conflict"
    comments: str


@dataclass
class Resolution:
    by_passage: dict[str, PassageReview]
    decisions: list[dict]  # rows of review_decisions.csv, one per decided row or bad sheet


def resolve(reviews: ReviewSet, machine_codes: dict[str, tuple[str, ...]],
            passage_ids: set[str]) -> Resolution:
    """Apply valid decisions to the passages that exist (`machine_codes`: each coded
    passage's machine codes). Orphans, invalid rows and conflicts are recorded with their
    reason, never guessed at."""
    attached: dict[str, list[Decision]] = defaultdict(list)
    outcome: dict[int, tuple[str, str]] = {}
    for item in reviews.decisions:
        if item.problem:
            outcome[id(item)] = ("invalid", item.problem)
        elif item.passage_id not in passage_ids:
            outcome[id(item)] = ("orphaned", ("the passage no longer exists (its document "
                                              "changed or was removed); not applied"))
        else:
            attached[item.passage_id].append(item)
    by_passage = {}
    for passage_id, items in attached.items():
        machine = tuple(sorted(machine_codes.get(passage_id, ())))
        comments = " | ".join(f"{d.reviewer}: {d.comment}" for d in items if d.comment)
        finals = {d.codes for d in items}
        if len(finals) > 1:
            detail = "; ".join(f"{d.reviewer} ({d.where}): {';'.join(d.codes) or 'no code'}"
                               for d in items)
            for item in items:
                outcome[id(item)] = ("conflict", (f"reviewers disagree ({detail}); the "
                                                  "machine's codes stand"))
            by_passage[passage_id] = PassageReview(machine, MACHINE, "conflict", comments)
            continue
        for item in items:
            outcome[id(item)] = ("applied", "")
        final = next(iter(finals))
        by_passage[passage_id] = PassageReview(
            final, ";".join(sorted({d.reviewer for d in items})),
            "agrees" if final == machine else "changed", comments)
    rows = [{"reviewer": d.reviewer, "sheet": d.sheet, "row": d.row,
             "passage_id": d.passage_id, "doc_id": d.doc_id, "decision": d.decision,
             "shown_machine_codes": ";".join(
                 d.shown_machine_codes if d.shown_machine_codes is not None
                 else sorted(machine_codes.get(d.passage_id, ()))),
             "reviewer_codes": ";".join(d.codes), "comment": d.comment,
             "status": outcome[id(d)][0], "problem": outcome[id(d)][1]}
            for d in reviews.decisions]
    rows += [{"reviewer": reviewer_of(Path(p.path)), "sheet": Path(p.path).name, "row": "",
              "status": "unreadable", "problem": f"{p.problem}; {p.hint}"}
             for p in reviews.unreadable]
    return Resolution(by_passage, rows)


HINTS = {
    "invalid": "correct the row in the sheet; it is not applied until then",
    "orphaned": "the row stays in the sheet; `interplay review` adds the passage's new "
                "version, when there is one, for a fresh decision",
    "conflict": "the reviewers agree on the codes and one of them changes their row",
    "unreadable": "no decision in this sheet is applied until it can be read",
}


def problem_for_decision(row: dict) -> Problem:
    """A problems.csv row for a decision that was not applied."""
    where = f"row {row['row']} ({row['passage_id']}): " if row.get("row") else ""
    severity = "warning" if row["status"] in ("orphaned", "conflict") else "error"
    return Problem(row.get("doc_id") or "", f"reviews/{row['sheet']}", severity, "review",
                   f"{row['reviewer']}: {where}{row['problem']}", HINTS[row["status"]])


def write_decisions(path: str | os.PathLike, rows: list[dict]) -> None:
    write_csv(path, DECISION_COLUMNS, rows)


def read_decisions(path: str | os.PathLike) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def training_rows(reviews: ReviewSet) -> tuple[list[Decision], list[str]]:
    """Valid decisions to learn from: one per passage, and none where reviewers conflict
    or the row carries no text. Returns them with warnings for what was left out."""
    warnings = []
    by_passage: dict[str, list[Decision]] = defaultdict(list)
    for item in reviews.valid():
        by_passage[item.passage_id].append(item)
    chosen = []
    for passage_id, items in sorted(by_passage.items()):
        if len({d.codes for d in items}) > 1:
            warnings.append(f"{passage_id}: reviewers disagree; not trained on until they agree")
        elif not items[0].text.strip():
            warnings.append(f"{items[0].where}: no text in the row; not trained on")
        else:
            chosen.append(items[0])
    return chosen, warnings


# --- writing sheets --------------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    passage: CodedPassage
    margin: float  # distance of the closest score to its code's threshold
    nearest_code: str


def candidates(passages: Iterable[CodedPassage], thresholds: dict[str, float]) -> list[Candidate]:
    """Codable passages with their uncertainty: how close any code's score is to its threshold."""
    found = []
    for passage in passages:
        scored = [(abs(passage.scores[c] - t), c) for c, t in thresholds.items()
                  if c in passage.scores and t < 1.0]
        over = {c for c, t in thresholds.items() if passage.scores.get(c, 0.0) >= t and t < 1.0}
        if over and not passage.machine_codes:
            continue  # too short or a heading: the machine never codes it, whatever the scores
        if passage.codable and scored:
            margin, code = min(scored)
            found.append(Candidate(passage, margin, code))
    return found


def select_for_review(passages: Iterable[CodedPassage], thresholds: dict[str, float], *,
                      exclude: set[str], uncertain: int, confident: int, seed: int
                      ) -> list[tuple[Candidate, str]]:
    """Uncertain passages first (closest to a threshold: active learning by uncertainty),
    then a random sample of confident ones (margin of at least 0.25) so that review also
    checks what the machine is sure of. Returns (candidate, why chosen)."""
    pool = [c for c in candidates(passages, thresholds) if c.passage.passage_id not in exclude]
    pool.sort(key=lambda c: (c.margin, c.passage.passage_id))
    chosen = [(c, (f"uncertain: {c.nearest_code} {c.passage.scores[c.nearest_code]:.2f}, "
                   f"threshold {thresholds[c.nearest_code]:.2f}")) for c in pool[:uncertain]]
    rest = [c for c in pool[uncertain:] if c.margin >= 0.25]
    sample = random.Random(seed).sample(rest, min(confident, len(rest)))
    chosen += [(c, "confident: random sample")
               for c in sorted(sample, key=lambda c: c.passage.passage_id)]
    return chosen


def sheet_row(candidate: Candidate, why: str, thresholds: dict[str, float]) -> dict[str, str]:
    passage = candidate.passage
    shown = sorted(((s, c) for c, s in passage.scores.items() if s >= 0.1), reverse=True)
    scores = "; ".join(f"{c} {s:.2f} (threshold {thresholds.get(c, 1.0):.2f})" for s, c in shown)
    return {"passage_id": passage.passage_id, "doc_id": passage.doc_id, "site": passage.site,
            "text": passage.text, "machine_codes": ";".join(passage.machine_codes),
            "machine_scores": scores, "selected_as": why, "decision": "", "codes": "",
            "comment": ""}


def existing_passage_ids(path: Path) -> set[str]:
    if not path.exists():
        return set()
    header, rows = raw_rows(path)
    if "passage_id" not in header:
        raise ReviewError(f"{path}: no passage_id column; it does not look like a review "
                          "sheet, so it is left alone")
    return {values.get("passage_id", "") for _, values in rows}


def append_to_sheet(path: Path, rows: list[dict[str, str]], codebook: Codebook) -> Path | None:
    """Create the sheet, or add rows below the existing ones; nothing already in it changes.

    An existing sheet is first copied to `backups/` beside it; the new version is written
    to a temporary file and swapped in only once its old rows read back unchanged, so the
    sheet is never rewritten in place. Returns the backup's path (None for a new sheet).
    """
    lock = path.with_name(f"~${path.name}")
    if lock.exists():
        raise ReviewError(f"{path} is open in a spreadsheet program ({lock.name} exists): "
                          "save and close it first, then run the command again")
    backup = backup_sheet(path) if path.exists() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        _swap_in(path, lambda tmp: _write_csv(path, tmp, rows))
    else:
        _swap_in(path, lambda tmp: _write_xlsx(path, tmp, rows, codebook))
    return backup


def backup_sheet(path: Path) -> Path:
    """A dated copy in `backups/` beside the sheet (never read as a sheet itself)."""
    folder = path.parent / "backups"
    folder.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    target, number = folder / f"{path.stem}.{stamp}{path.suffix}", 1
    while target.exists():
        number += 1
        target = folder / f"{path.stem}.{stamp}-{number}{path.suffix}"
    shutil.copy2(path, target)
    return target


def _swap_in(path: Path, write: Callable[[Path], None]) -> None:
    before = raw_rows(path) if path.exists() else None
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        if before is not None:
            header, rows = raw_rows(tmp)
            if header != before[0] or rows[:len(before[1])] != before[1]:
                raise ReviewError(f"{path}: updating the sheet would change existing rows; "
                                  "it was left as it was")
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_csv(path: Path, tmp: Path, rows: list[dict[str, str]]) -> None:
    """The existing bytes, unchanged, then the new rows under the sheet's own header."""
    content = path.read_bytes() if path.exists() else b""
    header = raw_rows(path)[0] if content else list(SHEET_COLUMNS)
    with open(tmp, "wb") as handle:
        handle.write(content)
        if content and not content.endswith((b"\n", b"\r")):
            handle.write(b"\r\n")
    with open(tmp, "a", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        if not content:
            writer.writeheader()
        writer.writerows(rows)


def _text_cell(sheet, row: int, column: int, value: str):
    """A cell that holds `value` as text: a passage starting with '=' is not a formula."""
    cell = sheet.cell(row=row, column=column)
    cell.value = value
    cell.data_type = "s"
    return cell


def _write_xlsx(path: Path, tmp: Path, rows: list[dict[str, str]],
                codebook: Codebook) -> None:
    from openpyxl import Workbook, load_workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    if path.exists():
        workbook = load_workbook(path)
        sheet = workbook[SHEET_NAME] if SHEET_NAME in workbook.sheetnames else workbook.worksheets[0]
        header = [_cell(c.value).lower() for c in sheet[1]]
    else:
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = SHEET_NAME
        header = list(SHEET_COLUMNS)
        for column, name in enumerate(header, start=1):
            _text_cell(sheet, 1, column, name).font = Font(bold=True)
        sheet.freeze_panes = "B2"
        for letter, width in zip("ABCDEFGHIJ", (24, 14, 14, 80, 30, 40, 28, 10, 30, 30)):
            sheet.column_dimensions[letter].width = width
        choice = DataValidation(type="list", formula1='"' + ",".join(DECISIONS) + '"',
                                allow_blank=True, showErrorMessage=True,
                                errorTitle="decision", error="accept, reject or edit")
        sheet.add_data_validation(choice)
        choice.add("H2:H100000")
        codes = workbook.create_sheet("codes")
        for column, name in enumerate(("code", "label", "definition"), start=1):
            _text_cell(codes, 1, column, name).font = Font(bold=True)
        for row, code in enumerate(codebook.codes, start=2):
            for column, value in enumerate((code.id, code.label, code.definition), start=1):
                _text_cell(codes, row, column, value)
        codes.column_dimensions["A"].width = 36
        codes.column_dimensions["B"].width = 36
        codes.column_dimensions["C"].width = 100
    first = sheet.max_row + 1
    wrap = Alignment(wrap_text=True, vertical="top")
    for offset, values in enumerate(rows):
        for column, name in enumerate(header, start=1):
            if name in values:
                _text_cell(sheet, first + offset, column, values[name]).alignment = wrap
    workbook.save(tmp)


def new_versions(passages: list[CodedPassage], sheet_rows: list[tuple[int, dict[str, str]]],
                 exclude: set[str]) -> list[tuple[Candidate, str]]:
    """For each row of the sheet whose passage no longer exists, the most similar passage
    of the same document now (if any is at least half similar), so the reviewer can
    decide on the new wording; the old row itself is left alone."""
    current = {p.passage_id for p in passages}
    by_doc: dict[str, list[CodedPassage]] = defaultdict(list)
    for passage in passages:
        if passage.codable:
            by_doc[passage.doc_id].append(passage)
    found, taken = [], set(exclude)
    for number, values in sheet_rows:
        old_id = values.get("passage_id", "")
        if not old_id or old_id in current or not values.get("text"):
            continue
        doc_id = values.get("doc_id") or old_id.split(":")[0]
        scored = [(SequenceMatcher(None, values["text"], p.text).ratio(), p.passage_id, p)
                  for p in by_doc.get(doc_id, []) if p.passage_id not in taken]
        if scored:
            ratio, _, best = max(scored, key=lambda x: (x[0], x[1]))
            if ratio >= 0.5:
                taken.add(best.passage_id)
                found.append((Candidate(best, 0.0, ""),
                              f"new version of {old_id} (row {number}), {ratio:.0%} similar"))
    return found


def thresholds_from_metrics(metrics_json: str | os.PathLike) -> dict[str, float]:
    """Each code's threshold, from the trained model's metrics (outputs/model/metrics.json)."""
    with open(metrics_json, encoding="utf-8") as handle:
        per_code = json.load(handle)["cross_validation"]["per_code"]
    return {code: float(values["threshold"]) for code, values in per_code.items()}


def sheet_for(review_dir: str | os.PathLike, reviewer: str, fmt: str | None) -> Path:
    """The reviewer's sheet: the one that exists, else a new one in `fmt` (xlsx by default)."""
    if not REVIEWER_NAME.match(reviewer) or reviewer.lower() == MACHINE:
        raise ReviewError(f"'{reviewer}' cannot name a reviewer: use letters, digits, '.', '_' "
                          "or '-' (and not 'machine')")
    folder = Path(review_dir)
    existing = [folder / f"{reviewer}{suffix}" for suffix in SHEET_SUFFIXES
                if (folder / f"{reviewer}{suffix}").exists()]
    if len(existing) > 1:
        raise ReviewError(f"{reviewer} has two sheets ({', '.join(p.name for p in existing)}) "
                          f"in {folder}: keep one, so decisions cannot diverge")
    if existing:
        if fmt and existing[0].suffix != f".{fmt}":
            raise ReviewError(f"{existing[0]} exists: keep working in it (or move it away to "
                              f"start a new .{fmt} sheet)")
        return existing[0]
    return folder / f"{reviewer}.{fmt or 'xlsx'}"


def update_review_sheet(sheet: Path, coded_csv: str | os.PathLike,
                        metrics_json: str | os.PathLike, codebook: Codebook, *,
                        uncertain: int, confident: int, seed: int
                        ) -> tuple[dict[str, int], Path | None]:
    """Append to the reviewer's sheet: new versions of passages it decided that have since
    changed, the most uncertain passages it does not hold yet, and a sample of confident
    ones. Returns how many of each were added, and the backup of the previous sheet."""
    from interplay.passage_table import read_coded_passages

    passages = read_coded_passages(coded_csv)
    thresholds = thresholds_from_metrics(metrics_json)
    sheet_rows = raw_rows(sheet)[1] if sheet.exists() else []
    held = existing_passage_ids(sheet)
    renewed = new_versions(passages, sheet_rows, held)
    held |= {c.passage.passage_id for c, _ in renewed}
    selected = select_for_review(passages, thresholds, exclude=held, uncertain=uncertain,
                                 confident=confident, seed=seed)
    rows = [sheet_row(c, why, thresholds) for c, why in renewed + selected]
    backup = append_to_sheet(sheet, rows, codebook) if rows else None
    return {"new versions": len(renewed),
            "uncertain": sum(why.startswith("uncertain") for _, why in selected),
            "confident": sum(why.startswith("confident") for _, why in selected)}, backup
