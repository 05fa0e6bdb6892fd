"""manifest.jsonl, the per-image record of a synthetic set: reading it back."""
from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import InputError

MANIFEST = "manifest.jsonl"


def read_records(root: str | os.PathLike) -> dict[str, dict]:
    """{image stem: record} of ROOT/manifest.jsonl ({} if the set has none)."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return {}
    out: dict[str, dict] = {}
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
            out[str(rec["image"])] = rec
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{path}: line {lineno} is not a manifest record "
                             f"({type(exc).__name__}: {exc})") from None
    return out
