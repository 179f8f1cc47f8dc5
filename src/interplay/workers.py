"""Jobs' work done in long-lived worker processes, so a local run uses every core.

A local run executes its jobs as threads of the Snakemake process (profiles/local,
force-use-threads), because a fresh Python per job pays seconds of imports before it does
a fraction of a second's work. Threads share one interpreter lock, though, so on their own
they keep a whole build on one core. Each job therefore hands its work to a pool of worker
processes started once per run: the imports are paid once per worker, and the cores work
at the same time. Work goes in and out through files and picklable values only, exactly as
when each job runs on its own cluster node, where no pool is started and the work runs in
the job's own process.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from threadpoolctl import threadpool_limits

from interplay.errors import InterplayError

# Imported once in the fork server, so each worker starts with them loaded; and
# interplay.fork_server, so that the fork server ends at once when the run does.
PRELOAD = ["interplay.extract", "interplay.segment", "interplay.training", "interplay.report",
           "interplay.refi", "interplay.summarise", "interplay.fork_server"]

_lock = threading.Lock()
_workers = 0
_pool: ProcessPoolExecutor | None = None


class WorkerDied(InterplayError):
    """A worker process ended abruptly (killed, out of memory, or a crash in a library)."""

    code = "E010"


def use_workers(count: int) -> None:
    """Run work passed to `run_job` in `count` worker processes (0: in the calling process).
    Called once a run has jobs to do (Snakemake's onstart, never for a dry run or an
    up-to-date run). The fork server starts at once and imports PRELOAD (about 2 s) while
    the run goes on checking the codebook; the pool forks its workers from it with the
    first job."""
    global _workers
    with _lock:
        _workers = max(0, count)
    if _workers:
        _context()
        multiprocessing.forkserver.ensure_running()


def _context():
    # Workers fork from a fork server started afresh, never from the Snakemake process,
    # whose threads may hold locks at the moment of a fork.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _end_with(pid: int) -> None:
    """In a worker: exit as soon as process `pid` (the run that started the pool) has
    ended, however it ended. Without this, a run killed outright would leave its workers
    waiting for work for ever, and them holding the run's output pipe open."""
    try:
        handle = os.pidfd_open(pid)
    except (OSError, AttributeError):  # gone already, or no pidfd: poll for it instead
        handle = None

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])
        else:
            while os.getppid() != 1 and _alive(pid):
                time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-run", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start_worker(run_pid: int) -> None:
    """In a new worker: one thread for numerical libraries (BLAS, OpenMP), since the pool
    already has a worker per core. Their own thread pools, one per core in every worker,
    would oversubscribe the cores and spin against each other: training took minutes
    instead of seconds beside another job. A job run without the pool (on SLURM) uses one
    thread too: a sum split over other threads rounds differently, and a run on a cluster
    must give the same scores as a local one. Then end with the run."""
    threadpool_limits(limits=1)
    _end_with(run_pid)


def _new_pool(size: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(size, mp_context=_context(), initializer=_start_worker,
                               initargs=(os.getpid(),))


def _current_pool() -> ProcessPoolExecutor | None:
    global _pool
    with _lock:
        if _pool is None and _workers:
            _pool = _new_pool(_workers)
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def _plain(value: Any) -> Any:
    """Snakemake's file names and lists (str and list subclasses tied to the workflow) as
    plain str and list, which pickle small and need no Snakemake on the other side."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def run_job(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """`function(*args, **kwargs)` in a worker process, its exceptions raised here."""
    args = tuple(_plain(value) for value in args)
    kwargs = {key: _plain(value) for key, value in kwargs.items()}
    pool = _current_pool()
    if pool is None:
        with threadpool_limits(limits=1):  # as in the workers, so the numbers come out the same
            return function(*args, **kwargs)
    try:
        return pool.submit(function, *args, **kwargs).result()
    except BrokenProcessPool:
        # A worker died, taking the pool with it: this job may have killed it, or only
        # shared the pool with the job that did. Run it once more in a process of its own,
        # so that only the culprit fails, and give the other jobs a fresh pool.
        _discard(pool)
    with _new_pool(1) as alone:
        try:
            return alone.submit(function, *args, **kwargs).result()
        except BrokenProcessPool:
            raise WorkerDied(
                f"the process running {function.__module__}.{function.__qualname__} ended "
                "abruptly (killed, out of memory, or a crash inside a library reading the "
                "file); the job's log and the system log may say which. Other documents "
                "are not affected; fix or remove the input and run again") from None


def stop() -> None:
    """Shut the pool down (at the end of a run); a later job would start a new one."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def end_run() -> None:
    """At the end of a run (Snakemake's onsuccess and onerror): stop the pool, and cancel
    the timers Snakemake's scheduler leaves behind. Its job rate limit (100 jobs a second
    unless told otherwise, and 1 s is the shortest span it reads) starts a timer of that
    span after every round of scheduling, to look again once the span is over; the process
    could not end until the last one had run out, most of a second after the last job."""
    stop()
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()
