"""Benchmark interplay on a synthetic corpus and against the floor (issue 6).

    .venv/bin/python benchmarks/run.py [--sizes 50 200] [--workdir DIR] [--skip-pipeline]

For each corpus size N it builds a synthetic corpus (benchmarks/synthetic.py) and
measures: the full pipeline build (`interplay run --cores 2`), a rerun with nothing
changed, adding one document and rerunning, the peak memory of any job, `interplay
code` throughput on one core (the coder's `code()` call in-process, model loaded
first), PDF extraction pages per second (plain pdfplumber `extract_text`, interplay
with its pdfplumber backend, interplay with pypdfium2), and the floor: one plain
in-process script doing only the unavoidable work (read every file, PDF text with
plain pdfplumber, DOCX paragraphs with python-docx, tokenise everything with
spacy.blank("en")). It also measures what one Snakemake job costs before doing any
work. Figures are printed beside the issue's targets and written to
WORKDIR/results.json. Run by hand: wall times depend on the machine and its load
(the load average is recorded with every figure).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Self

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import GENERATOR_VERSION, CorpusWriter, SentencePools, write_corpus

REPO = Path(__file__).resolve().parents[1]
ANNOTATIONS = REPO / "corpus" / "annotations"
GIB = 1024 ** 3
TARGETS = {  # issue 6, on a 2-core machine; `ratio` is the full build over the floor
    "ratio_to_floor": ("≤ 1.5 (N=200)", lambda v: v <= 1.5),
    "add_one_s": ("≤ 10 s (N=200)", lambda v: v <= 10),
    "rerun_s": ("≤ 3 s (N=200)", lambda v: v <= 3),
    "code_passages_per_s": ("≥ 2,000 /s", lambda v: v >= 2000),
    "peak_job_rss_gib": ("≤ 1.5 GiB", lambda v: v <= 1.5),
    "pdf_cleanup_vs_plain": ("≥ 1.0x plain", lambda v: v >= 1.0),
    "pdfium_vs_pdfplumber": ("≥ 10x", lambda v: v >= 10),
}
console = Console()


# --- measuring --------------------------------------------------------------------------

def _load() -> float:
    return round(os.getloadavg()[0], 2)


class TreeMemory:
    """Largest resident set of any single process in a process tree, and the CPU time of
    its processes, polled from /proc. GNU time sees only what the kernel carries up from
    reaped children; the pipeline's worker processes are children of a multiprocessing
    fork server that no process waits for, so their memory and CPU reach time's figures
    late or not at all."""

    def __init__(self, root: int, interval: float = 0.5):
        self.root, self.interval, self.peak_kib = root, interval, 0
        self._cpu_ticks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _children(self) -> dict[int, list[int]]:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(parent, []).append(int(entry.name))
        return children

    def _poll(self) -> None:
        while not self._stop.wait(self.interval):
            children, todo = self._children(), [self.root]
            while todo:
                pid = todo.pop()
                todo += children.get(pid, [])
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            self.peak_kib = max(self.peak_kib, int(line.split()[1]))
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    ticks = int(fields[11]) + int(fields[12])  # utime + stime
                    self._cpu_ticks[pid] = max(self._cpu_ticks.get(pid, 0), ticks)
                except (OSError, IndexError, ValueError):
                    continue

    @property
    def cpu_s(self) -> float:
        return sum(self._cpu_ticks.values()) / os.sysconf("SC_CLK_TCK")


def run_timed(command: list[str], log: Path, *, env: dict | None = None) -> dict:
    """Run a command to completion; its wall time and the peak RSS of any process in it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    time_bin = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    rss_file = log.with_suffix(".rss")
    full = [time_bin, "-f", "%M %U %S", "-o", str(rss_file), *command] if time_bin else command
    load = _load()
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(full, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
        with TreeMemory(process.pid) as memory:
            code = process.wait()
    wall = time.perf_counter() - start
    peak_kib, cpu = memory.peak_kib, round(memory.cpu_s, 1)
    if time_bin and rss_file.exists():
        fields = rss_file.read_text().split()[-3:]  # GNU time: max RSS (KiB), user s, system s
        peak_kib = max(peak_kib, int(fields[0]))
        cpu = max(cpu, round(float(fields[1]) + float(fields[2]), 1))
    if code != 0:
        raise SystemExit(f"failed ({code}): {' '.join(command)}; see {log}")
    return {"wall_s": round(wall, 2), "cpu_s": cpu, "peak_rss_gib": round(peak_kib * 1024 / GIB, 3),
            "load_before": load, "load_after": _load()}


def interplay_run(corpus: Path, outputs: Path, cores: int, log: Path,
                  config: list[str]) -> dict:
    """`interplay run`, or Snakemake directly when extra --config values are needed."""
    if not config:
        command = [sys.executable, "-m", "interplay.cli", "run", "--corpus", str(corpus),
                   "--outputs", str(outputs), "--annotations", str(ANNOTATIONS),
                   "--cores", str(cores)]
    else:
        command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                   "--directory", str(REPO), "--cores", str(cores), "--rerun-incomplete",
                   "--config", f"corpus={corpus}", f"outputs={outputs}",
                   f"annotations={ANNOTATIONS}", *config]
    result = run_timed(command, log)
    if not config:  # interplay run logs Snakemake's output there; keep this run's copy
        shutil.copyfile(outputs / "logs" / "snakemake.log", log.with_suffix(".snakemake.log"))
        log = log.with_suffix(".snakemake.log")
    result["jobs"] = _job_counts(log)
    return result


