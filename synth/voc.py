"""The PASCAL VOC set: one reader and one writer for the whole project.

Layout: DIR/JPEGImages/*.jpg, DIR/Annotations/*.xml, DIR/ImageSets/Main/{split}.txt,
DIR/labels.txt. Boxes are VOC pixel coordinates: 1-based and inclusive, so a box
covering pixel columns 0..9 (0-based) is written xmin=1, xmax=10.
"""
from __future__ import annotations

import io
import math
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html import escape as html_escape
from pathlib import Path
from typing import Sequence

from . import fsio
from .errors import InputError
from .imageio import IMAGE_SUFFIXES



@dataclass
class VocObject:
    """One labelled object; `bbox` is (xmin, ymin, xmax, ymax) in 1-based inclusive pixels."""

    name: str
    bbox: tuple[float, float, float, float]
    pose: str = "Unspecified"
    truncated: bool = False
    difficult: bool = False


@dataclass
class VocImage:
    """One annotation file."""

    stem: str
    filename: str
    width: int
    height: int
    depth: int = 3
    objects: list[VocObject] = field(default_factory=list)
    path: str | None = None      # the image file, where it is not ROOT/JPEGImages/<filename>
    source: str | None = None    # the label file, where it is not ROOT/Annotations/<stem>.xml
    coco_id: int | None = None   # a COCO set's image id (what standard COCO results refer to)


@dataclass
class VocSet:
    """A VOC directory (or one split of it): its class names and its images in order."""

    root: Path
    classes: list[str]
    images: list[VocImage]
    splits: dict[str, list[str]] = field(default_factory=dict)  # split name -> image stems
    layout: str = "voc"  # voc | yolo | coco (see synth.layouts)
    category_ids: dict[int, str] = field(default_factory=dict)  # a COCO set's category ids

    def image_path(self, image: VocImage) -> Path:
        """Path of the image file an annotation refers to."""
        return find_image(self.root, image)


def _text(node: ET.Element, tag: str, path: Path, default: str | None = None) -> str:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        if default is not None:
            return default
        raise InputError(f"{path}: missing <{tag}>")
    return child.text.strip()


def _number(node: ET.Element, tag: str, path: Path) -> float:
    raw = _text(node, tag, path)
    try:
        return float(raw)
    except ValueError:
        raise InputError(f"{path}: <{tag}> is not a number: {raw!r}") from None


def _count(node: ET.Element, tag: str, path: Path, unit: str) -> int:
    raw = _text(node, tag, path)
    value = _number(node, tag, path)
    if not (math.isfinite(value) and value >= 0):
        raise InputError(f"{path}: <{tag}> must be a whole number of {unit}, got {raw!r}")
    return int(value)


def _flag(node: ET.Element, tag: str) -> bool:
    child = node.find(tag)
    if child is None or child.text is None:
        return False
    try:
        return bool(int(float(child.text.strip())))
    except (ValueError, OverflowError):  # not a number, NaN, infinite: not set
        return False


def _check_box(path: Path, name: str, bbox: tuple[float, ...], width: int, height: int) -> None:
    x0, y0, x1, y1 = bbox
    if not (x1 > x0 - 1 and y1 > y0 - 1) or x1 < x0 or y1 < y0:
        raise InputError(f"{path}: object {name!r} has an empty box {bbox}")
    if width > 0 and height > 0 and (x0 < 0 or y0 < 0 or x1 > width + 1 or y1 > height + 1):
        raise InputError(f"{path}: object {name!r} box {bbox} lies outside the "
                         f"{width}x{height} image")


def _annotation_from_tree(root: ET.Element, path: Path, check_boxes: bool) -> VocImage:
    if root.tag != "annotation":
        raise InputError(f"{path}: root element is <{root.tag}>, expected <annotation>")
    filename = _text(root, "filename", path, default=path.stem + ".jpg")
    size = root.find("size")
    if size is None:
        raise InputError(f"{path}: missing <size>")
    width, height = (_count(size, tag, path, "pixels") for tag in ("width", "height"))
    depth = _count(size, "depth", path, "channels") if _text(size, "depth", path, "") else 3
    objects = []
    for obj in root.iter("object"):
        name = _text(obj, "name", path)
        box = obj.find("bndbox")
        if box is None:
            raise InputError(f"{path}: object {name!r} has no <bndbox>")
        bbox = tuple(_number(box, t, path) for t in ("xmin", "ymin", "xmax", "ymax"))
        if check_boxes:
            _check_box(path, name, bbox, width, height)
        objects.append(VocObject(name=name, bbox=bbox,  # type: ignore[arg-type]
                                 pose=_text(obj, "pose", path, default="Unspecified"),
                                 truncated=_flag(obj, "truncated"),
                                 difficult=_flag(obj, "difficult")))
    return VocImage(stem=path.stem, filename=filename, width=width, height=height,
                    depth=depth, objects=objects)


