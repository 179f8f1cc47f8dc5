# Charts and the HTML review report: what researchers and reviewers read.

from interplay.charts import CHART_FORMATS, CHART_NAMES
from interplay.report import ASSET_FILES
from interplay.summarise import site_file_stems

CHART_FILES = [f"{name}.{fmt}" for name in CHART_NAMES for fmt in CHART_FORMATS]
# The site summaries' files, named as rules/summarise.smk names them.
SITE_SUMMARIES = [f"{OUT}/sites/{stem}.json"
                  for stem in sorted(site_file_stems(d.site for d in DOCS.values()).values())]


rule charts:
    input:
        coded=f"{OUT}/coded_passages.csv",
        codebook=str(SETTINGS.codebook),
    output:
        [f"{OUT}/charts/{name}" for name in CHART_FILES],
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        f"{OUT}/logs/charts.log",
    run:
        from interplay.charts import draw_charts_from_files
        from interplay.fileio import write_log
        written = run_job(draw_charts_from_files, input.coded, input.codebook, f"{OUT}/charts")
        write_log(log[0], [f"wrote {path}" for path in written])


# The similar passages, then the document pages, are the longest chain of jobs once the
# documents are coded: they go first whenever they are ready.
rule similar:
    input:
        passages=f"{OUT}/passages.csv",
        annotations=ANNOTATIONS,  # the terms' weights (similarity.TermWeights)
    output:
        f"{OUT}/similar.json",
    priority: 10
    resources:
        mem_mb=2000,
        runtime=15,
    log:
        f"{OUT}/logs/similar.log",
    run:
        from interplay.fileio import write_log
        from interplay.similarity import write_neighbours
        lines = run_job(write_neighbours, input.passages, input.annotations, output[0],
                        f"{OUT}/.cache/similar-state.pickle")
        write_log(log[0], lines)


# The report in two jobs (src/interplay/report.py): the document pages, which need the
# coding and the similar passages only, are written while the charts, summaries and
# tables are made; the index page, which shows those, follows them (`rule all` asks for
# both: neither waits for the other). Each keeps its own
# cache of rendered passages (report_cache), since each writes its cache whole.
REPORT = f"{OUT}/report"
REPORT_INDEX_FILES = [f"{REPORT}/index.html",
                      *(f"{REPORT}/assets/{name}" for name in ASSET_FILES),
                      *(f"{REPORT}/assets/charts/{name}" for name in CHART_FILES)]


rule report_documents:
    input:
        coded=f"{OUT}/coded_passages.csv",
        codebook=str(SETTINGS.codebook),
        metadata=f"{CORPUS}/metadata.csv",
        coded_docs=per_document(f"{OUT}/coded/{{doc_id}}.json"),
        texts=per_document(f"{OUT}/text/{{doc_id}}.txt"),
        similar=f"{OUT}/similar.json",
    # The pages' folder as one output: Snakemake records every output's provenance (its
    # inputs, 400 files at N = 200), which for a page per document took longer than the
    # pages took to render; and a removed document's page goes with the folder.
    output:
        pages=directory(f"{REPORT}/docs"),
        concordance=f"{REPORT}/concordance.html",
    priority: 10
    resources:
        mem_mb=3000,
        runtime=30,
    log:
        f"{OUT}/logs/report_documents.log",
    run:
        from interplay.fileio import write_log
        from interplay.report import DOCUMENT_PAGES, build_report
        lines = run_job(build_report, REPORT, parts=[DOCUMENT_PAGES], coded_csv=input.coded,
                        codebook_path=input.codebook, metadata_csv=input.metadata,
                        coded_files=input.coded_docs, text_files=input.texts,
                        similar_json=input.similar,
                        cache_path=f"{OUT}/.cache/report-fragments.sqlite")
        write_log(log[0], lines)


rule report:
    input:
        coded=f"{OUT}/coded_passages.csv",
        codebook=str(SETTINGS.codebook),
        metadata=f"{CORPUS}/metadata.csv",
        coded_docs=per_document(f"{OUT}/coded/{{doc_id}}.json"),
        texts=per_document(f"{OUT}/text/{{doc_id}}.txt"),
        charts=[f"{OUT}/charts/{name}" for name in CHART_FILES],
        sites=SITE_SUMMARIES,
        agreement=f"{OUT}/agreement.csv",
        decisions=f"{OUT}/review_decisions.csv",
        cooccurrence=f"{OUT}/cooccurrence.csv",
        reliability=f"{OUT}/reliability.csv",
    output:
        REPORT_INDEX_FILES,
    resources:
        mem_mb=3000,
        runtime=30,
    log:
        f"{OUT}/logs/report.log",
    run:
        from interplay.fileio import write_log
        from interplay.report import INDEX, build_report
        lines = run_job(build_report, REPORT, parts=[INDEX], coded_csv=input.coded,
                        codebook_path=input.codebook, metadata_csv=input.metadata,
                        coded_files=input.coded_docs, text_files=input.texts,
                        chart_files=input.charts, site_files=input.sites,
                        agreement_csv=input.agreement, decisions_csv=input.decisions,
                        cooccurrence_csv=input.cooccurrence,
                        reliability_csv=input.reliability,
                        cache_path=f"{OUT}/.cache/report-index.sqlite")
        write_log(log[0], lines)
