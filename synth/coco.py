"""The COCO layout: one reader and one writer.

Layout: DIR/annotations/instances_SPLIT.json (one per split) and DIR/images/ (an image's
`file_name` is looked up in images/SPLIT/, then images/, then DIR). Boxes are COCO's
[x, y, w, h] in continuous 0-based pixels; `iscrowd` is VOC's `difficult` (pycocotools'
only way to ignore an object), both ways. Categories keep their order (by id).
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Sequence

from . import fsio
from .errors import InputError
from .voc import VocImage, VocObject, VocSet
from .values import is_finite, is_int, is_whole, shown


def coco_files(root: str | os.PathLike) -> dict[str, Path]:
    """{split: annotations/instances_SPLIT.json} of a COCO set (empty if it is none)."""
    ann = Path(root) / "annotations"
    if not ann.is_dir():
        return {}
    return {p.stem[len("instances_"):]: p for p in sorted(ann.glob("instances_*.json"))}


def load_json(path: Path) -> object:
    """A JSON file; one that does not parse is an InputError naming it and the line."""
    try:
        return json.loads(fsio.read_text(path, "COCO annotation file"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from None


def _records(doc: dict, key: str, fields: Sequence[str], path: Path) -> list[dict]:
    items = doc.get(key)
    if not isinstance(items, list):
        raise InputError(f"{path}: '{key}' must be a list")
    for i, it in enumerate(items):
        missing = [f for f in fields if not isinstance(it, dict) or f not in it]
        if missing:
            raise InputError(f"{path}: {key}[{i}] has no '{missing[0]}'")
    return items


def _key(where: str, field: str, value: object) -> object:
    """An image or category id as used for lookups: a whole number or a string."""
    if not (is_int(value) or isinstance(value, str)):
        raise InputError(f"{where}: {field} must be a whole number or a string, "
                         f"got {shown(value)}")
    return value


def _pixels(where: str, field: str, value: object) -> int:
    """An image's width or height (0: not given)."""
    if value is None:
        return 0
    if not is_whole(value) or value < 0:
        raise InputError(f"{where}: {field} must be a whole number of pixels, got {shown(value)}")
    return int(value)


def coco_categories(doc: dict, path: Path) -> dict[int, str]:
    """{category id: name}, in id order."""
    cats = _records(doc, "categories", ("id", "name"), path)
    for i, c in enumerate(cats):
        if not is_int(c["id"]):
            raise InputError(f"{path}: categories[{i}]: id must be a whole number, "
                             f"got {shown(c['id'])}")
    out = {}
    for i, c in enumerate(sorted(cats, key=lambda c: c["id"])):
        if c["id"] in out:
            raise InputError(f"{path}: categories: id {c['id']} appears twice")
        out[c["id"]] = str(c["name"])
    return out


def read_coco_split(root: Path, split: str, path: Path) -> tuple[dict[int, str], list[VocImage]]:
    """({category id: name}, images) of one instances_SPLIT.json."""
    doc = load_json(path)
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a COCO object with images, annotations, categories")
    cats = coco_categories(doc, path)
    images: dict[object, VocImage] = {}
    for i, rec in enumerate(_records(doc, "images", ("id", "file_name"), path)):
        where = f"{path}: images[{i}]"
        if _key(where, "id", rec["id"]) in images:
            raise InputError(f"{where}: id {rec['id']} appears twice")
        if not isinstance(rec["file_name"], str):
            raise InputError(f"{where}: file_name must be a string, got {shown(rec['file_name'])}")
        name = rec["file_name"]
        width, height = (_pixels(where, k, rec.get(k)) for k in ("width", "height"))
        found = [p for p in (root / "images" / split / name, root / "images" / name, root / name)
                 if p.is_file()]
        images[rec["id"]] = VocImage(stem=Path(name).stem, filename=Path(name).name,
                                     width=width, height=height,
                                     path=str(found[0] if found else root / "images" / name),
                                     source=str(path), coco_id=rec["id"])
    for i, a in enumerate(_records(doc, "annotations", ("image_id", "category_id", "bbox"), path)):
        where = f"{path}: annotations[{i}] (id {shown(a.get('id'))})"
        if _key(where, "image_id", a["image_id"]) not in images:
            raise InputError(f"{where}: image_id {a['image_id']!r} is not in 'images'")
        if _key(where, "category_id", a["category_id"]) not in cats:
            raise InputError(f"{where}: category_id {a['category_id']!r} is not in 'categories'")
        b = a["bbox"]
        if not (isinstance(b, list) and len(b) == 4 and all(is_finite(v) for v in b)):
            raise InputError(f"{where}: bbox must be 4 numbers [x, y, w, h], got {b!r}")
        x, y, w, h = (float(v) for v in b)
        if w <= 0 or h <= 0:
            raise InputError(f"{where}: bbox {b} has no area")
        im = images[a["image_id"]]
        # the VOC reader's rule: a box may overshoot its image by a pixel, not more
        if not math.isfinite(x + w + y + h) or (im.width > 0 and im.height > 0 and (
                x < -1 or y < -1 or x + w > im.width + 1 or y + h > im.height + 1)):
            raise InputError(f"{where}: bbox {b} lies outside the {im.width}x{im.height} image")
        images[a["image_id"]].objects.append(VocObject(cats[a["category_id"]],
                                                       (x + 1, y + 1, x + w, y + h),
                                                       difficult=bool(a.get("iscrowd", 0))))
    return cats, list(images.values())


