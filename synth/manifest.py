"""manifest.jsonl, the per-image record of a synthetic set: writing it and reading it back.

One JSON object per image (the contract is in the README and docs/design.md): its seed,
view, camera, background, floor gloss, split and every object's record (Placement.record,
plus the objects a labelled frame brought with it, `"source": "frame"`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

from . import fsio
from .errors import InputError

MANIFEST = "manifest.jsonl"


def parse_records(path: Path) -> Iterator[tuple[int, dict | None, Exception | None]]:
    """(line number, record, None) for each good line of a manifest file, (line number, None,
    why) for a line that is no record; blank lines skipped. The one reader of the format."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec.get("objects"), list) or not all(
                    isinstance(o, dict) and "class" in o for o in rec["objects"]):
                raise ValueError("'objects' must be a list of objects with a 'class'")
            rec["image"] = str(rec["image"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            yield lineno, None, exc
            continue
        yield lineno, rec, None


def read_records(root: str | os.PathLike) -> dict[str, dict]:
    """{image stem: record} of ROOT/manifest.jsonl ({} if the set has none)."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return {}
    out: dict[str, dict] = {}
    for lineno, rec, exc in parse_records(path):
        if exc is not None:
            raise InputError(f"{path}: line {lineno} is not a manifest record "
                             f"({type(exc).__name__}: {exc})")
        out[rec["image"]] = rec
    return out


def image_record(stem: str, seed: int, view: str, comp, split: str) -> dict:
    """The manifest record of one composed image (a synth.compose.Composite)."""
    frame = [{"class": o.name, "subject": f"frame:{comp.background}", "source": "frame",
              "bbox": [int(v) for v in o.bbox], "visible": 1.0, "truncated": o.truncated,
              "difficult": o.difficult, "labelled": True} for o in comp.frame_objects]
    return {"image": stem, "seed": seed, "view": view, "camera": comp.camera_record,
            "background": comp.background, "floor_gloss": round(comp.floor_gloss, 3),
            "split": split, "objects": [p.record() for p in comp.objects] + frame}


def record_line(record: dict) -> str:
    """A record as its line of manifest.jsonl."""
    return json.dumps(record) + "\n"


def write_manifest(root: str | os.PathLike, lines: list[str]) -> None:
    """Write ROOT/manifest.jsonl (atomically) from record lines in image order."""
    fsio.write_text(Path(root) / MANIFEST, "".join(lines))
