"""The detections file (COCO results JSON), as arrays.

Format, one object per detection: {"image_id": "<image stem>", "category": "<class name>",
"bbox": [x, y, w, h] in 0-based pixels, "score": float}; or, when the ground truth is a COCO
set, the standard form with its numeric "image_id" and "category_id". Boxes may lie partly
outside the image (pycocotools evaluates them as they are; so does this project). This module
validates and converts it (parsing itself is in jsoncolumns.py); nothing here imports torch.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from synth import fsio
from synth.errors import InputError
from synth.values import is_finite
from synth.voc import VocSet

from .jsoncolumns import BackgroundParse, Columns, columns_from_items, load_items, parse_file

__all__ = ["Detections", "read_detections", "detections_from_list", "detections_to_list",
           "write_detections", "outside_image", "BackgroundParse"]


@dataclass
class Detections:
    """Detections as parallel arrays; `image` indexes `VocSet.images`, `cls` its `classes`."""

    image: np.ndarray   # (n,) int64
    cls: np.ndarray     # (n,) int64
    boxes: np.ndarray   # (n, 4) float64, [x, y, w, h] 0-based pixels
    score: np.ndarray   # (n,) float64
    _by_score: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.score)

    def by_score(self) -> np.ndarray:
        """Indices by score, highest first, ties in file order (computed once)."""
        if self._by_score is None:
            self._by_score = np.argsort(-self.score, kind="stable")
        return self._by_score

    @classmethod
    def empty(cls) -> "Detections":
        """No detections at all (a valid input: every metric is then zero)."""
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0))

    def subset(self, mask: np.ndarray) -> "Detections":
        """The detections selected by a boolean mask or index array."""
        return Detections(self.image[mask], self.cls[mask], self.boxes[mask], self.score[mask])


# ----------------------------------------------------------------------------- messages
def _describe(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _unknown_image(where: str, stem: Any) -> InputError:
    return InputError(f"{where}: unknown image_id {_describe(stem)} (not an image of the VOC "
                      f"set being evaluated)")


def _unknown_class(where: str, name: Any, classes: Sequence[str]) -> InputError:
    return InputError(f"{where}: unknown category {_describe(name)} (classes: "
                      f"{', '.join(classes)})")


def _bad_numbers(where: str, box: list, score: float) -> InputError | None:
    if not all(is_finite(v) for v in box):
        return InputError(f"{where}: bbox has a NaN or infinite value: {_describe(box)}")
    if box[2] < 0 or box[3] < 0:
        return InputError(f"{where}: bbox has a negative width or height: {_describe(box)}")
    if not is_finite(score):
        return InputError(f"{where}: score must be a finite number, got {_describe(score)}")
    return None


def _coco_ids(voc_set: VocSet) -> dict[int, int]:
    """COCO image id -> image index ({} if the set has none, or they repeat across splits)."""
    ids = {im.coco_id: i for i, im in enumerate(voc_set.images) if im.coco_id is not None}
    return ids if len(ids) == len(voc_set.images) else {}


def _image_index(stem: Any, index: dict[str, int], ids: dict[int, int] | None = None) -> int:
    if isinstance(stem, str):
        return index.get(stem, -1)
    if isinstance(stem, int) and not isinstance(stem, bool) and ids:
        return ids.get(stem, -1)
    if isinstance(stem, int) and not isinstance(stem, bool):
        # Numeric VOC stems ("000005") may have been written as numbers.
        for key in (str(stem), f"{stem:06d}"):
            if key in index:
                return index[key]
    return -1


def _class_index(key: Any, voc_set: VocSet) -> int:
    """A class name's (or a COCO category id's) index in `voc_set.classes`, else -1."""
    if isinstance(key, int) and not isinstance(key, bool):
        key = voc_set.category_ids.get(key)
    return voc_set.classes.index(key) if isinstance(key, str) and key in voc_set.classes else -1


def _bad_entry(items: Sequence[Any], source: str, voc_set: VocSet) -> InputError:
    """Find the first malformed entry with a slow scan and describe it in one line."""
    index, ids = {im.stem: i for i, im in enumerate(voc_set.images)}, _coco_ids(voc_set)
    first = items[0] if items and isinstance(items[0], dict) else {}
    cat_key = "category_id" if "category" not in first and "category_id" in first else "category"
    for i, d in enumerate(items):
        where = f"{source}: detection #{i}"
        if not isinstance(d, dict):
            return InputError(f"{where} is not an object: {_describe(d)}")
        for key in ("image_id", cat_key, "bbox", "score"):
            if key not in d:
                return InputError(f"{where}: missing key {key!r} (expected image_id, {cat_key}, "
                                  f"bbox, score, as the first detection has them)")
        if _image_index(d["image_id"], index, ids) < 0:
            return _unknown_image(where, d["image_id"])
        if _class_index(d[cat_key], voc_set) < 0:
            return _unknown_class(where, d[cat_key], voc_set.classes)
        box, s = d["bbox"], d["score"]
        if (not isinstance(box, (list, tuple)) or len(box) != 4
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in box)):
            return InputError(f"{where}: bbox must be 4 numbers [x, y, w, h], got {_describe(box)}")
        if not isinstance(s, (int, float)) or isinstance(s, bool):
            return InputError(f"{where}: score must be a finite number, got {_describe(s)}")
        error = _bad_numbers(where, list(box), s)
        if error:
            return error
    return InputError(f"{source}: malformed detections")


# ----------------------------------------------------------------------------- conversion
def _from_columns(cols: Columns, voc_set: VocSet, source: str) -> Detections:
    """Validate columns against a VOC set and convert them to arrays."""
    n = len(cols)
    if n == 0:
        return Detections.empty()
    index, ids = {im.stem: i for i, im in enumerate(voc_set.images)}, _coco_ids(voc_set)
    image_code = np.frombuffer(cols.image_code, np.int64)
    image = np.array([_image_index(k, index, ids) for k in cols.image_keys],
                     np.int64)[image_code]
    if (image < 0).any():
        i = int(np.argmax(image < 0))
        raise _unknown_image(f"{source}: detection #{i}", cols.image_keys[image_code[i]])
    cat_code = np.frombuffer(cols.cat_code, np.int64)
    cls = np.array([_class_index(k, voc_set) for k in cols.cat_keys], np.int64)[cat_code]
    if (cls < 0).any():
        i = int(np.argmax(cls < 0))
        raise _unknown_class(f"{source}: detection #{i}", cols.cat_keys[cat_code[i]],
                             voc_set.classes)
    boxes = np.frombuffer(cols.boxes, np.float64).reshape(n, 4).copy()
    score = np.frombuffer(cols.score, np.float64).copy()
    bad = ~np.isfinite(boxes).all(axis=1) | ~np.isfinite(score) | (boxes[:, 2:] < 0).any(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise _bad_numbers(f"{source}: detection #{i}", boxes[i].tolist(), float(score[i]))
    return Detections(image=image, cls=cls, boxes=boxes, score=score)


def detections_from_list(items: Sequence[Any], voc_set: VocSet,
                         source: str = "detections") -> Detections:
    """Validate COCO-results dicts against a VOC set and convert them to arrays."""
    if not isinstance(items, (list, tuple)):
        raise InputError(f"{source}: expected a JSON list of detections (COCO results format), "
                         f"got {type(items).__name__}")
    cols = columns_from_items(items)
    if cols is None:
        raise _bad_entry(items, source, voc_set)
    return _from_columns(cols, voc_set, source)


def read_detections(path: str | os.PathLike, voc_set: VocSet,
                    pending: BackgroundParse | None = None) -> Detections:
    """Read and validate a detections JSON file against the VOC set it was made on.

    `pending` is the same file already being parsed in the background.
    """
    cols = pending.result() if pending is not None else parse_file(path)
    if cols is None:
        raise _bad_entry(load_items(path), str(path), voc_set)
    return _from_columns(cols, voc_set, str(path))


def outside_image(dets: Detections, voc_set: VocSet) -> int:
    """How many boxes lie partly outside their image (evaluated as they are, like pycocotools)."""
    if not len(dets):
        return 0
    wh = np.array([(im.width, im.height) for im in voc_set.images], np.float64)[dets.image]
    b = dets.boxes
    known = (wh > 0).all(axis=1)
    out = (b[:, 0] < 0) | (b[:, 1] < 0) | (b[:, 0] + b[:, 2] > wh[:, 0]) | \
        (b[:, 1] + b[:, 3] > wh[:, 1])
    return int((out & known).sum())


def detections_to_list(dets: Detections, voc_set: VocSet) -> list[dict]:
    """The detections as COCO-results dicts (the file format)."""
    stems = [im.stem for im in voc_set.images]
    return [{"image_id": stems[i], "category": voc_set.classes[c],
             "bbox": [round(float(v), 3) for v in b], "score": round(float(s), 6)}
            for i, c, b, s in zip(dets.image.tolist(), dets.cls.tolist(), dets.boxes, dets.score)]


def write_detections(path: str | os.PathLike, dets: Detections, voc_set: VocSet) -> None:
    """Write a detections JSON file atomically."""
    fsio.write_text(path, json.dumps(detections_to_list(dets, voc_set)))
