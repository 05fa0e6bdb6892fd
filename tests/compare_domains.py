"""The two small VOC domains of the compare-real tests, drawn with cv2 (textured rectangles on
textured floors, so crops have real pixel statistics), with detections files that find exactly
the objects we say. Planted: real fans tall (synthetic ones wide), real shoes tiny, real bowls at
the bottom of the frame, real rags dark — each missed on real images; socks alike and found.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from synth.imageio import encode_jpeg
from synth.voc import VocObject
from tests.helpers import write_voc_set

CLASSES = ["fan", "sock", "shoe", "bowl", "rag"]
W, H = 320, 240


def object_spec(cls: str, domain: str, rng: np.random.Generator, planted: bool):
    """(w, h, y_center, grey level, found) of one object."""
    w, h = rng.integers(30, 50, 2)
    yc = rng.uniform(0.25, 0.7)
    level = rng.uniform(110, 200)
    found = True
    if cls == "fan":
        w, h = rng.integers(70, 95), rng.integers(35, 50)            # wide
        if domain == "real" and planted:
            w, h = h, w                                              # tall, missed
            found = False
    elif domain == "real" and planted and cls == "shoe":
        w, h = rng.integers(7, 12, 2)                                # tiny, missed
        found = False
    elif domain == "real" and planted and cls == "bowl":
        yc = rng.uniform(0.82, 0.9)                                  # bottom, missed
        found = False
    elif domain == "real" and planted and cls == "rag":
        level = rng.uniform(25, 45)                                  # dark, missed
        found = False
    return int(w), int(h), yc, level, found


def make_domain(root: Path, domain: str, n_images: int = 36, seed: int = 0,
                planted_share: float = 0.8, floor: tuple[int, int, int] = (130, 130, 130),
                manifest: bool = False) -> Path:
    """A VOC set of one domain and its detections file (returned); optional manifest."""
    rng = np.random.default_rng(seed)
    dets, records, images = [], [], []
    for i in range(n_images):
        stem = f"{domain}{i:03d}"
        img = np.clip(np.array(floor)[None, None] + rng.normal(0, 14, (H, W, 1)), 0, 255)
        img = cv2.GaussianBlur(img.astype(np.uint8), (3, 3), 0)
        objects, manifest_objects = [], []
        # Each image holds one object of each of two or three classes, side by side.
        names = [CLASSES[(i + j) % len(CLASSES)] for j in range(3 if i % 2 else 2)]
        for j, cls in enumerate(names):
            w, h, yc, level, found = object_spec(cls, domain, rng, rng.random() < planted_share)
            slot = W // len(names)
            x0 = int(j * slot + rng.integers(0, max(1, slot - w)))
            x0 = min(x0, W - w)
            y0 = int(np.clip(yc * H - h / 2, 0, H - h))
            colour = np.array([level, level * 0.9, level * 0.8])
            patch = colour[None, None] + rng.normal(0, 10, (h, w, 1))
            img[y0:y0 + h, x0:x0 + w] = np.clip(patch, 0, 255).astype(np.uint8)
            objects.append(VocObject(cls, (x0 + 1, y0 + 1, x0 + w, y0 + h)))
            manifest_objects.append({"class": cls, "subject": f"{cls}.psd:{cls}/a",
                                     "pose": "flat", "distance_m": 0.8, "yaw_deg": 10.0,
                                     "roll_deg": 0.0, "size_m": 0.3,
                                     "bbox": [x0 + 1, y0 + 1, x0 + w, y0 + h], "visible": 1.0,
                                     "truncated": False, "blend": "alpha", "labelled": True})
            if found:
                jit = rng.normal(0, 1.0, 4)
                dets.append({"image_id": stem, "category": cls,
                             "bbox": [max(0.0, x0 + jit[0]), max(0.0, y0 + jit[1]),
                                      w + jit[2], h + jit[3]],
                             "score": float(rng.uniform(0.6, 0.95))})
        # A low-score false alarm per image keeps the PR curves honest.
        dets.append({"image_id": stem, "category": CLASSES[i % len(CLASSES)],
                     "bbox": [5.0, 5.0, 20.0, 20.0], "score": float(rng.uniform(0.01, 0.2))})
        images.append((stem, encode_jpeg(img, 92), objects, (W, H)))
        records.append({"image": stem, "seed": i, "view": "topdown",
                        "camera": {"height_m": 0.8, "pitch_deg": 88.0, "fov_deg": 65.0},
                        "background": "floors/grey.jpg", "split": "train",
                        "objects": manifest_objects})
    write_voc_set(root, images, CLASSES)
    if manifest:
        (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    path = root.parent / f"{root.name}_detections.json"
    path.write_text(json.dumps(dets))
    return path


def make_sets(base: Path) -> tuple[Path, Path, Path, Path]:
    """(synthetic dir, its detections, real dir, its detections): the planted pair of domains."""
    syn_dets = make_domain(base / "syn", "synthetic", seed=1, manifest=True)
    real_dets = make_domain(base / "real", "real", seed=2, floor=(150, 120, 90))
    return base / "syn", syn_dets, base / "real", real_dets
