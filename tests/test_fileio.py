"""Atomic writes: a failed write leaves the old file whole, and what a killed process left
half-written is found and removed, without touching anything else; and a file read once
per version of it."""

import pytest

from interplay.fileio import (
    atomic_open,
    read_once_per_version,
    remove_stale_temporaries,
    write_text,
)


def test_a_write_that_fails_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "summary.md"
    write_text(target, "first version\n")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("half of the second")
        raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "first version\n"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.md"]


def test_only_the_temporaries_of_interrupted_writes_are_removed(tmp_path):
    (tmp_path / "coded").mkdir()
    stale = [tmp_path / ".similar.json.hilrgcdm.tmp",
             tmp_path / "coded" / ".HARB-01.json.k3x9_q2a.tmp"]
    kept = [tmp_path / "coded" / "HARB-01.json", tmp_path / "notes.tmp",
            tmp_path / ".draft.tmp", tmp_path / ".similar.json.TOOLONGNAME.tmp"]
    for path in stale + kept:
        path.write_text("x", encoding="utf-8")
    assert sorted(remove_stale_temporaries(tmp_path)) == sorted(stale)
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == sorted(kept)


def test_a_file_is_read_again_only_once_it_has_changed(tmp_path):
    reads = []

    def read(path):
        reads.append(path)
        return path.read_text(encoding="utf-8").split()

    cached = read_once_per_version(read)
    table = tmp_path / "table.txt"
    table.write_text("a b", encoding="utf-8")
    first = cached(table)
    assert cached(str(table)) == ["a", "b"] and cached(table) is first
    assert len(reads) == 1
    with atomic_open(table) as handle:  # as every stage writes: a new file, renamed
        handle.write("a b")
    assert cached(table) == ["a", "b"] and len(reads) == 2
    table.write_text("a b c", encoding="utf-8")  # edited in place
    assert cached(table) == ["a", "b", "c"] and len(reads) == 3
    table.unlink()
    with pytest.raises(FileNotFoundError):
        cached(table)


def test_a_faulty_codebook_is_refused_every_time_it_is_read(tmp_path):
    from interplay.codebook import load_codebook
    from interplay.errors import CodebookError

    codebook = tmp_path / "codebook.yaml"
    codebook.write_text("families: {}\ncodes: [{id: nope}]\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(CodebookError, match="code 'nope' field 'label'"):
            load_codebook(codebook)
    with pytest.raises(CodebookError, match="file not found"):
        load_codebook(tmp_path / "missing.yaml")
