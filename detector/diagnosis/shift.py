"""Domain shift between two labelled sets: object attributes, shift scores, recall collapse.

For every ground-truth object we measure seven attributes (ATTRIBUTES) on its box and its
crop; for every image a few domain statistics (DOMAIN_STATS). Each image file is read once,
and crop statistics come from integral images (one per image, any number of boxes).

Comparing a class across two domains:
  shift   1-D Wasserstein distance between the synthetic and the real values, divided by
          the spread (standard deviation) of the real values; measured in the attribute's
          analysis scale (log10 for areas and sharpness, log2 for aspect ratios) so that
          "twice as tall" is as far as "half as tall".
  region  the tail of the real distribution (values above, or below, a cut) that the
          synthetic set barely covers and where real recall collapses (`find_region`).
The thresholds that make a region a finding are the constants below; they are chosen so
that a class whose attributes match and whose objects are found yields nothing.
"""
from __future__ import annotations

import logging
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.stats import wasserstein_distance

from synth import imagestats
from synth.cores import default_workers
from synth.imageio import read_image
from synth.voc import VocSet

from detector.evaluation.metrics import GroundTruth

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- thresholds
# A (class, attribute) finding needs all of these (see find_region):
MIN_OBJECTS = 5           # objects of the class in each domain before we judge it at all
MIN_REGION_MISSED = 5     # real objects missed inside the region
MIN_REGION_SHARE = 0.15   # real objects inside: at least this share of the class's
MIN_REST_OBJECTS = 5      # real objects outside it needed to use their recall as reference
SYN_RARE = 0.10           # at most this share of the class's synthetic objects in the region
RECALL_COLLAPSE = 0.5     # real recall inside the region at most this
RECALL_DROP = 0.3         # ... and this much below the reference recall: that of the class's
#                           other real objects (the synthetic recall when fewer than
#                           MIN_REST_OBJECTS lie outside the region)
MIN_SHIFT = 0.25          # shift score of the attribute at least this
# A class whose real objects fail everywhere (real recall <= RECALL_COLLAPSE and RECALL_DROP
# below its synthetic recall) has no healthy real objects to compare a tail with; then the
# tail is compared with the synthetic recall, and only attributes shifted this much count:
CLASS_WIDE_SHIFT = 1.0
# An image-level finding needs:
DOMAIN_SHIFT = 1.0        # shift score of the statistic (Wasserstein / real std) at least this
MIN_IMAGES = 5            # images in each domain
HIST_BINS = 10            # bins of the histograms and of recall per bin


@dataclass(frozen=True)
class Attribute:
    """How one attribute is measured, compared and described."""

    name: str
    label: str          # axis label
    scale: str          # "linear", "log10", "log2" or "binary": the analysis scale
    floor: float        # values below are clipped before a log (and the spread's minimum)
    fmt: str            # format of a raw value
    high: str           # the real tail above the cut, as words ("taller")
    low: str            # the real tail below the cut

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Values in the analysis scale."""
        x = np.asarray(x, np.float64)
        if self.scale == "log10":
            return np.log10(np.maximum(x, self.floor))
        if self.scale == "log2":
            return np.log2(np.maximum(x, self.floor))
        return x

    def inverse(self, t: float) -> float:
        """A value of the analysis scale back in the attribute's own units."""
        if self.scale == "log10":
            return float(10 ** t)
        if self.scale == "log2":
            return float(2 ** t)
        return float(t)

    @property
    def min_spread(self) -> float:
        """Smallest spread a shift is divided by (in the analysis scale)."""
        return {"log10": 0.1, "log2": 0.1, "binary": 0.1}.get(self.scale, self.floor)

    def format(self, v: float) -> str:
        return format(v, self.fmt)


ATTRIBUTES: dict[str, Attribute] = {a.name: a for a in (
    Attribute("rel_area", "box area / image area", "log10", 1e-6, ".2g",
              "larger in the frame", "smaller in the frame"),
    Attribute("aspect", "aspect h/w", "log2", 1e-3, ".2f", "taller (h/w)", "wider (h/w)"),
    Attribute("y_center", "box centre y / image height (0 top, 1 bottom)", "linear", 0.02,
              ".2f", "lower in the frame", "higher in the frame"),
    Attribute("brightness", "crop brightness (grey mean, 0-255)", "linear", 5.0, ".0f",
              "brighter", "darker"),
    Attribute("contrast", "crop contrast (grey std)", "linear", 3.0, ".1f",
              "more contrasted", "flatter (less contrast)"),
    Attribute("sharpness", "crop sharpness (variance of Laplacian)", "log10", 0.1, ".3g",
              "sharper", "blurrier"),
    Attribute("truncated", "truncated (VOC flag)", "binary", 0.1, ".0f",
              "truncated", "not truncated"),
)}

