"""scripts/compare_runs.py: what the SLURM check uses to show a cluster run equals a local one."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import REPO

SCRIPT = REPO / "scripts" / "compare_runs.py"


def _outputs(root: Path, *, outputs_setting: str, coded: str = "passage_id,codes\nA:1,x\n",
             member_time: tuple = (2026, 1, 1, 0, 0, 0)) -> Path:
    (root / "sites").mkdir(parents=True)
    (root / "logs").mkdir()
    (root / "coded_passages.csv").write_text(coded, encoding="utf-8")
    (root / "sites" / "north.json").write_text('{"site": "north"}', encoding="utf-8")
    (root / "logs" / "train.log").write_text(f"trained in {root}", encoding="utf-8")
    (root / "changes.md").write_text(f"snapshot of {root}", encoding="utf-8")
    (root / "run_manifest.json").write_text(json.dumps(
        {"settings": {"outputs": outputs_setting, "corpus": "corpus"},
         "model": {"model_id": "m1", "sha256": str(root)}}), encoding="utf-8")
    with zipfile.ZipFile(root / "project.qdpx", "w") as archive:
        archive.writestr(zipfile.ZipInfo("project.qde", member_time), "<Project/>")
    return root


def _compare(a: Path, b: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), str(a), str(b)],
                          check=False, capture_output=True, text=True)


def test_runs_that_differ_only_in_how_they_ran_are_the_same(tmp_path):
    a = _outputs(tmp_path / "a", outputs_setting="/x/a")
    b = _outputs(tmp_path / "b", outputs_setting="/y/b", member_time=(2026, 2, 2, 0, 0, 0))
    result = _compare(a, b)
    assert result.returncode == 0, result.stdout
    assert "same results: 5 files compared" in result.stdout


def test_every_difference_is_named(tmp_path):
    a = _outputs(tmp_path / "a", outputs_setting="/x/a")
    b = _outputs(tmp_path / "b", outputs_setting="/x/a", coded="passage_id,codes\nA:1,y\n")
    (b / "sites" / "south.json").write_text("{}", encoding="utf-8")
    manifest = json.loads((b / "run_manifest.json").read_text())
    manifest["model"]["model_id"] = "m2"
    (b / "run_manifest.json").write_text(json.dumps(manifest))
    result = _compare(a, b)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"only in {b}: sites/south.json", "differs: coded_passages.csv",
        "differs: run_manifest.json", f"3 difference(s) between {a} and {b}"]


def test_a_folder_that_is_not_an_outputs_folder_is_refused(tmp_path):
    a = _outputs(tmp_path / "a", outputs_setting="/x/a")
    result = _compare(a, tmp_path)
    assert result.returncode == 2 and "not an outputs folder" in result.stderr
