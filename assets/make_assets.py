#!/usr/bin/env python
"""Regenerate the embedded demo asset pack (subject PSDs, floors, backdrops) byte-for-byte.

Usage:  python assets/make_assets.py                  # rewrite everything under assets/
        python assets/make_assets.py --sheet sheet.png # also draw a contact sheet

Every picture is drawn procedurally with numpy/OpenCV from a fixed seed: a subject is a
stack of painted parts (albedo + height field), lit once from a fixed direction, rendered
3x supersampled and reduced for anti-aliased edges. Each item has its own RNG stream
(seeded by the fixed SEED and the item's name), so editing one item leaves the others'
bytes alone. Nothing time- or machine-dependent goes into a file.
"""
from __future__ import annotations

import io
import logging
import math
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
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))  # run from a checkout without installing

from synth.fsio import write_bytes  # noqa: E402
from synth.imageio import encode_jpeg  # noqa: E402

log = logging.getLogger("make_assets")

SEED = 20240611
SS = 3  # supersampling factor for subjects
JPEG_Q = 90
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


def dashed(pts, dash: float, gap: float) -> list[np.ndarray]:
    """Split a polyline into dashes of arc length `dash` separated by `gap`."""
    p = np.asarray(pts, np.float64)
    seg = np.sqrt((np.diff(p, axis=0) ** 2).sum(1))
    s = np.concatenate([[0], np.cumsum(seg)])
    out, start = [], 0.0
    while start < s[-1]:
        t = np.linspace(start, min(start + dash, s[-1]), 6)
        out.append(np.stack([np.interp(t, s, p[:, 0]), np.interp(t, s, p[:, 1])], 1))
        start += dash + gap
    return out


def dist_inside(mask: np.ndarray) -> np.ndarray:
    """Distance (px) from each inside pixel to the mask's edge."""
    return cv2.distanceTransform((mask > 0.5).astype(np.uint8), cv2.DIST_L2, 5)


def dome(mask: np.ndarray, radius: float, height: float | None = None) -> np.ndarray:
    """Height field of a pillow: rounded edge of `radius` px, flat top at `height`."""
    height = radius if height is None else height
    t = np.clip(dist_inside(mask) / radius, 0, 1)
    return (height * np.sqrt(1 - (1 - t) ** 2)).astype(np.float32) * (mask > 0.5)


def line_dist(shape, pts) -> np.ndarray:
    """Distance (px) from each pixel to a polyline."""
    line = np.full(shape[:2], 255, np.uint8)
    cv2.polylines(line, [np.round(np.asarray(pts)).astype(np.int32)], False, 0, 1, cv2.LINE_8)
    return cv2.distanceTransform(line, cv2.DIST_L2, 5)


def tube(shape, pts, radius) -> tuple[np.ndarray, np.ndarray]:
    """Mask and round height field of a tube of `radius` (scalar or per-pixel) along a polyline."""
    d = line_dist(shape, pts)
    h = np.sqrt(np.clip(radius ** 2 - d ** 2, 0, None))
    m = np.clip(radius - d + 0.5, 0, 1)
    return m.astype(np.float32), h.astype(np.float32)


def resample(pts, step: float = 1.0) -> np.ndarray:
    """Points along a polyline at (about) equal arc-length spacing."""
    p = np.asarray(pts, np.float64)
    s = np.concatenate([[0], np.cumsum(np.sqrt((np.diff(p, axis=0) ** 2).sum(1)))])
    t = np.linspace(0, s[-1], max(int(s[-1] / step), 2))
    return np.stack([np.interp(t, s, p[:, 0]), np.interp(t, s, p[:, 1])], 1)


def path_coords(shape, pts) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel (arc length along, signed offset across) a polyline: a bent texture frame."""
    p = resample(pts, 1.0)
    tang = np.gradient(p, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True) + 1e-9
    xx, yy = grid(shape)
    q = np.stack([xx.ravel(), yy.ravel()], 1)
    _, idx = cKDTree(p).query(q)
    d = q - p[idx]
    v = d[:, 0] * tang[idx, 1] - d[:, 1] * tang[idx, 0]
    along = (d * tang[idx]).sum(1)  # continue past the ends
    return (idx + along).reshape(shape[:2]).astype(np.float32), v.reshape(shape[:2]).astype(np.float32)


# ----------------------------------------------------------------------------- textures
def grid(shape):
    h, w = shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return xx, yy


def weave(shape, period: float, angle: float = 0.0) -> np.ndarray:
    """Plain-weave cloth relief in [-1, 1] (over-under threads)."""
    xx, yy = grid(shape)
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    u, v = (xx * c + yy * s) / period, (-xx * s + yy * c) / period
    warp = np.cos(np.pi * 2 * u) * np.sign(np.sin(np.pi * v) + 1e-6)
    weft = np.cos(np.pi * 2 * v) * np.sign(np.sin(np.pi * u + np.pi / 2) + 1e-6)
    return (0.5 * warp + 0.5 * weft).astype(np.float32)


def knit(shape, pw: float, ph: float, angle: float = 0.0) -> np.ndarray:
    """Stockinette knit relief in [0, 1]: rows of V-shaped stitches."""
    xx, yy = grid(shape)
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    x, y = xx * c + yy * s, -xx * s + yy * c
    u = (x / pw) % 1.0 - 0.5
    v = (y / ph) % 1.0
    # each half-stitch is a slanted lozenge: centre line moves inward as v grows
    d = np.abs(np.abs(u) - (0.28 - 0.18 * (v - 0.5))) / 0.22
    leg = np.clip(1 - d ** 2, 0, 1)
    return (leg * (0.6 + 0.4 * np.sin(np.pi * v))).astype(np.float32)


def ribs(shape, period: float, angle: float = 0.0) -> np.ndarray:
    """Ribbing / corduroy relief in [0, 1]."""
    xx, yy = grid(shape)
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    u = (xx * c + yy * s) / period
    return (0.5 + 0.5 * np.cos(2 * np.pi * u)).astype(np.float32)


# ----------------------------------------------------------------------------- canvas
LIGHT_TOP = np.array([-0.45, -0.55, 0.70])   # from the upper left, overhead-ish
LIGHT_SIDE = np.array([-0.55, -0.45, 0.70])


class Canvas:
    """Supersampled painting surface: albedo, height, alpha and specular maps."""

    def __init__(self, w: int, h: int):
        self.w, self.h = w * SS, h * SS
        self.shape = (self.h, self.w)
        self.albedo = np.zeros((self.h, self.w, 3), np.float32)
        self.height = np.zeros((self.h, self.w), np.float32)
        self.alpha = np.zeros((self.h, self.w), np.float32)
        self.spec = np.zeros((self.h, self.w), np.float32)
        self.emit = np.zeros((self.h, self.w, 3), np.float32)  # unlit light (displays)

    def s(self, v):
        """Scale design units (output pixels) to canvas pixels."""
        return np.asarray(v, np.float64) * SS

    def paint(self, mask, albedo, height=None, spec: float | np.ndarray = 0.0,
              add_height: bool = False, opacity: float = 1.0) -> None:
        """Paint a part: albedo over, height set (or added), alpha accumulated."""
        m = np.clip(mask, 0, 1).astype(np.float32) * opacity
        albedo = np.broadcast_to(np.asarray(albedo, np.float32), self.albedo.shape)
        self.albedo = mix(self.albedo, albedo, m)
        if height is not None:
            hnew = self.height + height if add_height else height
            self.height = self.height * (1 - m) + hnew * m
        self.spec = self.spec * (1 - m) + np.asarray(spec, np.float32) * m
        self.emit = self.emit * (1 - m[..., None])
        self.alpha = self.alpha + m * (1 - self.alpha)

    def paint_roi(self, sl, mask, albedo, height, spec: float = 0.0) -> None:
        """`paint` restricted to a window `sl` of the canvas (all inputs window-sized)."""
        m = np.clip(mask, 0, 1).astype(np.float32)
        self.albedo[sl] = mix(self.albedo[sl], albedo, m)
        self.height[sl] = self.height[sl] * (1 - m) + height * m
        self.spec[sl] = self.spec[sl] * (1 - m) + spec * m
        self.emit[sl] = self.emit[sl] * (1 - m[..., None])
        self.alpha[sl] = self.alpha[sl] + m * (1 - self.alpha[sl])

    def glow(self, mask, rgb) -> None:
        """Add emitted light (backlit displays) that ignores shading."""
        self.emit = self.emit + mask[..., None] * np.asarray(rgb, np.float32)

    def render(self, light=LIGHT_TOP, ambient: float = 0.38, ao: float = 0.012,
               shininess: float = 30.0, relief: float = 1.0) -> np.ndarray:
        """Light the height field and return the cropped straight-alpha RGBA uint8."""
        h = blur(self.height * relief, 0.7 * SS / 3)
        gy, gx = np.gradient(h)
        n = np.stack([-gx, -gy, np.ones_like(h)], -1)
        n /= np.linalg.norm(n, axis=-1, keepdims=True)
        L = np.asarray(light, np.float32) / np.linalg.norm(light)
        diff = np.clip(n @ L, 0, None) / L[2]
        shade = ambient + (1 - ambient) * diff
        occl = np.clip(blur(h, 6 * SS) - h, 0, None)
        shade = shade * np.exp(-ao * occl / SS * 3)
        H = (L + np.array([0, 0, 1], np.float32))
        H /= np.linalg.norm(H)
        spec = self.spec * np.clip(n @ H, 0, None) ** shininess
        rgb = self.albedo * shade[..., None] + spec[..., None] + self.emit
        return finish(rgb, self.alpha)


def finish(rgb: np.ndarray, alpha: np.ndarray, pad: int = 1) -> np.ndarray:
    """Downsample premultiplied colour, crop to the alpha box, return straight RGBA uint8."""
    h, w = alpha.shape
    pm = np.concatenate([np.clip(rgb, 0, 1) * alpha[..., None], alpha[..., None]], -1)
    small = cv2.resize(pm, (w // SS, h // SS), interpolation=cv2.INTER_AREA)
    a = small[..., 3]
    col = small[..., :3] / np.maximum(a[..., None], 1e-6)
    out = np.concatenate([np.clip(col, 0, 1), a[..., None]], -1)
    out = np.round(out * 255).astype(np.uint8)
    out[..., :3][out[..., 3] == 0] = 0
    ys, xs = np.nonzero(out[..., 3] > 0)
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + 1 + pad, out.shape[0])
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + 1 + pad, out.shape[1])
    return np.ascontiguousarray(out[y0:y1, x0:x1])


def contour_of(mask: np.ndarray) -> np.ndarray:
    """The longest outer contour of a mask as an (N, 2) float array."""
    cs, _ = cv2.findContours((mask > 0.5).astype(np.uint8), cv2.RETR_EXTERNAL,
                             cv2.CHAIN_APPROX_NONE)
    return max(cs, key=len)[:, 0, :].astype(np.float64)


def inset(mask: np.ndarray, px: float) -> np.ndarray:
    """The mask shrunk by `px` canvas pixels (anti-aliased)."""
    return np.clip(dist_inside(mask) - px + 0.5, 0, 1).astype(np.float32)


def stitches(c: Canvas, mask: np.ndarray, offset: float, colour, dash=3.0, gap=2.0,
             width=1.0) -> None:
    """Dashed stitching `offset` output px inside the mask's edge."""
    ring = inset(mask, c.s(offset))
    if ring.max() < 0.5:
        return
    pts = contour_of(ring)
    m = np.zeros(c.shape, np.float32)
    for d in dashed(np.vstack([pts, pts[:1]]), c.s(dash), c.s(gap)):
        m = np.maximum(m, stroke_mask(c.shape, d, c.s(width)))
    c.paint(m, colour, c.height + m * c.s(0.4), spec=0.05)


def textured(base, noise: np.ndarray, amount: float):
    """Albedo map: a base colour modulated by noise (multiplicative, per pixel)."""
    base = np.asarray(base, np.float32)
    if base.ndim == 1:
        base = base[None, None, :]
    return np.clip(base * (1 + amount * noise[..., None]), 0, 1)


# ----------------------------------------------------------------------------- shoes
SHOE_OUTLINE = [(0.06, 0.0), (0.33, 0.035), (0.47, 0.13), (0.5, 0.28), (0.44, 0.45),
                (0.37, 0.6), (0.37, 0.76), (0.35, 0.9), (0.2, 0.985), (0.0, 1.0),
                (-0.2, 0.985), (-0.35, 0.9), (-0.37, 0.76), (-0.33, 0.6), (-0.38, 0.46),
                (-0.47, 0.3), (-0.45, 0.14), (-0.3, 0.035)]


def shoe_top(name: str, length: float, width: float, upper: str, sole: str,
             lining: str, lace: str | None, texture: str, accent: str | None = None,
             toe_cap: str | None = None, opening=(0.76, 0.30, 0.17), pointy: float = 0.0,
             gloss: float = 0.1, rim: float = 3.0, sole_height: float = 4.0) -> np.ndarray:
    """A shoe seen from above: sole rim, domed upper, collar opening, tongue and laces."""
    rng = rng_for(name)
    pad = 12
    c = Canvas(int(width + 2 * pad), int(length + 2 * pad))
    cx = c.s(width / 2 + pad)
    pts = []
    for fx, fy in SHOE_OUTLINE:
        if fy < 0.2:  # narrow the toe for pointy shoes
            fx *= 1 - pointy * (0.2 - fy) / 0.2
        pts.append((cx + fx * c.s(width), c.s(pad + fy * length)))
    sole_m = poly_mask(c.shape, closed_spline(pts, 500))
    W, L = c.s(width), c.s(length)
    n_fine = fractal_noise(rng, *c.shape, beta=1.0)
    n_coarse = fractal_noise(rng, *c.shape, beta=3.0)
    # sole
    c.paint(sole_m, textured(hex2rgb(sole), n_fine, 0.04), dome(sole_m, c.s(2), c.s(sole_height)),
            spec=0.08)
    # upper
    up_m = inset(sole_m, c.s(rim))
    if texture == "mesh":
        xx, yy = grid(c.shape)
        cell = c.s(3.2)
        holes = ((np.sin(xx / cell * np.pi) * np.sin(yy / cell * np.pi * 1.15)) > 0.55)
        tex = -0.35 * blur(holes.astype(np.float32), SS * 0.5) + 0.06 * n_fine
        rel = -c.s(0.5) * blur(holes.astype(np.float32), SS * 0.5)
    elif texture == "leather":
        tex = 0.10 * blur(n_fine, SS * 0.6) + 0.12 * n_coarse
        rel = c.s(0.25) * blur(n_fine, SS * 0.6)
    elif texture == "canvas":
        wv = weave(c.shape, c.s(1.6), 20)
        tex = 0.12 * wv + 0.05 * n_coarse
        rel = c.s(0.25) * wv
    elif texture == "plush":
        tex = 0.2 * blur(n_fine, SS * 0.8) + 0.08 * n_coarse
        rel = c.s(0.6) * blur(n_fine, SS * 0.8)
    else:  # patent / smooth
        tex = 0.03 * n_coarse
        rel = 0.0 * n_fine
    dome_h = dome(up_m, 0.32 * W, 0.20 * W)
    base_h = c.s(sole_height)
    c.paint(up_m, textured(hex2rgb(upper), tex, 1.0), base_h + dome_h + rel, spec=gloss)
    if toe_cap:
        cap = up_m * ellipse_mask(c.shape, (cx, c.s(pad) + 0.02 * L), (0.62 * W, 0.2 * L))
        c.paint(cap, textured(hex2rgb(toe_cap), n_fine, 0.03), base_h + dome_h, spec=0.12)
        edge = np.clip(cap - inset(cap, c.s(1.2)), 0, 1) * inset(up_m, c.s(2))
        c.paint(edge, hex2rgb(toe_cap) * 0.8, base_h + dome_h + c.s(0.6), add_height=False)
    if accent:
        # a side stripe on the lateral flank, visible from above as a band near the edge
        xx, yy = grid(c.shape)
        t = (yy - c.s(pad)) / L
        t = (yy - c.s(pad)) / L
        half_w = 0.055 * W * np.clip(np.sin((t - 0.28) / 0.42 * np.pi), 0, 1)
        centre = cx + 0.33 * W + 0.1 * W * (t - 0.28)
        band = (np.abs(xx - centre) < half_w) & (t > 0.28) & (t < 0.7)
        bm = blur(band.astype(np.float32), SS * 0.5) * up_m
        c.paint(bm, hex2rgb(accent), c.height + bm * c.s(0.3), spec=0.2)
    stitches(c, up_m, 2.0, hex2rgb(upper) * 0.6 + 0.25, dash=2.5, gap=1.8, width=0.8)
    # collar opening: padded ring, then the dark inside with the insole
    oy, ow, oh = opening
    oc = (cx - 0.02 * W, c.s(pad) + oy * L)
    ring = ellipse_mask(c.shape, oc, (ow * W + c.s(5), oh * L + c.s(5)))
    c.paint(ring * up_m, textured(hex2rgb(upper) * 0.85, n_fine, 0.05),
            base_h + dome_h + dome(ring, c.s(5), c.s(4)), spec=gloss)
    hole = ellipse_mask(c.shape, oc, (ow * W, oh * L))
    depth = dome(hole, c.s(14), c.s(16))
    inner = mix(hex2rgb(lining) * 0.12, hex2rgb(lining) * 0.95, smoothstep(0, c.s(16), depth))
    c.paint(hole, textured(inner, n_fine, 0.05), base_h + dome_h * 0.4 - depth, spec=0.0)
    if lace:
        # tongue
        ty0, ty1 = 0.30 * L, (oy - oh * 0.7) * L
        tongue = rect_mask(c.shape, cx - 0.17 * W, c.s(pad) + ty0, cx + 0.15 * W,
                           c.s(pad) + ty1, r=0.08 * W) * up_m
        c.paint(tongue, textured(hex2rgb(upper) * 0.92, tex, 0.6), c.height + tongue * c.s(1.5),
                spec=gloss)
        # eyelets in two rows, criss-cross laces between them
        n = 5
        ys = np.linspace(ty0 + 0.03 * L, ty1 - 0.02 * L, n) + c.s(pad)
        half = np.linspace(0.21, 0.17, n) * W
        eyes = [((cx - half[i], ys[i]), (cx + half[i], ys[i])) for i in range(n)]
        top = c.height.copy()
        for (l, r) in eyes:
            for p in (l, r):
                e = ellipse_mask(c.shape, p, (c.s(2.0), c.s(2.0)))
                c.paint(e, hex2rgb("#1a1a1a"), top - e * c.s(1))
        lm_all = np.zeros(c.shape, np.float32)
        lh_all = np.zeros(c.shape, np.float32)
        segs = [(eyes[0][0], eyes[0][1])]
        for i in range(n - 1):
            segs += [(eyes[i][0], eyes[i + 1][1]), (eyes[i][1], eyes[i + 1][0])]
        for k, (a, b) in enumerate(segs):
            m, h = tube(c.shape, np.array([a, b]), c.s(1.5))
            c.paint(m, textured(hex2rgb(lace), n_fine, 0.05), top + c.s(2 + 0.3 * (k % 2)) + h,
                    spec=0.1)
            lm_all, lh_all = np.maximum(lm_all, m), np.maximum(lh_all, h)
        # a bow at the top
        bx, by = cx, ys[-1] + c.s(2)
        for sgn in (-1, 1):
            loop = [(bx, by), (bx + sgn * 0.18 * W, by - 0.05 * L), (bx + sgn * 0.3 * W, by),
                    (bx + sgn * 0.2 * W, by + 0.04 * L), (bx, by)]
            m, h = tube(c.shape, open_spline(loop, 80), c.s(1.5))
            c.paint(m, textured(hex2rgb(lace), n_fine, 0.05), top + c.s(4) + h, spec=0.1)
            end = [(bx, by), (bx + sgn * 0.1 * W, by + 0.06 * L), (bx + sgn * 0.16 * W, by + 0.13 * L)]
            m, h = tube(c.shape, open_spline(end, 60), c.s(1.4))
            c.paint(m, textured(hex2rgb(lace), n_fine, 0.05), top + c.s(3.5) + h, spec=0.1)
        knot = ellipse_mask(c.shape, (bx, by), (c.s(3.2), c.s(2.6)))
        c.paint(knot, hex2rgb(lace) * 0.9, top + c.s(5) + dome(knot, c.s(3)), spec=0.1)
    return c.render(LIGHT_TOP, ambient=0.42, ao=0.02, shininess=40)


