"""The experiment log: one row per finished training in `runs/index.csv` (no torch here).

Columns: date, run, data, model, key settings, epochs, mAP50, mAP, per-class AP50 (JSON),
the note, the run directory, and every setting (JSON) for `--compare`.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
from datetime import datetime
from pathlib import Path
from typing import Iterator

from synth import fsio
from synth.errors import InputError
from synth.stats import format_table

COLUMNS = ["date", "run", "data", "model", "img_size", "epochs", "batch", "optimizer", "lr",
           "scheduler", "augment", "anchors", "weights", "seed", "map50", "map", "ap50", "note",
           "run_dir", "settings"]
# Settings that say nothing about the experiment (where, how fast, how verbose).
_VOLATILE = {"run_dir", "name", "project", "resume", "device", "workers", "progress",
             "stop_after", "note", "cache_images"}


def _num(v: float | None) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"


def make_row(run: str, run_dir: str, config: dict, epochs: int, map50: float | None,
             map: float | None, ap50: dict[str, float | None]) -> dict[str, str]:
    """The log row of a run (all values as text)."""
    settings = {k: v for k, v in config.items() if k not in _VOLATILE}
    return {
        "date": datetime.now().isoformat(timespec="seconds"), "run": run,
        "data": " ".join(Path(p).name for p in config.get("data", [])),
        "model": str(config.get("model", "")), "img_size": str(config.get("img_size", "")),
        "epochs": str(epochs), "batch": str(config.get("batch_size", "")),
        "optimizer": str(config.get("optimizer", "")), "lr": f"{config.get('lr') or 0:g}",
        "scheduler": str(config.get("scheduler", "")), "augment": str(config.get("augment", "")),
        "anchors": str(config.get("anchors", "")),
        "weights": Path(config["weights"]).name if config.get("weights") else "",
        "seed": str(config.get("seed", "")), "map50": _num(map50), "map": _num(map),
        "ap50": json.dumps({k: (None if v is None else round(v, 4)) for k, v in ap50.items()}),
        "note": str(config.get("note") or ""), "run_dir": run_dir,
        "settings": json.dumps(settings, sort_keys=True, default=str),
    }


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock beside `path` (runs finishing at the same time append in turn)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as f:
        try:
            import fcntl

            fcntl.flock(f, fcntl.LOCK_EX)
        except ImportError:  # no fcntl (Windows): the atomic rewrite still never corrupts
            pass
        yield


def read_runs(index: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of an index.csv, oldest first."""
    index = Path(index)
    try:
        text = index.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{index}: no experiment log (it is written when a training "
                         f"finishes)") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    if rows and "run" not in rows[0]:
        raise InputError(f"{index}: not an experiment log (no 'run' column)")
    return rows


def append_run(index: str | os.PathLike, row: dict[str, str]) -> None:
    """Append `row` to the log: read + atomic rewrite under a lock (never a torn file)."""
    index = Path(index)
    with _locked(index):
        fsio.remove_stale_temps(index.parent, index.name)  # a run killed while appending
        rows = read_runs(index) if index.exists() else []
        rows.append(row)
        columns = COLUMNS + [c for r in rows for c in r if c not in COLUMNS]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(columns)), restval="")
        w.writeheader()
        w.writerows(rows)
        fsio.write_text(index, buf.getvalue())


def has_run(index: str | os.PathLike, run_dir: str | os.PathLike) -> bool:
    """True if the log `index` has a row for the run directory `run_dir`."""
    index, run_dir = Path(index), Path(run_dir).resolve()
    if not index.is_file():
        return False
    return any(Path(r.get("run_dir") or "").resolve() == run_dir for r in read_runs(index))


def find_index(path: str | os.PathLike) -> Path:
    """A runs directory or an index.csv → the index.csv path."""
    path = Path(path)
    return path / "index.csv" if path.is_dir() or path.suffix != ".csv" else path


def format_runs(rows: list[dict[str, str]]) -> str:
    """The log as a table, newest first."""
    headers = ["date", "run", "data", "model", "img", "epochs", "batch", "optimizer", "lr",
               "mAP50", "mAP", "note"]
    order = sorted(range(len(rows)), key=lambda i: (rows[i].get("date", ""), i), reverse=True)
    table = []
    for i in order:
        r = rows[i]
        table.append([r.get("date", "").replace("T", " "), r.get("run", ""), r.get("data", ""),
                      r.get("model", ""), r.get("img_size", ""), r.get("epochs", ""),
                      r.get("batch", ""), r.get("optimizer", ""), r.get("lr", ""),
                      r.get("map50", ""), r.get("map", ""), r.get("note", "")])
    return format_table(headers, table, align="llllrrrlrrrl")


def _latest(rows: list[dict[str, str]], run: str) -> dict[str, str]:
    found = [r for r in rows if r.get("run") == run or r.get("run_dir") == run
             or Path(r.get("run_dir", "")).name == Path(run).name]
    if not found:
        raise InputError(f"{run}: no such run in the experiment log")
    return found[-1]


def compare_runs(rows: list[dict[str, str]], a: str, b: str) -> str:
    """What changed between runs `a` and `b`: settings, then mAP and per-class AP50."""
    ra, rb = _latest(rows, a), _latest(rows, b)
    sa = json.loads(ra.get("settings") or "{}")
    sb = json.loads(rb.get("settings") or "{}")
    lines = [f"A = {ra['run']} ({ra.get('date', '')})", f"B = {rb['run']} ({rb.get('date', '')})",
             ""]
    changed = [[k, json.dumps(sa.get(k)), json.dumps(sb.get(k))]
               for k in sorted(set(sa) | set(sb)) if sa.get(k) != sb.get(k)]
    if ra.get("epochs") != rb.get("epochs"):
        changed.append(["epochs (done)", ra.get("epochs", ""), rb.get("epochs", "")])
    lines.append(format_table(["setting", "A", "B"], changed, align="lll") if changed
                 else "settings: identical")
    lines.append("")
    pa = json.loads(ra.get("ap50") or "{}")
    pb = json.loads(rb.get("ap50") or "{}")

    def f(v):
        return "" if v is None else f"{float(v):.4f}"

    def diff(x, y):
        return "" if x is None or y is None else f"{float(y) - float(x):+.4f}"

    def val(r, k):
        return float(r[k]) if r.get(k) else None

    table = [["mAP50", f(val(ra, "map50")), f(val(rb, "map50")),
              diff(val(ra, "map50"), val(rb, "map50"))],
             ["mAP", f(val(ra, "map")), f(val(rb, "map")), diff(val(ra, "map"), val(rb, "map"))]]
    for c in list(dict.fromkeys(list(pa) + list(pb))):
        table.append([f"AP50 {c}", f(pa.get(c)), f(pb.get(c)), diff(pa.get(c), pb.get(c))])
    lines.append(format_table(["metric", "A", "B", "B - A"], table))
    return "\n".join(lines)
