"""Atomic writes: a failed write leaves the old file whole, and what a killed process left
half-written is found and removed, without touching anything else."""

import pytest

from interplay.fileio import atomic_open, remove_stale_temporaries, write_text


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
