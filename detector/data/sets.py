"""VOC sets under one class list, as flat arrays with boxes in real image pixels.

Conventions
- Boxes are continuous 0-based pixels (x1, y1, x2, y2): a VOC box (xmin, ymin, xmax, ymax)
  becomes (xmin - 1, ymin - 1, xmax, ymax), as in the metrics.
- Images are the pixels `synth.imageio.read_image` returns: EXIF orientation applied. An
  annotation is taken to describe those displayed pixels (what CVAT, Label Studio and
  PASCAL's tools show). Two exceptions, both logged once per set with a count and an
  example: (1) an image whose EXIF orientation swaps width and height but whose <size>
  is the *unrotated* one was labelled without EXIF (LabelImg does that): its boxes are
  rotated with the pixels; (2) any other image whose real size differs from <size>: the
  real image is trusted and boxes are rescaled by real / <size> per axis. A <size> of 0
  means "unknown": boxes are taken as real pixels. Square images and orientations that
  keep the size (mirror, 180°) cannot be told apart and follow the displayed convention.
  `image_to_annotation` is the way back, for detections: real pixels to the annotation's.
- `difficult` objects are kept, flagged `ignore`.
"""
from __future__ import annotations

import logging
import math
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from synth.errors import InputError
from synth.fsio import read_text
from synth.imageio import INVERSE_ORIENTATION, image_header, orient_boxes, swaps_axes
from synth.layouts import HELD_OUT, check_split, dataset_splits, read_dataset, read_train_images
from synth.voc import VocImage, VocObject, VocSet, find_image, merge_classes

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- class lists
def load_classes_file(path: str | os.PathLike) -> list[str]:
    """Class names from a text file, one a line (blank lines and # comments skipped)."""
    path = Path(path)
    text = read_text(path, "classes file")
    names = [ln.strip() for ln in text.splitlines()]
    names = [n for n in names if n and not n.startswith("#")]
    if not names:
        raise InputError(f"{path}: classes file lists no class names")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"{path}: class names listed twice: {', '.join(dupes)}")
    return names


def skipped_summary(skipped: dict[str, int]) -> str:
    """'skipped 12 objects of classes not in the list: leaf (10), toy (2)' ('' if none)."""
    if not skipped:
        return ""
    total = sum(skipped.values())
    parts = ", ".join(f"{n} ({c})" for n, c in sorted(skipped.items(), key=lambda kv: (-kv[1],
                                                                                       kv[0])))
    return f"skipped {total} object{'s' if total != 1 else ''} of classes not in the list: {parts}"


# ----------------------------------------------------------------------------- EXIF geometry
def labelled_orientation(stored_wh: tuple[int, int], orientation: int,
                         ann_wh: tuple[int, int]) -> int:
    """The EXIF orientation an annotation was made without: `orientation` when its <size> is
    the stored, unrotated size of an image that EXIF turns by 90° (LabelImg), else 1."""
    sw, sh = stored_wh
    shown = (sh, sw) if swaps_axes(orientation) else (sw, sh)
    return orientation if tuple(ann_wh) == (sw, sh) and shown != (sw, sh) else 1


