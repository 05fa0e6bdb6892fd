"""Camera effects: a parametric camera (blur or sharpening, motion blur, resolution loss,
tone, sensor noise, JPEG quality), the default one and the one --match-stats fits.

One implementation for both (synth/match.py fits the ranges to a folder of real frames);
plain OpenCV, so synth starts fast and never pulls in torch through a transform library.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np


# Each effect's value is drawn per image, uniformly from its [lo, hi] range, from the image's
# own seed. Applied in this order: resolution loss, blur or sharpening, motion blur, tone
# (colour gains, contrast, gamma), sensor noise; the file is then written at the drawn JPEG
# quality.
LUMA = np.array([0.299, 0.587, 0.114])
CAMERA_STREAM = 7411  # keeps the camera's draws apart from the composite's


@dataclass(frozen=True)
class CameraEffects:
    """Ranges of the fitted camera's effects (each drawn uniformly per image)."""

    sharpen: tuple[float, float] = (0.0, 0.0)     # < 0: Gaussian blur sigma (px); > 0: unsharp amount
    downscale: tuple[float, float] = (1.0, 1.0)   # resolution loss: shrink by this, scale back
    noise_std: tuple[float, float] = (0.0, 0.0)   # sensor noise std per channel (0-255)
    gamma: tuple[float, float] = (1.0, 1.0)       # exponent of the tone curve (> 1 darkens)
    contrast: tuple[float, float] = (1.0, 1.0)    # gain about the image's grey mean
    gain_r: tuple[float, float] = (1.0, 1.0)      # colour balance
    gain_g: tuple[float, float] = (1.0, 1.0)
    gain_b: tuple[float, float] = (1.0, 1.0)
    jpeg_quality: tuple[int, int] = (95, 95)      # the written file's JPEG quality
    motion_px: tuple[float, float] = (0.0, 0.0)   # motion blur length (px), random direction


# The default camera when none is fitted: mild blur-to-sharpening, a little motion blur
# (a driving robot), exposure/colour variation, per-pixel sensor noise of 0.5-2.5 grey
# levels and JPEG 85-95. Measured against ../shared/realdev (helper measurements in the
# README): real photos are far sharper and noisier than the demo pack, which --match-stats
# fits; these defaults only keep the synthetic images from being pristine.
DEFAULT_CAMERA = CameraEffects(sharpen=(-0.7, 0.35), noise_std=(0.5, 2.5),
                               gamma=(0.88, 1.12), contrast=(0.88, 1.15), gain_r=(0.96, 1.04),
                               gain_g=(0.97, 1.03), gain_b=(0.96, 1.04), jpeg_quality=(85, 95),
                               motion_px=(0.0, 2.5))


@dataclass(frozen=True)
class CameraDraw:
    """One image's values of the camera effects."""

    sharpen: float
    downscale: float
    noise_std: float
    gamma: float
    contrast: float
    gains: tuple[float, float, float]
    jpeg_quality: int
    motion_px: float = 0.0
    motion_deg: float = 0.0


def draw_camera(fx: CameraEffects, rng: np.random.Generator) -> CameraDraw:
    """Draw one image's values from the ranges."""
    u = rng.random(11)

    def at(r: tuple[float, float], k: int) -> float:
        return float(r[0] + u[k] * (r[1] - r[0]))

    return CameraDraw(sharpen=at(fx.sharpen, 0), downscale=at(fx.downscale, 1),
                      noise_std=at(fx.noise_std, 2), gamma=at(fx.gamma, 3),
                      contrast=at(fx.contrast, 4),
                      gains=(at(fx.gain_r, 5), at(fx.gain_g, 6), at(fx.gain_b, 7)),
                      jpeg_quality=int(round(at(fx.jpeg_quality, 8))),
                      motion_px=at(fx.motion_px, 9), motion_deg=180.0 * float(u[10]))


def resolution_loss(rgb: np.ndarray, factor: float) -> np.ndarray:
    """Shrink by `factor` (area average) and scale back up (bilinear)."""
    if factor <= 1.001:
        return rgb
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (max(1, round(w / factor)), max(1, round(h / factor))),
                       interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def blur_or_sharpen(rgb: np.ndarray, amount: float) -> np.ndarray:
    """Gaussian blur of sigma -amount (amount < 0) or an unsharp mask of `amount` (sigma 1)."""
    if abs(amount) < 1e-3:
        return rgb
    if amount < 0:
        return cv2.GaussianBlur(rgb, (0, 0), -amount)
    soft = cv2.GaussianBlur(rgb, (0, 0), 1.0)
    return cv2.addWeighted(rgb, 1.0 + amount, soft, -amount, 0.0)


def motion_blur(rgb: np.ndarray, length_px: float, angle_deg: float) -> np.ndarray:
    """Blur along a line of `length_px` at `angle_deg` (an anti-aliased line kernel)."""
    if length_px < 1.0:
        return rgb
    n = int(np.ceil(length_px)) | 1
    kernel = np.zeros((n, n), np.float32)
    c = (n - 1) / 2.0
    dx, dy = np.cos(np.radians(angle_deg)) * length_px / 2, np.sin(np.radians(angle_deg)) * length_px / 2
    cv2.line(kernel, (round((c - dx) * 16), round((c - dy) * 16)),
             (round((c + dx) * 16), round((c + dy) * 16)), 1.0, 1, cv2.LINE_AA, shift=4)
    kernel /= max(kernel.sum(), 1e-6)
    return cv2.filter2D(rgb, -1, kernel, borderType=cv2.BORDER_REFLECT)