def shoe_side(name: str, length: float, upper: str, sole: str, outsole: str, lace: str,
              accent: str, heel: str) -> np.ndarray:
    """A sneaker seen from the side (upright subject): sole, upper, heel counter, laces."""
    rng = rng_for(name)
    pad = 10
    Hh = 0.44 * length
    c = Canvas(int(length + 2 * pad), int(Hh + 2 * pad))
    L, H = c.s(length), c.s(Hh)
    x0, yb = c.s(pad), c.s(pad + Hh)  # toe end, ground line

    def P(fx, fy):
        return (x0 + fx * L, yb - fy * H)

    n_fine = fractal_noise(rng, *c.shape, beta=1.0)
    upper_pts = [P(0.01, 0.16), P(0.03, 0.34), P(0.12, 0.47), P(0.30, 0.60), P(0.48, 0.78),
                 P(0.60, 0.97), P(0.655, 0.90), P(0.70, 0.82), P(0.82, 0.79), P(0.93, 0.90),
                 P(0.99, 0.74), P(0.985, 0.40), P(0.97, 0.14), P(0.5, 0.12), P(0.1, 0.12)]
    up_m = poly_mask(c.shape, closed_spline(upper_pts, 600))
    xx, yy = grid(c.shape)
    cell = c.s(3.0)
    holes = ((np.sin(xx / cell * np.pi) * np.sin(yy / cell * np.pi * 1.15)) > 0.55)
    tex = -0.3 * blur(holes.astype(np.float32), SS * 0.5) + 0.05 * n_fine
    c.paint(up_m, textured(hex2rgb(upper), tex, 1.0), dome(up_m, c.s(30), c.s(22)), spec=0.1)
    # heel counter and toe bumper panels
    heel_m = up_m * poly_mask(c.shape, closed_spline(
        [P(0.78, 0.05), P(0.76, 0.5), P(0.84, 0.7), P(1.05, 0.75), P(1.05, 0.05)], 200))
    c.paint(heel_m, textured(hex2rgb(heel), n_fine, 0.04), c.height + dome(heel_m, c.s(3), c.s(2)),
            spec=0.2)
    toe_m = up_m * ellipse_mask(c.shape, P(0.04, 0.2), (0.14 * L, 0.2 * H))
    c.paint(toe_m, textured(hex2rgb(heel), n_fine, 0.04), c.height + dome(toe_m, c.s(3), c.s(2)),
            spec=0.2)
    # swoosh-like accent
    sw = open_spline([P(0.25, 0.22), P(0.5, 0.3), P(0.75, 0.55), P(0.86, 0.72)], 200)
    sw_m = np.zeros(c.shape, np.float32)
    for i in range(len(sw) - 1):
        wid = c.s(1 + 9 * math.sin(math.pi * i / len(sw)) ** 0.8)
        sw_m = np.maximum(sw_m, stroke_mask(c.shape, sw[i:i + 2], wid))
    sw_m *= up_m
    c.paint(sw_m, textured(hex2rgb(accent), n_fine, 0.03), c.height + dome(sw_m, c.s(1.5), c.s(1.5)),
            spec=0.25)
    stitches(c, up_m, 2.5, hex2rgb(upper) * 0.6, dash=2.5, gap=1.8, width=0.8)
    # eyestay with eyelets and lace loops along the instep
    stay = open_spline([P(0.27, 0.60), P(0.42, 0.74), P(0.58, 0.92)], 100)
    m, h = tube(c.shape, stay, c.s(4))
    c.paint(m * up_m, textured(hex2rgb(upper) * 0.8, n_fine, 0.04), c.height + h * 0.6, spec=0.15)
    for i in range(5):
        p = stay[int(i * (len(stay) - 1) / 4)]
        e = ellipse_mask(c.shape, p, (c.s(1.8), c.s(1.8)))
        c.paint(e, hex2rgb("#202020"), c.height - e * c.s(1))
        lp = [p, (p[0] + c.s(3), p[1] - c.s(4)), (p[0] + c.s(7), p[1] - c.s(3))]
        m, h = tube(c.shape, open_spline(lp, 30), c.s(1.5))
        c.paint(m, hex2rgb(lace), c.height + h + c.s(1), spec=0.1)
    # collar opening seen edge-on: a dark sliver with the padded lip
    col = open_spline([P(0.66, 0.88), P(0.76, 0.81), P(0.86, 0.81), P(0.93, 0.88)], 100)
    m, h = tube(c.shape, col, c.s(3.5))
    c.paint(m * up_m, textured(hex2rgb(heel) * 0.7, n_fine, 0.05), c.height + h, spec=0.1)
    # midsole and outsole with a little toe spring and tread
    mid_pts = [P(0.0, 0.22), P(0.02, 0.12), P(0.1, 0.05), P(0.5, 0.05), P(0.9, 0.05),
               P(1.0, 0.08), P(1.01, 0.2), P(0.9, 0.17), P(0.5, 0.16), P(0.1, 0.17)]
    mid_m = poly_mask(c.shape, closed_spline(mid_pts, 400))
    wave = 0.04 * np.sin(xx / c.s(9))
    c.paint(mid_m, textured(hex2rgb(sole), n_fine + wave, 0.05), dome(mid_m, c.s(6), c.s(18)),
            spec=0.1)
    out_m = mid_m * (yy > yb - 0.065 * H - c.s(1.5) * np.sin(xx / c.s(4)) ** 2)
    out_pts = [P(0.02, 0.11), P(0.08, 0.03), P(0.5, 0.0), P(0.95, 0.0), P(1.005, 0.07), P(0.5, 0.06)]
    out_m = np.maximum(out_m, poly_mask(c.shape, closed_spline(out_pts, 300)) * mid_m)
    tread = (np.sin(xx / c.s(2.5)) > 0.3) * (yy > yb - c.s(2))
    c.paint(out_m, textured(hex2rgb(outsole), n_fine, 0.05),
            dome(mid_m, c.s(6), c.s(18)) - tread * c.s(1), spec=0.05)
    return c.render(LIGHT_SIDE, ambient=0.42, ao=0.02, shininess=40)


