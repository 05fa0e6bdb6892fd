#!/usr/bin/env python
"""Regenerate the embedded demo asset pack (subject PSDs, floors, backdrops) byte-for-byte.

Usage:  python assets/make_assets.py                  # rewrite everything under assets/
        python assets/make_assets.py --sheet sheet.png # also draw contact sheets

Every picture is made procedurally with numpy/OpenCV from a fixed seed. A subject is a
3-D model built from parametric surfaces (lofted cross-sections, tubes, surfaces of
revolution, extruded outlines, displaced sheets) with procedural materials, photographed
by the small renderer in render3d.py from several capture elevations and azimuths at one
scale, lit by one lamp fixed to the object, 3x supersampled and reduced for anti-aliased
edges. Floors and backdrops are painted in 2-D. Each item has its own RNG stream (seeded
by the fixed SEED and the item's name), so editing one item leaves the others' bytes
alone. Nothing time- or machine-dependent goes into a file.
"""
from __future__ import annotations

import io
import logging
import math
import os
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import click
import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))  # run from a checkout without installing

from synth.fsio import write_bytes  # noqa: E402
from synth.imageio import encode_jpeg  # noqa: E402

log = logging.getLogger("make_assets")

SEED = 20240611
SS = 3  # supersampling factor for subjects
JPEG_Q = 80  # floors and backdrops: detail costs JPEG bytes (see the README's size budget)
cv2.setNumThreads(1)  # same arithmetic on every machine


def rng_for(name: str) -> np.random.Generator:
    """An RNG stream private to one item, stable across runs and machines."""
    return np.random.default_rng([SEED, zlib.crc32(name.encode())])


# ----------------------------------------------------------------------------- noise
def fractal_noise(rng: np.random.Generator, h: int, w: int, beta: float = 2.0,
                  lo: float = 0.0, hi: float | None = None,
                  aspect: float = 1.0) -> np.ndarray:
    """Periodic 1/f^beta noise with zero mean and unit std (FFT-filtered white noise).

    `lo`/`hi` band-limit it in cycles per image; `aspect` > 1 stretches features along x.
    """
    white = rng.standard_normal((h, w))
    fy = np.fft.fftfreq(h)[:, None] * h
    fx = np.fft.rfftfreq(w)[None, :] * w * aspect
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    amp = f ** (-beta / 2.0)
    amp[f < lo] = 0.0
    if hi is not None:
        amp *= np.exp(-(f / hi) ** 2)
    amp[0, 0] = 0.0
    out = np.fft.irfft2(np.fft.rfft2(white) * amp, s=(h, w))
    return out / (out.std() + 1e-12)


def blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur in float32."""
    if sigma <= 0:
        return a
    return cv2.GaussianBlur(a.astype(np.float32), (0, 0), sigma)


def soft_blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """A wide Gaussian blur done on a reduced copy (fast; fine for shadows and glows)."""
    f = int(sigma // 4)
    if f < 2:
        return blur(a, sigma)
    h, w = a.shape[:2]
    small = cv2.resize(a.astype(np.float32), (max(w // f, 1), max(h // f, 1)),
                       interpolation=cv2.INTER_AREA)
    return cv2.resize(blur(small, sigma / f), (w, h), interpolation=cv2.INTER_LINEAR)


def blur_wrap(a: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur that wraps around the borders (keeps textures tileable)."""
    pad = int(3 * sigma) + 1
    p = np.pad(a, [(pad, pad), (pad, pad)] + [(0, 0)] * (a.ndim - 2), mode="wrap")
    return blur(p, sigma)[pad:-pad, pad:-pad]


def hex2rgb(s: str) -> np.ndarray:
    """'#rrggbb' -> float RGB in [0, 1]."""
    s = s.lstrip("#")
    return np.array([int(s[i:i + 2], 16) for i in (0, 2, 4)], np.float32) / 255.0


def mix(a, b, t):
    """Linear interpolation; t broadcast over colour channels."""
    t = np.asarray(t, np.float32)
    if t.ndim == 2:
        t = t[..., None]
    return np.asarray(a, np.float32) * (1 - t) + np.asarray(b, np.float32) * t


def smoothstep(e0: float, e1: float, x):
    t = np.clip((np.asarray(x, np.float32) - e0) / (e1 - e0), 0, 1)
    return t * t * (3 - 2 * t)


# ----------------------------------------------------------------------------- shapes
def closed_spline(pts, n: int = 400) -> np.ndarray:
    """Smooth closed curve through control points (periodic Catmull-Rom)."""
    p = np.asarray(pts, np.float64)
    k = len(p)
    out = []
    per = max(n // k, 2)
    for i in range(k):
        p0, p1, p2, p3 = p[(i - 1) % k], p[i], p[(i + 1) % k], p[(i + 2) % k]
        t = np.linspace(0, 1, per, endpoint=False)[:, None]
        out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    return np.concatenate(out)


def open_spline(pts, n: int = 400) -> np.ndarray:
    """Smooth open curve through control points (Catmull-Rom, ends duplicated)."""
    p = np.asarray(pts, np.float64)
    p = np.concatenate([p[:1], p, p[-1:]])
    out = []
    per = max(n // (len(p) - 3), 2)
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        t = np.linspace(0, 1, per, endpoint=False)[:, None]
        out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    out.append(p[-2:-1])
    return np.concatenate(out)


def poly_mask(shape, pts) -> np.ndarray:
    """Filled polygon as a float mask (points in canvas pixels)."""
    m = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(m, [np.round(np.asarray(pts) * 4).astype(np.int32)], 255, cv2.LINE_8, 2)
    return m.astype(np.float32) / 255.0


def ellipse_mask(shape, c, axes, angle: float = 0.0) -> np.ndarray:
    """Filled (rotated) ellipse as a float mask."""
    m = np.zeros(shape[:2], np.uint8)
    cv2.ellipse(m, (int(round(c[0] * 4)), int(round(c[1] * 4))),
                (max(int(round(axes[0] * 4)), 1), max(int(round(axes[1] * 4)), 1)),
                angle, 0, 360, 255, -1, cv2.LINE_8, 2)
    return m.astype(np.float32) / 255.0


def rect_mask(shape, x0, y0, x1, y1, r: float = 0.0) -> np.ndarray:
    """Filled rounded rectangle as a float mask (anti-aliased edges)."""
    h, w = shape[:2]
    out = np.zeros((h, w), np.float32)
    a0, a1 = max(int(math.floor(min(x0, x1))) - 1, 0), min(int(math.ceil(max(x0, x1))) + 2, w)
    b0, b1 = max(int(math.floor(min(y0, y1))) - 1, 0), min(int(math.ceil(max(y0, y1))) + 2, h)
    if a0 >= a1 or b0 >= b1:
        return out
    yy, xx = np.mgrid[b0:b1, a0:a1].astype(np.float32) + 0.5
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hx, hy = abs(x1 - x0) / 2 - r, abs(y1 - y0) / 2 - r
    qx, qy = np.abs(xx - cx) - hx, np.abs(yy - cy) - hy
    d = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2) + np.minimum(np.maximum(qx, qy), 0) - r
    out[b0:b1, a0:a1] = np.clip(0.5 - d, 0, 1)
    return out


def stroke_mask(shape, pts, width: float, closed: bool = False) -> np.ndarray:
    """A polyline stroked with round caps, as a float mask."""
    m = np.zeros(shape[:2], np.uint8)
    cv2.polylines(m, [np.round(np.asarray(pts) * 4).astype(np.int32)], closed, 255,
                  max(int(round(width)), 1), cv2.LINE_AA, 2)
    return m.astype(np.float32) / 255.0




def dist_inside(mask: np.ndarray) -> np.ndarray:
    """Distance (px) from each inside pixel to the mask's edge."""
    return cv2.distanceTransform((mask > 0.5).astype(np.uint8), cv2.DIST_L2, 5)


def dome(mask: np.ndarray, radius: float, height: float | None = None) -> np.ndarray:
    """Height field of a pillow: rounded edge of `radius` px, flat top at `height`."""
    height = radius if height is None else height
    t = np.clip(dist_inside(mask) / radius, 0, 1)
    return (height * np.sqrt(1 - (1 - t) ** 2)).astype(np.float32) * (mask > 0.5)




def resample(pts, step: float = 1.0) -> np.ndarray:
    """Points along a polyline at (about) equal arc-length spacing."""
    p = np.asarray(pts, np.float64)
    s = np.concatenate([[0], np.cumsum(np.sqrt((np.diff(p, axis=0) ** 2).sum(1)))])
    t = np.linspace(0, s[-1], max(int(s[-1] / step), 2))
    return np.stack([np.interp(t, s, p[:, 0]), np.interp(t, s, p[:, 1])], 1)




# ----------------------------------------------------------------------------- textures
def grid(shape):
    h, w = shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return xx, yy


def weave(shape, period: float, angle: float = 0.0, xy=None) -> np.ndarray:
    """Plain-weave cloth relief in [-1, 1] (over-under threads); on a pixel grid of `shape`
    or at the coordinates `xy` = (x, y) arrays (e.g. a surface's uv)."""
    xx, yy = grid(shape) if xy is None else xy
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    u, v = (xx * c + yy * s) / period, (-xx * s + yy * c) / period
    warp = np.cos(np.pi * 2 * u) * np.sign(np.sin(np.pi * v) + 1e-6)
    weft = np.cos(np.pi * 2 * v) * np.sign(np.sin(np.pi * u + np.pi / 2) + 1e-6)
    return (0.5 * warp + 0.5 * weft).astype(np.float32)


def knit(shape, pw: float, ph: float, angle: float = 0.0, xy=None) -> np.ndarray:
    """Stockinette knit relief in [0, 1]: rows of V-shaped stitches (grid or `xy` as weave)."""
    xx, yy = grid(shape) if xy is None else xy
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    x, y = xx * c + yy * s, -xx * s + yy * c
    u = (x / pw) % 1.0 - 0.5
    v = (y / ph) % 1.0
    # each half-stitch is a slanted lozenge: centre line moves inward as v grows
    d = np.abs(np.abs(u) - (0.28 - 0.18 * (v - 0.5))) / 0.22
    leg = np.clip(1 - d ** 2, 0, 1)
    return (leg * (0.6 + 0.4 * np.sin(np.pi * v))).astype(np.float32)


def ribs(shape, period: float, angle: float = 0.0, xy=None) -> np.ndarray:
    """Ribbing / corduroy relief in [0, 1] (grid or `xy` as weave)."""
    xx, yy = grid(shape) if xy is None else xy
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    u = (xx * c + yy * s) / period
    return (0.5 + 0.5 * np.cos(2 * np.pi * u)).astype(np.float32)


sys.path.insert(0, str(ROOT))  # the renderer next to this script (assets/ is not a package)
import render3d as r3  # noqa: E402
SEGMENTS = {  # seven-segment display: which of a..g are lit
    "0": "abcdef", "1": "bc", "2": "abdeg", "3": "abcdg", "4": "bcfg", "5": "acdfg",
    "6": "acdefg", "7": "abc", "8": "abcdefg", "9": "abcdfg", "-": "g"}


def seven_segment(shape, text: str, x: float, y: float, h: float) -> np.ndarray:
    """Mask of `text` in seven-segment digits, top-left (x, y), digit height h (canvas px)."""
    m = np.zeros(shape[:2], np.float32)
    w, t = h * 0.5, h * 0.11
    seg = {"a": ((0, 0), (1, 0)), "b": ((1, 0), (1, 0.5)), "c": ((1, 0.5), (1, 1)),
           "d": ((0, 1), (1, 1)), "e": ((0, 0.5), (0, 1)), "f": ((0, 0), (0, 0.5)),
           "g": ((0, 0.5), (1, 0.5))}
    cx = x
    for ch in text:
        if ch == ".":
            m = np.maximum(m, ellipse_mask(shape, (cx - w * 0.3 - h * 0.08, y + h - t * 0.5),
                                           (t * 0.75, t * 0.75)))
            continue
        for s in SEGMENTS.get(ch, ""):
            (x0, y0), (x1, y1) = seg[s]
            p0 = np.array([cx + x0 * w - y0 * h * 0.08, y + y0 * h])  # slight italic slant
            p1 = np.array([cx + x1 * w - y1 * h * 0.08, y + y1 * h])
            d = (p1 - p0) / np.linalg.norm(p1 - p0)
            m = np.maximum(m, stroke_mask(shape, [p0 + d * t * 0.9, p1 - d * t * 0.9], t))
        cx += w * 1.45
    return m

def finish(rgb: np.ndarray, alpha: np.ndarray, pad: int = 1) -> np.ndarray:
    """Downsample premultiplied colour, crop to the alpha box, return straight RGBA uint8."""
    h, w = alpha.shape
    pm = np.concatenate([np.clip(rgb, 0, 1) * alpha[..., None], alpha[..., None]], -1)
    small = cv2.resize(pm.astype(np.float32), (w // SS, h // SS), interpolation=cv2.INTER_AREA)
    a = small[..., 3]
    col = small[..., :3] / np.maximum(a[..., None], 1e-6)
    out = np.concatenate([np.clip(col, 0, 1), a[..., None]], -1)
    out = np.round(out * 255).astype(np.uint8)
    out[..., :3][out[..., 3] == 0] = 0
    ys, xs = np.nonzero(out[..., 3] > 0)
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + 1 + pad, out.shape[0])
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + 1 + pad, out.shape[1])
    return np.ascontiguousarray(out[y0:y1, x0:x1])


# ----------------------------------------------------------------------------- 3-D texturing
def lookup(img: np.ndarray, fx, fy, wrap: bool = True) -> np.ndarray:
    """Bilinear sample of an (h, w[, c]) image at float texel coordinates (arrays of any
    shape; the result has that shape [+ (c,)]). OpenCV's remap, single-threaded."""
    img = np.asarray(img, np.float32)
    h, w = img.shape[:2]
    shape = np.shape(fx)
    fx = np.asarray(fx, np.float64).ravel()
    fy = np.asarray(fy, np.float64).ravel()
    n = fx.size
    if wrap:
        fx, fy = np.mod(fx, w), np.mod(fy, h)
    cols = 1024
    rows = max(-(-n // cols), 1)
    mx = np.zeros(rows * cols, np.float32)
    my = np.zeros(rows * cols, np.float32)
    mx[:n], my[:n] = fx, fy
    mx, my = mx.reshape(rows, cols), my.reshape(rows, cols)
    border = cv2.BORDER_WRAP if wrap else cv2.BORDER_REPLICATE
    chans = 1 if img.ndim == 2 else img.shape[2]
    outs = []
    for c0 in range(0, chans, 4):
        part = img if img.ndim == 2 else np.ascontiguousarray(img[..., c0:c0 + 4])
        o = cv2.remap(part, mx, my, cv2.INTER_LINEAR, borderMode=border)
        outs.append(o.reshape(rows * cols, -1)[:n])
    out = np.concatenate(outs, 1)
    return out.reshape(shape) if img.ndim == 2 else out.reshape(*shape, chans)


class Tex:
    """A periodic texture tile spanning `period` metres of surface (uv in metres)."""

    def __init__(self, img: np.ndarray, period: float):
        self.img = np.asarray(img, np.float32)
        self.period = period
        self.n = self.img.shape[0]
        gy, gx = np.gradient(self.img.astype(np.float64), axis=(0, 1))
        self.gx, self.gy = gx * self.n / period, gy * self.n / period   # per metre

    def at(self, u, v):
        k = self.n / self.period
        return lookup(self.img, np.asarray(u) * k, np.asarray(v) * k)

    def slope(self, u, v, amp: float) -> np.ndarray:
        """Bump slopes (d/du, d/dv) of a relief `amp` metres high per unit of the tile."""
        k = self.n / self.period
        return amp * np.stack([lookup(self.gx, u * k, v * k), lookup(self.gy, u * k, v * k)], -1)

    def solid(self, pos: np.ndarray, nrm: np.ndarray) -> np.ndarray:
        """Tri-planar lookup: the tile projected along x, y and z, blended by the normal."""
        w = np.abs(nrm) ** 4
        w /= w.sum(1, keepdims=True)
        return (self.at(pos[:, 1], pos[:, 2]) * w[:, 0] + self.at(pos[:, 0] + 0.37, pos[:, 2]) * w[:, 1]
                + self.at(pos[:, 0], pos[:, 1] + 0.61) * w[:, 2])


def noise_tex(rng: np.random.Generator, period: float, n: int = 128, beta: float = 1.0,
              lo: float = 0.0, hi: float | None = None) -> Tex:
    return Tex(fractal_noise(rng, n, n, beta=beta, lo=lo, hi=hi), period)


class Noise3:
    """Smooth periodic 3-D value noise (trilinear on a random lattice, smoothstep weights)."""

    def __init__(self, rng: np.random.Generator, n: int = 24):
        self.n = n
        self.v = rng.standard_normal((n, n, n))

    def __call__(self, P: np.ndarray, cell: float, octaves: int = 1) -> np.ndarray:
        out, amp, tot = np.zeros(len(P)), 1.0, 0.0
        for o in range(octaves):
            q = P / (cell / 2 ** o) + o * 7.31
            i = np.floor(q).astype(np.int64)
            f = q - i
            f = f * f * (3 - 2 * f)
            acc = np.zeros(len(P))
            for dx in (0, 1):
                for dy in (0, 1):
                    for dz in (0, 1):
                        w = (f[:, 0] if dx else 1 - f[:, 0]) * (f[:, 1] if dy else 1 - f[:, 1]) \
                            * (f[:, 2] if dz else 1 - f[:, 2])
                        acc += w * self.v[(i[:, 0] + dx) % self.n, (i[:, 1] + dy) % self.n,
                                          (i[:, 2] + dz) % self.n]
            out += amp * acc
            tot += amp * amp
            amp *= 0.5
        return out / math.sqrt(tot)


def rgb(s: str) -> np.ndarray:
    return hex2rgb(s).astype(np.float64)


def settle(mesh: r3.Mesh) -> r3.Mesh:
    """Squash whatever pokes below the floor onto it (soft things rest on z = 0)."""
    below = mesh.P[:, 2] < 0
    mesh.P[below, 2] = 0.0
    mesh.N[below] = (0.0, 0.0, -1.0)
    return mesh


def on_floor(parts: list[r3.Part]) -> list[r3.Part]:
    """Shift the subject so its lowest point touches z = 0 and its footprint is centred."""
    P = np.concatenate([p.mesh.P for p in parts])
    lo, hi = P.min(0), P.max(0)
    t = np.array([-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -lo[2]])
    return [r3.Part(p.mesh.moved(None, t), p.mat) for p in parts]


def profile(points, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """A smooth (r, z) profile through control points, evenly resampled."""
    pts = smooth_path(points, n)
    return pts[:, 0], pts[:, 1]


def smooth_path(points, n: int) -> np.ndarray:
    """n points evenly spaced along a Catmull-Rom curve through 2-D or 3-D control points."""
    p = np.asarray(points, np.float64)
    q = np.concatenate([p[:1], p, p[-1:]])
    out = []
    for i in range(1, len(q) - 2):
        p0, p1, p2, p3 = q[i - 1], q[i], q[i + 1], q[i + 2]
        t = np.linspace(0, 1, 60, endpoint=False)[:, None]
        out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    out.append(p[-1:])
    c = np.concatenate(out)
    s = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(c, axis=0), axis=1))])
    t = np.linspace(0, s[-1], n)
    return np.stack([np.interp(t, s, c[:, k]) for k in range(c.shape[1])], 1)


def closed_path(points, n: int) -> np.ndarray:
    """n points evenly spaced around a closed Catmull-Rom curve (2-D or 3-D)."""
    c = closed_spline(points, 40 * len(points))
    c = np.concatenate([c, c[:1]])
    s = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(c, axis=0), axis=1))])
    t = np.linspace(0, s[-1], n, endpoint=False)
    return np.stack([np.interp(t, s, c[:, k]) for k in range(c.shape[1])], 1)


ASYM = ((90, None),) + tuple((e, a) for e in (45, 15, 0) for a in (0, 90, 180))
SYM = ((90, None), (45, None), (15, None), (0, None))
THIN = ((90, None),) + tuple((e, a) for e in (45, 15, 0) for a in (0, 90))
TOP = ((90, None),)
# tall things a floor robot sees from below their middle (fans): also seen from below, as a
# camera at robot height looking up at their middle sees them
BELOW = ASYM + tuple((e, a) for e in (-20, -40) for a in (0, 90, 180))
EYE_HEIGHT_M = 0.07   # camera height of the views from below (a floor robot's: 5-9 cm)
TARGET_PX = 198   # longest side of an object's largest orthographic view


def view_tag(elev: int, az: int | None) -> str:
    return f"[elev={elev}]" if az is None else f"[elev={elev} az={az}]"


def render_views(parts: list[r3.Part], views, target_px: int = TARGET_PX):
    """Every view of one subject at one scale: [((elev, az), RGBA uint8), ...].

    Views from 0 deg and up are orthographic, and they alone set the scale. A view from
    below (negative elevation: the middle of the object seen from under it) shows each
    height of the object from the elevation at which a camera EYE_HEIGHT_M above the floor
    sees it when it sees the middle from that elevation: the head from below, the base
    from level or a little above, its front edge lowest (render3d.render, below_profile);
    across, it is orthographic at the same scale."""
    prep = r3.prepare(parts)
    ext = max(max(r3.view_extent(prep.mesh.P, e, a or 0)) for e, a in views if e >= 0)
    ppm = (target_px - 2) / ext
    return [((e, a), finish(*r3.render(prep, e, a or 0, ppm, SS,
                                       eye_height=None if e >= 0 else EYE_HEIGHT_M)))
            for e, a in views]


def lerp(a, b, t) -> np.ndarray:
    """Per-pixel blend of colours (K,3) or (3,) by weights (K,) (float64, for materials)."""
    t = np.asarray(t, np.float64)[:, None]
    return np.asarray(a, np.float64) * (1 - t) + np.asarray(b, np.float64) * t


class Decal:
    """Pictures painted on an object's top, laid on from above: image column 0 at the
    object's right (x = +w/2), row 0 at its back (y = -d/2) -- i.e. drawn as the 90 deg
    view shows it. Channels: albedo (h,w,3) plus optional spec, refl, emit and relief."""

    def __init__(self, w: float, d: float, ppm: float = 2500.0):
        self.w, self.d, self.k = w, d, ppm
        self.shape = (int(round(d * ppm)), int(round(w * ppm)))
        self.albedo = np.zeros((*self.shape, 3), np.float32)
        self.spec = np.zeros(self.shape, np.float32)
        self.refl = np.zeros(self.shape, np.float32)
        self.emit = np.zeros((*self.shape, 3), np.float32)
        self.relief = np.zeros(self.shape, np.float32)   # metres

    def px(self, x, y):
        """Decal pixel (column, row) of object point (x, y)."""
        return (self.w / 2 - np.asarray(x)) * self.k, (np.asarray(y) + self.d / 2) * self.k

    def paint(self, mask, albedo=None, spec=None, refl=None, relief=None, emit=None) -> None:
        m = np.clip(mask, 0, 1).astype(np.float32)
        if albedo is not None:
            self.albedo = mix(self.albedo, np.broadcast_to(np.asarray(albedo, np.float32), self.albedo.shape), m)
        for name, v in (("spec", spec), ("refl", refl), ("relief", relief)):
            if v is not None:
                cur = getattr(self, name)
                setattr(self, name, cur * (1 - m) + np.asarray(v, np.float32) * m)
        if emit is not None:
            self.emit = self.emit + m[..., None] * np.asarray(emit, np.float32)

    def sample(self, pos: np.ndarray):
        """(albedo, spec, refl, emit, relief gradient (K,3)) at object points."""
        c, r = self.px(pos[:, 0], pos[:, 1])
        c, r = c - 0.5, r - 0.5
        if not hasattr(self, "_stack"):
            gy, gx = np.gradient(self.relief.astype(np.float64))
            self._stack = np.concatenate([self.albedo, self.spec[..., None], self.refl[..., None],
                                          self.emit, (-gx * self.k)[..., None], (gy * self.k)[..., None]],
                                         -1).astype(np.float32)      # column runs along -x, row along +y
        v = lookup(self._stack, c, r, False)
        grad = np.concatenate([v[:, 8:10], np.zeros((len(v), 1), np.float32)], 1)
        return v[:, 0:3], v[:, 3], v[:, 4], v[:, 5:8], grad


def textured(base, noise: np.ndarray, amount: float):
    """Albedo map: a base colour modulated by noise (multiplicative, per pixel)."""
    base = np.asarray(base, np.float32)
    if base.ndim == 1:
        base = base[None, None, :]
    return np.clip(base * (1 + amount * noise[..., None]), 0, 1)


def proc_slope(fn, u, v, amp: float, h: float = 1e-4) -> np.ndarray:
    """Bump slopes (d/du, d/dv) of a procedural relief fn(u, v) in [0, 1] scaled to amp metres."""
    f0 = fn(u, v)
    return amp * np.stack([(fn(u + h, v) - f0) / h, (fn(u, v + h) - f0) / h], -1)
# ----------------------------------------------------------------------------- shoes
SHOE_OUTLINE = [(0.06, 0.0), (0.33, 0.035), (0.47, 0.13), (0.5, 0.28), (0.44, 0.45),
                (0.37, 0.6), (0.37, 0.76), (0.35, 0.9), (0.2, 0.985), (0.0, 1.0),
                (-0.2, 0.985), (-0.35, 0.9), (-0.37, 0.76), (-0.33, 0.6), (-0.38, 0.46),
                (-0.47, 0.3), (-0.45, 0.14), (-0.3, 0.035)]   # (across, from toe to heel)


def offset_outline(o: np.ndarray, d: float) -> np.ndarray:
    """A CCW outline moved outward by d (inward when negative) along its normals."""
    tang = r3._unit(np.roll(o, -1, 0) - np.roll(o, 1, 0))
    return o + np.stack([tang[:, 1], -tang[:, 0]], 1) * d