def plan(corpus: Path, outputs: Path, config: list[str]) -> dict:
    """A dry run into an empty outputs folder: how many jobs a full build has, and how
    long Snakemake takes to plan them."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
         "--directory", str(REPO), "--cores", "2", "--dry-run", "--config", f"corpus={corpus}",
         f"outputs={outputs}", f"annotations={ANNOTATIONS}", *config],
        cwd=REPO, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    log = outputs.parent / f"plan-{corpus.name}.log"
    log.write_text(done.stdout + done.stderr, encoding="utf-8")
    return {"dry_run_s": round(wall, 2), "jobs": _job_counts(log)}


def _job_counts(log: Path) -> dict[str, int]:
    """Snakemake's 'Job stats' table from a log: jobs run per rule."""
    counts: dict[str, int] = {}
    if not log.exists():
        return counts
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    for number, line in enumerate(lines):
        if line.strip() == "Job stats:":  # the plan, printed first (and again at the end)
            for row in lines[number + 3:]:
                parts = row.split()
                if len(parts) != 2 or not parts[1].isdigit():
                    break
                if parts[0] != "total":
                    counts[parts[0]] = int(parts[1])
            break
    return counts


def measure_floor(corpus: Path) -> dict:
    """The unavoidable work, in one process: read, extract plainly, tokenise."""
    import docx
    import pdfplumber
    import spacy

    start, load = time.perf_counter(), _load()
    nlp = spacy.blank("en")
    texts, pages, files = [], 0, 0
    pdf_seconds = 0.0
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        suffix = path.suffix.lower()
        if suffix == ".pdf":
            pdf_start = time.perf_counter()
            with pdfplumber.open(path) as pdf:
                texts.append("\n".join(page.extract_text() or "" for page in pdf.pages))
                pages += len(pdf.pages)
            pdf_seconds += time.perf_counter() - pdf_start
        elif suffix == ".docx":
            texts.append("\n".join(p.text for p in docx.Document(str(path)).paragraphs))
        elif suffix == ".txt":
            texts.append(path.read_text(encoding="utf-8"))
        else:
            continue
        files += 1
    tokens = sum(len(doc) for doc in nlp.pipe(texts))
    wall = time.perf_counter() - start
    return {"wall_s": round(wall, 2), "files": files, "pdf_pages": pages, "tokens": tokens,
            "pdf_extract_text_s": round(pdf_seconds, 2), "load_before": load,
            "load_after": _load()}


