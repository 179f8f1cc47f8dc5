"""Jobs' work in worker processes: results and errors come back as if run in the job, and a
worker that dies fails only the job that killed it."""

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from interplay import workers
from interplay.errors import ExtractionError, FileProblemsError


def process_id(_: object = None) -> int:
    return os.getpid()


def argument_types(*args, **kwargs) -> list[str]:
    return [type(value).__name__ for value in (*args, *kwargs.values())]


def refuse(path: str) -> None:
    raise FileProblemsError(path, ["row 3: unknown site", "row 9: no file"])


def die(_: object = None) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def numerical_threads() -> dict[str, int]:
    import numpy  # noqa: F401  (loads BLAS, as the coder does)
    from threadpoolctl import threadpool_info
    return {pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()}


def wait_then_report(seconds: float) -> int:
    threading.Event().wait(seconds)
    return os.getpid()


@pytest.fixture
def two_workers():
    workers.use_workers(2)
    yield
    workers.stop()
    workers.use_workers(0)


def test_without_workers_the_work_runs_in_the_calling_process():
    workers.use_workers(0)
    assert workers.run_job(process_id) == os.getpid()


def test_work_runs_in_other_processes_and_returns_its_result(two_workers):
    pids = {workers.run_job(process_id) for _ in range(6)}
    assert os.getpid() not in pids
    assert 1 <= len(pids) <= 2  # the pool's processes, reused from job to job


def test_numerical_libraries_use_one_thread_in_each_worker(two_workers):
    # the pool has a worker per core; BLAS threads on top would oversubscribe the cores
    threads = workers.run_job(numerical_threads)
    assert threads and set(threads.values()) == {1}


def test_numerical_libraries_use_one_thread_without_workers_too():
    # as on SLURM: the same thread count as the workers, so the same rounding and scores
    # (a rule imports its function's module, and with it BLAS, before calling run_job)
    import numpy  # noqa: F401
    workers.use_workers(0)
    threads = workers.run_job(numerical_threads)
    assert threads and set(threads.values()) == {1}


def test_an_error_comes_back_whole(two_workers):
    with pytest.raises(FileProblemsError) as raised:
        workers.run_job(refuse, "corpus/metadata.csv")
    assert raised.value.path == "corpus/metadata.csv"
    assert raised.value.problems == ["row 3: unknown site", "row 9: no file"]


def test_errors_with_their_own_arguments_survive_the_trip():
    error = ExtractionError("page 3 cannot be read", "re-save the PDF")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.problem, copy.hint, str(copy)) == (error.problem, error.hint, str(error))


def test_snakemake_style_arguments_arrive_as_plain_str_and_list(two_workers):
    class FileName(str):
        pass

    class Names(list):
        pass

    # local classes cannot be pickled: they must be converted before the trip
    assert workers.run_job(argument_types, FileName("a.txt"), Names([FileName("b")]),
                           out=FileName("c")) == ["str", "list", "str"]


def test_a_dying_worker_fails_only_its_own_job(two_workers):
    results: dict[str, object] = {}

    def innocent():
        results["innocent"] = workers.run_job(wait_then_report, 1.0)

    neighbour = threading.Thread(target=innocent)
    neighbour.start()
    with pytest.raises(workers.WorkerDied, match="test_workers.die"):
        workers.run_job(die)
    neighbour.join()
    assert isinstance(results["innocent"], int)  # its job ran again, alone, and finished
    assert workers.run_job(process_id) != os.getpid()  # and later jobs get a fresh pool


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has ended


RUN_THEN_HANG = """
import os, sys, threading
from interplay import workers
workers.use_workers(1)
print(workers.run_job(os.getpid), flush=True)
threading.Event().wait()
"""


def test_workers_end_when_the_run_is_killed_outright():
    run = subprocess.Popen([sys.executable, "-c", RUN_THEN_HANG], stdout=subprocess.PIPE,
                           text=True)
    worker = int(run.stdout.readline())
    assert _running(worker)
    run.kill()
    run.wait()
    deadline = time.monotonic() + 20
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(worker)


def test_end_run_stops_the_pool_and_cancels_the_schedulers_timers():
    workers.use_workers(1)
    first = workers.run_job(process_id)
    fired = threading.Event()
    timer = threading.Timer(60, fired.set)  # as Snakemake's scheduler leaves one behind
    timer.start()
    workers.end_run()
    timer.join(timeout=5)
    assert not timer.is_alive() and not fired.is_set()
    assert workers.run_job(process_id) != first  # the old pool is gone; a new one serves
    workers.stop()
    workers.use_workers(0)


def test_the_fork_server_ends_without_the_interpreters_clean_up():
    """interplay.fork_server, imported by the fork server only, ends its process as soon as
    the interpreter starts to shut down: clean-up registered before it never runs."""
    assert "interplay.fork_server" in workers.PRELOAD
    script = ("import atexit; atexit.register(print, 'cleaned up'); "
              "import interplay.fork_server; raise SystemExit(3)")
    ended = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True,
                           text=True, timeout=60)
    assert (ended.returncode, ended.stdout) == (0, "")


def test_no_module_of_a_run_imports_the_fork_servers_exit():
    """Imported anywhere else, it would end that process (Snakemake's, or a job's) with
    status 0 whatever happened."""
    others = [m for m in workers.PRELOAD if m != "interplay.fork_server"]
    script = ("import sys, interplay.cli, interplay.workers; "
              f"[__import__(m) for m in {others}]; "
              "print('interplay.fork_server' in sys.modules)")
    imported = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=120, check=True)
    assert imported.stdout.strip() == "False"
