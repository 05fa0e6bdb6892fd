"""What the tests share (test modules import from here, never from each other): the one VOC-set
builder and the sets made with it, a tiny subject pack, colour oracles, metric fixtures, a
detector checkpoint, and the CLI helpers."""
from __future__ import annotations

import json
from html.parser import HTMLParser
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np
from click.testing import CliRunner

from detector.evaluation.detections import Detections
from detector.evaluation.metrics import GroundTruth
from pipeline import main
from synth.imageio import encode_jpeg, encode_png
from synth.voc import VocImage, VocObject, write_annotation, write_labels, write_splits

ROOT = Path(__file__).resolve().parents[1]

# ----------------------------------------------------------------------------- VOC sets
ImageSpec = tuple  # (stem, RGB array or encoded bytes, objects[, (w, h) of <size>])


def write_voc_set(root: Path, images: Iterable[ImageSpec], classes: Sequence[str] | None = None,
                  splits: dict[str, list[str]] | None = None, suffix: str = ".jpg") -> Path:
    """Write a VOC set: one (stem, image, objects[, (w, h)]) per image.

    `image` is an RGB uint8 array (encoded as `suffix`: .jpg or .png) or the file's bytes;
    `(w, h)` is what the annotation's <size> says (default: the array's size). `classes` is
    written to labels.txt and `splits` to ImageSets/Main/SPLIT.txt.
    """
    (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
    for stem, image, objects, *size in images:
        if isinstance(image, np.ndarray):
            h, w = image.shape[:2]
            data = encode_png(image) if suffix == ".png" else encode_jpeg(image)
        else:
            data, (w, h) = image, size[0]
        w, h = size[0] if size else (w, h)
        (root / "JPEGImages" / f"{stem}{suffix}").write_bytes(data)
        write_annotation(root / "Annotations" / f"{stem}.xml",
                         VocImage(stem, f"{stem}{suffix}", w, h, 3, list(objects)))
    if classes is not None:
        write_labels(root, list(classes))
    if splits:
        write_splits(root, splits)
    return root


def box(name: str, x: int, y: int, w: int, h: int, **flags) -> VocObject:
    """A w x h pixel box whose top-left pixel is (x, y), 0-based, as a VOC object."""
    return VocObject(name, (x + 1, y + 1, x + w, y + h), **flags)


def write_voc(root: Path, images: dict[str, tuple[int, int, list[VocObject]]],
              classes: list[str] | None = None, splits: dict[str, list[str]] | None = None,
              color: tuple[int, int, int] = (128, 128, 128)) -> Path:
    """A VOC set of flat-coloured JPEGs: stem -> (width, height, objects)."""
    return write_voc_set(root, [(stem, np.full((h, w, 3), color, np.uint8), objects)
                                for stem, (w, h, objects) in images.items()], classes, splits)


SHAPES = ["shoe", "sock", "cable"]
SHAPE_COLOURS = {"shoe": (200, 60, 40), "sock": (40, 160, 60), "cable": (30, 30, 30)}


def make_voc_set(root: Path, n_images: int = 8, seed: int = 0) -> Path:
    """A small VOC set of coloured rectangles (classes SHAPES) and a detections file beside
    it (returned): good detections, sometimes sloppy or mislabelled ones, and background."""
    rng = np.random.default_rng(seed)
    dets, images = [], []
    for i in range(n_images):
        w, h = 160, 120
        img = np.full((h, w, 3), 220, np.uint8)
        objects = []
        for j in range(int(rng.integers(1, 4))):
            name = SHAPES[int(rng.integers(0, len(SHAPES)))]
            bw, bh = int(rng.integers(12, 60)), int(rng.integers(12, 50))
            x0, y0 = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
            img[y0:y0 + bh, x0:x0 + bw] = SHAPE_COLOURS[name]
            objects.append(VocObject(name, (x0 + 1, y0 + 1, x0 + bw, y0 + bh),
                                     difficult=bool(j == 2)))
            jitter = rng.normal(0, 2 if rng.random() < 0.7 else 12, 4)
            bbox = [max(0.0, x0 + jitter[0]), max(0.0, y0 + jitter[1]),
                    max(1.0, bw + jitter[2]), max(1.0, bh + jitter[3])]
            label = name if rng.random() < 0.8 else SHAPES[int(rng.integers(0, 3))]
            dets.append({"image_id": f"im{i:03d}", "category": label, "bbox": bbox,
                         "score": float(rng.uniform(0.3, 1.0))})
        for _ in range(3):
            dets.append({"image_id": f"im{i:03d}", "category": SHAPES[int(rng.integers(0, 3))],
                         "bbox": [float(rng.uniform(0, 100)), float(rng.uniform(0, 80)),
                                  20.0, 15.0], "score": float(rng.uniform(0.001, 0.5))})
        images.append((f"im{i:03d}", img, objects))
    write_voc_set(root, images, SHAPES)
    path = root.parent / f"{root.name}_detections.json"
    path.write_text(json.dumps(dets))
    return path


def red_box_image(w: int, h: int, box_xyxy: tuple[int, int, int, int]) -> np.ndarray:
    """A grey image with one bright red rectangle [x1, x2) x [y1, y2)."""
    img = np.full((h, w, 3), 90, np.uint8)
    x1, y1, x2, y2 = box_xyxy
    img[y1:y2, x1:x2] = (255, 0, 0)
    return img


def bright_box_set(root: Path, ann_scale: int = 1) -> Path:
    """Two PNGs of different shapes, one red 'sock' each (classes SHAPES); <size> and boxes
    scaled by `ann_scale` (an annotation made on a larger copy)."""
    images = []
    for stem, (w, h, b) in {"a": (200, 120, (30, 50, 110, 90)),
                            "b": (90, 160, (10, 100, 40, 150))}.items():
        x1, y1, x2, y2 = (v * ann_scale for v in b)
        images.append((stem, red_box_image(w, h, b), [VocObject("sock", (x1 + 1, y1 + 1, x2, y2))],
                       (w * ann_scale, h * ann_scale)))
    return write_voc_set(root, images, SHAPES, suffix=".png")


# ----------------------------------------------------------------------------- a subject pack
# Saturated, far-apart hues so a test can find each subject's pixels by colour.
PALETTE = {"box": [(230, 20, 20), (20, 200, 20)], "pole": [(20, 20, 230), (230, 230, 20)],
           "leaf": [(230, 20, 230)]}

CATALOG = """\
classes:
  box:  {size_m: [0.20, 0.30], pose: flat, yaw_deg: [-180, 180], roll_deg: [0, 0]}
  pole: {size_m: [0.30, 0.50], pose: upright, yaw_deg: [-20, 20], roll_deg: [-3, 3]}
  leaf: {size_m: [0.05, 0.10], pose: flat, yaw_deg: [-180, 180], roll_deg: [0, 0], distractor: true}
"""


def make_pack(root: Path, floor_value: int | None = None) -> dict[str, Path]:
    """Write solid-colour cut-outs (PNG class folders), a floor, a backdrop and a catalog."""
    subjects = root / "subjects"
    for cls, colours in PALETTE.items():
        (subjects / cls).mkdir(parents=True, exist_ok=True)
        for i, rgb in enumerate(colours):
            h, w = (60, 80) if cls != "pole" else (100, 30)
            a = np.zeros((h, w, 4), np.uint8)
            a[..., :3] = rgb
            a[..., 3] = 255
            (subjects / cls / f"{cls}{i}.png").write_bytes(encode_png(a))
    bg = root / "backgrounds"
    (bg / "floors").mkdir(parents=True, exist_ok=True)
    (bg / "backdrops").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    if floor_value is None:
        floor = (rng.random((256, 256, 3)) * 40 + 110).astype(np.uint8)
        floor[::32] = 60
    else:
        floor = np.full((256, 256, 3), floor_value, np.uint8)
    (bg / "floors" / "floor.png").write_bytes(encode_png(floor))
    wall = np.full((180, 320, 3), 200, np.uint8)
    wall[150:] = 90
    (bg / "backdrops" / "wall.jpg").write_bytes(encode_jpeg(wall))
    catalog = root / "classes.yaml"
    catalog.write_text(CATALOG)
    return {"assets": subjects, "backgrounds": bg, "classes": catalog}


# ----------------------------------------------------------------------------- colour oracles
def segment(rgb: np.ndarray, share: float = 1.0) -> dict[tuple, np.ndarray]:
    """Each pixel goes to the nearest chromaticity among the palette and the grey floor.

    A palette colour is represented by its mix `share` : 1 - share with the grey floor: 1.0
    keeps pixels mostly covered by the subject, 0.4 also those a good part covered.
    """
    x = rgb.astype(np.float32)
    chroma = x / np.maximum(x.sum(axis=2, keepdims=True), 1)
    colours = [c for cs in PALETTE.values() for c in cs]
    mixes = [share * np.array(c, np.float32) + (1 - share) * 128.0 for c in colours]
    refs = np.array([m / m.sum() for m in mixes] + [np.full(3, 1 / 3)])
    nearest = np.argmin(np.linalg.norm(chroma[:, :, None, :] - refs, axis=3), axis=2)
    masks = {c: nearest == i for i, c in enumerate(colours)}
    # Where two subjects of other colours meet, their blend can look like a third colour
    # (red + green edge pixels read as yellow): drop pixels with two other colours around.
    near = {c: cv2.dilate(m.astype(np.uint8), np.ones((3, 3), np.uint8)) for c, m in masks.items()}
    total = sum(near.values())
    return {c: m & ((total - near[c]) < 2) for c, m in masks.items()}


def box_of(mask: np.ndarray) -> tuple[int, int, int, int]:
    """VOC box (1-based inclusive) of a mask's pixels."""
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    return cols[0] + 1, rows[0] + 1, cols[-1] + 1, rows[-1] + 1


def check_boxes_by_colour(lib, comps) -> tuple[int, int]:
    """Check every labelled box of composites of solid-colour subjects (grey floor) against
    the subject's pixels found by colour; return (objects checked, of which within 1 px).

    The box of alpha >= 0.5 must lie between the box of the pixels mostly covered and that
    of the pixels a good part covered (two pixels of slack each way: at the thin tip of a
    slanted edge a saturated colour over a dark floor reads as "mostly" at alpha 0.4);
    most boxes agree with the first oracle to a pixel.
    """
    colour_of = {s.name: tuple(int(v) for v in s.rgba[0, 0, :3]) for s in lib.subjects}
    checked = tight = 0
    for comp in comps:
        H, W = comp.rgb.shape[:2]
        inner, outer = segment(comp.rgb), segment(comp.rgb, 0.4)
        names = [p.name for p in comp.objects]
        for p in comp.objects:
            if p.bbox is not None:
                x0, y0, x1, y1 = p.bbox
                assert 1 <= x0 <= x1 <= W and 1 <= y0 <= y1 <= H
            if not p.labelled or names.count(p.name) > 1:
                continue  # the same cut-out twice cannot be told apart by colour
            mask = inner[colour_of[p.name]]
            assert mask.any()
            b = np.array(p.bbox)
            lo = np.array(box_of(mask))
            hi = np.array(box_of(outer[colour_of[p.name]]))
            assert np.all(b[:2] <= lo[:2] + 2) and np.all(b[2:] >= lo[2:] - 2), (b, lo)
            assert np.all(b[:2] >= hi[:2] - 2) and np.all(b[2:] <= hi[2:] + 2), (b, hi)
            tight += int(np.abs(b - lo).max() <= 1)
            checked += 1
    return checked, tight


# ----------------------------------------------------------------------------- metric fixtures
def make_gt(rows: list[tuple], classes: list[str], n_images: int = 1) -> GroundTruth:
    """A GroundTruth from (image, class, [x, y, w, h], difficult) rows."""
    return GroundTruth(np.array([r[0] for r in rows], np.int64),
                       np.array([r[1] for r in rows], np.int64),
                       np.array([r[2] for r in rows], float).reshape(-1, 4),
                       np.array([r[3] for r in rows], bool), classes, n_images)


def make_dets(rows: list[tuple]) -> Detections:
    """Detections from (image, class, [x, y, w, h], score) rows."""
    return Detections(np.array([r[0] for r in rows], np.int64),
                      np.array([r[1] for r in rows], np.int64),
                      np.array([r[2] for r in rows], float).reshape(-1, 4),
                      np.array([r[3] for r in rows], float))


# ----------------------------------------------------------------------------- a checkpoint
IMG_SIZE = 128  # small input: tests with a checkpoint are about plumbing, not accuracy


def make_checkpoint(path: Path, classes=SHAPES, fire: int | None = None, img_size: int = IMG_SIZE,
                    lively: bool = False) -> Path:
    """A yolov3-tiny checkpoint (untrained). `fire=k`: head weights zeroed and biases set so
    every cell reports its anchor box with objectness and class-k probability ~1.
    `lively`: He-initialised convs, so activations survive to the head and scores spread out
    (PyTorch's default init shrinks them layer by layer: every score sits at the head's prior).

    torch is imported here, not at the top: most tests that use these helpers run without it.
    """
    import torch

    from detector import build_model
    from detector.model.checkpoint import model_meta, save_checkpoint

    torch.manual_seed(0)
    model = build_model("yolov3-tiny", len(classes))
    if lively:
        with torch.no_grad():
            for i, layer in enumerate(model.layers):
                if hasattr(layer, "conv") and i not in model.head_conv_indices:
                    torch.nn.init.kaiming_normal_(layer.conv.weight, a=0.1,
                                                  nonlinearity="leaky_relu")
    if fire is not None:
        with torch.no_grad():
            for idx, head in zip(model.head_conv_indices, model.heads):
                conv = model.layers[idx].conv
                conv.weight.zero_()
                bias = conv.bias.view(len(head.anchors), 5 + len(classes))
                bias[:, :4] = 0.0
                bias[:, 4:] = -8.0
                bias[:, 4] = 8.0
                bias[:, 5 + fire] = 8.0
    save_checkpoint(path, {"model": model.state_dict(), **model_meta(model, classes, img_size)})
    return path


# ----------------------------------------------------------------------------- the CLIs
def run_pipeline(*args):
    """`pipeline ARGS...` through click's test runner."""
    return CliRunner().invoke(main, [str(a) for a in args])


def run_synth(*args):
    """`synth ARGS...` through click's test runner."""
    from synth.cli import main as synth_main

    return CliRunner().invoke(synth_main, [str(a) for a in args])


def one_error_line(r) -> str:
    """The single `error: ...` line of a command that failed on bad input (exit code 2)."""
    lines = r.stderr.strip().splitlines()
    assert r.exit_code == 2, (r.exit_code, r.output, r.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


def pipeline_imports_torch(argv: list[str]) -> bool:
    """Run `pipeline ARGV...` in a fresh interpreter; True if torch got imported on the way."""
    return pipeline_imports(argv, "torch")


def pipeline_imports(argv: list[str], module: str) -> bool:
    """Run `pipeline ARGV...` in a fresh interpreter; True if `module` got imported on the way."""
    code = ("import sys\nfrom pipeline import main\n"
            f"sys.argv = {['pipeline', *argv]!r}\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            f"print({module!r} in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1] == "True"


# ------------------------------------------------------------------ building PSD subjects

def solid_rgba(h: int, w: int, rgb=(200, 60, 20), alpha: int = 255) -> np.ndarray:
    """An h x w RGBA block of one colour."""
    a = np.empty((h, w, 4), np.uint8)
    a[..., :3] = rgb
    a[..., 3] = alpha
    return a


def add_layer(parent, name: str, rgba: np.ndarray, top: int = 0, left: int = 0):
    """A psd-tools pixel layer named NAME under PARENT."""
    from PIL import Image
    from psd_tools.api.layers import PixelLayer
    return PixelLayer.frompil(Image.fromarray(rgba), parent, name=name, top=top, left=left)


def new_psd(size=(64, 48), mode="RGBA", depth=8):
    """An empty psd-tools document."""
    from psd_tools import PSDImage
    return PSDImage.new(mode, size, depth=depth)


def load_one(path: Path, catalog, cache_dir) -> dict:
    """The subjects of one asset path by name."""
    from synth.assets import load_subjects
    return {s.name: s for s in load_subjects([path], catalog, cache_dir=cache_dir)}


class HtmlCollector(HTMLParser):
    """Collects an HTML page's tags, element ids, <img> sources and text."""

    def __init__(self):
        super().__init__()
        self.images, self.tags, self.ids, self.text = [], [], set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(a.get("src", ""))
        if "id" in a:
            self.ids.add(a["id"])

    def handle_data(self, data):
        self.text.append(data)
