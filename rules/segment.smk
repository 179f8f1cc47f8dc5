# Stage 2: each document's text to passages with exact offsets (outputs/passages/<doc_id>.json).


rule segment:
    input:
        text=f"{OUT}/text/{{doc_id}}.txt",
        info=f"{OUT}/text/{{doc_id}}.json",
    output:
        f"{OUT}/passages/{{doc_id}}.json",
    params:
        document=lambda wildcards: DOCS[wildcards.doc_id],
        settings=SETTINGS.segmentation,
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        f"{OUT}/logs/segment/{{doc_id}}.log",
    run:
        from interplay.fileio import write_log
        from interplay.segment import segment_to_file
        passages = run_job(segment_to_file, input.text, input.info, output[0],
                           document=params.document, settings=params.settings)
        write_log(log[0], [f"{len(passages)} passages"])
