# Corpus-wide tables: every passage, and every problem met on the way.


rule collect_passages:
    input:
        per_document(f"{OUT}/passages/{{doc_id}}.json"),
    output:
        f"{OUT}/passages.csv",
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        f"{OUT}/logs/collect_passages.log",
    run:
        from interplay.collect import collect_passages
        from interplay.fileio import write_log
        count = run_job(collect_passages, input, output[0])
        write_log(log[0], [f"{count} passages from {len(input)} documents"])


rule collect_problems:
    input:
        metadata=f"{CORPUS}/metadata.csv",
        infos=per_document(f"{OUT}/text/{{doc_id}}.json"),
        passages=per_document(f"{OUT}/passages/{{doc_id}}.json"),
        decisions=f"{OUT}/review_decisions.csv",
    output:
        f"{OUT}/problems.csv",
    resources:
        mem_mb=500,
        runtime=5,
    log:
        f"{OUT}/logs/collect_problems.log",
    run:
        from interplay.collect import collect_problems
        from interplay.fileio import write_log
        problems = run_job(collect_problems, str(CORPUS), input.infos, input.passages, output[0],
                           decisions_csv=input.decisions)
        write_log(log[0], [f"{len(problems)} problems"])