def tone_lut(rgb: np.ndarray, gains: tuple[float, float, float], contrast: float,
             gamma: float) -> np.ndarray | None:
    """The (256, 1, 3) table of `tone` for this image; None when it changes nothing."""
    g = np.asarray(gains, np.float64)
    if np.all(g == 1.0) and contrast == 1.0 and gamma == 1.0:
        return None
    mean = float(np.asarray(cv2.mean(rgb)[:3]) @ (LUMA * g))
    y = np.arange(256, dtype=np.float64)[:, None] * g[None, :]
    y = np.clip(mean + contrast * (y - mean), 0.0, 255.0)
    y = 255.0 * (y / 255.0) ** gamma
    return np.clip(np.rint(y), 0, 255).astype(np.uint8).reshape(256, 1, 3)


def tone(rgb: np.ndarray, gains: tuple[float, float, float], contrast: float,
         gamma: float) -> np.ndarray:
    """Per-channel gains, then contrast about the grey mean, then gamma (one LUT per channel)."""
    lut = tone_lut(rgb, gains, contrast, gamma)
    return rgb if lut is None else cv2.LUT(rgb, lut)


def sensor_noise(rgb: np.ndarray, std: float, unit: np.ndarray) -> np.ndarray:
    """Add `std` times a unit normal field (float32, at least the image's shape)."""
    if std <= 0:
        return rgb
    h, w = rgb.shape[:2]
    return cv2.add(rgb, unit[:h, :w] * np.float32(std), dtype=cv2.CV_8U)


NOISE_TILE = 1024  # side of the unit-noise field each image's noise is cut from
FLIP_CODE = {(1, 0): 0, (0, 1): 1, (1, 1): -1}  # (flip rows, flip columns) -> cv2.flip's code


@lru_cache(maxsize=1)
def unit_noise() -> np.ndarray:
    """A fixed field of unit normal noise (one draw per pixel is the costliest effect), one
    plane per channel: (3, NOISE_TILE, NOISE_TILE)."""
    field = np.random.default_rng(CAMERA_STREAM).standard_normal(
        (NOISE_TILE, NOISE_TILE, 3), dtype=np.float32)
    return np.ascontiguousarray(field.transpose(2, 0, 1))


def field_noise(rgb: np.ndarray, std: float, rng: np.random.Generator,
                lut: np.ndarray | None = None) -> np.ndarray:
    """Add `std` times unit normal noise: a window of the fixed field at a drawn offset,
    flipped and channel-permuted by the draw (fresh noise where the image is larger); with a
    tone `lut`, the image goes through it first.

    The same sums as sensor_noise of the flipped, permuted window, worked out per channel on
    the flipped image so that every pass over the field runs along its rows.
    """
    h, w = rgb.shape[:2]
    if h > NOISE_TILE or w > NOISE_TILE:
        toned = rgb if lut is None else cv2.LUT(rgb, lut)
        return sensor_noise(toned, std, rng.standard_normal(rgb.shape, dtype=np.float32))
    y, x = int(rng.integers(NOISE_TILE - h + 1)), int(rng.integers(NOISE_TILE - w + 1))
    flips = rng.integers(2, size=2)
    order = rng.permutation(3)
    code = FLIP_CODE.get((int(flips[0]), int(flips[1])))
    field = unit_noise()
    s = np.float32(std)
    planes = []
    for c, plane in enumerate(cv2.split(rgb if code is None else cv2.flip(rgb, code))):
        if lut is not None:  # one channel's table on one plane is cheaper than cv2.LUT's 3
            plane = cv2.LUT(plane, np.ascontiguousarray(lut[:, 0, c]))
        q = np.multiply(field[order[c], y:y + h, x:x + w], s)
        # rounded half to even, as cv2.add of a float image into 8 bits does; summed and
        # saturated in int16 by numpy (cv2.add of uint8 and int16 is ~3x slower)
        n = np.rint(q, out=q).astype(np.int16)
        n += plane
        planes.append(np.clip(n, 0, 255, out=n).astype(np.uint8))
    out = cv2.merge(planes)
    return out if code is None else cv2.flip(out, code)


def apply_camera(fx: CameraEffects, rgb: np.ndarray, seed: int) -> tuple[np.ndarray, int]:
    """The camera's effects on one image, reproducibly for its seed; and its JPEG quality."""
    rng = np.random.default_rng([seed % (2 ** 63), CAMERA_STREAM])
    d = draw_camera(fx, rng)
    out = blur_or_sharpen(resolution_loss(rgb, d.downscale), d.sharpen)
    out = motion_blur(out, d.motion_px, d.motion_deg)
    lut = tone_lut(out, d.gains, d.contrast, d.gamma)
    if d.noise_std > 0:  # the tone, then the noise, on each plane
        out = field_noise(out, d.noise_std, rng, lut)
    elif lut is not None:
        out = cv2.LUT(out, lut)
    return out, d.jpeg_quality
