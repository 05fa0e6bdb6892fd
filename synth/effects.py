"""Camera effects: the default pipeline (albumentations) and a parametric, fittable camera."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import cv2
import numpy as np


def _import_albumentations():
    """Import albumentations without torch and without its network update check.

    albumentations imports torch whenever it is installed (only for ToTensorV2, which synth
    never uses): half a gigabyte per worker, and synth must run where torch is absent.
    """
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    if "albumentations" in sys.modules or "torch" in sys.modules:
        import albumentations
        return albumentations
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail
    try:
        import albumentations
    finally:
        del sys.modules["torch"]
    return albumentations


A = _import_albumentations()


def camera_effects() -> A.Compose:
    """The default pipeline of camera effects applied to each composed image."""
    return A.Compose([
        A.RandomBrightnessContrast(brightness_limit=0.15, contrast_limit=0.15, p=0.5),  # exposure
        A.RandomGamma(gamma_limit=(85, 115), p=0.3),
        A.OneOf([A.GaussianBlur(blur_limit=(3, 5)),
                 A.MotionBlur(blur_limit=(3, 9))], p=0.3),
        # Sensor noise is the costliest effect (a normal draw per pixel): drawn at half
        # resolution, and on a fifth of the images.
        A.GaussNoise(std_range=(0.01, 0.035), noise_scale_factor=0.5, p=0.2),
        A.ImageCompression(quality_range=(55, 95), p=0.2),
    ])


def apply_effects(pipeline: A.Compose, rgb: np.ndarray, seed: int) -> np.ndarray:
    """Apply camera effects to an RGB image, reproducibly for a given seed."""
    pipeline.set_random_seed(seed % (2 ** 32))
    return pipeline(image=rgb)["image"]


# --------------------------------------------------------------------------- fitted camera
# A parametric camera (synth/match.py fits it to a folder of real frames): each effect's value
# is drawn per image, uniformly from its [lo, hi] range, from the image's own seed. Applied in
# this order: resolution loss, blur or sharpening, tone (colour gains, contrast, gamma),
# sensor noise; the file is then written at the drawn JPEG quality.
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


def draw_camera(fx: CameraEffects, rng: np.random.Generator) -> CameraDraw:
    """Draw one image's values from the ranges."""
    u = rng.random(9)

    def at(r: tuple[float, float], k: int) -> float:
        return float(r[0] + u[k] * (r[1] - r[0]))

    return CameraDraw(sharpen=at(fx.sharpen, 0), downscale=at(fx.downscale, 1),
                      noise_std=at(fx.noise_std, 2), gamma=at(fx.gamma, 3),
                      contrast=at(fx.contrast, 4),
                      gains=(at(fx.gain_r, 5), at(fx.gain_g, 6), at(fx.gain_b, 7)),
                      jpeg_quality=int(round(at(fx.jpeg_quality, 8))))


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


def tone(rgb: np.ndarray, gains: tuple[float, float, float], contrast: float,
         gamma: float) -> np.ndarray:
    """Per-channel gains, then contrast about the grey mean, then gamma (one LUT per channel)."""
    g = np.asarray(gains, np.float64)
    if np.all(g == 1.0) and contrast == 1.0 and gamma == 1.0:
        return rgb
    mean = float(np.asarray(cv2.mean(rgb)[:3]) @ (LUMA * g))
    y = np.arange(256, dtype=np.float64)[:, None] * g[None, :]
    y = np.clip(mean + contrast * (y - mean), 0.0, 255.0)
    y = 255.0 * (y / 255.0) ** gamma
    lut = np.clip(np.rint(y), 0, 255).astype(np.uint8).reshape(256, 1, 3)
    return cv2.LUT(rgb, lut)


def sensor_noise(rgb: np.ndarray, std: float, unit: np.ndarray) -> np.ndarray:
    """Add `std` times a unit normal field (float32, at least the image's shape)."""
    if std <= 0:
        return rgb
    h, w = rgb.shape[:2]
    return cv2.add(rgb, unit[:h, :w] * np.float32(std), dtype=cv2.CV_8U)


def apply_camera(fx: CameraEffects, rgb: np.ndarray, seed: int) -> tuple[np.ndarray, int]:
    """The fitted camera's effects on one image, reproducibly for its seed; and its JPEG quality."""
    rng = np.random.default_rng([seed % (2 ** 63), CAMERA_STREAM])
    d = draw_camera(fx, rng)
    out = blur_or_sharpen(resolution_loss(rgb, d.downscale), d.sharpen)
    out = tone(out, d.gains, d.contrast, d.gamma)
    if d.noise_std > 0:
        out = sensor_noise(out, d.noise_std, rng.standard_normal(out.shape, dtype=np.float32))
    return out, d.jpeg_quality
