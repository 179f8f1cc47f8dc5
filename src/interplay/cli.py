"""The `interplay` command: run the workflow, validate a corpus."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections import deque
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from interplay.config import check_locations, load_settings
from interplay.errors import InterplayError
from interplay.metadata import read_corpus

console = Console(stderr=True)
STEPS_DONE = re.compile(r"(\d+) of (\d+) steps \(\d+%\) done")
RULE_START = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):")


def find_project_root() -> Path:
    """The folder holding the Snakefile: the current one, or the checkout interplay runs from."""
    for candidate in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (candidate / "Snakefile").is_file() and (candidate / "config" / "config.yaml").is_file():
            return candidate
    raise InterplayError("no Snakefile found: run interplay from the interplay repository root")


def _snakemake_command(root: Path, args: argparse.Namespace) -> list[str]:
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(root / "Snakefile"),
               "--directory", str(root), "--cores", str(args.cores), "--rerun-incomplete"]
    overrides = []
    if args.corpus:
        overrides.append(f"corpus={Path(args.corpus).resolve()}")
    if args.outputs:
        overrides.append(f"outputs={Path(args.outputs).resolve()}")
    if overrides:
        command += ["--config", *overrides]
    if args.dry_run:
        command.append("--dry-run")
    return command


def cmd_run(args: argparse.Namespace) -> int:
    root = find_project_root()
    settings = load_settings(root / "config" / "config.yaml", corpus=args.corpus,
                             outputs=args.outputs)
    if not settings.corpus.is_absolute():
        settings = settings.model_copy(update={"corpus": root / settings.corpus,
                                               "outputs": root / settings.outputs})
    check_locations(settings)
    settings.outputs.mkdir(parents=True, exist_ok=True)
    log_path = settings.outputs / "logs" / "snakemake.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = _snakemake_command(root, args)
    tail: deque[str] = deque(maxlen=40)
    with open(log_path, "w", encoding="utf-8") as log, Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console, transient=False) as progress:
        task = progress.add_task("planning", total=None)
        process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            tail.append(line.rstrip())
            if match := STEPS_DONE.search(line):
                progress.update(task, completed=int(match[1]), total=int(match[2]))
            elif match := RULE_START.match(line.strip()):
                progress.update(task, description=match[1])
        code = process.wait()
        progress.update(task, description="done" if code == 0 else "failed")
    if code != 0:
        console.print("\n".join(tail), markup=False, highlight=False)
        console.print(f"[red]interplay run failed[/red]; full log: {log_path}")
        return code
    if any("Nothing to be done" in line for line in tail):
        console.print("Nothing to do: every output is up to date.")
    problems = settings.outputs / "problems.csv"
    console.print(f"Outputs in {settings.outputs}; problems and warnings: {problems}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    root = find_project_root()
    settings = load_settings(root / "config" / "config.yaml", corpus=args.corpus)
    corpus = settings.corpus if settings.corpus.is_absolute() else root / settings.corpus
    index = read_corpus(corpus)  # structural faults raise with every problem listed
    for warning in index.warnings:
        console.print(f"warning: {corpus / warning.path}: {warning.problem}. {warning.hint}",
                      markup=False, highlight=False)
    for problem in index.problems:
        console.print(f"error: {corpus / 'metadata.csv'} ({problem.doc_id}): "
                      f"{problem.problem}. {problem.hint}", markup=False, highlight=False)
    console.print(f"{len(index.documents)} documents usable, {len(index.problems)} error(s), "
                  f"{len(index.warnings)} warning(s)")
    return 1 if index.problems else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="interplay", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pipeline (Snakemake) with a progress display")
    run.add_argument("--corpus", help="corpus directory (default: from config/config.yaml)")
    run.add_argument("--outputs", help="outputs directory (default: from config/config.yaml)")
    run.add_argument("--cores", default="all", help="cores to use (default: all)")
    run.add_argument("--dry-run", action="store_true", help="show what would run")
    run.set_defaults(handler=cmd_run)
    validate = commands.add_parser("validate", help="check metadata.csv and the corpus files")
    validate.add_argument("--corpus", help="corpus directory (default: from config/config.yaml)")
    validate.set_defaults(handler=cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except InterplayError as error:
        console.print(f"[red]error[/red] {error.code}: {error}", highlight=False)
        return 2


if __name__ == "__main__":
    sys.exit(main())