def extents(o: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leftmost and rightmost x of a closed outline on each horizontal line y."""
    a, b = o, np.roll(o, -1, 0)
    lo, hi = np.full(len(ys), np.inf), np.full(len(ys), -np.inf)
    for (x0, y0), (x1, y1) in zip(a, b):
        if y0 == y1:
            continue
        t = (ys - y0) / (y1 - y0)
        sel = (t >= 0) & (t <= 1)
        x = x0 + t * (x1 - x0)
        lo[sel] = np.minimum(lo[sel], x[sel])
        hi[sel] = np.maximum(hi[sel], x[sel])
    bad = ~np.isfinite(lo)
    if bad.any():  # at the very tips: the outline's extreme point
        k = np.argmin(np.abs(o[:, 1][None] - ys[bad, None]), 1)
        lo[bad] = hi[bad] = o[k, 0]
    return lo, hi


@dataclass
class ShoeStyle:
    """What makes one shoe: proportions, parts and materials."""
    length: float = 0.29
    width: float = 0.105
    sole_h: float = 0.03          # sole thickness at the heel
    sole_toe: float = 0.022       # ... at the toe
    outsole_h: float = 0.007      # dark rubber band at the bottom of the sole
    heel_h: float = 0.0           # heel lift (pumps, dress shoes); a heel block carries it
    heel_kind: str = "none"       # none | block | stiletto
    rim: float = 0.003            # sole margin around the upper
    top: tuple = (0.066, 0.05, 0.085, 0.05, 0.024)   # upper height: heel, collar dip, instep, toe box, tip
    open_t: tuple = (0.03, 0.42)  # collar opening from/to (fraction of the length from the heel)
    open_w: float = 0.62          # opening half-angle (rad) at its widest
    pointy: float = 0.0
    toe_spring: float = 0.012
    upper: str = "#2f5fa8"
    upper_tex: str = "mesh"       # mesh | leather | canvas | plush | patent
    gloss: float = 0.1
    lining: str = "#9a9a9a"
    sole: str = "#eeeeea"
    outsole: str = "#2a2a2a"
    lace: str | None = "#f4f4f4"
    eyelets: int = 5
    accent: str | None = None
    toe_cap: str | None = None
    heel_cap: str | None = None
    stripe: str | None = None     # a line along the sole's side (vulcanised sneakers)
    apron: bool = False           # moccasin seam around the vamp (loafers)
    strap: bool = False           # penny strap across the vamp


def shoe(name: str, st: ShoeStyle) -> list[r3.Part]:
    """A shoe: sole (thick, with its outsole band and tread), upper lofted from cross-sections
    along the foot with a real collar opening (rim, inner walls, insole), tongue, eyelets and
    criss-cross laces with a bow, toe spring and, for pumps, a heel."""
    rng = rng_for(name)
    L, Wd = st.length, st.width
    pts = []
    for fx, fy in SHOE_OUTLINE[::-1]:       # CCW seen from above; the toe at +y
        if fy < 0.2:
            fx *= 1 - st.pointy * (0.2 - fy) / 0.2
        pts.append((fx * Wd, (0.5 - fy) * L))
    sole_o = closed_path(pts, 260)
    up_o = offset_outline(sole_o, -st.rim)
    ylo, yhi = up_o[:, 1].min(), up_o[:, 1].max()

    def sole_top(tt):
        return st.sole_h + (st.sole_toe - st.sole_h) * smoothstep(0.3, 0.75, tt)

    # ---- upper: a loft of cross-sections from the heel (t=0) to the toe (t=1)
    nt = 150
    t = (1 - np.cos(np.linspace(0, np.pi, nt))) / 2
    ys = ylo + (yhi - ylo) * t
    xl, xr = extents(up_o, ys)
    xc, hw = (xl + xr) / 2, (xr - xl) / 2
    zb = sole_top(t) - 0.002
    h_heel, h_dip, h_inst, h_toe, h_tip = st.top
    t0, t1 = st.open_t
    knots_t = [0.0, (t0 + t1) * 0.45, t1 + 0.05, 0.78, 0.93]
    H = np.interp(t, knots_t, [h_heel, h_dip, h_inst, h_toe, h_toe * 0.8])
    H = H * np.sqrt(np.clip(1 - ((t - 0.9) / 0.1).clip(0) ** 2, 0, 1))
    H = np.maximum(H, h_tip * np.sqrt(np.clip(1 - t, 0, 1)) * 0 + 0.001)
    H = np.maximum(H, 0.002)
    pw = 2.6 + 0.8 * smoothstep(0.4, 0.8, t) * (1 - smoothstep(0.85, 1.0, t))  # boxier mid-foot
    tm, half = (t0 + t1) / 2, (t1 - t0) / 2
    openness = np.sqrt(np.clip(1 - ((t - tm) / half) ** 2, 0, 1))
    phi = st.open_w * openness
    wall = 0.004
    na, nb, nc, nd = 34, 4, 10, 14
    z_ins = sole_top(t) + 0.006

    def sec(theta, p):
        c, s = np.cos(theta), np.sin(theta)
        return np.sign(c) * np.abs(c) ** (2 / p), np.abs(s) ** (2 / p)

    rows, attrs = [], []
    for i in range(nt):
        thc = np.pi / 2 - phi[i]
        th = np.linspace(0, thc, na)
        cx, sz = sec(th, pw[i])
        outer_r = np.stack([xc[i] + hw[i] * cx, np.full(na, ys[i]), zb[i] + H[i] * sz], 1)
        rim_x, rim_z = outer_r[-1, 0], outer_r[-1, 2]
        top = np.array([xc[i], ys[i], zb[i] + H[i]])
        o = openness[i]
        inner_x = rim_x - wall
        lip = np.stack([rim_x - wall * 0.5 * (1 - np.cos(np.linspace(0, np.pi, nb + 2)[1:-1])),
                        np.full(nb, ys[i]),
                        rim_z + wall * 0.5 * np.sin(np.linspace(0, np.pi, nb + 2)[1:-1])], 1)
        zbot = rim_z - o * (rim_z - z_ins[i])
        wall_r = np.stack([np.full(nc, inner_x), np.full(nc, ys[i]), np.linspace(rim_z, zbot, nc)], 1)
        ins_x = np.linspace(inner_x, 2 * xc[i] - inner_x, nd + 2)[1:-1]
        ins = np.stack([ins_x, np.full(nd, ys[i]), np.full(nd, zbot)], 1)
        inner = np.concatenate([lip, wall_r, ins, (wall_r * [-1, 1, 1] + [2 * xc[i], 0, 0])[::-1],
                                (lip * [-1, 1, 1] + [2 * xc[i], 0, 0])[::-1]])
        inner = top + (inner - top) * min(o * 4, 1.0)          # no opening: collapse onto the top
        outer_l = (outer_r * [-1, 1, 1] + [2 * xc[i], 0, 0])[::-1]
        rows.append(np.concatenate([outer_r, inner, outer_l]))
        a_th = np.concatenate([th / np.pi, np.full(len(inner), 0.5), 1 - th[::-1] / np.pi])
        a_in = np.concatenate([np.zeros(na), np.zeros(nb), np.ones(len(inner) - 2 * nb), np.zeros(nb),
                               np.zeros(na)])
        attrs.append(np.stack([np.full(len(a_th), t[i]), a_th, a_in], 1))
    G = np.stack(rows)                     # (t, around, 3)
    upper_m = r3.grid_mesh(G, attr=np.stack(attrs))

    def on_upper(tt, th, lift=0.0):
        """A point on the closed outer upper at (t, theta), lifted along its normal."""
        scalar = np.ndim(tt) == 0 and np.ndim(th) == 0 and np.ndim(lift) == 0
        tt, th, lift = (np.atleast_1d(np.asarray(a, np.float64)) for a in (tt, th, lift))
        tt, th, lift = np.broadcast_arrays(tt, th, lift)
        yy = ylo + (yhi - ylo) * tt
        l_, r_ = extents(up_o, yy)
        c_, h_ = (l_ + r_) / 2, (r_ - l_) / 2
        Hh = np.interp(tt, t, H)
        p_ = np.interp(tt, t, pw)
        cx_, sz_ = sec(th, p_)
        P = np.stack([c_ + h_ * cx_, yy + 0 * th, np.interp(tt, t, zb) + Hh * sz_], -1)
        n_ = np.stack([cx_ / np.maximum(h_, 1e-4), np.zeros_like(cx_), sz_ / np.maximum(Hh, 1e-4)], -1)
        P = P + r3._unit(n_) * lift[:, None]
        return P[0] if scalar else P

    parts: list[r3.Part] = []
    standing: list[r3.Part] = []          # parts that stay on the floor when the shoe bends
    col = rgb(st.upper)
    fine = noise_tex(rng, 0.04, beta=1.0)
    coarse = noise_tex(rng, 0.2, beta=3.0)
    lining = rgb(st.lining)
    eye_t = np.linspace(t1 + 0.03, t1 + 0.3, st.eyelets) if st.lace else np.array([])
    eye_th = 0.5 - np.linspace(0.16, 0.13, st.eyelets) if st.lace else np.array([])

    def upper_relief(u, v):
        if st.upper_tex == "mesh":
            return (np.sin(u / 0.0032 * np.pi) * np.sin(v / 0.0032 * np.pi * 1.15) > 0.55) * 1.0
        if st.upper_tex == "canvas":
            return 0.5 + 0.5 * weave(None, 0.0016, 20, xy=(u, v))
        if st.upper_tex == "plush":
            return 0.5 + 0.25 * fine.at(u * 2, v * 2)
        if st.upper_tex == "leather":
            return 0.5 + 0.2 * fine.at(u, v)
        return np.zeros_like(u)

    def upper_alb(g):
        tt, th, inn = g.attr[:, 0], g.attr[:, 1], g.attr[:, 2]
        u, v = g.uv[:, 0], g.uv[:, 1]
        rel = upper_relief(u, v)
        amt = {"mesh": -0.3, "canvas": 0.14, "plush": 0.25, "leather": 0.1, "patent": 0.0}[st.upper_tex]
        out = col[None] * (1 + amt * (rel - 0.5) + 0.05 * coarse.at(u, v))[:, None]
        side = np.abs(th - 0.5)                                   # 0 on top, 0.5 at the sole
        if st.toe_cap:
            cap = (tt > 0.86 - 0.08 * side) & (inn < 0.5)
            out = np.where(cap[:, None], rgb(st.toe_cap)[None] * (1 + 0.03 * fine.at(u, v))[:, None], out)
        if st.heel_cap:
            hc = (tt < 0.16 + 0.1 * (side - 0.5)) & (side > 0.12) & (inn < 0.5)
            out = np.where(hc[:, None], rgb(st.heel_cap)[None], out)
        if st.accent:   # a swoosh-like band on the outer flank (right side)
            band = (th < 0.42) & (th > 0.12) & (np.abs((th - 0.12) - 0.9 * (tt - 0.3)) < 0.05) \
                & (tt > 0.25) & (tt < 0.7) & (inn < 0.5)
            out = np.where(band[:, None], rgb(st.accent)[None], out)
        if st.lace:     # tongue between the eyelet rows, eyelets
            tongue = (np.abs(th - 0.5) < 0.12) & (tt > t1 - 0.02) & (tt < eye_t[-1] + 0.05) & (inn < 0.5)
            out = np.where(tongue[:, None], out * 0.88, out)
            for et, eth in zip(eye_t, eye_th):
                for e_th in (eth, 1 - eth):
                    d2 = ((tt - et) * L) ** 2 + ((th - e_th) * np.pi * Wd * 0.45) ** 2
                    out = np.where((d2 < 0.0024 ** 2)[:, None] & (inn < 0.5)[:, None],
                                   rgb("#222222")[None], out)
        if st.apron:    # moccasin seam: a raised stitched line around the vamp
            ring = np.abs(np.hypot((tt - 0.78) / 0.2, (th - 0.5) / 0.2) - 1) < 0.05
            out = np.where(ring[:, None] & (inn < 0.5)[:, None], out * 0.75, out)
        # lining and insole inside the opening: lighter towards the rim, dark deep down
        depth = np.clip((g.pos[:, 2] - sole_top(tt)) / 0.05, 0, 1)
        inside = lining[None] * (0.35 + 0.65 * depth)[:, None] * (1 + 0.05 * fine.at(u, v))[:, None]
        return np.where((inn > 0.5)[:, None], inside, out)

    def upper_bump(g):
        sl = proc_slope(upper_relief, g.uv[:, 0], g.uv[:, 1], 0.0004 if st.upper_tex != "patent" else 0.0)
        return np.where((g.attr[:, 2:3] > 0.5), 0.0, sl)

    gloss = st.gloss
    parts.append(r3.Part(upper_m, r3.Material(upper_alb, spec=gloss, shine=40 + 160 * gloss,
                                              refl=0.12 * gloss, bump=upper_bump)))
    # ---- sole: an extruded outline, midsole colour above an outsole band with tread
    sh = st.sole_h
    prof_d = [-0.003, -0.0005, 0.0, 0.0, 0.0, -0.0008, -st.rim - 0.001]
    prof_z = [0.0, 0.0007, 0.003, st.outsole_h, sh - 0.003, sh - 0.0005, sh]
    sole_m = r3.outline_sweep(sole_o, prof_d, prof_z, cap_top=True, cap_bottom=st.heel_h > 0)
    # the sole's top follows sole_top(t): squash it towards the toe
    frac = lambda P: np.clip((P[:, 1] - sole_o[:, 1].min()) / (np.ptp(sole_o[:, 1])), 0, 1)  # noqa: E731
    sole_m = sole_m.warped(lambda P: np.stack([P[:, 0], P[:, 1],
                                               P[:, 2] * (sole_top(frac(P)) / sh)], 1))
    sole_m.A = np.stack([frac(sole_m.P), sole_m.P[:, 2]], 1)
    scol, ocol = rgb(st.sole), rgb(st.outsole)

    def sole_alb(g):
        z = g.attr[:, 1]
        u = g.uv[:, 0]
        band = z < st.outsole_h
        out = np.where(band[:, None], ocol[None], scol[None])
        out = out * (1 + 0.03 * fine.solid(g.pos, g.nrm))[:, None]
        if st.stripe:
            s_ = np.abs(z - (st.outsole_h + 0.004)) < 0.0012
            out = np.where(s_[:, None], rgb(st.stripe)[None], out)
        wave = (np.sin(u / 0.006 * 2 * np.pi) > 0.2) & (z > sh * 0.45) & (z < sh * 0.8) & (sh > 0.02)
        return np.where(wave[:, None], out * 0.9, out)

    def sole_bump(g):
        z, u = g.attr[:, 1], g.uv[:, 0]
        tread = (z < st.outsole_h) & (g.nrm[:, 2] < 0.5)
        s = 0.25 * np.cos(u / 0.004 * 2 * np.pi) * tread
        return np.stack([s, np.zeros_like(s)], 1)

    parts.append(r3.Part(sole_m, r3.Material(sole_alb, spec=0.08, shine=20, bump=sole_bump)))
    # ---- heel block
    if st.heel_kind != "none":
        yb = sole_o[:, 1].min()
        if st.heel_kind == "stiletto":
            bot = r3.rounded_rect(0.009, 0.009, 0.003, 64) + [0, yb + 0.016]
            topo = r3.rounded_rect(0.042, 0.045, 0.018, 64) + [0, yb + 0.028]
        else:
            bot = r3.rounded_rect(0.062, 0.07, 0.025, 64) + [0, yb + 0.037]
            topo = r3.rounded_rect(0.064, 0.072, 0.026, 64) + [0, yb + 0.037]
        hz = st.heel_h + 0.004
        v = np.linspace(0, 1, 12)
        vv = v ** 2.2 if st.heel_kind == "stiletto" else v   # stilettos flare only at the top
        ring = topo[None] * vv[:, None, None] + bot[None] * (1 - vv[:, None, None])
        Ph = np.concatenate([ring, (v * hz)[:, None, None].repeat(len(bot), 1)], -1).transpose(1, 0, 2)
        heel_m = r3.grid_mesh(Ph, wrap_u=True)
        standing.append(r3.Part(heel_m, r3.Material(rgb(st.outsole) * 1.2, spec=0.4 if st.gloss > 0.5 else 0.1,
                                                 shine=60)))
    # ---- laces with a bow, and a tongue tab at the throat
    if st.lace:
        lcol = rgb(st.lace)
        segs = []
        order = [(0, 0, 0, 1)]
        for i in range(len(eye_t) - 1):
            order += [(i, 0, i + 1, 1), (i, 1, i + 1, 0)]
        for k, (i, a, j, b) in enumerate(order):
            ta, tb = eye_t[i], eye_t[j]
            tha = np.pi * (eye_th[i] if a == 0 else 1 - eye_th[i])
            thb = np.pi * (eye_th[j] if b == 0 else 1 - eye_th[j])
            s_ = np.linspace(0, 1, 16)
            path = on_upper(ta + (tb - ta) * s_, tha + (thb - tha) * s_, 0.0025 + 0.001 * (k % 2)
                            + 0.002 * np.sin(np.pi * s_))
            segs.append(r3.tube(path, 0.0016, sides=8))
        # a bow at the throat end: two loops and two ends lying on the upper
        tk = eye_t[0] - 0.015
        for sgn in (-1, 1):
            q = np.linspace(0, 1, 30)
            lt = tk + 0.012 * np.sin(2 * np.pi * q) * sgn - 0.02 * np.sin(np.pi * q)
            lth = np.pi * (0.5 + sgn * 0.3 * np.sin(np.pi * q))
            segs.append(r3.tube(on_upper(lt, lth, 0.004 + 0.004 * np.sin(np.pi * q)), 0.0017, sides=8))
            q = np.linspace(0, 1, 16)
            et_ = tk + 0.05 * q * (0.6 + 0.4 * (sgn > 0))
            eth_ = np.pi * (0.5 + sgn * 0.22 * q)
            segs.append(r3.tube(on_upper(et_, eth_, 0.0035), 0.0016, sides=8))
        segs.append(r3.ellipsoid(on_upper(tk, np.pi / 2, 0.005), (0.005, 0.004, 0.003), nu=12, nv=8))
        lace_m = r3.merge(segs)
        parts.append(r3.Part(lace_m, r3.Material(lambda g: lcol[None] * (1 + 0.05 * fine.solid(g.pos, g.nrm))[:, None],
                                                 spec=0.1, shine=20)))
        # tongue tab: a padded flap rising out of the throat
        tt = np.linspace(0, 1, 14)
        aa = np.linspace(-1, 1, 20)
        ctr = on_upper(t1 + 0.01, np.pi / 2, 0.0)
        tw = 0.022
        Pt = np.stack([ctr[0] + tw * aa[None, :] * (1 - 0.25 * tt[:, None] ** 2),
                       ctr[1] - 0.018 * tt[:, None] ** 1.5 + 0 * aa[None, :],
                       ctr[2] - 0.006 + 0.026 * tt[:, None] - 0.004 * aa[None, :] ** 2], -1)
        tongue = r3.grid_mesh(Pt)
        parts.append(r3.Part(tongue, r3.Material(lambda g: col[None] * 0.92, spec=gloss, shine=40,
                                                 two_sided=True)))
    if st.strap:  # penny strap across the vamp
        s_ = np.linspace(0.15, 0.85, 40)
        path = on_upper(0.6, np.pi * s_, 0.0015)
        parts.append(r3.Part(r3.tube(path, 0.0016, sides=10, squash=6.0, up=(0, 1, 0)),
                             r3.Material(col * 0.8, spec=gloss, shine=60)))
    # ---- toe spring and heel lift bend the whole shoe
    ymin, ymax = sole_o[:, 1].min(), sole_o[:, 1].max()

    def bend(P):
        f = (P[:, 1] - ymin) / (ymax - ymin)
        dz = st.toe_spring * smoothstep(0.75, 1.0, f) ** 2
        if st.heel_h > 0:
            dz = dz + st.heel_h * (1 - smoothstep(0.22, 0.68, f))
        return np.stack([P[:, 0], P[:, 1], P[:, 2] + dz], 1)

    return on_floor([r3.Part(p.mesh.warped(bend), p.mat) for p in parts] + standing)


SHOES = {
    "shoe_runner": ShoeStyle(upper="#2f5fa8", upper_tex="mesh", accent="#d8f03a", heel_cap="#1d2f52",
                             sole="#eeeeea", outsole="#2a2a2a", lace="#f4f4f4", lining="#8a8f99"),
    "shoe_derby": ShoeStyle(length=0.3, width=0.104, sole_h=0.013, sole_toe=0.011, outsole_h=0.004,
                            heel_h=0.018, heel_kind="block", top=(0.058, 0.045, 0.07, 0.042, 0.02),
                            open_t=(0.03, 0.4), open_w=0.55, upper="#6e4022", upper_tex="leather",
                            gloss=0.45, sole="#2c2420", outsole="#1f1916", lace="#3a2616",
                            lining="#c9a77c", toe_spring=0.008, pointy=0.15),
    "shoe_canvas": ShoeStyle(length=0.28, width=0.1, sole_h=0.026, sole_toe=0.024, outsole_h=0.004,
                             top=(0.06, 0.046, 0.078, 0.045, 0.022), upper="#c8302c", upper_tex="canvas",
                             toe_cap="#f2f1ea", sole="#f0efe8", outsole="#d9d6cc", stripe="#1c1c1c",
                             lace="#f8f8f8", lining="#e8e2d4", eyelets=6, toe_spring=0.006),
    "shoe_slipper": ShoeStyle(length=0.27, width=0.108, sole_h=0.014, sole_toe=0.012, outsole_h=0.006,
                              top=(0.04, 0.035, 0.062, 0.046, 0.024), open_t=(0.0, 0.6), open_w=0.95,
                              upper="#7b2436", upper_tex="plush", gloss=0.02, sole="#3a3230",
                              outsole="#2a2422", lace=None, lining="#efe6d6", toe_spring=0.004, rim=0.0015),
    "shoe_pump": ShoeStyle(length=0.25, width=0.082, sole_h=0.006, sole_toe=0.006, outsole_h=0.003,
                           heel_h=0.075, heel_kind="stiletto", top=(0.05, 0.032, 0.042, 0.036, 0.02),
                           open_t=(0.02, 0.62), open_w=1.15, pointy=0.55, upper="#141416",
                           upper_tex="patent", gloss=0.9, sole="#2a2224", outsole="#2a2224", lace=None,
                           lining="#c7a58a", toe_spring=0.004, rim=0.001),
    "shoe_draft": ShoeStyle(length=0.26, width=0.095, upper="#b0b0b0", upper_tex="patent", gloss=0.0,
                            sole="#d0d0d0", lace=None, lining="#909090"),
    # held out
    "shoe_loafer": ShoeStyle(length=0.285, width=0.104, sole_h=0.014, sole_toe=0.012, outsole_h=0.004,
                             heel_h=0.016, heel_kind="block", top=(0.055, 0.042, 0.062, 0.044, 0.02),
                             open_t=(0.03, 0.5), open_w=0.7, upper="#5a1f1c", upper_tex="leather",
                             gloss=0.5, sole="#3b2b22", outsole="#2a1e18", lace=None, lining="#d8c2a0",
                             apron=True, strap=True, toe_spring=0.007),
    "shoe_hightop": ShoeStyle(length=0.29, width=0.106, sole_h=0.028, sole_toe=0.026, outsole_h=0.004,
                              top=(0.15, 0.145, 0.12, 0.05, 0.024), open_t=(0.02, 0.26), open_w=0.6,
                              upper="#1b1c20", upper_tex="canvas", toe_cap="#f3f2ea", sole="#f3f2ea",
                              outsole="#dcd8ce", stripe="#b32020", lace="#f6f6f6", lining="#4a4a4a",
                              eyelets=7),
}
# ----------------------------------------------------------------------------- socks
def sock(name: str, leg: float, foot: float, width: float, base: str, heel_toe: str | None,
         cuff: float, pattern: str = "plain", colours: tuple[str, ...] = (),
         knit_m: float = 0.0022, fuzz: float = 0.06, bend: float = 115.0,
         thick: float = 0.017) -> list[r3.Part]:
    """A sock lying on the floor: a flattened knitted tube (ribbed cuff, leg, heel bend with
    the heel pocket, foot, rounded toe), a little crumpled, with its colour pattern."""
    rng = rng_for(name)
    b = math.radians(180 - bend)
    d = np.array([math.cos(b), math.sin(b)])
    corner = np.array([leg, 0.0])
    wob = rng.normal(0, 0.006, 2)
    ctrl = [(0.0, 0.0), (leg * 0.5, wob[0]), tuple(corner - [0.025, 0]), tuple(corner + d * 0.025),
            tuple(corner + d * foot * 0.5 + wob[1]), tuple(corner + d * foot)]
    xy = smooth_path(ctrl, 220)
    total = float(np.sum(np.linalg.norm(np.diff(xy, axis=0), axis=1)))
    t = np.linspace(0, 1, len(xy))
    s_along = t * total
    hw = width / 2 * (1 + 0.06 * smoothstep(leg * 0.8, leg * 1.1, s_along))
    nz = Noise3(rng)
    path = np.concatenate([xy, np.full((len(xy), 1), thick / 2)], 1)
    sq = thick / (2 * hw)
    body = r3.tube(path, hw, sides=40, squash=sq, round_ends=(0.12, 0.75),
                   lumps=lambda P: 1 + 0.09 * nz(P, 0.05, 2))
    # heel pocket: a flattened bulge on the outside of the bend
    out = -(d + np.array([-1.0, 0.0]))
    out /= np.linalg.norm(out)
    hc = corner + out * width * 0.2
    ang = math.atan2(out[1], out[0])
    heel = r3.ellipsoid((0, 0, thick * 0.45), (width * 0.36, width * 0.3, thick * 0.5), nu=40, nv=16,
                        bump=lambda P: 1 + 0.05 * nz(P + 1.3, 0.04, 1))
    Rz = np.array([[math.cos(ang), -math.sin(ang), 0], [math.sin(ang), math.cos(ang), 0], [0, 0, 1]])
    heel = heel.moved(Rz, (hc[0], hc[1], 0.0))
    heel.A = np.full((len(heel.P), 1), -1.0)                # marks the heel patch
    mesh = settle(r3.merge([body, heel]))
    col = rgb(base)
    cols = [rgb(c) for c in colours]
    fine = noise_tex(rng, 0.03, beta=0.8)
    coarse = noise_tex(rng, 0.25, beta=3.0)

    def relief(u, v):
        kn = knit(None, knit_m, knit_m * 0.75, xy=(u, v))
        rib = 0.5 + 0.5 * np.cos(2 * np.pi * u / 0.0026)
        c = v < cuff
        return np.where(c, rib, kn)

    def alb(g):
        u, v = g.uv[:, 0], g.uv[:, 1] - 0.0
        along = g.attr[:, 0]
        s_ = along * total
        out_ = np.broadcast_to(col, (len(u), 3)).copy()
        if pattern == "stripes":
            band = (np.floor((s_ - cuff) / 0.014).astype(int)) % len(cols)
            for i, c in enumerate(cols):
                out_[band == i] = c
        elif pattern == "dots":
            per = 0.016
            row = np.floor(s_ / per)
            du = (s_ % per) - per / 2
            dv = ((u + (row % 2) * per / 2) % per) - per / 2
            out_ = lerp(out_, cols[0], smoothstep(0.0046, 0.0038, np.sqrt(du ** 2 + dv ** 2)))
        elif pattern == "argyle":
            su, sv = s_ / 0.034, u / (width / 2)
            cell = np.floor(su + sv).astype(int) + np.floor(su - sv).astype(int)
            out_ = np.where((cell % 2 == 0)[:, None], cols[0][None], out_)
            dg = np.minimum(np.abs(((su + sv) % 1) - 0.5), np.abs(((su - sv) % 1) - 0.5))
            out_ = lerp(out_, cols[1], smoothstep(0.05, 0.02, np.abs(dg - 0.25)))
        elif pattern == "cuffstripes":
            for k, c in enumerate(cols):
                out_ = lerp(out_, c, (np.abs(s_ - cuff * (0.35 + 0.3 * k)) < 0.0026).astype(np.float64))
        if heel_toe:
            ht = (along < -0.5) | (along > 0.93)
            out_ = np.where(ht[:, None], rgb(heel_toe)[None], out_)
        is_heel = along < -0.5
        r_ = relief(u, v)
        shade = (r_ - 0.5) * 0.22 + fuzz * fine.at(u, v) + 0.05 * coarse.at(u, v)
        shade = np.where(is_heel, fuzz * fine.solid(g.pos, g.nrm), shade)
        return np.clip(out_ * (1 + shade)[:, None], 0, 1)

    def bump(g):
        sl = proc_slope(relief, g.uv[:, 0], g.uv[:, 1], 0.0003)
        return np.where((g.attr[:, :1] < -0.5), 0.0, sl)

    return on_floor([r3.Part(mesh, r3.Material(alb, spec=0.03, shine=8, bump=bump))])
# ----------------------------------------------------------------------------- cables
def random_path(rng: np.random.Generator, n: int, step: float, turn: float,
                start_angle: float = 0.0) -> np.ndarray:
    """A smooth random walk: heading changes by a smoothed random turn rate."""
    rate = blur(rng.standard_normal((n, 1)).astype(np.float32), 2.0)[:, 0] * turn
    heading = start_angle + np.cumsum(rate)
    pts = np.cumsum(np.stack([np.cos(heading), np.sin(heading)], 1) * step, 0)
    return np.vstack([[0, 0], pts])


def drape(xy: np.ndarray, r: float) -> np.ndarray:
    """Heights of a tube of radius r lying along a 2-D path: where the path crosses an earlier
    stretch of itself, it rides over it."""
    z = np.full(len(xy), r)
    step = np.linalg.norm(np.diff(xy, axis=0), axis=1).mean()
    gap = int(math.ceil(4 * r / step)) + 2
    d = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    for i in range(len(xy)):
        j = i - gap
        if j <= 0:
            continue
        dm = d[i, :j]
        k = int(np.argmin(dm))
        over = z[k] + 2 * r * 0.95
        z[i] = max(z[i], r + (over - r) * math.exp(-(dm[k] / (2.2 * r)) ** 2))
    return blur(z[:, None].astype(np.float32), 3.0)[:, 0].astype(np.float64).clip(r, None)


def plug(kind: str, colour, s: float = 1.0) -> list[r3.Part]:
    """A connector in a local frame: its axis along +z (pointing away from the cable), y up,
    resting on y = 0; the cable enters at z = 0."""
    body = r3.Material(colour, spec=0.35, shine=50, refl=0.03)
    metal = r3.Material(rgb("#c9ccd0"), spec=0.9, shine=120, refl=0.55, metal=True)
    gold = r3.Material(rgb("#d8b24a"), spec=0.9, shine=120, refl=0.5, metal=True)

    def box(w, h, l, z0, r, y0=0.0):
        o = r3.rounded_rect(w, h, r, 64)
        m = r3.outline_sweep(o, [-r * 0.3, 0.0, 0.0, -r * 0.3], [z0, z0 + r * 0.3, z0 + l - r * 0.3, z0 + l],
                             cap_top=True, cap_bottom=True)
        return m.moved(None, (0, h / 2 + y0, 0))

    parts = []
    relief = r3.tube([[0, 0.004 * s, -0.012 * s], [0, 0.004 * s, 0.004 * s]],
                     np.array([0.0035, 0.005]) * s, sides=12, round_ends=False)
    parts.append(r3.Part(relief, body))
    if kind in ("usb", "usbc"):
        w, h = (0.016, 0.008) if kind == "usb" else (0.012, 0.006)
        parts.append(r3.Part(box(w * s, h * s, 0.03 * s, 0.0, 0.002 * s), body))
        tw, th = (0.012, 0.0045) if kind == "usb" else (0.0084, 0.0026)
        parts.append(r3.Part(box(tw * s, th * s, 0.012 * s, 0.029 * s, 0.0008 * s, y0=(h - th) / 2 * s), metal))
    elif kind == "euro":
        parts.append(r3.Part(box(0.034 * s, 0.02 * s, 0.028 * s, 0.0, 0.009 * s), body))
        for sx in (-1, 1):
            pin = r3.tube([[sx * 0.0095 * s, 0.01 * s, 0.026 * s], [sx * 0.0095 * s, 0.01 * s, 0.045 * s]],
                          0.002 * s, sides=12)
            parts.append(r3.Part(pin, metal))
    elif kind == "power":   # a multi-socket block
        parts.append(r3.Part(box(0.05 * s, 0.035 * s, 0.16 * s, 0.0, 0.008 * s), body))
        for k in range(3):
            hole = r3.revolve([0.017 * s, 0.017 * s, 0.0005], [0, 0.002 * s, 0.002 * s], sides=40)
            hole = hole.moved(None, (0, 0.035 * s, (0.03 + 0.05 * k) * s))
            parts.append(r3.Part(hole, r3.Material(np.asarray(colour) * 0.75, spec=0.2)))
    else:  # rj45: clear plastic with a latch and gold contacts
        parts.append(r3.Part(box(0.012 * s, 0.009 * s, 0.024 * s, 0.0, 0.001 * s),
                             r3.Material(np.asarray(colour) * 0.5 + 0.45, spec=0.8, shine=100, refl=0.15)))
        parts.append(r3.Part(box(0.006 * s, 0.002 * s, 0.014 * s, 0.006 * s, 0.0006 * s, y0=0.009 * s),
                             r3.Material(np.asarray(colour) * 0.5 + 0.45, spec=0.8, shine=100)))
        for k in range(8):
            c = r3.tube([[(k - 3.5) * 0.0012 * s, 0.0088 * s, 0.018 * s], [(k - 3.5) * 0.0012 * s, 0.0088 * s,
                                                                           0.0235 * s]], 0.0003 * s, sides=4)
            parts.append(r3.Part(c, gold))
    return parts


def cable(name: str, colour: str, radius: float, path: np.ndarray, plug_kind: str, plug_col: str,
          other_end: str | None = None, plug_scale: float = 1.0, gloss: float = 0.3) -> list[r3.Part]:
    """A cable lying on the floor along a 2-D path (riding over itself where it crosses),
    with a plug at one or both ends."""
    xy = smooth_path(path, max(int(np.sum(np.linalg.norm(np.diff(path, axis=0), axis=1)) / 0.003), 50))
    z = drape(xy, radius)
    P = np.concatenate([xy, z[:, None]], 1)
    col = rgb(colour)
    rng = rng_for(name)
    fine = noise_tex(rng, 0.05, beta=1.0)
    parts = [r3.Part(r3.tube(P, radius, sides=10),
                     r3.Material(lambda g: col[None] * (1 + 0.03 * fine.at(g.uv[:, 1], g.uv[:, 0]))[:, None],
                                 spec=gloss, shine=40, refl=0.03))]
    for end, kind in ((0, plug_kind), (-1, other_end)):
        if kind is None:
            continue
        k = 0 if end == 0 else len(P) - 1
        k2 = min(k + 3, len(P) - 1) if end == 0 else k - 3
        tdir = xy[k] - xy[k2]
        tdir /= np.linalg.norm(tdir)
        ez = np.array([tdir[0], tdir[1], 0.0])
        ey = np.array([0.0, 0.0, 1.0])
        M = np.stack([np.cross(ey, ez), ey, ez], 1)
        parts += place(plug(kind, rgb(plug_col), plug_scale), M, (xy[k, 0], xy[k, 1], 0.0))
    return on_floor(parts)


def _path(seed: str, n: int, step: float, turn: float) -> np.ndarray:
    return random_path(rng_for(seed), n, step, turn)


def _coil_path() -> np.ndarray:
    th = np.linspace(0, 2.6 * 2 * np.pi, 200)
    rr = 0.09 + 0.012 * np.sin(th * 1.3)
    return np.stack([rr * np.cos(th) + th * 0.012, rr * 0.8 * np.sin(th)], 1)
# ----------------------------------------------------------------------------- pet waste
def poop(name: str, kind: str, colour: str, size: float, gloss: float = 0.35) -> list[r3.Part]:
    """Pet waste: a coil, a few logs, a slumped pile or a cluster of pellets; soft, so it
    flattens where it rests on the floor, lumpy and wet-glossy."""
    rng = rng_for(name)
    S = size
    nz = Noise3(rng)
    meshes = []

    def lumpy(amount, cell):
        return lambda P: 1 + amount * nz(P, cell, 2)

    if kind == "coil":
        turns = 2.3
        t = np.linspace(0, 1, 260)
        th = t * turns * 2 * np.pi + rng.uniform(0, 6.28)
        rad = S * 0.33 * (1 - 0.78 * t)
        r = S * (0.105 - 0.045 * t) * (1 - 0.55 * smoothstep(0.9, 1.0, t))
        z = S * 0.09 + t * turns * S * 0.085
        path = np.stack([rad * np.cos(th), rad * np.sin(th) * 0.92, z], 1)
        path[-12:, 2] += np.linspace(0, S * 0.05, 12) ** 1.0  # the tip curls up
        r *= 1 + 0.12 * np.sin(t * 55)                        # segmented surface
        meshes.append(r3.tube(path, r, sides=20, lumps=lumpy(0.08, S * 0.12)))
    elif kind == "logs":
        axes = []
        a0 = rng.uniform(0, np.pi)
        for k in range(3):
            a = a0 + rng.uniform(-0.7, 0.7)
            length = S * rng.uniform(0.55, 0.8) * (1 - 0.2 * k)
            mid = rng.uniform(-0.12, 0.12, 2) * S
            d = np.array([math.cos(a), math.sin(a)])
            nrm = np.array([-d[1], d[0]]) * rng.uniform(-0.12, 0.12) * S
            xy = smooth_path([mid - d * length / 2, mid + nrm, mid + d * length / 2], 90)
            t = np.linspace(0, 1, len(xy))
            r = S * rng.uniform(0.085, 0.11) * np.clip(np.sin(np.pi * t) ** 0.3, 0.45, 1)
            r *= 1 + 0.1 * np.sin(t * rng.uniform(9, 15))
            z = r * 0.9
            for (axy, ar) in axes:  # drape over the logs below
                dist = np.min(np.linalg.norm(xy[:, None] - axy[None], axis=2), 1)
                z = np.maximum(z, (r + ar * 1.6) * np.exp(-(dist / (ar + r)) ** 2 * 1.5))
            axes.append((xy, r.mean()))
            meshes.append(r3.tube(np.concatenate([xy, z[:, None]], 1), r, sides=18,
                                  lumps=lumpy(0.07, S * 0.1)))
    elif kind == "pile":
        for k in range(8):
            lvl = k / 8
            rr = S * rng.uniform(0.12, 0.17) * (1 - 0.45 * lvl)
            c = np.array([*(rng.normal(0, 0.12 * (1 - lvl), 2) * S), rr * 0.3 + lvl * S * 0.22])
            meshes.append(r3.ellipsoid(c, (rr * 1.25, rr, rr * 0.75), nu=36, nv=18,
                                       bump=lumpy(0.1, S * 0.1)))
    else:  # pellets
        for k in range(int(rng.integers(10, 15))):
            rr = S * rng.uniform(0.06, 0.085)
            xy = np.clip(rng.normal(0, 0.2, 2) * S, -0.4 * S, 0.4 * S)
            stacked = k > 8
            c = (*xy, rr * 0.6 + (rr * 1.2 if stacked else 0))
            meshes.append(r3.ellipsoid(c, (rr * rng.uniform(1.0, 1.4), rr, rr * 0.8), nu=24, nv=12,
                                       bump=lumpy(0.06, S * 0.08)))
    mesh = settle(r3.merge(meshes))
    col = rgb(colour)
    fine = noise_tex(rng, 0.05, beta=1.2)
    relief = noise_tex(rng, 0.04, beta=2.2)
    mottle = noise_tex(rng, 0.2, beta=2.5)
    bits = noise_tex(rng, 0.06, beta=0.3)

    def alb(g):
        n1, n2 = fine.solid(g.pos, g.nrm), mottle.solid(g.pos, g.nrm)
        out = col[None] * (1 + 0.10 * n1 + 0.15 * n2)[:, None]
        b = smoothstep(2.0, 2.6, bits.solid(g.pos, g.nrm))
        return lerp(out, col * 1.6 + 0.05, b * 0.5)

    mat = r3.Material(alb, spec=gloss, shine=40, refl=0.03,
                      bump=lambda g: relief.slope(g.uv[:, 0], g.uv[:, 1], 0.00015))
    return on_floor([r3.Part(mesh, mat)])
# ----------------------------------------------------------------------------- bowls
def bowl_parts(rng: np.random.Generator, R: float, H: float, material: str, colour: str,
               content: str | None = None, food: str = "#8a5a2b", pattern: str | None = None,
               base: float = 0.78, wall: float = 0.004, at=(0.0, 0.0, 0.0)) -> list[r3.Part]:
    """A pet bowl: revolved profile (foot, flared outer wall, rolled rim, inner wall, floor),
    optionally with water or a heap of kibble in it."""
    rb = R * base
    zf = 0.012 if material != "steel" else 0.006           # inner floor height
    rf = rb - 0.012                                        # inner floor radius
    pts = [(rb - 0.006, 0.0), (rb, 0.002), (rb + (R - rb) * 0.45, H * 0.45),
           (R - 0.002, H - 0.006), (R, H - 0.002), (R - wall * 0.5, H), (R - wall, H - 0.003),
           (R - wall - (R - rb) * 0.1, H * 0.75), (rf + 0.01, zf + 0.012), (rf, zf + 0.002),
           (rf - 0.012, zf), (rf * 0.5, zf), (0.001, zf)]
    if material == "steel":  # wide flat rim flange
        pts[3:7] = [(R - 0.014, H - 0.003), (R, H - 0.001), (R + 0.0005, H), (R - 0.016, H),
                    (R - 0.02, H - 0.003)]
    r, z = profile(pts, 140)
    s_par = np.linspace(0, 1, len(r))
    mesh = r3.revolve(r, z, sides=144, attr=np.stack([s_par, z], 1))
    col = rgb(colour)
    grain = noise_tex(rng, 0.08, beta=1.0)
    parts = []
    th_paw = None
    if material == "steel":
        streak = Tex(fractal_noise(rng, 8, 512, beta=1.0), 1.0)

        def alb(g, col=col):
            rr = np.hypot(g.pos[:, 0], g.pos[:, 1])
            st = lookup(streak.img, rr * 2400, np.zeros_like(rr) + 3)
            rubber = (g.pos[:, 2] < 0.006) & (rr > rb - 0.008)
            out = col[None] * (1 + 0.05 * st)[:, None]
            return np.where(rubber[:, None], rgb("#1c1c1e")[None], out)
        mat = r3.Material(alb, spec=0.9, shine=90, refl=0.72, metal=True)
    else:
        def alb(g, col=col):
            out = col[None] * (1 + 0.03 * grain.solid(g.pos, g.nrm))[:, None]
            rr = np.hypot(g.pos[:, 0], g.pos[:, 1])
            if pattern == "band":  # a white band below the rim, outside
                band = (np.abs(g.pos[:, 2] - H * 0.7) < 0.005) & (g.nrm[:, 2] < 0.8) & (rr > R * 0.9)
                out = np.where(band[:, None], rgb("#fafafa")[None], out)
            if pattern == "paws":  # white paw prints around the outer wall
                th = np.arctan2(g.pos[:, 1], g.pos[:, 0])
                k = np.round(th / (2 * np.pi / 8))
                d_th = (th - k * 2 * np.pi / 8) * rr
                dz = g.pos[:, 2] - H * 0.5
                outer = (g.attr[:, 0] < 0.4)
                pad_ = (d_th / 0.012) ** 2 + (dz / 0.010) ** 2 < 1
                toes = np.zeros(len(rr), bool)
                for j in (-1, 0, 1):
                    toes |= ((d_th - j * 0.0105) ** 2 + (dz - 0.0135 - 0.003 * (j == 0)) ** 2) < 0.0045 ** 2
                out = np.where(((pad_ | toes) & outer)[:, None], rgb("#fbfbf8")[None], out)
            return out
        spec, refl = (0.7, 0.12) if material == "ceramic" else (0.35, 0.04)
        mat = r3.Material(alb, spec=spec, shine=70 if material == "ceramic" else 35, refl=refl)
    parts.append(r3.Part(mesh, mat))
    if content == "water":
        zw = zf + (H - zf) * 0.55
        # radius of the inner wall at the water line (the inner part of the profile)
        inner = slice(int(np.argmax(z)) + 1, len(z))
        ri = np.interp(zw, z[inner][::-1], r[inner][::-1])
        wr = np.linspace(ri + 0.001, 0.0005, 40)   # inward: the normal points up
        wmesh = r3.revolve(wr, np.full(len(wr), zw), sides=144)
        ripple = Tex(blur_wrap(fractal_noise(rng, 128, 128, beta=2.5), 1.0), 0.12)

        def water_alb(g, col=col):
            return (col * 0.7 * rgb("#b8d0dc"))[None].repeat(len(g.pos), 0)
        parts.append(r3.Part(wmesh, r3.Material(
            water_alb, spec=1.2, shine=300, refl=0.05,
            bump=lambda g: ripple.slope(g.pos[:, 0], g.pos[:, 1], 0.00025))))
    elif content == "kibble":
        parts.append(kibble_part(rng, rf * 1.05, zf, (H - zf) * 0.9, food))
    if at != (0.0, 0.0, 0.0):
        parts = [r3.Part(p.mesh.moved(None, at), p.mat) for p in parts]
    return parts


def kibble_part(rng: np.random.Generator, radius: float, z0: float, heap: float,
                colour: str) -> r3.Part:
    """A heap of dry food pieces (small lumpy discs and triangles) on a bowl's floor."""
    pieces, tones = [], []
    n = int((radius / 0.0075) ** 2 * 1.5)
    for k in range(n):
        rr = radius * math.sqrt(rng.uniform(0, 1)) * 0.93
        a = rng.uniform(0, 2 * np.pi)
        sz = 0.006 * rng.uniform(0.8, 1.2)
        zc = z0 + heap * (1 - (rr / radius) ** 2) * rng.uniform(0.6, 1.0) + sz * 0.3
        power = 1.0 if rng.uniform() < 0.5 else 1.6
        e = r3.ellipsoid((rr * math.cos(a), rr * math.sin(a), zc), (sz, sz * rng.uniform(0.7, 1.0), sz * 0.55),
                         nu=14, nv=8, power=power)
        ang = rng.uniform(0, np.pi)
        c, s = math.cos(ang), math.sin(ang)
        tilt = rng.uniform(-0.5, 0.5)
        Rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ np.array(
            [[1, 0, 0], [0, math.cos(tilt), -math.sin(tilt)], [0, math.sin(tilt), math.cos(tilt)]])
        ctr = np.array([rr * math.cos(a), rr * math.sin(a), zc])
        e = e.moved(Rz, ctr - Rz @ ctr)
        e.A = np.full((len(e.P), 1), rng.uniform(0.75, 1.2))
        pieces.append(e)
    mesh = r3.merge(pieces)
    col = rgb(colour)
    return r3.Part(mesh, r3.Material(lambda g: col[None] * g.attr[:, :1], spec=0.15, shine=20))


def bowl(name: str, R: float, H: float, material: str, colour: str, **kw) -> list[r3.Part]:
    return on_floor(bowl_parts(rng_for(name), R, H, material, colour, **kw))


def bowl_double(name: str, tray: str, bowl_colour: str) -> list[r3.Part]:
    """A feeding tray holding two steel bowls, one with kibble and one with water."""
    rng = rng_for(name)
    w, d, th = 0.34, 0.18, 0.028
    o = r3.rounded_rect(w, d, 0.05, 220)
    pd = [-0.004, 0.0, 0.0, -0.006, -0.02]
    pz = [0.0, 0.004, th - 0.006, th, th]
    tray_m = r3.outline_sweep(o, pd, pz, cap_top=True)
    n = noise_tex(rng, 0.1, beta=1.2)
    col = rgb(tray)
    parts = [r3.Part(tray_m, r3.Material(lambda g: col[None] * (1 + 0.03 * n.solid(g.pos, g.nrm))[:, None],
                                         spec=0.3, shine=40, refl=0.03))]
    for k, content in enumerate(("kibble", "water")):
        parts += bowl_parts(rng, 0.068, 0.05, "steel", bowl_colour, content=content,
                            at=((k - 0.5) * 0.165, 0.0, th - 0.005))
    return on_floor(parts)
# ----------------------------------------------------------------------------- rags
def rag(name: str, size: float, colour: str, pattern: str, second: str = "#ffffff",
        hem: bool = True, fray: bool = False, stains: bool = False, fold: bool = True,
        ridges: int = 6) -> list[r3.Part]:
    """A crumpled cloth on the floor: a sheet with soft ridges and lumps, one corner folded
    over on top, wavy edges, a woven pattern that follows the folds, a hem."""
    rng = rng_for(name)
    n = 150
    g1 = np.linspace(-size / 2, size / 2, n)
    X, Y = np.meshgrid(g1, g1 * 0.85, indexing="ij")
    U, V = X.copy(), Y.copy()                       # texture coordinates: the flat cloth
    nz = Noise3(rng)
    flat = np.stack([X.ravel(), Y.ravel(), np.zeros(X.size)], 1)
    # wavy, pulled and tucked edges: a large-scale warp of the sheet in its plane
    wx = nz(flat, size * 0.5, 2).reshape(X.shape)
    wy = nz(flat + 5.1, size * 0.5, 2).reshape(X.shape)
    X, Y = X + wx * size * 0.05, Y + wy * size * 0.05
    lines = []
    for j in range(ridges):
        a = rng.uniform(0, np.pi)
        p = rng.normal(0, 0.18, 2) * size
        lines.append((math.cos(a), math.sin(a), p, size * rng.uniform(0.018, 0.04),
                      size * rng.uniform(0.03, 0.075), size * rng.uniform(0.25, 0.45)))

    def height(x, y):
        """The crumpled sheet's height over the floor at plan position (x, y)."""
        h = np.zeros_like(x)
        q = np.stack([x.ravel(), y.ravel(), np.zeros(x.size)], 1)
        warp = nz(q + 9.7, size * 0.4, 1).reshape(x.shape) * size * 0.05
        for nx, ny, p, w, hh, reach in lines:
            d = (x - p[0]) * nx + (y - p[1]) * ny + warp
            along = -(x - p[0]) * ny + (y - p[1]) * nx
            h = h + hh * np.exp(-(d / w) ** 2) * np.exp(-(along / reach) ** 2)
        lumps = nz(q + 3.3, size * 0.25, 2).reshape(x.shape) * size * 0.012
        return np.maximum(h + lumps + size * 0.01, 0)

    Z = height(X, Y)
    if fold:  # fold one corner back over the cloth along a line, with a rounded crease
        a = rng.uniform(0, 2 * np.pi)
        nrm = np.array([math.cos(a), math.sin(a)])
        c0 = nrm * size * rng.uniform(0.18, 0.26)
        e = (X - c0[0]) * nrm[0] + (Y - c0[1]) * nrm[1]       # distance beyond the crease
        rho = 0.004
        phi = np.clip(e / rho, 0, np.pi)
        beyond = np.where(e > np.pi * rho, e - np.pi * rho, 0.0)
        back = np.where(e > 0, rho * np.sin(phi) - beyond - e, 0.0)   # in-plane shift (along nrm)
        Xf, Yf = X + back * nrm[0], Y + back * nrm[1]
        zc = height(X - e.clip(0) * nrm[0], Y - e.clip(0) * nrm[1])   # height at the crease
        lift = np.where(e > 0, rho * (1 - np.cos(phi)), 0.0)
        Zf = np.where(e > np.pi * rho, height(Xf, Yf) + 2 * rho + 0.002, zc + lift)
        X, Y, Z = np.where(e > 0, Xf, X), np.where(e > 0, Yf, Y), np.where(e > 0, Zf, Z)
    P = np.stack([X, Y, Z], -1)
    edge = np.minimum(size / 2 - np.abs(U), size * 0.85 / 2 - np.abs(V))   # metres to the border
    mesh = r3.slab(P, 0.0025, uv=np.stack([U, V], -1), attr=edge[..., None])
    col, col2 = rgb(colour), rgb(second)
    fine = noise_tex(rng, 0.05, beta=0.6)
    soft_n = noise_tex(rng, 0.05, beta=1.6)
    stain_t = noise_tex(rng, 0.3, beta=2.5)
    rot = rng.uniform(-0.2, 0.2)

    def weave_rel(u, v):
        return 0.5 + 0.5 * weave(None, 0.0012, 0, xy=(u, v))

    def relief(u, v):
        if pattern == "terry":
            return 0.5 + 0.5 * np.clip(fine.at(u * 3, v * 3), -2, 2) / 2
        if pattern == "denim":
            return ribs(None, 0.0016, 45, xy=(u, v))
        if pattern in ("plain",):
            return 0.5 + 0.25 * soft_n.at(u * 2, v * 2)
        return weave_rel(u, v)

    def alb(g):
        u, v = g.uv[:, 0], g.uv[:, 1]
        uu, vv = u * math.cos(rot) + v * math.sin(rot), -u * math.sin(rot) + v * math.cos(rot)
        k = len(u)
        if pattern == "gingham":
            su = ((uu / 0.018) % 1 < 0.5).astype(np.float64)
            sv = ((vv / 0.018) % 1 < 0.5).astype(np.float64)
            out = lerp(np.broadcast_to(col2, (k, 3)), col, (su + sv) / 2)
        elif pattern == "terry":
            out = col[None] * (1 + 0.12 * fine.at(u * 3, v * 3))[:, None]
            band = (np.abs(vv - size * 0.12) < 0.009).astype(np.float64)
            out = lerp(out, col2, band * 0.9)
        elif pattern == "stripes":
            out = lerp(np.broadcast_to(col, (k, 3)), col2, (((uu + vv * 0.05) / 0.014) % 1 < 0.33) * 1.0)
        elif pattern == "denim":
            out = lerp(np.broadcast_to(col, (k, 3)), col2, ribs(None, 0.0016, 45, xy=(u, v)) * 0.35
                       + 0.1 * fine.at(u, v))
        else:
            out = col[None] * (1 + 0.08 * soft_n.at(u * 2, v * 2))[:, None]
        out = out * (1 + 0.04 * fine.at(u, v))[:, None]
        if stains:
            st = smoothstep(1.0, 1.7, stain_t.at(u, v))
            out = lerp(out, out * rgb("#a08a60"), st * 0.6)
        if hem:
            e = g.attr[:, 0]
            out = lerp(out, out * 0.86, (e < 0.006).astype(np.float64))
            stitch = (np.abs(e - 0.0035) < 0.0005) & (((u + v) / 0.003) % 1 < 0.6)
            out = lerp(out, col * 0.7 + 0.15, stitch * 1.0)
        if fray:
            out = lerp(out, out * 0.9 + 0.08, smoothstep(0.004, 0.0, g.attr[:, 0]))
        return np.clip(out, 0, 1)

    mat = r3.Material(alb, spec=0.03, shine=8, two_sided=True,
                      bump=lambda g: proc_slope(relief, g.uv[:, 0], g.uv[:, 1], 0.0003))
    return on_floor([r3.Part(mesh, mat)])
# ----------------------------------------------------------------------------- scales
def circle(rx: float, ry: float, n: int = 240) -> np.ndarray:
    """CCW ellipse outline."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([rx * np.cos(a), ry * np.sin(a)], 1)


def decal_material(decal: Decal, side, side_spec: float = 0.2, side_refl: float = 0.0,
                   shine: float = 80.0, top_z: float = 0.0, metal_side: bool = False) -> r3.Material:
    """A material showing `decal` on upward faces above top_z and a plain colour elsewhere."""
    side = np.asarray(side, np.float64)

    def get(g):
        if not hasattr(g, "_decal"):
            g._decal = decal.sample(g.pos), (g.nrm[:, 2] > 0.75) & (g.pos[:, 2] > top_z)
        return g._decal

    def pick(i, other):
        def f(g):
            vals, top = get(g)
            v = vals[i]
            o = np.broadcast_to(np.asarray(other, np.float64), v.shape)
            return np.where(top[:, None] if v.ndim == 2 else top, v, o)
        return f

    return r3.Material(pick(0, side), spec=pick(1, side_spec), shine=shine, refl=pick(2, side_refl),
                       emit=pick(3, (0.0, 0.0, 0.0)), bump=pick(4, (0.0, 0.0, 0.0)))


def scale(name: str, w: float, d: float, style: str, tint: str | None = None,
          reading: str = "0.0") -> list[r3.Part]:
    """A bathroom scale: a slab 2-5 cm thick with rounded corners on four feet; glass plate
    over a base, white plastic, bamboo, or a mechanical dial under a lens. Its display sits
    at the back end, readable from the front (where one steps on)."""
    rng = rng_for(name)
    round_ = style == "round"
    outline = circle(w / 2, d / 2) if round_ else r3.rounded_rect(w, d, 0.045 if style != "dial" else 0.06, 260)
    dec = Decal(w, d)
    Hp, Wp = dec.shape
    n_fine = fractal_noise(rng, Hp, Wp, beta=1.0)
    xx, yy = grid(dec.shape)
    foot = 0.004
    parts: list[r3.Part] = []
    glass_edge = rgb("#5f7d74")
    if style in ("glass", "round"):
        top = 0.026
        base_col = rgb("#202225") if style == "glass" else rgb("#d9d6d0")
        base = r3.outline_sweep(outline, [-0.018, -0.013, -0.013, -0.016], [foot, foot + 0.003, 0.019, 0.019],
                                cap_top=False)
        parts.append(r3.Part(base, r3.Material(base_col, spec=0.3, shine=40)))
        plate = r3.outline_sweep(outline, [-0.0008, 0.0, 0.0, -0.0008], [0.019, 0.0196, top - 0.0006, top])
        glass = hex2rgb(tint or ("#121417" if style == "glass" else "#ebe8e3"))
        dec.paint(np.ones(dec.shape), textured(glass, n_fine, 0.02), spec=1.0, refl=0.16)
        for fx, fy in ((0.22, 0.36), (0.78, 0.36), (0.22, 0.76), (0.78, 0.76)):  # electrodes
            if round_:
                fx, fy = 0.5 + (fx - 0.5) * 0.85, 0.55 + (fy - 0.55) * 0.85
            pm = ellipse_mask(dec.shape, (fx * Wp, fy * Hp), (0.12 * Wp, 0.13 * Hp))
            brushed = 0.85 + 0.1 * np.sin(xx * 0.9 + n_fine)
            dec.paint(pm, hex2rgb("#c9ccd0") * brushed[..., None], spec=0.9, refl=0.35)
        disp = rect_mask(dec.shape, 0.34 * Wp, 0.1 * Hp, 0.66 * Wp, 0.22 * Hp, 0.01 * Wp)
        dec.paint(disp, hex2rgb("#07080b"), spec=1.0, refl=0.2)
        txt = seven_segment(dec.shape, reading, 0.38 * Wp, 0.125 * Hp, 0.07 * Hp)
        dec.paint(txt * disp, emit=hex2rgb("#6ad0ff") if style == "glass" else hex2rgb("#ff5a3c"))
        parts.append(r3.Part(plate, decal_material(dec, glass_edge if style == "glass" else rgb("#c8d2cc"),
                                                   side_spec=1.0, side_refl=0.3, shine=200, top_z=0.02)))
    elif style == "white":
        top = 0.028
        body = r3.outline_sweep(outline, [-0.012, -0.006, -0.001, 0.0, 0.0, -0.002, -0.007, -0.012],
                                [foot, foot + 0.001, foot + 0.004, foot + 0.008, top - 0.007, top - 0.002,
                                 top - 0.0003, top])
        dec.paint(np.ones(dec.shape), textured(hex2rgb("#f1f1ee"), n_fine, 0.02), spec=0.35, refl=0.03)
        rib = ribs(dec.shape, 0.004 * dec.k, 90)
        for sx in (-1, 1):  # grey rubber foot pads with ribs
            fp = [(0.5 + sx * 0.06, 0.3), (0.5 + sx * 0.2, 0.26), (0.5 + sx * 0.36, 0.34),
                  (0.5 + sx * 0.36, 0.72), (0.5 + sx * 0.28, 0.9), (0.5 + sx * 0.1, 0.88),
                  (0.5 + sx * 0.05, 0.6)]
            pm = poly_mask(dec.shape, closed_spline([(a * Wp, b * Hp) for a, b in fp], 200))
            dec.paint(pm, hex2rgb("#8e949a") * (0.85 + 0.15 * rib)[..., None], spec=0.1, refl=0.0,
                      relief=0.0006 * rib)
        disp = rect_mask(dec.shape, 0.38 * Wp, 0.07 * Hp, 0.62 * Wp, 0.19 * Hp, 0.01 * Wp)
        dec.paint(disp, hex2rgb("#b9c2b4"), spec=0.6, refl=0.08)
        txt = seven_segment(dec.shape, "0.0", 0.43 * Wp, 0.095 * Hp, 0.07 * Hp)
        dec.paint(txt * disp, hex2rgb("#2b2f2c"))
        parts.append(r3.Part(body, decal_material(dec, rgb("#eeeeea"), side_spec=0.3, shine=40,
                                                  top_z=top - 0.004)))
    elif style == "wood":
        top = 0.027
        base = r3.outline_sweep(outline, [-0.016, -0.012, -0.012], [foot, foot + 0.003, 0.015], cap_top=False)
        parts.append(r3.Part(base, r3.Material(rgb("#e6e4df"), spec=0.3, shine=40)))
        plate = r3.outline_sweep(outline, [-0.0015, 0.0, 0.0, -0.0015], [0.015, 0.0165, top - 0.0015, top])
        wob = blur(fractal_noise(rng, Hp, Wp, beta=4.0, aspect=0.1), 3)
        grain = 0.5 + 0.5 * np.sin(xx / (0.0011 * dec.k) + 3.0 * wob)
        strip = (xx // (0.022 * dec.k)).astype(int)
        tone = np.choose(strip % 3, [0.93, 1.0, 1.08]).astype(np.float32)
        node_y = (strip * 0.37 % 1.0) * Hp * 0.8 + 0.1 * Hp   # bamboo nodes
        tone = tone * (1 - 0.18 * np.exp(-((yy - node_y) / (0.0015 * dec.k)) ** 2))
        alb = hex2rgb("#c79a5e")[None, None] * (tone * (0.9 + 0.1 * grain))[..., None]
        dec.paint(np.ones(dec.shape), textured(alb, n_fine, 0.03), spec=0.25, refl=0.03,
                  relief=0.0002 * grain)
        seams = np.abs(((xx / (0.022 * dec.k)) % 1.0) - 0.5) > 0.48
        dec.paint(seams.astype(np.float32) * 0.6, hex2rgb("#8a6236"))
        txt = seven_segment(dec.shape, reading if reading != "0.0" else "72.4", 0.37 * Wp, 0.12 * Hp, 0.08 * Hp)
        dec.paint(txt * 0.5, hex2rgb("#ff4a2a"), emit=hex2rgb("#ff4a2a") * 0.6)
        parts.append(r3.Part(plate, decal_material(dec, rgb("#b58a52"), side_spec=0.2, shine=40,
                                                   top_z=0.02)))
    else:  # dial: a thick mechanical scale with a lens over the dial at the back
        top = 0.05
        body = r3.outline_sweep(outline, [-0.02, -0.01, -0.003, 0.0, 0.0, -0.004, -0.012, -0.02],
                                [foot, foot + 0.002, foot + 0.006, foot + 0.014, top - 0.016, top - 0.006,
                                 top - 0.0012, top])
        dec.paint(np.ones(dec.shape), textured(hex2rgb("#d9d4cb"), n_fine, 0.03), spec=0.3, refl=0.02)
        mat = rect_mask(dec.shape, 0.08 * Wp, 0.38 * Hp, 0.92 * Wp, 0.93 * Hp, 0.05 * Wp)
        dots = ((np.sin(xx / (0.0022 * dec.k)) * np.sin(yy / (0.0022 * dec.k))) > 0.3).astype(np.float32)
        dec.paint(mat, hex2rgb("#2a2b2d") * (0.8 + 0.3 * dots)[..., None], spec=0.1, refl=0.0,
                  relief=0.0005 * dots)
        dc = (0.5 * Wp, 0.2 * Hp)
        win = ellipse_mask(dec.shape, dc, (0.2 * Wp, 0.13 * Hp))
        dec.paint(win, hex2rgb("#f7f5ee"), spec=0.3)
        ticks = np.zeros(dec.shape, np.float32)
        for k in range(-12, 13):
            a = math.radians(-90 + k * 6)
            r0 = 0.15 * Wp * (0.82 if k % 5 else 0.7)
            p0 = (dc[0] + r0 * math.cos(a), dc[1] + 0.6 * Hp / Wp * r0 * math.sin(a) + 0.06 * Hp)
            p1 = (dc[0] + 0.18 * Wp * math.cos(a), dc[1] + 0.6 * Hp / Wp * 0.18 * Wp * math.sin(a) + 0.06 * Hp)
            ticks = np.maximum(ticks, stroke_mask(dec.shape, [p0, p1], 0.0009 * dec.k))
        dec.paint(ticks * win, hex2rgb("#222222"))
        needle = stroke_mask(dec.shape, [(dc[0], dc[1] + 0.06 * Hp), (dc[0] + 0.01 * Wp, dc[1] - 0.06 * Hp)],
                             0.0014 * dec.k)
        dec.paint(needle * win, hex2rgb("#d22a1e"))
        parts.append(r3.Part(body, decal_material(dec, rgb("#d5d0c6"), side_spec=0.3, shine=40,
                                                  top_z=top - 0.01)))
        # the lens: a shallow clear dome over the dial, showing the dial under it
        cx, cy = w / 2 - dc[0] / dec.k, dc[1] / dec.k - d / 2
        lens = r3.ellipsoid((cx, cy, top - 0.002), (0.2 * w * 1.02, 0.13 * d * 1.02, 0.008), nu=64, nv=24)
        lens_dec = decal_material(dec, rgb("#f7f5ee"), shine=300, top_z=-1)
        lens_dec.refl = 0.22
        lens_dec.spec = 1.2
        parts.append(r3.Part(lens, lens_dec))
    # four rubber feet under the corners
    for sx in (-1, 1):
        for sy in (-1, 1):
            fr = 0.013
            f = r3.revolve([fr, fr, fr * 0.6, 0.0005], [0.0, foot + 0.002, foot + 0.002, foot + 0.002], sides=32)
            parts.append(r3.Part(f.moved(None, (sx * w * (0.36 if not round_ else 0.28),
                                                 sy * d * (0.36 if not round_ else 0.28), 0.0)),
                                 r3.Material(rgb("#1f1f21"), spec=0.1)))
    return on_floor(parts)
# ----------------------------------------------------------------------------- fans
# Fan heads are built in a local frame whose +z is the air flow (the front) and +y is up;
# HEAD_TO_WORLD turns them to the object frame (front = +y, up = +z).
HEAD_TO_WORLD = np.array([[-1.0, 0, 0], [0, 0, 1.0], [0, 1.0, 0]])


def rot_x(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def ring_path(r: float, z: float, n: int = 96) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi * (1 + 1.5 / n), n)
    return np.stack([r * np.cos(a), r * np.sin(a), np.full(n, z)], 1)


def guard(R: float, dome: float, rings: int, spokes: int, wire: float, z0: float = 0.0,
          hub: float = 0.22, spiral: float = 0.0) -> r3.Mesh:
    """A wire grille: concentric rings and radial spokes on a dome (height `dome` at the
    centre above z0, towards +z when dome > 0)."""
    prof = lambda r: z0 + dome * np.cos(np.clip(r / R, 0, 1) * np.pi / 2)  # noqa: E731
    ms = []
    for k in range(1, rings + 1):
        r = R * (hub + (1 - hub) * k / (rings + 1))
        ms.append(r3.tube(ring_path(r, float(prof(r)), 120), wire, sides=6))
    s = np.linspace(R * hub * 0.98, R * 0.99, 18)
    for j in range(spokes):
        a = 2 * np.pi * j / spokes + spiral * (s / R)
        ms.append(r3.tube(np.stack([s * np.cos(a), s * np.sin(a), prof(s)], 1), wire * 0.85, sides=5,
                          round_ends=False))
    ms.append(r3.tube(ring_path(R * hub, float(prof(R * hub)), 60), wire * 1.2, sides=6))
    return r3.merge(ms)


def blades(n: int, r0: float, rb: float, z: float, span: float, pitch: float = 0.45,
           sweep: float = 0.35, spin: float = 0.0) -> r3.Mesh:
    """n twisted fan blades (thin two-sided sheets) around the local z axis."""
    ms = []
    s = np.linspace(0, 1, 16)[:, None]
    q = np.linspace(-1, 1, 14)[None, :]
    for k in range(n):
        ak = spin + 2 * np.pi * k / n
        width = span * (0.35 + 0.65 * np.sin(np.pi * (0.15 + 0.7 * s)) ** 0.7)
        r = r0 + (rb - r0) * s * (1 - 0.12 * q ** 2)
        a = ak + q * width / 2 + sweep * s
        zz = z + q * width / 2 * r * math.tan(pitch)
        ms.append(r3.grid_mesh(np.stack([r * np.cos(a), r * np.sin(a), zz + 0 * a], -1)))
    return r3.merge(ms)


def fan_head(rng, R: float, frame, blade, nblades: int, rings: int = 4, spokes: int = 40,
             wire: float = 0.0012, depth: float = 0.06, motor: float | None = 0.1,
             hub_col=None) -> list[r3.Part]:
    """A round fan head (local frame, axis +z): back guard, blades, hub, front guard with a
    badge, rim, and the motor housing behind."""
    fr = r3.Material(frame, spec=0.45, shine=50, refl=0.04)
    parts = [r3.Part(guard(R, -0.25 * depth, rings, spokes, wire, z0=-depth * 0.35, hub=0.3), fr),
             r3.Part(guard(R, 0.35 * depth, rings + 1, spokes, wire, z0=depth * 0.35, hub=0.2,
                           spiral=0.5), fr),
             r3.Part(r3.tube(ring_path(R, depth * 0.35, 160), wire * 2.6, sides=8, squash=1.6), fr)]
    bl = blades(nblades, R * 0.16, R * 0.88, 0.0, 2 * np.pi / nblades * 0.8, spin=rng.uniform(0, 6.3))
    parts.append(r3.Part(bl, r3.Material(blade, spec=0.5, shine=60, refl=0.05, two_sided=True)))
    hub = r3.revolve([R * 0.17, R * 0.17, R * 0.12, R * 0.001], [-depth * 0.15, depth * 0.15, depth * 0.32,
                                                                  depth * 0.36], sides=48)
    parts.append(r3.Part(hub, r3.Material(hub_col if hub_col is not None else frame, spec=0.5, shine=60)))
    badge = r3.revolve([R * 0.19, R * 0.19, R * 0.001], [depth * 0.68, depth * 0.72, depth * 0.72], sides=48)
    parts.append(r3.Part(badge, r3.Material(np.asarray(frame) * 0.85, spec=0.6, shine=80, refl=0.08)))
    if motor:
        mz = [-depth * 0.4, -depth * 0.45, -depth * 0.5 - motor * 0.5, -depth * 0.45 - motor, -depth * 0.5 - motor]
        mr = [R * 0.3, R * 0.34, R * 0.34, R * 0.25, R * 0.001]
        parts.append(r3.Part(r3.revolve(np.array(mr[::-1]), np.array(mz[::-1]), sides=64),
                             r3.Material(frame, spec=0.45, shine=50, refl=0.04)))
    return parts


def place(parts: list[r3.Part], R: np.ndarray, t) -> list[r3.Part]:
    return [r3.Part(p.mesh.moved(R, t), p.mat) for p in parts]


def fan_pedestal(name: str, total_h: float, R: float, frame: str, blade: str, nblades: int,
                 base: str = "disc", tilt: float = 8.0) -> list[r3.Part]:
    """A standing fan: round or cross base, telescopic pole, motor, round guard."""
    rng = rng_for(name)
    fcol, bcol = rgb(frame), rgb(blade)
    wire = max(0.0009, 0.0011 * total_h)
    zc = total_h - R * 1.02
    head = fan_head(rng, R, fcol, bcol, nblades, rings=4, spokes=44, wire=wire, depth=0.07, motor=0.1)
    Rh = HEAD_TO_WORLD @ rot_x(math.radians(tilt))
    parts = place(head, Rh, (0.0, 0.0, zc))
    mat = r3.Material(fcol, spec=0.4, shine=50, refl=0.04)
    chrome = r3.Material(rgb("#cfd3d8"), spec=0.9, shine=120, refl=0.6, metal=True)
    if base == "disc":
        br = R * 0.95
        b = r3.revolve([br, br * 1.0, br * 0.92, br * 0.45, br * 0.3, 0.02, 0.001],
                       [0.0, 0.012, 0.028, 0.045, 0.05, 0.055, 0.055], sides=96)
        parts.append(r3.Part(b, mat))
        z_pole = 0.05
    else:  # cross legs with rubber feet
        for a in (0.25 * np.pi, 0.75 * np.pi):
            d = np.array([math.cos(a), math.sin(a)]) * R * 1.05
            leg = np.array([[-d[0], -d[1], 0.012], [0, 0, 0.04], [d[0], d[1], 0.012]])
            parts.append(r3.Part(r3.tube(smooth_path(leg, 30), 0.011, sides=12, squash=0.6), mat))
            for sgn in (-1, 1):
                parts.append(r3.Part(r3.ellipsoid((sgn * d[0], sgn * d[1], 0.006), (0.018, 0.018, 0.007),
                                                  nu=20, nv=10), r3.Material(rgb("#222222"), spec=0.1)))
        parts.append(r3.Part(r3.ellipsoid((0, 0, 0.04), (0.03, 0.03, 0.02), nu=24, nv=12), mat))
        z_pole = 0.04
    z_mid = z_pole + (zc - z_pole) * 0.55
    parts.append(r3.Part(r3.tube([[0, 0, z_pole], [0, 0, z_mid]], 0.015, sides=20, round_ends=False), mat))
    parts.append(r3.Part(r3.tube([[0, 0, z_mid], [0, 0, zc - R * 0.25]], 0.0095, sides=16,
                                 round_ends=False), chrome))
    parts.append(r3.Part(r3.revolve([0.02, 0.02, 0.017, 0.0005], [z_mid - 0.01, z_mid + 0.012, z_mid + 0.02,
                                                                     z_mid + 0.02], sides=32), mat))
    # yoke from the pole top to the motor's underside
    parts.append(r3.Part(r3.tube([[0, 0, zc - R * 0.3], [0, -0.03, zc - R * 0.3 + 0.03],
                                  [0, -0.07, zc - R * 0.2]], 0.012, sides=12), mat))
    # buttons on the base or the motor
    for k in range(3):
        bx = (k - 1) * 0.022
        btn = r3.ellipsoid((bx, R * 0.5 if base == "disc" else -0.085, 0.05 if base == "disc" else zc - R * 0.1),
                           (0.008, 0.006, 0.004), nu=16, nv=8, power=1.5)
        parts.append(r3.Part(btn, r3.Material(rgb("#3a7bd5") if frame != "#1c1d20" else rgb("#e0e0e0"),
                                              spec=0.5, shine=60)))
    return on_floor(parts)


def annulus_square(R: float, side: float, corner: float, z: float, n: int = 160, rings: int = 6) -> np.ndarray:
    """Grid between a circle of radius R and a rounded square around it, at height z (local)."""
    o = r3.rounded_rect(side, side, corner, n)
    a = np.arctan2(o[:, 1], o[:, 0])
    c = np.stack([R * np.cos(a), R * np.sin(a)], 1)
    s = np.linspace(0, 1, rings)[None, :, None]
    xy = c[:, None] * (1 - s) + o[:, None] * s
    return np.concatenate([xy, np.full((n, rings, 1), z)], -1)


def fan_box(name: str, size: float, frame: str, blade: str) -> list[r3.Part]:
    """A box fan standing on its feet: square frame with a round tunnel, grilles front and
    back, five blades, a carry handle and a dial."""
    rng = rng_for(name)
    fcol, bcol = rgb(frame), rgb(blade)
    depth = size * 0.28
    R = size * 0.44
    wire = max(0.0009, 0.0011 * size)
    mat = r3.Material(fcol * (1 + 0 * fcol), spec=0.35, shine=40, refl=0.03)
    o = r3.rounded_rect(size, size, size * 0.06, 200)
    shell = r3.outline_sweep(o, [-0.004, 0.0, 0.0, -0.004], [-depth / 2, -depth / 2 + 0.004, depth / 2 - 0.004,
                                                              depth / 2], cap_top=False)
    front = r3.grid_mesh(annulus_square(R, size - 0.008, size * 0.055, depth / 2), wrap_u=True, flip=True)
    back = r3.grid_mesh(annulus_square(R, size - 0.008, size * 0.055, -depth / 2), wrap_u=True)
    tunnel = r3.revolve(np.full(8, R), np.linspace(depth / 2, -depth / 2, 8), sides=120)
    parts = [r3.Part(m, mat) for m in (shell, front, back, tunnel)]
    fr = r3.Material(fcol * 0.95, spec=0.4, shine=50)
    parts.append(r3.Part(guard(R, 0.0, 5, 60, wire, z0=depth / 2 - 0.003, hub=0.15), fr))
    parts.append(r3.Part(guard(R, 0.0, 5, 60, wire, z0=-depth / 2 + 0.003, hub=0.15), fr))
    parts.append(r3.Part(blades(5, R * 0.14, R * 0.92, 0.0, 2 * np.pi / 5 * 0.75, spin=0.4),
                         r3.Material(bcol, spec=0.4, shine=50, two_sided=True)))
    parts.append(r3.Part(r3.revolve([R * 0.13, R * 0.13, R * 0.001], [-depth * 0.3, depth * 0.1, depth * 0.12],
                                    sides=48), r3.Material(fcol * 0.85, spec=0.4, shine=50)))
    # carry handle on top, feet, a dial at the top-right corner (all local: y up, z front)
    top = size / 2
    hp = [[-0.06, top - 0.003, 0], [-0.05, top + 0.03, 0], [0.05, top + 0.03, 0], [0.06, top - 0.003, 0]]
    parts.append(r3.Part(r3.tube(smooth_path(hp, 40), 0.009, sides=12, squash=1.6), mat))
    for fx in (-0.38, 0.38):
        foot = r3.outline_sweep(r3.rounded_rect(size * 0.12, depth * 1.4, 0.01, 48) , [-0.002, 0.0, 0.0, -0.002],
                                [0.0, 0.002, 0.018, 0.02])
        foot = foot.moved(np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]]), (fx * size, -top - 0.018, 0.0))
        parts.append(r3.Part(foot, r3.Material(rgb("#2a2a2a"), spec=0.1)))
    knob = r3.revolve([0.018, 0.018, 0.014, 0.0005], [0, 0.012, 0.016, 0.016], sides=32)
    parts.append(r3.Part(knob.moved(None, (size * 0.4, size * 0.4, depth / 2)),
                         r3.Material(rgb("#3b3d42"), spec=0.4, shine=50)))
    return on_floor(place(parts, HEAD_TO_WORLD, (0.0, 0.0, 0.0)))


def fan_tower(name: str, total_h: float, width: float, body: str, grille: str, accent: str) -> list[r3.Part]:
    """A tower fan: a tall rounded column on a round base, a slotted grille down its front,
    a vent at the back, a control panel with a display on top."""
    rng = rng_for(name)
    bcol = rgb(body)
    deep = width * 0.9
    o = r3.rounded_rect(width, deep, width * 0.45, 160)
    z0, z1 = 0.035, total_h
    col = r3.outline_sweep(o, [-0.006, 0.0, 0.0, -0.004, -0.012], [z0, z0 + 0.006, z1 - 0.01, z1 - 0.002, z1])
    dec = Decal(width, deep, 3000)
    Hp, Wp = dec.shape
    dec.paint(np.ones(dec.shape), hex2rgb("#16171a"), spec=0.9, refl=0.15)
    for k in range(3):
        b = ellipse_mask(dec.shape, (Wp * (0.3 + 0.2 * k), Hp * 0.65), (0.004 * dec.k, 0.004 * dec.k))
        dec.paint(b, hex2rgb("#2c2e33"), emit=hex2rgb(accent) * 0.8)
    txt = seven_segment(dec.shape, "24", Wp * 0.38, Hp * 0.18, 0.012 * dec.k)
    dec.paint(txt, emit=hex2rgb(accent))
    gcol = rgb(grille)
    fine = noise_tex(rng, 0.05, beta=1.0)

    def alb(g):
        x, y, z = g.pos[:, 0], g.pos[:, 1], g.pos[:, 2]
        out = bcol[None] * (1 + 0.02 * fine.solid(g.pos, g.nrm))[:, None]
        front = (g.nrm[:, 1] > 0.55) & (z > z0 + 0.09) & (z < z1 - 0.09)
        slat = np.sin(z / 0.0032 * np.pi) > -0.3
        out = np.where((front & slat)[:, None], gcol[None] * 1.4, out)
        out = np.where((front & ~slat)[:, None], gcol[None] * 0.4, out)
        back = (g.nrm[:, 1] < -0.7) & (z > z0 + 0.15) & (z < z0 + 0.35)
        vent = np.sin(x / 0.003 * np.pi) > 0.2
        out = np.where((back & vent)[:, None], out * 0.35, out)
        handle = (g.nrm[:, 1] < -0.7) & (np.abs(z - (z1 - 0.1)) < 0.012) & (np.abs(x) < width * 0.25)
        out = np.where(handle[:, None], out * 0.3, out)
        top = (g.nrm[:, 2] > 0.9) & (z > z1 - 0.003)
        a_, sp, rf, em, _ = dec.sample(g.pos)
        return np.where(top[:, None], a_, out)

    def emit(g):
        top = (g.nrm[:, 2] > 0.9) & (g.pos[:, 2] > z1 - 0.003)
        return np.where(top[:, None], dec.sample(g.pos)[3], 0.0)

    def bump(g):
        z = g.pos[:, 2]
        front = (g.nrm[:, 1] > 0.55) & (z > z0 + 0.09) & (z < z1 - 0.09)
        s = 0.5 * np.cos(z / 0.0032 * np.pi) * front
        return np.stack([np.zeros_like(s), np.zeros_like(s), s], 1)

    parts = [r3.Part(col, r3.Material(alb, spec=0.4, shine=50, refl=0.04, emit=emit, bump=bump))]
    br = width * 0.85
    base = r3.revolve([br, br, br * 0.95, br * 0.5, 0.001], [0.0, 0.012, 0.03, 0.04, 0.042], sides=96)
    parts.append(r3.Part(base, r3.Material(bcol * 0.85, spec=0.5, shine=60, refl=0.05)))
    return on_floor(parts)


def fan_floor(name: str, R: float, frame: str, blade: str, tilt: float = 25.0) -> list[r3.Part]:
    """A low floor circulator: a deep round cage tilted back on a U bracket with a wide foot."""
    rng = rng_for(name)
    fcol, bcol = rgb(frame), rgb(blade)
    wire = max(0.0009, 0.0011 * 2.6 * R)
    zc = R * 1.45
    head = fan_head(rng, R, fcol, bcol, 4, rings=5, spokes=36, wire=wire, depth=R * 0.5, motor=R * 0.35)
    Rh = HEAD_TO_WORLD @ rot_x(-math.radians(tilt))
    parts = place(head, Rh, (0.0, 0.0, zc))
    mat = r3.Material(fcol, spec=0.4, shine=50, refl=0.04)
    foot = r3.outline_sweep(r3.rounded_rect(R * 1.5, R * 0.9, R * 0.4, 120), [-0.006, 0.0, 0.0, -0.01],
                            [0.0, 0.006, 0.022, 0.03])
    parts.append(r3.Part(foot.moved(None, (0, -R * 0.1, 0)), mat))
    for sx in (-1, 1):
        arm = [[sx * R * 0.55, -R * 0.1, 0.025], [sx * R * 1.1, -R * 0.05, zc * 0.5], [sx * R * 1.12, 0, zc]]
        parts.append(r3.Part(r3.tube(smooth_path(arm, 30), 0.011, sides=12, squash=0.6), mat))
        piv = r3.revolve([0.022, 0.022, 0.001], [0, 0.014, 0.016], sides=32)
        piv = piv.moved(np.array([[0, 0, sx * 1.0], [0, 1.0, 0], [-sx * 1.0, 0, 0]]), (sx * R * 1.09, 0, zc))
        parts.append(r3.Part(piv, mat))
    return on_floor(parts)


# ----------------------------------------------------------------------------- distractors
def leaf(name: str, length: float, colour: str, shape: str, vein: str, curl: float = 0.25) -> list[r3.Part]:
    """A fallen leaf: a thin curled sheet (lobed maple or serrated elliptic outline), midrib
    and side veins, and a stem."""
    rng = rng_for(name)
    nz = Noise3(rng)
    L = length
    if shape == "maple":
        a = np.linspace(0, 2 * np.pi, 180, endpoint=False)
        lobes = 0.55 + 0.45 * np.abs(np.cos(a * 2.5 + np.pi / 2 * 0)) ** 0.6
        rr = L * 0.5 * lobes * (1 + 0.05 * np.sin(a * 23))
        rr *= 1 - 0.5 * np.exp(-((a - 3 * np.pi / 2) / 0.25) ** 2)       # notch at the stem
        rho = np.linspace(0.002, 1, 30)
        X = np.cos(a)[:, None] * rr[:, None] * rho[None]
        Y = np.sin(a)[:, None] * rr[:, None] * rho[None]
        S = (Y / L + 0.5)                                                # 0 at the stem end
        Q = X / L
        wrap = True
    else:
        s = np.linspace(0, 1, 60)
        q = np.linspace(-1, 1, 25)
        half = L * 0.26 * np.sin(np.pi * s) ** 0.8 * (1 - 0.35 * (1 - s)) * (1 + 0.04 * np.sin(s * 90))
        Y = (s[:, None] - 0.5) * L + 0 * q[None]
        X = half[:, None] * q[None]
        S, Q = s[:, None] + 0 * q[None], X / L
        wrap = False
    d = np.abs(X) / L
    Z = curl * L * d ** 2 * 2 + 0.08 * L * (S - 0.5) ** 2
    flat = np.stack([X.ravel(), Y.ravel(), np.zeros(X.size)], 1)
    Z = Z + nz(flat, L * 0.3, 2).reshape(X.shape) * L * 0.02
    P = np.stack([X, Y, Z], -1)
    m = r3.grid_mesh(P, wrap_u=wrap, attr=np.stack([S, Q], -1))
    col, vcol = rgb(colour), rgb(vein)
    fine = noise_tex(rng, 0.04, beta=1.5)
    blot = noise_tex(rng, 0.15, beta=3.0)

    def alb(g):
        s_, q_ = g.attr[:, 0], g.attr[:, 1]
        out = col[None] * (1 + 0.1 * fine.at(g.pos[:, 0], g.pos[:, 1]) + 0.12 * blot.at(g.pos[:, 0], g.pos[:, 1]))[:, None]
        if shape == "maple":
            ang = np.arctan2(g.pos[:, 1] + L * 0.25, g.pos[:, 0])
            vein_m = np.zeros(len(s_), bool)
            for va in (90, 35, 145, -5, 185):
                dv = np.abs(np.sin(ang - math.radians(va))) * np.hypot(g.pos[:, 0], g.pos[:, 1] + L * 0.25)
                vein_m |= (dv < 0.0011) & (np.cos(ang - math.radians(va)) > 0)
        else:
            vein_m = np.abs(q_ * L) < 0.0012
            for k in range(1, 8):
                s0 = k / 8.5
                side = np.abs((s_ - s0) - np.abs(q_) * 1.2) * L < 0.0007
                vein_m |= side & (np.abs(q_) < 0.22 * (1 - k / 10))
        return lerp(out, vcol, vein_m * 0.7)

    parts = [r3.Part(m, r3.Material(alb, spec=0.15, shine=30, two_sided=True))]
    stem = [[0, -L * 0.5 * (0.55 if shape == "maple" else 1.0), 0.001],
            [0.004, -L * 0.5 * (0.55 if shape == "maple" else 1.0) - L * 0.08, 0.003],
            [0.008, -L * 0.5 * (0.55 if shape == "maple" else 1.0) - L * 0.15, 0.006]]
    parts.append(r3.Part(r3.tube(smooth_path(stem, 20), 0.0012, sides=6), r3.Material(vcol * 0.8, spec=0.1)))
    return on_floor(parts)


def paper(name: str, kind: str) -> list[r3.Part]:
    """Paper litter: a crumpled ball of lined paper, a sticky note with a curled edge, or a
    receipt strip curling up into a roll."""
    rng = rng_for(name)
    nz = Noise3(rng)
    if kind == "ball":
        R = 0.03

        def crumple(P):
            return 1 + 0.18 * np.abs(nz(P, 0.02, 1)) - 0.1 + 0.05 * nz(P + 2.0, 0.008, 1)

        m = r3.ellipsoid((0, 0, R * 0.9), (R, R * 0.9, R * 0.85), nu=64, nv=32, bump=crumple)

        def alb(g):
            lines = (np.sin((g.pos[:, 2] + 0.3 * g.pos[:, 0]) / 0.0045 * np.pi) > 0.93) * 0.6
            return lerp(np.broadcast_to(rgb("#f4f3ee"), (len(g.pos), 3)), rgb("#8fb1d9"), lines)

        return on_floor([r3.Part(settle(m), r3.Material(alb, spec=0.05, shine=10))])
    if kind == "note":
        S = 0.076
        g1 = np.linspace(-S / 2, S / 2, 40)
        X, Y = np.meshgrid(g1, g1, indexing="ij")
        curl = np.clip((Y - S * 0.2) / (S * 0.3), 0, None) ** 2 * 0.008
        flat = np.stack([X.ravel(), Y.ravel(), np.zeros(X.size)], 1)
        Z = curl + 0.0006 + 0.0015 * (X / S + 0.5) ** 2 + nz(flat, 0.05, 1).reshape(X.shape) * 0.0008
        m = r3.grid_mesh(np.stack([X, Y, Z], -1))
        yel = rgb("#f6e15a")
        fine = noise_tex(rng, 0.05, beta=1.0)
        strokes = []
        for k in range(3):
            strokes.append((S * (0.28 - 0.22 * k) , rng.uniform(0, 6)))

        def alb(g):
            x, y = g.pos[:, 0], g.pos[:, 1]
            out = yel[None] * (1 + 0.02 * fine.at(x, y))[:, None]
            ink = np.zeros(len(x), bool)
            for y0, ph in strokes:
                yy = y0 - 0.003 * np.sin(x / 0.0023 + ph)
                ink |= (np.abs(y - yy) < 0.0006) & (np.abs(x) < S * 0.36)
            return lerp(out, rgb("#2a3f8f"), ink * 0.85)

        return on_floor([r3.Part(m, r3.Material(alb, spec=0.05, shine=10, two_sided=True))])
    # receipt: a long narrow strip lying on the floor, its end curled up into a loose roll
    Wd, Ln = 0.058, 0.2
    s = np.linspace(0, 1, 160)
    flat_len = 0.6
    u = s * Ln
    rr = 0.012
    th = np.clip((u - flat_len * Ln) / rr, 0, None)
    ang = np.minimum(th, 1.6 * np.pi)
    along = np.where(th > 0, flat_len * Ln + rr * np.sin(ang), u)
    along = along - np.where(th > 1.6 * np.pi, (u - flat_len * Ln - 1.6 * np.pi * rr), 0) * 0
    z = np.where(th > 0, rr * (1 - np.cos(ang)), 0.0) + 0.0004
    wave = 0.004 * np.sin(u / 0.05)
    q = np.linspace(-Wd / 2, Wd / 2, 24)
    P = np.stack([wave[:, None] + q[None] + 0 * u[:, None], along[:, None] + 0 * q[None],
                  z[:, None] + 0.002 * (q[None] / Wd) ** 2 + 0 * u[:, None]], -1)
    m = r3.grid_mesh(P, attr=np.stack([u[:, None] + 0 * q[None], q[None] + 0 * u[:, None]], -1))

    def alb(g):
        uu, qq = g.attr[:, 0], g.attr[:, 1]
        rows = (np.sin(uu / 0.007 * np.pi) ** 2 > 0.6) & (np.abs(qq + Wd * 0.05 * np.sin(uu / 0.03))
                                                          < Wd * (0.3 + 0.1 * np.sin(uu / 0.013)))
        return lerp(np.broadcast_to(rgb("#f7f6f2"), (len(uu), 3)), rgb("#6d6d70"), rows * 0.5)

    return on_floor([r3.Part(m, r3.Material(alb, spec=0.05, shine=10, two_sided=True))])


def toy(name: str, kind: str, colour: str) -> list[r3.Part]:
    """A child's toy: a building brick with studs, a striped ball or a little car."""
    rng = rng_for(name)
    col = rgb(colour)
    plastic = r3.Material(col, spec=0.5, shine=80, refl=0.06)
    if kind == "brick":
        w, d, h = 0.064, 0.032, 0.0192
        body = r3.outline_sweep(r3.rounded_rect(w, d, 0.0015, 96), [-0.0006, 0, 0, -0.0006],
                                [0.0, 0.0006, h - 0.0006, h])
        parts = [r3.Part(body, plastic)]
        for i in range(4):
            for j in range(2):
                st = r3.revolve([0.0024, 0.0024, 0.0022, 0.0005], [h - 0.001, h + 0.0017, h + 0.0018, h + 0.0018],
                                sides=32)
                parts.append(r3.Part(st.moved(None, ((i - 1.5) * 0.016, (j - 0.5) * 0.016, 0)), plastic))
        return on_floor(parts)
    if kind == "ball":
        R = 0.035
        m = r3.ellipsoid((0, 0, R), (R, R, R), nu=96, nv=48)
        cols = np.stack([col, rgb("#f5f5f5"), rgb("#2f7be0")])

        def alb(g):
            p = g.pos - [0, 0, R]
            a = np.arctan2(p[:, 1], p[:, 0])
            seg = ((a + np.pi) // (np.pi / 3)).astype(int) % 3
            out = cols[seg]
            cap = np.abs(p[:, 2]) > R * 0.93
            return np.where(cap[:, None], rgb("#f5f5f5")[None], out)

        return on_floor([r3.Part(m, r3.Material(alb, spec=0.6, shine=80, refl=0.06))])
    # toy car: body, cabin with windows, four wheels; the front is +y
    L, W = 0.11, 0.052
    body = r3.outline_sweep(r3.rounded_rect(W, L, 0.012, 120), [-0.004, 0, 0, -0.003, -0.008],
                            [0.008, 0.012, 0.024, 0.028, 0.029])
    cab = r3.outline_sweep(r3.rounded_rect(W * 0.82, L * 0.45, 0.01, 96) + [0, -0.008],
                           [0.0, 0.0, -0.005, -0.01], [0.026, 0.03, 0.043, 0.045])
    glass = rgb("#26323d")

    def cab_alb(g):
        side = (g.nrm[:, 2] < 0.8) & (g.pos[:, 2] > 0.031) & (g.pos[:, 2] < 0.042)
        return np.where(side[:, None], glass[None], col[None])

    parts = [r3.Part(body, plastic), r3.Part(cab, r3.Material(cab_alb, spec=0.7, shine=100, refl=0.15))]
    for fy in (-0.32, 0.3):
        for sx in (-1, 1):
            wr = 0.011
            wheel = r3.revolve([0.0005, wr * 0.8, wr, wr, wr * 0.8, 0.0005], [0, 0, 0.001, 0.008, 0.009, 0.009],
                               sides=40)
            M = np.array([[0, 0, sx * 1.0], [0, 1.0, 0], [-sx * 1.0, 0, 0]])
            wheel = wheel.moved(M, (sx * (W / 2 - 0.006), fy * L, wr))
            parts.append(r3.Part(wheel, r3.Material(rgb("#1b1b1d"), spec=0.2, shine=30)))
    for sx in (-1, 1):
        lamp = r3.ellipsoid((sx * W * 0.3, L / 2 - 0.0015, 0.02), (0.005, 0.002, 0.003), nu=16, nv=8)
        parts.append(r3.Part(lamp, r3.Material(rgb("#fff3b0"), spec=0.8, shine=80, emit=lambda g: np.full((len(g.pos), 3), 0.2))))
    return on_floor(parts)
# ----------------------------------------------------------------------------- floors
FLOOR_PX = 1024


def band_noise(rng: np.random.Generator, n: int, wl_lo: float, wl_hi: float, beta: float = 0.0,
               aspect: float = 1.0) -> np.ndarray:
    """Periodic n x n noise holding wavelengths between wl_lo and wl_hi texture pixels."""
    return fractal_noise(rng, n, n, beta=beta, lo=n / wl_hi, hi=n / wl_lo, aspect=aspect)


def wrapped_marks(n: int, marks, ss: int = 2) -> np.ndarray:
    """A tileable mask in [0, 1] of anti-aliased marks on an n x n texture: `marks` holds
    (points (k, 2) in texture pixels, width px, strength in [0, 1]); one point is a dot of
    that width, several a polyline. Each mark is drawn with its wrapped copies at ss x."""
    big = np.zeros((n * ss, n * ss), np.uint8)
    for pts, width, value in marks:
        p = np.asarray(pts, np.float64).reshape(-1, 2)
        lo, hi = p.min(0) - width - 1, p.max(0) + width + 1
        v = int(round(float(np.clip(value, 0, 1)) * 255))
        for oy in (-n, 0, n):
            for ox in (-n, 0, n):
                if hi[0] + ox < 0 or lo[0] + ox > n or hi[1] + oy < 0 or lo[1] + oy > n:
                    continue
                q = np.round((p + (ox, oy)) * ss * 16).astype(np.int32)
                if len(q) == 1:
                    cv2.circle(big, (int(q[0, 0]), int(q[0, 1])), max(int(round(width * ss * 8)), 8), v,
                               -1, cv2.LINE_AA, 4)
                else:
                    cv2.polylines(big, [q], False, v, max(int(round(width * ss)), 1), cv2.LINE_AA, 4)
    return cv2.resize(big.astype(np.float32) / 255.0, (n, n), interpolation=cv2.INTER_AREA)


def wander(rng: np.random.Generator, n: int, count: int, length: tuple[float, float],
           angle: float | None = None, spread: float = math.pi, bend: float = 0.05,
           step: float = 3.0, jag: float = 0.0) -> list[np.ndarray]:
    """`count` gently bending paths (texture px) of random length, start and heading (around
    `angle` +- spread/2, any when None): scratches, cracks, scuffs. `bend` lets the heading
    drift step by step; `jag` zigzags each step about it (a crack)."""
    out = []
    for _ in range(count):
        p0 = rng.uniform(0, n, 2)
        a0 = rng.uniform(0, 2 * math.pi) if angle is None else angle + rng.uniform(-spread / 2, spread / 2)
        k = max(int(rng.uniform(*length) / step), 2)
        a = a0 + np.cumsum(rng.normal(0, bend, k)) + (rng.normal(0, jag, k) if jag else 0.0)
        steps = step * np.stack([np.cos(a), np.sin(a)], 1)
        out.append(p0 + np.concatenate([[[0.0, 0.0]], np.cumsum(steps, 0)]))
    return out


def specks(rng: np.random.Generator, n: int, count: int, size: tuple[float, float],
           strength: tuple[float, float] = (0.4, 1.0)):
    """`count` dots at random places, diameters log-uniform in `size` px."""
    d = np.exp(rng.uniform(math.log(size[0]), math.log(size[1]), count))
    return [(rng.uniform(0, n, 2), float(di), float(rng.uniform(*strength))) for di in d]


def lived_in(rng: np.random.Generator, img: np.ndarray, light: float = 0.09, dirt: float = 0.06,
             scratches: int = 0, scratch: float = 0.12, scratch_angle: float | None = None,
             dust: int = 0, grit: int = 0, dirt_col: str = "#5a4e40") -> np.ndarray:
    """What years of use leave on any floor, tileable: low-frequency light and dirt (a
    room's uneven light, traffic), fine scratches that catch the light, dust and grit specks.
    No per-pixel camera noise: that is the camera's (the generator adds it)."""
    n = img.shape[0]
    img = img * (1 + light * fractal_noise(rng, n, n, beta=3.0, hi=4.0))[..., None]
    blot = smoothstep(0.3, 2.2, fractal_noise(rng, n, n, beta=2.2, lo=2.0))
    img = mix(img, img * 0.8 + 0.2 * hex2rgb(dirt_col), blot * dirt * 4)
    if scratches:
        paths = wander(rng, n, scratches, (15, 140), scratch_angle, math.pi / 5 if scratch_angle is not None
                       else math.pi, bend=0.04)
        m = wrapped_marks(n, [(p, rng.uniform(0.5, 1.0), rng.uniform(0.3, 1.0)) for p in paths])
        img = mix(img, np.minimum(img * 1.35 + 0.05, 1), m * scratch)
    if dust:
        m = wrapped_marks(n, specks(rng, n, dust, (0.6, 2.2)))
        img = mix(img, np.array([0.86, 0.84, 0.8], np.float32), m * 0.55)
    if grit:
        m = wrapped_marks(n, specks(rng, n, grit, (0.7, 2.5)))
        img = mix(img, img * 0.35, m * 0.8)
    return img


def wood_grain(rng: np.random.Generator, h: int, w: int, ring_px: float, figure: float) -> np.ndarray:
    """Plain-sawn wood grain running along x, in [0, 1] (periodic): in each growth ring the
    earlywood darkens gradually into a crisp latewood line; a finer grain between; the rings
    wander, bunch and rise into cathedral arches (figure); long colour streaks and dark pore
    dashes along the grain."""
    rings = max(int(round(h / ring_px)), 1)
    warp = fractal_noise(rng, h, w, beta=4.0, aspect=6.0, hi=5.0)
    warp2 = fractal_noise(rng, h, w, beta=3.0, aspect=4.0, hi=24.0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # cathedrals: the rings bend into rounded V's twice along the tile, more in some places
    arch = np.sqrt((1 - np.cos(2 * np.pi * 2 * xx / w + 0.8 * warp)) / 2 + 0.01)
    arch_amp = 4.5 * figure * (0.5 + 0.5 * np.tanh(1.2 * fractal_noise(rng, h, w, beta=3.5, hi=6.0)))
    phase = yy / h * rings + 1.5 * figure * warp + 0.7 * figure * warp2 + arch_amp * arch
    f = phase % 1.0
    late = blur_wrap((f ** 5).astype(np.float32), 0.45)   # the crisp edge where a ring ends
    fine = (0.5 + 0.5 * np.sin(2 * np.pi * (phase * 4 + 0.5 * warp2))) ** 3
    fade = 0.5 + 0.5 * np.tanh(1.5 * fractal_noise(rng, h, w, beta=3.5, aspect=4.0))
    streak = fractal_noise(rng, h, w, beta=1.2, aspect=30.0)
    pore = blur_wrap((fractal_noise(rng, h, w, beta=0.0, aspect=12.0) > 2.1).astype(np.float32), 0.5)
    g = (0.7 - 0.62 * late * (0.6 + 0.4 * fade) - 0.10 * fine * (0.3 + 0.7 * fade)
         + 0.09 * streak - 0.35 * np.clip(pore * 1.5, 0, 1))
    return np.clip(g, 0, 1).astype(np.float32)


def planks(name: str, plank_px: int, base: str, dark: str, ring_px: float, figure: float,
           tone_jitter: float, gap: str, gap_px: float, lengths: tuple[float, float],
           repeat_grain: bool = False, knots: int = 0, wear: float = 1.0) -> np.ndarray:
    """A plank floor (planks along x), tileable: staggered joints, per-plank tone, hue and
    grain, knots, bevelled seams with dirt in them, then scratches, dust and uneven light."""
    rng = rng_for(name)
    N = FLOOR_PX
    rows = N // plank_px
    grain_src = wood_grain(rng, N, N, ring_px, figure)
    light, dk = hex2rgb(base), hex2rgb(dark)
    img = np.zeros((N, N, 3), np.float32)
    seams = np.zeros((N, N), np.float32)
    yy, xx = np.mgrid[0:N, 0:N]
    edges = np.linspace(0, N, rows + 1).round().astype(int)
    for r in range(rows):
        y0, y1 = edges[r], edges[r + 1]
        # joints along this row: random lengths that sum to the tile width (wraps around)
        joints, x = [], int(rng.integers(0, N))
        total, shortest = 0, int(lengths[0] * N)
        while True:
            joints.append((x + total) % N)
            rest = N - total
            L = int(rng.uniform(*lengths) * N)
            if rest - L < shortest:  # no slivers: the row ends in one or two full pieces
                if rest >= 2 * shortest:
                    joints.append((x + total + rest // 2) % N)
                break
            total += L
        bounds = sorted(set(joints))
        for i, j0 in enumerate(bounds):
            j1 = bounds[(i + 1) % len(bounds)]
            span = (np.arange(N) - j0) % N < ((j1 - j0) % N or N)
            tone = 1 + rng.normal(0, tone_jitter)
            hue = rng.normal(0, tone_jitter * 0.12, 3)
            shift = (0, 0) if repeat_grain else (int(rng.integers(0, N)), int(rng.integers(0, N)))
            g = np.roll(grain_src, shift, (0, 1))[y0:y1][:, span]
            contrast = rng.uniform(0.75, 1.2)   # some boards show their grain more
            g = np.clip(0.6 + (g - 0.6) * contrast, 0, 1)
            along = ((np.arange(N)[span] - j0) % N) / max(span.sum(), 1)
            end = 1 + rng.normal(0, tone_jitter * 0.4) * (along - 0.5)   # boards shade end to end
            col = mix(dk, light, g) * (tone * end)[None, :, None] * (1 + hue)
            img[y0:y1][:, span] = col
        for j in bounds:
            seams[y0:y1, j % N] = 1
        seams[y0, :] = 1
    for k in range(knots):  # a few knots: dark rings around a dense core
        cx, cy = rng.integers(0, N, 2)
        dx = ((xx - cx + N / 2) % N - N / 2) / 2.6
        dy = (yy - cy + N / 2) % N - N / 2
        rr = np.sqrt(dx * dx + dy * dy)
        knot = np.exp(-(rr / 7) ** 2) + 0.3 * np.exp(-(rr / 14) ** 2) * (np.sin(rr / 1.5) > 0)
        img = mix(img, dk * 0.7, np.clip(knot, 0, 1) * 0.8)
    seam_m = np.clip(blur_wrap(seams, 0.55) * gap_px * 1.3, 0, 1)
    grime = blur_wrap(seams, 2.5) * 2.5
    img *= (1 - 0.10 * np.clip(grime, 0, 1))[..., None]   # dirt collects along the joints
    img = mix(img, hex2rgb(gap), seam_m)
    # a bevel: light on the edge facing the light, dark on the other
    bevel = np.roll(seam_m, 2, 0) - np.roll(seam_m, -2, 0)
    img *= (1 + 0.07 * bevel)[..., None]
    img *= (1 + 0.03 * fractal_noise(rng, N, N, beta=3.0))[..., None]  # uneven varnish
    return lived_in(rng, img, dirt=0.04 * wear, scratches=int(260 * wear), scratch=0.10,
                    scratch_angle=0.0, dust=int(500 * wear), grit=int(160 * wear))


def tiles(name: str, n: int, base: str, grout: str, grout_px: float, mottle: float,
          speckle: float, jitter: float, second: str | None = None, cleft: float = 0.0,
          palette: tuple[str, ...] = (), wear: float = 1.0) -> np.ndarray:
    """Square tiles on a grid with recessed sandy grout, a stone-like glaze (mottled at two
    scales, speckled), per-tile tone and sheen, a small bevel; `cleft` > 0 gives natural
    stone (slate) a split, layered relief lit from one side and per-tile colours from
    `palette`. Then wear: scratches, dust, dirt (tileable)."""
    rng = rng_for(name)
    N = FLOOR_PX
    p = N // n
    yy, xx = np.mgrid[0:N, 0:N]
    ix, iy = xx // p, yy // p
    tone = 1 + rng.normal(0, jitter, (n, n))
    col = hex2rgb(base)[None, None] * tone[iy, ix][..., None]
    if second:  # checkerboard
        chk = ((ix + iy) % 2 == 1)
        col = np.where(chk[..., None], hex2rgb(second)[None, None] * tone[iy, ix][..., None], col)
    if palette:  # natural stone: every tile its own colour
        pick = rng.integers(0, len(palette), (n, n))
        pal = np.stack([hex2rgb(c) for c in palette])
        col = mix(col, pal[pick[iy, ix]] * tone[iy, ix][..., None], 0.6)
    gx, gy = rng.normal(0, 1, (2, n, n))
    u, v = (xx % p) / p - 0.5, (yy % p) / p - 0.5
    col = col * (1 + 0.03 * (gx[iy, ix] * u + gy[iy, ix] * v))[..., None]  # each tile lies a little askew
    col = col * (1 + mottle * fractal_noise(rng, N, N, beta=2.5, lo=3)
                 + 0.6 * mottle * band_noise(rng, N, 3, 40, beta=1.2))[..., None]
    fine = blur_wrap(fractal_noise(rng, N, N, beta=0.0), 0.6)
    fine /= fine.std()
    col = col * (1 + 0.12 * speckle * fine)[..., None]
    dots_d = wrapped_marks(N, specks(rng, N, int(2600 * speckle), (0.8, 2.8)))
    dots_l = wrapped_marks(N, specks(rng, N, int(1800 * speckle), (0.8, 2.4)))
    col = mix(col, col * 0.55, dots_d * 0.8)
    col = mix(col, np.minimum(col * 1.25 + 0.04, 1), dots_l * 0.7)
    if cleft:  # natural cleft: a broad undulation, split layers whose steps catch the light, grit

        def lit_slope(hf):  # relief lit from the upper left: its slope towards the light
            return -0.7 * (np.roll(hf, -1, 1) - np.roll(hf, 1, 1)) - 0.7 * (np.roll(hf, -1, 0) - np.roll(hf, 1, 0))

        broad = fractal_noise(rng, N, N, beta=2.6, lo=2) + 0.4 * band_noise(rng, N, 12, 160, beta=2.5)
        s1 = lit_slope(broad)
        steps = lit_slope(blur_wrap(np.floor(broad / 0.45).astype(np.float32), 0.6))
        s3 = band_noise(rng, N, 2, 8, beta=0.5)
        shade = 0.09 * s1 / s1.std() + 0.28 * steps + 0.03 * s3
        col = col * np.clip(1 + cleft * shade, 0.6, 1.4)[..., None]
        col = col * (1 + 0.06 * cleft * band_noise(rng, N, 20, 200, beta=1.5))[..., None]
    ex = np.minimum(xx % p, p - 1 - xx % p).astype(np.float32)
    ey = np.minimum(yy % p, p - 1 - yy % p).astype(np.float32)
    e = np.minimum(ex, ey)
    grout_m = smoothstep(grout_px / 2 + 0.8, grout_px / 2 - 0.6, e)
    bevel = smoothstep(grout_px / 2 + 4, grout_px / 2, e) * (1 - grout_m)
    lit = np.where(ex < ey, np.where(xx % p < p / 2, 1, -1), np.where(yy % p < p / 2, 1, -1))
    col = col * (1 + 0.10 * bevel * lit)[..., None]
    sand = blur_wrap(fractal_noise(rng, N, N, beta=0.0), 0.7)
    sand /= sand.std()
    gdirt = smoothstep(-0.5, 2.0, fractal_noise(rng, N, N, beta=2.0, lo=2))
    g = hex2rgb(grout)[None, None] * (1 + 0.14 * sand - 0.22 * gdirt)[..., None]
    g = g * (1 - 0.25 * smoothstep(grout_px / 2 - 0.6, grout_px / 2 - 2.0, e) * (lit < 0))[..., None]
    out = mix(col, g, grout_m)
    return lived_in(rng, out, dirt=0.03 * wear, scratches=int(120 * wear), scratch=0.06,
                    dust=int(600 * wear), grit=int(220 * wear))


def carpet(name: str, base: str, fleck: str, second: str | None = None) -> np.ndarray:
    """Cut-pile carpet: soft fibre tufts a few mm across spun from two or three yarns
    (heather), lit from one side (a bright crown, a dark gap); a tonal mottle at the
    centimetre scale, faint rows, patches where the pile lies the other way (lighter),
    crushed traffic paths, lint and grit (tileable)."""
    rng = rng_for(name)
    N = FLOOR_PX
    tuft = band_noise(rng, N, 2.5, 6.0, beta=0.0)
    crown = np.tanh(1.0 * tuft)                       # rounded tops, dark between
    strands = blur_wrap(fractal_noise(rng, N, N, beta=0.0), 0.5)
    strands /= strands.std()
    yarn = band_noise(rng, N, 2.5, 7.0, beta=0.5)      # which yarn a tuft is spun from
    tonal = band_noise(rng, N, 10, 60, beta=1.0)
    yy = np.mgrid[0:N, 0:N][0].astype(np.float32)
    rowlines = np.sin(2 * np.pi * yy / (N / 256))     # 256 rows of loops across the tile
    crushed = fractal_noise(rng, N, N, beta=3.0)
    sheen = smoothstep(-0.4, 0.8, fractal_noise(rng, N, N, beta=2.8, lo=2))  # pile brushed the other way
    col = mix(hex2rgb(base)[None, None] * np.ones((N, N, 3), np.float32), hex2rgb(fleck),
              smoothstep(-0.2, 1.6, yarn + 0.5 * tonal) * 0.8)
    if second:
        col = mix(col, hex2rgb(second), smoothstep(0.8, 2.0, -yarn - 0.3 * tonal) * 0.8)
    col = col * (1 + 0.11 * crown + 0.07 * strands + 0.03 * rowlines + 0.045 * crushed
                 + 0.05 * tonal + 0.06 * sheen)[..., None]
    return lived_in(rng, col, dirt=0.02, dust=1400, grit=500, dirt_col="#4a4238")


def marble(name: str, base: str, vein: str, slabs: int, vein2: str = "#b9b2a6") -> np.ndarray:
    """Polished marble slabs: wandering veins at three scales (broad drifts, sharp crack
    veins, hairlines), clouds and fine crystal sparkle, thin seams (tileable)."""
    rng = rng_for(name)
    N = FLOOR_PX
    yy, xx = np.mgrid[0:N, 0:N].astype(np.float32)
    # classic turbulence marble: |noise| summed over octaves bends a periodic ramp
    turb = sum(np.abs(fractal_noise(rng, N, N, beta=0.0, lo=f * 0.7, hi=f * 1.3)) / 2 ** i
               for i, f in enumerate((1, 2, 4, 8, 16, 32)))
    ramp = np.sin(2 * np.pi * (xx + 0.5 * yy) / N * 2 + 1.8 * turb)
    v1 = (1 - np.abs(ramp)) ** 8
    turb2 = sum(np.abs(fractal_noise(rng, N, N, beta=0.0, lo=f * 0.7, hi=f * 1.3)) / 2 ** i
                for i, f in enumerate((2, 4, 8, 16, 32, 64)))
    v2 = (1 - np.abs(np.sin(2 * np.pi * (yy - 0.6 * xx) / N * 3 + 1.8 * turb2))) ** 40
    turb3 = sum(np.abs(fractal_noise(rng, N, N, beta=0.0, lo=f * 0.7, hi=f * 1.3)) / 2 ** i
                for i, f in enumerate((4, 8, 16, 32, 64)))
    v3 = (1 - np.abs(np.sin(2 * np.pi * (xx * 0.8 + yy) / N * 5 + 2.2 * turb3))) ** 90
    cloud = fractal_noise(rng, N, N, beta=3.0)
    drift = smoothstep(0.2, 1.8, fractal_noise(rng, N, N, beta=2.6, lo=2))
    col = hex2rgb(base)[None, None] * (1 + 0.04 * cloud + 0.025 * band_noise(rng, N, 3, 30, beta=1.0))[..., None]
    col = mix(col, hex2rgb(vein2), drift * 0.45)
    col = mix(col, hex2rgb(vein), np.clip(0.75 * v1 + 0.7 * v2 + 0.5 * v3 + 0.06 * (cloud > 0.8), 0, 1))
    sparkle = wrapped_marks(N, specks(rng, N, 2500, (0.6, 1.6), (0.2, 0.8)))
    col = mix(col, np.minimum(col * 1.12 + 0.03, 1), sparkle * 0.6)
    p = N // slabs
    e = np.minimum(np.minimum(xx % p, p - 1 - xx % p), np.minimum(yy % p, p - 1 - yy % p))
    col = mix(col, col * 0.7, smoothstep(1.5, 0.0, e))
    return lived_in(rng, col, dirt=0.02, scratches=90, scratch=0.05, dust=500, grit=120)


def concrete(name: str, base: str) -> np.ndarray:
    """Polished concrete: mottling and stains, sand grains and cut aggregate of several
    sizes and tones, pinholes, trowel arcs, hairline cracks and a saw-cut joint (tileable)."""
    rng = rng_for(name)
    N = FLOOR_PX
    mott = fractal_noise(rng, N, N, beta=2.8)
    mid = band_noise(rng, N, 4, 60, beta=1.2)
    col = hex2rgb(base)[None, None] * (1 + 0.08 * mott + 0.04 * mid)[..., None]
    sand = blur_wrap(fractal_noise(rng, N, N, beta=0.0), 0.6)
    sand /= sand.std()
    col = col * (1 + 0.05 * sand)[..., None]
    for count, size, shade in ((9000, (0.8, 2.2), 1.18), (5000, (0.8, 2.0), 0.8),
                               (700, (2.5, 6.0), 1.1), (500, (2.5, 5.0), 0.85)):
        m = wrapped_marks(N, specks(rng, N, count, size, (0.5, 1.0)))
        col = mix(col, np.clip(col * shade + (0.02 if shade > 1 else 0), 0, 1), m * 0.8)
    pores = wrapped_marks(N, specks(rng, N, 900, (0.8, 2.4)))
    col = mix(col, col * 0.45, pores * 0.9)
    yy, xx = np.mgrid[0:N, 0:N].astype(np.float32)
    swirl = np.sin((np.sqrt((xx - N / 2) ** 2 + (yy - N / 3) ** 2) / 9) + 3 * mott)
    col = col * (1 + 0.02 * swirl)[..., None]
    cracks = wrapped_marks(N, [(pth, 0.6, 0.7) for pth in wander(rng, N, 6, (60, 260), bend=0.06, step=2.5,
                                                                  jag=0.6)])
    col = mix(col, col * 0.55, cracks)
    cut = smoothstep(2.0, 0.5, np.minimum(yy, N - 1 - yy))  # a control joint at the tile edge
    col = mix(col, col * 0.45, cut)
    return lived_in(rng, col, dirt=0.04, scratches=140, scratch=0.08, dust=700, grit=300)


def parquet(name: str, base: str, dark: str) -> np.ndarray:
    """Block parquet: short blocks at +-45 degrees in alternating courses (tileable)."""
    rng = rng_for(name)
    N = FLOOR_PX
    grain = wood_grain(rng, N, N, 9.0, 1.2)
    grain_t = np.ascontiguousarray(grain.T)
    yy, xx = np.mgrid[0:N, 0:N].astype(np.float32)
    # diagonal lattice in units of x+y and y-x: shifting by N along x or y moves it by
    # whole cells (N / bw is a multiple of 4), so the pattern wraps seamlessly
    bw = 32
    u, v = xx + yy, yy - xx
    a, b = np.floor(u / bw).astype(int), np.floor(v / bw).astype(int)
    left = ((a + b) // 2) % 2 == 0
    cells = N // bw
    block = np.where(left, (a % cells) * 97 + (b // 4) % (cells // 4),
                     (b % cells) * 89 + (a // 4) % (cells // 4) + 5000)
    tone = 1 + 0.09 * np.sin(block * 12.9898) + 0.06 * np.sin(block * 4.1414)
    g = np.where(left, grain, grain_t)
    col = mix(hex2rgb(dark), hex2rgb(base), g) * tone[..., None]
    du = np.minimum(u % bw, bw - u % bw)
    dv = np.minimum(v % bw, bw - v % bw)
    d4u = np.minimum(u % (4 * bw), 4 * bw - u % (4 * bw))
    d4v = np.minimum(v % (4 * bw), 4 * bw - v % (4 * bw))
    seam = np.where(left, np.minimum(du, d4v), np.minimum(dv, d4u)) / math.sqrt(2)
    col = col * (1 - 0.08 * smoothstep(3.0, 0.5, seam))[..., None]   # dirt along the joints
    col = mix(col, hex2rgb(dark) * 0.5, smoothstep(1.2, 0.2, seam))
    return lived_in(rng, col, dirt=0.04, scratches=220, scratch=0.10, dust=450, grit=150)


def vinyl(name: str, n: int, base: str, second: str, seam: str) -> np.ndarray:
    """Vinyl tiles in a checkerboard: an orange-peel surface, faint printed mottle, butt
    seams, black heel scuffs, scratches and dust (tileable)."""
    rng = rng_for(name)
    N = FLOOR_PX
    p = N // n
    yy, xx = np.mgrid[0:N, 0:N]
    chk = ((xx // p + yy // p) % 2 == 1)
    tone = 1 + rng.normal(0, 0.015, (n, n))[yy // p, xx // p]
    col = np.where(chk[..., None], hex2rgb(second)[None, None], hex2rgb(base)[None, None]) * tone[..., None]
    peel = band_noise(rng, N, 2, 7, beta=0.5)
    col = col * (1 + 0.02 * peel + 0.025 * fractal_noise(rng, N, N, beta=2.5, lo=4))[..., None]
    col = col + 0.012 * band_noise(rng, N, 3, 20, beta=1.0)[..., None]  # shows on the dark ones too
    e = np.minimum(np.minimum(xx % p, p - 1 - xx % p), np.minimum(yy % p, p - 1 - yy % p)).astype(np.float32)
    col = mix(col, hex2rgb(seam), smoothstep(1.4, 0.2, e) * 0.8)
    scuffs = wrapped_marks(N, [(pth, rng.uniform(2.0, 5.0), rng.uniform(0.3, 0.8))
                               for pth in wander(rng, N, 45, (6, 30), bend=0.25, step=2.0)])
    col = mix(col, np.array([0.1, 0.1, 0.11], np.float32), blur_wrap(scuffs, 1.5) * 0.45)
    return lived_in(rng, col, dirt=0.04, scratches=160, scratch=0.08, dust=600, grit=200)


def floor_jpeg(img: np.ndarray) -> bytes:
    """Float RGB in [0, 1] -> JPEG bytes at the floors' quality."""
    return encode_jpeg(np.round(np.clip(img, 0, 1) * 255).astype(np.uint8), JPEG_Q)


# ----------------------------------------------------------------------------- backdrops
BD_W, BD_H = 1280, 720
BD_PPM = 290.0  # backdrop pixels per metre: the picture spans ~4.4 m x 2.5 m of wall


def _bbox(m: np.ndarray, pad: int = 0) -> tuple[slice, slice]:
    """The slices of a mask's nonzero box, grown by `pad` (within the image)."""
    ys, xs = np.nonzero(m.max(1) > 0)[0], np.nonzero(m.max(0) > 0)[0]
    if not len(ys):
        return slice(0, 0), slice(0, 0)
    h, w = m.shape
    return (slice(max(ys.min() - pad, 0), min(ys.max() + 1 + pad, h)),
            slice(max(xs.min() - pad, 0), min(xs.max() + 1 + pad, w)))


class Wall:
    """A frontal view of a room wall; coordinates in metres, y up from the floor line."""

    def __init__(self, name: str, paint: str, skirting: str, light_x: float):
        self.rng = rng_for(name)
        self.k = 2  # supersampling
        self.w, self.h = BD_W * self.k, BD_H * self.k
        yy, xx = np.mgrid[0:self.h, 0:self.w].astype(np.float32)
        self.xx, self.yy = xx, yy
        self.light_x = light_x
        # painted plaster: broad unevenness, a roller's stipple a few mm across, the light
        # falling off away from the window side, darker low down and towards the ceiling
        base = hex2rgb(paint)
        n = fractal_noise(self.rng, self.h, self.w, beta=1.2)
        self.grain = fractal_noise(self.rng, self.h, self.w, beta=1.5)  # shared by all objects
        stipple = fractal_noise(self.rng, self.h, self.w, beta=0.5, lo=self.w / 14, hi=self.w / 5)
        broad = fractal_noise(self.rng, self.h, self.w, beta=3.0)
        u, v = xx / self.w, yy / self.h
        fall = (1.08 - 0.34 * np.abs(u - light_x) - 0.12 * v - 0.10 * np.exp(-v / 0.12)
                + 0.07 * np.exp(-((u - light_x) / 0.18) ** 2 - ((v - 0.45) / 0.35) ** 2))
        self.img = base[None, None] * (fall * (1 + 0.015 * n + 0.012 * stipple + 0.02 * broad))[..., None]
        self.shadow = np.zeros((self.h, self.w), np.float32)
        self.skirting(skirting)

    def px(self, x: float, y: float) -> tuple[float, float]:
        return x * BD_PPM * self.k, self.h - y * BD_PPM * self.k

    def mask_rect(self, x0, y0, x1, y1, r: float = 0.0) -> np.ndarray:
        (a, b), (c, d) = self.px(x0, y1), self.px(x1, y0)
        return rect_mask((self.h, self.w), a, b, c, d, r * BD_PPM * self.k)

    def fill(self, m, colour, grad: float = 0.08, tex: float = 0.02, pattern: str | None = None,
             puff: float = 0.0) -> None:
        """Paint a mask with a colour, a top-lit vertical gradient and a little texture;
        `pattern` adds a material's own: "wood" (vertical grain), "wood_h" (horizontal),
        "fabric" (a weave and pilling) or "brushed" (fine streaks of brushed metal); `puff`
        (metres) rounds a soft thing off: darker towards its edges, lit on its upper one."""
        col = hex2rgb(colour) if isinstance(colour, str) else np.asarray(colour, np.float32)
        ys, xs = np.nonzero(m.max(1) > 0)[0], np.nonzero(m.max(0) > 0)[0]
        if len(ys) == 0:
            return
        sl = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        t = np.linspace(0, 1, len(range(ys.min(), ys.max() + 1)), dtype=np.float32)[:, None]
        shade = (1 + grad * (0.5 - t)) * (1 + tex * self.grain[sl])
        paint = col[None, None] * shade[..., None]
        hh, ww = shade.shape
        if pattern in ("wood", "wood_h"):
            rot = pattern == "wood"
            g = wood_grain(self.rng, ww if rot else hh, hh if rot else ww, 14.0, 0.8)
            g = g.T if rot else g
            paint = paint * (0.78 + 0.4 * g)[..., None]
        elif pattern == "fabric":
            wv = weave((hh, ww), 3.0)
            pill = blur(self.rng.standard_normal((hh, ww)).astype(np.float32), 1.5)
            paint = paint * (1 + 0.03 * wv + 0.02 * pill / (pill.std() + 1e-6))[..., None]
        if puff:
            d = np.clip(dist_inside(m[sl]) / (puff * BD_PPM * self.k), 0, 1)
            top_lit = np.clip(-np.gradient(d, axis=0) * puff * BD_PPM * self.k, 0, 1)
            paint = paint * (0.72 + 0.28 * np.sqrt(d) + 0.12 * top_lit)[..., None]
        if pattern == "brushed":
            st = blur(self.rng.standard_normal((hh, ww)).astype(np.float32), 0.8)
            st = cv2.blur(st, (81, 1))
            paint = paint * (1 + 0.015 * st / (st.std() + 1e-6))[..., None]
        self.img[sl] = mix(self.img[sl], paint, m[sl])

    def rect(self, x0, y0, x1, y1, colour, r: float = 0.0, bevel: float = 0.0, grad=0.08,
             tex=0.02, shadow: float = 0.0, pattern: str | None = None, puff: float = 0.0) -> np.ndarray:
        """A filled box with an optional bevel highlight and a soft contact shadow on the wall."""
        if shadow:
            self.drop_shadow(self.mask_rect(x0, y0, x1, y1, r), shadow)
        m = self.mask_rect(x0, y0, x1, y1, r)
        self.fill(m, colour, grad, tex, pattern, puff)
        if bevel:
            sl = _bbox(m)
            inner = self.mask_rect(x0 + bevel, y0 + bevel, x1 - bevel, y1 - bevel, max(r - bevel, 0))[sl]
            top = self.mask_rect(x0, y1 - bevel, x1, y1)[sl]
            ms, im = m[sl], self.img[sl]
            im *= (1 - 0.12 * (ms - inner) * (1 - top))[..., None]
            self.img[sl] = mix(im, np.minimum(im * 1.15, 1), top * ms)
        return m

    def drop_shadow(self, m, strength: float, spread: float = 0.05) -> None:
        """Darken the surroundings of a shape, more below it (light from above)."""
        s = spread * BD_PPM * self.k
        sl = _bbox(m, int(4 * s) + 4)
        ms = m[sl]
        sh = soft_blur(np.roll(ms, int(s * 0.5), 0), s)
        self.img[sl] *= (1 - strength * sh * (1 - ms))[..., None]

    def skirting(self, colour: str) -> None:
        """A moulded skirting board: a shadow line on the wall above it, a rounded top
        moulding catching the light, a groove, scuffs and grime at its foot."""
        top = 0.095
        self.drop_shadow(self.mask_rect(0, 0, 4.5, top), 0.18, 0.012)
        self.rect(0, 0, 4.5, top, colour, grad=0.12, tex=0.01)
        self.img = mix(self.img, np.minimum(self.img * 1.12, 1), self.mask_rect(0, top - 0.012, 4.5, top - 0.004))
        self.img *= (1 - 0.16 * self.mask_rect(0, top - 0.02, 4.5, top - 0.014))[..., None]
        foot = self.mask_rect(0, 0, 4.5, 0.02) * smoothstep(-0.5, 1.5, self.grain)
        self.img *= (1 - 0.12 * foot)[..., None]
        for _ in range(14):  # scuffs from shoes and vacuum cleaners
            x = float(self.rng.uniform(0.05, 4.4))
            y = float(self.rng.uniform(0.02, 0.07))
            L = float(self.rng.uniform(0.02, 0.08))
            (a, b), (c, d) = self.px(x, y), self.px(x + L, y + self.rng.uniform(-0.01, 0.01))
            m = stroke_mask((self.h, self.w), [(a, b), (c, d)], float(self.rng.uniform(2, 5)))
            sl = _bbox(m, 6)
            self.img[sl] *= (1 - 0.22 * blur(m[sl], 1.5))[..., None]

    def finish(self) -> np.ndarray:
        """Contact shadow at the floor line, downsample. A little blur: the generator
        stands the wall 3-8 m away, where it shrinks 2-5x (no finer detail survives); no
        sensor noise: that is the camera's."""
        yy = self.yy
        floor_ao = np.exp(-(self.h - yy) / (0.05 * BD_PPM * self.k))
        img = self.img * (1 - 0.25 * floor_ao)[..., None]
        img = cv2.resize(img, (BD_W, BD_H), interpolation=cv2.INTER_AREA)
        img = cv2.GaussianBlur(img, (0, 0), 0.6)
        return np.clip(img, 0, 1)


def socket(wall: Wall, x: float, y: float, double: bool = True, switch: bool = False) -> None:
    """A wall socket (or a light switch) on a white plate, a thin shadow below it."""
    w = 0.16 if double and not switch else 0.085
    wall.rect(x, y, x + w, y + 0.085, "#f1f0eb", r=0.006, bevel=0.004, grad=0.15, tex=0.005, shadow=0.25)
    if switch:
        wall.rect(x + 0.025, y + 0.02, x + 0.06, y + 0.065, "#e3e2dc", r=0.003, bevel=0.003, grad=0.4, tex=0)
        return
    for k in range(2 if double else 1):
        cx = x + 0.0425 + k * 0.075
        for dx in (-0.011, 0.011):
            (a, b) = wall.px(cx + dx, y + 0.04)
            wall.img *= (1 - 0.7 * ellipse_mask((wall.h, wall.w), (a, b), (2.5, 4.0)))[..., None]


def books(wall: Wall, x0: float, x1: float, y0: float, palette: tuple[str, ...]) -> None:
    """A row of books standing on a surface at height y0: spines of random height, width and
    colour, a title band, a darker gap between them."""
    rng = wall.rng
    x = x0
    while x < x1 - 0.02:
        bw = float(rng.uniform(0.018, 0.045))
        bh = float(rng.uniform(0.16, 0.27))
        col = hex2rgb(palette[int(rng.integers(len(palette)))]) * float(rng.uniform(0.8, 1.1))
        wall.rect(x, y0, x + bw, y0 + bh, col, r=0.002, grad=0.1, tex=0.04, shadow=0.12)
        band = float(rng.uniform(0.3, 0.75))
        wall.rect(x + 0.002, y0 + bh * band, x + bw - 0.002, y0 + bh * band + 0.012,
                  np.clip(col * 1.6 + 0.1, 0, 1), grad=0, tex=0)
        wall.img *= (1 - 0.3 * wall.mask_rect(x + bw - 0.002, y0, x + bw, y0 + bh))[..., None]
        x += bw + 0.002


def vase(wall: Wall, x: float, y0: float, h: float, colour: str, stems: int = 0) -> None:
    """A rounded vase standing at height y0 (a highlight down one side), optional twigs."""
    (cx, top), (_, bot) = wall.px(x, y0 + h), wall.px(x, y0)
    rw = h * BD_PPM * wall.k * 0.32
    pts = [(cx - rw * 0.45, top), (cx - rw * 0.5, top + (bot - top) * 0.15), (cx - rw, top + (bot - top) * 0.6),
           (cx - rw * 0.7, bot), (cx + rw * 0.7, bot), (cx + rw, top + (bot - top) * 0.6),
           (cx + rw * 0.5, top + (bot - top) * 0.15), (cx + rw * 0.45, top)]
    m = poly_mask((wall.h, wall.w), closed_spline(pts, 200))
    wall.drop_shadow(m, 0.25, 0.02)
    side = np.clip((wall.xx - cx) / rw, -1, 1)
    col = hex2rgb(colour)[None, None] * (0.75 + 0.3 * np.cos(side * 1.3 + 0.5))[..., None]
    col = mix(col, np.ones(3, np.float32), np.exp(-((side + 0.45) / 0.08) ** 2) * 0.5)
    for _ in range(stems):
        a = float(wall.rng.uniform(-0.5, 0.5))
        p1 = (cx + math.sin(a) * h * BD_PPM * wall.k, top - math.cos(a) * h * BD_PPM * wall.k * 1.1)
        sm = stroke_mask((wall.h, wall.w), open_spline([(cx, top + 5), ((cx + p1[0]) / 2 + 6, (top + p1[1]) / 2), p1], 40), 3)
        wall.img = mix(wall.img, hex2rgb("#4a3a2a"), sm)
    wall.img = mix(wall.img, col, m)


def wall_clock(wall: Wall, x: float, y: float, r: float) -> None:
    """A round wall clock: frame, face, twelve ticks and two hands."""
    (cx, cy) = wall.px(x, y)
    R = r * BD_PPM * wall.k
    shape = (wall.h, wall.w)
    outer = ellipse_mask(shape, (cx, cy), (R, R))
    wall.drop_shadow(outer, 0.3, 0.02)
    wall.img = mix(wall.img, hex2rgb("#2b2b2b"), outer)
    face = ellipse_mask(shape, (cx, cy), (R * 0.88, R * 0.88))
    wall.img = mix(wall.img, hex2rgb("#f4f2ec") * (1 - 0.08 * np.clip((wall.yy - cy) / R, -1, 1))[..., None], face)
    for k in range(12):
        a = k * math.pi / 6
        p0 = (cx + math.sin(a) * R * 0.7, cy - math.cos(a) * R * 0.7)
        p1 = (cx + math.sin(a) * R * 0.8, cy - math.cos(a) * R * 0.8)
        wall.img = mix(wall.img, hex2rgb("#222222"), stroke_mask(shape, [p0, p1], 3 if k % 3 == 0 else 2))
    for a, L, wd in ((2.1, 0.45, 4), (5.3, 0.68, 3)):
        wall.img = mix(wall.img, hex2rgb("#1a1a1a"),
                       stroke_mask(shape, [(cx, cy), (cx + math.sin(a) * R * L, cy - math.cos(a) * R * L)], wd))


def basket(wall: Wall, x0: float, x1: float, h: float, colour: str) -> None:
    """A wicker basket on the floor: tapered, a woven texture, a rim."""
    (a, top), (b, bot) = wall.px(x0, h), wall.px(x1, 0.0)
    inset = (b - a) * 0.08
    m = poly_mask((wall.h, wall.w), [(a, top), (b, top), (b - inset, bot), (a + inset, bot)])
    wall.drop_shadow(m, 0.3, 0.04)
    ys, xs = np.nonzero(m.max(1) > 0)[0], np.nonzero(m.max(0) > 0)[0]
    sl = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    wv = 0.5 + 0.5 * weave(m[sl].shape, 7.0)
    col = hex2rgb(colour)[None, None] * (0.7 + 0.4 * wv)[..., None] * (1 + 0.1 * wall.grain[sl])[..., None]
    wall.img[sl] = mix(wall.img[sl], col, m[sl])
    wall.rect(x0 - 0.005, h - 0.03, x1 + 0.005, h, hex2rgb(colour) * 0.85, r=0.01, grad=0.4, tex=0.05)


def window(wall: Wall, x0: float, x1: float, y0: float, y1: float, frame: str, curtain: str | None,
           sky_top: str = "#a9c8e8", sky_bottom: str = "#eef3f6") -> None:
    """A bright window: sky and distant trees, frame with mullion, curtains at the sides."""
    m = wall.mask_rect(x0, y0, x1, y1)
    ys = np.nonzero(m.max(1))[0]
    t = np.clip((wall.yy - ys.min()) / (ys.max() - ys.min()), 0, 1)
    sky = mix(hex2rgb(sky_top)[None, None] * np.ones_like(wall.img), hex2rgb(sky_bottom), t)
    trees = fractal_noise(wall.rng, wall.h, wall.w, beta=2.2)
    tree_line = wall.px(0, y0 + (y1 - y0) * 0.3)[1] + 40 * blur(trees, 30)
    tm = smoothstep(-3, 3, wall.yy - tree_line)
    sky = mix(sky, hex2rgb("#a9b89a") * (1 + 0.1 * trees)[..., None], tm * 0.7)
    wall.img = mix(wall.img, np.minimum(sky * 1.1, 1), m)
    # glow: window light spills onto the wall around it
    wall.img = np.minimum(wall.img * (1 + 0.25 * soft_blur(m, 80 * wall.k))[..., None], 1)
    fw = 0.05
    for (a, b, c, d) in ((x0, y0, x1, y0 + fw), (x0, y1 - fw, x1, y1), (x0, y0, x0 + fw, y1),
                         (x1 - fw, y0, x1, y1), ((x0 + x1) / 2 - fw / 2, y0, (x0 + x1) / 2 + fw / 2, y1)):
        wall.rect(a, b, c, d, frame, bevel=0.01, tex=0.01)
    wall.rect(x0 - 0.05, y0 - 0.04, x1 + 0.05, y0, frame, bevel=0.01, shadow=0.3)  # sill
    if curtain:
        for cx0, cx1 in ((x0 - 0.25, x0 + 0.12), (x1 - 0.12, x1 + 0.25)):
            m = wall.mask_rect(cx0, 0.25, cx1, y1 + 0.3)
            folds = 0.5 + 0.5 * np.sin(wall.xx / (0.05 * BD_PPM * wall.k) * np.pi)
            wall.drop_shadow(m, 0.25)
            col = hex2rgb(curtain)[None, None] * (0.75 + 0.3 * folds)[..., None]
            col = col * (1 + 0.04 * weave((wall.h, wall.w), 2.5) + 0.03 * wall.grain)[..., None]
            wall.img = mix(wall.img, col, m)


def sofa(wall: Wall, x0: float, x1: float, colour: str, legs: str) -> None:
    """A sofa seen from the front at floor level: legs, dark gap, seat, back cushions, arms,
    all upholstered (a weave, rounded-off shading)."""
    col = hex2rgb(colour)
    seat_y, back_y = 0.45, 0.86
    arm = 0.2
    up = dict(pattern="fabric", puff=0.06)
    wall.drop_shadow(np.maximum(wall.mask_rect(x0 + arm - 0.05, 0.1, x1 - arm + 0.05, back_y, 0.06),
                                wall.mask_rect(x0, 0.1, x1, 0.66, 0.07)), 0.45, 0.12)
    for lx in (x0 + 0.08, x1 - 0.12, (x0 + x1) / 2 - 0.02):
        wall.rect(lx, 0.0, lx + 0.04, 0.12, legs, grad=0.2)
    gap = wall.mask_rect(x0 + 0.05, 0.0, x1 - 0.05, 0.14)
    wall.img *= (1 - 0.55 * blur(gap, 8) * 1)[..., None]  # deep shadow under the sofa
    wall.rect(x0 + arm - 0.05, seat_y, x1 - arm + 0.05, back_y, col * 0.85, r=0.06, grad=0.25, tex=0.05, **up)
    n_cush = 3
    cw = (x1 - x0 - 2 * arm) / n_cush
    for i in range(n_cush):  # back cushions
        wall.rect(x0 + arm + i * cw + 0.01, seat_y + 0.08, x0 + arm + (i + 1) * cw - 0.01, back_y - 0.02,
                  col * 0.95, r=0.07, grad=0.3, tex=0.05, shadow=0.2, **up)
    wall.rect(x0 + arm - 0.02, 0.12, x1 - arm + 0.02, seat_y + 0.02, col * 0.8, r=0.03, grad=0.2, tex=0.05, **up)
    for i in range(n_cush):  # seat cushion fronts
        wall.rect(x0 + arm + i * cw + 0.005, seat_y - 0.12, x0 + arm + (i + 1) * cw - 0.005, seat_y + 0.06,
                  col, r=0.05, grad=0.35, tex=0.05, shadow=0.15, **up)
    for ax in (x0, x1 - arm):
        wall.rect(ax, 0.12, ax + arm, 0.66, col * 0.92, r=0.07, grad=0.3, tex=0.05, shadow=0.25, **up)


def cabinet(wall: Wall, x0: float, x1: float, y1: float, body: str, doors: int, drawers: int,
            handle: str, plinth: float = 0.1, legs: bool = False, wood: bool = False) -> None:
    """A cabinet / sideboard: plinth or legs, doors with handles, a row of drawers on top;
    `wood` shows the grain (vertical on doors, along the drawers)."""
    pv, ph = ("wood", "wood_h") if wood else (None, None)
    wall.drop_shadow(wall.mask_rect(x0, plinth, x1, y1), 0.35, 0.08)
    if legs:
        for lx in (x0 + 0.05, x1 - 0.09):
            wall.rect(lx, 0, lx + 0.04, plinth, "#2b2b2b", grad=0.2)
        wall.img *= (1 - 0.35 * blur(wall.mask_rect(x0, 0, x1, plinth), 8))[..., None]
    else:
        wall.rect(x0 + 0.03, 0, x1 - 0.03, plinth, hex2rgb(body) * 0.45, grad=0.1)
    wall.rect(x0, plinth, x1, y1, body, bevel=0.01, grad=0.1, tex=0.015, pattern=ph)
    dh = 0.16 if drawers else 0.0
    dw = (x1 - x0 - 0.02) / max(doors, 1)
    for i in range(doors):
        a = x0 + 0.01 + i * dw
        wall.rect(a + 0.005, plinth + 0.015, a + dw - 0.005, y1 - dh - 0.01, body, bevel=0.008,
                  grad=0.12, tex=0.015, pattern=pv)
        hx = a + dw - 0.05 if i % 2 == 0 else a + 0.04
        wall.rect(hx, y1 - dh - 0.22, hx + 0.015, y1 - dh - 0.08, handle, r=0.006, grad=0.4, tex=0)
    if drawers:
        ww = (x1 - x0 - 0.02) / drawers
        for i in range(drawers):
            a = x0 + 0.01 + i * ww
            wall.rect(a + 0.005, y1 - dh, a + ww - 0.005, y1 - 0.01, body, bevel=0.008, grad=0.12,
                      tex=0.015, pattern=ph)
            wall.rect(a + ww / 2 - 0.06, y1 - dh / 2 - 0.008, a + ww / 2 + 0.06, y1 - dh / 2 + 0.008,
                      handle, r=0.006, grad=0.4, tex=0)


def door(wall: Wall, x0: float, colour: str, frame: str, handle: str, panels: bool = True,
         wood: bool = False) -> None:
    """An interior door with architrave, raised panels, a lever handle, scuffs at its foot
    and a worn patch by the handle; `wood` shows the grain."""
    w, h = 0.85, 2.05
    wall.rect(x0 - 0.07, 0, x0 + w + 0.07, h + 0.07, frame, bevel=0.015, shadow=0.2)
    wall.rect(x0, 0.0, x0 + w, h, colour, grad=0.06, tex=0.015, pattern="wood" if wood else None)
    wall.img *= (1 - 0.06 * wall.mask_rect(x0, 0.0, x0 + w, 0.25) * smoothstep(-0.3, 1.5, wall.grain))[..., None]
    (hx, hy) = wall.px(x0 + 0.12, 1.0)
    grime = np.exp(-(((wall.xx - hx) / 45) ** 2 + ((wall.yy - hy) / 70) ** 2))
    wall.img *= (1 - 0.07 * grime * wall.mask_rect(x0, 0.0, x0 + w, h))[..., None]
    if panels:
        for (a, b) in ((0.12, 0.9), (1.05, 1.9)):
            m = wall.mask_rect(x0 + 0.12, a, x0 + w - 0.12, b)
            inner = wall.mask_rect(x0 + 0.15, a + 0.03, x0 + w - 0.15, b - 0.03)
            wall.img *= (1 - 0.10 * (m - inner))[..., None]
    wall.rect(x0 + 0.06, 1.0, x0 + 0.2, 1.025, handle, r=0.01, grad=0.5, tex=0, shadow=0.3)
    wall.rect(x0 + 0.06, 0.96, x0 + 0.1, 1.07, handle, r=0.015, grad=0.5, tex=0)
    gap = wall.mask_rect(x0, 0.0, x0 + w, 0.012)
    wall.img = mix(wall.img, hex2rgb("#fff6df"), gap * 0.8)  # light under the door


def plant(wall: Wall, x: float, pot: str) -> None:
    """A potted plant: tapered pot and a bushy crown of leaves."""
    wall.rect(x - 0.14, 0, x + 0.14, 0.34, pot, r=0.03, grad=0.3, tex=0.03, shadow=0.35)
    rng = wall.rng
    leaves = []
    for k in range(40):
        a = rng.uniform(0.15 * np.pi, 0.85 * np.pi)
        L = rng.uniform(0.25, 0.6)
        p0 = wall.px(x, 0.33)
        p1 = wall.px(x + L * math.cos(a), 0.33 + L * math.sin(a))
        mid = ((p0[0] + p1[0]) / 2 + rng.normal(0, 10), (p0[1] + p1[1]) / 2)
        m = np.zeros((wall.h, wall.w), np.float32)
        pts = resample(open_spline([p0, mid, p1], 40), 2.0)
        for i, q in enumerate(pts[::3]):  # a leaf: widest in the middle
            r = 14 * math.sin(math.pi * i / max(len(pts[::3]) - 1, 1)) + 1
            cv2.circle(m, (int(q[0]), int(q[1])), int(r), 1.0, -1, cv2.LINE_AA)
        leaves.append((m, hex2rgb("#3f6b34") * rng.uniform(0.7, 1.2)))
    wall.drop_shadow(np.maximum.reduce([m for m, _ in leaves]), 0.2, 0.03)
    for m, col in leaves:
        ys, xs = np.nonzero(m.max(1))[0], np.nonzero(m.max(0))[0]
        sl = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        wall.img[sl] = mix(wall.img[sl], col, m[sl])


def radiator(wall: Wall, x0: float, x1: float) -> None:
    """A white panel radiator with vertical fins, on two short brackets."""
    wall.rect(x0, 0.15, x1, 0.7, "#ecebe6", r=0.01, grad=0.1, tex=0.005, shadow=0.3)
    m = wall.mask_rect(x0, 0.15, x1, 0.7)
    fins = 0.5 + 0.5 * np.sin(wall.xx / (0.035 * BD_PPM * wall.k) * 2 * np.pi)
    wall.img *= (1 - 0.1 * fins * m)[..., None]
    for bx in (x0 + 0.1, x1 - 0.12):
        wall.rect(bx, 0.0, bx + 0.02, 0.15, "#dcdcd6", grad=0.2, tex=0)


def picture(wall: Wall, x0: float, y0: float, x1: float, y1: float, frame: str,
            colours: tuple[str, str, str]) -> None:
    """A framed picture: a simple landscape of sky, hills and a foreground band."""
    wall.rect(x0, y0, x1, y1, frame, bevel=0.01, shadow=0.3)
    m = wall.mask_rect(x0 + 0.04, y0 + 0.04, x1 - 0.04, y1 - 0.04)
    ys, xs = np.nonzero(m.max(1))[0], np.nonzero(m.max(0))[0]
    sl = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    hh, ww = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    yy, xx = np.mgrid[0:hh, 0:ww].astype(np.float32)
    hill = hh * (0.55 + 0.12 * np.sin(xx / ww * 5 + 1) + 0.05 * np.sin(xx / ww * 13))
    art = mix(hex2rgb(colours[0])[None, None] * np.ones((hh, ww, 3), np.float32),
              hex2rgb(colours[1]), smoothstep(-2, 2, yy - hill))
    art = mix(art, hex2rgb(colours[2]), smoothstep(-2, 2, yy - hh * 0.8 - 0.04 * hh * np.sin(xx / ww * 3)))
    wall.img[sl] = mix(wall.img[sl], art, m[sl])


def backdrop_living(name: str) -> np.ndarray:
    w = Wall(name, "#d9cfbf", "#f2f0ea", light_x=0.7)
    window(w, 2.55, 3.75, 0.9, 2.2, "#f4f3ef", "#8a9a7a")
    radiator(w, 2.75, 3.55)
    picture(w, 0.8, 1.2, 1.75, 1.85, "#2d2a26", ("#f0d9a8", "#d98b4a", "#7a4a2e"))
    sofa(w, 0.25, 2.3, "#5a6f8c", "#3b2a1e")
    for cx, col in ((0.62, "#c98f4a"), (1.95, "#d9d2c2")):  # throw cushions
        w.rect(cx - 0.17, 0.5, cx + 0.17, 0.8, col, r=0.07, grad=0.35, tex=0.06, shadow=0.25, pattern="fabric",
               puff=0.08)
    socket(w, 2.42, 0.22)
    socket(w, 4.3, 1.1, switch=True)
    wall_clock(w, 2.0, 1.95, 0.13)
    basket(w, 3.62, 3.92, 0.32, "#b08a5a")
    plant(w, 4.1, "#b66a3c")
    return w.finish()


def backdrop_hallway(name: str) -> np.ndarray:
    w = Wall(name, "#c9d3d6", "#ffffff", light_x=0.35)
    door(w, 0.55, "#f5f4f0", "#ffffff", "#b9bcc0")
    cabinet(w, 1.9, 3.1, 0.95, "#8a6a4a", doors=2, drawers=2, handle="#2b2b2b", plinth=0.12,
            legs=True, wood=True)
    door(w, 3.45, "#7b5a3c", "#ffffff", "#c9a15a", wood=True)
    books(w, 2.0, 2.42, 0.95, ("#7a2e2a", "#2f4a6a", "#d8cfb8", "#3d5a3a", "#202020"))
    vase(w, 2.75, 0.95, 0.24, "#dcd6c8", stems=4)
    socket(w, 1.55, 1.05, switch=True)
    socket(w, 3.2, 0.22)
    picture(w, 2.15, 1.35, 2.85, 1.9, "#e8e4dc", ("#cfe3ef", "#6f9a7a", "#3f5f4a"))
    w.rect(1.95, 2.05, 3.05, 2.09, "#6b5038", grad=0.2, tex=0.02, shadow=0.3)  # coat rack
    for k in range(5):
        w.rect(2.05 + k * 0.22, 1.96, 2.075 + k * 0.22, 2.05, "#2b2b2b", r=0.008, grad=0.3, tex=0)
    for k, col in ((0, "#39424e"), (4, "#8c3b2e")):  # coats on the end hooks
        cx = 2.0625 + k * 0.22
        w.rect(cx - 0.12, 1.15, cx + 0.12, 1.99, col, r=0.06, grad=0.3, tex=0.06, shadow=0.35, pattern="fabric",
               puff=0.07)
    return w.finish()


def backdrop_kitchen(name: str) -> np.ndarray:
    w = Wall(name, "#eae6dc", "#eae6dc", light_x=0.5)
    # tiled splashback above the counter
    m = w.mask_rect(0, 0.92, 3.3, 1.5)
    tiles_y = (np.abs(((w.yy / (0.075 * BD_PPM * w.k)) % 1) - 0.5) > 0.47) | \
        (np.abs(((w.xx / (0.15 * BD_PPM * w.k)) % 1) - 0.5) > 0.485)
    w.fill(m, "#f4f6f5", grad=0.0, tex=0.01)
    w.img *= (1 - 0.12 * tiles_y * m)[..., None]
    cabinet(w, 0.0, 3.3, 0.88, "#5f7f74", doors=5, drawers=5, handle="#c8c8c8", plinth=0.12)
    w.rect(0.0, 0.88, 3.35, 0.92, "#ded6c8", bevel=0.006, grad=0.2, tex=0.02, shadow=0.4)  # worktop
    socket(w, 0.55, 1.05)
    socket(w, 2.4, 1.05)
    for x, h, col in ((0.95, 0.2, "#c8c8c4"), (1.08, 0.15, "#c9a46a"), (1.19, 0.17, "#b8b5ae")):  # jars
        w.rect(x, 0.92, x + 0.09, 0.92 + h, col, r=0.02, grad=0.3, tex=0.03, shadow=0.25)
        w.rect(x - 0.005, 0.92 + h, x + 0.095, 0.935 + h, "#6e5a44", r=0.004, grad=0.3, tex=0.02)
    w.rect(1.85, 0.92, 2.15, 1.12, "#c9ccd0", r=0.03, bevel=0.01, grad=0.35, tex=0.01, shadow=0.3,
           pattern="brushed")  # toaster
    w.rect(1.9, 1.12, 2.1, 1.13, "#2b2b2b", grad=0, tex=0)
    vase(w, 2.85, 0.92, 0.22, "#f2efe6")
    for i in range(4):  # wall units above
        w.rect(0.02 + i * 0.82, 1.62, 0.82 + i * 0.82, 2.32, "#eef0ed", bevel=0.008, grad=0.1,
               tex=0.01, shadow=0.35)
        w.rect(0.4 + i * 0.82, 1.66, 0.44 + i * 0.82, 1.675, "#c8c8c8", r=0.005, grad=0.4, tex=0)
    # a tall fridge at the end
    w.rect(3.45, 0.02, 4.15, 1.95, "#d7dadd", r=0.03, bevel=0.01, grad=0.12, tex=0.005, shadow=0.4,
           pattern="brushed")
    w.rect(3.45, 1.15, 4.15, 1.17, "#a4a8ad", grad=0.0, tex=0.0)
    w.rect(3.52, 0.6, 3.545, 1.05, "#8d9196", r=0.01, grad=0.4, tex=0)
    w.rect(3.52, 1.25, 3.545, 1.6, "#8d9196", r=0.01, grad=0.4, tex=0)
    w.img *= (1 - 0.5 * blur(w.mask_rect(3.45, 0, 4.15, 0.03), 6))[..., None]
    return w.finish()


def backdrop_bedroom(name: str) -> np.ndarray:
    """Held-out backdrop: a dark green bedroom with a bed, duvet and nightstand."""
    w = Wall(name, "#47614f", "#e9e6df", light_x=0.15)
    # bed: wooden frame, mattress side, duvet hanging down with folds
    w.rect(0.6, 0.0, 2.8, 0.3, "#6e4f36", grad=0.2, tex=0.03, shadow=0.5, pattern="wood_h")
    w.img *= (1 - 0.5 * blur(w.mask_rect(0.65, 0.0, 2.75, 0.1), 8))[..., None]
    w.rect(0.62, 0.3, 2.78, 0.55, "#f0efe8", r=0.03, grad=0.2, tex=0.01)
    m = w.mask_rect(0.55, 0.18, 2.85, 0.62, 0.04)
    folds = 0.5 + 0.5 * np.sin(w.xx / (0.11 * BD_PPM * w.k) * np.pi + 0.6 * w.grain)
    w.drop_shadow(m, 0.35)
    w.img = mix(w.img, hex2rgb("#d9b89a")[None, None] * (0.8 + 0.25 * folds)[..., None], m)
    w.rect(0.55, 0.62, 2.85, 1.1, "#6e4f36", r=0.02, bevel=0.02, grad=0.2, tex=0.03,
           pattern="wood_h")  # headboard
    for cx in (1.2, 2.2):  # pillows
        w.rect(cx - 0.32, 0.52, cx + 0.32, 0.78, "#efece4", r=0.09, grad=0.4, tex=0.03, shadow=0.3, pattern="fabric",
               puff=0.09)
    socket(w, 2.95, 0.22)
    socket(w, 3.75, 1.05, switch=True)
    picture(w, 1.35, 1.4, 2.05, 1.95, "#d9d3c6", ("#e8e0d0", "#8fa3a8", "#4d5b5e"))
    cabinet(w, 3.1, 3.6, 0.58, "#e6e2da", doors=0, drawers=1, handle="#9a8a6a", plinth=0.1, legs=True)
    w.rect(3.27, 0.58, 3.43, 0.62, "#888888", grad=0.3, tex=0)  # lamp base
    w.rect(3.34, 0.62, 3.36, 0.92, "#888888", grad=0.1, tex=0)
    lm = w.mask_rect(3.18, 0.9, 3.52, 1.15, 0.02)
    w.img = mix(w.img, np.minimum(w.img * 0 + hex2rgb("#fff1cf") * 1.0, 1), lm)
    w.img = np.minimum(w.img * (1 + 0.3 * soft_blur(lm, 60))[..., None], 1)
    return w.finish()


# ----------------------------------------------------------------------------- the pack
@dataclass
class Variant:
    """One physical object: its PSD layer name (without the view tag), the function building
    its 3-D parts, the views to photograph, and whether its layers are hidden."""
    layer: str
    build: Callable[[], list]
    views: tuple = ASYM
    hidden: bool = False

    def render(self) -> list[tuple[str, np.ndarray, bool]]:
        """[(layer name with view tag, RGBA, hidden), ...] for every view."""
        return [(f"{self.layer} {view_tag(e, a)}", rgba, self.hidden)
                for (e, a), rgba in render_views(self.build(), self.views)]


V = Variant
SUBJECTS: dict[str, list[Variant]] = {
    "shoe": [
        V("shoe_runner", lambda: shoe("shoe_runner", SHOES["shoe_runner"])),
        V("shoe_derby", lambda: shoe("shoe_derby", SHOES["shoe_derby"])),
        V("shoe_canvas", lambda: shoe("shoe_canvas", SHOES["shoe_canvas"])),
        V("shoe_slipper", lambda: shoe("shoe_slipper", SHOES["shoe_slipper"])),
        V("shoe_pump", lambda: shoe("shoe_pump", SHOES["shoe_pump"])),
        V("shoe_draft", lambda: shoe("shoe_draft", SHOES["shoe_draft"]), TOP, hidden=True),
    ],
    "sock": [
        V("sock_sport", lambda: sock("sock_sport", 0.14, 0.15, 0.085, "#f1f0ea", "#b9bcc2", 0.045,
                                     "cuffstripes", ("#1f3b73", "#c23b2c"))),
        V("sock_stripes", lambda: sock("sock_stripes", 0.16, 0.14, 0.08, "#e84a3c", None, 0.03, "stripes",
                                       ("#e84a3c", "#f6b63a", "#3a9a5b", "#2f6fb5", "#7a3f98"))),
        V("sock_dots", lambda: sock("sock_dots", 0.07, 0.15, 0.082, "#e889a8", "#ffffff", 0.02, "dots",
                                    ("#ffffff",), bend=105)),
        V("sock_dress", lambda: sock("sock_dress", 0.2, 0.15, 0.072, "#34363c", None, 0.035, "plain",
                                     knit_m=0.0016, fuzz=0.03, bend=125, thick=0.012)),
        V("sock_wool", lambda: sock("sock_wool", 0.15, 0.16, 0.095, "#cfc6b4", "#b3262b", 0.04, "plain",
                                    knit_m=0.0032, fuzz=0.12, bend=110, thick=0.024)),
    ],
    "cable": [
        V("cable_usb", lambda: cable("cable_usb", "#f2f2f0", 0.0022, _path("cable_usb_path", 60, 0.008, 0.25),
                                     "usb", "#f4f4f2", other_end="usbc")),
        V("cable_power", lambda: cable("cable_power", "#1d1d1f", 0.0032,
                                       _path("cable_power_path", 70, 0.008, 0.35), "euro", "#222224")),
        V("cable_extension", lambda: cable("cable_extension", "#f07a1a", 0.0034, _coil_path(), "power",
                                           "#202020")),
        V("cable_ethernet", lambda: cable("cable_ethernet", "#2a6fd0", 0.0026,
                                          _path("cable_ethernet_path", 60, 0.008, 0.3), "rj45", "#2a6fd0",
                                          other_end="rj45")),
    ],
    "poop": [
        V("poop_coil", lambda: poop("poop_coil", "coil", "#4a301c", 0.1), SYM),
        V("poop_logs", lambda: poop("poop_logs", "logs", "#5b3b20", 0.14)),
        V("poop_pile", lambda: poop("poop_pile", "pile", "#634427", 0.12)),
        V("poop_pellets", lambda: poop("poop_pellets", "pellets", "#3e2a18", 0.09)),
    ],
    "bowl": [
        V("bowl_steel", lambda: bowl("bowl_steel", 0.11, 0.055, "steel", "#c7ccd2"), SYM),
        V("bowl_red_kibble", lambda: bowl("bowl_red_kibble", 0.1, 0.06, "plastic", "#c62f2f",
                                          content="kibble", food="#7a4b22"), SYM),
        V("bowl_ceramic_water", lambda: bowl("bowl_ceramic_water", 0.095, 0.065, "ceramic", "#3b6fb0",
                                             content="water", pattern="paws"), SYM),
        V("bowl_double", lambda: bowl_double("bowl_double", "#8d949b", "#c7ccd2")),
    ],
    "rag": [
        V("rag_microfiber", lambda: rag("rag_microfiber", 0.3, "#3d7fd0", "plain")),
        V("rag_checked", lambda: rag("rag_checked", 0.32, "#c8322f", "gingham")),
        V("rag_terry", lambda: rag("rag_terry", 0.3, "#f0c63c", "terry", second="#ffffff", hem=False)),
        V("rag_old", lambda: rag("rag_old", 0.28, "#9c9a92", "plain", hem=False, fray=True, stains=True)),
    ],
    "scale": [
        V("scale_glass", lambda: scale("scale_glass", 0.3, 0.3, "glass")),
        V("scale_white", lambda: scale("scale_white", 0.29, 0.31, "white")),
        V("scale_dial", lambda: scale("scale_dial", 0.28, 0.33, "dial")),
        V("scale_bamboo", lambda: scale("scale_bamboo", 0.31, 0.29, "wood")),
    ],
    "fan": [
        V("fan_pedestal", lambda: fan_pedestal("fan_pedestal", 1.05, 0.21, "#ecebe7", "#a9cde8", 5), BELOW),
        V("fan_pedestal_black", lambda: fan_pedestal("fan_pedestal_black", 1.0, 0.2, "#1c1d20", "#2a2c30", 3,
                                                     base="cross"), BELOW),
        V("fan_box", lambda: fan_box("fan_box", 0.5, "#d9dadc", "#f4f4f4"), BELOW),
        V("fan_tower", lambda: fan_tower("fan_tower", 0.9, 0.16, "#2b2d31", "#7d838b", "#52d1ff"), BELOW),
        V("fan_floor", lambda: fan_floor("fan_floor", 0.16, "#2f6db5", "#dfe8f0"), BELOW),
    ],
}

DISTRACTORS: dict[str, list[Variant]] = {
    "leaf": [
        V("leaf_maple", lambda: leaf("leaf_maple", 0.11, "#d0661f", "maple", "#f0b060"), THIN),
        V("leaf_green", lambda: leaf("leaf_green", 0.1, "#5f8f2f", "ellipse", "#b8d080"), THIN),
        V("leaf_dry", lambda: leaf("leaf_dry", 0.085, "#7a5530", "ellipse", "#a88050", curl=0.6), THIN),
    ],
    "paper": [
        V("paper_ball", lambda: paper("paper_ball", "ball"), SYM),
        V("paper_note", lambda: paper("paper_note", "note"), THIN),
        V("paper_receipt", lambda: paper("paper_receipt", "receipt"), THIN),
    ],
    "toy": [
        V("toy_brick", lambda: toy("toy_brick", "brick", "#d52b1e")),
        V("toy_ball", lambda: toy("toy_ball", "ball", "#f2c21b"), SYM),
        V("toy_car", lambda: toy("toy_car", "car", "#1f8a4c")),
    ],
}

HELDOUT: dict[str, list[Variant]] = {
    "shoe": [
        V("shoe_loafer", lambda: shoe("shoe_loafer", SHOES["shoe_loafer"])),
        V("shoe_hightop", lambda: shoe("shoe_hightop", SHOES["shoe_hightop"])),
    ],
    "sock": [
        V("sock_argyle", lambda: sock("sock_argyle", 0.17, 0.15, 0.082, "#4d6b3a", "#3a2a1e", 0.035, "argyle",
                                      ("#8a5a32", "#e8d9b0"))),
        V("sock_ankle", lambda: sock("sock_ankle", 0.05, 0.15, 0.08, "#1d2c52", None, 0.018, "plain", bend=100)),
    ],
    "cable": [
        V("cable_hdmi", lambda: cable("cable_hdmi", "#0f0f11", 0.0036, _path("cable_hdmi_path", 55, 0.009, 0.3),
                                      "usb", "#1a1a1c", other_end="usb", plug_scale=1.5, gloss=0.2)),
        V("cable_extension_red", lambda: cable("cable_extension_red", "#b3201c", 0.0034,
                                               _path("cable_ext_red_path", 80, 0.008, 0.4), "euro", "#e8e8e8")),
    ],
    "poop": [
        V("poop_coil_light", lambda: poop("poop_coil_light", "coil", "#7a5532", 0.09, gloss=0.15), SYM),
        V("poop_logs_dark", lambda: poop("poop_logs_dark", "logs", "#2f2014", 0.13, gloss=0.5)),
    ],
    "bowl": [
        V("bowl_white_kibble", lambda: bowl("bowl_white_kibble", 0.09, 0.05, "ceramic", "#f2f0ea",
                                            content="kibble", food="#5a3a1a", pattern="band"), SYM),
        V("bowl_steel_water", lambda: bowl("bowl_steel_water", 0.12, 0.07, "steel", "#b9c0c8",
                                           content="water"), SYM),
    ],
    "rag": [
        V("rag_denim", lambda: rag("rag_denim", 0.3, "#2f4f7f", "denim", second="#9fb3cf", hem=False,
                                   fray=True)),
        V("rag_striped", lambda: rag("rag_striped", 0.29, "#f4f4ee", "stripes", second="#2f8f4f")),
    ],
    "scale": [
        V("scale_round", lambda: scale("scale_round", 0.31, 0.31, "round", reading="64.8")),
        V("scale_glass_blue", lambda: scale("scale_glass_blue", 0.32, 0.3, "glass", tint="#5d7d9a",
                                            reading="81.2")),
    ],
    "fan": [
        V("fan_pedestal_grey", lambda: fan_pedestal("fan_pedestal_grey", 0.95, 0.19, "#8d9298", "#d8dde2", 4,
                                                    base="cross", tilt=14), BELOW),
        V("fan_floor_green", lambda: fan_floor("fan_floor_green", 0.17, "#3f8f5a", "#f0f0ea", tilt=12),
          BELOW),
    ],
}

FLOORS: dict[str, tuple[float, Callable[[], np.ndarray]]] = {  # file -> (metres across, draw)
    "wood_planks.jpg": (2.0, lambda: planks("wood_planks", 93, "#c08a55", "#5e3a1c", 8.0, 1.5, 0.11,
                                            "#2e2016", 1.5, (0.35, 0.7), knots=4)),
    "laminate.jpg": (1.9, lambda: planks("laminate", 102, "#cdbca3", "#8f7d68", 7.0, 0.8, 0.06,
                                         "#5a5045", 1.0, (0.4, 0.6), repeat_grain=True, wear=0.6)),
    "tiles.jpg": (1.2, lambda: tiles("tiles", 4, "#d8d0c2", "#a9a398", 6, 0.06, 0.12, 0.04)),
    "carpet.jpg": (1.0, lambda: carpet("carpet", "#a0968a", "#6a6258", "#c9c0b2")),
    "marble.jpg": (1.2, lambda: marble("marble", "#eeece8", "#6f7278", 2)),
    "concrete.jpg": (2.0, lambda: concrete("concrete", "#9a9893")),
    "walnut_planks.jpg": (2.4, lambda: planks("walnut_planks", 128, "#8a5c3e", "#2a190f", 14.0, 0.6,
                                              0.14, "#1a110b", 1.5, (0.45, 0.8), knots=2)),
    "slate_tiles.jpg": (1.2, lambda: tiles("slate_tiles", 2, "#4d5257", "#2f3134", 5, 0.12, 0.15, 0.06,
                                           cleft=1.0, palette=("#4a5056", "#5b5a55", "#3f4a4f", "#5e5249"))),
}
HELDOUT_FLOORS = {
    "parquet.jpg": (2.5, lambda: parquet("parquet", "#c08a50", "#70451f")),
    "checker_vinyl.jpg": (2.4, lambda: vinyl("checker_vinyl", 8, "#ece9e2", "#24272b", "#8a8a8a")),
}
# How strongly each floor mirrors what stands on it (0 matte .. 1 a mirror), drawn per image
# from [lo, hi]: polished stone and glazed tiles most, varnished wood and vinyl some, sealed
# slate and polished concrete a little, carpet not at all.
GLOSS: dict[str, tuple[float, float]] = {
    "wood_planks.jpg": (0.10, 0.25), "laminate.jpg": (0.12, 0.28), "tiles.jpg": (0.18, 0.38),
    "carpet.jpg": (0.0, 0.0), "marble.jpg": (0.25, 0.45), "concrete.jpg": (0.02, 0.08),
    "walnut_planks.jpg": (0.12, 0.30), "slate_tiles.jpg": (0.06, 0.16),
    "parquet.jpg": (0.10, 0.25), "checker_vinyl.jpg": (0.15, 0.32),
}
BACKDROPS = {
    "living_room.jpg": lambda: backdrop_living("living_room"),
    "hallway.jpg": lambda: backdrop_hallway("hallway"),
    "kitchen.jpg": lambda: backdrop_kitchen("kitchen"),
}
HELDOUT_BACKDROPS = {"bedroom.jpg": lambda: backdrop_bedroom("bedroom")}

CATALOG = """\
# Default class catalog for the embedded demo pack (assets/subjects/*.psd).
# Generated by assets/make_assets.py -- edit there, then rerun it.
#
# size_m:     physical length, metres [min, max], of the longer side of the object's LARGEST
#             view (all views of one object share one scale; for a single-view subject: the
#             cut-out's longer side)
# pose:       flat = lies on the floor; upright = stands. Only the fallback for subjects without
#             an [elev=...] view tag (flat = seen from 90 deg, upright = from 0 deg): every layer
#             of the demo pack carries one, e.g. "shoe_runner [elev=15 az=90]".
# yaw_deg:    rotation about the vertical axis [min, max]; free for lying classes, bounded for
#             upright ones
# roll_deg:   tilt in the image plane [min, max]; small for upright, 0 for flat classes
# mirror:     true = the object may be mirrored (left-right symmetric class: a view mirrored is
#             the view from -azimuth); not for scales, whose digits would read mirrored
# distractor: true = pasted unlabelled (things the detector must learn to ignore)
classes:
  shoe:  {size_m: [0.22, 0.32], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0], mirror: true}
  sock:  {size_m: [0.18, 0.34], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0], mirror: true}
  cable: {size_m: [0.30, 0.80], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0], mirror: true}
  poop:  {size_m: [0.05, 0.18], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0], mirror: true}
  bowl:  {size_m: [0.14, 0.36], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0], mirror: true}
  rag:   {size_m: [0.20, 0.45], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0], mirror: true}
  scale: {size_m: [0.26, 0.36], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0]}
  fan:   {size_m: [0.35, 1.30], pose: upright, yaw_deg: [-35, 35],   roll_deg: [-3, 3], mirror: true}
  leaf:  {size_m: [0.05, 0.15], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0], mirror: true, distractor: true}
  paper: {size_m: [0.06, 0.25], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0], mirror: true, distractor: true}
  toy:   {size_m: [0.05, 0.20], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0], mirror: true, distractor: true}
"""


def cover(layers: list[tuple[str, np.ndarray, bool]]) -> int:
    """Index of the view shown on the document canvas: the object from the front at 15 deg
    (a robot's-eye view, and small, so the stored composite stays cheap)."""
    for i, (name, _, _) in enumerate(layers):
        if name.endswith("[elev=15 az=0]") or name.endswith("[elev=15]"):
            return i
    return 0


def psd_bytes(groups: dict[str, list[list[tuple[str, np.ndarray, bool]]]]) -> bytes:
    """A layered RGBA PSD: one top-level group per class, one pixel layer per view.

    The document canvas is just the first object's front view at 15 deg (a cover, so the
    stored composite that file browsers show stays small); every other layer lies outside
    the canvas, packed in shelves to its right. Layers keep all their pixels there: psd-tools
    (and Photoshop) read them back whole.
    """
    from psd_tools import PSDImage
    from psd_tools.constants import Compression

    objects = [layers for objs in groups.values() for layers in objs]
    first = next(k for k, layers in enumerate(objects) if not layers[0][2])
    ch, cw = objects[first][cover(objects[first])][1].shape[:2]
    gap, shelf_w = 8, 2400
    x, y, shelf_h = cw + gap, 0, 0
    places: dict[tuple[int, int], tuple[int, int]] = {}
    for k, layers in enumerate(objects):
        for j, (name, rgba, hidden) in enumerate(layers):
            if k == first and j == cover(layers):
                places[k, j] = (0, 0)
                continue
            h, w = rgba.shape[:2]
            if x + w > cw + gap + shelf_w and x > cw + gap:
                x, y, shelf_h = cw + gap, y + shelf_h + gap, 0
            places[k, j] = (x, y)
            x += w + gap
            shelf_h = max(shelf_h, h)
    psd = PSDImage.new("RGBA", (cw, ch), color=(255, 255, 255, 0), compression=Compression.RLE)
    k = 0
    for cls, objs in groups.items():
        group = psd.create_group(name=cls)
        for layers in objs:
            for j, (name, rgba, hidden) in enumerate(layers):
                left, top = places[k, j]
                layer = group.create_pixel_layer(Image.fromarray(rgba, "RGBA"), name=name, top=top, left=left,
                                                 compression=Compression.ZIP_WITH_PREDICTION)
                layer.visible = not hidden
            k += 1
    buf = io.BytesIO()
    psd.save(buf)
    return buf.getvalue()


def scale_yaml(floors: dict) -> str:
    lines = ["# Metres of floor covered by each texture's width (the renderer scales by this).",
             "# Generated by assets/make_assets.py."]
    lines += [f"{name}: {metres}" for name, (metres, _) in sorted(floors.items())]
    return "\n".join(lines) + "\n"


def gloss_yaml(floors: dict) -> str:
    lines = ["# Gloss of each floor texture: how strongly it mirrors what stands on it, 0 (matte)",
             "# to 1 (a mirror); [lo, hi] is drawn per image. Generated by assets/make_assets.py."]
    for name in sorted(floors):
        lo, hi = GLOSS[name]
        lines.append(f"{name}: {lo}" if lo == hi else f"{name}: [{lo}, {hi}]")
    return "\n".join(lines) + "\n"


def subject_psds() -> dict[str, dict[str, list[Variant]]]:
    """PSD path (relative to assets/) -> {class: variants}."""
    out = {f"subjects/{cls}.psd": {cls: vs} for cls, vs in SUBJECTS.items()}
    out["subjects/distractors.psd"] = DISTRACTORS
    out.update({f"heldout/subjects/{cls}.psd": {cls: vs} for cls, vs in HELDOUT.items()})
    return out


def build_items(rendered: dict | None = None) -> dict[str, Callable[[], bytes]]:
    """Every generated file (path relative to assets/) and a function making its bytes.

    `rendered` may hold already rendered views per (psd, class, index) (the parallel run)."""
    items: dict[str, Callable[[], bytes]] = {}
    rendered = rendered if rendered is not None else {}

    def subject_psd(rel: str, groups: dict[str, list[Variant]]) -> Callable[[], bytes]:
        def make() -> bytes:
            return psd_bytes({cls: [rendered.get((rel, cls, i)) or v.render() for i, v in enumerate(vs)]
                              for cls, vs in groups.items()})
        return make

    for rel, groups in subject_psds().items():
        items[rel] = subject_psd(rel, groups)
    for folder, floors in (("floors", FLOORS), ("heldout/floors", HELDOUT_FLOORS)):
        for fname, (_, draw) in floors.items():
            items[f"{folder}/{fname}"] = (lambda d=draw: floor_jpeg(d()))
        items[f"{folder}/scale.yaml"] = (lambda f=floors: scale_yaml(f).encode())
        items[f"{folder}/gloss.yaml"] = (lambda f=floors: gloss_yaml(f).encode())
    for folder, bds in (("backdrops", BACKDROPS), ("heldout/backdrops", HELDOUT_BACKDROPS)):
        for fname, draw in bds.items():
            items[f"{folder}/{fname}"] = (lambda d=draw: floor_jpeg(d()))
    items["classes.yaml"] = lambda: CATALOG.encode()
    return items


MANAGED_DIRS = ("subjects", "floors", "backdrops", "heldout")


def _task(key):
    """One unit of parallel work: a variant's views, or one non-PSD file's bytes."""
    if key[0] == "obj":
        _, rel, cls, i = key
        return subject_psds()[rel][cls][i].render()
    return build_items()[key[1]]()


def _tile_sheet(tiles: list[tuple[str, np.ndarray]], cols: int, cell: int) -> np.ndarray:
    rows = max((len(tiles) + cols - 1) // cols, 1)
    sheet = np.empty((rows * cell, cols * cell, 3), np.uint8)
    sheet[:] = (150, 142, 132)
    for i, (label, im) in enumerate(tiles):
        r, c = divmod(i, cols)
        h, w = im.shape[:2]
        f = min((cell - 24) / h, (cell - 8) / w, 1.0)
        im = cv2.resize(im, (max(int(w * f), 1), max(int(h * f), 1)), interpolation=cv2.INTER_AREA)
        h, w = im.shape[:2]
        y0, x0 = r * cell + 4, c * cell + 4
        tile = sheet[y0:y0 + h, x0:x0 + w].astype(np.float32)
        if im.shape[2] == 4:
            a = im[..., 3:4] / 255.0
            tile = tile * (1 - a) + im[..., :3] * a
        else:
            tile = im
        sheet[y0:y0 + h, x0:x0 + w] = np.round(tile).astype(np.uint8)
        cv2.putText(sheet, label[-int(cell / 6.5):], (c * cell + 4, r * cell + cell - 6),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.36, (0, 0, 0), 1, cv2.LINE_AA)
    return sheet


def contact_sheet(root: Path, out: Path) -> list[Path]:
    """Draw the pack: `out` holds every object's 45 deg front view plus the floors and
    backdrops; `out`-<psd>.png per subject PSD holds every view, one object per row."""
    from psd_tools import PSDImage

    out.parent.mkdir(parents=True, exist_ok=True)
    written = []
    overview: list[tuple[str, np.ndarray]] = []
    for psd_path in sorted(root.glob("**/subjects/*.psd")):
        rows: dict[str, list[tuple[str, np.ndarray]]] = {}
        for layer in PSDImage.open(psd_path).descendants():
            if layer.kind != "pixel":
                continue
            rgba = np.asarray(layer.topil().convert("RGBA"))
            base, _, tag = layer.name.partition(" [")
            label = ("[" + tag if tag else base) + ("" if layer.visible else " (hidden)")
            rows.setdefault(base, []).append((label, rgba))
        cols = max(len(v) for v in rows.values())
        tiles = []
        for base, views in rows.items():
            names = [n for n, _ in views]
            k = next((i for i, n in enumerate(names) if n.startswith(("[elev=45 az=0]", "[elev=45]"))), 0)
            overview.append((f"{psd_path.relative_to(root).parent.parent.name}:{base}", views[k][1]))
            tiles += [(f"{base.split('_', 1)[-1]} {n}", im) for n, im in views]
            tiles += [("", np.zeros((1, 1, 4), np.uint8))] * (cols - len(views))
        stem = "-".join(psd_path.relative_to(root).with_suffix("").parts)
        path = out.with_name(f"{out.stem}-{stem}.png")
        Image.fromarray(_tile_sheet(tiles, cols, 200)).save(path)
        written.append(path)
    for img_path in sorted(root.glob("**/floors/*.jpg")) + sorted(root.glob("**/backdrops/*.jpg")):
        overview.append((str(img_path.relative_to(root)), np.asarray(Image.open(img_path).convert("RGB"))))
    Image.fromarray(_tile_sheet(overview, 10, 200)).save(out)
    return [out] + written


@click.command(context_settings={"help_option_names": ["-h", "--help"]},
               epilog="Example: python assets/make_assets.py --sheet /tmp/asset_sheet.png")
@click.option("--out", type=click.Path(path_type=Path), default=ROOT, show_default="assets/",
              help="Pack root to write.")
@click.option("--only", default=None, help="Only the paths containing this text (e.g. floors/).")
@click.option("--sheet", type=click.Path(path_type=Path), default=None,
              help="Also draw contact sheets: this PNG (one view per object, floors, backdrops) "
                   "and one PNG per subject PSD next to it (every view).")
@click.option("--workers", type=int, default=min(2, os.cpu_count() or 1), show_default="min(2, CPUs)",
              help="Processes rendering in parallel (the bytes do not depend on it).")
def main(out: Path, only: str | None, sheet: Path | None, workers: int) -> None:
    """Regenerate the embedded demo asset pack, byte-for-byte reproducibly."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    t0 = time.perf_counter()
    wanted = [rel for rel in build_items() if not only or only in rel]
    keys = [("obj", rel, cls, i) for rel, groups in subject_psds().items() if rel in wanted
            for cls, vs in groups.items() for i in range(len(vs))]
    keys += [("file", rel) for rel in wanted if not rel.endswith(".psd")]
    done: dict = {}
    if workers > 1 and len(keys) > 1:
        import multiprocessing as mp
        with mp.get_context("fork").Pool(workers) as pool:
            for key, res in zip(keys, pool.imap(_task, keys, chunksize=1)):
                done[key] = res
    else:
        done = {key: _task(key) for key in keys}
    rendered = {key[1:]: res for key, res in done.items() if key[0] == "obj"}
    items = build_items(rendered)
    for rel in wanted:
        data = done[("file", rel)] if ("file", rel) in done else items[rel]()
        write_bytes(out / rel, data)
        log.info("%-34s %8.1f KB", rel, len(data) / 1024)
    if not only:  # drop generated files that are no longer part of the pack
        for d in MANAGED_DIRS:
            for p in sorted((out / d).glob("**/*")):
                if p.is_file() and p.relative_to(out).as_posix() not in build_items():
                    log.info("removing stale %s", p.relative_to(out))
                    p.unlink()
    log.info("done in %.1f s", time.perf_counter() - t0)
    if sheet:
        for p in contact_sheet(out, sheet):
            log.info("contact sheet: %s", p)


if __name__ == "__main__":
    main()
