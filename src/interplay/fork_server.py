"""Imported by the workers' fork server, and only there (interplay.workers.PRELOAD): when
the run ends, the fork server ends at once.

The fork server has written nothing and holds nothing worth cleaning up, but left to the
interpreter it spent most of a second freeing the libraries it had imported, holding the
run's output open all the while: whoever reads Snakemake's output (`interplay run`)
waited for it. Its workers never run this: a forked child leaves with os._exit.
"""

import atexit
import os

atexit.register(os._exit, 0)