# ----------------------------------------------------------------------------- socks
def sock(name: str, leg: float, foot: float, width: float, base: str, heel_toe: str | None,
         cuff: float, pattern: str = "plain", colours: tuple[str, ...] = (),
         knit_px: float = 2.2, fuzz: float = 0.06, bend: float = 115.0) -> np.ndarray:
    """A sock lying flat, seen from above: ribbed cuff, leg, heel bend, foot, toe."""
    rng = rng_for(name)
    b = math.radians(bend)
    d = np.array([-math.sin(b), -math.cos(b)])         # foot direction; the leg runs down +y
    corner = np.array([0.0, leg])
    pts = np.array([(0.0, 0.0), (0.0, leg * 0.5), tuple(corner), tuple(corner + d * foot * 0.5),
                    tuple(corner + d * foot)])
    out = np.array([0.0, 1.0]) - d                      # bisector pointing out of the bend
    out /= np.linalg.norm(out)
    lo = pts.min(0) - width * 0.5 - 10
    hi = pts.max(0) + width * 0.5 + 10
    c = Canvas(int(hi[0] - lo[0]), int(hi[1] - lo[1]))
    P = (pts - lo) * SS
    path = open_spline(P, 300)
    W = c.s(width)
    s_coord, v = path_coords(c.shape, path)
    total = len(resample(path))
    # silhouette: a tube with square cuff end, slightly wider foot and rounded toe
    widen = 1 + 0.06 * smoothstep(c.s(leg) * 0.8, c.s(leg) * 1.1, s_coord)
    body = (np.abs(v) < W / 2 * widen) & (s_coord > 0) & (s_coord < total)
    toe = ((s_coord - total) ** 2 / (0.55 * W) ** 2 + v ** 2 / (W / 2 * widen) ** 2) < 1
    heel_c = (corner - lo) * SS + out * W * 0.28
    heel_bulge = ellipse_mask(c.shape, heel_c, (W * 0.42, W * 0.36),
                              math.degrees(math.atan2(out[1], out[0])))
    m = np.clip(blur((body | toe).astype(np.float32), SS * 0.4) + heel_bulge, 0, 1)
    m = (m > 0.5).astype(np.float32)
    # colour pattern in sock coordinates (s along, v across)
    n_fine = fractal_noise(rng, *c.shape, beta=0.8)
    n_coarse = fractal_noise(rng, *c.shape, beta=3.0)
    alb = np.broadcast_to(hex2rgb(base), (*c.shape, 3)).copy()
    cuff_px = c.s(cuff)
    if pattern == "stripes":
        band = ((s_coord - cuff_px) // c.s(14)).astype(int) % len(colours)
        for i, col in enumerate(colours):
            alb[band == i] = hex2rgb(col)
    elif pattern == "dots":
        per = c.s(16)
        row = np.floor(s_coord / per)
        du = (s_coord % per) - per / 2
        dv = ((v + (row % 2) * per / 2) % per) - per / 2
        dots = smoothstep(c.s(4.6), c.s(3.8), np.sqrt(du ** 2 + dv ** 2))
        alb = mix(alb, hex2rgb(colours[0]), dots)
    elif pattern == "argyle":
        P, Q = c.s(34), W / 2
        su, sv = s_coord / P, (v + W) / Q
        cell = np.floor(su + sv).astype(int) + np.floor(su - sv).astype(int)
        alb = np.where((cell % 2 == 0)[..., None], hex2rgb(colours[0])[None, None], alb)
        diag = np.minimum(np.abs(((su + sv) % 1) - 0.5), np.abs(((su - sv) % 1) - 0.5))
        alb = mix(alb, hex2rgb(colours[1]), smoothstep(0.05, 0.02, np.abs(diag - 0.25)))
    elif pattern == "cuffstripes":
        for k, col in enumerate(colours):
            st = (np.abs(s_coord - c.s(cuff * (0.35 + 0.3 * k))) < c.s(2.6))
            alb = mix(alb, hex2rgb(col), st.astype(np.float32))
    if heel_toe:
        xx, yy = grid(c.shape)
        outside = ((xx - heel_c[0]) * out[0] + (yy - heel_c[1]) * out[1]) > -W * 0.12
        ht = np.maximum(heel_bulge * outside, smoothstep(total - 0.5 * W, total - 0.35 * W,
                                                                 s_coord) * (s_coord > total * 0.7))
        ht = blur(ht.astype(np.float32), SS * 0.6)
        alb = mix(alb, hex2rgb(heel_toe), ht)
    # knit relief: columns run along the sock, ribbing on the cuff
    u_knit = v / c.s(knit_px)
    vv = s_coord / c.s(knit_px * 0.75)
    uu = (u_knit % 1.0) - 0.5
    d = np.abs(np.abs(uu) - (0.28 - 0.18 * ((vv % 1.0) - 0.5))) / 0.22
    kn = np.clip(1 - d ** 2, 0, 1)
    rib = 0.5 + 0.5 * np.cos(2 * np.pi * v / c.s(2.6))
    is_cuff = smoothstep(cuff_px + SS, cuff_px - SS, s_coord)
    relief = mix(kn[..., None], rib[..., None], is_cuff)[..., 0]
    shade_tex = (relief - 0.5) * 0.25 + fuzz * n_fine + 0.05 * n_coarse
    alb = np.clip(alb * (1 + shade_tex[..., None]), 0, 1)
    # flat, slightly puffy, with a couple of creases at the ankle
    h = dome(m, W * 0.35, W * 0.08)
    folds = np.zeros(c.shape, np.float32)
    for k in range(3):
        s0 = c.s(leg) * rng.uniform(0.55, 0.95)
        folds += np.exp(-((s_coord - s0 - v * rng.uniform(-0.4, 0.4)) / c.s(2.5)) ** 2)
    h = h - folds * c.s(1.5) * (h > 0) + relief * c.s(0.5) * m
    h = h + blur(n_coarse, SS) * c.s(0.8) * m
    c.paint(m, alb, h, spec=0.02)
    return c.render(LIGHT_TOP, ambient=0.45, ao=0.03, shininess=10)


# ----------------------------------------------------------------------------- cables
def random_path(rng: np.random.Generator, n: int, step: float, turn: float,
                start_angle: float = 0.0) -> np.ndarray:
    """A smooth random walk: heading changes by a smoothed random turn rate."""
    rate = blur(rng.standard_normal((n, 1)).astype(np.float32), 2.0)[:, 0] * turn
    heading = start_angle + np.cumsum(rate)
    pts = np.cumsum(np.stack([np.cos(heading), np.sin(heading)], 1) * step, 0)
    return np.vstack([[0, 0], pts])


def frame_at(path: np.ndarray, end: int):
    """Origin and unit (along, across) vectors at one end of a path, pointing outward."""
    if end == 0:
        o, t = path[0], path[0] - path[min(8, len(path) - 1)]
    else:
        o, t = path[-1], path[-1] - path[max(-9, -len(path))]
    t = t / np.linalg.norm(t)
    return o, t, np.array([-t[1], t[0]])


def local_poly(o, t, n, pts) -> np.ndarray:
    """Map (along, across) points of a local frame to canvas coordinates."""
    return np.array([o + t * u + n * v for u, v in pts])


def paint_tube(c: Canvas, P: np.ndarray, radii: np.ndarray, albedo: np.ndarray,
               spec: float, rise: np.ndarray | None = None, bumps: np.ndarray | None = None) -> None:
    """Paint a tube of per-point radius along canvas path P in short chunks.

    Later chunks that cross earlier ones are lifted over them; `rise` adds a base height
    per point (a coil climbing), `bumps` (canvas-sized) perturbs the surface.
    """
    occupied = np.zeros(c.shape, np.float32)
    pending: list = []
    i = 0
    while i < len(P) - 1:
        r = float(radii[i])
        chunk = max(int(r * 1.5), 2)
        seg = P[max(i - 2, 0):i + chunk + 2]
        i += chunk
        if len(seg) < 2:
            continue
        x0, y0 = np.maximum(np.floor(seg.min(0) - 3 * r).astype(int), 0)
        x1, y1 = np.ceil(seg.max(0) + 3 * r).astype(int)
        sl = (slice(y0, y1), slice(x0, x1))
        roi = occupied[sl].shape
        # lumpy outline and surface: `bumps` (unit-std noise) modulates the radius
        m, h = tube(roi, seg - [x0, y0], r if bumps is None else r * (1 + 0.12 * bumps[sl]))
        lift = blur(occupied[sl], r * 0.8) * (1.6 * r) * m
        base = 0.0 if rise is None else float(rise[min(i, len(P) - 1)])
        c.paint_roi(sl, m, albedo[sl], np.maximum(c.height[sl], h + lift + base), spec=spec)
        pending.append((sl, m))
        if len(pending) > 3:  # the last chunks are neighbours, not crossings
            osl, om = pending.pop(0)
            occupied[osl] = np.maximum(occupied[osl], om)


def cable(name: str, colour: str, radius: float, path: np.ndarray, plug: str,
          plug_colour: str, other_end: str | None = None, gloss: float = 0.35,
          stripe: str | None = None, plug_scale: float = 5.5) -> np.ndarray:
    """A curvy cable seen from above, painted chunk by chunk so crossings overlap, with a plug."""
    rng = rng_for(name)
    pl = plug_scale * radius  # plug width ~ 2.2 * pl
    lo = path.min(0) - 6 * pl - 10
    hi = path.max(0) + 6 * pl + 10
    c = Canvas(int(hi[0] - lo[0]), int(hi[1] - lo[1]))
    P = resample((path - lo) * SS, 1.0)
    r = c.s(radius)
    n_fine = fractal_noise(rng, *c.shape, beta=1.0)
    base = textured(hex2rgb(colour), n_fine, 0.03)
    if stripe:
        _, v = path_coords(c.shape, P)
        base = mix(base, hex2rgb(stripe), smoothstep(0.35 * r, 0.2 * r, np.abs(v - 0.5 * r)))
    paint_tube(c, P, np.full(len(P), r), base, gloss)
    for end, kind in ((len(P) - 1, plug), (0, other_end)):
        if kind:
            draw_plug(c, *frame_at(P, end), kind, c.s(pl), plug_colour, r, rng)
    return c.render(LIGHT_TOP, ambient=0.40, ao=0.02, shininess=45)


def draw_plug(c: Canvas, o, t, n, kind: str, s: float, colour: str, r: float,
              rng: np.random.Generator) -> None:
    """A connector at a cable end (frame: origin o, outward t, across n; scale s ~ plug width)."""
    col = hex2rgb(colour)
    metal = hex2rgb("#c9ccd1")
    nz = fractal_noise(rng, *c.shape, beta=1.0)

    def part(pts, albedo, height, radius, spec):
        m = poly_mask(c.shape, closed_spline(local_poly(o, t, n, pts), 120)
                      if len(pts) > 4 else local_poly(o, t, n, pts))
        c.paint(m, textured(albedo, nz, 0.02), dome(m, radius, height), spec=spec)
        return m

    # strain relief: a tapered sleeve
    part([(-0.1 * s, -0.75 * r), (0.9 * s, -0.55 * s), (0.9 * s, 0.55 * s), (-0.1 * s, 0.75 * r)],
         col * 0.95, 0.9 * r + 0.2 * s, 0.3 * s, 0.3)
    if kind == "usb":
        part([(0.8 * s, -0.6 * s), (2.6 * s, -0.6 * s), (2.6 * s, 0.6 * s), (0.8 * s, 0.6 * s)],
             col, 0.6 * s, 0.25 * s, 0.35)
        m = part([(2.5 * s, -0.5 * s), (3.9 * s, -0.5 * s), (3.9 * s, 0.5 * s), (2.5 * s, 0.5 * s)],
                 metal, 0.3 * s, 0.05 * s, 0.9)
        for v in (-0.2, 0.2):
            q = local_poly(o, t, n, [(3.3 * s, v * s)])[0]
            h = rect_mask(c.shape, q[0] - 0.12 * s, q[1] - 0.12 * s, q[0] + 0.12 * s, q[1] + 0.12 * s)
            c.paint(h * m, hex2rgb("#303236"), c.height - h * 0.1 * s)
    elif kind == "usbc":
        part([(0.8 * s, -0.45 * s), (2.1 * s, -0.45 * s), (2.1 * s, 0.45 * s), (0.8 * s, 0.45 * s)],
             col, 0.5 * s, 0.2 * s, 0.35)
        part([(2.0 * s, -0.3 * s), (2.7 * s, -0.3 * s), (2.7 * s, 0.3 * s), (2.0 * s, 0.3 * s)],
             metal, 0.25 * s, 0.12 * s, 0.9)
    elif kind == "power":
        part([(0.8 * s, -0.9 * s), (1.2 * s, -1.1 * s), (2.6 * s, -1.1 * s), (2.8 * s, -0.9 * s),
              (2.8 * s, 0.9 * s), (2.6 * s, 1.1 * s), (1.2 * s, 1.1 * s), (0.8 * s, 0.9 * s)],
             col, 0.9 * s, 0.45 * s, 0.3)
        for v in (-0.5, 0.5):
            part([(2.7 * s, (v - 0.09) * s), (4.0 * s, (v - 0.09) * s), (4.0 * s, (v + 0.09) * s),
                  (2.7 * s, (v + 0.09) * s)], metal, 0.15 * s, 0.1 * s, 0.9)
    elif kind == "euro":
        part([(0.8 * s, -0.8 * s), (2.6 * s, -1.05 * s), (2.8 * s, 0.0), (2.6 * s, 1.05 * s),
              (0.8 * s, 0.8 * s), (0.6 * s, 0.0)], col, 0.9 * s, 0.5 * s, 0.3)
        for v in (-0.45, 0.45):
            p0 = local_poly(o, t, n, [(2.6 * s, v * s), (3.9 * s, v * s)])
            m, h = tube(c.shape, p0, 0.13 * s)
            c.paint(m, metal, c.height * 0 + h + 0.1 * s, spec=0.9)
    elif kind == "rj45":
        part([(0.8 * s, -0.55 * s), (2.9 * s, -0.55 * s), (2.9 * s, 0.55 * s), (0.8 * s, 0.55 * s)],
             hex2rgb("#dfe6ea"), 0.5 * s, 0.12 * s, 0.6)
        for k in range(8):  # gold contacts
            v = (-0.4 + k * 0.8 / 7) * s
            q = local_poly(o, t, n, [(2.3 * s, v), (2.85 * s, v)])
            m = stroke_mask(c.shape, q, 0.05 * s + 1)
            c.paint(m, hex2rgb("#d8b24a"), c.height, spec=0.8)
        part([(1.2 * s, -0.25 * s), (2.4 * s, -0.2 * s), (2.4 * s, 0.2 * s), (1.2 * s, 0.25 * s)],
             hex2rgb("#cfd8dc"), 0.6 * s, 0.1 * s, 0.6)


# ----------------------------------------------------------------------------- pet waste
def poop(name: str, kind: str, colour: str, size: float, gloss: float = 0.35) -> np.ndarray:
    """Pet waste seen from above: a coil, a few logs, a mushy pile or a cluster of pellets."""
    rng = rng_for(name)
    pad = 14
    c = Canvas(int(size + 2 * pad), int(size + 2 * pad))
    S, ctr = c.s(size), np.array([c.s(size / 2 + pad)] * 2)
    n_fine = fractal_noise(rng, *c.shape, beta=1.2)
    n_mid = fractal_noise(rng, *c.shape, beta=2.0, lo=6)
    col = hex2rgb(colour)
    alb = textured(col, 0.10 * n_fine + 0.15 * n_mid, 1.0)
    # darker crevices and a few lighter fibres / undigested bits
    bits = (fractal_noise(rng, *c.shape, beta=0.5) > 2.6).astype(np.float32)
    alb = mix(alb, col * 1.5 + 0.05, blur(bits, SS * 0.4) * 0.6)
    bumps = blur(fractal_noise(rng, *c.shape, beta=2.0), SS * 3)
    bumps /= bumps.std()
    if kind == "coil":
        turns = 2.4
        th = np.linspace(0, turns * 2 * np.pi, 900)
        rad = S * 0.36 * (1 - th / (turns * 2 * np.pi) * 0.85)
        pts = ctr + np.stack([np.cos(th) * rad, np.sin(th) * rad * 0.92], 1)
        pts += rng.normal(0, 0.006 * S, pts.shape).cumsum(0) * 0.15
        P = resample(pts, 1.0)
        t = np.linspace(0, 1, len(P))
        radii = S * (0.095 - 0.04 * t) * (1 - 0.6 * smoothstep(0.92, 1.0, t))
        radii *= 1 - 0.5 * smoothstep(0.05, 0.0, t)
        rise = S * 0.16 * t
        paint_tube(c, P, radii, alb, gloss, rise=rise, bumps=bumps)
    elif kind == "logs":
        a0 = rng.uniform(0, np.pi)
        for k in range(3):
            a = a0 + rng.uniform(-0.6, 0.6)
            length = S * rng.uniform(0.5, 0.75) * (1 - 0.25 * k)
            mid = ctr + rng.uniform(-0.12, 0.12, 2) * S
            d = np.array([np.cos(a), np.sin(a)])
            bend = np.array([-d[1], d[0]]) * rng.uniform(-0.12, 0.12) * S
            pts = open_spline([mid - d * length / 2, mid + bend, mid + d * length / 2], 200)
            P = resample(pts, 1.0)
            t = np.linspace(0, 1, len(P))
            radii = S * rng.uniform(0.09, 0.12) * np.clip(np.sin(np.pi * t) ** 0.35, 0.35, 1)
            radii *= 1 + 0.12 * np.sin(t * rng.uniform(8, 14))  # segmented, constricted log
            paint_tube(c, P, radii, alb, gloss, rise=np.full(len(P), k * S * 0.02), bumps=bumps)
    elif kind == "pile":
        # metaballs: a soft field whose level set is the outline and whose value the height
        xx, yy = grid(c.shape)
        field = np.zeros(c.shape, np.float32)
        for k in range(9):
            r = S * rng.uniform(0.09, 0.14)
            p = ctr + rng.normal(0, 0.14, 2) * S
            field += np.exp(-((xx - p[0]) ** 2 + (yy - p[1]) ** 2) / (2 * r * r))
        field += 0.08 * bumps
        m = smoothstep(0.8, 0.83, field)
        # terraces along the field's level lines: a soft pile slumped in layers
        h = np.sqrt(np.clip(field - 0.8, 0, None)) * S * 0.2
        h += np.sin(field * 6) * S * 0.015 * smoothstep(0.8, 1.0, field)
        c.paint(m, alb, h, spec=gloss)
    else:  # pellets
        for k in range(int(rng.integers(9, 14))):
            r = S * rng.uniform(0.07, 0.10)
            p = ctr + rng.normal(0, 0.2, 2) * S
            p = np.clip(p, ctr - S * 0.42, ctr + S * 0.42)
            m = ellipse_mask(c.shape, p, (r * rng.uniform(1.0, 1.5), r), rng.uniform(0, 180))
            h = dome(m, r, r * 0.9) * (1 + 0.15 * bumps) + k * 0.02 * S
            c.paint(m, alb, np.maximum(c.height, h), spec=gloss)
    return c.render(LIGHT_TOP, ambient=0.35, ao=0.03, shininess=25)


# ----------------------------------------------------------------------------- bowls
def kibble(c: Canvas, rng: np.random.Generator, centre, radius: float, colour: str,
           level: float, size: float) -> None:
    """A heap of dry food pieces inside a circle, stacked higher towards the middle."""
    col = hex2rgb(colour)
    n = int((radius / size) ** 2 * 1.6)
    for k in range(n):
        rr = radius * math.sqrt(rng.uniform(0, 1)) * 0.95
        a = rng.uniform(0, 2 * np.pi)
        p = np.asarray(centre) + rr * np.array([math.cos(a), math.sin(a)])
        sz = size * rng.uniform(0.75, 1.2)
        if rng.uniform() < 0.5:
            m = ellipse_mask(c.shape, p, (sz, sz * rng.uniform(0.7, 1.0)), rng.uniform(0, 180))
        else:  # little triangles / crosses as in real kibble
            ang = rng.uniform(0, 2 * np.pi)
            tri = [p + sz * 1.2 * np.array([math.cos(ang + j * 2.094), math.sin(ang + j * 2.094)])
                   for j in range(3)]
            m = poly_mask(c.shape, closed_spline(tri, 30))
        tone = col * rng.uniform(0.75, 1.2)
        stack = level + (1 - rr / radius) * radius * 0.25 + rng.uniform(0, sz)
        c.paint(m, tone, np.maximum(c.height, stack + dome(m, sz * 0.8, sz * 0.7)), spec=0.15)


def bowl(name: str, radius: float, material: str, colour: str, content: str | None = None,
         food: str = "#8a5a2b", pattern: str | None = None, canvas=None, centre=None,
         render: bool = True) -> np.ndarray | None:
    """A pet bowl seen from above: rim ring, sloped inner wall, floor, optional food or water."""
    rng = rng_for(name)
    pad = 10
    c = canvas or Canvas(int(2 * radius + 2 * pad), int(2 * radius + 2 * pad))
    R = c.s(radius)
    ctr = np.array(centre if centre is not None else [c.s(radius + pad)] * 2, np.float64)
    xx, yy = grid(c.shape)
    dx, dy = xx - ctr[0], yy - ctr[1]
    rr = np.sqrt(dx * dx + dy * dy) / R           # 0 at the centre, 1 at the outer edge
    ang = np.arctan2(dy, dx)
    m = np.clip((1 - rr) * R + 0.5, 0, 1)
    # profile: base flange, rolled rim at ~0.88, inner wall sloping down to the floor at 0.55
    rim = np.exp(-((rr - 0.87) / 0.05) ** 2)
    wall = smoothstep(0.52, 0.84, rr)
    h = R * (0.10 * smoothstep(1.0, 0.93, rr) + 0.10 * rim + 0.28 * wall * (rr < 0.87)
             + 0.28 * (rr >= 0.87) * smoothstep(1.0, 0.9, rr))
    n_fine = fractal_noise(rng, *c.shape, beta=1.0)
    col = hex2rgb(colour)
    if material == "steel":
        # brushed metal: concentric streaks and broad reflections of the room
        streak = fractal_noise(rng, 1, 720, beta=1.0)[0]
        rad_idx = np.clip((rr * 700).astype(int), 0, 719)
        refl = 0.5 + 0.5 * np.cos(2 * ang + 0.7) * np.cos(rr * 9)
        alb = col * (0.75 + 0.35 * refl)[..., None] * (1 + 0.04 * streak[rad_idx])[..., None]
        spec = 0.9
    elif material == "ceramic":
        alb = textured(col, n_fine, 0.02)
        alb = mix(alb, col * 1.15 + 0.08, smoothstep(0.6, 0.0, rr) * 0.3)  # glaze pooling
        spec = 0.6
    else:  # plastic
        alb = textured(col, n_fine, 0.03)
        spec = 0.3
    if pattern == "paws":  # paw prints around the rim band
        for k in range(8):
            a = k * 2 * np.pi / 8 + 0.2
            p = ctr + 0.935 * R * np.array([math.cos(a), math.sin(a)])
            pm = ellipse_mask(c.shape, p, (0.03 * R, 0.024 * R), math.degrees(a))
            for j in (-1, 0, 1):  # three toes just outside the pad
                q = ctr + 0.975 * R * np.array([math.cos(a + j * 0.045), math.sin(a + j * 0.045)])
                pm = np.maximum(pm, ellipse_mask(c.shape, q, (0.012 * R, 0.012 * R)))
            alb = mix(alb, hex2rgb("#ffffff"), pm)
    elif pattern == "band":
        alb = mix(alb, hex2rgb("#fafafa"), smoothstep(0.015, 0.0, np.abs(rr - 0.95)) * 0.9)
    c.paint(m, alb, h, spec=spec)
    floor_r = 0.55 * R
    if content == "kibble":
        kibble(c, rng, ctr, floor_r * 1.1, food, c.height[int(ctr[1]), int(ctr[0])], c.s(5.5))
    elif content == "water":
        wm = np.clip((0.68 - rr) * R + 0.5, 0, 1)
        level = R * 0.12
        depth = smoothstep(0.68, 0.3, rr)
        water = mix(alb, alb * hex2rgb("#7fa9c4") * 0.9, depth * 0.6)
        ripple = np.sin(rr * 40 + 1.2 * n_fine) * 0.0006 * R
        c.paint(wm, water, np.full(c.shape, level, np.float32) + ripple, spec=1.0)
    if render:
        return c.render(LIGHT_TOP, ambient=0.40, ao=0.015, shininess=60)
    return None


def bowl_pair(name: str, tray: str, bowl_colour: str) -> np.ndarray:
    """A feeding tray holding two steel bowls, one with kibble and one with water."""
    rng = rng_for(name)
    w, h, pad = 300, 160, 8
    c = Canvas(w + 2 * pad, h + 2 * pad)
    m = rect_mask(c.shape, c.s(pad), c.s(pad), c.s(pad + w), c.s(pad + h), c.s(40))
    n = fractal_noise(rng, *c.shape, beta=1.2)
    c.paint(m, textured(hex2rgb(tray), n, 0.03), dome(m, c.s(10), c.s(12)), spec=0.25)
    for k, content in enumerate(("kibble", "water")):
        centre = c.s([pad + 78 + k * 144, pad + h / 2])
        bowl(f"{name}_{k}", 68, "steel", bowl_colour, content, canvas=c, centre=centre,
             render=False)
    return c.render(LIGHT_TOP, ambient=0.40, ao=0.015, shininess=60)


# ----------------------------------------------------------------------------- rags
def rag(name: str, size: float, colour: str, pattern: str, second: str = "#ffffff",
        hem: bool = True, fray: bool = False, stains: bool = False,
        fold_depth: float = 1.0) -> np.ndarray:
    """A crumpled cloth seen from above: irregular outline, soft folds, woven pattern, hem."""
    rng = rng_for(name)
    pad = 14
    c = Canvas(int(size + 2 * pad), int(size * 0.85 + 2 * pad))
    S = c.s(size)
    ctr = np.array([c.w / 2, c.h / 2])
    # outline: a squashed square with pulled and tucked corners
    pts = []
    k = 14
    for i in range(k):
        a = 2 * np.pi * i / k + rng.uniform(-0.1, 0.1)
        sq = 1 / max(abs(math.cos(a)), abs(math.sin(a))) ** 0.6  # squarish
        r = S * 0.42 * sq * rng.uniform(0.78, 1.08)
        pts.append(ctr + r * np.array([math.cos(a), math.sin(a) * 0.82]))
    m = poly_mask(c.shape, closed_spline(pts, 600))
    xx, yy = grid(c.shape)
    # folds: a few ridges along random lines, plus soft large-scale lumps
    h = np.zeros(c.shape, np.float32)
    warp = blur(fractal_noise(rng, *c.shape, beta=3.0), SS * 4)
    for j in range(6):
        a = rng.uniform(0, np.pi)
        nx, ny = math.cos(a), math.sin(a)
        p = ctr + rng.normal(0, 0.18, 2) * S
        d = (xx - p[0]) * nx + (yy - p[1]) * ny + warp * S * 0.05
        along = -(xx - p[0]) * ny + (yy - p[1]) * nx
        w = S * rng.uniform(0.025, 0.05)
        reach = np.exp(-(along / (S * rng.uniform(0.25, 0.45))) ** 2)
        h += w * 0.9 * np.exp(-(d / w) ** 2) * reach
    lumps = blur(fractal_noise(rng, *c.shape, beta=3.5), SS * 6) * S * 0.012
    h = (h + lumps) * fold_depth + dome(m, S * 0.05, S * 0.02)
    h = h - h[m > 0.5].min()
    # the pattern is woven in the cloth, so it follows the folds: warp its coordinates
    gy, gx = np.gradient(blur(h, SS))
    u, v = xx + gx * S * 0.015 + warp * S * 0.01, yy + gy * S * 0.015
    n_fine = fractal_noise(rng, *c.shape, beta=0.6)
    col, col2 = hex2rgb(colour), hex2rgb(second)
    if pattern == "gingham":
        per = c.s(18)
        su = ((u / per) % 1 < 0.5).astype(np.float32)
        sv = ((v / per) % 1 < 0.5).astype(np.float32)
        t = blur((su + sv) / 2, SS * 0.4)
        alb = mix(col2, col, t)
        relief = weave(c.shape, c.s(1.2), 0) * 0.5
    elif pattern == "terry":
        loops = blur(fractal_noise(rng, *c.shape, beta=0.0), SS * 0.5)
        alb = textured(col, loops, 0.12)
        band = (np.abs(v - ctr[1] - S * 0.12) < c.s(9)).astype(np.float32)
        alb = mix(alb, col2, blur(band, SS) * 0.9)
        relief = loops * 0.6
    elif pattern == "stripes":
        t = blur((((u + v * 0.05) / c.s(14)) % 1 < 0.33).astype(np.float32), SS * 0.4)
        alb = mix(col, col2, t)
        relief = weave(c.shape, c.s(1.2), 0) * 0.5
    elif pattern == "denim":
        tw = ribs(c.shape, c.s(1.6), 45)
        alb = mix(col, col2, tw * 0.35 + 0.1 * n_fine)
        relief = tw * 0.6
    else:  # microfibre / plain cotton
        alb = textured(col, blur(n_fine, SS * 0.6), 0.08)
        relief = blur(n_fine, SS * 0.6) * 0.5
    alb = textured(alb, n_fine, 0.04)
    if stains:
        st = smoothstep(1.2, 1.8, blur(fractal_noise(rng, *c.shape, beta=2.5), SS * 2))
        alb = mix(alb, alb * hex2rgb("#a08a60"), st * 0.6)
    h = h + relief * c.s(0.35)
    if fray:  # ragged edge with loose threads
        edge = (blur(fractal_noise(rng, *c.shape, beta=1.0), SS) > 0.3) & (dist_inside(m) < c.s(2))
        m = m * (1 - edge)
        for j in range(10):
            p = contour_of(m)[rng.integers(0, len(contour_of(m)))]
            a = math.atan2(p[1] - ctr[1], p[0] - ctr[0]) + rng.uniform(-0.5, 0.5)
            q = p + c.s(rng.uniform(4, 10)) * np.array([math.cos(a), math.sin(a)])
            tm = stroke_mask(c.shape, open_spline([p, (p + q) / 2 + rng.normal(0, SS, 2), q], 20),
                             SS * 0.8)
            c.paint(tm, col * 0.9, np.full(c.shape, c.s(0.5), np.float32), spec=0.0)
    c.paint(m, alb, h, spec=0.04)
    if hem:
        band = np.clip(m - inset(m, c.s(4)), 0, 1)
        c.paint(band, alb * 0.92, c.height + band * c.s(0.8), spec=0.04)
        stitches(c, m, 2.2, col * 0.8 + 0.1, dash=1.6, gap=1.0, width=0.6)
    return c.render(LIGHT_TOP, ambient=0.40, ao=0.02, shininess=10)


# ----------------------------------------------------------------------------- scales
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


def scale(name: str, w: float, h: float, style: str, tint: str | None = None,
          reading: str = "0.0") -> np.ndarray:
    """A bathroom scale seen from above: glass/plastic/wood top, pads, display or dial."""
    rng = rng_for(name)
    pad = 10
    c = Canvas(int(w + 2 * pad), int(h + 2 * pad))
    W, H = c.s(w), c.s(h)
    x0, y0 = c.s(pad), c.s(pad)
    xx, yy = grid(c.shape)
    n_fine = fractal_noise(rng, *c.shape, beta=1.0)
    round_body = style == "round"
    if round_body:
        body = ellipse_mask(c.shape, (x0 + W / 2, y0 + H / 2), (W / 2, H / 2))
    else:
        body = rect_mask(c.shape, x0, y0, x0 + W, y0 + H, c.s(28 if style != "dial" else 40))
    slab = dome(body, c.s(5), c.s(10))
    # a broad diagonal reflection band sells glass and gloss
    diag = (xx - x0) / W * 0.7 + (yy - y0) / H * 0.3
    refl = np.exp(-((diag - 0.35) / 0.08) ** 2) * 0.5 + np.exp(-((diag - 0.55) / 0.03) ** 2) * 0.3
    if style in ("glass", "round"):
        base = hex2rgb(tint or ("#17191c" if style == "glass" else "#e9e6e2"))
        c.paint(body, textured(base, n_fine, 0.02) + refl[..., None] * 0.12, slab, spec=0.8)
        rim = np.clip(body - inset(body, c.s(3)), 0, 1)
        c.paint(rim, hex2rgb("#b8bcc2"), slab, spec=0.8)
        # four electrode pads
        for fx, fy in ((0.22, 0.34), (0.78, 0.34), (0.22, 0.76), (0.78, 0.76)):
            if round_body:
                fx, fy = 0.5 + (fx - 0.5) * 0.85, 0.55 + (fy - 0.55) * 0.85
            pm = ellipse_mask(c.shape, (x0 + fx * W, y0 + fy * H), (0.12 * W, 0.13 * H))
            brushed = 0.8 + 0.15 * np.sin((xx - x0) * 0.9 + n_fine)
            c.paint(pm, hex2rgb("#c9ccd0") * brushed[..., None], slab + dome(pm, c.s(2), c.s(0.5)),
                    spec=0.9)
        disp = rect_mask(c.shape, x0 + 0.34 * W, y0 + 0.1 * H, x0 + 0.66 * W, y0 + 0.22 * H, c.s(4))
        c.paint(disp, hex2rgb("#0b0c10"), slab, spec=0.9)
        txt = seven_segment(c.shape, reading,
                            x0 + 0.38 * W, y0 + 0.125 * H, 0.07 * H)
        c.glow(txt * disp, hex2rgb("#6ad0ff") if style == "glass" else hex2rgb("#ff5a3c"))
    elif style == "white":
        c.paint(body, textured(hex2rgb("#f1f1ee"), n_fine, 0.02), slab, spec=0.35)
        for sx in (-1, 1):  # grey rubber foot pads with ribs
            fp = [(0.5 + sx * 0.06, 0.3), (0.5 + sx * 0.2, 0.26), (0.5 + sx * 0.36, 0.34),
                  (0.5 + sx * 0.36, 0.72), (0.5 + sx * 0.28, 0.9), (0.5 + sx * 0.1, 0.88),
                  (0.5 + sx * 0.05, 0.6)]
            pm = poly_mask(c.shape, closed_spline([(x0 + a * W, y0 + b * H) for a, b in fp], 200))
            rib = ribs(c.shape, c.s(4), 90)
            c.paint(pm, hex2rgb("#8e949a") * (0.85 + 0.15 * rib)[..., None],
                    slab + dome(pm, c.s(3), c.s(2)) + rib * c.s(0.5), spec=0.1)
        disp = rect_mask(c.shape, x0 + 0.38 * W, y0 + 0.07 * H, x0 + 0.62 * W, y0 + 0.19 * H, c.s(3))
        c.paint(disp, hex2rgb("#b9c2b4"), slab - disp * c.s(0.5), spec=0.6)
        txt = seven_segment(c.shape, "0.0", x0 + 0.43 * W, y0 + 0.095 * H, 0.07 * H)
        c.paint(txt * disp, hex2rgb("#2b2f2c"), c.height, spec=0.4)
    elif style == "wood":
        wob = blur(fractal_noise(rng, *c.shape, beta=4.0, aspect=0.1), SS)
        grain = 0.5 + 0.5 * np.sin((xx - x0) / c.s(1.1) + 3.0 * wob)
        fine = blur(fractal_noise(rng, *c.shape, beta=1.0, aspect=0.05), SS * 0.4)
        strip_idx = ((xx - x0) // c.s(22)).astype(int)
        tone = np.choose(strip_idx % 3, [0.93, 1.0, 1.08]).astype(np.float32)
        node_y = (strip_idx * 0.37 % 1.0) * H * 0.8 + y0 + 0.1 * H   # bamboo nodes
        tone = tone * (1 - 0.18 * np.exp(-((yy - node_y) / c.s(1.5)) ** 2))
        grain = 0.6 * grain + 0.4 * (0.5 + 0.25 * fine)
        alb = hex2rgb("#c79a5e")[None, None] * (tone * (0.9 + 0.1 * grain))[..., None]
        c.paint(body, textured(alb, n_fine, 0.03), slab + grain * c.s(0.2), spec=0.25)
        txt = seven_segment(c.shape, "72.4", x0 + 0.37 * W, y0 + 0.12 * H, 0.08 * H)
        c.glow(blur(txt, SS * 0.6), hex2rgb("#ff4a2a") * 0.9)
        c.paint(txt * 0.3, hex2rgb("#ff4a2a"), c.height)
    elif style == "dial":
        c.paint(body, textured(hex2rgb("#d9d4cb"), n_fine, 0.03), slab, spec=0.3)
        mat = rect_mask(c.shape, x0 + 0.08 * W, y0 + 0.38 * H, x0 + 0.92 * W, y0 + 0.93 * H, c.s(16))
        dots = ((np.sin(xx / c.s(2.2)) * np.sin(yy / c.s(2.2))) > 0.3).astype(np.float32)
        c.paint(mat, hex2rgb("#2a2b2d") * (0.8 + 0.3 * dots)[..., None],
                slab + dome(mat, c.s(2), c.s(1.5)) + dots * c.s(0.4), spec=0.1)
        dc = (x0 + 0.5 * W, y0 + 0.2 * H)
        win = ellipse_mask(c.shape, dc, (0.2 * W, 0.13 * H))
        c.paint(win, hex2rgb("#f7f5ee"), slab - win * c.s(1.5), spec=0.9)
        ticks = np.zeros(c.shape, np.float32)
        for k in range(-12, 13):
            a = math.radians(-90 + k * 6)
            r0 = 0.15 * W * (0.82 if k % 5 else 0.7)
            p0 = (dc[0] + r0 * math.cos(a), dc[1] + 0.6 * H / W * r0 * math.sin(a) + 0.06 * H)
            p1 = (dc[0] + 0.18 * W * math.cos(a), dc[1] + 0.6 * H / W * 0.18 * W * math.sin(a)
                  + 0.06 * H)
            ticks = np.maximum(ticks, stroke_mask(c.shape, [p0, p1], c.s(0.9)))
        c.paint(ticks * win, hex2rgb("#222222"), c.height)
        needle = stroke_mask(c.shape, [(dc[0], dc[1] + 0.06 * H), (dc[0] + 0.01 * W, dc[1] - 0.06 * H)],
                             c.s(1.4))
        c.paint(needle * win, hex2rgb("#d22a1e"), c.height + needle * c.s(0.3), spec=0.3)
        glass = win * np.exp(-(((xx - dc[0]) / W + (yy - dc[1]) / H * 0.5 + 0.05) / 0.05) ** 2)
        c.glow(glass * 0.25, np.ones(3))
    return c.render(LIGHT_TOP, ambient=0.42, ao=0.01, shininess=60)


# ----------------------------------------------------------------------------- fans
def fan_cage(c: Canvas, ctr, R: float, squash: float, frame: str, blade: str, blades: int,
             rng: np.random.Generator, spin: float = 0.0, hub: str | None = None,
             rings: int = 3, spokes: int = 44, blade_alpha: float = 0.8,
             squash_y: float = 1.0) -> None:
    """A round grille with blades and hub; holes between wires stay transparent."""
    xx, yy = grid(c.shape)
    dx, dy = (xx - ctr[0]) / squash, (yy - ctr[1]) / squash_y
    r = np.sqrt(dx * dx + dy * dy) / R
    a = np.arctan2(dy, dx)
    wire = c.s(0.7)
    # blades behind the grille: wide lobes whose edge is a curved sweep
    bl = np.zeros(c.shape, np.float32)
    for k in range(blades):
        phase = (a - spin - k * 2 * np.pi / blades - 0.6 * r) % (2 * np.pi)
        lobe = (phase < 2 * np.pi / blades * 0.62) & (r > 0.16) & (r < 0.86 - 0.1 * (phase / 2.0))
        bl = np.maximum(bl, lobe.astype(np.float32))
    bl = blur(bl, SS * 0.5)
    bcol = hex2rgb(blade)
    shade = 0.85 + 0.2 * np.cos(a * blades - spin)   # each blade is a twisted surface
    c.paint(bl * blade_alpha, bcol * shade[..., None], np.full(c.shape, c.s(6), np.float32),
            spec=0.4)
    # motor hub
    hub_m = np.clip((0.2 - r) * R / squash + 0.5, 0, 1)
    c.paint(hub_m, hex2rgb(hub or frame), c.s(6) + dome(hub_m, c.s(6), c.s(8)), spec=0.5)
    logo = np.clip((0.1 - r) * R + 0.5, 0, 1) - np.clip((0.07 - r) * R + 0.5, 0, 1)
    c.paint(np.clip(logo, 0, 1), hex2rgb(frame) * 0.6, c.height, spec=0.5)
    # grille: concentric rings plus radial spokes, and a thick outer rim
    g = np.zeros(c.shape, np.float32)
    for k in range(1, rings + 1):
        rk = 0.2 + 0.72 * k / (rings + 1)
        g = np.maximum(g, np.clip(wire - np.abs(r - rk) * R, 0, 1))
    sp = np.abs(((a * spokes / (2 * np.pi)) % 1.0) - 0.5) * 2 * np.pi / spokes * r * R
    g = np.maximum(g, np.clip(wire * 0.8 - np.abs(sp - np.pi / spokes * r * R), 0, 1)
                   * (r > 0.19) * (r < 1.0))
    rim = np.clip(c.s(2.2) - np.abs(r - 0.985) * R, 0, 1)
    g = np.maximum(g, rim)
    fcol = hex2rgb(frame)
    c.paint(g, fcol, c.s(9) + g * c.s(1.5) + rim * c.s(2), spec=0.5)


def fan_pedestal(name: str, total_h: float, R: float, frame: str, blade: str, blades: int,
                 squash: float = 1.0, base: str = "disc", blade_alpha: float = 0.8) -> np.ndarray:
    """A standing fan seen from the side/front: base, telescopic pole, motor, round cage."""
    rng = rng_for(name)
    pad = 8
    w = max(2 * R * squash, 0.7 * R * 2) + 2 * pad
    c = Canvas(int(w + 30), int(total_h + 2 * pad))
    cx = c.s(w / 2 + 15)
    ground = c.s(pad + total_h)
    top = c.s(pad)
    Rc = c.s(R)
    fcol = hex2rgb(frame)
    n_fine = fractal_noise(rng, *c.shape, beta=1.0)
    alb = textured(fcol, n_fine, 0.02)
    # base: a shallow dome seen nearly edge-on, or a cross of legs
    bw, bh = c.s(R * 0.95), c.s(R * 0.16)
    if base == "disc":
        bm = ellipse_mask(c.shape, (cx, ground - bh * 0.55), (bw, bh * 0.55))
        bm = np.maximum(bm, rect_mask(c.shape, cx - bw, ground - bh * 0.55, cx + bw, ground - bh * 0.2))
        bm = np.maximum(bm, ellipse_mask(c.shape, (cx, ground - bh * 0.8), (bw * 0.55, bh * 0.5)))
        c.paint(bm, alb, dome(bm, c.s(8), c.s(10)), spec=0.35)
    else:  # cross legs
        for sx in (-1, 1):
            leg = [(cx, ground - bh * 0.9), (cx + sx * bw * 1.05, ground - c.s(2))]
            m, h = tube(c.shape, leg, c.s(3.5))
            c.paint(m, alb, h, spec=0.3)
            foot = ellipse_mask(c.shape, (cx + sx * bw, ground - c.s(2)), (c.s(7), c.s(3)))
            c.paint(foot, hex2rgb("#222222"), dome(foot, c.s(2)), spec=0.1)
        hubm = ellipse_mask(c.shape, (cx, ground - bh * 0.9), (c.s(9), c.s(6)))
        c.paint(hubm, alb, dome(hubm, c.s(4)), spec=0.3)
    # pole: thicker lower tube, chrome upper tube, a collar between
    cage_c = (cx, top + Rc)
    mid = ground - (ground - cage_c[1]) * 0.55
    m, h = tube(c.shape, [(cx, ground - bh * 0.6), (cx, mid)], c.s(5))
    c.paint(m, alb, h, spec=0.4)
    m, h = tube(c.shape, [(cx, mid), (cx, cage_c[1] + Rc * 0.6)], c.s(3.2))
    c.paint(m, hex2rgb("#cfd3d8"), h, spec=0.9)
    collar = rect_mask(c.shape, cx - c.s(7), mid - c.s(5), cx + c.s(7), mid + c.s(3), c.s(2))
    c.paint(collar, alb, dome(collar, c.s(4), c.s(7)), spec=0.4)
    # motor housing peeks out behind the cage when the fan is turned
    if squash < 0.95:
        mh = ellipse_mask(c.shape, (cx + (1 - squash) * Rc * 0.9, cage_c[1]), (Rc * 0.32, Rc * 0.28))
        c.paint(mh, alb * 0.9, dome(mh, c.s(10), c.s(10)), spec=0.4)
    else:
        mh = rect_mask(c.shape, cx - c.s(10), cage_c[1] + Rc * 0.4, cx + c.s(10), cage_c[1] + Rc * 1.02,
                       c.s(4))
        c.paint(mh, alb, dome(mh, c.s(5), c.s(6)), spec=0.4)
    # cage: transparent between wires (clear what is behind)
    cage_alpha = ellipse_mask(c.shape, cage_c, (Rc * squash, Rc))
    c.alpha *= 1 - cage_alpha
    fan_cage(c, cage_c, Rc, squash, frame, blade, blades, rng, spin=rng.uniform(0, 6.28),
             blade_alpha=blade_alpha)
    # control knob on the motor / base
    kb = ellipse_mask(c.shape, (cx + bw * 0.45, ground - bh * 0.7), (c.s(4), c.s(2.5)))
    c.paint(kb, hex2rgb("#3a7bd5") if frame != "#1c1d20" else hex2rgb("#e0e0e0"),
            c.height + dome(kb, c.s(2)), spec=0.5)
    return c.render(LIGHT_SIDE, ambient=0.45, ao=0.01, shininess=40)


def fan_box(name: str, size: float, frame: str, blade: str) -> np.ndarray:
    """A box fan standing on its feet, seen from the front: square frame, round grille, handle."""
    rng = rng_for(name)
    pad = 8
    c = Canvas(int(size + 2 * pad), int(size * 1.12 + 2 * pad))
    x0, y0, S = c.s(pad), c.s(pad + size * 0.08), c.s(size)
    alb = textured(hex2rgb(frame), fractal_noise(rng, *c.shape, beta=1.0), 0.02)
    # carry handle on top, small feet below
    hm = rect_mask(c.shape, x0 + 0.35 * S, y0 - 0.08 * S, x0 + 0.65 * S, y0 + 0.04 * S, c.s(6))
    hm -= rect_mask(c.shape, x0 + 0.39 * S, y0 - 0.05 * S, x0 + 0.61 * S, y0 + 0.02 * S, c.s(3))
    c.paint(np.clip(hm, 0, 1), alb, dome(np.clip(hm, 0, 1), c.s(3), c.s(5)), spec=0.3)
    for fx in (0.12, 0.88):
        fm = rect_mask(c.shape, x0 + (fx - 0.08) * S, y0 + 0.97 * S, x0 + (fx + 0.08) * S,
                       y0 + 1.03 * S, c.s(3))
        c.paint(fm, hex2rgb("#2a2a2a"), dome(fm, c.s(2)), spec=0.1)
    body = rect_mask(c.shape, x0, y0, x0 + S, y0 + S, c.s(14))
    c.paint(body, alb, dome(body, c.s(8), c.s(10)), spec=0.3)
    ctr = (x0 + S / 2, y0 + S / 2)
    R = S * 0.44
    hole = ellipse_mask(c.shape, ctr, (R, R))
    c.alpha *= 1 - hole
    fan_cage(c, ctr, R, 1.0, frame, blade, 5, rng, spin=0.4, rings=5, spokes=60,
             blade_alpha=0.95)
    # dial on the corner
    d = ellipse_mask(c.shape, (x0 + 0.9 * S, y0 + 0.1 * S), (c.s(7), c.s(7)))
    c.paint(d, hex2rgb("#3b3d42"), c.height + dome(d, c.s(3), c.s(4)), spec=0.4)
    return c.render(LIGHT_SIDE, ambient=0.45, ao=0.01, shininess=40)


def fan_tower(name: str, total_h: float, width: float, body: str, grille: str,
              accent: str) -> np.ndarray:
    """A tower fan seen from the front: tall rounded column, slotted grille, round base."""
    rng = rng_for(name)
    pad = 8
    bw = width * 1.5
    c = Canvas(int(bw + 2 * pad), int(total_h + 2 * pad))
    cx, ground, top = c.s(pad + bw / 2), c.s(pad + total_h), c.s(pad)
    W = c.s(width)
    alb = textured(hex2rgb(body), fractal_noise(rng, *c.shape, beta=1.0), 0.02)
    base = ellipse_mask(c.shape, (cx, ground - c.s(7)), (c.s(bw / 2), c.s(7)))
    base = np.maximum(base, rect_mask(c.shape, cx - c.s(bw / 2), ground - c.s(12), cx + c.s(bw / 2),
                                      ground - c.s(6)))
    c.paint(base, alb * 0.9, dome(base, c.s(6), c.s(8)), spec=0.4)
    col = rect_mask(c.shape, cx - W / 2, top, cx + W / 2, ground - c.s(10), W * 0.45)
    xx, yy = grid(c.shape)
    cyl = np.sqrt(np.clip(1 - ((xx - cx) / (W / 2)) ** 2, 0, 1)) * W * 0.4  # a column
    c.paint(col, alb, cyl, spec=0.45)
    g = rect_mask(c.shape, cx - W * 0.3, top + c.s(40), cx + W * 0.3, ground - c.s(40), W * 0.15)
    slats = (np.sin((yy - top) / c.s(1.6)) > -0.2).astype(np.float32)
    c.paint(g, hex2rgb(grille) * (0.55 + 0.45 * slats)[..., None], cyl - g * c.s(1) + slats * c.s(0.5),
            spec=0.3)
    panel = rect_mask(c.shape, cx - W * 0.32, top + c.s(8), cx + W * 0.32, top + c.s(30), c.s(5))
    c.paint(panel, hex2rgb("#101114"), c.height, spec=0.8)
    for k in range(3):
        b = ellipse_mask(c.shape, (cx - W * 0.18 + k * W * 0.18, top + c.s(22)), (c.s(2.5), c.s(2.5)))
        c.glow(b, hex2rgb(accent))
    txt = seven_segment(c.shape, "24", cx - W * 0.1, top + c.s(11), c.s(6))
    c.glow(txt * panel, hex2rgb(accent))
    return c.render(LIGHT_SIDE, ambient=0.45, ao=0.01, shininess=40)


def fan_floor(name: str, R: float, frame: str, blade: str, tilt: float = 0.85) -> np.ndarray:
    """A low floor circulator fan: round cage tilted back on a U bracket with a wide foot."""
    rng = rng_for(name)
    pad = 10
    c = Canvas(int(2.5 * R + 2 * pad), int(2.6 * R + 2 * pad))
    cx, ground = c.s(pad + 1.25 * R), c.s(pad + 2.6 * R)
    Rc = c.s(R)
    alb = textured(hex2rgb(frame), fractal_noise(rng, *c.shape, beta=1.0), 0.02)
    ctr = (cx, ground - c.s(1.35 * R))
    foot = ellipse_mask(c.shape, (cx, ground - c.s(6)), (Rc * 0.8, c.s(6)))
    c.paint(foot, alb * 0.85, dome(foot, c.s(4), c.s(6)), spec=0.3)
    for sx in (-1, 1):  # U bracket arms to the pivots at the cage sides
        arm = [(cx + sx * Rc * 0.6, ground - c.s(8)), (cx + sx * Rc * 1.12, ctr[1] + Rc * 0.4),
               (cx + sx * Rc * 1.12, ctr[1])]
        m, h = tube(c.shape, open_spline(arm, 60), c.s(4.5))
        c.paint(m, alb, h, spec=0.35)
        piv = ellipse_mask(c.shape, (cx + sx * Rc * 1.1, ctr[1]), (c.s(8), c.s(8)))
        c.paint(piv, alb * 0.95, dome(piv, c.s(5), c.s(8)), spec=0.4)
    # deep cage: the back rim shows below the tilted front ring
    back = ellipse_mask(c.shape, (ctr[0], ctr[1] + Rc * 0.12), (Rc * 0.98, Rc * tilt * 0.98))
    ring_b = np.clip(back - inset(back, c.s(3)), 0, 1)
    hole = ellipse_mask(c.shape, ctr, (Rc, Rc * tilt))
    c.alpha *= 1 - hole
    c.paint(ring_b * (1 - hole), alb * 0.8, dome(ring_b, c.s(2), c.s(3)), spec=0.3)
    fan_cage(c, ctr, Rc, 1.0, frame, blade, 4, rng, spin=1.0, rings=4, spokes=36,
             blade_alpha=0.9, squash_y=tilt)
    return c.render(LIGHT_SIDE, ambient=0.45, ao=0.01, shininess=40)


# ----------------------------------------------------------------------------- distractors
def leaf(name: str, length: float, colour: str, shape: str, vein: str) -> np.ndarray:
    """A fallen leaf from above: lobed or serrated outline, midrib and side veins, slight curl."""
    rng = rng_for(name)
    pad = 10
    c = Canvas(int(length * (1.0 if shape == "maple" else 0.7) + 2 * pad), int(length + 2 * pad))
    L = c.s(length)
    tip = np.array([c.w / 2, c.s(pad)])
    base = np.array([c.w / 2, c.s(pad) + L * (0.8 if shape == "maple" else 0.88)])
    th = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    if shape == "maple":
        ctr = base - [0, L * 0.38]
        lobes = 0.55 + 0.45 * np.abs(np.cos(th * 2.5)) ** 0.6
        r = L * 0.42 * lobes * (1 + 0.05 * np.sin(th * 23))
        r *= 1 - 0.5 * np.exp(-((th - np.pi / 2) / 0.25) ** 2)  # notch at the stem
        pts = np.stack([ctr[0] + r * np.cos(th), ctr[1] + r * np.sin(th)], 1)
    else:  # elliptic with a pointed tip and serrated edge
        t = np.linspace(0, 1, 360)
        half = L * 0.26 * np.sin(np.pi * t) ** 0.8 * (1 - 0.35 * t)
        half *= 1 + 0.04 * np.sin(t * 90)
        ys = tip[1] + t * (base[1] - tip[1])
        pts = np.concatenate([np.stack([tip[0] + half, ys], 1), np.stack([tip[0] - half, ys], 1)[::-1]])
    m = poly_mask(c.shape, pts)
    n_fine = fractal_noise(rng, *c.shape, beta=1.5)
    col = hex2rgb(colour)
    alb = textured(col, 0.12 * n_fine + 0.1 * blur(fractal_noise(rng, *c.shape, beta=3), SS * 3), 1.0)
    veins = np.zeros(c.shape, np.float32)
    if shape == "maple":
        base = ctr + [0, L * 0.2]  # the veins fan out from where the stem joins
        for a, k in ((-90, 0.6), (-35, 0.5), (-145, 0.5), (15, 0.35), (165, 0.35)):
            a = math.radians(a)
            veins = np.maximum(veins, stroke_mask(c.shape, [base, base + L * k * np.array(
                [math.cos(a), math.sin(a)])], c.s(1.2)))
    else:
        veins = stroke_mask(c.shape, [base, tip], c.s(1.4))
        for k in range(1, 8):
            p = base + (tip - base) * k / 8.5
            for sx in (-1, 1):
                q = p + np.array([sx * L * 0.22 * (1 - k / 10), -L * 0.1])
                veins = np.maximum(veins, stroke_mask(c.shape, [p, q], c.s(0.7)))
    veins *= m
    alb = mix(alb, hex2rgb(vein), veins * 0.7)
    stem = stroke_mask(c.shape, [base, base + [c.s(3), L * 0.12]], c.s(2.2))
    h = dome(m, L * 0.2, L * 0.03) + veins * c.s(0.6) + blur(n_fine, SS * 4) * c.s(1.5)
    c.paint(np.clip(m + stem, 0, 1), mix(alb, hex2rgb(vein), stem), h + stem * c.s(1), spec=0.15)
    return c.render(LIGHT_TOP, ambient=0.45, ao=0.02, shininess=20)


def paper(name: str, kind: str) -> np.ndarray:
    """Paper litter from above: a sticky note, a crumpled ball or a receipt strip."""
    rng = rng_for(name)
    if kind == "ball":
        pad, S = 10, 120
        c = Canvas(S + 2 * pad, S + 2 * pad)
        ctr = np.array([c.w / 2, c.h / 2])
        R = c.s(S * 0.45)
        th = np.linspace(0, 2 * np.pi, 13, endpoint=False)
        pts = [ctr + R * rng.uniform(0.8, 1.0) * np.array([math.cos(a), math.sin(a)]) for a in th]
        m = poly_mask(c.shape, pts)  # faceted outline: crumpled paper has straight creases
        # facets: a Voronoi-ish field of planes gives sharp creases
        xx, yy = grid(c.shape)
        h = np.full(c.shape, -1e9, np.float32)
        for k in range(26):
            p = ctr + rng.normal(0, 0.5, 2) * R
            g = rng.normal(0, 0.6, 2)
            h = np.maximum(h, -(np.abs(xx - p[0]) * abs(g[0]) + np.abs(yy - p[1]) * abs(g[1])) * 0.4)
        h = h - h.min()
        h = dome(m, R * 0.8, R * 0.9) + (h - h[m > 0.5].mean()) * 0.3 * m
        lines = (np.sin((yy + 0.3 * xx) / c.s(4.5)) > 0.93).astype(np.float32)
        alb = mix(hex2rgb("#f4f3ee"), hex2rgb("#8fb1d9"), blur(lines, SS * 0.3) * 0.6)
        c.paint(m, alb, h, spec=0.05)
        return c.render(LIGHT_TOP, ambient=0.45, ao=0.02, shininess=10)
    if kind == "note":
        pad, S = 10, 110
        c = Canvas(S + 2 * pad, S + 2 * pad)
        x0 = c.s(pad)
        m = rect_mask(c.shape, x0, x0, x0 + c.s(S), x0 + c.s(S), SS)
        xx, yy = grid(c.shape)
        curl = np.clip((yy - x0 - c.s(S * 0.7)) / c.s(S * 0.3), 0, 1) ** 2 * c.s(8)
        n = fractal_noise(rng, *c.shape, beta=1.0)
        alb = textured(hex2rgb("#f6e15a"), n, 0.02)
        scrib = np.zeros(c.shape, np.float32)
        for k in range(3):  # handwriting scribbles
            y = x0 + c.s(25 + 22 * k)
            xs = np.linspace(x0 + c.s(12), x0 + c.s(S - 15 - 20 * (k == 2)), 60)
            ys = y + c.s(3) * np.sin(xs / c.s(2.3) + rng.uniform(0, 6)) * rng.uniform(0.6, 1.2, 60)
            scrib = np.maximum(scrib, stroke_mask(c.shape, np.stack([xs, ys], 1), c.s(1.1)))
        alb = mix(alb, hex2rgb("#2a3f8f"), scrib * 0.85)
        c.paint(m, alb, curl + c.s(1), spec=0.05)
        return c.render(LIGHT_TOP, ambient=0.45, ao=0.0, shininess=10)
    # receipt: a long thin curled strip with grey print
    pad, Wd, Ln = 10, 60, 210
    c = Canvas(Wd + 2 * pad + 40, Ln + 2 * pad)
    path = np.array([(c.s(pad + 20 + Wd / 2) + c.s(14) * math.sin(t * 2.2), c.s(pad) + c.s(Ln) * t)
                     for t in np.linspace(0, 1, 80)])
    s_c, v = path_coords(c.shape, path)
    W = c.s(Wd)
    m = ((np.abs(v) < W / 2) & (s_c >= 0) & (s_c <= c.s(Ln) * 0.98)).astype(np.float32)
    m = blur(m, SS * 0.4)
    rows = ((s_c // c.s(7)) % 1 == 0) & (np.sin(s_c / c.s(7) * np.pi) ** 2 > 0.6) \
        & (np.abs(v + W * 0.05 * np.sin(s_c / c.s(30))) < W * (0.3 + 0.1 * np.sin(s_c / c.s(13))))
    alb = mix(hex2rgb("#f7f6f2"), hex2rgb("#6d6d70"), blur(rows.astype(np.float32), SS * 0.5) * 0.5)
    h = np.abs(v) / W * c.s(6) + c.s(2) * np.sin(s_c / c.s(40))
    c.paint(m, alb, h, spec=0.05)
    return c.render(LIGHT_TOP, ambient=0.45, ao=0.0, shininess=10)


def toy(name: str, kind: str, colour: str) -> np.ndarray:
    """A child's toy from above: a building brick, a ball or a little car."""
    rng = rng_for(name)
    if kind == "brick":
        pad, w, h = 8, 130, 66
        c = Canvas(w + 2 * pad, h + 2 * pad)
        x0 = c.s(pad)
        m = rect_mask(c.shape, x0, x0, x0 + c.s(w), x0 + c.s(h), SS * 2)
        n = fractal_noise(rng, *c.shape, beta=1.0)
        col = textured(hex2rgb(colour), n, 0.01)
        c.paint(m, col, dome(m, c.s(2), c.s(10)), spec=0.5)
        for i in range(4):
            for j in range(2):
                p = (x0 + c.s(16 + i * 32.5), x0 + c.s(16 + j * 33))
                st = ellipse_mask(c.shape, p, (c.s(10), c.s(10)))
                c.paint(st, col, c.height + dome(st, c.s(2), c.s(6)), spec=0.6)
        return c.render(LIGHT_TOP, ambient=0.40, ao=0.01, shininess=60)
    if kind == "ball":
        pad, R = 8, 60
        c = Canvas(2 * R + 2 * pad, 2 * R + 2 * pad)
        ctr = np.array([c.w / 2, c.h / 2])
        m = ellipse_mask(c.shape, ctr, (c.s(R), c.s(R)))
        xx, yy = grid(c.shape)
        a = np.arctan2(yy - ctr[1], xx - ctr[0])
        seg = ((a + np.pi) // (np.pi / 3)).astype(int) % 3
        cols = np.stack([hex2rgb(colour), hex2rgb("#f5f5f5"), hex2rgb("#2f7be0")])
        alb = cols[seg]
        r = np.sqrt((xx - ctr[0]) ** 2 + (yy - ctr[1]) ** 2)
        cap = ellipse_mask(c.shape, ctr, (c.s(12), c.s(12)))
        alb = mix(alb, hex2rgb("#f5f5f5"), cap)
        h = np.sqrt(np.clip(c.s(R) ** 2 - r ** 2, 0, None))
        c.paint(m, alb, h, spec=0.6)
        return c.render(LIGHT_TOP, ambient=0.38, ao=0.0, shininess=50)
    # toy car
    pad, w, h = 10, 170, 84
    c = Canvas(w + 2 * pad, h + 2 * pad)
    x0, y0 = c.s(pad), c.s(pad)
    for fx in (0.2, 0.78):
        for fy in (0.0, 1.0):
            wm = rect_mask(c.shape, x0 + c.s(w * fx - 17), y0 + c.s(h * fy - 10) + c.s(2),
                           x0 + c.s(w * fx + 17), y0 + c.s(h * fy + 10) - c.s(2), c.s(5))
            c.paint(wm, hex2rgb("#1b1b1d"), dome(wm, c.s(4), c.s(6)), spec=0.2)
    body = rect_mask(c.shape, x0, y0 + c.s(6), x0 + c.s(w), y0 + c.s(h - 6), c.s(24))
    col = hex2rgb(colour)
    c.paint(body, col, dome(body, c.s(14), c.s(14)), spec=0.6)
    cab = rect_mask(c.shape, x0 + c.s(w * 0.33), y0 + c.s(14), x0 + c.s(w * 0.75), y0 + c.s(h - 14),
                    c.s(12))
    c.paint(cab, col * 0.95, c.height + dome(cab, c.s(8), c.s(8)), spec=0.6)
    for (a, b) in ((0.35, 0.44), (0.66, 0.73)):  # windscreens
        wsc = rect_mask(c.shape, x0 + c.s(w * a), y0 + c.s(18), x0 + c.s(w * b), y0 + c.s(h - 18), c.s(5))
        c.paint(wsc, hex2rgb("#26323d"), c.height, spec=1.0)
    for fy in (0.25, 0.75):
        lamp = ellipse_mask(c.shape, (x0 + c.s(w - 6), y0 + c.s(h * fy)), (c.s(3), c.s(6)))
        c.paint(lamp, hex2rgb("#fff3b0"), c.height, spec=0.8)
    return c.render(LIGHT_TOP, ambient=0.40, ao=0.01, shininess=60)


# ----------------------------------------------------------------------------- floors
FLOOR_PX = 1024


def wood_grain(rng: np.random.Generator, h: int, w: int, ring_px: float, figure: float) -> np.ndarray:
    """Plain-sawn wood grain running along x, in [0, 1] (periodic)."""
    warp = fractal_noise(rng, h, w, beta=4.0, aspect=6.0, hi=5.0)
    yy = np.mgrid[0:h, 0:w][0].astype(np.float32)
    rings = 0.5 + 0.5 * np.sin(2 * np.pi * (yy / ring_px + figure * warp))
    rings = rings ** 2.5  # darker latewood bands on lighter earlywood
    fade = 0.5 + 0.5 * np.tanh(1.5 * fractal_noise(rng, h, w, beta=3.5, aspect=4.0))
    streak = fractal_noise(rng, h, w, beta=2.0, aspect=30.0)
    pores = fractal_noise(rng, h, w, beta=0.5, aspect=10.0)
    g = 0.35 * rings * (0.4 + 0.6 * fade) + 0.15 * streak + 0.06 * pores + 0.45
    return np.clip(g, 0, 1).astype(np.float32)


def planks(name: str, plank_px: int, base: str, dark: str, ring_px: float, figure: float,
           tone_jitter: float, gap: str, gap_px: float, lengths: tuple[float, float],
           repeat_grain: bool = False, knots: int = 0) -> np.ndarray:
    """A plank floor (planks along x), tileable: staggered joints, per-plank tone and grain."""
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
            hue = rng.normal(0, tone_jitter * 0.4, 3)
            shift = (0, 0) if repeat_grain else (int(rng.integers(0, N)), int(rng.integers(0, N)))
            g = np.roll(grain_src, shift, (0, 1))[y0:y1][:, span]
            col = mix(dk, light, g) * tone * (1 + hue)
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
    seam_m = np.clip(blur_wrap(seams, gap_px * 0.5) * gap_px * 1.5, 0, 1)
    img = mix(img, hex2rgb(gap), seam_m)
    # a bevel: light on the edge facing the light, dark on the other
    bevel = np.roll(seam_m, 2, 0) - np.roll(seam_m, -2, 0)
    img *= (1 + 0.06 * bevel)[..., None]
    img *= (1 + 0.03 * fractal_noise(rng, N, N, beta=3.0))[..., None]  # uneven varnish
    return img


def tiles(name: str, n: int, base: str, grout: str, grout_px: float, mottle: float,
          speckle: float, jitter: float, second: str | None = None) -> np.ndarray:
    """Square tiles on a grid with grout lines, mottled glaze and a small bevel (tileable)."""
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
    col = col * (1 + mottle * fractal_noise(rng, N, N, beta=2.5, lo=3))[..., None]
    col = col * (1 + speckle * (fractal_noise(rng, N, N, beta=0.0) > 2.2))[..., None]
    col = col * (1 - speckle * 1.5 * (fractal_noise(rng, N, N, beta=0.0) > 2.5))[..., None]
    ex = np.minimum(xx % p, p - 1 - xx % p).astype(np.float32)
    ey = np.minimum(yy % p, p - 1 - yy % p).astype(np.float32)
    e = np.minimum(ex, ey)
    grout_m = smoothstep(grout_px / 2 + 1, grout_px / 2 - 0.5, e)
    bevel = smoothstep(grout_px / 2 + 5, grout_px / 2, e) * (1 - grout_m)
    lit = np.where(ex < ey, np.where(xx % p < p / 2, 1, -1), np.where(yy % p < p / 2, 1, -1))
    col = col * (1 + 0.08 * bevel * lit)[..., None]
    g = hex2rgb(grout)[None, None] * (1 + 0.08 * fractal_noise(rng, N, N, beta=0.5))[..., None]
    return mix(col, g, grout_m)


def carpet(name: str, base: str, fleck: str) -> np.ndarray:
    """Loop-pile carpet: dense fibres, two-tone flecks, faint rows and soft mottling."""
    rng = rng_for(name)
    N = FLOOR_PX
    fibres = blur_wrap(fractal_noise(rng, N, N, beta=0.0), 0.7)
    fibres /= fibres.std()
    tufts = fractal_noise(rng, N, N, beta=1.0, lo=120)
    yy = np.mgrid[0:N, 0:N][0].astype(np.float32)
    rowlines = np.sin(2 * np.pi * yy / (N / 256))  # 256 rows of loops across the tile
    mottle = fractal_noise(rng, N, N, beta=3.0)
    col = hex2rgb(base)[None, None] * (1 + 0.10 * fibres + 0.08 * tufts + 0.04 * rowlines
                                       + 0.05 * mottle)[..., None]
    fl = blur_wrap((fractal_noise(rng, N, N, beta=0.3) > 1.9).astype(np.float32), 0.6)
    return mix(col, hex2rgb(fleck), np.clip(fl, 0, 1) * 0.7)


def marble(name: str, base: str, vein: str, slabs: int) -> np.ndarray:
    """Polished marble slabs with wandering veins and thin seams (tileable)."""
    rng = rng_for(name)
    N = FLOOR_PX
    yy, xx = np.mgrid[0:N, 0:N].astype(np.float32)
    # classic turbulence marble: |noise| summed over octaves bends a periodic ramp
    turb = sum(np.abs(fractal_noise(rng, N, N, beta=0.0, lo=f * 0.7, hi=f * 1.3)) / 2 ** i
               for i, f in enumerate((1, 2, 4, 8, 16)))
    ramp = np.sin(2 * np.pi * (xx + 0.5 * yy) / N * 2 + 1.8 * turb)
    v1 = (1 - np.abs(ramp)) ** 8
    turb2 = sum(np.abs(fractal_noise(rng, N, N, beta=0.0, lo=f * 0.7, hi=f * 1.3)) / 2 ** i
                for i, f in enumerate((2, 4, 8, 16, 32)))
    v2 = (1 - np.abs(np.sin(2 * np.pi * (yy - 0.6 * xx) / N * 3 + 1.8 * turb2))) ** 40
    cloud = fractal_noise(rng, N, N, beta=3.0)
    col = hex2rgb(base)[None, None] * (1 + 0.03 * cloud)[..., None]
    col = mix(col, hex2rgb(vein), np.clip(0.7 * v1 + 0.5 * v2 + 0.06 * (cloud > 0.8), 0, 1))
    p = N // slabs
    e = np.minimum(np.minimum(xx % p, p - 1 - xx % p), np.minimum(yy % p, p - 1 - yy % p))
    return mix(col, col * 0.75, smoothstep(1.5, 0.0, e))


def concrete(name: str, base: str) -> np.ndarray:
    """Polished concrete: mottling, aggregate specks, pores, trowel swirls and a saw cut."""
    rng = rng_for(name)
    N = FLOOR_PX
    mott = fractal_noise(rng, N, N, beta=2.8)
    mid = fractal_noise(rng, N, N, beta=1.5)
    col = hex2rgb(base)[None, None] * (1 + 0.07 * mott + 0.03 * mid)[..., None]
    agg = blur_wrap((fractal_noise(rng, N, N, beta=0.2) > 2.3).astype(np.float32), 0.8)
    col = mix(col, col * 1.2 + 0.03, np.clip(agg, 0, 1) * 0.6)
    pores = blur_wrap((fractal_noise(rng, N, N, beta=0.0) > 3.0).astype(np.float32), 0.5)
    col = col * (1 - 0.5 * np.clip(pores * 2, 0, 1))[..., None]
    yy, xx = np.mgrid[0:N, 0:N].astype(np.float32)
    swirl = np.sin((np.sqrt((xx - N / 2) ** 2 + (yy - N / 3) ** 2) / 9) + 3 * mott)
    col = col * (1 + 0.015 * swirl)[..., None]
    cut = smoothstep(2.0, 0.5, np.minimum(yy, N - 1 - yy))  # a control joint at the tile edge
    return mix(col, col * 0.45, cut)


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
    tone = 1 + 0.07 * np.sin(block * 12.9898) + 0.05 * np.sin(block * 4.1414)
    g = np.where(left, grain, grain_t)
    col = mix(hex2rgb(dark), hex2rgb(base), g) * tone[..., None]
    du = np.minimum(u % bw, bw - u % bw)
    dv = np.minimum(v % bw, bw - v % bw)
    d4u = np.minimum(u % (4 * bw), 4 * bw - u % (4 * bw))
    d4v = np.minimum(v % (4 * bw), 4 * bw - v % (4 * bw))
    seam = np.where(left, np.minimum(du, d4v), np.minimum(dv, d4u)) / math.sqrt(2)
    return mix(col, hex2rgb(dark) * 0.5, smoothstep(1.2, 0.2, seam))


def floor_jpeg(img: np.ndarray) -> bytes:
    """Float RGB in [0, 1] -> JPEG q90 bytes."""
    return encode_jpeg(np.round(np.clip(img, 0, 1) * 255).astype(np.uint8), JPEG_Q)


# ----------------------------------------------------------------------------- backdrops
BD_W, BD_H = 1280, 720
BD_PPM = 290.0  # backdrop pixels per metre: the picture spans ~4.4 m x 2.5 m of wall


class Wall:
    """A frontal view of a room wall; coordinates in metres, y up from the floor line."""

    def __init__(self, name: str, paint: str, skirting: str, light_x: float):
        self.rng = rng_for(name)
        self.k = 2  # supersampling
        self.w, self.h = BD_W * self.k, BD_H * self.k
        yy, xx = np.mgrid[0:self.h, 0:self.w].astype(np.float32)
        self.xx, self.yy = xx, yy
        # plaster: fine noise, a broad light falloff from the window side, darker low down
        base = hex2rgb(paint)
        n = fractal_noise(self.rng, self.h, self.w, beta=1.2)
        self.grain = fractal_noise(self.rng, self.h, self.w, beta=1.5)  # shared by all objects
        fall = 1.05 - 0.25 * np.abs(xx / self.w - light_x) - 0.12 * (yy / self.h)
        self.img = base[None, None] * (fall * (1 + 0.015 * n))[..., None]
        self.shadow = np.zeros((self.h, self.w), np.float32)
        self.rect(0, 0, 4.5, 0.09, skirting, bevel=0.012)

    def px(self, x: float, y: float) -> tuple[float, float]:
        return x * BD_PPM * self.k, self.h - y * BD_PPM * self.k

    def mask_rect(self, x0, y0, x1, y1, r: float = 0.0) -> np.ndarray:
        (a, b), (c, d) = self.px(x0, y1), self.px(x1, y0)
        return rect_mask((self.h, self.w), a, b, c, d, r * BD_PPM * self.k)

    def fill(self, m, colour, grad: float = 0.08, tex: float = 0.02) -> None:
        """Paint a mask with a colour, a top-lit vertical gradient and a little texture."""
        col = hex2rgb(colour) if isinstance(colour, str) else np.asarray(colour, np.float32)
        ys, xs = np.nonzero(m.max(1) > 0)[0], np.nonzero(m.max(0) > 0)[0]
        if len(ys) == 0:
            return
        sl = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        t = np.linspace(0, 1, len(range(ys.min(), ys.max() + 1)), dtype=np.float32)[:, None]
        shade = (1 + grad * (0.5 - t)) * (1 + tex * self.grain[sl])
        self.img[sl] = mix(self.img[sl], col[None, None] * shade[..., None], m[sl])

    def rect(self, x0, y0, x1, y1, colour, r: float = 0.0, bevel: float = 0.0, grad=0.08,
             tex=0.02, shadow: float = 0.0) -> np.ndarray:
        """A filled box with an optional bevel highlight and a soft contact shadow on the wall."""
        if shadow:
            self.drop_shadow(self.mask_rect(x0, y0, x1, y1, r), shadow)
        m = self.mask_rect(x0, y0, x1, y1, r)
        self.fill(m, colour, grad, tex)
        if bevel:
            inner = self.mask_rect(x0 + bevel, y0 + bevel, x1 - bevel, y1 - bevel, max(r - bevel, 0))
            top = self.mask_rect(x0, y1 - bevel, x1, y1)
            self.img *= (1 - 0.12 * (m - inner) * (1 - top))[..., None]
            self.img = mix(self.img, np.minimum(self.img * 1.15, 1), top * m)
        return m

    def drop_shadow(self, m, strength: float, spread: float = 0.05) -> None:
        """Darken the surroundings of a shape, more below it (light from above)."""
        s = spread * BD_PPM * self.k
        sh = soft_blur(np.roll(m, int(s * 0.5), 0), s)
        self.img *= (1 - strength * sh * (1 - m))[..., None]

    def finish(self) -> np.ndarray:
        """Contact shadow at the floor line, slight defocus and sensor noise, downsample."""
        yy = self.yy
        floor_ao = np.exp(-(self.h - yy) / (0.05 * BD_PPM * self.k))
        img = self.img * (1 - 0.25 * floor_ao)[..., None]
        img = cv2.resize(img, (BD_W, BD_H), interpolation=cv2.INTER_AREA)
        img = cv2.GaussianBlur(img, (0, 0), 0.8)  # the camera focuses on the floor, not the wall
        img += self.rng.normal(0, 0.008, img.shape).astype(np.float32)
        return np.clip(img, 0, 1)


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
            wall.img = mix(wall.img, col, m)


def sofa(wall: Wall, x0: float, x1: float, colour: str, legs: str) -> None:
    """A sofa seen from the front at floor level: legs, dark gap, seat, back cushions, arms."""
    col = hex2rgb(colour)
    seat_y, back_y = 0.45, 0.86
    wall.drop_shadow(wall.mask_rect(x0, 0.1, x1, back_y, 0.05), 0.45, 0.12)
    for lx in (x0 + 0.08, x1 - 0.12, (x0 + x1) / 2 - 0.02):
        wall.rect(lx, 0.0, lx + 0.04, 0.12, legs, grad=0.2)
    gap = wall.mask_rect(x0 + 0.05, 0.0, x1 - 0.05, 0.14)
    wall.img *= (1 - 0.55 * blur(gap, 8) * 1)[..., None]  # deep shadow under the sofa
    arm = 0.2
    wall.rect(x0 + arm - 0.05, seat_y, x1 - arm + 0.05, back_y, col * 0.85, r=0.06, grad=0.25, tex=0.05)
    n_cush = 3
    cw = (x1 - x0 - 2 * arm) / n_cush
    for i in range(n_cush):  # back cushions
        wall.rect(x0 + arm + i * cw + 0.01, seat_y + 0.08, x0 + arm + (i + 1) * cw - 0.01, back_y - 0.02,
                  col * 0.95, r=0.07, grad=0.3, tex=0.05, shadow=0.2)
    wall.rect(x0 + arm - 0.02, 0.12, x1 - arm + 0.02, seat_y + 0.02, col * 0.8, r=0.03, grad=0.2, tex=0.05)
    for i in range(n_cush):  # seat cushion fronts
        wall.rect(x0 + arm + i * cw + 0.005, seat_y - 0.12, x0 + arm + (i + 1) * cw - 0.005, seat_y + 0.06,
                  col, r=0.05, grad=0.35, tex=0.05, shadow=0.15)
    for ax in (x0, x1 - arm):
        wall.rect(ax, 0.12, ax + arm, 0.66, col * 0.92, r=0.07, grad=0.3, tex=0.05, shadow=0.25)


def cabinet(wall: Wall, x0: float, x1: float, y1: float, body: str, doors: int, drawers: int,
            handle: str, plinth: float = 0.1, legs: bool = False) -> None:
    """A cabinet / sideboard: plinth or legs, doors with handles, a row of drawers on top."""
    wall.drop_shadow(wall.mask_rect(x0, plinth, x1, y1), 0.35, 0.08)
    if legs:
        for lx in (x0 + 0.05, x1 - 0.09):
            wall.rect(lx, 0, lx + 0.04, plinth, "#2b2b2b", grad=0.2)
        wall.img *= (1 - 0.35 * blur(wall.mask_rect(x0, 0, x1, plinth), 8))[..., None]
    else:
        wall.rect(x0 + 0.03, 0, x1 - 0.03, plinth, hex2rgb(body) * 0.45, grad=0.1)
    wall.rect(x0, plinth, x1, y1, body, bevel=0.01, grad=0.1, tex=0.015)
    dh = 0.16 if drawers else 0.0
    dw = (x1 - x0 - 0.02) / max(doors, 1)
    for i in range(doors):
        a = x0 + 0.01 + i * dw
        wall.rect(a + 0.005, plinth + 0.015, a + dw - 0.005, y1 - dh - 0.01, body, bevel=0.008,
                  grad=0.12, tex=0.015)
        hx = a + dw - 0.05 if i % 2 == 0 else a + 0.04
        wall.rect(hx, y1 - dh - 0.22, hx + 0.015, y1 - dh - 0.08, handle, r=0.006, grad=0.4, tex=0)
    if drawers:
        ww = (x1 - x0 - 0.02) / drawers
        for i in range(drawers):
            a = x0 + 0.01 + i * ww
            wall.rect(a + 0.005, y1 - dh, a + ww - 0.005, y1 - 0.01, body, bevel=0.008, grad=0.12,
                      tex=0.015)
            wall.rect(a + ww / 2 - 0.06, y1 - dh / 2 - 0.008, a + ww / 2 + 0.06, y1 - dh / 2 + 0.008,
                      handle, r=0.006, grad=0.4, tex=0)


def door(wall: Wall, x0: float, colour: str, frame: str, handle: str, panels: bool = True) -> None:
    """An interior door with architrave, raised panels and a lever handle."""
    w, h = 0.85, 2.05
    wall.rect(x0 - 0.07, 0, x0 + w + 0.07, h + 0.07, frame, bevel=0.015, shadow=0.2)
    wall.rect(x0, 0.0, x0 + w, h, colour, grad=0.06, tex=0.015)
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
    plant(w, 4.1, "#b66a3c")
    return w.finish()


def backdrop_hallway(name: str) -> np.ndarray:
    w = Wall(name, "#c9d3d6", "#ffffff", light_x=0.35)
    door(w, 0.55, "#f5f4f0", "#ffffff", "#b9bcc0")
    cabinet(w, 1.9, 3.1, 0.95, "#8a6a4a", doors=2, drawers=2, handle="#2b2b2b", plinth=0.12,
            legs=True)
    door(w, 3.45, "#7b5a3c", "#ffffff", "#c9a15a")
    picture(w, 2.15, 1.35, 2.85, 1.9, "#e8e4dc", ("#cfe3ef", "#6f9a7a", "#3f5f4a"))
    w.rect(1.95, 2.05, 3.05, 2.09, "#6b5038", grad=0.2, tex=0.02, shadow=0.3)  # coat rack
    for k in range(5):
        w.rect(2.05 + k * 0.22, 1.96, 2.075 + k * 0.22, 2.05, "#2b2b2b", r=0.008, grad=0.3, tex=0)
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
    for i in range(4):  # wall units above
        w.rect(0.02 + i * 0.82, 1.62, 0.82 + i * 0.82, 2.32, "#eef0ed", bevel=0.008, grad=0.1,
               tex=0.01, shadow=0.35)
        w.rect(0.4 + i * 0.82, 1.66, 0.44 + i * 0.82, 1.675, "#c8c8c8", r=0.005, grad=0.4, tex=0)
    # a tall fridge at the end
    w.rect(3.45, 0.02, 4.15, 1.95, "#d7dadd", r=0.03, bevel=0.01, grad=0.12, tex=0.005, shadow=0.4)
    w.rect(3.45, 1.15, 4.15, 1.17, "#a4a8ad", grad=0.0, tex=0.0)
    w.rect(3.52, 0.6, 3.545, 1.05, "#8d9196", r=0.01, grad=0.4, tex=0)
    w.rect(3.52, 1.25, 3.545, 1.6, "#8d9196", r=0.01, grad=0.4, tex=0)
    w.img *= (1 - 0.5 * blur(w.mask_rect(3.45, 0, 4.15, 0.03), 6))[..., None]
    return w.finish()


def backdrop_bedroom(name: str) -> np.ndarray:
    """Held-out backdrop: a dark green bedroom with a bed, duvet and nightstand."""
    w = Wall(name, "#47614f", "#e9e6df", light_x=0.15)
    # bed: wooden frame, mattress side, duvet hanging down with folds
    w.rect(0.6, 0.0, 2.8, 0.3, "#6e4f36", grad=0.2, tex=0.03, shadow=0.5)
    w.img *= (1 - 0.5 * blur(w.mask_rect(0.65, 0.0, 2.75, 0.1), 8))[..., None]
    w.rect(0.62, 0.3, 2.78, 0.55, "#f0efe8", r=0.03, grad=0.2, tex=0.01)
    m = w.mask_rect(0.55, 0.18, 2.85, 0.62, 0.04)
    folds = 0.5 + 0.5 * np.sin(w.xx / (0.11 * BD_PPM * w.k) * np.pi + 0.6 * w.grain)
    w.drop_shadow(m, 0.35)
    w.img = mix(w.img, hex2rgb("#d9b89a")[None, None] * (0.8 + 0.25 * folds)[..., None], m)
    w.rect(0.55, 0.62, 2.85, 1.1, "#6e4f36", r=0.02, bevel=0.02, grad=0.2, tex=0.03)  # headboard
    cabinet(w, 3.1, 3.6, 0.58, "#e6e2da", doors=0, drawers=1, handle="#9a8a6a", plinth=0.1, legs=True)
    w.rect(3.27, 0.58, 3.43, 0.62, "#888888", grad=0.3, tex=0)  # lamp base
    w.rect(3.34, 0.62, 3.36, 0.92, "#888888", grad=0.1, tex=0)
    lm = w.mask_rect(3.18, 0.9, 3.52, 1.15, 0.02)
    w.img = mix(w.img, np.minimum(w.img * 0 + hex2rgb("#fff1cf") * 1.0, 1), lm)
    w.img = np.minimum(w.img * (1 + 0.3 * soft_blur(lm, 60))[..., None], 1)
    return w.finish()


# ----------------------------------------------------------------------------- the pack
@dataclass(frozen=True)
class Variant:
    """One subject layer: its PSD layer name, how to draw it, and whether it is hidden."""
    layer: str
    draw: Callable[[], np.ndarray]
    hidden: bool = False


def _path(seed: str, n: int, step: float, turn: float) -> np.ndarray:
    return random_path(rng_for(seed), n, step, turn)


def _coil_path() -> np.ndarray:
    th = np.linspace(0, 2.6 * 2 * np.pi, 200)
    rr = 60 + 8 * np.sin(th * 1.3)
    return np.stack([rr * np.cos(th) + th * 8, rr * 0.8 * np.sin(th)], 1)


V = Variant
SUBJECTS: dict[str, list[Variant]] = {
    "shoe": [
        V("shoe_runner", lambda: shoe_top("shoe_runner", 290, 105, "#2f5fa8", "#eeeeea", "#9a9a9a",
                                          "#f4f4f4", "mesh", accent="#d8f03a", opening=(0.78, 0.25, 0.14))),
        V("shoe_derby", lambda: shoe_top("shoe_derby", 300, 112, "#6e4022", "#2c2420", "#c9a77c",
                                         "#c79a5a", "leather", opening=(0.77, 0.27, 0.15), rim=4,
                                         gloss=0.3)),
        V("shoe_canvas", lambda: shoe_top("shoe_canvas", 280, 100, "#c8302c", "#f0efe8", "#e8e2d4",
                                          "#f8f8f8", "canvas", toe_cap="#f2f1ea",
                                          opening=(0.78, 0.26, 0.14))),
        V("shoe_slipper", lambda: shoe_top("shoe_slipper", 270, 108, "#7b2436", "#3a3230", "#efe6d6",
                                           None, "plush", opening=(0.66, 0.31, 0.27), rim=2.5,
                                           gloss=0.02, sole_height=3)),
        V("shoe_pump", lambda: shoe_top("shoe_pump", 250, 85, "#141416", "#2a2224", "#c7a58a", None,
                                        "patent", opening=(0.63, 0.36, 0.33), pointy=0.55, gloss=0.9,
                                        rim=1.5, sole_height=2)),
        V("shoe_side [upright]", lambda: shoe_side("shoe_side", 300, "#3a3f47", "#f2f2ee", "#2a2a2a",
                                                   "#eeeeee", "#e05a2a", "#1e2126")),
        V("shoe_draft", lambda: shoe_top("shoe_draft", 260, 95, "#b0b0b0", "#d0d0d0", "#909090", None,
                                         "patent", gloss=0.0), hidden=True),
    ],
    "sock": [
        V("sock_sport", lambda: sock("sock_sport", 140, 150, 62, "#f1f0ea", "#b9bcc2", 45,
                                     "cuffstripes", ("#1f3b73", "#c23b2c"))),
        V("sock_stripes", lambda: sock("sock_stripes", 160, 140, 58, "#e84a3c", None, 30, "stripes",
                                       ("#e84a3c", "#f6b63a", "#3a9a5b", "#2f6fb5", "#7a3f98"))),
        V("sock_dots", lambda: sock("sock_dots", 70, 150, 60, "#e889a8", "#ffffff", 20, "dots",
                                    ("#ffffff",), bend=105)),
        V("sock_dress", lambda: sock("sock_dress", 200, 150, 52, "#26272b", None, 35, "plain",
                                     knit_px=1.6, fuzz=0.03, bend=125)),
        V("sock_wool", lambda: sock("sock_wool", 150, 160, 70, "#cfc6b4", "#b3262b", 40, "plain",
                                    knit_px=3.2, fuzz=0.12, bend=110)),
    ],
    "cable": [
        V("cable_usb", lambda: cable("cable_usb", "#f2f2f0", 2.2, _path("cable_usb_path", 60, 6, 0.25),
                                     "usb", "#f4f4f2", other_end="usbc", plug_scale=7)),
        V("cable_power", lambda: cable("cable_power", "#1d1d1f", 3.2,
                                       _path("cable_power_path", 70, 6, 0.35), "euro", "#222224")),
        V("cable_extension", lambda: cable("cable_extension", "#f07a1a", 3.4, _coil_path(), "power",
                                           "#202020")),
        V("cable_ethernet", lambda: cable("cable_ethernet", "#2a6fd0", 2.6,
                                          _path("cable_ethernet_path", 60, 6, 0.3), "rj45", "#2a6fd0",
                                          other_end="rj45")),
    ],
    "poop": [
        V("poop_coil", lambda: poop("poop_coil", "coil", "#4a301c", 250)),
        V("poop_logs", lambda: poop("poop_logs", "logs", "#5b3b20", 280)),
        V("poop_pile", lambda: poop("poop_pile", "pile", "#634427", 250)),
        V("poop_pellets", lambda: poop("poop_pellets", "pellets", "#3e2a18", 240)),
    ],
    "bowl": [
        V("bowl_steel", lambda: bowl("bowl_steel", 110, "steel", "#c7ccd2")),
        V("bowl_red_kibble", lambda: bowl("bowl_red_kibble", 100, "plastic", "#c62f2f", "kibble",
                                          food="#7a4b22")),
        V("bowl_ceramic_water", lambda: bowl("bowl_ceramic_water", 95, "ceramic", "#3b6fb0", "water",
                                             pattern="paws")),
        V("bowl_double", lambda: bowl_pair("bowl_double", "#8d949b", "#c7ccd2")),
    ],
    "rag": [
        V("rag_microfiber", lambda: rag("rag_microfiber", 250, "#3d7fd0", "plain")),
        V("rag_checked", lambda: rag("rag_checked", 270, "#c8322f", "gingham")),
        V("rag_terry", lambda: rag("rag_terry", 260, "#f0c63c", "terry", second="#ffffff", hem=False)),
        V("rag_old", lambda: rag("rag_old", 240, "#9c9a92", "plain", hem=False, fray=True, stains=True)),
    ],
    "scale": [
        V("scale_glass", lambda: scale("scale_glass", 270, 270, "glass")),
        V("scale_white", lambda: scale("scale_white", 260, 280, "white")),
        V("scale_dial", lambda: scale("scale_dial", 250, 300, "dial")),
        V("scale_bamboo", lambda: scale("scale_bamboo", 280, 260, "wood")),
    ],
    "fan": [
        V("fan_pedestal", lambda: fan_pedestal("fan_pedestal", 320, 78, "#ecebe7", "#a9cde8", 5)),
        V("fan_pedestal_black", lambda: fan_pedestal("fan_pedestal_black", 310, 80, "#1c1d20", "#2a2c30",
                                                     3, squash=0.8, base="cross", blade_alpha=0.9)),
        V("fan_box", lambda: fan_box("fan_box", 250, "#d9dadc", "#f4f4f4")),
        V("fan_tower", lambda: fan_tower("fan_tower", 320, 64, "#2b2d31", "#16171a", "#52d1ff")),
        V("fan_floor", lambda: fan_floor("fan_floor", 95, "#2f6db5", "#dfe8f0")),
    ],
}

DISTRACTORS: dict[str, list[Variant]] = {
    "leaf": [
        V("leaf_maple", lambda: leaf("leaf_maple", 140, "#d0661f", "maple", "#f0b060")),
        V("leaf_green", lambda: leaf("leaf_green", 130, "#5f8f2f", "ellipse", "#b8d080")),
        V("leaf_dry", lambda: leaf("leaf_dry", 110, "#7a5530", "ellipse", "#a88050")),
    ],
    "paper": [
        V("paper_ball", lambda: paper("paper_ball", "ball")),
        V("paper_note", lambda: paper("paper_note", "note")),
        V("paper_receipt", lambda: paper("paper_receipt", "receipt")),
    ],
    "toy": [
        V("toy_brick", lambda: toy("toy_brick", "brick", "#d52b1e")),
        V("toy_ball", lambda: toy("toy_ball", "ball", "#f2c21b")),
        V("toy_car", lambda: toy("toy_car", "car", "#1f8a4c")),
    ],
}

HELDOUT: dict[str, list[Variant]] = {
    "shoe": [
        V("shoe_loafer", lambda: shoe_top("shoe_loafer", 285, 104, "#5a1f1c", "#3b2b22", "#d8c2a0", None,
                                          "leather", opening=(0.7, 0.29, 0.2), gloss=0.45)),
        V("shoe_hightop", lambda: shoe_top("shoe_hightop", 290, 106, "#1b1c20", "#f3f2ea", "#4a4a4a",
                                           "#f6f6f6", "canvas", toe_cap="#f3f2ea",
                                           opening=(0.8, 0.3, 0.13))),
    ],
    "sock": [
        V("sock_argyle", lambda: sock("sock_argyle", 170, 150, 60, "#4d6b3a", "#3a2a1e", 35, "argyle",
                                      ("#8a5a32", "#e8d9b0"))),
        V("sock_ankle", lambda: sock("sock_ankle", 50, 150, 58, "#1d2c52", None, 18, "plain", bend=100)),
    ],
    "cable": [
        V("cable_hdmi", lambda: cable("cable_hdmi", "#0f0f11", 3.6, _path("cable_hdmi_path", 55, 7, 0.3),
                                      "usb", "#1a1a1c", other_end="usb", plug_scale=5.0, gloss=0.2)),
        V("cable_extension_red", lambda: cable("cable_extension_red", "#b3201c", 3.4,
                                               _path("cable_ext_red_path", 80, 6, 0.4), "euro",
                                               "#e8e8e8")),
    ],
    "poop": [
        V("poop_coil_light", lambda: poop("poop_coil_light", "coil", "#7a5532", 220, gloss=0.15)),
        V("poop_logs_dark", lambda: poop("poop_logs_dark", "logs", "#2f2014", 260, gloss=0.5)),
    ],
    "bowl": [
        V("bowl_white_kibble", lambda: bowl("bowl_white_kibble", 90, "ceramic", "#f2f0ea", "kibble",
                                            food="#5a3a1a", pattern="band")),
        V("bowl_steel_water", lambda: bowl("bowl_steel_water", 120, "steel", "#b9c0c8", "water")),
    ],
    "rag": [
        V("rag_denim", lambda: rag("rag_denim", 260, "#2f4f7f", "denim", second="#9fb3cf", hem=False,
                                   fray=True)),
        V("rag_striped", lambda: rag("rag_striped", 250, "#f4f4ee", "stripes", second="#2f8f4f")),
    ],
    "scale": [
        V("scale_round", lambda: scale("scale_round", 280, 280, "round", reading="64.8")),
        V("scale_glass_blue", lambda: scale("scale_glass_blue", 290, 270, "glass", tint="#5d7d9a",
                                            reading="81.2")),
    ],
    "fan": [
        V("fan_pedestal_grey", lambda: fan_pedestal("fan_pedestal_grey", 300, 74, "#8d9298", "#d8dde2",
                                                    4, squash=0.68, base="cross")),
        V("fan_floor_green", lambda: fan_floor("fan_floor_green", 100, "#3f8f5a", "#f0f0ea", tilt=0.7)),
    ],
}

FLOORS: dict[str, tuple[float, Callable[[], np.ndarray]]] = {  # file -> (metres across, draw)
    "wood_planks.jpg": (2.0, lambda: planks("wood_planks", 93, "#b07a45", "#6b4423", 11.0, 1.5, 0.07,
                                            "#2e2016", 1.5, (0.35, 0.7), knots=4)),
    "laminate.jpg": (1.9, lambda: planks("laminate", 102, "#c9b8a0", "#9c8b76", 7.0, 0.8, 0.03,
                                         "#5a5045", 1.0, (0.4, 0.6), repeat_grain=True)),
    "tiles.jpg": (1.2, lambda: tiles("tiles", 4, "#d8d0c2", "#b9b3aa", 6, 0.05, 0.1, 0.03)),
    "carpet.jpg": (1.0, lambda: carpet("carpet", "#9a9184", "#6d665c")),
    "marble.jpg": (1.2, lambda: marble("marble", "#eeece8", "#7d7f84", 2)),
    "concrete.jpg": (2.0, lambda: concrete("concrete", "#9a9893")),
    "walnut_planks.jpg": (2.4, lambda: planks("walnut_planks", 128, "#6a4530", "#2e1c12", 14.0, 1.2,
                                              0.08, "#1a110b", 1.5, (0.45, 0.8), knots=2)),
    "slate_tiles.jpg": (1.2, lambda: tiles("slate_tiles", 2, "#4d5257", "#2f3134", 5, 0.12, 0.15, 0.06)),
}
HELDOUT_FLOORS = {
    "parquet.jpg": (2.5, lambda: parquet("parquet", "#c08a50", "#70451f")),
    "checker_vinyl.jpg": (2.4, lambda: tiles("checker_vinyl", 8, "#ece9e2", "#9a9a9a", 2, 0.03, 0.05,
                                             0.02, second="#24272b")),
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
# size_m:     physical length of the cut-out's LONGER image side, metres [min, max]
# pose:       flat = lies on the floor, drawn from above; upright = stands, drawn from the side.
#             A "[upright]" or "[flat]" tag in a layer name overrides this for that subject
#             (shoe.psd has one: "shoe_side [upright]").
# yaw_deg:    rotation about the vertical axis [min, max]; free for flat classes,
#             bounded for upright ones (a side view only holds for a near-side camera)
# roll_deg:   tilt in the image plane [min, max]; small for upright, 0 for flat classes
# distractor: true = pasted unlabelled (things the detector must learn to ignore)
classes:
  shoe:  {size_m: [0.22, 0.32], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0]}
  sock:  {size_m: [0.18, 0.34], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0]}
  cable: {size_m: [0.30, 0.80], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0]}
  poop:  {size_m: [0.05, 0.18], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0]}
  bowl:  {size_m: [0.14, 0.36], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0]}
  rag:   {size_m: [0.20, 0.45], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0]}
  scale: {size_m: [0.26, 0.36], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0]}
  fan:   {size_m: [0.35, 1.30], pose: upright, yaw_deg: [-35, 35],   roll_deg: [-3, 3]}
  leaf:  {size_m: [0.05, 0.15], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0], distractor: true}
  paper: {size_m: [0.06, 0.25], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0], distractor: true}
  toy:   {size_m: [0.05, 0.20], pose: flat,    yaw_deg: [-180, 180], roll_deg: [0, 0], distractor: true}
