"""Check that two outputs folders of the same corpus hold the same results, file by file.

    python scripts/compare_runs.py OUTPUTS_A OUTPUTS_B

Used by scripts/slurm_localhost.sh to show that a run on a SLURM cluster (each job its own
process, possibly on another node) gives what a local run gives. Every file must be
byte-identical, except the few that record *how* or *when* a run happened rather than what
it found; those are compared without that part, as RECORDS_OF_THE_RUN says. Exits 1 and
names every difference.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

# Files that record the run itself, with what is compared of them instead.
RECORDS_OF_THE_RUN = {
    "run_manifest.json": "everything but the outputs folder it names and the model file's "
                         "SHA-256 (the model's ID, from what it was trained on, is compared)",
    "project.qdpx": "every member's bytes, not the zip's own time stamps",
    "framework_matrix.xlsx": "every member's bytes but docProps/core.xml (the time it was "
                             "written)",
    "model/coder.joblib": "nothing: the pickle holds object IDs of the process that trained "
                          "it (scikit-learn's TfidfVectorizer keeps id(stop_words)); what "
                          "the model does is compared through every coded output",
    "changes.md": "nothing: it names the time the snapshot was taken",
}
# Job logs; the previous run's copy; Snakemake's records; the report's fragment cache.
SKIPPED_FOLDERS = ("logs", "snapshot", ".snakemake", ".cache")


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")
            if p.is_file() and p.relative_to(root).parts[0] not in SKIPPED_FOLDERS
            and not p.name.startswith(".")}


def _manifest(path: Path) -> dict:
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["settings"].pop("outputs")
    manifest["model"].pop("sha256")
    return manifest


def _members(path: Path, *, leave_out: tuple[str, ...] = ()) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()
                if name not in leave_out}


def differences(a: Path, b: Path) -> list[str]:
    """Every way the two outputs folders differ, as lines for a person to read."""
    files_a, files_b = _files(a), _files(b)
    found = [f"only in {a}: {name}" for name in sorted(files_a - files_b)]
    found += [f"only in {b}: {name}" for name in sorted(files_b - files_a)]
    for name in sorted(files_a & files_b):
        path_a, path_b = a / name, b / name
        if name in ("changes.md", "model/coder.joblib"):
            continue
        if name == "run_manifest.json":
            same = _manifest(path_a) == _manifest(path_b)
        elif name == "project.qdpx":
            same = _members(path_a) == _members(path_b)
        elif name == "framework_matrix.xlsx":
            leave_out = ("docProps/core.xml",)
            same = _members(path_a, leave_out=leave_out) == _members(path_b, leave_out=leave_out)
        else:
            same = path_a.read_bytes() == path_b.read_bytes()
        if not same:
            found.append(f"differs: {name}")
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    a, b = (Path(arg) for arg in argv)
    for folder in (a, b):
        if not (folder / "coded_passages.csv").is_file():
            print(f"{folder} is not an outputs folder (no coded_passages.csv)", file=sys.stderr)
            return 2
    found = differences(a, b)
    compared = len(_files(a) & _files(b))
    if found:
        print("\n".join(found))
        print(f"{len(found)} difference(s) between {a} and {b}")
        return 1
    print(f"same results: {compared} files compared ({', '.join(RECORDS_OF_THE_RUN)} "
          "without the parts that record the run itself)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
