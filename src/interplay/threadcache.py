"""One cached object per thread.

`interplay run` has Snakemake run its jobs as threads of one process (no Python start-up
per job), so objects a job builds once and reuses, such as spaCy pipelines, must not be
shared between two jobs running at the same time: a spaCy `Language` and its vocabulary are
not safe to use from two threads at once. Each thread builds its own, once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

T = TypeVar("T")


def per_thread(factory: Callable[[], T]) -> Callable[[], T]:
    """Cache `factory()` per thread, as functools.cache would per process."""
    local = threading.local()

    @wraps(factory)
    def cached() -> T:
        try:
            return local.value
        except AttributeError:
            local.value = factory()
            return local.value
    return cached