# The fast path: an annotation in exactly the shape annotation_xml writes, with plain values
# (whitespace between tags free; no attributes, comments, entities or declaration), is read
# by one regular expression, several times faster than ElementTree, which reads every other
# file. Its texts hold no character XML forbids or rewrites (CR), names and poses no
# surrounding whitespace, numbers only digits, flags 0 or 1: so both give the same VocImage,
# or the same error.
_WS = r"[ \t\r\n]*"
_CHAR = r"<&\x00-\x08\x0b-\x1f\ufffe\uffff"   # never in a text: markup, banned, CR
_TEXT = f"([^{_CHAR}]*)"
_WORD = rf"([^{_CHAR}\s](?:[^{_CHAR}]*[^{_CHAR}\s])?)"
_NUMBER, _INT, _BIT = r"(-?[0-9]+(?:\.[0-9]+)?)", "([0-9]+)", "([01])"


def _leaf(tag: str, value: str) -> str:
    return f"<{tag}>{value}</{tag}>{_WS}"


def _object_pattern(capture: bool) -> str:
    def v(value: str) -> str:
        return value if capture else "(?:" + value[1:]
    return (f"<object>{_WS}{_leaf('name', v(_WORD))}{_leaf('pose', v(_WORD))}"
            f"{_leaf('truncated', v(_BIT))}{_leaf('difficult', v(_BIT))}<bndbox>{_WS}"
            + "".join(_leaf(t, v(_NUMBER)) for t in ("xmin", "ymin", "xmax", "ymax"))
            + f"</bndbox>{_WS}</object>{_WS}")


_CANONICAL = re.compile(
    f"{_WS}<annotation>{_WS}{_leaf('folder', _TEXT)}{_leaf('filename', _TEXT)}<size>{_WS}"
    f"{_leaf('width', _INT)}{_leaf('height', _INT)}{_leaf('depth', _INT)}</size>{_WS}"
    f"{_leaf('segmented', _TEXT)}((?:{_object_pattern(False)})*)</annotation>{_WS}")
_CANONICAL_OBJECT = re.compile(_object_pattern(True))


def _annotation_from_canonical(data: bytes, path: Path, check_boxes: bool) -> VocImage | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    m = _CANONICAL.fullmatch(text)
    if m is None or "]]>" in text:
        return None
    _, filename, width, height, depth, _, body = m.groups()
    filename = filename.strip() or path.stem + ".jpg"
    w, h = int(float(width)), int(float(height))
    objects = []
    for name, pose, truncated, difficult, x0, y0, x1, y1 in _CANONICAL_OBJECT.findall(body):
        bbox = (float(x0), float(y0), float(x1), float(y1))
        if check_boxes:
            _check_box(path, name, bbox, w, h)
        objects.append(VocObject(name, bbox, pose, truncated == "1", difficult == "1"))
    return VocImage(stem=path.stem, filename=filename, width=w, height=h,
                    depth=int(float(depth)), objects=objects)


def parse_annotation(data: bytes, path: str | os.PathLike, check_boxes: bool = True,
                     fast: bool = True) -> VocImage:
    """Parse the bytes of VOC XML file `path`; a broken file raises InputError naming it.

    `fast` reads annotation_xml's own shape with a regular expression (giving what
    ElementTree, which reads everything else, gives)."""
    path = path if isinstance(path, Path) else Path(path)
    image = _annotation_from_canonical(data, path, check_boxes) if fast else None
    if image is not None:
        return image
    try:
        root = ET.parse(io.BytesIO(data)).getroot()
    except ET.ParseError as exc:
        raise InputError(f"{path}: XML does not parse ({exc})") from None
    return _annotation_from_tree(root, path, check_boxes)


def read_annotation(path: str | os.PathLike, check_boxes: bool = True) -> VocImage:
    """Parse one VOC XML file; a broken file raises InputError naming it."""
    path = path if isinstance(path, Path) else Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such annotation file") from None
    return parse_annotation(data, path, check_boxes)


def escape(text: str) -> str:
    """`text` with &, < and > escaped for XML (xml.sax.saxutils.escape, whose import pulls in
    urllib and http: a twentieth of `pipeline evaluate`'s start-up)."""
    return html_escape(text, quote=False)