"""


def psd_bytes(groups: dict[str, list[tuple[Variant, np.ndarray]]]) -> bytes:
    """A layered RGBA PSD: one top-level group per class, one pixel layer per variant.

    Layers are laid out on shelves so the document's composite reads as a contact sheet.
    """
    from psd_tools import PSDImage
    from psd_tools.constants import Compression

    gap, max_w = 16, 1400
    places, x, y, shelf_h, width = [], gap, gap, 0, 0
    for cls, items in groups.items():
        for v, rgba in items:
            h, w = rgba.shape[:2]
            if x + w + gap > max_w and x > gap:
                x, y, shelf_h = gap, y + shelf_h + gap, 0
            places.append((x, y))
            x += w + gap
            shelf_h = max(shelf_h, h)
            width = max(width, x)
    height = y + shelf_h + gap
    # transparent document; its stored composite (what file browsers show) is over white
    psd = PSDImage.new("RGBA", (width, height), color=(255, 255, 255, 0), compression=Compression.RLE)
    k = 0
    for cls, items in groups.items():
        group = psd.create_group(name=cls)
        for v, rgba in items:
            left, top = places[k]
            k += 1
            layer = group.create_pixel_layer(Image.fromarray(rgba, "RGBA"), name=v.layer, top=top,
                                             left=left, compression=Compression.ZIP)
            layer.visible = not v.hidden
    buf = io.BytesIO()
    psd.save(buf)
    return buf.getvalue()


def scale_yaml(floors: dict) -> str:
    lines = ["# Metres of floor covered by each texture's width (the renderer scales by this).",
             "# Generated by assets/make_assets.py."]
    lines += [f"{name}: {metres}" for name, (metres, _) in sorted(floors.items())]
    return "\n".join(lines) + "\n"


def build_items() -> dict[str, Callable[[], bytes]]:
    """Every generated file (path relative to assets/) and a function making its bytes."""
    items: dict[str, Callable[[], bytes]] = {}

    def subject_psd(groups: dict[str, list[Variant]]) -> Callable[[], bytes]:
        return lambda: psd_bytes({cls: [(v, v.draw()) for v in vs] for cls, vs in groups.items()})

    for cls, vs in SUBJECTS.items():
        items[f"subjects/{cls}.psd"] = subject_psd({cls: vs})
    items["subjects/distractors.psd"] = subject_psd(DISTRACTORS)
    for cls, vs in HELDOUT.items():
        items[f"heldout/subjects/{cls}.psd"] = subject_psd({cls: vs})
    for folder, floors in (("floors", FLOORS), ("heldout/floors", HELDOUT_FLOORS)):
        for fname, (_, draw) in floors.items():
            items[f"{folder}/{fname}"] = (lambda d=draw: floor_jpeg(d()))
        items[f"{folder}/scale.yaml"] = (lambda f=floors: scale_yaml(f).encode())
    for folder, bds in (("backdrops", BACKDROPS), ("heldout/backdrops", HELDOUT_BACKDROPS)):
        for fname, draw in bds.items():
            items[f"{folder}/{fname}"] = (lambda d=draw: floor_jpeg(d()))
    items["classes.yaml"] = lambda: CATALOG.encode()
    return items


MANAGED_DIRS = ("subjects", "floors", "backdrops", "heldout")


def contact_sheet(root: Path, out: Path) -> None:
    """Draw every subject layer, floor and backdrop of the pack into one PNG."""
    from psd_tools import PSDImage

    tiles_: list[tuple[str, np.ndarray]] = []
    for psd_path in sorted(root.glob("**/subjects/*.psd")):
        for layer in PSDImage.open(psd_path).descendants():
            if layer.kind == "pixel":
                rgba = np.asarray(layer.topil().convert("RGBA"))
                tag = "" if layer.visible else " (hidden)"
                tiles_.append((f"{psd_path.relative_to(root)}:{layer.name}{tag}", rgba))
    for img_path in sorted(root.glob("**/floors/*.jpg")) + sorted(root.glob("**/backdrops/*.jpg")):
        tiles_.append((str(img_path.relative_to(root)), np.asarray(Image.open(img_path).convert("RGB"))))
    cell, cols = 240, 8
    rows = (len(tiles_) + cols - 1) // cols
    sheet = np.full((rows * cell, cols * cell, 3), 150, np.uint8)
    sheet[..., 1] = 142
    sheet[..., 2] = 132
    for i, (label, im) in enumerate(tiles_):
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
        cv2.putText(sheet, label[:34], (c * cell + 4, r * cell + cell - 6), cv2.FONT_HERSHEY_SIMPLEX,
                    0.36, (0, 0, 0), 1, cv2.LINE_AA)
    Image.fromarray(sheet).save(out)


@click.command(context_settings={"help_option_names": ["-h", "--help"]},
               epilog="Example: python assets/make_assets.py --sheet /tmp/asset_sheet.png")
@click.option("--out", type=click.Path(path_type=Path), default=ROOT, show_default="assets/",
              help="Pack root to write.")
@click.option("--only", default=None, help="Only the paths containing this text (e.g. floors/).")
@click.option("--sheet", type=click.Path(path_type=Path), default=None,
              help="Also draw a contact sheet of the whole pack into this PNG.")
def main(out: Path, only: str | None, sheet: Path | None) -> None:
    """Regenerate the embedded demo asset pack, byte-for-byte reproducibly."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    items = build_items()
    t0 = time.perf_counter()
    for rel, make in items.items():
        if only and only not in rel:
            continue
        t = time.perf_counter()
        data = make()
        write_bytes(out / rel, data)
        log.info("%-34s %8.1f KB  %5.1f s", rel, len(data) / 1024, time.perf_counter() - t)
    if not only:  # drop generated files that are no longer part of the pack
        for d in MANAGED_DIRS:
            for p in sorted((out / d).glob("**/*")):
                if p.is_file() and p.relative_to(out).as_posix() not in items:
                    log.info("removing stale %s", p.relative_to(out))
                    p.unlink()
    log.info("done in %.1f s", time.perf_counter() - t0)
    if sheet:
        contact_sheet(out, sheet)
        log.info("contact sheet: %s", sheet)


if __name__ == "__main__":
    main()
