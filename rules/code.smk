# Stage 3: train the coder on the annotations, then code each document's passages.

from interplay.config import annotation_dir

ANNOTATIONS = sorted(str(p) for p in annotation_dir(SETTINGS).glob("*.csv"))


rule train:
    input:
        codebook=str(SETTINGS.codebook),
        annotations=ANNOTATIONS,
    output:
        model=f"{OUT}/model/coder.joblib",
        metrics=f"{OUT}/model/metrics.json",
        evaluation=f"{OUT}/evaluation.json",
    params:
        settings=SETTINGS.coding,
        seed=SETTINGS.random_seed,
    log:
        f"{OUT}/logs/train.log",
    run:
        from interplay.fileio import write_log
        from interplay.training import train_to_files
        report = train_to_files(input.codebook, input.annotations, output.model,
                                output.metrics, output.evaluation,
                                settings=params.settings, seed=params.seed)
        cv = report["cross_validation"]
        write_log(log[0], [f"trained on {report['training']['passages']} passages",
                           f"cross-validated macro-F1 {cv['macro_f1']:.3f}, "
                           f"micro-F1 {cv['micro_f1']:.3f}, mean kappa {cv['mean_kappa']:.3f}",
                           *report["training"]["warnings"]])


rule code:
    input:
        passages=f"{OUT}/passages/{{doc_id}}.json",
        model=f"{OUT}/model/coder.joblib",
    output:
        f"{OUT}/coded/{{doc_id}}.json",
    log:
        f"{OUT}/logs/code/{{doc_id}}.log",
    run:
        from interplay.fileio import write_log
        from interplay.training import code_document_to_file
        coded = code_document_to_file(input.passages, input.model, output[0])
        write_log(log[0], [f"{coded} passages coded with at least one code"])


rule collect_coded:
    input:
        codebook=str(SETTINGS.codebook),
        passages=per_document(f"{OUT}/passages/{{doc_id}}.json"),
        coded=per_document(f"{OUT}/coded/{{doc_id}}.json"),
    output:
        f"{OUT}/coded_passages.csv",
    log:
        f"{OUT}/logs/collect_coded.log",
    run:
        from interplay.fileio import write_log
        from interplay.training import collect_coded
        count = collect_coded(input.passages, input.coded, input.codebook, output[0])
        write_log(log[0], [f"{count} passages"])