def annotation_xml(image: VocImage, folder: str = "synth") -> str:
    """Render a VocImage as VOC XML text (integer pixel coordinates)."""
    lines = ["<annotation>", f"  <folder>{escape(folder)}</folder>",
             f"  <filename>{escape(image.filename)}</filename>",
             "  <size>", f"    <width>{image.width}</width>", f"    <height>{image.height}</height>",
             f"    <depth>{image.depth}</depth>", "  </size>", "  <segmented>0</segmented>"]
    for o in image.objects:
        x0, y0, x1, y1 = (int(round(v)) for v in o.bbox)
        lines += ["  <object>", f"    <name>{escape(o.name)}</name>",
                  f"    <pose>{escape(o.pose)}</pose>",
                  f"    <truncated>{int(o.truncated)}</truncated>",
                  f"    <difficult>{int(o.difficult)}</difficult>",
                  "    <bndbox>", f"      <xmin>{x0}</xmin>", f"      <ymin>{y0}</ymin>",
                  f"      <xmax>{x1}</xmax>", f"      <ymax>{y1}</ymax>", "    </bndbox>",
                  "  </object>"]
    lines.append("</annotation>")
    return "\n".join(lines) + "\n"


def write_annotation(path: str | os.PathLike, image: VocImage) -> None:
    """Write one annotation file atomically."""
    fsio.write_text(path, annotation_xml(image))


def merge_classes(lists: Sequence[Sequence[str]]) -> list[str]:
    """Union of class lists by name, in first-seen order."""
    merged: dict[str, None] = {}
    for names in lists:
        merged.update(dict.fromkeys(names))
    return list(merged)


def read_labels(root: str | os.PathLike) -> list[str] | None:
    """Class names from DIR/labels.txt, or None if there is none."""
    path = Path(root) / "labels.txt"
    if not path.is_file():
        return None
    names = [ln.strip() for ln in fsio.read_text(path, "class list").splitlines()]
    return [n for n in names if n and not n.startswith("#")]


def write_labels(root: str | os.PathLike, classes: list[str]) -> None:
    """Write DIR/labels.txt, one class name a line."""
    fsio.write_text(Path(root) / "labels.txt", "".join(f"{c}\n" for c in classes))


def read_split(root: str | os.PathLike, split: str) -> list[str]:
    """Image stems listed in DIR/ImageSets/Main/{split}.txt."""
    path = Path(root) / "ImageSets" / "Main" / f"{split}.txt"
    if not path.is_file():
        raise InputError(f"{path}: split file not found")
    # PASCAL's per-class files hold "stem  1"; the plain split files hold "stem".
    return [ln.split()[0] for ln in fsio.read_text(path, "split file").splitlines()
            if ln.strip()]


def write_splits(root: str | os.PathLike, splits: dict[str, list[str]]) -> None:
    """Write DIR/ImageSets/Main/{split}.txt for each split."""
    main = Path(root) / "ImageSets" / "Main"
    for name, stems in splits.items():
        fsio.write_text(main / f"{name}.txt", "".join(f"{s}\n" for s in stems))


def available_splits(root: str | os.PathLike) -> list[str]:
    """Names of the plain split files (train, val, test, trainval, ...) present."""
    main = Path(root) / "ImageSets" / "Main"
    if not main.is_dir():
        return []
    return sorted(p.stem for p in main.glob("*.txt") if "_" not in p.stem)


def find_image(root: str | os.PathLike, image: VocImage) -> Path:
    """Locate the image file of an annotation (its <filename>, else stem + a known suffix)."""
    if image.path is not None:
        if not Path(image.path).is_file():
            raise InputError(f"{image.path}: image file missing for {image.source or image.stem}")
        return Path(image.path)
    folder = Path(root) / "JPEGImages"
    direct = folder / image.filename
    if direct.is_file():
        return direct
    for suffix in IMAGE_SUFFIXES:
        for case in (suffix, suffix.upper()):
            candidate = folder / (image.stem + case)
            if candidate.is_file():
                return candidate
    raise InputError(f"{direct}: image file missing for annotation {image.stem}.xml")


def read_voc_set(root: str | os.PathLike, split: str | None = None,
                 check_images: bool = False) -> VocSet:
    """Read a VOC directory, or one split of it; classes come from labels.txt or the objects."""
    root = Path(root)
    ann_dir = root / "Annotations"
    if not ann_dir.is_dir():
        raise InputError(f"{root}: not a VOC directory (no Annotations/ folder)")
    if split is None:  # what sorted(ann_dir.glob("*.xml")) gives, without pathlib's cost
        paths = [ann_dir / name for name in sorted(e.name for e in os.scandir(ann_dir)
                                                   if e.name.endswith(".xml"))]
    else:
        paths = [ann_dir / f"{s}.xml" for s in read_split(root, split)]
    images = [read_annotation(p) for p in paths]
    if check_images:
        for im in images:
            find_image(root, im)
    classes = read_labels(root)
    if classes is None:
        classes = sorted({o.name for im in images for o in im.objects})
    else:
        known = set(classes)
        for im in images:
            for o in im.objects:
                if o.name not in known:
                    raise InputError(f"{ann_dir / (im.stem + '.xml')}: class {o.name!r} is not in "
                                     f"{root / 'labels.txt'} ({', '.join(classes)})")
    splits = {name: read_split(root, name) for name in available_splits(root)}
    return VocSet(root=root, classes=classes, images=images, splits=splits)
