"""The ultralytics YOLO layout: one reader and one writer.

Layout: DIR/data.yaml (`path`, `train`, `val`[, `test`], `names`), DIR/images/SPLIT/*.jpg and
DIR/labels/SPLIT/*.txt, one `class cx cy w h` line per object, normalised to [0, 1] by the
image's displayed (EXIF-applied) size. A split entry is a folder of images, a .txt file listing
image paths, or a list of those; an image's label file is its path with the last `images`
folder replaced by `labels` and the suffix by .txt (no label file: an image without objects).
A line of more than 5 numbers is a polygon (ultralytics' segment labels): its box is used.
YOLO has no `difficult`, `truncated` or `pose`. The writer makes `path` absolute (ultralytics
resolves a relative one against its own datasets folder); the reader takes the folder of the
data.yaml instead when that folder holds the images (the set was moved or copied).
"""
from __future__ import annotations

import logging
import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import yaml

from . import fsio
from .errors import InputError
from .imageio import image_size, is_image_file
from .voc import VocImage, VocObject, VocSet
from .yamlio import read_yaml_mapping

log = logging.getLogger(__name__)

SPLIT_KEYS = ("train", "val", "test")
EPS = 1e-3  # normalised coordinates this far outside [0, 1] are rounding, and clipped


def find_data_yaml(path: str | os.PathLike) -> Path | None:
    """The data.yaml of a YOLO set (`path` itself if it is a .yaml file), or None."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() in (".yaml", ".yml"):
        return path
    for name in ("data.yaml", "data.yml", "dataset.yaml"):
        if (path / name).is_file():
            return path / name
    return None


def is_yolo_data_yaml(path: str | os.PathLike) -> bool:
    """True for a YAML file that is a YOLO data.yaml (it has `names` and `train`), not a recipe."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(doc, dict) and "names" in doc and "train" in doc


def parse_names(raw: object, where: Path) -> list[str]:
    """data.yaml `names`: a list, or a mapping {0: name, 1: name, ...} with indices 0..n-1."""
    if isinstance(raw, list) and raw and all(isinstance(n, (str, int)) for n in raw):
        names = [str(n) for n in raw]
    elif isinstance(raw, dict) and raw:
        try:
            index = {int(k): str(v) for k, v in raw.items()}
        except (TypeError, ValueError):
            raise InputError(f"{where}: names: keys must be class indices 0, 1, ...") from None
        if sorted(index) != list(range(len(index))):
            raise InputError(f"{where}: names: indices must be 0..{len(index) - 1}, "
                             f"got {sorted(index)}")
        names = [index[i] for i in range(len(index))]
    else:
        raise InputError(f"{where}: names: expected a list of class names or {{0: name, ...}}")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"{where}: names: listed twice: {', '.join(dupes)}")
    return names


def yolo_config(path: str | os.PathLike) -> tuple[Path, dict, list[str]]:
    """(dataset root, data.yaml mapping, class names) of a YOLO set."""
    where = find_data_yaml(path)
    if where is None:
        raise InputError(f"{path}: not a YOLO set (no data.yaml)")
    cfg = read_yaml_mapping(where, "YOLO data.yaml")
    if "names" not in cfg:
        raise InputError(f"{where}: no 'names' (the class names)")
    names = parse_names(cfg["names"], where)
    root = Path(str(cfg.get("path") or "."))
    if not root.is_absolute():
        root = where.parent / root
    here = where.parent
    if not root.is_dir():
        root = here  # a set moved since its data.yaml was written
    elif (here / "images").is_dir() and not _same_dir(root, here):
        # A copied set: its data.yaml still names the original, whose files may have changed
        # since; the images beside the data.yaml are the ones meant.
        if (root / "images").is_dir():
            log.warning("%s: path: %s is another copy of this set; reading the files beside "
                        "the data.yaml (%s)", where, root, here)
        root = here
    return root, cfg, names


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def yolo_splits(path: str | os.PathLike) -> list[str]:
    """The split names data.yaml lists (train, val, test), in that order."""
    _, cfg, _ = yolo_config(path)
    return [k for k in SPLIT_KEYS if cfg.get(k)]


def split_images(root: Path, entry: object, where: Path) -> list[Path]:
    """The image files of one data.yaml split entry (folder, .txt list, or a list of them)."""
    entries = entry if isinstance(entry, list) else [entry]
    images: list[Path] = []
    for e in entries:
        p = Path(str(e))
        p = p if p.is_absolute() else root / p
        if p.is_dir():
            images += sorted(q for q in p.rglob("*") if is_image_file(q))
        elif p.is_file() and p.suffix == ".txt":
            for line in fsio.read_text(p, "image list").splitlines():
                if line.strip():
                    q = Path(line.strip())
                    images.append(q if q.is_absolute() else (p.parent / q))
        else:
            raise InputError(f"{where}: split folder or list {p} not found")
    return images


