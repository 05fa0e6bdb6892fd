"""Poisson image editing (Pérez et al. 2003) on a rectangle: the seam of the `poisson` blend.

The guidance field is the source's step to the right and down from every pixel of the
mask and the destination's from every other (as in cv2.seamlessClone's NORMAL_CLONE). The
result differs from the destination by u, held at zero half a pixel beyond the rectangle's
sides inside the canvas (u odd about them) and free at the canvas's own edges (even). The
discrete Poisson equation for u is solved exactly by a sine series (DST-II) along held
axes and a cosine series (DCT-II) along free ones, both computed with OpenCV's 2-D DCT (a
DST-II is the DCT-II of the sign-alternated axis, read backwards): two transforms per
channel, several times faster than cv2.seamlessClone, and with no limit on where the
subject stands.
"""
from __future__ import annotations

import cv2
import numpy as np


def _checker(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """x with the sign of every other row (axis 0) and/or column (axis 1) flipped (in place)."""
    if 0 in axes:
        x[1::2] *= -1.0
    if 1 in axes:
        x[:, 1::2] *= -1.0
    return x


Sides = tuple[tuple[bool, bool], tuple[bool, bool]]  # free (top, bottom), free (left, right)
HELD: Sides = ((False, False), (False, False))


def solve_poisson(rhs: np.ndarray, free: Sides = HELD) -> np.ndarray:
    """u (m, n), float32, whose 5-point Laplacian is rhs (m, n). Past a held side u is
    continued oddly (zero half a pixel out), past a free side evenly (no flux: how the
    canvas's own edge behaves). An axis held at both ends needs an even length."""
    x = rhs.astype(np.float32, copy=True)
    crop = [slice(None), slice(None)]
    held_axes = []
    lam = []
    for axis, (start, end) in enumerate(free):
        n = x.shape[axis]
        if start != end or (start and n % 2):
            # mirrored at its free side: held at both ends (or free, and even), twice as long
            x = np.concatenate([x, np.flip(x, axis)] if end else [np.flip(x, axis), x], axis=axis)
            crop[axis] = slice(0, n) if end else slice(n, 2 * n)
            n *= 2
        k = np.pi * np.arange(n) / n
        if start and end:  # a cosine series (DCT-II): the Laplacian's eigenvalues 2 cos k - 2
            lam.append(2.0 * np.cos(k) - 2.0)
        else:  # a sine series (DST-II): the DCT of the sign-alternated axis, read backwards
            held_axes.append(axis)
            lam.append(-2.0 * np.cos(k) - 2.0)
    scale = (lam[0][:, None] + lam[1][None, :]).astype(np.float32)
    if scale[0, 0] == 0.0:  # free all round: u is fixed up to a constant, taken as mean 0
        scale[0, 0] = np.inf
    spec = cv2.dct(_checker(x, tuple(held_axes)))
    spec /= scale
    return _checker(cv2.dct(spec, flags=cv2.DCT_INVERSE), tuple(held_axes))[tuple(crop)]


def clone(src: np.ndarray, dst: np.ndarray, mask: np.ndarray, free: Sides = HELD) -> np.ndarray:
    """Poisson-clone `src` into `dst` (both (h, w, c)): the float32 image dst + u whose
    Laplacian is that of the guidance, src's steps from the pixels of `mask` (h, w) and
    dst's from the others, with u zero half a pixel past the held sides (solve_poisson).
    Where src and dst differ by a constant, or with an empty mask, it is dst."""
    dst = dst.astype(np.float32)
    guided = np.asarray(mask, np.float32)
    planes = []
    for d in cv2.split(np.subtract(src, dst, dtype=np.float32)):
        # each step from a guided pixel, to the right and down: the source's minus dst's,
        # and its divergence, the Laplacian u must have
        fx = d[:, 1:] - d[:, :-1]
        fx *= guided[:, :-1]
        fy = d[1:] - d[:-1]
        fy *= guided[:-1]
        rhs = np.zeros_like(d)
        rhs[:, :-1] += fx
        rhs[:, 1:] -= fx
        rhs[:-1] += fy
        rhs[1:] -= fy
        planes.append(solve_poisson(rhs, free))
    dst += cv2.merge(planes)
    return dst


def _span(lo: int, hi: int, limit: int, margin: int) -> tuple[int, int, bool, bool]:
    """The solving rectangle's extent [a, b) along one axis around a box's [lo, hi): grown
    by `margin` each side within [0, limit), and whether each end is free (at the image's
    edge); held at both ends, it is grown to an even length."""
    a, b = max(lo - margin, 0), min(hi + margin, limit)
    if a > 0 and b < limit and (b - a) % 2:
        b += 1
    return a, b, a == 0, b == limit


def clone_into(canvas: np.ndarray, box: tuple[slice, slice], src: np.ndarray, mask: np.ndarray,
               margin: int = 4) -> tuple[tuple[slice, slice], np.ndarray]:
    """Poisson-clone `src` (float32, the box's size) into the uint8 canvas at `box` where
    `mask` is set: the region it changes (the box grown by `margin`, within the canvas) and
    its float32 pixels there. The region is held to the canvas at its sides inside the
    canvas and free at the canvas's edge, so a subject cut by the edge is not pinned there."""
    H, W = canvas.shape[:2]
    ys, xs = box
    ya, yb, top, bottom = _span(ys.start, ys.stop, H, margin)
    xa, xb, left, right = _span(xs.start, xs.stop, W, margin)
    region = (slice(ya, yb), slice(xa, xb))
    dst = canvas[region]
    inside = (slice(ys.start - ya, ys.stop - ya), slice(xs.start - xa, xs.stop - xa))
    big_src = dst.astype(np.float32)
    big_src[inside] = src
    big_mask = np.zeros(dst.shape[:2], bool)
    big_mask[inside] = mask
    return region, clone(big_src, dst, big_mask, ((top, bottom), (left, right)))
