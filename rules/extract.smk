# Stage 1: each document to plain text plus a page map (outputs/text/<doc_id>.txt|json).

# Pseudonymisation happens here, so no later stage sees an original. The names list is
# checked and the key file created before any job runs; the key's fingerprint (never the
# secret) is a param, so a replaced key reruns extraction.
PSEUDONYMISATION = SETTINGS.pseudonymisation
KEY_FINGERPRINT = ""
if PSEUDONYMISATION.enabled:
    from interplay.pseudonymise import key_fingerprint, load_names
    load_names(PSEUDONYMISATION.names)
    KEY_FINGERPRINT = key_fingerprint(PSEUDONYMISATION.key)


rule extract:
    input:
        source=source_of,
        names=([str(PSEUDONYMISATION.names)]
               if PSEUDONYMISATION.enabled and PSEUDONYMISATION.names else []),
    output:
        text=f"{OUT}/text/{{doc_id}}.txt",
        info=f"{OUT}/text/{{doc_id}}.json",
    params:
        pdf_backend=SETTINGS.extraction.pdf_backend,
        max_file_mb=SETTINGS.extraction.max_file_mb,
        pseudonymisation=PSEUDONYMISATION,
        key_fingerprint=KEY_FINGERPRINT,
        # names are looked for in speaker labels only where segmentation reads turns
        speaker_labels=lambda wildcards: (PSEUDONYMISATION.enabled
                                          and DOCS[wildcards.doc_id].kind == "interview"),
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        f"{OUT}/logs/extract/{{doc_id}}.log",
    run:
        from interplay.extract import extract_to_files
        from interplay.fileio import write_log
        from interplay.pseudonymise import Pseudonymiser
        pseudonymise = (Pseudonymiser.from_settings(params.pseudonymisation,
                                                    speaker_labels=params.speaker_labels)
                        if params.pseudonymisation.enabled else None)
        info = run_job(extract_to_files, input.source, output.text, output.info,
                       doc_id=wildcards.doc_id, display_path=DOCS[wildcards.doc_id].path,
                       pdf_backend=params.pdf_backend,
                       max_file_mb=params.max_file_mb, pseudonymise=pseudonymise)
        pseudonymised = ([f"{info['pseudonymised_spans']} spans pseudonymised"]
                         if "pseudonymised_spans" in info else [])
        write_log(log[0], [f"{input.source}: {info['chars']} characters, {len(info['pages'])} pages",
                           *pseudonymised, *info["warnings"], *info.get("problem", {}).values()])
