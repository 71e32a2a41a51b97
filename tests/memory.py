"""Measuring what a reader holds: the peak of Python's allocations while it runs."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
MIB = 1 << 20


def peak_mib(run: Callable[[], T]) -> tuple[T, float]:
    """`run()`'s result and the most memory (MiB) Python allocated at once while it ran,
    beyond what was allocated before (the input itself is made before, so not counted)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = run()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak / MIB
