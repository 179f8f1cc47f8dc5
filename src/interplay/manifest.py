"""outputs/run_manifest.json: what a set of outputs was built from, to cite and to check.

It records the interplay version and the versions of the libraries that shape the results,
the settings, and the SHA-256 of every input (metadata, each document, codebook,
annotations, review sheets) and of the trained model, so a reader can tell whether two
sets of outputs came from the same inputs, and which file changed if not.
"""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from interplay import __version__
from interplay.codebook import file_hash
from interplay.fileio import read_json, write_json

LIBRARIES = ("snakemake", "spacy", "spacy-lookups-data", "scikit-learn", "numpy", "pandas",
             "pdfplumber", "pypdfium2", "python-docx", "openpyxl", "lxml")


def _library_versions() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def _hashes(paths: list[str], root: Path) -> dict[str, str]:
    """SHA-256 per file, keyed by its path relative to `root` when it lies inside it."""
    out = {}
    for path in sorted(paths):
        resolved = Path(path).resolve()
        key = resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else path
        out[key] = file_hash(path)
    return out


def build_manifest(*, corpus_dir: str | os.PathLike, settings: dict, metadata_csv: str,
                   documents: list[str], codebook: str, annotations: list[str],
                   review_sheets: list[str], model: str, metrics_json: str) -> dict:
    corpus = Path(corpus_dir).resolve()
    return {
        "interplay": __version__,
        "python": platform.python_version(),
        "libraries": _library_versions(),
        "settings": settings,
        "codebook_sha256": file_hash(codebook),
        "model": {"sha256": file_hash(model), "model_id": read_json(metrics_json)["model_id"]},
        "inputs": {
            "metadata_sha256": file_hash(metadata_csv),
            "documents_sha256": _hashes(documents, corpus),
            "annotations_sha256": _hashes(annotations, corpus),
            "review_sheets_sha256": _hashes(review_sheets, corpus),
        },
    }


def write_run_manifest(out_path: str | os.PathLike, **inputs) -> dict:
    manifest = build_manifest(**inputs)
    write_json(out_path, manifest)
    return manifest
