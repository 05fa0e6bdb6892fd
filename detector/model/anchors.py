"""Anchor boxes: darknet defaults per model and k-means with IoU distance (numpy only)."""
from __future__ import annotations

import logging

import numpy as np

from synth.errors import InputError

log = logging.getLogger(__name__)

# Darknet anchors (width, height) in network-input pixels, and which anchors each YOLO head
# uses, heads in cfg order (coarsest stride first). yolov3-tiny's second head really uses
# anchors 1,2,3 in the original cfg; anchor 0 belongs to no head there.
DEFAULT_ANCHORS: dict[str, tuple[tuple[int, int], ...]] = {
    "yolov3": ((10, 13), (16, 30), (33, 23), (30, 61), (62, 45), (59, 119),
               (116, 90), (156, 198), (373, 326)),
    "yolov3-tiny": ((10, 14), (23, 27), (37, 58), (81, 82), (135, 169), (344, 319)),
}
DEFAULT_MASKS: dict[str, tuple[tuple[int, ...], ...]] = {
    "yolov3": ((6, 7, 8), (3, 4, 5), (0, 1, 2)),
    "yolov3-tiny": ((3, 4, 5), (1, 2, 3)),
}


def default_anchors(name: str) -> np.ndarray:
    """The darknet anchors of model `name` as a float [K, 2] array of (w, h) pixels."""
    if name not in DEFAULT_ANCHORS:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(DEFAULT_ANCHORS)}")
    return np.asarray(DEFAULT_ANCHORS[name], dtype=np.float64)


def split_masks(num_anchors: int, num_heads: int) -> tuple[tuple[int, ...], ...]:
    """Masks giving each head an equal run of area-sorted anchors, largest to the first head."""
    if num_anchors % num_heads:
        raise ValueError(f"{num_anchors} anchors do not split evenly over {num_heads} heads")
    per = num_anchors // num_heads
    return tuple(tuple(range(h * per, (h + 1) * per)) for h in reversed(range(num_heads)))


def wh_iou(wh: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """IoU [N, K] of boxes and anchors aligned at a common corner (only sizes matter)."""
    wh = np.asarray(wh, dtype=np.float64)[:, None, :]
    anchors = np.asarray(anchors, dtype=np.float64)[None, :, :]
    inter = np.minimum(wh, anchors).prod(-1)
    return inter / (wh.prod(-1) + anchors.prod(-1) - inter)


def mean_best_iou(wh: np.ndarray, anchors: np.ndarray) -> float:
    """Mean over boxes of the IoU with their best anchor; `wh` and `anchors` in the same units."""
    wh = np.asarray(wh, dtype=np.float64).reshape(-1, 2)
    if len(wh) == 0:
        return 0.0
    return float(wh_iou(wh, anchors).max(1).mean())


def kmeans_anchors(wh: np.ndarray, k: int, img_size: int, seed: int = 0,
                   iterations: int = 300, restarts: int = 5) -> np.ndarray:
    """Cluster box sizes into `k` anchors with distance 1 - IoU; return [k, 2] pixels by area.

    `wh` holds box (width, height) as fractions of the letterboxed image side (what a box
    becomes at the training size divided by `img_size`); the anchors come back in pixels at
    `img_size`. Deterministic for a given `seed`.
    """
    wh = np.asarray(wh, dtype=np.float64).reshape(-1, 2) * img_size
    wh = wh[(wh > 0).all(1)]
    if len(wh) < k:
        raise ValueError(f"k-means needs at least {k} boxes, got {len(wh)}")
    rng = np.random.default_rng(seed)
    best, best_fit = None, -1.0
    for _ in range(restarts):
        centers = _kmeanspp_init(wh, k, rng)
        for _ in range(iterations):
            assign = wh_iou(wh, centers).argmax(1)
            new = centers.copy()
            for j in range(k):
                members = wh[assign == j]
                # An emptied cluster keeps its old centre; the median resists outliers.
                if len(members):
                    new[j] = np.median(members, axis=0)
            if np.allclose(new, centers):
                break
            centers = new
        fit = mean_best_iou(wh, centers)
        if fit > best_fit:
            best, best_fit = centers, fit
    return best[np.argsort(best.prod(1), kind="stable")]


def auto_anchors(wh: np.ndarray, name: str, img_size: int, seed: int = 0, where: str = "",
                 quiet: bool = False) -> np.ndarray | None:
    """`--anchors auto`: k-means anchors for boxes `wh` (fractions of the longer image side)
    at `img_size`, or None when they fit the boxes no better than model `name`'s defaults.
    `where` (the training set) starts the error message when there are too few boxes."""
    default = default_anchors(name)
    k = len(default)
    px = np.asarray(wh, dtype=np.float64).reshape(-1, 2) * img_size
    if len(px) < k:
        raise InputError(f"{where}: --anchors auto needs at least {k} boxes, the training set "
                         f"has {len(px)}")
    new = kmeans_anchors(wh, k, img_size, seed=seed)
    before, after = mean_best_iou(px, default), mean_best_iou(px, new)
    if not quiet:
        log.info("anchors: mean best IoU %.3f with the defaults, %.3f with k-means %s",
                 before, after, ", ".join(f"{w:.0f}x{h:.0f}" for w, h in new))
    if after <= before:
        if not quiet:
            log.info("anchors: keeping the defaults (k-means is no better)")
        return None
    return new


def _kmeanspp_init(wh: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding under the 1 - IoU distance."""
    centers = [wh[rng.integers(len(wh))]]
    for _ in range(1, k):
        d = 1.0 - wh_iou(wh, np.array(centers)).max(1)
        p = d**2
        total = p.sum()
        idx = rng.integers(len(wh)) if total <= 0 else rng.choice(len(wh), p=p / total)
        centers.append(wh[idx])
    return np.array(centers, dtype=np.float64)
