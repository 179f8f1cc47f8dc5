"""The report's fragment cache: a rerun reuses what it can and writes exactly what a run
without the cache writes; what changed is rendered again; a damaged cache costs time only."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest
from conftest import REPO

from interplay.report import build_report, load_inputs, render_report
from interplay.report_cache import FragmentCache, digest

CODEBOOK = REPO / "config" / "codebook.yaml"


def _inputs(corpus: Path, outputs: Path, **changes):
    inputs = load_inputs(coded_csv=outputs / "coded_passages.csv", codebook_path=CODEBOOK,
                         metadata_csv=corpus / "metadata.csv",
                         coded_files=sorted((outputs / "coded").glob("*.json")),
                         text_files=sorted((outputs / "text").glob("*.txt")),
                         similar_json=outputs / "similar.json")
    return dataclasses.replace(inputs, **changes)


@pytest.fixture(scope="module")
def demo(demo_run):
    corpus, outputs = demo_run
    return corpus, outputs, render_report(_inputs(corpus, outputs))  # no cache at all


def test_a_warm_cache_renders_what_no_cache_renders(demo, tmp_path):
    corpus, outputs, uncached = demo
    cold = FragmentCache(tmp_path / "fragments.sqlite")
    assert render_report(_inputs(corpus, outputs), cold) == uncached
    assert cold.reused == 0 and cold.used
    cold.save()
    warm = FragmentCache(tmp_path / "fragments.sqlite")
    assert render_report(_inputs(corpus, outputs), warm) == uncached
    assert warm.reused == len(warm.used) == len(cold.used)


def test_what_changed_is_rendered_again_and_nothing_else(demo, tmp_path):
    corpus, outputs, _ = demo
    path = tmp_path / "fragments.sqlite"
    first = FragmentCache(path)
    render_report(_inputs(corpus, outputs), first)
    first.save()

    # A reviewer's comment on one coded passage, and one similar-passage score that moves
    # in the fourth decimal place (as a new document's words shift IDF): the comment shows
    # on the passage's body and index item; the score, shown to two places, changes nothing.
    inputs = _inputs(corpus, outputs)
    target = next(p for p in inputs.passages if p.codes)
    passages = [dataclasses.replace(p, review_comments="Checked against the tender notice.")
                if p is target else p for p in inputs.passages]
    neighbours = json.loads((outputs / "similar.json").read_text(encoding="utf-8"))["neighbours"]
    shifted_id, shifted = next((pid, found) for pid, found in neighbours.items()
                               if found and f"{found[0][0] + 1e-4:.2f}" == f"{found[0][0]:.2f}")
    neighbours[shifted_id] = [[shifted[0][0] + 1e-4, shifted[0][1]], *shifted[1:]]
    changed = dataclasses.replace(inputs, passages=passages, neighbours=neighbours)

    second = FragmentCache(path)
    files = render_report(changed, second)
    assert len(second.used) - second.reused == 2  # the target's body and its index item
    assert files == render_report(changed)  # what a run without the cache writes
    page = files[f"docs/{target.doc_id}.html"]
    assert "Checked against the tender notice." in page
    second.save()
    with sqlite3.connect(path) as db:  # the cache keeps exactly what this run used
        assert db.execute("SELECT count(*) FROM fragments").fetchone()[0] == len(second.used)


def test_a_damaged_cache_is_set_aside_and_rebuilt(demo_run, tmp_path):
    corpus, outputs = demo_run
    cache = tmp_path / "outputs" / ".cache" / "report-fragments.sqlite"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"not a database, half-written by a machine that lost power")
    kwargs = {"coded_csv": outputs / "coded_passages.csv", "codebook_path": CODEBOOK,
              "metadata_csv": corpus / "metadata.csv",
              "coded_files": sorted((outputs / "coded").glob("*.json")),
              "text_files": sorted((outputs / "text").glob("*.txt")),
              "similar_json": outputs / "similar.json", "cache_path": cache}
    lines = build_report(tmp_path / "outputs" / "report", **kwargs)
    assert any("unreadable" in line and str(cache) in line for line in lines)
    assert (tmp_path / "outputs" / "report" / "index.html").exists()
    again = build_report(tmp_path / "outputs" / "report", **kwargs)
    reused = next(line for line in again if "fragments reused" in line)
    used = int(reused.split(" of ")[1].split()[0])
    assert reused.startswith(f"{used} of {used} ") and used > 0


def test_digests_tell_apart_what_reprs_could_run_together():
    assert digest("ab", "c") != digest("a", "bc")
    assert digest("1") != digest(1)
    assert digest({"a": 1.0}) == digest({"a": 1.0})
    assert digest({"a": 1.0}) != digest({"a": 1.0000001})
