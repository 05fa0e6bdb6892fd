"""Predictions as labels to correct: `pipeline predict --save-labels` and `--review`.

`--save-labels voc|yolo|coco` writes OUT/labels, a set in that layout (one split, `train`;
labels.txt, data.yaml or the COCO categories carry the model's class list) holding every frame,
its detections above --conf as its boxes (VOC 1-based inclusive pixels; a frame without
detections is an image without objects), written with the one writer
(`synth.layouts.write_dataset`) and the frames hard-linked (symlinked across file systems), so it
opens in labelImg or CVAT for correcting and trains with `pipeline train` as it is.

`--review` writes OUT/review.jpg, a contact sheet (synth.preview's tiles) of the least certain
frames first, and OUT/review.txt, every frame in that order with its certainty. A frame's
certainty is its lowest detection score (obj x cls): the box a person most needs to look at;
its margin to --conf orders the same way. Frames without a detection come last (certainty 1:
nothing to correct, though an object may have been missed), ties by image id.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from synth import fsio
from synth.errors import InputError
from synth.imageio import encode_jpeg
from synth.layouts import LAYOUTS, write_dataset
from synth.preview import tile_grid
from synth.voc import VocImage, VocObject, VocSet

from .evaluation.detections import Detections

LABELS_DIR = "labels"
REVIEW_SHEET = "review.jpg"
REVIEW_LIST = "review.txt"
REVIEW_FRAMES = 24  # frames on the sheet
REVIEW_COLS = 6
REVIEW_THUMB = 256


def check_label_options(save_labels: str | None, review: bool, source_kind: str,
                        out: str | os.PathLike) -> None:
    """Refuse bad --save-labels / --review before anything is written."""
    if save_labels is not None and save_labels not in LAYOUTS:
        raise InputError(f"--save-labels {save_labels!r}: expected one of {', '.join(LAYOUTS)}")
    if (save_labels is not None or review) and source_kind not in ("image", "folder"):
        flag = "--save-labels" if save_labels is not None else "--review"
        raise InputError(f"{flag}: needs an image or a folder of frames, not a {source_kind} "
                         "(extract its frames first)")
    target = Path(out) / LABELS_DIR
    if save_labels is not None and target.exists():
        raise InputError(f"{target}: already exists; choose a new --out or delete it")


def prediction_set(images: Sequence[VocImage], dets: Detections, classes: Sequence[str],
                   root: str | os.PathLike) -> VocSet:
    """The frames as a set whose objects are their detections (boxes under 1 px left out)."""
    out = [VocImage(im.stem, im.filename, im.width, im.height, im.depth, [], path=im.path)
           for im in images]
    for k in dets.by_score():
        x, y, w, h = (float(v) for v in dets.boxes[k])
        if w >= 1 and h >= 1:
            out[int(dets.image[k])].objects.append(
                VocObject(classes[int(dets.cls[k])], (x + 1, y + 1, x + w, y + h)))
    return VocSet(root=Path(root), classes=list(classes), images=out)


def frame_certainty(n_images: int, dets: Detections) -> list[float]:
    """Per frame: its lowest detection score (1.0 for a frame without detections)."""
    low = [1.0] * n_images
    for i, s in zip(dets.image.tolist(), dets.score.tolist()):
        low[i] = min(low[i], s)
    return low


def review_order(voc_set: VocSet, certainty: Sequence[float]) -> list[int]:
    """Frame indices, least certain first (frames without detections last, ties by id)."""
    return sorted(range(len(voc_set.images)),
                  key=lambda i: (certainty[i], not voc_set.images[i].objects,
                                 voc_set.images[i].stem))


def save_labels(voc_set: VocSet, layout: str, out: str | os.PathLike) -> Path:
    """Write the set as OUT/labels in `layout` (whole or not at all); its folder."""
    target = Path(out) / LABELS_DIR
    items = [(im, Path(im.path).resolve()) for im in voc_set.images]
    with fsio.staged_dir(target) as tmp:
        write_dataset(tmp, layout, voc_set.classes, {"train": items}, final_root=target)
    return target


def write_review(voc_set: VocSet, certainty: Sequence[float], out: str | os.PathLike) -> Path:
    """Write OUT/review.jpg (the least certain frames first) and OUT/review.txt; the sheet."""
    order = review_order(voc_set, certainty)
    lines = [f"{voc_set.images[i].stem}\t{certainty[i]:.4f}\t{len(voc_set.images[i].objects)}\n"
             for i in order]
    shown = order[:REVIEW_FRAMES]
    sheet = tile_grid(voc_set, [voc_set.images[i] for i in shown], REVIEW_COLS, REVIEW_THUMB,
                      [f"{voc_set.images[i].stem} {certainty[i]:.2f}" for i in shown])
    out = Path(out)
    fsio.write_text(out / REVIEW_LIST, "image\tcertainty\tboxes\n" + "".join(lines))
    fsio.write_bytes(out / REVIEW_SHEET, encode_jpeg(sheet, 92))
    return out / REVIEW_SHEET