def measure_pdf(corpus: Path) -> dict:
    """Pages per second over the corpus's PDFs: plain pdfplumber extract_text, then
    interplay's extraction (cleanup included) with each backend. CPU time of this
    process, so other load on the machine matters less than for wall times."""
    import pdfplumber

    from interplay.extract.pdf import _word_log_probs, extract_pdf

    _word_log_probs()  # loaded once per process by either backend: not a per-page cost
    paths = sorted(corpus.rglob("*.pdf"))
    pages = 0
    start = time.process_time()
    for path in paths:
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                page.extract_text()
                pages += 1
    timings = {"plain_pdfplumber": time.process_time() - start}
    texts = {}
    for backend in ("pdfplumber", "pypdfium2"):
        start = time.process_time()
        texts[backend] = [extract_pdf(path, backend=backend).text for path in paths]
        timings[backend] = time.process_time() - start
    identical = sum(a == b for a, b in zip(texts["pdfplumber"], texts["pypdfium2"]))
    per_s = {k: round(pages / v, 1) for k, v in timings.items()}
    return {"pdfs": len(paths), "pages": pages, "cpu_s": {k: round(v, 2) for k, v in timings.items()},
            "pages_per_s": per_s, "pdfium_identical_texts": identical,
            "pdf_cleanup_vs_plain": round(per_s["pdfplumber"] / per_s["plain_pdfplumber"], 2),
            "pdfium_vs_pdfplumber": round(per_s["pypdfium2"] / per_s["plain_pdfplumber"], 1),
            "pdfium_vs_interplay_pdfplumber": round(per_s["pypdfium2"] / per_s["pdfplumber"], 1)}


CODE_PROBE = textwrap.dedent("""
    import csv, json, sys, time
    from interplay.training import load_model
    model, passages = sys.argv[1], sys.argv[2]
    start = time.perf_counter()
    coder, _ = load_model(model)
    with open(passages, encoding="utf-8", newline="") as handle:
        texts = [r["text"] for r in csv.DictReader(handle) if r["codable"] == "True"]
    coder.code(texts[:20])  # first use builds the rule matcher and spaCy's tables
    loaded = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    coder.code(texts, with_evidence=False)  # as `interplay code` does (training.code_table)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"passages": len(texts), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                      "passages_per_s": round(len(texts) / wall, 1),
                      "passages_per_cpu_s": round(len(texts) / cpu, 1),
                      "startup_s": round(loaded, 2)}))
""")


def measure_code(model: Path, passages_csv: Path) -> dict:
    """The coder's `code()` on every codable passage, as `interplay code` runs it (codes and
    scores, no evidence), one thread on one core (BLAS
    threads off, pinned with taskset where there is one), start-up excluded."""
    single = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    command = [sys.executable, "-c", CODE_PROBE, str(model), str(passages_csv)]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    load = _load()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **single}, check=True)
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "load_before": load}


