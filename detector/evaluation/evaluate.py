"""`pipeline evaluate`: everything measured for one VOC set and one set of detections.

`evaluate(voc_set, dets)` computes the metrics (an `Evaluation`); `run_evaluate(...)` is the
command: read the set, get detections (a file, or a checkpoint run at EVAL_CONF), measure,
write the report. `model_detections` is the one way this torch-free package runs a model:
it calls detector.predict.predict_voc_set, importing torch only then.
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synth.errors import InputError
from synth.layouts import read_dataset
from synth.voc import VocSet

from . import EVAL_CONF
from .detections import (BackgroundParse, Detections, detections_to_list, outside_image,
                         read_detections)
from .jsoncolumns import gc_paused
from .metrics import (CocoResult, GroundTruth, VocResult, coco_evaluate, confusion_matrix,
                      ground_truth, overlapping_pairs, voc_evaluate)
from .render import write_files
from .report import render_report
from .tide import ErrorBreakdown, error_breakdown

log = logging.getLogger(__name__)


@dataclass
class Evaluation:
    """VOC and COCO metrics, PR curves, confusion matrix and error breakdown of one run."""

    voc_set: VocSet
    gt: GroundTruth
    dets: Detections
    voc: VocResult
    coco: CocoResult
    errors: ErrorBreakdown
    confusion: np.ndarray  # (K+1, K+1): rows true, columns predicted, last = background
    conf: float            # operating confidence of confusion matrix, counts and gallery
    iou: float             # IoU of the confusion matrix
    voc07: bool

    @property
    def classes(self) -> list[str]:
        return self.gt.classes

    @property
    def map50(self) -> float:
        """PASCAL VOC mAP at IoU 0.5 over the classes that have objects."""
        return self.voc.map

    @property
    def map(self) -> float:
        """COCO AP@[.5:.95] (pycocotools' first number)."""
        return float(self.coco.stats[0])

    def ap50(self, k: int | None) -> float | None:
        """VOC AP50 of class index `k`; None for no class or a class without objects."""
        if k is None or self.voc.npos[k] == 0 or math.isnan(self.voc.ap[k]):
            return None
        return float(self.voc.ap[k])

    def per_class_ap50(self) -> dict[str, float | None]:
        """AP50 of each class by name (None where the class has no objects)."""
        return {c: self.ap50(k) for k, c in enumerate(self.classes)}

    def per_image(self) -> tuple[np.ndarray, np.ndarray]:
        """(missed objects, false positives) per image at the operating confidence."""
        active = self.dets.score >= self.conf
        found = np.zeros(len(self.gt), bool)
        found[self.voc.best_gt[active & self.voc.tp]] = True
        missed = ~self.gt.difficult & ~found
        n = self.gt.n_images
        return (np.bincount(self.gt.image[missed], minlength=n),
                np.bincount(self.dets.image[active & self.voc.fp], minlength=n))

    def worst_images(self, n: int = 12) -> list[int]:
        """Indices of the images with the most misses + false positives (ties: most misses)."""
        missed, false_pos = self.per_image()
        bad = missed + false_pos
        order = np.lexsort((-missed, -bad))
        return [int(i) for i in order[:n] if bad[i] > 0]


def evaluate(voc_set: VocSet, dets: Detections, voc07: bool = False, conf: float = 0.25,
             iou: float = 0.5) -> Evaluation:
    """Measure detections against a VOC set (which must have objects to find)."""
    gt = ground_truth(voc_set)
    if len(gt) == 0:
        raise InputError(f"{voc_set.root}: the VOC set has no objects to evaluate against")
    if gt.difficult.all():
        raise InputError(f"{voc_set.root}: every object is marked difficult, so there is "
                         f"nothing to evaluate against")
    t0 = time.perf_counter()
    pairs = overlapping_pairs(gt, dets)
    voc = voc_evaluate(gt, dets, pairs, use_07=voc07)
    coco = coco_evaluate(gt, dets, pairs)
    errors = error_breakdown(gt, dets, pairs, voc, conf=conf, use_07=voc07)
    confusion = confusion_matrix(gt, dets, pairs, conf=conf, iou_threshold=iou)
    log.debug("metrics: %d objects, %d detections, %d overlapping pairs in %.2fs",
              len(gt), len(dets), len(pairs.det), time.perf_counter() - t0)
    return Evaluation(voc_set=voc_set, gt=gt, dets=dets, voc=voc, coco=coco, errors=errors,
                      confusion=confusion, conf=conf, iou=iou, voc07=voc07)


def model_detections(model: str | os.PathLike, voc_set: VocSet, device: str | None = None,
                     progress: bool = True) -> Detections:
    """Run a checkpoint over a VOC set at EVAL_CONF (AP needs the whole PR curve).

    The seam to the torch side: detector.predict (and torch) is imported here, on first use.
    """
    try:
        from detector.predict import predict_voc_set
    except ImportError as exc:
        raise InputError(f"{model}: --model needs the detector's inference module "
                         f"(detector.predict: {exc}); pass --detections FILE instead") from None
    return predict_voc_set(model, voc_set, conf=EVAL_CONF, device=device, progress=progress)


def read_set(data: str | os.PathLike, split: str | None = None) -> VocSet:
    """Read the set (VOC, YOLO or COCO) to evaluate on (it must have images)."""
    t0 = time.perf_counter()
    with gc_paused():
        voc_set = read_dataset(data, split=split)
    if not voc_set.images:
        raise InputError(f"{data}: the set{f' split {split!r}' if split else ''} has no "
                         f"images")
    log.debug("read %d annotations in %.1fs", len(voc_set.images), time.perf_counter() - t0)
    return voc_set


def get_detections(voc_set: VocSet, detections: str | os.PathLike | None = None,
                   model: str | os.PathLike | None = None,
                   pending: BackgroundParse | None = None) -> Detections:
    """Detections from a file (maybe already being parsed: `pending`) or by running a model."""
    t0 = time.perf_counter()
    dets = read_detections(detections, voc_set, pending) if detections is not None \
        else model_detections(model, voc_set)
    log.debug("read %d detections in %.1fs", len(dets), time.perf_counter() - t0)
    return dets


@dataclass
class EvaluationRun:
    """What `run_evaluate` measured and where it wrote the report."""

    ev: Evaluation
    out: Path

    def summary(self) -> list[str]:
        """The lines `pipeline evaluate` prints."""
        ev = self.ev
        return [f"mAP50 {ev.map50:.4f}  mAP {ev.map:.4f}  ({len(ev.voc_set.images)} images, "
                f"{len(ev.gt)} objects, {len(ev.dets)} detections)",
                f"report: {self.out / 'report.html'}"]


def run_evaluate(data: str | os.PathLike, model: str | os.PathLike | None = None,
                 detections: str | os.PathLike | None = None, split: str | None = None,
                 out: str | os.PathLike | None = None, voc07: bool = False, conf: float = 0.25,
                 iou: float = 0.5, n_gallery: int = 12,
                 pending: BackgroundParse | None = None) -> EvaluationRun:
    """`pipeline evaluate`: check the inputs, read the set and its detections (from
    `detections`, maybe already being parsed: `pending`, or by running `model`), measure and
    write report.json/md/html and plots/ (and, with a model, its detections.json) to `out`
    (default ./evaluate-<data dir name>). Nothing is written when an input is bad."""
    # Reading, measuring and reporting make no cyclic garbage, yet the collector would walk
    # the set's objects again in every pass (a tenth of the command on 3000 images): it is
    # paused throughout, except while a model runs (inference may leave cycles).
    with gc_paused() if model is None else contextlib.nullcontext():
        try:
            if (detections is None) == (model is None):
                raise InputError("give exactly one of --model CKPT or --detections FILE")
            if not 0 < iou <= 1:
                raise InputError(f"--iou {iou}: must be in (0, 1]")
            if not 0 <= conf <= 1:
                raise InputError(f"--conf {conf}: must be in [0, 1]")
            if n_gallery < 0:
                raise InputError(f"--gallery {n_gallery}: must be >= 0")
            out = Path(out) if out is not None else Path(f"evaluate-{Path(data).resolve().name}")
            if out.exists() and not out.is_dir():
                raise InputError(f"{out}: exists and is not a directory")
            voc_set = read_set(data, split)
            dets = get_detections(voc_set, detections, model, pending)
        finally:
            if pending is not None:
                pending.cancel()
        with gc_paused():
            ev = evaluate(voc_set, dets, voc07=voc07, conf=conf, iou=iou)
            write_files(out, report_files(ev, data, split, detections, model, n_gallery))
    return EvaluationRun(ev, out)


def report_files(ev: Evaluation, data: str | os.PathLike, split: str | None,
                 detections: str | os.PathLike | None, model: str | os.PathLike | None,
                 n_gallery: int) -> dict[str, bytes]:
    """`pipeline evaluate`'s report files (with a model, also the detections it made)."""
    t0 = time.perf_counter()
    source = f"detections: {detections}" if detections else f"model: {model} (conf {EVAL_CONF})"
    n_outside = outside_image(ev.dets, ev.voc_set)
    lines = [f"data: {data}" + (f" (split {split})" if split else ""), source,
             f"{n_outside} detection box(es) lie partly outside their image (evaluated as they "
             f"are, as pycocotools does)"]
    files = render_report(ev, title=f"Evaluation of {Path(data).resolve().name}", lines=lines,
                          n_gallery=n_gallery,
                          extra_json={"data": str(data), "split": split,
                                      "detections": str(detections) if detections else None,
                                      "model": str(model) if model else None,
                                      "boxes_outside_image": n_outside})
    if model is not None:
        files["detections.json"] = json.dumps(detections_to_list(ev.dets, ev.voc_set)).encode()
    log.debug("report rendered in %.2fs", time.perf_counter() - t0)
    return files
