"""`synth generate --check DIR`: does a generated set hold together?

Every image has its annotation (VOC XML, YOLO label file, an entry in a COCO instances file)
and its manifest.jsonl line, and every annotation and line its image; every box lies inside
its image and names a class of the set; the splits list every image once (as its manifest line
says) and only images that exist. Each layout (VOC, YOLO, COCO) is read file by file, so one
broken file is one problem and the rest are still checked.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .coco import coco_categories, coco_files, load_json
from .errors import InputError
from .imageio import image_size, is_image_file
from .layouts import detect_layout
from .manifest import MANIFEST, parse_records
from .voc import available_splits, read_annotation, read_labels, read_split
from .yolo import label_path, parse_label_line, split_images, yolo_config

TOLERANCE_PX = 0.01  # YOLO's normalised coordinates are rounded to 6 decimals


@dataclass
class Entry:
    """One image of a set as its layout lists it."""

    stem: str
    image: Path | None = None       # its file (None: named by a label, but missing)
    label: str | None = None        # where its labels are (None: it has none)
    size: tuple[int, int] | None = None   # the size the labels state, if they do
    boxes: list[tuple[str, tuple[float, float, float, float]]] = field(default_factory=list)
    splits: set[str] = field(default_factory=set)
    where: str = ""                 # what to name in messages about it


@dataclass
class SetCheck:
    """What `check_set` found."""

    root: Path
    layout: str
    images: int
    objects: int
    splits: dict[str, int]
    problems: list[str]

    def summary(self) -> str:
        """The one line printed when the set is fine."""
        splits = ", ".join(f"{k} {v}" for k, v in self.splits.items())
        return (f"{self.root}: {self.layout} set OK: {self.images} images, {self.objects} "
                f"objects, splits {splits}, every image with its annotation and manifest line")


def _voc_entries(root: Path, problems: list[str]) -> tuple[dict[str, Entry], list[str] | None]:
    entries: dict[str, Entry] = {}
    folder = root / "JPEGImages"
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    for p in files:
        if is_image_file(p):
            entries[p.stem] = Entry(p.stem, image=p, where=str(p))
    for p in sorted((root / "Annotations").glob("*.xml")):
        e = entries.setdefault(p.stem, Entry(p.stem, where=str(p)))
        e.label = str(p)
        try:
            im = read_annotation(p, check_boxes=False)
        except InputError as exc:
            problems.append(str(exc))
            continue
        e.size = (im.width, im.height)
        e.boxes = [(o.name, tuple(o.bbox)) for o in im.objects]
        if e.image is None and (folder / im.filename).is_file():
            e.image = folder / im.filename
    names = available_splits(root)
    if not names:
        problems.append(f"{root / 'ImageSets' / 'Main'}: no split files (train.txt, val.txt)")
    for name in names:
        for stem in read_split(root, name):
            if stem in entries:
                entries[stem].splits.add(name)
            else:
                problems.append(f"{root / 'ImageSets' / 'Main' / name}.txt: lists {stem}, "
                                f"which has no image")
    for e in entries.values():
        if e.label is None:
            problems.append(f"{e.image}: no annotation ({root / 'Annotations' / e.stem}.xml)")
    classes = read_labels(root)
    if classes is None:
        problems.append(f"{root / 'labels.txt'}: missing (the class names)")
    return entries, classes


def _yolo_entries(root: Path, problems: list[str]) -> tuple[dict[str, Entry], list[str] | None]:
    base, cfg, names = yolo_config(root)
    if (root / "images").is_dir():  # the set in DIR, even where data.yaml's `path` still exists
        base = root
    entries: dict[str, Entry] = {}
    seen: dict[str, str] = {}
    for split, value in cfg.items():
        if split in ("path", "names", "nc", "download") or not isinstance(value, (str, list)):
            continue
        key = json.dumps(value)
        if key in seen:  # e.g. val: images/train when a set has no val split
            continue
        seen[key] = split
        try:
            images = split_images(base, value, root / "data.yaml")
        except InputError as exc:
            problems.append(str(exc))
            continue
        for img in images:
            e = entries.setdefault(img.stem, Entry(img.stem, image=img, where=str(img)))
            e.splits.add(split)
            lab = label_path(img)
            if not lab.is_file():
                continue
            e.label = str(lab)
            w, h = _size(img, problems) or (1, 1)
            for k, line in enumerate(lab.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    cls, (x0, y0, x1, y1) = parse_label_line(line, f"{lab}:{k}", len(names))
                except InputError as exc:
                    problems.append(str(exc))
                    continue
                e.boxes.append((names[cls], (x0 * w + 1, y0 * h + 1, x1 * w, y1 * h)))
    listed = {e.image for e in entries.values()}
    for p in sorted((base / "images").rglob("*")):
        if is_image_file(p) and p not in listed:
            problems.append(f"{p}: in no split of {root / 'data.yaml'}")
    labels = {label_path(img) for img in listed}
    for lab in sorted((base / "labels").rglob("*.txt")):
        if lab not in labels:
            problems.append(f"{lab}: a label file without an image")
    for e in entries.values():
        if e.label is None:
            problems.append(f"{e.image}: no label file ({label_path(e.image)})")
    return entries, names


def _coco_entries(root: Path, problems: list[str]) -> tuple[dict[str, Entry], list[str] | None]:
    entries: dict[str, Entry] = {}
    classes: list[str] = []
    for split, path in coco_files(root).items():
        try:
            doc = load_json(path)
            cats = coco_categories(doc, path)
        except InputError as exc:
            problems.append(str(exc))
            continue
        classes += [c for c in cats.values() if c not in classes]
        by_id: dict[object, Entry] = {}
        for i, rec in enumerate(doc.get("images") or []):
            name = str(rec.get("file_name", ""))
            found = [p for p in (root / "images" / split / name, root / "images" / name)
                     if p.is_file()]
            e = entries.setdefault(Path(name).stem, Entry(Path(name).stem,
                                                          where=f"{path}: images[{i}] {name}"))
            e.image = e.image or (found[0] if found else None)
            e.label, e.size = str(path), (int(rec.get("width") or 0), int(rec.get("height") or 0))
            e.splits.add(split)
            by_id[rec.get("id")] = e
        for i, a in enumerate(doc.get("annotations") or []):
            e = by_id.get(a.get("image_id"))
            b = a.get("bbox")
            if e is None or a.get("category_id") not in cats or not (
                    isinstance(b, list) and len(b) == 4):
                problems.append(f"{path}: annotations[{i}] names no image, no category or no "
                                f"[x, y, w, h] bbox")
                continue
            x, y, w, h = (float(v) for v in b)
            e.boxes.append((cats[a["category_id"]], (x + 1, y + 1, x + w, y + h)))
    listed = {e.image for e in entries.values()}
    for p in sorted((root / "images").rglob("*")):
        if is_image_file(p) and p not in listed:
            problems.append(f"{p}: no annotation (in no {root / 'annotations'}/instances_*.json)")
    return entries, classes


def _size(path: Path, problems: list[str]) -> tuple[int, int] | None:
    try:
        return image_size(path)
    except InputError as exc:
        problems.append(str(exc))
        return None


def _check_entry(e: Entry, classes: list[str] | None, problems: list[str]) -> None:
    if e.image is None:
        problems.append(f"{e.where}: its image file is missing")
        return
    size = _size(e.image, problems)
    if size is None:
        return
    if e.size is not None and tuple(e.size) != tuple(size):
        problems.append(f"{e.label}: says {e.size[0]}x{e.size[1]}, but {e.image} is "
                        f"{size[0]}x{size[1]}")
    w, h = size
    t = TOLERANCE_PX
    for name, (x0, y0, x1, y1) in e.boxes:
        if not (1 - t <= x0 <= x1 <= w + t and 1 - t <= y0 <= y1 <= h + t):
            problems.append(f"{e.label}: {name} box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) lies "
                            f"outside the {w}x{h} image")
        if classes is not None and name not in classes:
            problems.append(f"{e.label}: class {name!r} is not one of the set's classes "
                            f"({', '.join(classes)})")
    if not e.splits:
        problems.append(f"{e.image}: in no split")
    elif len(e.splits - {"trainval"}) > 1:
        problems.append(f"{e.image}: in more than one split ({', '.join(sorted(e.splits))})")


def _check_manifest(root: Path, entries: dict[str, Entry], problems: list[str]) -> None:
    path = root / MANIFEST
    if not path.is_file():
        problems.append(f"{path}: missing (one line per generated image)")
        return
    records: dict[str, dict] = {}
    for k, rec, exc in parse_records(path):
        if exc is not None:
            problems.append(f"{path}:{k}: not a manifest record ({type(exc).__name__})")
            continue
        stem = rec["image"]
        if stem in records:
            problems.append(f"{path}:{k}: a second line for {stem}")
        records[stem] = rec
        e = entries.get(stem)
        if e is None:
            problems.append(f"{path}:{k}: a line for {stem}, which has no image")
        elif rec.get("split") is not None and e.splits and rec["split"] not in e.splits:
            problems.append(f"{path}:{k}: puts {stem} in split {rec['split']!r}, the set in "
                            f"{', '.join(sorted(e.splits))}")
    for stem, e in entries.items():
        if stem not in records and e.image is not None:
            problems.append(f"{e.image}: no line in {path}")


def check_set(root: str | os.PathLike) -> SetCheck:
    """Check a generated set (VOC, YOLO or COCO, detected); the problems found, in order."""
    root = Path(root)
    layout = detect_layout(root)
    problems: list[str] = []
    read = {"voc": _voc_entries, "yolo": _yolo_entries, "coco": _coco_entries}[layout]
    entries, classes = read(root, problems)
    if not entries:
        problems.append(f"{root}: holds no images")
    for e in entries.values():
        _check_entry(e, classes, problems)
    _check_manifest(root, entries, problems)
    splits: dict[str, int] = {}
    for e in entries.values():
        for s in e.splits:
            splits[s] = splits.get(s, 0) + 1
    return SetCheck(root, layout, len(entries), sum(len(e.boxes) for e in entries.values()),
                    dict(sorted(splits.items())), problems)
