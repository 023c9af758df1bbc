"""The wall clock the screens measure ages against: AGE columns, "x ago", the header's refresh age and STALE mark.

One seam, so a snapshot test or a screenshot can hold the time still (``frozen_at``) without touching
``time.time`` for everyone. The pictures keep their own clock (the collector's), the audit log and file names the
real time. Headless.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Callable, Iterator

_read: Callable[[], float] = time.time


def now() -> float:
    """Seconds since the epoch."""
    return _read()


def now_ns() -> int:
    return int(_read() * 1_000_000_000)


@contextmanager
def frozen_at(moment: float) -> Iterator[None]:
    """``now()`` answers ``moment`` until the block ends."""
    global _read
    before = _read
    _read = lambda: moment  # noqa: E731
    try:
        yield
    finally:
        _read = before
