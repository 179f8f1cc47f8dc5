# REFI-QDA export: the coded corpus as a project for NVivo, ATLAS.ti, MAXQDA and QualCoder.


rule refi_export:
    input:
        metadata=f"{CORPUS}/metadata.csv",
        codebook=str(SETTINGS.codebook),
        texts=per_document(f"{OUT}/text/{{doc_id}}.txt"),
        passages=per_document(f"{OUT}/passages/{{doc_id}}.json"),
        coded=per_document(f"{OUT}/coded/{{doc_id}}.json"),
    output:
        f"{OUT}/project.qdpx",
    log:
        f"{OUT}/logs/refi_export.log",
    run:
        from interplay.fileio import write_log
        from interplay.refi import export_to_file
        count = export_to_file(str(CORPUS), input.texts, input.passages, input.coded,
                               input.codebook, output[0])
        write_log(log[0], [f"{count} coded selections exported"])