def boxes_to_annotation(boxes: np.ndarray, real_wh: tuple[int, int], ann_wh: tuple[int, int],
                        orientation: int = 1) -> np.ndarray:
    """Map boxes on an image's real (EXIF-applied) pixels to the pixels its annotation describes.

    `orientation` != 1: the labels were made on the stored pixels and rotated by that EXIF
    orientation for training, so undo it. Otherwise a <size> unlike the real size is a
    rescale, and a <size> of 0 means the real pixels.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    (w, h), (aw, ah) = real_wh, ann_wh
    if orientation != 1:
        return orient_boxes(boxes, INVERSE_ORIENTATION[orientation], int(w), int(h))
    if aw > 0 and ah > 0 and (aw, ah) != (w, h):
        return boxes * np.array([aw / w, ah / h, aw / w, ah / h])
    return boxes


def image_to_annotation(boxes: np.ndarray, real_wh: tuple[int, int], image: VocImage,
                        path: str | os.PathLike) -> np.ndarray:
    """Boxes on an image's real (EXIF-applied) pixels → the pixels its annotation describes,
    clipped to its <size> (the rule `read_sets` applied to the labels, run backwards)."""
    ann_wh = (int(image.width), int(image.height))
    orientation = 1
    if ann_wh == tuple(real_wh)[::-1] and ann_wh != tuple(real_wh):  # labelled unrotated?
        sw, sh, o = image_header(path)
        orientation = labelled_orientation((sw, sh), o, ann_wh)
    out = np.array(boxes_to_annotation(boxes, real_wh, ann_wh, orientation), np.float64)
    if ann_wh[0] > 0 and ann_wh[1] > 0:
        out[:, 0::2] = out[:, 0::2].clip(0, ann_wh[0])
        out[:, 1::2] = out[:, 1::2].clip(0, ann_wh[1])
    return out


# ----------------------------------------------------------------------------- the image table
@dataclass
class DetectionData:
    """Images and objects of one or more VOC sets under one class list.

    Stored as flat numpy arrays (not per-image Python objects) so forked loader workers
    share the memory instead of copying it. Image i has objects offsets[i]:offsets[i+1];
    its boxes are in real (EXIF-applied) image pixels.
    """

    classes: list[str]
    roots: list[Path]          # the VOC sets, in --data order
    set_index: np.ndarray      # (n,) which root each image comes from
    stems: np.ndarray          # (n,) str
    paths: np.ndarray          # (n,) str, image files
    ann_size: np.ndarray       # (n, 2) int (w, h) of the annotation's <size>
    img_size: np.ndarray       # (n, 2) int (w, h) of the real image (= ann_size if unchecked)
    orientation: np.ndarray    # (n,) int8: EXIF orientation applied to the boxes (1 = none)
    boxes: np.ndarray          # (m, 4) float32
    labels: np.ndarray         # (m,) int64 class index
    ignore: np.ndarray         # (m,) bool: difficult
    offsets: np.ndarray        # (n + 1,) int64
    skipped: dict[str, int] = field(default_factory=dict)  # objects of unlisted classes
    eval_images: list[VocImage] = field(default_factory=list, repr=False)

    def __len__(self) -> int:
        return len(self.stems)

    @property
    def num_objects(self) -> int:
        return len(self.labels)

    def objects(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(boxes [k, 4], labels [k], ignore [k]) of image i, in real image pixels."""
        a, b = self.offsets[i], self.offsets[i + 1]
        return self.boxes[a:b], self.labels[a:b], self.ignore[a:b]

    def skipped_summary(self) -> str:
        """One line about objects left out for their class ('' if none)."""
        return skipped_summary(self.skipped)

    def to_annotation(self, boxes: np.ndarray, i: int) -> np.ndarray:
        """Map boxes from image i's real pixels to its annotation's pixels (unclipped)."""
        return boxes_to_annotation(boxes, tuple(self.img_size[i]), tuple(self.ann_size[i]),
                                   int(self.orientation[i]))

    def eval_set(self) -> VocSet:
        """A VocSet for `detector.evaluation`: these images in this order, `classes` as here.

        Objects of unlisted classes are dropped; boxes stay in annotation coordinates (where
        detector.predict.predict_voc_set puts detections). Its root is the first set's: run a
        model over it with `paths=list(self.paths)`, which knows every image's file.
        """
        return VocSet(root=self.roots[0], classes=list(self.classes), images=self.eval_images)

    def box_sizes(self, include_ignored: bool = False) -> np.ndarray:
        """Box (w, h) [m, 2] as fractions of the image's longer side (k-means anchor input)."""
        per_image = np.repeat(np.arange(len(self)), np.diff(self.offsets))
        long_side = self.img_size.max(1)[per_image].astype(np.float64)
        wh = (self.boxes[:, 2:] - self.boxes[:, :2]) / long_side[:, None]
        return wh if include_ignored else wh[~self.ignore]


