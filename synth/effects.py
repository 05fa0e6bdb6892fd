"""Camera effects (sensor noise, blur, motion blur, exposure, compression) via albumentations."""
from __future__ import annotations

import albumentations as A
import numpy as np


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
