"""Advisory file locks (flock(2), so POSIX only): processes sharing one folder take turns.

A lock belongs to the open file, so a process killed while holding it holds it no more; a
folder can be locked too (its lock goes with it when it is renamed).
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator


class FileLock:
    """An flock(2) lock on one file (created if missing) or folder, exclusive or shared."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.fd: int | None = None

    def acquire(self, shared: bool = False, wait: bool = True) -> bool:
        """Take the lock (or change its kind); False if `wait` is off and another holds it.

        Changing the kind is not atomic (flock drops the old lock first), and a failed
        non-waiting attempt leaves this holder with no lock at all."""
        import fcntl

        if self.fd is None:
            if self.path.is_dir():
                self.fd = os.open(self.path, os.O_RDONLY)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(self.fd, mode)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        """Let go of the lock (closing the file releases it)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __del__(self) -> None:
        self.release()

    @contextlib.contextmanager
    def held(self, shared: bool = False) -> Iterator[None]:
        """Hold the lock for a block, waiting for it."""
        self.acquire(shared=shared)
        try:
            yield
        finally:
            self.release()