def default_split(root: str | os.PathLike, role: str) -> str | None:
    """The split to read for a role: 'train'/'val' if that split file exists, else None (all)."""
    if role not in ("train", "val"):
        raise ValueError(f"role must be 'train' or 'val', got {role!r}")
    return role if role in dataset_splits(root) else None


def read_sets(dirs: Sequence[str | os.PathLike], role: str = "train", split: str | None = None,
              classes: Sequence[str] | None = None, check_images: bool = True,
              threads: int = 8, held_out: Sequence[str] = HELD_OUT) -> DetectionData:
    """Read sets (VOC, YOLO or COCO: `synth.layouts.read_dataset`) into one DetectionData.

    `split` None picks, per set, for training `synth.layouts.read_train_images` (train.txt,
    else the images no `held_out` split lists) and for validation `default_split(root,
    'val')`. `classes` fixes the class list and its order (objects of other classes are
    skipped and counted); without it the sets' lists are merged by name. `check_images`
    reads every image header up front: missing or unreadable images fail here, and size/EXIF
    mismatches are handled (module doc).
    """
    if not dirs:
        raise InputError("no dataset given")
    sets = []
    for d in dirs:
        s = split if split is not None else default_split(d, role)
        vs = read_train_images(d, held_out) if split is None and role == "train" else \
            read_dataset(d, split=s)
        if not vs.images:
            raise InputError(f"{d}: no annotations{f' in split {s!r}' if s else ''}")
        sets.append(vs)
    class_list = list(classes) if classes is not None else merge_classes([vs.classes
                                                                          for vs in sets])
    index = {c: k for k, c in enumerate(class_list)}
    skipped: Counter[str] = Counter()

    stems, paths, ann_size, set_index, eval_images = [], [], [], [], []
    boxes, labels, ignore, offsets = [], [], [], [0]
    for k, vs in enumerate(sets):
        for im in vs.images:
            xml = im.source or vs.root / "Annotations" / f"{im.stem}.xml"
            kept = []
            for o in im.objects:
                if o.name not in index:
                    skipped[o.name] += 1
                    continue
                x0, y0, x1, y1 = o.bbox[0] - 1, o.bbox[1] - 1, o.bbox[2], o.bbox[3]
                if not (math.isfinite(x0 + y0 + x1 + y1) and x1 > x0 and y1 > y0):
                    raise InputError(f"{xml}: object {o.name!r} has a zero-area box {o.bbox}")
                boxes.append((x0, y0, x1, y1))
                labels.append(index[o.name])
                ignore.append(o.difficult)
                kept.append(o)
            offsets.append(len(labels))
            stems.append(im.stem)
            paths.append(str(find_image(vs.root, im)))
            ann_size.append((im.width, im.height))
            set_index.append(k)
            eval_images.append(VocImage(stem=im.stem, filename=im.filename, width=im.width,
                                        height=im.height, depth=im.depth, path=paths[-1],
                                        source=im.source, objects=[VocObject(o.name, o.bbox, o.pose, o.truncated,
                                                           o.difficult) for o in kept]))
    data = DetectionData(
        classes=class_list, roots=[vs.root for vs in sets],
        set_index=np.asarray(set_index, np.int32), stems=np.asarray(stems),
        paths=np.asarray(paths), ann_size=np.asarray(ann_size, np.int64).reshape(-1, 2),
        img_size=np.asarray(ann_size, np.int64).reshape(-1, 2).copy(),
        orientation=np.ones(len(stems), np.int8),
        boxes=np.asarray(boxes, np.float32).reshape(-1, 4),
        labels=np.asarray(labels, np.int64), ignore=np.asarray(ignore, bool),
        offsets=np.asarray(offsets, np.int64), skipped=dict(skipped), eval_images=eval_images)
    if check_images:
        _fit_boxes_to_images(data, threads)
    if skipped:
        log.warning("%s", data.skipped_summary())
    unused = [c for k, c in enumerate(class_list) if not np.any(data.labels == k)]
    if unused:
        log.info("classes without objects here: %s", ", ".join(unused))
    log.info("read %d images, %d objects (%d difficult), %d classes from %s", len(data),
             data.num_objects, int(data.ignore.sum()), len(class_list),
             ", ".join(str(r) for r in data.roots))
    return data


