"""The `interplay` command: run the workflow, validate a corpus."""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import re
import subprocess
import sys
from collections import deque
from contextlib import contextmanager
from importlib.metadata import version as package_version
from pathlib import Path

import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from interplay import __version__
from interplay.codebook import load_codebook
from interplay.config import (
    annotation_dir,
    check_locations,
    load_settings,
    review_dir,
    settings_from_mapping,
)
from interplay.errors import ConfigError, InterplayError
from interplay.fileio import remove_stale_temporaries
from interplay.metadata import read_corpus

console = Console(stderr=True, soft_wrap=True)
STEPS_DONE = re.compile(r"(\d+) of (\d+) steps \(\d+%\) done")
RULE_START = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):")


def find_project_root() -> Path:
    """The folder holding the Snakefile: the current one, or the checkout interplay runs from."""
    for candidate in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (candidate / "Snakefile").is_file() and (candidate / "config" / "config.yaml").is_file():
            return candidate
    raise InterplayError("no Snakefile found: run interplay from the interplay repository root")


def _project_settings(root: Path, corpus: str | None = None, outputs: str | None = None,
                      annotations: str | None = None, config_file: str | None = None):
    base = root / "config" / "config.yaml"
    overrides = {"corpus": corpus, "outputs": outputs, "annotations": annotations}
    if config_file:
        data = _merged(_config_mapping(base), _config_mapping(Path(config_file)))
        data.update({k: v for k, v in overrides.items() if v is not None})
        settings = settings_from_mapping(data, source=f"{base} merged with {config_file}")
    else:
        settings = load_settings(base, **overrides)
    resolve = {k: root / getattr(settings, k)
               for k in ("corpus", "outputs", "codebook", "annotations")
               if getattr(settings, k) is not None and not getattr(settings, k).is_absolute()}
    pseudonymisation = settings.pseudonymisation
    resolve["pseudonymisation"] = pseudonymisation.model_copy(update={
        k: root / path for k in ("key", "names")
        if (path := getattr(pseudonymisation, k)) is not None and not path.is_absolute()})
    return settings.model_copy(update=resolve)


def _config_mapping(path: Path) -> dict:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None


def _merged(base: dict, extra: dict) -> dict:
    """`extra` over `base`, section by section, as Snakemake merges a --configfile."""
    return {**base, **{key: _merged(base[key], value)
                       if isinstance(value, dict) and isinstance(base.get(key), dict) else value
                       for key, value in extra.items()}}


def _snakemake_command(root: Path, args: argparse.Namespace) -> list[str]:
    """Snakemake with the local profile (profiles/local: jobs as threads of one process,
    incomplete outputs remade, one failing job not stopping the others)."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(root / "Snakefile"),
               "--directory", str(root), "--profile", str(root / "profiles" / "local"),
               "--cores", str(args.cores)]
    overrides = [f"{key}={Path(value).resolve()}" for key in ("corpus", "outputs", "annotations")
                 if (value := getattr(args, key))]
    if args.config:
        command += ["--configfile", str(Path(args.config).resolve())]
    if overrides:
        command += ["--config", *overrides]
    if args.dry_run:
        command.append("--dry-run")
    return command


STALE_LOCK = "Directory cannot be locked"


@contextmanager
def outputs_lock(outputs: Path):
    """Hold an exclusive lock on the outputs folder for the whole run. The kernel drops it
    when the process ends, however it ends, so holding it proves that no other
    `interplay run` is writing there, and that a Snakemake lock on them is stale."""
    handle = open(outputs / ".interplay.lock", "w")  # noqa: SIM115 - held for the run
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise InterplayError(f"another interplay run is writing to {outputs}: wait for it "
                             "to finish (or give this run other --outputs)") from None
    try:
        yield
    finally:
        handle.close()


def _snakemake_with_progress(command: list[str], root: Path, log_path: Path
                             ) -> tuple[int, deque[str]]:
    tail: deque[str] = deque(maxlen=40)
    with open(log_path, "a", encoding="utf-8") as log, Progress(
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
    return code, tail


CODEBOOK_CHECKED = Path("logs") / "codebook-checked.sha256"


def check_codebook(codebook: Path, outputs: Path) -> None:
    """Refuse a faulty codebook, every problem named. One that passed before, unchanged
    (same bytes, same interplay and spaCy versions), is not checked again: building its
    matchers takes most of a second, most of what a run with nothing to do costs. Any run
    with jobs to do checks it in full again before they start (the Snakefile's onstart)."""
    try:
        digest = hashlib.sha256(codebook.read_bytes() + f"\n{__version__} "
                                f"{package_version('spacy')}".encode()).hexdigest()
    except OSError:  # unreadable: load_codebook says so
        digest = None
    stamp = outputs / CODEBOOK_CHECKED
    if digest and stamp.is_file() and stamp.read_text(encoding="utf-8") == digest:
        return
    load_codebook(codebook)
    if digest:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest, encoding="utf-8")


