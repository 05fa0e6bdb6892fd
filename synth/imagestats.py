"""Image-level statistics of photos and renders: one implementation for synth and detector.

Every statistic is measured on the 8-bit grey image (OpenCV's RGB -> grey, rounded), as float:
  brightness  grey mean (0-255)
  contrast    grey standard deviation
  mean_r/g/b  channel means (0-255)
  sharpness   variance of the Laplacian of grey (OpenCV's 4-neighbour kernel)
  noise       noise level: Immerkaer's 3x3 residual of the unrounded grey, its mean absolute
              value outside the strongest edges (white noise of std s reads s; texture
              raises it a little, JPEG removes much of it)
  blockiness  mean gradient across the 8-px JPEG grid over the mean elsewhere (1: none)
  width/height  pixels
A folder is read recursively (hidden folders skipped); a VOC set's root reads as its
JPEGImages. Masks named NAME_mask.png / NAME_floor.png are not images of the folder.
"""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .cores import default_workers
from .errors import InputError
from .imageio import IMAGE_SUFFIXES, read_image

STATS = ("brightness", "contrast", "mean_r", "mean_g", "mean_b", "sharpness", "noise",
         "blockiness", "width", "height")
MASK_SUFFIXES = ("_mask", "_floor")
MAX_IMAGES = 400  # a folder with more is sampled evenly in name order
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_EDGE_SHARE = 0.10       # pixels with the strongest gradients, left out of the noise estimate
_MEAN_ABS_TO_STD = math.sqrt(math.pi / 2) / 6.0  # white noise: mean |residual| = 6 s sqrt(2/pi)


def grey(rgb: np.ndarray) -> np.ndarray:
    """The 8-bit grey image of an RGB uint8 array, as float32."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


def laplacian(grey_image: np.ndarray) -> np.ndarray:
    """The Laplacian (4-neighbour, float32) of a grey image."""
    return cv2.Laplacian(grey_image, cv2.CV_32F)


def sharpness(grey_image: np.ndarray) -> float:
    """Variance of the Laplacian of a grey image."""
    return float(laplacian(grey_image).var())


def noise_level(rgb: np.ndarray) -> float:
    """Noise std (grey levels): Immerkaer's mean |residual| of the unrounded grey, edges excluded.

    The residual of the 3x3 kernel (second differences) is mean-absolute averaged over the
    pixels outside the strongest 10% of gradients (Sobel), as Tai and Yang (2008) do; white
    noise of std s reads s. A mean, not a median: 8-bit and JPEG-smoothed images give
    residuals on a lattice, and a median then jumps in steps.
    """
    g = cv2.cvtColor(rgb.astype(np.float32), cv2.COLOR_RGB2GRAY)  # unrounded: 8-bit grey is a lattice
    if g.shape[0] < 3 or g.shape[1] < 3:
        return float("nan")
    r = cv2.filter2D(g, -1, _NOISE_KERNEL)[1:-1:2, 1:-1:2]  # every second pixel: as good, faster
    gx, gy = cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)
    edges = (np.abs(gx[1:-1:2, 1:-1:2]) + np.abs(gy[1:-1:2, 1:-1:2])).ravel()
    k = int((1 - _EDGE_SHARE) * (edges.size - 1))
    cut = np.partition(edges, k)[k]
    return float(_MEAN_ABS_TO_STD * np.abs(r).ravel()[edges <= cut].mean())


def blockiness(grey_image: np.ndarray, block: int = 8) -> float:
    """Mean gradient across the JPEG 8-px grid over the mean elsewhere (1: no blocking)."""
    h, w = grey_image.shape
    if h < 2 * block or w < 2 * block:
        return float("nan")
    g = grey_image
    ratios = []
    for d in (cv2.absdiff(g[:, 1:], g[:, :-1]), cv2.absdiff(g[1:, :], g[:-1, :]).T):
        on = d[:, block - 1::block]  # the step from a block's last column to the next's first
        s_on, s_all = float(on.sum(dtype=np.float64)), float(d.sum(dtype=np.float64))
        other = (s_all - s_on) / (d.size - on.size)
        ratios.append(s_on / on.size / other if other > 0 else 1.0)
    return float(np.mean(ratios))


def image_stats(rgb: np.ndarray, only: tuple[str, ...] = STATS) -> dict[str, float]:
    """The statistics of one RGB uint8 image (those named in `only`, and its size)."""
    g = grey(rgb)
    out: dict[str, float] = {}
    if "brightness" in only or "contrast" in only:
        mean, std = cv2.meanStdDev(g)
        out["brightness"], out["contrast"] = float(mean[0, 0]), float(std[0, 0])
    if {"mean_r", "mean_g", "mean_b"} & set(only):
        chan = cv2.mean(rgb)
        out["mean_r"], out["mean_g"], out["mean_b"] = (float(c) for c in chan[:3])
    if "sharpness" in only:
        out["sharpness"] = sharpness(g)
    if "noise" in only:
        out["noise"] = noise_level(rgb)
    if "blockiness" in only:
        out["blockiness"] = blockiness(g)
    out["width"], out["height"] = float(rgb.shape[1]), float(rgb.shape[0])
    return out


@dataclass
class FolderStats:
    """Per-image statistics of a folder: one array per statistic, aligned with `paths`."""

    root: Path
    paths: list[Path]
    values: dict[str, np.ndarray]
    total: int  # images in the folder (more than len(paths) when sampled)

    def median(self, name: str) -> float:
        """Median of one statistic over the images (NaNs ignored)."""
        return float(np.nanmedian(self.values[name]))

    def summary(self) -> dict[str, dict[str, float]]:
        """Median, 25th and 75th percentile of every statistic."""
        out = {}
        for k in STATS:
            p25, p50, p75 = np.nanpercentile(self.values[k], [25, 50, 75])
            out[k] = {"median": float(p50), "p25": float(p25), "p75": float(p75)}
        return out


def image_files(directory: str | os.PathLike) -> list[Path]:
    """The image files of a folder (recursive; a VOC root means its JPEGImages), sorted."""
    root = Path(directory)
    if not root.exists():
        raise InputError(f"{root}: no such folder")
    if not root.is_dir():
        raise InputError(f"{root}: is not a folder of images")
    if (root / "JPEGImages").is_dir():
        root = root / "JPEGImages"
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            p = Path(dirpath) / name
            if (not name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
                    and not p.stem.endswith(MASK_SUFFIXES)):
                files.append(p)
    return sorted(files)


def sample_evenly(paths: list[Path], limit: int) -> list[Path]:
    """At most `limit` paths, evenly spaced in the given order (all of them when fewer)."""
    if limit <= 0 or len(paths) <= limit:
        return list(paths)
    idx = np.linspace(0, len(paths) - 1, limit).round().astype(int)
    return [paths[i] for i in idx]


def folder_stats(directory: str | os.PathLike, limit: int = MAX_IMAGES,
                 workers: int | None = None) -> FolderStats:
    """Statistics of every image of a folder (an even sample of `limit` when it has more)."""
    files = image_files(directory)
    if not files:
        raise InputError(f"{directory}: no images ({', '.join(s[1:] for s in IMAGE_SUFFIXES)})")
    chosen = sample_evenly(files, limit)
    workers = workers or min(4, default_workers())
    with ThreadPoolExecutor(workers) as pool:  # decoding and cv2 release the GIL
        rows = list(pool.map(lambda p: image_stats(read_image(p)), chosen))
    values = {k: np.array([r[k] for r in rows], np.float64) for k in STATS}
    return FolderStats(Path(directory), chosen, values, len(files))
