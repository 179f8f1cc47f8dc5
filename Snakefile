# interplay: from a corpus of transcripts and documents to coded passages.
# Run from the repository root:  snakemake --profile profiles/local [--config corpus=DIR outputs=DIR]
# (or `interplay run`, which wraps this with a progress display).

from interplay.config import settings_from_mapping
from interplay.metadata import read_corpus


configfile: "config/config.yaml"


SETTINGS = settings_from_mapping(config, source="config/config.yaml with --config overrides")
CORPUS = SETTINGS.corpus
OUT = SETTINGS.outputs
INDEX = read_corpus(CORPUS)
DOCS = INDEX.by_id()


onstart:
    # A codebook spaCy rejects stops the run before any job starts (and before any
    # output is removed to be remade), with every problem named; checked here, in the
    # main process only, rather than by every job.
    from interplay.codebook import load_codebook
    from interplay.workers import use_workers

    # Jobs that run as threads of this process (a local run) do their work in worker
    # processes, one per core; a job on a cluster node works in its own process. The
    # workers' imports start first, so the codebook check below runs beside them.
    if workflow.is_main_process and workflow.local_exec and workflow.use_threads:
        use_workers(workflow.cores)
    load_codebook(SETTINGS.codebook)


onsuccess:
    from interplay.workers import end_run

    end_run()


onerror:
    from interplay.workers import end_run

    end_run()


include: "rules/common.smk"
include: "rules/extract.smk"
include: "rules/segment.smk"
include: "rules/collect.smk"
include: "rules/code.smk"
include: "rules/refi.smk"
include: "rules/summarise.smk"
include: "rules/report.smk"
include: "rules/manifest.smk"
include: "rules/changes.smk"


rule all:
    input:
        f"{OUT}/passages.csv",
        f"{OUT}/problems.csv",
        f"{OUT}/coded_passages.csv",
        f"{OUT}/agreement.csv",
        f"{OUT}/reliability.csv",
        f"{OUT}/evaluation.json",
        f"{OUT}/project.qdpx",
        f"{OUT}/sites/index.md",
        f"{OUT}/framework_matrix.xlsx",
        f"{OUT}/cooccurrence.csv",
        f"{OUT}/report/index.html",
        f"{OUT}/report/docs",
        f"{OUT}/run_manifest.json",
        f"{OUT}/changes.csv",
