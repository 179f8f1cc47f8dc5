# Stage 4: what a researcher reports per case: site summaries and the framework matrix.

from interplay.summarise import site_file_stems

# One summary per site of the corpus index (site names made safe as file names).
SITE_STEMS = site_file_stems(d.site for d in DOCS.values())


rule site_summaries:
    input:
        coded=f"{OUT}/coded_passages.csv",
        codebook=str(SETTINGS.codebook),
        metadata=f"{CORPUS}/metadata.csv",
        texts=per_document(f"{OUT}/text/{{doc_id}}.txt"),
    output:
        json=expand(f"{OUT}/sites/{{stem}}.json", stem=sorted(SITE_STEMS.values())),
        md=expand(f"{OUT}/sites/{{stem}}.md", stem=sorted(SITE_STEMS.values())),
        index=f"{OUT}/sites/index.md",
    resources:
        mem_mb=2000,
        runtime=15,
    log:
        f"{OUT}/logs/site_summaries.log",
    run:
        from interplay.fileio import write_log
        from interplay.summarise import write_site_summaries
        sites = run_job(write_site_summaries, input.coded, input.codebook, str(CORPUS),
                        input.texts, f"{OUT}/sites")
        write_log(log[0], [f"{len(sites)} site summaries: {', '.join(sites)}"])


rule framework_matrix:
    input:
        coded=f"{OUT}/coded_passages.csv",
        codebook=str(SETTINGS.codebook),
        metadata=f"{CORPUS}/metadata.csv",
        texts=per_document(f"{OUT}/text/{{doc_id}}.txt"),
    output:
        xlsx=f"{OUT}/framework_matrix.xlsx",
        csv=f"{OUT}/framework_matrix.csv",
    resources:
        mem_mb=2000,
        runtime=15,
    log:
        f"{OUT}/logs/framework_matrix.log",
    run:
        from interplay.fileio import write_log
        from interplay.summarise import write_framework_matrix
        sites, documents = run_job(write_framework_matrix, input.coded, input.codebook,
                                   str(CORPUS), input.texts, output.xlsx, output.csv)
        write_log(log[0], [f"framework matrix: {sites} sites, {documents} documents"])


rule cooccurrence:
    input:
        coded=f"{OUT}/coded_passages.csv",
        codebook=str(SETTINGS.codebook),
    output:
        f"{OUT}/cooccurrence.csv",
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        f"{OUT}/logs/cooccurrence.log",
    run:
        from interplay.codebook import load_codebook
        from interplay.cooccurrence import write_cooccurrence
        from interplay.fileio import write_log
        rows = run_job(write_cooccurrence, input.coded, load_codebook(input.codebook),
                       output[0])
        pairs = [r for r in rows if r["site"] == "all" and r["passages_both"]]
        write_log(log[0], [f"{len(pairs)} code pairs meet in at least one passage"])