DOMAIN_STATS: dict[str, Attribute] = {a.name: a for a in (
    Attribute("mean_r", "mean red (0-255)", "linear", 5.0, ".0f", "redder", "less red"),
    Attribute("mean_g", "mean green (0-255)", "linear", 5.0, ".0f", "greener", "less green"),
    Attribute("mean_b", "mean blue (0-255)", "linear", 5.0, ".0f", "bluer", "less blue"),
    Attribute("std", "grey std (global contrast)", "linear", 3.0, ".1f",
              "more contrasted", "flatter"),
    Attribute("sharpness", "sharpness (variance of Laplacian)", "log10", 0.1, ".3g",
              "sharper", "blurrier"),
    Attribute("blockiness", "JPEG blockiness (8-px grid edge / other edges)", "linear", 0.02,
              ".3f", "more JPEG-blocky", "less JPEG-blocky"),
    Attribute("objects", "labelled objects per image", "linear", 0.5, ".1f",
              "more crowded", "emptier"),
    Attribute("box_area", "share of the image covered by boxes", "linear", 0.01, ".2f",
              "more covered by objects", "less covered by objects"),
)}


# ----------------------------------------------------------------------------- measuring
def _box_sums(integral: np.ndarray, x0, y0, x1, y1) -> np.ndarray:
    return integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]


@dataclass
class Measurements:
    """Per-object attributes (aligned with GroundTruth) and per-image domain statistics."""

    objects: dict[str, np.ndarray]  # attribute -> (g,)
    images: dict[str, np.ndarray]   # domain statistic -> (n_images,)


