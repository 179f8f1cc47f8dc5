# REFI-QDA export: the coded corpus as a project for NVivo, ATLAS.ti, MAXQDA and QualCoder.
# It starts from coded_passages.csv, so the final codes (reviewers' where a review decided
# them) are exported, each by whoever coded it.


rule refi_export:
    input:
        metadata=f"{CORPUS}/metadata.csv",
        codebook=str(SETTINGS.codebook),
        texts=per_document(f"{OUT}/text/{{doc_id}}.txt"),
        coded=f"{OUT}/coded_passages.csv",
    output:
        project=f"{OUT}/project.qdpx",
        codebook=f"{OUT}/codebook.qdc",
    resources:
        mem_mb=2000,
        runtime=15,
    log:
        f"{OUT}/logs/refi_export.log",
    run:
        from interplay.fileio import write_log
        from interplay.refi import export_to_file
        count = run_job(export_to_file, str(CORPUS), input.texts, input.coded, input.codebook,
                        output.project)
        write_log(log[0], [f"{count} coded selections exported"])
