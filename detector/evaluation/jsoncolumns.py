"""Parse a detections JSON file into plain columns, optionally in a forked child process.

No numpy here on purpose: `pipeline evaluate` forks the child before numpy (and its BLAS
thread pool) is imported, then reads the VOC XML while the child parses the JSON (where a
core is free for it: spare_core). The
columns travel back as `array.array`s; detections.py validates and converts them.
"""
from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
from array import array
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any, Iterator, Sequence

from synth.cores import default_workers
from synth.errors import InputError

log = logging.getLogger(__name__)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects (2-3x faster)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class Columns:
    """Detections as columns; image ids and categories as codes into first-seen key lists."""

    image_keys: list     # distinct "image_id" values
    image_code: array    # 'q': index into image_keys, one per detection
    cat_keys: list       # distinct "category" values
    cat_code: array      # 'q'
    boxes: array         # 'd': x, y, w, h of every detection, flat
    score: array         # 'd'

    def __len__(self) -> int:
        return len(self.score)


def _encode(values: list) -> tuple[list, array]:
    codes: dict = {}
    out = array("q", [codes.setdefault(v, len(codes)) for v in values])
    return list(codes), out


def columns_from_items(items: Sequence[Any]) -> Columns | None:
    """Columns of COCO-results dicts (classes as "category" names or standard "category_id"s,
    as the first entry has them), or None if some entry is malformed (then the caller's slow
    scan names it)."""
    try:
        cat_key = "category_id" if items and "category" not in items[0] else "category"
        image, cat, box, score = (list(map(itemgetter(key), items))
                                  for key in ("image_id", cat_key, "bbox", "score"))
        if any(len(b) != 4 for b in box):
            return None
        image_keys, image_code = _encode(image)
        cat_keys, cat_code = _encode(cat)
        return Columns(image_keys, image_code, cat_keys, cat_code,
                       array("d", chain.from_iterable(box)), array("d", score))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError):
        return None


def load_items(path: str | os.PathLike) -> list:
    """The parsed JSON list of a detections file (InputError if unreadable or not a list)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such detections file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a detections JSON file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        items = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(items, list):
        raise InputError(f"{path}: expected a JSON list of detections (COCO results format), "
                         f"got {type(items).__name__}")
    return items


def parse_file(path: str | os.PathLike) -> Columns | None:
    """Read a detections file into columns (None: a malformed entry, see columns_from_items)."""
    with gc_paused():
        items = load_items(path)
        cols = columns_from_items(items)
        del items  # freed while the collector is off: there is nothing cyclic to find
    return cols


def _child(path: str, conn) -> None:
    try:
        conn.send(("ok", parse_file(path)))
    except InputError as exc:
        conn.send(("input", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which retries
        conn.send(("failed", repr(exc)))
    finally:
        conn.close()


def running_now() -> float | None:
    """Threads running or runnable at this instant besides the caller (Linux's
    /proc/loadavg), or None where that is not available."""
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return max(float(f.read().split()[3].split("/")[0]) - 1.0, 0.0)
    except (OSError, ValueError, IndexError):
        return None


def spare_core() -> bool:
    """Whether a core is free for a background parse: two or more usable cores and a load
    that leaves one idle (on a busy machine the child only competes with this process, and
    the fork and the pickled columns cost more than it saves). The load is the lower of the
    1-minute average and the threads running now: the average alone still counts, for a
    minute, the work of a command that has just ended."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not measurable here: assume idle
        load = 0.0
    now = running_now()
    if now is not None:
        load = min(load, now)
    cores = default_workers()
    return cores >= 2 and load + 1 <= cores


class BackgroundParse:
    """`parse_file(path)` running in a forked child; `result()` waits for it.

    Where fork is unavailable, or the child dies, `result()` parses in this process.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._proc = self._conn = None
        import multiprocessing  # here: runs that parse in-process never need it

        if "fork" not in multiprocessing.get_all_start_methods():
            return
        try:
            ctx = multiprocessing.get_context("fork")
            self._conn, child_conn = ctx.Pipe(duplex=False)
            self._proc = ctx.Process(target=_child, args=(str(self.path), child_conn),
                                     daemon=True)
            self._proc.start()
            child_conn.close()
        except OSError as exc:
            log.debug("cannot fork a JSON reader (%s); parsing in-process", exc)
            self._proc = self._conn = None

    @property
    def running(self) -> bool:
        """Whether a child process is still held (not yet collected or cancelled)."""
        return self._proc is not None

    def result(self) -> Columns | None:
        """The columns (as parse_file returns them); InputError for a bad file."""
        if self._proc is None:
            return parse_file(self.path)
        try:
            kind, payload = self._conn.recv()
        except (EOFError, OSError):
            kind, payload = "failed", "the reader process died"
        finally:
            self.cancel()
        if kind == "input":
            raise InputError(payload)
        if kind == "failed":
            log.debug("background JSON reader failed (%s); parsing in-process", payload)
            return parse_file(self.path)
        return payload

    def cancel(self) -> None:
        """Stop the child (if still running) and release it."""
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.terminate()
            self._proc.join()
            self._conn.close()
            self._proc = None
