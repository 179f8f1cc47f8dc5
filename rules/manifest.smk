# outputs/run_manifest.json: the versions, settings and input hashes behind these outputs.


rule run_manifest:
    input:
        metadata=f"{CORPUS}/metadata.csv",
        documents=[str(CORPUS / DOCS[d].path) for d in sorted(DOCS)
                   if (CORPUS / DOCS[d].path).is_file()],
        codebook=str(SETTINGS.codebook),
        annotations=ANNOTATIONS,
        sheets=REVIEW_SHEETS,
        model=f"{OUT}/model/coder.joblib",
        metrics=f"{OUT}/model/metrics.json",
    output:
        f"{OUT}/run_manifest.json",
    resources:
        mem_mb=500,
        runtime=10,
    log:
        f"{OUT}/logs/run_manifest.log",
    run:
        from interplay.fileio import write_log
        from interplay.manifest import write_run_manifest
        manifest = run_job(
            write_run_manifest, output[0], corpus_dir=str(CORPUS),
            settings=SETTINGS.model_dump(mode="json"), metadata_csv=input.metadata,
            documents=list(input.documents), codebook=input.codebook,
            annotations=list(input.annotations), review_sheets=list(input.sheets),
            model=input.model, metrics_json=input.metrics)
        write_log(log[0], [f"{len(manifest['inputs']['documents_sha256'])} documents hashed",
                           f"model {manifest['model']['model_id']}"])
