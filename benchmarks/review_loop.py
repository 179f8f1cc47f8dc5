"""Time the review loop and incremental reruns on a copy of the demo corpus (issue 5).

    .venv/bin/python benchmarks/review_loop.py [--workdir DIR] [--cores 2]

Steps, each timed as a user runs it (`interplay ...` in a subprocess):
  1. full build of the demo corpus
  2. rerun with nothing changed
  3. `interplay review --reviewer bench` (40 uncertain + 10 confident passages)
  4. rerun after appending those undecided rows (only the manifest should run)
  5. rerun after deciding 30 rows (accept, or reject every third): retrain + recode
  6. adding one interview (file + metadata row) and rerunning
Each rerun's jobs come from Snakemake's dry run just before it. Results are printed and
written to WORKDIR/review_loop.json. Wall times depend on the machine and its load (the
load average is recorded with each step).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INTERPLAY = [sys.executable, "-m", "interplay.cli"]
NEW_INTERVIEW = """Interviewer: Could you say how the new arrangement came about?

R1: It started with a row about discharge, if I'm honest. The hospital said the community team were too slow, the community team said the wards phoned too late, and in the end the two chief executives agreed to run one discharge hub with one manager and one budget.

Interviewer: Was there any question of putting it out to the market?

R1: It came up. Somebody from the CCG asked whether the hub should be tendered, and the answer we got from the lawyers was that it could be done under the existing contracts as a variation, so nobody pushed it.
"""


def planned(corpus: Path, outputs: Path) -> dict[str, int]:
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
         "--directory", str(REPO), "--cores", "1", "--dry-run", "--config",
         f"corpus={corpus}", f"outputs={outputs}"], capture_output=True, text=True, check=True)
    if "Job stats:" not in result.stdout:
        return {}
    table = result.stdout.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.MULTILINE)}


def timed(step: str, command: list[str], results: list[dict], jobs: dict | None = None) -> None:
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    seconds = round(time.perf_counter() - start, 1)
    results.append({"step": step, "seconds": seconds, "load": round(os.getloadavg()[0], 2),
                    "jobs": jobs})
    print(f"{step:<48} {seconds:>8.1f} s   jobs: {jobs if jobs is not None else '-'}",
          flush=True)


def decide(sheet: Path, count: int) -> None:
    with open(sheet, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for number, row in enumerate(rows[:count]):
        row["decision"] = "reject" if number % 3 == 2 else "accept"
    with open(sheet, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--cores", default="2")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="interplay-review-bench-"))
    corpus, outputs = workdir / "corpus", workdir / "outputs"
    if corpus.exists():
        shutil.rmtree(corpus)
    shutil.rmtree(outputs, ignore_errors=True)
    shutil.copytree(REPO / "corpus", corpus, ignore=shutil.ignore_patterns("reviews"))
    run = [*INTERPLAY, "run", "--corpus", str(corpus), "--outputs", str(outputs),
           "--cores", args.cores]
    results: list[dict] = []
    timed("1. full build", run, results)
    timed("2. rerun, nothing changed", run, results, planned(corpus, outputs))
    timed("3. interplay review (50 passages)",
          [*INTERPLAY, "review", "--reviewer", "bench", "--format", "csv", "--corpus",
           str(corpus), "--outputs", str(outputs)], results)
    timed("4. rerun, undecided rows appended", run, results, planned(corpus, outputs))
    decide(corpus / "reviews" / "bench.csv", 30)
    timed("5. rerun, 30 decisions (retrain + recode)", run, results, planned(corpus, outputs))
    (corpus / "harbourside" / "bench_interview.txt").write_text(NEW_INTERVIEW, encoding="utf-8")
    with open(corpus / "metadata.csv", "a", encoding="utf-8") as handle:
        handle.write("HS-BENCH-01,harbourside/bench_interview.txt,harbourside,interview,"
                     "provider,2017-03-01,Benchmark interview\n")
    timed("6. rerun, one interview added", run, results, planned(corpus, outputs))
    evaluation = json.loads((outputs / "evaluation.json").read_text())
    learning = evaluation["learning_from_review"]
    summary = {"workdir": str(workdir), "cores": args.cores, "steps": results,
               "learning_from_review": {k: learning.get(k) for k in ("reviewed_passages",)} | {
                   when: {m: learning[when][m] for m in ("macro_f1", "micro_f1", "mean_kappa")}
                   for when in ("before", "after") if when in learning}}
    (workdir / "review_loop.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary["learning_from_review"], indent=2))
    print(f"results: {workdir / 'review_loop.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
