"""DOCX to text: paragraphs and headings in body order, tables kept row by row."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from docx.text.paragraph import Paragraph

from interplay.errors import ExtractionError


def _table_text(table: Table) -> str:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if not cells or cells[-1] != text:  # merged cells repeat their text
                cells.append(text)
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def extract_docx(path: str | Path) -> str:
    """Blocks separated by blank lines, so each paragraph, heading or table is one unit."""
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError) as error:
        raise ExtractionError(f"unreadable DOCX: {error}",
                              "open and re-save it in Word or LibreOffice as .docx") from None
    blocks = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = " ".join(item.text.replace("\u00a0", " ").split())
        else:
            text = _table_text(item)
        if text:
            blocks.append(text)
    if not blocks:
        raise ExtractionError("DOCX contains no text", "check that the right file was added")
    return "\n\n".join(blocks)
