"""Dataset layouts (VOC, ultralytics YOLO, COCO): the one reader every command uses, and the
one writer per layout behind `synth convert` and `synth generate --format`.

`read_dataset(PATH)` detects the layout and returns a `synth.voc.VocSet` (VOC boxes,
1-based inclusive pixels; each image knows its file), with `splits` filled in: a VOC set's
ImageSets/Main files, a YOLO set's data.yaml entries, a COCO set's instances_SPLIT.json.
"""
from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from . import fsio
from .coco import coco_files, read_coco_set, write_coco_set
from .errors import InputError
from .imageio import image_size
from .voc import VocImage, VocSet, find_image, read_voc_set, write_annotation, write_labels
from .voc import write_splits
from .yolo import find_data_yaml, read_yolo_set, write_yolo_set, yolo_splits

log = logging.getLogger(__name__)

LAYOUTS = ("voc", "yolo", "coco")
HELD_OUT = ("val", "test")  # splits a set without train.txt keeps out of training


def detect_layout(path: str | os.PathLike) -> str:
    """'voc', 'yolo' or 'coco' for a set's folder (or a YOLO data.yaml); else InputError."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such dataset folder")
    if (path / "Annotations").is_dir():
        return "voc"
    if find_data_yaml(path) is not None:
        return "yolo"
    if coco_files(path):
        return "coco"
    raise InputError(f"{path}: not a dataset: expected a VOC set (Annotations/, JPEGImages/), "
                     f"a YOLO set (data.yaml, images/, labels/) or a COCO set "
                     f"(annotations/instances_SPLIT.json, images/)")


def read_dataset(path: str | os.PathLike, split: str | None = None) -> VocSet:
    """Read a VOC, YOLO or COCO set (detected), or one split of it, as a VocSet."""
    layout = detect_layout(path)
    if layout == "voc":
        return read_voc_set(path, split=split)
    if layout == "yolo":
        return read_yolo_set(path, split=split)
    return read_coco_set(path, split=split)


def dataset_splits(path: str | os.PathLike) -> list[str]:
    """The split names of a set (without reading its labels)."""
    layout = detect_layout(path)
    if layout == "voc":
        from .voc import available_splits

        return available_splits(path)
    if layout == "yolo":
        return yolo_splits(path)
    return list(coco_files(path))


def read_train_images(path: str | os.PathLike, held_out: Sequence[str] = HELD_OUT) -> VocSet:
    """A set's training images: its train split, else (it has one of the `held_out` splits)
    every image those splits do not list, said in a log line, else every image."""
    if "train" in dataset_splits(path):
        return read_dataset(path, split="train")
    voc_set = read_dataset(path)
    out = [name for name in dict.fromkeys(held_out) if name in voc_set.splits]
    if not out:
        return voc_set
    listed = {s for name in out for s in voc_set.splits[name]}
    keep = [im for im in voc_set.images if im.stem not in listed]
    if not keep:
        raise InputError(f"{split_source(path, 'train')}: no train split, and every image is in "
                         f"{', '.join(out)}: nothing left to train on")
    log.info("%s: no train split: training on the %d images not in %s (of %d)", path, len(keep),
             " or ".join(out), len(voc_set.images))
    voc_set.images = keep
    return voc_set


def check_split(path: str | os.PathLike, split: str, flag: str) -> None:
    """InputError naming `flag` unless the set has a split named `split`."""
    names = dataset_splits(path)
    if split not in names:
        raise InputError(f"{flag} {split}: {split_source(path, split)} not found (the set's "
                         f"splits: {', '.join(names) or 'none'})")


def split_source(path: str | os.PathLike, split: str) -> str:
    """Where a set's split is defined, for messages."""
    layout = detect_layout(path)
    return {"voc": f"{Path(path) / 'ImageSets' / 'Main' / split}.txt",
            "yolo": f"{find_data_yaml(path)} '{split}'",
            "coco": f"{Path(path) / 'annotations' / f'instances_{split}.json'}"}[layout]


def output_splits(voc_set: VocSet) -> dict[str, list[VocImage]]:
    """The splits a writer writes: the set's own (all images as 'train' if it has none).

    Images no split lists are left out, with one warning line, except in a set without a
    train split but with a val or test one: they are its train split (read_train_images)."""
    by_stem = {im.stem: im for im in voc_set.images}
    if not voc_set.splits:
        return {"train": list(voc_set.images)}
    out = {name: [by_stem[s] for s in stems if s in by_stem]
           for name, stems in voc_set.splits.items()}
    listed = {s for stems in voc_set.splits.values() for s in stems}
    left = [im.stem for im in voc_set.images if im.stem not in listed]
    if left and "train" not in out and any(name in out for name in HELD_OUT):
        return {"train": [by_stem[s] for s in left], **out}  # what read_train_images trains on
    if left:
        log.warning("%d image(s) are in no split and were left out, e.g. %s", len(left), left[0])
    return out


def write_voc_layout(out: Path, classes: list[str],
                     splits: dict[str, list[tuple[VocImage, Path]]], copy: bool = False) -> None:
    """Write a VOC set into `out`: per split, (image, its file) pairs."""
    done: set[str] = set()
    for items in splits.values():
        for im, src in items:
            if im.stem in done:
                continue
            done.add(im.stem)
            name = f"{im.stem}{Path(src).suffix}"
            fsio.place_file(src, out / "JPEGImages" / name, copy)
            write_annotation(out / "Annotations" / f"{im.stem}.xml",
                             VocImage(im.stem, name, im.width, im.height, im.depth, im.objects))
    write_labels(out, classes)
    write_splits(out, {name: [im.stem for im, _ in items] for name, items in splits.items()})


def write_dataset(out: str | os.PathLike, layout: str, classes: list[str],
                  splits: dict[str, list[tuple[VocImage, Path]]], copy: bool = False,
                  final_root: str | os.PathLike | None = None) -> None:
    """Write a set in `layout` into the folder `out` (the one writer per layout)."""
    if layout not in LAYOUTS:
        raise InputError(f"--to {layout!r}: expected one of {', '.join(LAYOUTS)}")
    out = Path(out)
    if layout == "yolo":
        difficult = sum(o.difficult for items in splits.values() for im, _ in items
                        for o in im.objects)
        if difficult:  # as ultralytics' VOC conversion: an ordinary box would be trained on
            log.warning("YOLO has no 'difficult' flag: %d difficult object(s) left out of the "
                        "labels", difficult)
            splits = {name: [(replace(im, objects=[o for o in im.objects if not o.difficult]),
                              src) for im, src in items] for name, items in splits.items()}
        write_yolo_set(out, classes, splits, copy, final_root)
    elif layout == "coco":
        write_coco_set(out, classes, splits, copy)
    else:
        write_voc_layout(out, classes, splits, copy)


def convert(src: str | os.PathLike, to: str, out: str | os.PathLike,
            copy: bool = False) -> VocSet:
    """Convert a set (any layout) into `to` at `out` (written whole or not at all); the set read."""
    if to not in LAYOUTS:
        raise InputError(f"--to {to!r}: expected one of {', '.join(LAYOUTS)}")
    voc_set = read_dataset(src)
    splits = {}
    for name, images in output_splits(voc_set).items():
        items = []
        for im in images:
            path = find_image(voc_set.root, im)
            if im.width <= 0 or im.height <= 0:
                im.width, im.height = image_size(path)
            items.append((im, path.resolve()))
        splits[name] = items
    with fsio.staged_dir(out) as tmp:
        write_dataset(tmp, to, voc_set.classes, splits, copy, final_root=out)
    return voc_set