def _measure_image(path, boxes: np.ndarray, size: tuple[int, int]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(k, 3) crop brightness, contrast, Laplacian variance; (6,) image statistics."""
    rgb = read_image(path)
    H, W = rgb.shape[:2]
    grey = imagestats.grey(rgb)
    lap = imagestats.laplacian(grey)
    s, sq = cv2.integral2(grey, sdepth=cv2.CV_64F)
    ls, lsq = cv2.integral2(lap, sdepth=cv2.CV_64F)
    # Boxes are in annotation pixels; rescale if the file's size differs from the XML's.
    aw, ah = size
    b = boxes.astype(np.float64)
    if aw > 0 and ah > 0 and (aw, ah) != (W, H):
        b = b * np.array([W / aw, H / ah, W / aw, H / ah])
    x0 = np.clip(np.floor(b[:, 0]), 0, W).astype(np.int64)
    y0 = np.clip(np.floor(b[:, 1]), 0, H).astype(np.int64)
    x1 = np.clip(np.ceil(b[:, 0] + b[:, 2]), 0, W).astype(np.int64)
    y1 = np.clip(np.ceil(b[:, 1] + b[:, 3]), 0, H).astype(np.int64)
    n = ((x1 - x0) * (y1 - y0)).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = _box_sums(s, x0, y0, x1, y1) / n
        var = _box_sums(sq, x0, y0, x1, y1) / n - mean ** 2
        lmean = _box_sums(ls, x0, y0, x1, y1) / n
        lvar = _box_sums(lsq, x0, y0, x1, y1) / n - lmean ** 2
    crop = np.stack([mean, np.sqrt(np.maximum(var, 0)), np.maximum(lvar, 0)], axis=1)
    crop[n <= 0] = np.nan
    chan = rgb.reshape(-1, 3).mean(axis=0)
    image = np.array([chan[0], chan[1], chan[2], grey.std(), lap.var(),
                      imagestats.blockiness(grey)])
    return crop, image


def measure(voc_set: VocSet, gt: GroundTruth, workers: int | None = None) -> Measurements:
    """Attributes of every object and statistics of every image (each image read once)."""
    n_img = len(voc_set.images)
    sizes = np.array([(im.width, im.height) for im in voc_set.images], np.float64).reshape(-1, 2)
    order = np.argsort(gt.image, kind="stable")
    bounds = np.searchsorted(gt.image[order], np.arange(n_img + 1))
    groups = [order[bounds[i]:bounds[i + 1]] for i in range(n_img)]

    def one(i: int):
        im = voc_set.images[i]
        return _measure_image(voc_set.image_path(im), gt.boxes[groups[i]], (im.width, im.height))

    workers = workers or min(4, default_workers())
    crop = np.full((len(gt), 3), np.nan)
    image = np.full((n_img, 6), np.nan)
    with ThreadPoolExecutor(workers) as pool:   # decoding and cv2 release the GIL
        for i, (c, s) in enumerate(pool.map(one, range(n_img))):
            crop[groups[i]] = c
            image[i] = s

    W, H = sizes[gt.image, 0], sizes[gt.image, 1]
    w, h = gt.boxes[:, 2], gt.boxes[:, 3]
    truncated = np.array([o.truncated for im in voc_set.images for o in im.objects], np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        objects = {
            "rel_area": w * h / (W * H),
            "aspect": h / np.maximum(w, 1e-9),
            "y_center": (gt.boxes[:, 1] + h / 2) / H,
            "brightness": crop[:, 0], "contrast": crop[:, 1], "sharpness": crop[:, 2],
            "truncated": truncated,
        }
        counted = ~gt.difficult
        n_obj = np.bincount(gt.image[counted], minlength=n_img).astype(np.float64)
        covered = np.bincount(gt.image[counted], weights=(w * h)[counted], minlength=n_img)
        images = {"mean_r": image[:, 0], "mean_g": image[:, 1], "mean_b": image[:, 2],
                  "std": image[:, 3], "sharpness": image[:, 4], "blockiness": image[:, 5],
                  "objects": n_obj,
                  "box_area": np.minimum(covered / (sizes[:, 0] * sizes[:, 1]), 1.0)}
    return Measurements(objects=objects, images=images)


def found_objects(gt: GroundTruth, tp: np.ndarray, best_gt: np.ndarray, score: np.ndarray,
                  conf: float) -> np.ndarray:
    """Objects matched by a true positive (VOC matching, IoU 0.5) with score >= conf."""
    found = np.zeros(len(gt), bool)
    found[best_gt[tp & (score >= conf)]] = True
    return found


# ----------------------------------------------------------------------------- comparing
def shift_score(attr: Attribute, syn: np.ndarray, real: np.ndarray) -> float:
    """1-D Wasserstein distance of the two samples over the real spread (analysis scale)."""
    a, b = attr.transform(syn), attr.transform(real)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    return float(wasserstein_distance(a, b) / max(float(np.std(b)), attr.min_spread))


def summary(attr: Attribute, x: np.ndarray) -> str:
    """A short description of a sample: median and 10-90% range (share, if binary)."""
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return "no objects"
    if attr.scale == "binary":
        return f"{np.mean(x > 0.5):.0%} {attr.high}"
    lo, med, hi = np.percentile(x, [10, 50, 90])
    return f"median {attr.format(med)} (10–90%: {attr.format(lo)}–{attr.format(hi)})"


@dataclass
class Region:
    """A tail of the real distribution: values >= a cut (side "high") or <= it ("low")."""

    side: str            # "high" or "low"
    cut: float           # in the attribute's own units: the region's innermost real value
    n: int               # real objects inside
    found: int           # ... of them found
    syn_share: float     # share of synthetic objects inside
    syn_recall: float    # recall on the class's synthetic objects
    rest_recall: float   # recall on its real objects outside the region (NaN: too few)
    class_wide: bool     # compared with the synthetic recall: the class fails everywhere

    @property
    def ref_recall(self) -> float:
        """The recall the region's is compared with."""
        if self.class_wide or not math.isfinite(self.rest_recall):
            return self.syn_recall
        return self.rest_recall
    members: np.ndarray | None = None  # (n,) bool over the real values given to find_region

    @property
    def recall(self) -> float:
        return self.found / self.n if self.n else float("nan")

    @property
    def missed(self) -> int:
        return self.n - self.found

    def describe(self, attr: Attribute) -> str:
        """The region as a condition, e.g. 'aspect ≥ 1.4'."""
        if attr.scale == "binary":
            return attr.high if self.side == "high" else attr.low
        return f"{attr.name} {'≥' if self.side == 'high' else '≤'} {attr.format(self.cut)}"


def find_region(attr: Attribute, syn: np.ndarray, real: np.ndarray, real_found: np.ndarray,
                syn_recall: float, class_wide: bool = False) -> Region | None:
    """The real tail that synthetic data barely covers and where real recall collapses.

    Collapse is measured against the class's other real objects, or with `class_wide`
    (the whole class fails on real images) against its synthetic recall.

    Every distinct real value is tried as the tail's edge, on both sides; a tail
    qualifies under the module's thresholds, and the one with the most missed objects wins
    (ties: the fewest found objects, then the least synthetic coverage).
    """
    ok_s, ok_r = np.isfinite(syn), np.isfinite(real)
    s, r, f = attr.transform(syn[ok_s]), attr.transform(real[ok_r]), real_found[ok_r]
    n = len(r)
    if n < MIN_OBJECTS or len(s) < MIN_OBJECTS:
        return None
    best: Region | None = None
    for side, sign in (("high", 1.0), ("low", -1.0)):
        order = np.argsort(sign * r, kind="stable")
        v, fo = sign * r[order], f[order].astype(np.int64)
        starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]])    # region = v[i:]
        cut = v[starts]          # the region's own edge: "aspect >= 1.62"
        n_reg = n - starts
        found_tail = np.cumsum(fo[::-1])[::-1]
        found_reg = found_tail[starts]
        n_rest, found_rest = starts, found_tail[0] - found_reg
        s_sorted = np.sort(sign * s)
        syn_share = 1 - np.searchsorted(s_sorted, cut, side="left") / len(s)
        with np.errstate(divide="ignore", invalid="ignore"):
            rec = found_reg / n_reg
            rest = np.where(n_rest >= MIN_REST_OBJECTS, found_rest / np.maximum(n_rest, 1),
                            np.nan)
            ref = np.full(len(rest), syn_recall) if class_wide else \
                np.where(np.isfinite(rest), rest, syn_recall)
        ok = ((n_reg - found_reg >= MIN_REGION_MISSED) & (n_reg >= MIN_REGION_SHARE * n)
              & (syn_share <= SYN_RARE) & (rec <= RECALL_COLLAPSE) & (ref - rec >= RECALL_DROP))
        for j in np.flatnonzero(ok):
            cand = Region(side=side, cut=attr.inverse(sign * cut[j]), n=int(n_reg[j]),
                          found=int(found_reg[j]), syn_share=float(syn_share[j]),
                          syn_recall=float(syn_recall), rest_recall=float(rest[j]),
                          class_wide=class_wide)
            key = (cand.missed, -cand.found, -cand.syn_share)
            if best is None or key > (best.missed, -best.found, -best.syn_share):
                best = cand
                members = np.zeros(len(real), bool)
                members[np.flatnonzero(ok_r)[order[starts[j]:]]] = True
                best.members = members
    return best


