"""Rendered report fragments kept between runs, so a rerun renders only what changed.

Most of the report's work is highlighting and rendering passages, once on their document's
page and once in the index's list. A passage's fragment is a pure function of what it
shows (its row, evidence, similar passages, the labels) and of the code that renders it,
so the cache stores each fragment under a SHA-256 digest of exactly those: an entry can
only be reused where rendering again would give the same bytes. Adding a document to a
corpus of 200 leaves most fragments as they were.

The cache is an SQLite file in the outputs folder (`.cache/report-fragments.sqlite`),
outside the report Snakemake removes before rerunning it. It is an accelerator only: a
cache that cannot be read or written (damaged, locked on a network file system) is set
aside with a note in the job's log, and the report is rendered in full.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path


def digest(*parts: object) -> str:
    """SHA-256 of the parts: a string as its bytes (fast for a passage's text), anything
    else as its repr. Only for plain data (str, int, float, bool, None, and tuples, lists
    and dicts of them), whose repr shows all of it, the same in every run."""
    sha = hashlib.sha256()
    for part in parts:
        data = (part if isinstance(part, str) else repr(part)).encode("utf-8", "surrogatepass")
        sha.update(b"%c%d:" % (115 if isinstance(part, str) else 114, len(data)))
        sha.update(data)
    return sha.hexdigest()


def source_digest(files: Iterable[str | os.PathLike], *versions: str) -> str:
    """A digest of source files' bytes and version strings: what renders a fragment."""
    sha = hashlib.sha256()
    for path in files:
        sha.update(Path(path).read_bytes())
        sha.update(b"\0")
    for version in versions:
        sha.update(version.encode("utf-8") + b"\0")
    return sha.hexdigest()


class FragmentCache:
    """Fragments by digest: those stored by the last run, and those this run used."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.stored: dict[str, str] = {}
        self.used: dict[str, str] = {}
        self.notes: list[str] = []
        if self.path is not None and self.path.exists():
            try:
                with closing(sqlite3.connect(self.path)) as db:
                    self.stored = dict(db.execute("SELECT key, html FROM fragments"))
            except sqlite3.Error as error:
                self.notes.append(f"report cache {self.path} unreadable ({error}): "
                                  f"rendered everything, and the cache is rebuilt")
                self._discard()

    def fragment(self, key: str, render: Callable[[], str]) -> str:
        """The fragment stored under `key`, or `render()` when there is none."""
        html = self.used.get(key)
        if html is None:
            html = self.stored.get(key)
            if html is None:
                html = render()
            self.used[key] = html
        return html

    @property
    def reused(self) -> int:
        return sum(1 for key in self.used if key in self.stored)

    def save(self) -> None:
        """Keep exactly the fragments this run used: add the new, drop the rest."""
        if self.path is None:
            return
        added = [(key, html) for key, html in self.used.items() if key not in self.stored]
        dropped = [(key,) for key in self.stored if key not in self.used]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path)) as db, db:
                db.execute("CREATE TABLE IF NOT EXISTS fragments "
                           "(key TEXT PRIMARY KEY, html TEXT NOT NULL)")
                db.executemany("DELETE FROM fragments WHERE key = ?", dropped)
                db.executemany("INSERT OR REPLACE INTO fragments VALUES (?, ?)", added)
        except sqlite3.Error as error:
            self.notes.append(f"report cache {self.path} not saved ({error}): the next run "
                              f"renders what this one rendered again")

    def _discard(self) -> None:
        self.stored = {}
        try:
            self.path.unlink(missing_ok=True)
        except OSError as error:
            self.notes.append(f"report cache {self.path} could not be removed ({error})")
