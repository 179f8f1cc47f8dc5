"""A run killed outright (kill -9, power cut) is resumed by the next `interplay run`, which
ends with the same outputs as a run never interrupted; two runs never share an outputs
folder."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from builders import mini_corpus
from conftest import REPO, read_csv, run_pipeline

from interplay.cli import main, outputs_lock


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    corpus = mini_corpus(tmp_path_factory.mktemp("interrupted"))
    (corpus / "annotations").mkdir()
    for name in ("harbourside.csv", "wealdmoor.csv"):
        shutil.copy(REPO / "corpus" / "annotations" / name, corpus / "annotations")
    return corpus


def test_a_killed_run_is_resumed_and_ends_as_an_uninterrupted_one(corpus, tmp_path, capsys):
    outputs = tmp_path / "killed"
    run = subprocess.Popen(
        [sys.executable, "-m", "interplay.cli", "run", "--corpus", str(corpus), "--outputs",
         str(outputs), "--cores", "2"], cwd=REPO, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (outputs / "passages.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(run.pid, signal.SIGKILL)  # the whole process group: Snakemake and its jobs
    run.wait()
    assert not (outputs / "report" / "index.html").exists()  # it was stopped mid-way
    # what a write cut short leaves, if the kill did not happen to land mid-write
    (outputs / "coded").mkdir(exist_ok=True)
    (outputs / "coded" / ".HARB-01.json.k3x9_q2a.tmp").write_text('{"passa', encoding="utf-8")

    run_pipeline(corpus, outputs)
    assert "interrupted" in capsys.readouterr().err
    assert not [p for p in outputs.rglob("*") if p.name.endswith(".tmp")]
    run_pipeline(corpus, tmp_path / "clean")
    for table in ("passages.csv", "coded_passages.csv", "problems.csv", "framework_matrix.csv"):
        assert read_csv(outputs / table) == read_csv(tmp_path / "clean" / table), table
    run_pipeline(corpus, outputs)
    assert "Nothing to do" in capsys.readouterr().err


def test_two_runs_never_write_to_the_same_outputs(corpus, tmp_path, capsys):
    outputs = tmp_path / "busy"
    outputs.mkdir()
    with outputs_lock(outputs):
        assert main(["run", "--corpus", str(corpus), "--outputs", str(outputs)]) == 2
    assert f"another interplay run is writing to {outputs}" in capsys.readouterr().err
    assert [p.name for p in outputs.iterdir()] == [".interplay.lock"]