def _fit_boxes_to_images(data: DetectionData, threads: int) -> None:
    """Read image headers; move boxes into real-pixel coordinates where <size> disagrees."""
    with ThreadPoolExecutor(max(1, threads)) as pool:
        headers = list(pool.map(image_header, (Path(p) for p in data.paths)))
    rotated: dict[int, list[int]] = {}
    rescaled: dict[int, list[int]] = {}
    for i, (sw, sh, o) in enumerate(headers):
        w, h = (sh, sw) if swaps_axes(o) else (sw, sh)
        aw, ah = (int(v) for v in data.ann_size[i])
        data.img_size[i] = (w, h)
        a, b = data.offsets[i], data.offsets[i + 1]
        if (aw, ah) == (w, h):
            continue
        unrotated = labelled_orientation((sw, sh), o, (aw, ah))
        if unrotated != 1:  # labelled on the stored, unrotated pixels
            data.orientation[i] = unrotated
            data.boxes[a:b] = orient_boxes(data.boxes[a:b], unrotated, sw, sh)
            rotated.setdefault(int(data.set_index[i]), []).append(i)
        elif aw > 0 and ah > 0:
            data.boxes[a:b] *= np.array([w / aw, h / ah, w / aw, h / ah], np.float32)
            rescaled.setdefault(int(data.set_index[i]), []).append(i)
    for k, idx in rotated.items():
        i = idx[0]
        log.warning("%s: %d image(s) carry an EXIF rotation but their annotation's <size> is the "
                    "unrotated one, e.g. %s (%dx%d shown, <size> %dx%d): labelled without EXIF; "
                    "their boxes were rotated with the pixels", data.roots[k], len(idx),
                    data.paths[i], *data.img_size[i], *data.ann_size[i])
    for k, idx in rescaled.items():
        i = idx[0]
        log.warning("%s: %d image(s) differ in size from their annotation's <size>, e.g. %s is "
                    "%dx%d, <size> says %dx%d; the real images are trusted and their boxes "
                    "rescaled", data.roots[k], len(idx), data.paths[i], *data.img_size[i],
                    *data.ann_size[i])


def read_training_sets(data: Sequence[str | os.PathLike], val: str | os.PathLike | None = None,
                       split: str | None = None, val_split: str | None = None,
                       classes_file: str | os.PathLike | None = None
                       ) -> tuple[DetectionData, DetectionData | None]:
    """What `pipeline train` trains and validates on: the `data` sets (their train split by
    default) under one class list (`classes_file`'s, else merged), and the `val` set or else
    the data sets' val splits (None when there is none, or it has no objects to count)."""
    classes = load_classes_file(classes_file) if classes_file is not None else None
    for d in data if split is not None else []:
        check_split(d, split, "--split")
    if val is not None and val_split is not None:
        check_split(val, val_split, "--val-split")
    held_out = (*HELD_OUT, val_split) if val_split and val is None else HELD_OUT
    train_data = read_sets(data, role="train", split=split, classes=classes, held_out=held_out)
    if val is not None:
        val_data = read_sets([val], role="val", split=val_split, classes=train_data.classes)
    else:
        wanted = val_split or "val"
        with_val = [d for d in data if wanted in dataset_splits(d)]
        if val_split and not with_val:
            raise InputError(f"--val-split {wanted}: none of the --data sets has a split "
                             f"{wanted!r}")
        val_data = read_sets(with_val, role="val", split=wanted, classes=train_data.classes) \
            if with_val else None
    if val_data is not None and not (~val_data.ignore).any():
        log.warning("validation set has no (non-difficult) objects: no mAP will be computed")
        val_data = None
    if val_data is None:
        log.warning("no validation set (--val DIR or a val split): best.pt will be the last "
                    "epoch's weights")
    return train_data, val_data
