"""The detections file (COCO results JSON keyed by VOC stems and class names), as arrays.

Format, one object per detection: {"image_id": "<VOC image stem>", "category": "<class name>",
"bbox": [x, y, w, h] in 0-based pixels, "score": float}. This module reads, validates,
converts and writes it; nothing here imports torch.
"""
from __future__ import annotations

import contextlib
import gc
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from synth import fsio
from synth.errors import InputError
from synth.voc import VocSet


@dataclass
class Detections:
    """Detections as parallel arrays; `image` indexes `VocSet.images`, `cls` its `classes`."""

    image: np.ndarray   # (n,) int64
    cls: np.ndarray     # (n,) int64
    boxes: np.ndarray   # (n, 4) float64, [x, y, w, h] 0-based pixels
    score: np.ndarray   # (n,) float64

    def __len__(self) -> int:
        return len(self.score)

    @classmethod
    def empty(cls) -> "Detections":
        """No detections at all (a valid input: every metric is then zero)."""
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0))

    def subset(self, mask: np.ndarray) -> "Detections":
        """The detections selected by a boolean mask or index array."""
        return Detections(self.image[mask], self.cls[mask], self.boxes[mask], self.score[mask])


def _describe(entry: Any) -> str:
    text = json.dumps(entry, default=str) if not isinstance(entry, str) else repr(entry)
    return text if len(text) <= 80 else text[:77] + "..."


def _bad_entry(items: Sequence[Any], source: str, index: dict[str, int],
               classes: dict[str, int], start: int = 0) -> InputError:
    """Find the first malformed entry with a slow scan and describe it in one line."""
    for i in range(start, len(items)):
        d = items[i]
        where = f"{source}: detection #{i}"
        if not isinstance(d, dict):
            return InputError(f"{where} is not an object: {_describe(d)}")
        for key in ("image_id", "category", "bbox", "score"):
            if key not in d:
                return InputError(f"{where}: missing key {key!r} (expected image_id, category, "
                                  f"bbox, score)")
        stem = d["image_id"]
        if _image_index(stem, index) < 0:
            return InputError(f"{where}: unknown image_id {_describe(stem)} (not an image of the "
                              f"VOC set being evaluated)")
        name = d["category"]
        if not isinstance(name, str) or name not in classes:
            return InputError(f"{where}: unknown category {_describe(name)} (classes: "
                              f"{', '.join(classes)})")
        box = d["bbox"]
        if (not isinstance(box, (list, tuple)) or len(box) != 4
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in box)):
            return InputError(f"{where}: bbox must be 4 numbers [x, y, w, h], got {_describe(box)}")
        if not all(math.isfinite(v) for v in box):
            return InputError(f"{where}: bbox has a NaN or infinite value: {_describe(box)}")
        if box[2] < 0 or box[3] < 0:
            return InputError(f"{where}: bbox has a negative width or height: {_describe(box)}")
        if box[0] < 0 or box[1] < 0:
            return InputError(f"{where}: bbox has a negative x or y (boxes are 0-based pixels "
                              f"inside the image): {_describe(box)}")
        s = d["score"]
        if not isinstance(s, (int, float)) or isinstance(s, bool) or not math.isfinite(s):
            return InputError(f"{where}: score must be a finite number, got {_describe(s)}")
    return InputError(f"{source}: malformed detections")


def _image_index(stem: Any, index: dict[str, int]) -> int:
    if isinstance(stem, str):
        return index.get(stem, -1)
    if isinstance(stem, int) and not isinstance(stem, bool):
        # Numeric VOC stems ("000005") may have been written as numbers.
        for key in (str(stem), f"{stem:06d}"):
            if key in index:
                return index[key]
    return -1


def detections_from_list(items: Sequence[Any], voc_set: VocSet,
                         source: str = "detections") -> Detections:
    """Validate COCO-results dicts against a VOC set and convert them to arrays."""
    if not isinstance(items, (list, tuple)):
        raise InputError(f"{source}: expected a JSON list of detections (COCO results format), "
                         f"got {type(items).__name__}")
    if len(items) == 0:
        return Detections.empty()
    index = {im.stem: i for i, im in enumerate(voc_set.images)}
    classes = {c: k for k, c in enumerate(voc_set.classes)}
    try:
        # Fast path: comprehensions over the dicts; any oddity falls to the slow scan below.
        image = np.fromiter((index[d["image_id"]] for d in items), np.int64, len(items))
        cls = np.fromiter((classes[d["category"]] for d in items), np.int64, len(items))
        boxes = np.array([d["bbox"] for d in items], dtype=np.float64)
        score = np.array([d["score"] for d in items], dtype=np.float64)
        types_ok = (boxes.shape == (len(items), 4) and score.shape == (len(items),)
                    and all(type(d["score"]) is not bool for d in items))
    except (KeyError, TypeError, ValueError, IndexError):
        types_ok = False
    if not types_ok:
        # Either a malformed entry or int image ids: rebuild slowly, reporting the first bad one.
        image = np.array([_image_index(d.get("image_id") if isinstance(d, dict) else None, index)
                          for d in items], np.int64)
        if (image < 0).any() or not all(isinstance(d, dict) for d in items):
            raise _bad_entry(items, source, index, classes)
        try:
            cls = np.fromiter((classes[d["category"]] for d in items), np.int64, len(items))
            boxes = np.array([d["bbox"] for d in items], dtype=np.float64)
            score = np.array([d["score"] for d in items], dtype=np.float64)
        except (KeyError, TypeError, ValueError, IndexError):
            raise _bad_entry(items, source, index, classes) from None
        if boxes.shape != (len(items), 4) or score.shape != (len(items),):
            raise _bad_entry(items, source, index, classes)
    bad = (~np.isfinite(boxes).all(axis=1) | ~np.isfinite(score)
           | (boxes < 0).any(axis=1))
    if bad.any():
        raise _bad_entry(items, source, index, classes, start=int(np.argmax(bad)))
    return Detections(image=image, cls=cls, boxes=boxes, score=score)


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


def read_detections(path: str | os.PathLike, voc_set: VocSet) -> Detections:
    """Read and validate a detections JSON file against the VOC set it was made on."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such detections file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a detections JSON file") from None
    with gc_paused():
        try:
            items = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not valid JSON ({exc})") from None
        dets = detections_from_list(items, voc_set, source=str(path))
        del items  # freed here, while the collector is off: nothing cyclic to find
    return dets


def detections_to_list(dets: Detections, voc_set: VocSet) -> list[dict]:
    """The detections as COCO-results dicts (the file format)."""
    stems = [im.stem for im in voc_set.images]
    return [{"image_id": stems[i], "category": voc_set.classes[c],
             "bbox": [round(float(v), 3) for v in b], "score": round(float(s), 6)}
            for i, c, b, s in zip(dets.image.tolist(), dets.cls.tolist(), dets.boxes, dets.score)]


def write_detections(path: str | os.PathLike, dets: Detections, voc_set: VocSet) -> None:
    """Write a detections JSON file atomically."""
    fsio.write_text(path, json.dumps(detections_to_list(dets, voc_set)))
