"""A fast path of the night: Python's cyclic garbage collector tuned for a process that holds
millions of long-lived objects (the night's frames and records) until it ends."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def fewer_collections(threshold: tuple[int, int, int] = (200_000, 50, 1000)) -> Iterator[None]:
    """Python's cyclic collector run less often while the night holds millions of objects.

    At the default thresholds it runs thousands of times a night, each time over objects
    that live until the night ends; refcounting still frees almost everything
    (docs/performance.md, "Process-wide").
    """
    before = gc.get_threshold()
    gc.set_threshold(*threshold)
    try:
        yield
    finally:
        gc.set_threshold(*before)
