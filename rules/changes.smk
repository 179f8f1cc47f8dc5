# What this run moved since the previous one: changes.md/.csv against outputs/snapshot/.
# The snapshot is read and refreshed through a params path, never declared, so refreshing
# it reruns nothing; the rule reruns when the outputs it compares change.


rule changes:
    input:
        coded=f"{OUT}/coded_passages.csv",
        matrix=f"{OUT}/framework_matrix.csv",  # compared once the matrix is written
        sites=SITE_SUMMARIES,
        metrics=f"{OUT}/model/metrics.json",
    output:
        csv=f"{OUT}/changes.csv",
        md=f"{OUT}/changes.md",
    params:
        snapshot=f"{OUT}/snapshot",
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        f"{OUT}/logs/changes.log",
    run:
        from interplay.changes import record_changes
        from interplay.fileio import write_log
        lines = run_job(record_changes, OUT, site_files=input.sites, csv_path=output.csv,
                        md_path=output.md, snapshot=params.snapshot)
        write_log(log[0], lines)
