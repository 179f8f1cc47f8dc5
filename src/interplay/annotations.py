"""Human-coded passages (corpus/annotations/*.csv): the classifier's training data.

Format, one row per coded passage:

    doc_id, text, codes, coder        (passage_id may be given as well, or instead of text)

`codes` is a ';'-separated list of code IDs, empty for a passage coded with none. Every
problem (unknown code, missing column, empty text) is reported with file and line.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from interplay.codebook import Codebook
from interplay.errors import InterplayError


class AnnotationError(InterplayError):
    code = "E005"

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("annotation problems:\n" + "\n".join(f"  - {p}" for p in problems))

    def __reduce__(self):  # raised in a worker process, re-raised in the job's
        return type(self), (self.problems,)


@dataclass(frozen=True)
class Annotation:
    doc_id: str
    text: str
    codes: tuple[str, ...]
    coder: str
    source: str  # file:line, for messages
    passage_id: str = ""

    @property
    def file_name(self) -> str:
        """The name of the annotation file the passage comes from."""
        return Path(self.source.rsplit(":", 1)[0]).name


@dataclass
class AnnotationSet:
    annotations: list[Annotation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def split_codes(value: str) -> list[str]:
    return [c.strip() for c in (value or "").replace(",", ";").split(";") if c.strip()]


def read_annotations(paths: list[str | Path], codebook: Codebook, *,
                     passage_texts: dict[str, str] | None = None) -> AnnotationSet:
    """Read and check annotation files; `passage_texts` resolves rows that give only a
    passage_id. Rows repeating the same passage are merged (union of codes) with a warning."""
    problems: list[str] = []
    result = AnnotationSet()
    known = set(codebook.ids)
    for path in sorted(map(Path, paths)):
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or [])
            if "codes" not in columns or not ({"text", "passage_id"} & columns):
                problems.append(f"{path}: needs columns 'codes' and 'text' (with 'doc_id') or "
                                f"'passage_id'; found: {', '.join(sorted(columns)) or 'none'}")
                continue
            for line, row in enumerate(reader, start=2):
                where = f"{path}:{line}"
                codes = split_codes(row.get("codes", ""))
                unknown = [c for c in codes if c not in known]
                if unknown:
                    problems.append(f"{where}: unknown code(s) {', '.join(unknown)} "
                                    "(use IDs from the codebook)")
                    continue
                passage_id = (row.get("passage_id") or "").strip()
                text = row.get("text") or ""
                if not text.strip() and passage_id and passage_texts is not None:
                    text = passage_texts.get(passage_id, "")
                if not text.strip():
                    problems.append(f"{where}: no text (give the passage text, or a passage_id "
                                    "the pipeline knows)")
                    continue
                doc_id = (row.get("doc_id") or passage_id.split(":")[0]).strip()
                result.annotations.append(Annotation(
                    doc_id=doc_id, text=text, codes=tuple(codes),
                    coder=(row.get("coder") or "").strip(), source=where, passage_id=passage_id))
    if problems:
        raise AnnotationError(problems)
    result.annotations = _merge_repeats(result.annotations, result.warnings)
    return result


def _merge_repeats(annotations: list[Annotation], warnings: list[str]) -> list[Annotation]:
    merged: dict[tuple[str, str], Annotation] = {}
    for item in annotations:
        key = (item.doc_id, " ".join(item.text.split()))
        if key not in merged:
            merged[key] = item
            continue
        first = merged[key]
        if set(first.codes) != set(item.codes):
            warnings.append(f"{item.source}: same passage as {first.source} with different "
                            f"codes ({';'.join(first.codes) or 'none'} vs "
                            f"{';'.join(item.codes) or 'none'}): trained on the union")
        union = tuple(sorted(set(first.codes) | set(item.codes)))
        merged[key] = Annotation(first.doc_id, first.text, union,
                                 f"{first.coder}+{item.coder}", first.source, first.passage_id)
    return list(merged.values())