def read_coco_set(root: str | os.PathLike, split: str | None = None) -> VocSet:
    """Read a COCO set, or one split of it, as a VocSet (classes in category-id order)."""
    root = Path(root)
    files = coco_files(root)
    if not files:
        raise InputError(f"{root}: not a COCO set (no annotations/instances_*.json)")
    if split is not None and split not in files:
        raise InputError(f"{root / 'annotations'}: no instances_{split}.json")
    classes: list[str] = []
    category_ids: dict[int, str] = {}
    images: dict[str, VocImage] = {}
    splits: dict[str, list[str]] = {}
    for name, path in files.items():
        if split is not None and name != split:
            continue
        cats, ims = read_coco_split(root, name, path)
        classes += [c for c in cats.values() if c not in classes]
        for k, c in cats.items():
            category_ids.setdefault(k, c)
        stems = []
        for im in ims:
            other = images.setdefault(im.stem, im)
            if other is not im and other.path != im.path:   # one stem, two different files
                raise InputError(f"{path}: image {im.stem!r} ({im.path}) has the name of "
                                 f"{other.path} (in {Path(other.source).name}); names must be unique")
            stems.append(im.stem)
        splits[name] = stems
    return VocSet(root=root, classes=classes, images=list(images.values()), splits=splits,
                  layout="coco", category_ids=category_ids)


def coco_document(classes: Sequence[str], images: Sequence[VocImage]) -> dict:
    """The instances JSON of some images: ids 1.., categories 1..K in class order."""
    cat = {c: k + 1 for k, c in enumerate(classes)}
    out_images, anns = [], []
    for i, im in enumerate(images, 1):
        out_images.append({"id": i, "file_name": im.filename, "width": int(im.width),
                           "height": int(im.height)})
        for o in im.objects:
            x, y = o.bbox[0] - 1, o.bbox[1] - 1
            w, h = o.bbox[2] - x, o.bbox[3] - y
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": cat[o.name],
                         "bbox": [round(float(v), 3) for v in (x, y, w, h)],
                         "area": round(float(w * h), 3), "iscrowd": int(o.difficult),
                         "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]]})
    return {"images": out_images, "annotations": anns,
            "categories": [{"id": k, "name": c, "supercategory": "none"} for c, k in cat.items()]}


def write_coco_set(out: str | os.PathLike, classes: Sequence[str],
                   splits: dict[str, list[tuple[VocImage, Path]]], copy: bool = False) -> None:
    """Write a COCO set into `out`: per split, (image, its file) pairs."""
    out = Path(out)
    for name, items in splits.items():
        placed = []
        for im, src in items:
            fname = f"{im.stem}{Path(src).suffix}"
            fsio.place_file(src, out / "images" / name / fname, copy)
            placed.append(VocImage(im.stem, fname, im.width, im.height, im.depth, im.objects))
        doc = coco_document(classes, placed)
        fsio.write_text(out / "annotations" / f"instances_{name}.json", json.dumps(doc))