@dataclass
class Histogram:
    """Counts per bin of both domains and real recall per bin."""

    edges: np.ndarray        # (B+1,) in the attribute's own units
    synthetic: np.ndarray    # (B,) counts
    real: np.ndarray         # (B,) counts
    real_found: np.ndarray   # (B,) counts

    @property
    def real_recall(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.real > 0, self.real_found / np.maximum(self.real, 1), np.nan)


def histogram(attr: Attribute, syn: np.ndarray, real: np.ndarray, real_found: np.ndarray,
              bins: int = HIST_BINS) -> Histogram:
    """Common bins (equal width in the analysis scale) over both samples."""
    ok_s, ok_r = np.isfinite(syn), np.isfinite(real)
    s, r, f = attr.transform(syn[ok_s]), attr.transform(real[ok_r]), real_found[ok_r]
    if attr.scale == "binary":
        t_edges = np.array([-0.5, 0.5, 1.5])
    else:
        both = np.concatenate([s, r])
        lo, hi = (float(both.min()), float(both.max())) if len(both) else (0.0, 1.0)
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5 * attr.min_spread, hi + 0.5 * attr.min_spread
        t_edges = np.linspace(lo, hi, bins + 1)
    B = len(t_edges) - 1

    def idx(x):
        return np.clip(np.searchsorted(t_edges, x, side="right") - 1, 0, B - 1)

    ri = idx(r)
    edges = np.array([attr.inverse(t) for t in t_edges]) if attr.scale != "binary" \
        else t_edges
    return Histogram(edges=edges, synthetic=np.bincount(idx(s), minlength=B),
                     real=np.bincount(ri, minlength=B),
                     real_found=np.bincount(ri, weights=f.astype(np.float64), minlength=B))


def fmt_share(x: float) -> str:
    """A share as a percentage with sensible precision ('0%', '3%', '0.4%')."""
    if x == 0 or x >= 0.01 or not math.isfinite(x):
        return f"{x:.0%}"
    return f"{100 * x:.1f}%"
