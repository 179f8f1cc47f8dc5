"""File writing at the edges of every stage: atomic, so a crash never leaves half a file."""

from __future__ import annotations

import csv
import functools
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

T = TypeVar("T")


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Write to a temporary file beside `path`, then rename it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    if "b" not in mode:
        kwargs.setdefault("encoding", "utf-8")
        kwargs.setdefault("newline", "")
    try:
        with open(tmp_name, mode, **kwargs) as handle:
            yield handle
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def read_once_per_version(read: Callable[[Path], T], versions: int = 2
                          ) -> Callable[[str | os.PathLike], T]:
    """`read(path)`, kept in this process for as long as the file stays the same: same
    path, device, inode, size and modification time (an atomic rewrite makes a new inode).

    A local run's jobs share long-lived worker processes (interplay.workers), and a dozen
    of them read the same codebook and coded_passages.csv: each read is paid once per
    worker instead of once per job. What `read` returns is shared by every caller, so no
    caller may change it. On a cluster each job is a process of its own, and nothing is
    kept between jobs."""
    @functools.lru_cache(maxsize=versions)
    def read_version(path: str, version: tuple[int, ...]) -> T:
        return read(Path(path))

    @functools.wraps(read)
    def cached(path: str | os.PathLike) -> T:
        stat = os.stat(path)
        return read_version(os.fspath(path), (stat.st_dev, stat.st_ino, stat.st_size,
                                              stat.st_mtime_ns))
    return cached


# the names atomic_open gives its temporary files: ".<target name>.<8 random chars>.tmp"
_TEMPORARY_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that a killed run's atomic writes left under `folder`.

    A process killed outright (kill -9, power cut) never reaches atomic_open's clean-up,
    so its half-written file stays behind, hidden, for good. Call this only while no other
    run can be writing to `folder`. Returns the files removed."""
    stale = [path for path in Path(folder).rglob(".*.tmp")
             if path.is_file() and _TEMPORARY_NAME.match(path.name)]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path) as handle:
        handle.write(text)


def write_csv(path: str | os.PathLike, columns: Iterable[str], rows: Iterable[dict]) -> None:
    """A table with a header row, written atomically."""
    with atomic_open(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)


def write_json(path: str | os.PathLike, data: Any) -> None:
    with atomic_open(path) as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
        handle.write("\n")


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def write_log(path: str | os.PathLike, lines: list[str]) -> None:
    """A rule's log: what it did and anything worth a look."""
    write_text(path, "".join(f"{line}\n" for line in lines))