def passages_in_process(corpus: Path, out_csv: Path) -> dict:
    """Extract and segment the whole corpus in this process (for --skip-pipeline, and as
    the pipeline's own work without any per-job cost), writing passages.csv."""
    import csv

    from interplay.config import SegmentationSettings
    from interplay.extract import extract_document
    from interplay.metadata import read_corpus
    from interplay.segment import PASSAGE_COLUMNS, segment

    start = time.perf_counter()
    rows = []
    for document in read_corpus(corpus).documents:
        extracted = extract_document(corpus / document.path)
        passages, _ = segment(extracted.text, document, extracted.page_starts,
                              SegmentationSettings())
        rows += [p.as_row() for p in passages]
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    with open(out_csv, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=PASSAGE_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return {"wall_s": round(time.perf_counter() - start, 2), "passages": len(rows)}


def measure_startup(workdir: Path, corpus: Path, outputs: Path | None) -> dict:
    """What a job costs before it does anything: Python, a trivial Snakemake job, and
    one real extract job over the time the same extraction takes in-process."""
    result: dict = {}

    def best_of(command: list[str], times: int = 3, cwd: Path = REPO) -> float:
        best = float("inf")
        for _ in range(times):
            start = time.perf_counter()
            subprocess.run(command, cwd=cwd, check=True, capture_output=True)
            best = min(best, time.perf_counter() - start)
        return round(best, 3)

    result["python_s"] = best_of([sys.executable, "-c", "pass"])
    result["import_extract_s"] = best_of([sys.executable, "-c", "import interplay.extract"])
    result["import_segment_code_s"] = best_of(
        [sys.executable, "-c", "import interplay.segment, interplay.training"])
    trivial = workdir / "trivial-workflow"
    shutil.rmtree(trivial, ignore_errors=True)
    trivial.mkdir(parents=True)
    jobs = 8
    (trivial / "Snakefile").write_text(textwrap.dedent(f"""
        rule all:
            input: expand("out/{{i}}.txt", i=range({jobs}))
        rule touch:
            output: "out/{{i}}.txt"
            run:
                open(output[0], "w").write("x")
    """))
    snakemake = [sys.executable, "-m", "snakemake", "--cores", "1", "--quiet", "all"]
    start = time.perf_counter()
    subprocess.run(snakemake, cwd=trivial, check=True, capture_output=True)
    with_jobs = time.perf_counter() - start
    nothing = best_of(snakemake, cwd=trivial)
    result["snakemake_nothing_to_do_s"] = nothing
    result["trivial_job_s"] = round((with_jobs - nothing) / jobs, 3)
    if outputs is not None:
        from interplay.extract import extract_to_files
        from interplay.metadata import read_corpus

        small = min((d for d in read_corpus(corpus).documents if d.path.endswith(".txt")),
                    key=lambda d: d.doc_id)
        start = time.perf_counter()
        extract_to_files(corpus / small.path, workdir / "probe.txt", workdir / "probe.json",
                         doc_id=small.doc_id, display_path=small.path)
        result["extract_in_process_s"] = round(time.perf_counter() - start, 3)
        target = outputs / "text" / f"{small.doc_id}.json"
        snakemake = [sys.executable, "-m", "snakemake"]
        base = ["--snakefile", str(REPO / "Snakefile"), "--directory", str(REPO),
                "--cores", "1", "--allowed-rules", "extract", "--config", f"corpus={corpus}",
                f"outputs={outputs}", f"annotations={ANNOTATIONS}", "--", str(target)]
        result["dag_only_s"] = best_of([*snakemake, "--dry-run", *base], times=2)
        timings = []
        for _ in range(2):
            for suffix in (".json", ".txt"):
                target.with_suffix(suffix).unlink(missing_ok=True)
            start = time.perf_counter()
            subprocess.run([*snakemake, *base], cwd=REPO, check=True, capture_output=True)
            timings.append(time.perf_counter() - start)
        result["one_extract_job_s"] = round(min(timings), 3)
        result["extract_job_overhead_s"] = round(
            min(timings) - result["dag_only_s"] - result["extract_in_process_s"], 3)
    return result


# --- one corpus size ----------------------------------------------------------------------

def prepare_corpus(workdir: Path, n: int, seed: int, pools: SentencePools) -> Path:
    """The corpus for size n, rebuilt unless an identical one is already there."""
    corpus = workdir / f"corpus-{n}"
    stamp = {"n": n, "seed": seed, "generator": GENERATOR_VERSION}
    manifest = corpus / ".benchmark.json"
    if manifest.exists() and json.loads(manifest.read_text()) == stamp:
        return corpus
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    start = time.perf_counter()
    documents = write_corpus(corpus, n, pools, seed=seed)
    manifest.write_text(json.dumps(stamp))
    words = sum(d.words for d in documents)
    console.print(f"corpus of {n} documents ({words:,} words) written in "
                  f"{time.perf_counter() - start:.0f} s: {corpus}")
    return corpus


def benchmark_size(workdir: Path, n: int, args: argparse.Namespace, pools: SentencePools,
                   previous: dict) -> dict:
    corpus = prepare_corpus(workdir, n, args.seed, pools)
    outputs = workdir / f"outputs-{n}"
    logs = workdir / f"logs-{n}"
    result: dict = {"n": n, "corpus": str(corpus)}
    console.rule(f"N = {n}")
    console.print("floor ...")
    result["floor"] = measure_floor(corpus)
    console.print(f"  {result['floor']['wall_s']} s")
    console.print("PDF extraction ...")
    result["pdf"] = measure_pdf(corpus)
    console.print(f"  pages/s {result['pdf']['pages_per_s']}")
    config = [f"extraction={{pdf_backend: {args.pdf_backend}}}"] if args.pdf_backend else []
    result["plan"] = plan(corpus, workdir / f"empty-outputs-{n}", config)
    if args.skip_pipeline:
        console.print("passages in-process (pipeline skipped) ...")
        result["in_process"] = passages_in_process(corpus, workdir / f"passages-{n}.csv")
        built = sorted(workdir.glob("outputs-*/model/coder.joblib"))
        model = built[-1] if built else workdir / "model" / "coder.joblib"
        if not model.exists():
            console.print("training the coder (no pipeline run to take it from) ...")
            from interplay.config import CodingSettings
            from interplay.training import train_to_files

            train_to_files(str(REPO / "config" / "codebook.yaml"),
                           sorted(str(p) for p in ANNOTATIONS.glob("*.csv")), str(model),
                           str(model.with_name("metrics.json")),
                           str(model.with_name("evaluation.json")),
                           str(model.with_name("cross_validated.csv")),
                           settings=CodingSettings(), seed=13)
        passages_csv = workdir / f"passages-{n}.csv"
    else:
        shutil.rmtree(outputs, ignore_errors=True)
        console.print(f"full build (cores={args.cores}) ...")
        result["build"] = interplay_run(corpus, outputs, args.cores, logs / "build.log", config)
        console.print(f"  {result['build']['wall_s']} s, jobs {sum(result['build']['jobs'].values())}")
        console.print("rerun, nothing changed ...")
        result["rerun"] = interplay_run(corpus, outputs, args.cores, logs / "rerun.log", config)
        console.print(f"  {result['rerun']['wall_s']} s")
        console.print("add one document ...")
        result["add_one"] = add_one_document(corpus, outputs, n, args, pools, logs, config)
        console.print(f"  {result['add_one']['wall_s']} s")
        model, passages_csv = outputs / "model" / "coder.joblib", outputs / "passages.csv"
        console.print("per-job start-up ...")
        result["startup"] = measure_startup(workdir, corpus, outputs)
    console.print("interplay code throughput ...")
    result["code"] = measure_code(model, passages_csv)
    if args.skip_pipeline and "build" in previous:  # keep the last measured pipeline figures
        result.update({k: previous[k] for k in ("build", "rerun", "add_one", "startup")
                       if k in previous}, pipeline_measured=previous.get("measured"))
    result["measured"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return result


def add_one_document(corpus: Path, outputs: Path, n: int, args: argparse.Namespace,
                     pools: SentencePools, logs: Path, config: list[str]) -> dict:
    """Add document n (the next in the corpus's own mix), rerun, then take it out again
    so the corpus on disk stays the one its manifest describes."""
    metadata = corpus / "metadata.csv"
    before = metadata.read_bytes()
    added = CorpusWriter(pools, seed=args.seed).document(corpus, n)
    with open(metadata, "a", encoding="utf-8", newline="") as handle:
        import csv

        csv.writer(handle).writerow([getattr(added, c) for c in
                                     ("doc_id", "path", "site", "kind", "actor", "date", "title")])
    try:
        result = interplay_run(corpus, outputs, args.cores, logs / "add_one.log", config)
    finally:
        (corpus / added.path).unlink()
        metadata.write_bytes(before)
    return {**result, "document": added.path}


def summarise(result: dict, others: list[dict]) -> dict:
    """The figures the targets apply to. Without a measured build for this size, the
    build is extrapolated from a size that has one, by the number of jobs (per-job cost
    dominates; see the start-up figures), and marked as such."""
    summary = {"floor_s": result["floor"]["wall_s"],
               "pdf_cleanup_vs_plain": result["pdf"]["pdf_cleanup_vs_plain"],
               "pdfium_vs_pdfplumber": result["pdf"]["pdfium_vs_pdfplumber"],
               "code_passages_per_s": result["code"]["passages_per_s"]}
    if "build" in result:
        summary.update(
            build_s=result["build"]["wall_s"],
            rerun_s=result["rerun"]["wall_s"], add_one_s=result["add_one"]["wall_s"],
            peak_job_rss_gib=max(result[k]["peak_rss_gib"] for k in ("build", "rerun", "add_one")))
    else:
        measured = [o for o in others if "build" in o and o["n"] != result["n"]]
        if measured:
            base = max(measured, key=lambda o: o["n"])
            jobs = sum(result["plan"]["jobs"].values())
            base_jobs = sum(base["plan"]["jobs"].values()) if "plan" in base else \
                sum(base["build"]["jobs"].values())
            summary["build_s"] = round(base["build"]["wall_s"] * jobs / base_jobs, 1)
            summary["extrapolated_from"] = base["n"]
    if "build_s" in summary:
        summary["ratio_to_floor"] = round(summary["build_s"] / summary["floor_s"], 2)
    return summary


# --- report -------------------------------------------------------------------------------

ROWS = [("build_s", "full build (s)", None), ("floor_s", "floor (s)", None),
        ("ratio_to_floor", "build / floor", "ratio_to_floor"),
        ("add_one_s", "add one document (s)", "add_one_s"),
        ("rerun_s", "rerun, nothing changed (s)", "rerun_s"),
        ("code_passages_per_s", "interplay code (passages/s, 1 core)", "code_passages_per_s"),
        ("peak_job_rss_gib", "peak memory of any job (GiB)", "peak_job_rss_gib"),
        ("pdf_cleanup_vs_plain", "PDF: interplay (pdfplumber) / plain extract_text",
         "pdf_cleanup_vs_plain"),
        ("pdfium_vs_pdfplumber", "PDF: interplay (pypdfium2) / plain extract_text",
         "pdfium_vs_pdfplumber")]


def print_report(results: dict) -> None:
    sizes = [results["sizes"][key] for key in sorted(results["sizes"], key=int)]
    table = Table(title="interplay benchmark (targets from issue 6; 2-core machine)")
    table.add_column("figure")
    for size in sizes:
        table.add_column(f"N = {size['n']}", justify="right")
    table.add_column("target")
    for key, label, target in ROWS:
        cells = []
        for size in sizes:
            value = size["summary"].get(key)
            if value is None:
                cells.append("–")
                continue
            mark = ""
            if key in ("build_s", "ratio_to_floor") and "extrapolated_from" in size["summary"]:
                mark = f" (from N={size['summary']['extrapolated_from']})"
            if target:
                mark += " [green]pass[/green]" if TARGETS[target][1](value) else " [red]fail[/red]"
            cells.append(f"{value:,}{mark}")
        table.add_row(label, *cells, TARGETS[target][0] if target else "")
    console.print(table)
    for size in sizes:
        console.print(f"N={size['n']} PDF pages/s ({size['pdf']['pages']} pages, CPU time): "
                      + ", ".join(f"{k} {v:,}" for k, v in size["pdf"]["pages_per_s"].items()))
        startup = size.get("startup")
        if startup:
            console.print(f"N={size['n']} start-up: " + ", ".join(f"{k} {v}" for k, v in startup.items()))


def _git(*arguments: str) -> str:
    done = subprocess.run(["git", *arguments], cwd=REPO, capture_output=True, text=True,
                          check=False)
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--workdir", type=Path,
                        default=Path(tempfile.gettempdir()) / "interplay-benchmark")
    parser.add_argument("--skip-pipeline", action="store_true",
                        help="only the floor, PDF extraction and coder throughput")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--pdf-backend", choices=["pdfplumber", "pypdfium2"],
                        help="run the pipeline with this PDF backend (default: config.yaml's)")
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    for forbidden in (REPO / "outputs", REPO / "corpus"):
        if workdir == forbidden or workdir.is_relative_to(forbidden):
            parser.error(f"--workdir must not be inside {forbidden}")
    workdir.mkdir(parents=True, exist_ok=True)
    pools = SentencePools.from_corpus(REPO / "corpus")
    results_path = workdir / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {"sizes": {}}
    results["meta"] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"), "python": platform.python_version(),
        "cpus": os.cpu_count(), "cores": args.cores, "seed": args.seed,
        "pdf_backend": args.pdf_backend or "config default",
        "commit": _git("rev-parse", "--short", "HEAD"),
        "dirty": bool(_git("status", "--porcelain")),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    for n in args.sizes:
        previous = results["sizes"].get(str(n), {})
        results["sizes"][str(n)] = benchmark_size(workdir, n, args, pools, previous)
        results_path.write_text(json.dumps(results, indent=2))  # keep what is done so far
    for size in results["sizes"].values():
        size["summary"] = summarise(size, list(results["sizes"].values()))
    results_path.write_text(json.dumps(results, indent=2))
    print_report(results)
    console.print(f"results: {results_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
