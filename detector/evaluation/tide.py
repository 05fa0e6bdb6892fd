"""TIDE-style error breakdown: why each false positive is false, what each error type costs.

Every false positive of the VOC matching (IoU 0.5) gets exactly one type, tested in this
order (IoU "same class" means objects of the detection's class, difficult ones included):
  loc   same class, 0.1 <= best IoU < 0.5               (right object, box off)
  cls   IoU >= 0.5 with an object of another class      (box right, label wrong)
  dupe  same class, IoU >= 0.5 with an object already matched by a higher score
  bkg   IoU < 0.1 with every object                     (fired on background)
  both  the rest: 0.1 <= IoU < 0.5 with another class    (label and box wrong)
and every non-difficult object no detection found is a `miss`, unless a loc or cls error
points at it (then that error is the reason it was not found).

False positives are counted under the detection's class, misses under the object's class.
The cost of a type is the AP50 gained when an oracle fixes just that type and AP is
recomputed: loc / cls errors become true positives of their target object (moved to its
class for cls) if no one found it yet and no higher-scoring fix claims it, else they are
dropped; dupe / bkg / both are dropped; misses are removed from the ground truth.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .detections import Detections
from .metrics import (GroundTruth, Pairs, VocResult, best_per_detection, class_ap,
                      stable_order)

ERROR_TYPES = ("cls", "loc", "both", "dupe", "bkg", "miss")
POS_THRESHOLD = 0.5
BKG_THRESHOLD = 0.1

# Codes of `ErrorBreakdown.kind` (0: not a false positive).
_CODE = {"loc": 1, "cls": 2, "dupe": 3, "bkg": 4, "both": 5}


@dataclass
class ErrorBreakdown:
    """Per-detection error type, per-class counts, and the AP50 each type costs."""

    kind: np.ndarray      # (n,) int8: 0 for TP/ignored, else a code of _CODE
    target: np.ndarray    # (n,) object a loc/cls error points at, else -1
    missed: np.ndarray    # (g,) bool: missed object (all detections considered)
    counts: dict[str, np.ndarray]      # type -> (K,) among detections with score >= conf
    counts_all: dict[str, np.ndarray]  # type -> (K,) among all detections
    delta_ap: dict[str, np.ndarray]    # type -> (K,) AP50 gained by fixing it (NaN: no GT)
    delta_map: dict[str, float]        # type -> mAP50 gained by fixing it
    conf: float

    def kind_of(self, name: str) -> np.ndarray:
        """Mask of the detections whose error type is `name` (not "miss")."""
        return self.kind == _CODE[name]


def _missed(gt: GroundTruth, voc: VocResult, kind: np.ndarray, target: np.ndarray,
            active: np.ndarray) -> np.ndarray:
    """Non-difficult objects not found, nor explained by a loc/cls error, by active detections."""
    found = np.zeros(len(gt), bool)
    found[voc.best_gt[active & voc.tp]] = True
    explains = active & ((kind == _CODE["loc"]) | (kind == _CODE["cls"]))
    found[target[explains]] = True
    return ~gt.difficult & ~found


def error_breakdown(gt: GroundTruth, dets: Detections, pairs: Pairs, voc: VocResult,
                    conf: float = 0.25, use_07: bool = False) -> ErrorBreakdown:
    """Classify every false positive and miss; measure each type's AP50 cost with an oracle."""
    n, K = len(dets), len(gt.classes)
    same = dets.cls[pairs.det] == gt.cls[pairs.gt]
    s_iou, s_arg = best_per_detection(pairs.det[same], pairs.iou[same], pairs.gt[same], n)
    o_iou, o_arg = best_per_detection(pairs.det[~same], pairs.iou[~same], pairs.gt[~same], n)

    fp = voc.fp
    loc = fp & (s_iou >= BKG_THRESHOLD) & (s_iou < POS_THRESHOLD)
    cls = fp & ~loc & (o_iou >= POS_THRESHOLD)
    dupe = fp & ~loc & ~cls & (s_iou >= POS_THRESHOLD)
    bkg = fp & ~loc & ~cls & ~dupe & (np.maximum(s_iou, o_iou) < BKG_THRESHOLD)
    both = fp & ~loc & ~cls & ~dupe & ~bkg
    kind = np.zeros(n, np.int8)
    for name, mask in (("loc", loc), ("cls", cls), ("dupe", dupe), ("bkg", bkg), ("both", both)):
        kind[mask] = _CODE[name]
    target = np.where(loc, s_arg, np.where(cls, o_arg, -1))

    def count(active: np.ndarray) -> dict[str, np.ndarray]:
        out = {name: np.bincount(dets.cls[active & (kind == _CODE[name])], minlength=K)
               for name in ERROR_TYPES if name != "miss"}
        out["miss"] = np.bincount(gt.cls[_missed(gt, voc, kind, target, active)], minlength=K)
        return {name: out[name] for name in ERROR_TYPES}

    everything = np.ones(n, bool)
    missed = _missed(gt, voc, kind, target, everything)
    delta_ap, delta_map = _oracle_costs(gt, dets, voc, kind, target, missed, use_07)
    return ErrorBreakdown(kind=kind, target=target, missed=missed,
                          counts=count(dets.score >= conf), counts_all=count(everything),
                          delta_ap=delta_ap, delta_map=delta_map, conf=conf)


def _oracle_costs(gt: GroundTruth, dets: Detections, voc: VocResult, kind: np.ndarray,
                  target: np.ndarray, missed: np.ndarray, use_07: bool
                  ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """AP50 per class after fixing one error type at a time, minus the base AP50."""
    valid = voc.npos > 0
    found = np.zeros(len(gt), bool)
    found[voc.best_gt[voc.tp]] = True
    order = dets.by_score()
    delta_ap, delta_map = {}, {}
    for name in ERROR_TYPES:
        cls, tp, fp, npos = dets.cls, voc.tp, voc.fp, voc.npos
        if name == "miss":
            npos = npos - np.bincount(gt.cls[missed], minlength=len(npos))
        else:
            mask = kind == _CODE[name]
            fp = fp & ~mask
            if name in ("loc", "cls"):
                # The highest-scoring error on a still-unfound object becomes its true positive.
                fixable = order[mask[order]]
                fixable = fixable[~gt.difficult[target[fixable]] & ~found[target[fixable]]]
                _, first = np.unique(target[fixable], return_index=True)
                winners = fixable[first]
                tp = tp.copy()
                tp[winners] = True
                if name == "cls":
                    cls = cls.copy()
                    cls[winners] = gt.cls[target[winners]]
        ap = class_ap(cls, dets.score, tp, fp, np.maximum(npos, 0), use_07,
                      order=stable_order(cls, order) if name == "cls" else voc.order)
        # A class whose every object was missed has nothing left to find: call its gain 0.
        ap = np.where(valid & (npos == 0), voc.ap, ap)
        delta_ap[name] = np.where(valid, ap - voc.ap, np.nan)
        delta_map[name] = float(np.mean(ap[valid]) - voc.map) if valid.any() else 0.0
    return delta_ap, delta_map
