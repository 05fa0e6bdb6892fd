"""Camera effects (sensor noise, blur, motion blur, exposure, compression) via albumentations."""
from __future__ import annotations

import os
import sys

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
