"""Training augmentation: mosaic, mixup, random affine, colour and flip, box-aware.

Boxes are float [N, 4] continuous 0-based pixels (x1, y1, x2, y2) of the image they come
with; each box travels with a row index so callers can carry class and ignore flags.
Affine, colour and flip are albumentations (pascal_voc boxes: pixel corners, which is
exactly the continuous convention); mosaic and mixup are here. Every random choice is
drawn from the numpy Generator passed in, so one seed fixes one sample.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import albumentations as A
import cv2
import numpy as np

FILL = 114  # grey of letterbox padding and of areas uncovered by the affine


@dataclass
class AugmentConfig:
    """Augmentation strengths; `augment=None` elsewhere means letterbox only."""

    mosaic: float = 1.0          # probability of a 4-image mosaic
    mixup: float = 0.0           # probability of blending with a second sample
    close_at: int | None = None  # first epoch (0-based) with mosaic and mixup switched off
    scale: tuple[float, float] = (0.5, 1.5)  # affine zoom range
    translate: float = 0.1       # affine shift, fraction of the image side
    degrees: float = 3.0         # affine rotation range +/-
    shear: float = 2.0           # affine shear range +/- (degrees)
    hue: int = 5                 # HSV shifts +/- (OpenCV units: hue 0..180, others 0..255)
    saturation: int = 40
    value: int = 30
    brightness: float = 0.2      # brightness/contrast +/- (fraction)
    contrast: float = 0.2
    flip: float = 0.5            # horizontal flip probability
    min_visibility: float = 0.1  # drop a box keeping less than this fraction of its area
    min_size: float = 2.0        # drop a box narrower or lower than this (pixels)

    def mosaic_on(self, epoch: int) -> bool:
        """Whether mosaic/mixup may run in `epoch` (they stop from `close_at`)."""
        return self.close_at is None or epoch < self.close_at


def augment_config(name: str, **overrides) -> AugmentConfig | None:
    """`default` gives AugmentConfig(**overrides); `none` gives None (letterbox only)."""
    if name == "none":
        return None
    if name != "default":
        raise ValueError(f"augment must be 'default' or 'none', got {name!r}")
    return AugmentConfig(**overrides)


def _bbox_params(cfg: AugmentConfig) -> A.BboxParams:
    return A.BboxParams(format="pascal_voc", label_fields=["rows"], clip=True,
                        filter_invalid_bboxes=True, min_visibility=cfg.min_visibility,
                        min_width=cfg.min_size, min_height=cfg.min_size)


class Augmenter:
    """The albumentations stages: `geometric` (random affine) and `photometric` (colour, flip)."""

    def __init__(self, cfg: AugmentConfig):
        self.cfg = cfg
        affine = A.Affine(scale=cfg.scale, translate_percent=(-cfg.translate, cfg.translate),
                          rotate=(-cfg.degrees, cfg.degrees), shear=(-cfg.shear, cfg.shear),
                          keep_ratio=True, interpolation=cv2.INTER_LINEAR,
                          border_mode=cv2.BORDER_CONSTANT, fill=FILL, p=1.0)
        self.geometric = A.Compose([affine], bbox_params=_bbox_params(cfg))
        colour = []
        if cfg.hue or cfg.saturation or cfg.value:
            colour.append(A.HueSaturationValue(cfg.hue, cfg.saturation, cfg.value, p=1.0))
        if cfg.brightness or cfg.contrast:
            colour.append(A.RandomBrightnessContrast(cfg.brightness, cfg.contrast, p=1.0))
        self.photometric = A.Compose(colour + [A.HorizontalFlip(p=cfg.flip)],
                                     bbox_params=_bbox_params(cfg))

    @staticmethod
    def _run(compose: A.Compose, img: np.ndarray, boxes: np.ndarray, rows: np.ndarray,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        seed = int(rng.integers(2**63))
        # One generator shared by the stage's transforms (set_random_seed would give each
        # transform the same stream and correlate their draws).
        compose.set_random_state(np.random.default_rng(seed), random.Random(seed))
        out = compose(image=img, bboxes=boxes.reshape(-1, 4), rows=rows)
        return (out["image"], np.asarray(out["bboxes"], np.float32).reshape(-1, 4),
                np.asarray(out["rows"], np.int64).reshape(-1))

    def affine(self, img, boxes, rows, rng):
        """Random zoom, shift, rotation and shear; boxes follow (corners' enclosing box)."""
        return self._run(self.geometric, img, boxes, rows, rng)

    def colour_flip(self, img, boxes, rows, rng):
        """Random HSV, brightness/contrast and horizontal flip."""
        return self._run(self.photometric, img, boxes, rows, rng)


def resize_long_side(img: np.ndarray, boxes: np.ndarray, side: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Resize so the longer side is `side` pixels; boxes scale with the exact per-axis factors."""
    h, w = img.shape[:2]
    s = side / max(h, w)
    rw, rh = max(1, int(round(w * s))), max(1, int(round(h * s)))
    if (rw, rh) != (w, h):
        interp = cv2.INTER_AREA if s < 0.5 else cv2.INTER_LINEAR
        img = cv2.resize(img, (rw, rh), interpolation=interp)
    boxes = boxes * np.array([rw / w, rh / h, rw / w, rh / h], np.float32)
    return img, boxes


def keep_boxes(before: np.ndarray, after: np.ndarray, min_visibility: float, min_size: float
               ) -> np.ndarray:
    """Mask of clipped boxes `after` that keep enough of `before`'s area and size."""
    wa, ha = after[:, 2] - after[:, 0], after[:, 3] - after[:, 1]
    area_b = (before[:, 2] - before[:, 0]) * (before[:, 3] - before[:, 1])
    return (wa >= min_size) & (ha >= min_size) & (wa * ha >= min_visibility * area_b)


def mosaic(tiles: list[tuple[np.ndarray, np.ndarray]], size: int, center: tuple[int, int],
           min_visibility: float = 0.1, min_size: float = 2.0
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Four (image, boxes) tiles meeting at `center` of a size x size canvas.

    Each image is resized to a longer side of `size` (the object scale of a plain letterbox)
    and placed in its quadrant touching the centre: top-left, top-right, bottom-left,
    bottom-right. Returns (canvas, boxes, tile_rows) where tile_rows[i] = (tile, row) says
    which input box each output box is; boxes are clipped to their tile's visible part and
    dropped below `min_visibility` of their area or `min_size` pixels.
    """
    xc, yc = center
    channels = tiles[0][0].shape[2]
    canvas = np.full((size, size, channels), FILL, np.uint8)
    out_boxes, out_rows = [], []
    for k, (img, boxes) in enumerate(tiles):
        img, boxes = resize_long_side(img, boxes, size)
        h, w = img.shape[:2]
        # Canvas region (x0, y0, x1, y1) and the matching region of the image.
        if k == 0:
            cx0, cy0, cx1, cy1 = max(xc - w, 0), max(yc - h, 0), xc, yc
            ix0, iy0 = w - (cx1 - cx0), h - (cy1 - cy0)
        elif k == 1:
            cx0, cy0, cx1, cy1 = xc, max(yc - h, 0), min(xc + w, size), yc
            ix0, iy0 = 0, h - (cy1 - cy0)
        elif k == 2:
            cx0, cy0, cx1, cy1 = max(xc - w, 0), yc, xc, min(yc + h, size)
            ix0, iy0 = w - (cx1 - cx0), 0
        else:
            cx0, cy0, cx1, cy1 = xc, yc, min(xc + w, size), min(yc + h, size)
            ix0, iy0 = 0, 0
        if cx1 <= cx0 or cy1 <= cy0:
            continue
        canvas[cy0:cy1, cx0:cx1] = img[iy0:iy0 + (cy1 - cy0), ix0:ix0 + (cx1 - cx0)]
        if not len(boxes):
            continue
        moved = boxes + np.array([cx0 - ix0, cy0 - iy0] * 2, np.float32)
        clipped = moved.copy()
        clipped[:, 0::2] = moved[:, 0::2].clip(cx0, cx1)
        clipped[:, 1::2] = moved[:, 1::2].clip(cy0, cy1)
        keep = keep_boxes(moved, clipped, min_visibility, min_size)
        out_boxes.append(clipped[keep])
        out_rows.append(np.stack([np.full(keep.sum(), k), np.nonzero(keep)[0]], 1))
    boxes = np.concatenate(out_boxes).astype(np.float32) if out_boxes else np.zeros((0, 4),
                                                                                np.float32)
    rows = np.concatenate(out_rows).astype(np.int64) if out_rows else np.zeros((0, 2), np.int64)
    return canvas, boxes, rows


def mixup(img_a: np.ndarray, img_b: np.ndarray, ratio: float) -> np.ndarray:
    """Blend two same-size images: ratio * a + (1 - ratio) * b (boxes: concatenate both)."""
    out = img_a.astype(np.float32) * ratio + img_b.astype(np.float32) * (1.0 - ratio)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
