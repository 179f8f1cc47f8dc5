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
        cross_validated=f"{OUT}/model/cross_validated.csv",
    params:
        settings=SETTINGS.coding,
        seed=SETTINGS.random_seed,
        reviews=REVIEWS_FOR_TRAINING,
        # a new interplay may read features differently: its own model, trained afresh
        interplay=INTERPLAY_VERSION,
    resources:
        mem_mb=4000,
        runtime=60,
    log:
        f"{OUT}/logs/train.log",
    run:
        from interplay.fileio import write_log
        from interplay.training import train_to_files, training_log
        report = run_job(train_to_files, input.codebook, input.annotations, output.model,
                         output.metrics, output.evaluation,
                         settings=params.settings, seed=params.seed,
                         review_dir=str(REVIEW_DIR),
                         cross_validated_path=output.cross_validated)
        write_log(log[0], training_log(report))


rule code:
    input:
        passages=f"{OUT}/passages/{{doc_id}}.json",
        model=f"{OUT}/model/coder.joblib",
    output:
        f"{OUT}/coded/{{doc_id}}.json",
    resources:
        mem_mb=1500,
        runtime=10,
    log:
        f"{OUT}/logs/code/{{doc_id}}.log",
    run:
        from interplay.fileio import write_log
        from interplay.training import code_document_to_file
        coded = run_job(code_document_to_file, input.passages, input.model, output[0])
        write_log(log[0], [f"{coded} passages coded with at least one code"])


rule collect_coded:
    input:
        codebook=str(SETTINGS.codebook),
        passages=per_document(f"{OUT}/passages/{{doc_id}}.json"),
        coded=per_document(f"{OUT}/coded/{{doc_id}}.json"),
    output:
        coded=f"{OUT}/coded_passages.csv",
        decisions=f"{OUT}/review_decisions.csv",
    params:
        decisions=REVIEW_DECISIONS,
    resources:
        mem_mb=2000,
        runtime=15,
    log:
        f"{OUT}/logs/collect_coded.log",
    run:
        from interplay.fileio import write_log
        from interplay.training import collect_coded
        count = run_job(collect_coded, input.passages, input.coded, input.codebook,
                        output.coded, review_dir=str(REVIEW_DIR),
                        decisions_csv=output.decisions)
        write_log(log[0], [f"{count} passages"])


rule agreement:
    input:
        decisions=f"{OUT}/review_decisions.csv",
        codebook=str(SETTINGS.codebook),
    output:
        f"{OUT}/agreement.csv",
    resources:
        mem_mb=500,
        runtime=5,
    log:
        f"{OUT}/logs/agreement.log",
    run:
        from interplay.agreement import write_agreement
        from interplay.codebook import load_codebook
        from interplay.fileio import write_log
        rows = run_job(write_agreement, input.decisions, load_codebook(input.codebook).ids,
                       output[0])
        write_log(log[0], [f"{len(rows)} agreement rows"])


rule reliability:
    input:
        decisions=f"{OUT}/review_decisions.csv",
        coded=f"{OUT}/coded_passages.csv",
        cross_validated=f"{OUT}/model/cross_validated.csv",
        codebook=str(SETTINGS.codebook),
    output:
        f"{OUT}/reliability.csv",
    params:
        seed=SETTINGS.random_seed,
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        f"{OUT}/logs/reliability.log",
    run:
        from interplay.codebook import load_codebook
        from interplay.fileio import write_log
        from interplay.reliability import reliability_log, write_reliability
        rows = run_job(write_reliability, input.decisions, input.coded,
                       input.cross_validated, load_codebook(input.codebook).ids, output[0],
                       seed=params.seed)
        write_log(log[0], reliability_log(rows))
