"""The demo corpus sources (scripts/demo_corpus_src), read back for fidelity checks."""

from __future__ import annotations

import csv
from pathlib import Path


def source_paragraphs(repo: Path, fmt_prefix: str) -> dict[str, list[str]]:
    """doc_id -> body paragraphs (no table rows, heading markers removed) of demo sources."""
    found: dict[str, list[str]] = {}
    for manifest in sorted((repo / "scripts" / "demo_corpus_src").glob("*/manifest.csv")):
        with open(manifest, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if not row["format"].startswith(fmt_prefix):
                    continue
                text = (manifest.parent / row["source"]).read_text(encoding="utf-8")
                paragraphs, in_table = [], False
                for line in text.splitlines():
                    line = line.strip()
                    if line in ("[TABLE]", "[/TABLE]"):
                        in_table = line == "[TABLE]"
                    elif line and not in_table:
                        paragraphs.append(" ".join(line.lstrip("#").split()))
                found[row["doc_id"]] = paragraphs
    return found