def label_path(image: Path) -> Path:
    """An image's label file: the last `images` folder of its path becomes `labels`."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def parse_label_line(line: str, where: str, n_classes: int) -> tuple[int, tuple[float, ...]]:
    """(class, (x0, y0, x1, y1) normalised) of one label line; a bad line names `where`."""
    parts = line.split()
    n = len(parts)
    if n != 5 and not (n >= 7 and n % 2 == 1):
        raise InputError(f"{where}: expected 'class cx cy w h' (5 numbers), got {n}")
    try:
        cls_f, *vals = (float(v) for v in parts)
    except ValueError:
        raise InputError(f"{where}: not a number in {line.strip()!r}") from None
    if not all(math.isfinite(v) for v in (cls_f, *vals)) or cls_f != int(cls_f):
        raise InputError(f"{where}: class and coordinates must be finite numbers, the class "
                         f"an integer: {line.strip()!r}")
    cls = int(cls_f)
    if not 0 <= cls < n_classes:
        raise InputError(f"{where}: class index {cls} out of range (data.yaml names "
                         f"{n_classes} classes, 0..{n_classes - 1})")
    if n == 5:
        cx, cy, w, h = vals
        box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    else:
        xs, ys = vals[0::2], vals[1::2]
        box = (min(xs), min(ys), max(xs), max(ys))
    if min(box) < -EPS or max(box) > 1 + EPS:
        raise InputError(f"{where}: box {line.strip()!r} is not normalised to [0, 1]")
    box = tuple(min(1.0, max(0.0, v)) for v in box)
    if box[2] <= box[0] or box[3] <= box[1]:
        raise InputError(f"{where}: zero-size box {line.strip()!r}")
    return cls, box


def read_labels_file(path: Path, names: Sequence[str], width: int,
                     height: int) -> list[VocObject]:
    """The objects of one label file, as VOC boxes (1-based inclusive) on a w x h image."""
    if not path.is_file():
        return []
    objects = []
    for k, line in enumerate(fsio.read_text(path, "YOLO label file").splitlines(), 1):
        if not line.strip():
            continue
        cls, (x0, y0, x1, y1) = parse_label_line(line, f"{path}:{k}", len(names))
        objects.append(VocObject(names[cls], (x0 * width + 1, y0 * height + 1, x1 * width,
                                              y1 * height)))
    return objects


def read_yolo_set(path: str | os.PathLike, split: str | None = None,
                  threads: int = 8) -> VocSet:
    """Read a YOLO set (its folder or data.yaml), or one split of it, as a VocSet."""
    root, cfg, names = yolo_config(path)
    where = find_data_yaml(path)
    wanted = [k for k in SPLIT_KEYS if cfg.get(k)] if split is None else [split]
    if split is not None and not cfg.get(split):
        raise InputError(f"{where}: no split {split!r}")
    files: dict[str, Path] = {}
    splits: dict[str, list[str]] = {}
    for name in wanted:
        stems = []
        for img in split_images(root, cfg[name], where):
            other = files.setdefault(img.stem, img)
            if other != img and not _same_file(other, img):
                raise InputError(f"{img}: two images share the name {img.stem!r} ({other})")
            stems.append(img.stem)
        splits[name] = list(dict.fromkeys(stems))
    with ThreadPoolExecutor(max(1, threads)) as pool:
        sizes = list(pool.map(image_size, files.values()))
    images = []
    for (stem, img), (w, h) in zip(files.items(), sizes):
        lab = label_path(img)
        images.append(VocImage(stem=stem, filename=img.name, width=w, height=h,
                               objects=read_labels_file(lab, names, w, h), path=str(img),
                               source=str(lab)))
    return VocSet(root=root, classes=names, images=images, splits=splits, layout="yolo")


def _same_file(a: Path, b: Path) -> bool:
    import filecmp

    return a.is_file() and b.is_file() and (os.path.samefile(a, b) or filecmp.cmp(a, b, False))


def label_lines(image: VocImage, classes: Sequence[str]) -> str:
    """The label file text of one image: `class cx cy w h` a line, normalised, clipped."""
    index = {c: k for k, c in enumerate(classes)}
    lines = []
    for o in image.objects:
        x0, y0, x1, y1 = o.bbox[0] - 1, o.bbox[1] - 1, o.bbox[2], o.bbox[3]
        x0, x1 = (min(max(v / image.width, 0.0), 1.0) for v in (x0, x1))
        y0, y1 = (min(max(v / image.height, 0.0), 1.0) for v in (y0, y1))
        lines.append(f"{index[o.name]} {(x0 + x1) / 2:.6f} {(y0 + y1) / 2:.6f} "
                     f"{x1 - x0:.6f} {y1 - y0:.6f}\n")
    return "".join(lines)


def write_yolo_set(out: str | os.PathLike, classes: Sequence[str],
                   splits: dict[str, list[tuple[VocImage, Path]]], copy: bool = False,
                   final_root: str | os.PathLike | None = None) -> None:
    """Write a YOLO set into `out`: per split, (image, its file) pairs; data.yaml's `path` is
    `final_root` (where `out` will be renamed to), else `out`, made absolute."""
    out = Path(out)
    for name, items in splits.items():
        (out / "images" / name).mkdir(parents=True, exist_ok=True)  # an empty split too
        for im, src in items:
            fsio.place_file(src, out / "images" / name / f"{im.stem}{Path(src).suffix}", copy)
            fsio.write_text(out / "labels" / name / f"{im.stem}.txt", label_lines(im, classes))
    cfg = {"path": str(Path(final_root or out).resolve())}
    for name in splits:
        cfg[name] = f"images/{name}"
    if "val" not in cfg and "train" in cfg:
        cfg["val"] = "images/train"  # ultralytics needs a val entry
    cfg["names"] = dict(enumerate(classes))
    fsio.write_text(out / "data.yaml", yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
