"""Extraction stage: one document in, its text and page map out.

`extract_document` is the pure core; `extract_to_files` is the edge the workflow calls.
A document that cannot be read still gets its two output files, with the problem
recorded in the JSON, so the rest of the corpus carries on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from interplay.errors import ExtractionError
from interplay.extract.docx import extract_docx
from interplay.extract.pdf import extract_pdf
from interplay.extract.plaintext import extract_plaintext
from interplay.fileio import write_json, write_text

if TYPE_CHECKING:
    from interplay.pseudonymise import Rewrite


@dataclass
class ExtractedText:
    text: str
    page_starts: list[int] = field(default_factory=list)  # empty when the format has no pages
    warnings: list[str] = field(default_factory=list)
    encoding: str = "utf-8"


def extract_document(path: str | Path, *, pdf_backend: str = "pdfplumber",
                     max_file_mb: float = 100) -> ExtractedText:
    """Read one document; `pdf_backend` picks the PDF reader (see extract.pdf)."""
    path = Path(path)
    suffix = path.suffix.lower()
    size = path.stat().st_size
    if size == 0:
        raise ExtractionError("empty file (0 bytes)", "check that the right file was added")
    if size > max_file_mb * 1024 * 1024:
        raise ExtractionError(
            f"file is {size / 1024 / 1024:,.0f} MB, over the {max_file_mb:g} MB limit",
            "check it is the right file; split it, or raise extraction.max_file_mb in "
            "config/config.yaml")
    if suffix == ".pdf":
        pdf = extract_pdf(path, backend=pdf_backend)
        return ExtractedText(text=pdf.text, page_starts=pdf.page_starts, warnings=pdf.warnings)
    if suffix == ".docx":
        return ExtractedText(text=extract_docx(path))
    if suffix == ".txt":
        decoded = extract_plaintext(path)
        return ExtractedText(text=decoded.text, encoding=decoded.encoding,
                             warnings=[decoded.warning] if decoded.warning else [])
    raise ExtractionError(f"unsupported file type '{suffix}'",
                          "convert it to PDF, DOCX or plain text (.txt)")


def page_map(extracted: ExtractedText) -> list[dict[str, int]]:
    starts = extracted.page_starts
    ends = starts[1:] + [len(extracted.text)]
    return [{"page": number, "start": start, "end": max(start, end)}
            for number, (start, end) in enumerate(zip(starts, ends), start=1)]


def extract_to_files(source: str | Path, text_path: str | Path, info_path: str | Path,
                     *, doc_id: str, display_path: str, pdf_backend: str = "pdfplumber",
                     max_file_mb: float = 100,
                     pseudonymise: Callable[[str, str], Rewrite] | None = None) -> dict:
    """Write <doc_id>.txt and <doc_id>.json; a failure becomes a recorded problem.

    `pseudonymise(text, doc_id)` (see interplay.pseudonymise) rewrites the text before
    anything is written, and the page map follows it, so no later stage sees the original."""
    info: dict = {"doc_id": doc_id, "path": display_path,
                  "format": Path(source).suffix.lower().lstrip(".")}
    try:
        extracted = extract_document(source, pdf_backend=pdf_backend, max_file_mb=max_file_mb)
    except ExtractionError as error:
        extracted = ExtractedText(text="")
        info["problem"] = {"problem": error.problem, "hint": error.hint}
    except Exception as error:  # noqa: BLE001 - a parser bug in one file must not stop the corpus
        extracted = ExtractedText(text="")
        info["problem"] = {"problem": f"could not be read ({type(error).__name__}: {error})",
                           "hint": "report this file to the interplay developers"}
    if info["format"] == "pdf":
        info["pdf_backend"] = pdf_backend  # which reader made the text (see extract.pdf)
    if pseudonymise is not None:
        rewrite = pseudonymise(extracted.text, doc_id)
        extracted = replace(extracted, text=rewrite.text,
                            page_starts=[rewrite.position(s) for s in extracted.page_starts])
        info["pseudonymised_spans"] = len(rewrite.replacements)
    info.update(chars=len(extracted.text), encoding=extracted.encoding,
                pages=page_map(extracted), warnings=extracted.warnings)
    write_text(text_path, extracted.text)
    write_json(info_path, info)
    return info
