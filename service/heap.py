"""A long-running process's start-up objects and Python's cyclic garbage collector."""

import gc


def settle() -> None:
    """Put what start-up made (modules, the app and its routes, what caches hold so far),
    which lives as long as the process anyway, out of the collector's reach.

    Otherwise every full collection walks all of it again: in the serving process one
    took 150-185 ms (benchmarks/RESULTS.md, the events stream), a stall of every request
    and stream on the event loop; after this, at most a few milliseconds."""
    gc.freeze()
