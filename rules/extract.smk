# Stage 1: each document to plain text plus a page map (outputs/text/<doc_id>.txt|json).


rule extract:
    input:
        source=source_of,
    output:
        text=f"{OUT}/text/{{doc_id}}.txt",
        info=f"{OUT}/text/{{doc_id}}.json",
    params:
        pdf_backend=SETTINGS.extraction.pdf_backend,
        max_file_mb=SETTINGS.extraction.max_file_mb,
    log:
        f"{OUT}/logs/extract/{{doc_id}}.log",
    run:
        from interplay.extract import extract_to_files
        from interplay.fileio import write_log
        info = extract_to_files(input.source, output.text, output.info,
                                doc_id=wildcards.doc_id, display_path=DOCS[wildcards.doc_id].path,
                                pdf_backend=params.pdf_backend,
                                max_file_mb=params.max_file_mb)
        write_log(log[0], [f"{input.source}: {info['chars']} characters, {len(info['pages'])} pages",
                           *info["warnings"], *info.get("problem", {}).values()])
