"""How many worker processes fit this machine: the one rule for every --workers default."""
from __future__ import annotations

import os


def default_workers() -> int:
    """Worker processes by default: the cores this process may use (its CPU affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
