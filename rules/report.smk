# Charts and the HTML review report: what researchers and reviewers read.

from interplay.charts import CHART_FORMATS, CHART_NAMES
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


rule similar:
    input:
        f"{OUT}/passages.csv",
    output:
        f"{OUT}/similar.json",
    resources:
        mem_mb=2000,
        runtime=15,
    log:
        f"{OUT}/logs/similar.log",
    run:
        from interplay.fileio import write_log
        from interplay.similarity import write_neighbours
        count = run_job(write_neighbours, input[0], output[0])
        write_log(log[0], [f"similar passages listed for {count} passages"])


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
        similar=f"{OUT}/similar.json",
    # The folder as one output: Snakemake records every output's provenance (its inputs,
    # 400 files at N = 200), which for a page per document took longer than the report
    # took to render; and a removed document's page goes with the folder.
    output:
        directory(f"{OUT}/report"),
    resources:
        mem_mb=3000,
        runtime=30,
    log:
        f"{OUT}/logs/report.log",
    run:
        from interplay.fileio import write_log
        from interplay.report import build_report
        lines = run_job(build_report, output[0], coded_csv=input.coded,
                        codebook_path=input.codebook, metadata_csv=input.metadata,
                        coded_files=input.coded_docs, text_files=input.texts,
                        chart_files=input.charts, site_files=input.sites,
                        agreement_csv=input.agreement, decisions_csv=input.decisions,
                        cooccurrence_csv=input.cooccurrence,
                        reliability_csv=input.reliability, similar_json=input.similar,
                        cache_path=f"{OUT}/.cache/report-fragments.sqlite")
        write_log(log[0], lines)
