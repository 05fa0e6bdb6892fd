"""Paired bootstrap over test images: VOC mAP50 recomputed on resampled image sets.

A run's VOC matching on a test set is kept as a `MatchTable` (each detection's image, class,
score and whether it is a true positive, and each image's object counts), enough to
recompute AP50 on any resample without matching again; `paired_bootstrap_ci` scores two
regimes on the same resamples (ablate's CIs).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from synth import fsio


@dataclass
class MatchTable:
    """VOC matching of one run on one test set: enough to recompute AP50 on any resample.

    Only detections that are a true or false positive are kept (those on difficult objects
    count for nothing); `n_pos[i, k]` is image i's number of non-difficult class-k objects.
    """

    image: np.ndarray    # (n,) int64
    cls: np.ndarray      # (n,) int64
    score: np.ndarray    # (n,) float64
    tp: np.ndarray       # (n,) bool
    n_pos: np.ndarray    # (n_images, K) int64
    classes: list[str]

    @classmethod
    def from_evaluation(cls, ev) -> "MatchTable":
        """From a detector.evaluation.Evaluation."""
        keep = ev.voc.tp | ev.voc.fp
        gt = ev.gt
        n_pos = np.zeros((gt.n_images, len(gt.classes)), np.int64)
        np.add.at(n_pos, (gt.image[~gt.difficult], gt.cls[~gt.difficult]), 1)
        return cls(ev.dets.image[keep].astype(np.int64), ev.dets.cls[keep].astype(np.int64),
                   ev.dets.score[keep].astype(np.float64), ev.voc.tp[keep].astype(bool),
                   n_pos, list(gt.classes))

    def save(self, path: Path) -> None:
        with fsio.atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, image=self.image, cls=self.cls, score=self.score,
                                    tp=self.tp, n_pos=self.n_pos,
                                    classes=np.array(self.classes, dtype=str))

    @classmethod
    def load(cls, path: Path) -> "MatchTable":
        with np.load(path) as z:
            return cls(z["image"], z["cls"], z["score"], z["tp"], z["n_pos"],
                       [str(c) for c in z["classes"]])


def resampled_map50(t: MatchTable, counts: np.ndarray, max_cells: int = 4_000_000
                    ) -> np.ndarray:
    """VOC all-point mAP50 on each resample: `counts` (B, n_images) = times each image drawn.

    A drawn-twice image counts its objects and its detections twice, exactly as if the set
    held two copies. All-ones counts give the plain mAP50. Vectorised over resamples.
    """
    counts = np.asarray(counts, np.float64)
    B, K = counts.shape[0], t.n_pos.shape[1]
    npos = counts @ t.n_pos                                                # (B, K)
    ap = np.full((B, K), np.nan)
    for k in range(K):
        live = npos[:, k] > 0
        if not live.any():
            continue
        idx = np.flatnonzero(t.cls == k)
        idx = idx[np.argsort(-t.score[idx], kind="stable")]
        hits = np.flatnonzero(t.tp[idx])
        if len(hits) == 0:
            ap[live, k] = 0.0
            continue
        idx = idx[: hits[-1] + 1]  # false positives after the last hit change no AP
        tp = t.tp[idx]
        step = max(1, max_cells // len(idx))
        for lo in range(0, B, step):
            w = counts[lo:lo + step][:, t.image[idx]]                       # (b, n)
            tpc = np.cumsum(w * tp, axis=1)
            fpc = np.cumsum(w * ~tp, axis=1)
            prec = tpc / np.maximum(tpc + fpc, np.finfo(np.float64).eps)
            env = np.maximum.accumulate(prec[:, ::-1], axis=1)[:, ::-1]
            n = npos[lo:lo + step, k]
            with np.errstate(invalid="ignore", divide="ignore"):
                rec = tpc / n[:, None]
            drec = np.diff(rec, axis=1, prepend=0.0)
            ap[lo:lo + step, k] = np.where(n > 0, (drec * env).sum(axis=1), np.nan)
    with np.errstate(invalid="ignore"):
        valid = ~np.isnan(ap)
        return np.where(valid.any(1), np.nansum(ap, 1) / np.maximum(valid.sum(1), 1), np.nan)


def bootstrap_counts(n_images: int, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """(n_boot, n_images) draw counts of resampling the images with replacement."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_images, size=(n_boot, n_images))
    flat = (np.arange(n_boot)[:, None] * n_images + idx).ravel()
    return np.bincount(flat, minlength=n_boot * n_images).reshape(n_boot, n_images)


def paired_bootstrap_ci(first: Sequence[MatchTable], other: Sequence[MatchTable],
                        n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                        counts: np.ndarray | None = None) -> tuple[float, float]:
    """Percentile CI of mAP50(other) - mAP50(first) over test images resampled with replacement.

    Both regimes are scored on the same resamples (paired); with several seeds each
    regime's mAP50 is its mean over seeds on that resample.
    """
    n = first[0].n_pos.shape[0]
    if any(t.n_pos.shape[0] != n for t in (*first, *other)):
        raise ValueError("match tables of different test sets")
    if counts is None:
        counts = bootstrap_counts(n, n_boot, seed)
    a = np.mean([resampled_map50(t, counts) for t in first], axis=0)
    b = np.mean([resampled_map50(t, counts) for t in other], axis=0)
    diff = (b - a)[~np.isnan(b - a)]
    if len(diff) == 0:
        return (float("nan"), float("nan"))
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(diff, [tail, 100 - tail])
    return float(lo), float(hi)
