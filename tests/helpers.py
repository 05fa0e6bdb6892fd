"""Oracles shared by the tests (test modules import from here, never from each other)."""
from __future__ import annotations

import cv2
import numpy as np

from tests.conftest import PALETTE


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
            box = np.array(p.bbox)
            lo = np.array(box_of(mask))
            hi = np.array(box_of(outer[colour_of[p.name]]))
            assert np.all(box[:2] <= lo[:2] + 2) and np.all(box[2:] >= lo[2:] - 2), (box, lo)
            assert np.all(box[:2] >= hi[:2] - 2) and np.all(box[2:] <= hi[2:] + 2), (box, hi)
            tight += int(np.abs(box - lo).max() <= 1)
            checked += 1
    return checked, tight
