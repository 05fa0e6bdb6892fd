"""Advisory file locks (flock(2), so POSIX only): processes sharing one folder take turns.

A lock belongs to the open file, so a process killed while holding it holds it no more.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO, Iterator


class FileLock:
    """An flock(2) lock on one file (created if missing), exclusive or shared."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.file: IO | None = None

    def acquire(self, shared: bool = False, wait: bool = True) -> bool:
        """Take the lock (or change its kind); False if `wait` is off and another holds it.

        Changing the kind is not atomic (flock drops the old lock first), and a failed
        non-waiting attempt leaves this holder with no lock at all."""
        import fcntl

        if self.file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.file = open(self.path, "a")
        mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(self.file, mode)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        """Let go of the lock (closing the file releases it)."""
        if self.file is not None:
            self.file.close()
            self.file = None

    @contextlib.contextmanager
    def held(self, shared: bool = False) -> Iterator[None]:
        """Hold the lock for a block, waiting for it."""
        self.acquire(shared=shared)
        try:
            yield
        finally:
            self.release()