def cmd_run(args: argparse.Namespace) -> int:
    root = find_project_root()
    settings = _project_settings(root, args.corpus, args.outputs, args.annotations, args.config)
    check_locations(settings)
    # Faults that make the whole input ambiguous stop here, every problem named, before
    # Snakemake plans (or removes) anything.
    read_corpus(settings.corpus)
    settings.outputs.mkdir(parents=True, exist_ok=True)
    log_path = settings.outputs / "logs" / "snakemake.log"
    command = _snakemake_command(root, args)
    with outputs_lock(settings.outputs):
        # inside the lock: a run refused for another one at work writes nothing
        check_codebook(settings.codebook, settings.outputs)
        leftovers = remove_stale_temporaries(settings.outputs)
        if leftovers:
            console.print(f"An earlier run was interrupted mid-write: removed {len(leftovers)} "
                          "half-written temporary file(s) it left.")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("", encoding="utf-8")
        code, tail = _snakemake_with_progress(command, root, log_path)
        if code != 0 and any(STALE_LOCK in line for line in tail):
            # A run killed outright (power cut, kill -9) leaves Snakemake's lock behind;
            # ours shows nobody else is running, so clear it and resume: incomplete
            # outputs are remade (--rerun-incomplete), finished ones are kept.
            console.print("An earlier run was interrupted: removing its stale lock and "
                          "resuming.")
            subprocess.run([*command, "--unlock"], cwd=root, check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            code, tail = _snakemake_with_progress(command, root, log_path)
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
    corpus = _project_settings(find_project_root(), args.corpus).corpus
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


def ensure_model(settings, *, retrain: bool = False):
    """The trained coder for the current codebook and annotations, training it if absent
    or stale (trained on another codebook, other annotations or other settings)."""
    from interplay.training import fingerprint, load_model, train_to_files

    annotations = sorted(str(p) for p in annotation_dir(settings).glob("*.csv"))
    model_path = settings.outputs / "model" / "coder.joblib"
    current = fingerprint(settings.codebook, annotations, settings.coding, settings.random_seed,
                          review_dir(settings))
    if model_path.is_file() and not retrain:
        coder, trained_on = load_model(model_path)
        if trained_on == current:
            return coder
        console.print("The stored model was trained on another codebook, annotations or "
                      "settings: retraining.")
    console.print(f"Training the coder on {len(annotations)} annotation file(s)...")
    train_to_files(str(settings.codebook), annotations, str(model_path),
                   str(settings.outputs / "model" / "metrics.json"),
                   str(settings.outputs / "evaluation.json"),
                   str(settings.outputs / "model" / "cross_validated.csv"),
                   settings=settings.coding, seed=settings.random_seed,
                   review_dir=review_dir(settings))
    return load_model(model_path)[0]


def cmd_train(args: argparse.Namespace) -> int:
    settings = _project_settings(find_project_root(), args.corpus, args.outputs,
                                 args.annotations)
    ensure_model(settings, retrain=True)
    report = settings.outputs / "evaluation.json"
    console.print(f"Model in {settings.outputs / 'model'}; cross-validated metrics in {report}")
    return 0


def cmd_code(args: argparse.Namespace) -> int:
    import pandas as pd

    from interplay.training import code_table

    settings = _project_settings(find_project_root(), args.corpus, args.outputs,
                                 args.annotations)
    source = Path(args.input)
    try:
        table = pd.read_csv(source, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise InterplayError(f"{source}: cannot read as CSV ({error})") from None
    missing = [c for c in ("id", "text") if c not in table.columns]
    if missing:
        raise InterplayError(f"{source}: missing column(s) {', '.join(missing)} "
                             f"(found: {', '.join(table.columns)}); the table needs 'id' and 'text'")
    coder = ensure_model(settings)
    coded = code_table(coder, table)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    coded.to_csv(args.output, index=False)
    console.print(f"{len(coded)} passages coded, {int((coded['codes'] != '').sum())} with at "
                  f"least one code: {args.output}")
    return 0


def cmd_import_qdpx(args: argparse.Namespace) -> int:
    import csv

    from interplay.codebook import load_codebook
    from interplay.refi import read_qdpx

    settings = _project_settings(find_project_root(), args.corpus, annotations=args.annotations)
    result = read_qdpx(args.file, load_codebook(settings.codebook))
    target = annotation_dir(settings) / f"imported_{Path(args.file).stem}.csv"
    if target.exists():
        raise InterplayError(f"{target} exists: imports never overwrite annotations; move or "
                             "rename it first")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "x", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["doc_id", "text", "codes", "coder"])
        writer.writeheader()
        writer.writerows(result.rows)
    for warning in result.warnings:
        console.print(f"warning: {warning}", markup=False, highlight=False)
    for name, count in sorted(result.unmapped.items()):
        console.print(f"not mapped: code '{name}' ({count} codings): add it to a code's "
                      "aliases in the codebook to import it", markup=False, highlight=False)
    console.print(f"{len(result.rows)} coded passages written to {target}", markup=False)
    return 0


SIMILAR_COLUMNS = ("rank", "similarity", "passage_id", "doc_id", "site", "codes", "text")
KWIC_COLUMNS = ("passage_id", "doc_id", "site", "start", "end", "left", "match", "right", "codes")


def cmd_similar(args: argparse.Namespace) -> int:
    from interplay.config import annotation_dir
    from interplay.fileio import write_csv
    from interplay.passage_table import read_coded_passages
    from interplay.similarity import TermWeights, reference_texts, similar_passages

    settings = _project_settings(find_project_root(), outputs=args.outputs,
                                 annotations=args.annotations)
    coded = settings.outputs / "coded_passages.csv"
    if not coded.is_file():
        raise InterplayError(f"{coded} not found: run `interplay run` first, so there are "
                             "coded passages to compare")
    weights = TermWeights.from_texts(reference_texts(annotation_dir(settings).glob("*.csv")))
    found = similar_passages(read_coded_passages(coded), args.passage_id, top=args.top,
                             weights=weights, code=args.code, missing_code=args.missing_code)
    rows = [{"rank": rank, "similarity": f"{score:.2f}", "passage_id": p.passage_id,
             "doc_id": p.doc_id, "site": p.site, "codes": ";".join(p.codes), "text": p.text}
            for rank, (score, p) in enumerate(found, start=1)]
    if not rows:
        console.print(f"No codable passages to compare with {args.passage_id} "
                      "(after the code filters).", markup=False, highlight=False)
    for row in rows:
        text = " ".join(row["text"].split())
        text = text if len(text) <= 100 else text[:99] + "…"
        console.print(f"{row['rank']:>3}  {row['similarity']}  {row['passage_id']}  "
                      f"[{row['site']}]  {row['codes'] or '-'}\n     {text}",
                      markup=False, highlight=False)
    if args.csv:
        write_csv(args.csv, SIMILAR_COLUMNS, rows)
        console.print(f"{len(rows)} similar passages written to {args.csv}", markup=False,
                      highlight=False)
    return 0


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def cmd_review(args: argparse.Namespace) -> int:
    from interplay.codebook import load_codebook
    from interplay.review import sheet_for, update_review_sheet

    settings = _project_settings(find_project_root(), args.corpus, args.outputs)
    coded = settings.outputs / "coded_passages.csv"
    metrics = settings.outputs / "model" / "metrics.json"
    for needed in (coded, metrics):
        if not needed.is_file():
            raise InterplayError(f"{needed} not found: run `interplay run` first, so there "
                                 "are coded passages to review")
    sheet = sheet_for(Path(args.reviews) if args.reviews else review_dir(settings),
                      args.reviewer, args.format)
    existed = sheet.exists()
    added, backup = update_review_sheet(sheet, coded, metrics, load_codebook(settings.codebook),
                                        uncertain=args.uncertain, confident=args.confident,
                                        seed=settings.random_seed)
    summary = ", ".join(f"{count} {what}" for what, count in added.items())
    kept = f" (the previous version is kept as {backup})" if backup else ""
    console.print(f"{'Updated' if existed else 'Created'} {sheet}{kept}: added {summary}. "
                  "Fill in decision (accept, reject or edit), codes and comment, then run "
                  "`interplay run` again.", markup=False, highlight=False)
    return 0


def cmd_kwic(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from rich.measure import Measurement
    from rich.table import Table
    from rich.text import Text

    from interplay.concordance import find_occurrences
    from interplay.fileio import write_csv
    from interplay.passage_table import read_coded_passages

    if args.width < 0:
        raise InterplayError(f"--width must be 0 or more, not {args.width}")
    settings = _project_settings(find_project_root(), outputs=args.outputs)
    coded = settings.outputs / "coded_passages.csv"
    if not coded.is_file():
        raise InterplayError(f"{coded} not found: run `interplay run` first, so there are "
                             "coded passages to search")
    if args.code is not None and args.code not in load_codebook(settings.codebook).ids:
        raise InterplayError(f"code '{args.code}' is not in the codebook {settings.codebook}")
    hits = find_occurrences(read_coded_passages(coded), args.term, lemma=args.lemma,
                            code=args.code, site=args.site, width=args.width)
    table = Table(show_edge=False, pad_edge=False)
    for name, justify in (("left", "right"), ("match", "left"), ("right", "left"),
                          ("passage", "left"), ("doc", "left"), ("site", "left"),
                          ("start", "right"), ("end", "right"), ("codes", "left")):
        table.add_column(name, justify=justify)
    for hit in hits:
        table.add_row(Text(hit.left), Text(" ".join(hit.match.split()), style="bold"),
                      Text(hit.right), Text(hit.passage_id), Text(hit.doc_id), Text(hit.site),
                      str(hit.start), str(hit.end), Text(";".join(hit.codes)))
    if hits:  # one line per hit, however narrow the terminal: a concordance is read by column
        out = Console()
        needed = Measurement.get(out, out.options.update_width(10_000), table).maximum
        Console(width=max(out.width, needed)).print(table)
    if args.csv:
        write_csv(args.csv, KWIC_COLUMNS,
                  ({**asdict(hit), "codes": ";".join(hit.codes)} for hit in hits))
    written = f"; written to {args.csv}" if args.csv else ""
    console.print(f"{len(hits)} occurrence(s) of '{args.term}' in "
                  f"{len({h.passage_id for h in hits})} passage(s){written}",
                  markup=False, highlight=False)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from rich.table import Table
    from rich.text import Text

    from interplay.changes import (
        CODABLE,
        NOTHING_MOVED,
        compare,
        diff_html,
        figure_text,
        inputs_sentence,
        read_run,
        run_text,
        site_digests,
        totals_sentence,
    )
    from interplay.fileio import write_text

    comparison = compare(read_run(args.run_a), read_run(args.run_b))
    if args.site is not None and args.site not in comparison.sites:
        raise InterplayError(f"site '{args.site}' is in neither run; the sites are: "
                             f"{', '.join(comparison.sites)}")
    digests = site_digests(comparison, site=args.site)
    out = Console()
    for line in (f"Before: {args.run_a} ({run_text(comparison.before)})",
                 f"After:  {args.run_b} ({run_text(comparison.after)})",
                 inputs_sentence(comparison),
                 totals_sentence(comparison) if comparison.changed else NOTHING_MOVED):
        out.print(line, markup=False, highlight=False)
    if args.site is not None and comparison.changed and not digests:
        out.print(f"Nothing moved in site {args.site}.", markup=False, highlight=False)
    for digest in digests:
        out.print()
        out.rule(Text(digest.site, style="bold"))
        if digest.codes:
            table = Table(title=Text("codes gained and lost (passages)"), title_justify="left")
            for name, justify in (("code", "left"), ("gained", "right"), ("lost", "right")):
                table.add_column(name, justify=justify)
            for code, gained, lost in digest.codes:
                table.add_row(Text(code), str(gained), str(lost))
            out.print(table)
        if digest.added or digest.removed:
            out.print(f"Passages in one run only: {digest.added} added, {digest.removed} "
                      "removed.", markup=False, highlight=False)
        for title, rows in (
                ("framework-matrix cells that moved",
                 [(code or CODABLE, before, after) for code, before, after in digest.cells]),
                ("site-summary figures that moved",
                 [(c.figure, figure_text(c.figure, c.before), figure_text(c.figure, c.after))
                  for c in digest.figures])):
            if rows:
                table = Table(title=Text(title), title_justify="left")
                table.add_column("", overflow="fold")  # a figure's key is read whole
                table.add_column("before")
                table.add_column("after")
                for row in rows:
                    table.add_row(*(Text(cell) for cell in row))
                out.print(table)
    if args.html:
        write_text(args.html, diff_html(comparison, digests))
        console.print(f"Written, with the passages: {args.html}", markup=False,
                      highlight=False)
    elif comparison.passages:
        console.print("--html FILE lists the passages that changed.", markup=False,
                      highlight=False)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="interplay", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pipeline (Snakemake) with a progress display")
    run.add_argument("--corpus", help="corpus directory (default: from config/config.yaml)")
    run.add_argument("--outputs", help="outputs directory (default: from config/config.yaml)")
    run.add_argument("--annotations", help="folder of annotation CSVs (default: CORPUS/annotations)")
    run.add_argument("--config", metavar="FILE",
                     help="settings merged over config/config.yaml (e.g. pseudonymisation); "
                          "paths in it are relative to the repository root")
    run.add_argument("--cores", default="all", help="cores to use (default: all)")
    run.add_argument("--dry-run", action="store_true", help="show what would run")
    run.set_defaults(handler=cmd_run)
    validate = commands.add_parser("validate", help="check metadata.csv and the corpus files")
    validate.add_argument("--corpus", help="corpus directory (default: from config/config.yaml)")
    validate.set_defaults(handler=cmd_validate)
    train = commands.add_parser("train", help="(re)train the coder on corpus/annotations")
    train.add_argument("--corpus", help="corpus directory holding annotations/")
    train.add_argument("--outputs", help="outputs directory (model goes to OUTPUTS/model)")
    train.add_argument("--annotations", help="folder of annotation CSVs (default: CORPUS/annotations)")
    train.set_defaults(handler=cmd_train)
    code = commands.add_parser("code", help="code any CSV of passages (columns id, text)")
    code.add_argument("--input", required=True, help="CSV with columns id, text (others kept)")
    code.add_argument("--output", required=True, help="CSV to write: id, codes, score:<code>...")
    code.add_argument("--corpus", help="corpus directory holding annotations/ (for training)")
    code.add_argument("--outputs", help="outputs directory holding model/")
    code.add_argument("--annotations", help="folder of annotation CSVs (default: CORPUS/annotations)")
    code.set_defaults(handler=cmd_code)
    importer = commands.add_parser(
        "import-qdpx", help="turn codings made in a QDA package (.qdpx) into annotations")
    importer.add_argument("file", help="a REFI-QDA project (.qdpx)")
    importer.add_argument("--corpus", help="corpus directory (annotations go to CORPUS/annotations)")
    importer.add_argument("--annotations", help="folder to write the annotation CSV to")
    importer.set_defaults(handler=cmd_import_qdpx)
    review = commands.add_parser(
        "review", help="create or extend a reviewer's sheet (uncertain passages first)")
    review.add_argument("--reviewer", required=True, help="the reviewer's name (names the sheet)")
    review.add_argument("--uncertain", type=int, default=40,
                        help="passages closest to a code's threshold to add (default 40)")
    review.add_argument("--confident", type=int, default=10,
                        help="confidently coded passages to add as a check (default 10)")
    review.add_argument("--format", choices=("xlsx", "csv"),
                        help="format of a new sheet (default xlsx; an existing sheet is kept)")
    review.add_argument("--corpus", help="corpus directory (sheets go to CORPUS/reviews)")
    review.add_argument("--outputs", help="outputs directory holding coded_passages.csv")
    review.add_argument("--reviews", help="folder of review sheets (default: CORPUS/reviews)")
    review.set_defaults(handler=cmd_review)
    similar = commands.add_parser(
        "similar", help="passages most like a given one (TF-IDF cosine similarity)")
    similar.add_argument("passage_id", help="the passage to compare with (coded_passages.csv)")
    similar.add_argument("--top", type=_positive_int, default=10,
                         help="how many passages to show (default 10)")
    similar.add_argument("--code", metavar="ID", help="only passages carrying this code")
    similar.add_argument("--missing-code", metavar="ID",
                         help="only passages NOT carrying this code (evidence it missed)")
    similar.add_argument("--outputs", help="outputs directory holding coded_passages.csv")
    similar.add_argument("--annotations", help="annotations directory, whose passages weigh "
                         "the terms as in the report (default: from config/config.yaml)")
    similar.add_argument("--csv", metavar="FILE", help="also write the results to this CSV")
    similar.set_defaults(handler=cmd_similar)
    kwic = commands.add_parser(
        "kwic", help="concordance: every occurrence of a word or phrase, in context")
    kwic.add_argument("term", help="a word or phrase (case-insensitive, whole words)")
    kwic.add_argument("--lemma", action="store_true",
                      help="match on lemmas ('tender' also finds 'tendered', 'tenders')")
    kwic.add_argument("--code", metavar="ID", help="only passages carrying this (final) code")
    kwic.add_argument("--site", help="only passages from this site")
    kwic.add_argument("--width", type=int, default=60,
                      help="characters of context each side (default 60)")
    kwic.add_argument("--outputs", help="outputs directory holding coded_passages.csv")
    kwic.add_argument("--csv", metavar="FILE", help="also write the occurrences to this CSV")
    kwic.set_defaults(handler=cmd_kwic)
    diff = commands.add_parser(
        "diff", help="what moved between two runs: codes, framework-matrix cells, site figures")
    diff.add_argument("run_a", metavar="RUN_A", help="the earlier outputs folder (or a snapshot/)")
    diff.add_argument("run_b", metavar="RUN_B", help="the later outputs folder")
    diff.add_argument("--site", help="only this site")
    diff.add_argument("--html", metavar="FILE",
                      help="also write the comparison, with the passages, as an HTML page")
    diff.set_defaults(handler=cmd_diff)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except InterplayError as error:
        console.print(f"[red]error[/red] {error.code}: ", end="", highlight=False)
        console.print(str(error), markup=False, highlight=False)
        return 2


if __name__ == "__main__":
    sys.exit(main())
