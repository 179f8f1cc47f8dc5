"""The corpus index: metadata.csv validated row by row, plus any files it does not list.

Structural faults (missing columns, duplicate or malformed doc_ids) stop the run, because
no output could be trusted. A fault confined to one row (a missing file, an unknown kind)
excludes only that document and is reported in problems.csv.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath

from interplay.errors import MetadataError
from interplay.problems import Problem

KINDS = ("interview", "document", "policy")
ACTORS = ("commissioner", "provider", "local_authority", "regulator", "national", "other")
SUPPORTED_SUFFIXES = (".pdf", ".docx", ".txt")
REQUIRED_COLUMNS = ("doc_id", "path", "site", "kind", "actor", "date", "title")
METADATA_FILE = "metadata.csv"
# Folders and files inside the corpus directory that are not documents.
NOT_DOCUMENTS = {METADATA_FILE, "README.md", "annotations", "reviews"}
UNASSIGNED_SITE = "unassigned"
DOC_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
DATE_PATTERN = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@dataclass(frozen=True)
class Document:
    doc_id: str
    path: str  # relative to the corpus directory, '/'-separated
    site: str
    kind: str
    actor: str
    date: str
    title: str
    listed: bool = True


@dataclass
class CorpusIndex:
    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def by_id(self) -> dict[str, Document]:
        return {d.doc_id: d for d in self.documents}


def _row_problems(row: dict[str, str], corpus_dir: Path) -> list[tuple[str, str]]:
    """(problem, hint) pairs for one metadata row; empty when the row is usable."""
    found = []
    raw_path = row["path"].strip()
    relative = PurePosixPath(raw_path.replace("\\", "/"))
    if not raw_path:
        found.append(("path is empty", "give the file's path relative to the corpus directory"))
    elif relative.is_absolute() or re.match(r"^[A-Za-z]:", raw_path):
        found.append((f"path '{raw_path}' is absolute", "use a path relative to the corpus directory"))
    elif ".." in relative.parts:
        found.append((f"path '{raw_path}' escapes the corpus directory",
                      "move the file inside the corpus directory and give its relative path"))
    else:
        source = corpus_dir / relative
        if not source.resolve().is_relative_to(corpus_dir.resolve()):
            found.append((f"path '{raw_path}' escapes the corpus directory (through a link)",
                          "copy the file into the corpus directory"))
        elif not source.is_file():
            found.append((f"file '{raw_path}' not found", "check the path or add the file"))
        elif source.suffix.lower() not in SUPPORTED_SUFFIXES:
            found.append((f"unsupported file type '{source.suffix}'",
                          "convert it to PDF, DOCX or plain text (.txt)"))
    if row["kind"].strip() not in KINDS:
        found.append((f"unknown kind '{row['kind']}'", f"use one of: {', '.join(KINDS)}"))
    if row["actor"].strip() not in ACTORS:
        found.append((f"unknown actor '{row['actor']}'", f"use one of: {', '.join(ACTORS)}"))
    if not row["site"].strip():
        found.append(("site is empty", f"name the case-study site (or '{UNASSIGNED_SITE}')"))
    date_text = row["date"].strip()
    if date_text and not _valid_date(date_text):
        found.append((f"date '{date_text}' is not YYYY, YYYY-MM or YYYY-MM-DD",
                      "write the date as YYYY-MM-DD"))
    return found


def _valid_date(text: str) -> bool:
    if not DATE_PATTERN.match(text):
        return False
    parts = [int(p) for p in text.split("-")] + [1, 1]
    try:
        date(parts[0], parts[1], parts[2])
    except ValueError:
        return False
    return True


def _unlisted_doc_id(relative: PurePosixPath) -> str:
    stem = str(relative.with_suffix("")).replace("/", "__")
    return "unlisted__" + re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)[:80]


def corpus_files(corpus_dir: Path) -> list[PurePosixPath]:
    """Every candidate document under the corpus directory, relative and sorted."""
    files = []
    for path in sorted(corpus_dir.rglob("*")):
        relative = PurePosixPath(path.relative_to(corpus_dir).as_posix())
        if relative.parts[0] in NOT_DOCUMENTS or any(p.startswith(".") for p in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
            files.append(relative)
    return files


def read_corpus(corpus_dir: str | Path) -> CorpusIndex:
    """Index the corpus; raise MetadataError listing every structural fault at once."""
    corpus_dir = Path(corpus_dir)
    metadata_path = corpus_dir / METADATA_FILE
    if not metadata_path.is_file():
        raise MetadataError(str(metadata_path), [
            "file not found: every corpus needs a metadata.csv with columns "
            + ", ".join(REQUIRED_COLUMNS)])
    try:
        with open(metadata_path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
            columns = [c.strip() for c in (rows[0].keys() if rows else [])]
    except UnicodeDecodeError as error:
        raise MetadataError(str(metadata_path), [
            f"not UTF-8 text ({error.reason} at byte {error.start}): save it as UTF-8 CSV"]) from None
    if not rows:
        raise MetadataError(str(metadata_path), ["no rows: add one row per document"])

    fatal: list[str] = []
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        fatal.append(f"missing column(s): {', '.join(missing)} (found: {', '.join(columns)})")
        raise MetadataError(str(metadata_path), fatal)

    index = CorpusIndex()
    first_line_of: dict[str, int] = {}
    listed_paths: set[str] = set()
    for line_number, raw in enumerate(rows, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        doc_id = row["doc_id"]
        where = f"line {line_number}"
        if not doc_id:
            fatal.append(f"{where}: doc_id is empty")
            continue
        if not DOC_ID_PATTERN.match(doc_id):
            fatal.append(f"{where}: doc_id '{doc_id}' may use only letters, digits, '.', '_' "
                         "and '-' (it names output files)")
            continue
        if doc_id in first_line_of:
            fatal.append(f"{where}: duplicate doc_id '{doc_id}' (first on line "
                         f"{first_line_of[doc_id]}); give each document its own doc_id")
            continue
        first_line_of[doc_id] = line_number
        listed_paths.add(row["path"].replace("\\", "/"))
        row_faults = _row_problems(row, corpus_dir)
        for problem, hint in row_faults:
            index.problems.append(Problem(doc_id, row["path"], "error", "metadata",
                                          f"{METADATA_FILE} {where}: {problem}", hint))
        if not row_faults:
            index.documents.append(Document(
                doc_id=doc_id, path=row["path"].replace("\\", "/"), site=row["site"],
                kind=row["kind"], actor=row["actor"], date=row["date"], title=row["title"]))
    if fatal:
        raise MetadataError(str(metadata_path), fatal)

    for relative in corpus_files(corpus_dir):
        if str(relative) in listed_paths:
            continue
        doc_id = _unlisted_doc_id(relative)
        index.warnings.append(Problem(
            doc_id, str(relative), "warning", "metadata",
            f"not listed in {METADATA_FILE}; processed with site '{UNASSIGNED_SITE}'",
            "add a row to metadata.csv to give it a site, kind and actor"))
        index.documents.append(Document(doc_id=doc_id, path=str(relative), site=UNASSIGNED_SITE,
                                        kind="document", actor="other", date="",
                                        title=relative.name, listed=False))
    return index
