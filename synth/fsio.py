"""Atomic file writes: outputs appear under their final name complete or not at all.

Every output gets its final name through `rename_into_place`. For the kill -9 tests, a process
whose environment sets FLOORSYNTH_KILL_AT_RENAME kills itself (SIGKILL) just before one of
those renames: `N` (its N-th rename) or `NAME[:K]` (its K-th, default first, onto a file or
folder called NAME), so the state of any moment between two renames can be made.
"""
from __future__ import annotations

import contextlib
import glob
import itertools
import os
import signal
import tempfile
from collections import Counter
from pathlib import Path
from typing import Iterator


_UMASK = os.umask(0)
os.umask(_UMASK)
KILL_ENV = "FLOORSYNTH_KILL_AT_RENAME"
_renames: Counter = Counter()  # renames so far: "" all of them, else by final name


def rename_into_place(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """os.replace(src, dst): a finished file or folder takes its final name."""
    spec = os.environ.get(KILL_ENV)
    if spec:
        name = Path(dst).name
        _renames.update(["", name])
        target, _, k = spec.partition(":")
        if (_renames[""] == int(target) if target.isdigit() else
                name == target and _renames[name] == int(k or 1)):
            os.kill(os.getpid(), signal.SIGKILL)
    os.replace(src, dst)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed onto `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual mode
        rename_into_place(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


_TEMP_SERIAL = itertools.count()
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _open_temp(path: Path) -> tuple[int, Path]:
    """Create a fresh temp file beside `path` (the usual mode, as umask allows); (fd, path)."""
    while True:
        tmp = path.with_name(f".{path.name}.{os.getpid()}-{next(_TEMP_SERIAL)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC, 0o666), tmp
        except FileExistsError:  # left by a killed process of the same pid: take another name
            continue
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    # atomic_path's steps with a single open of a temp file created in the final mode: a
    # generator writes three files per image, and every syscall shows in its throughput
    path = Path(path)
    fd, tmp = _open_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        rename_into_place(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 `text` to `path` atomically."""
    write_bytes(path, text.encode("utf-8"))


def remove_stale_temps(directory: str | os.PathLike, name: str | None = None) -> int:
    """Delete temp files a killed run left in `directory` (only those of the file `name`, if
    given); return how many."""
    n = 0
    directory = Path(directory)
    if directory.is_dir():
        for p in directory.glob(f".{glob.escape(name)}.*.tmp" if name else ".*.tmp"):
            p.unlink(missing_ok=True)
            n += 1
    return n


def read_text(path: str | os.PathLike, what: str) -> str:
    """Read a UTF-8 text file the user named; a missing or unreadable one is an InputError."""
    from .errors import InputError

    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read {what} ({exc})") from None


def place_file(src: str | os.PathLike, dst: str | os.PathLike, copy: bool = False) -> None:
    """Put `src` at `dst`: a hard link, else a symlink (other file system), or a copy if `copy`."""
    import shutil

    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    if copy:
        shutil.copy2(src, dst)
        return
    try:
        os.link(src, dst)
    except OSError:
        os.symlink(src.resolve(), dst)


def _taken(path: Path) -> bool:
    """Whether `path` holds something a staged folder may not replace (a file, a non-empty
    folder)."""
    return path.exists() and (not path.is_dir() or any(path.iterdir()))


@contextlib.contextmanager
def staged_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside `path`, renamed onto it on success (removed on failure).

    `path` must not exist, or be an empty folder: a dataset is never written over another.
    The folder is locked while it is staged; staging folders of `path` that nobody holds
    were left by killed runs and are removed first.
    """
    import shutil

    from .errors import InputError
    from .locks import FileLock

    path = Path(path)
    if _taken(path):
        raise InputError(f"{path}: already exists and is not empty; choose a new --out")
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        stale = FileLock(old)
        if old.is_dir() and stale.acquire(wait=False):
            shutil.rmtree(old, ignore_errors=True)
        stale.release()
    # Made under another name and locked before it is called *.tmp: a sweep never sees it free.
    new = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new"))
    lock = FileLock(new)
    lock.acquire()
    tmp = new.with_suffix(".tmp")
    os.replace(new, tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_UMASK)
        try:
            if path.is_dir():
                path.rmdir()
            rename_into_place(tmp, path)
        except OSError:
            if _taken(path):
                # another run (a concurrent command with the same --out) finished first
                raise InputError(f"{path}: was written by another run meanwhile; this one "
                                 "wrote nothing (choose a new --out)") from None
            raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        lock.release()
