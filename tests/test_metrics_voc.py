"""PASCAL VOC AP: hand-computed cases, a loop transcription of the devkit rule, confusion."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detector.evaluation.detections import Detections
from detector.evaluation.metrics import (GroundTruth, PRCurve, confusion_matrix, ground_truth,
                              voc_evaluate)
from synth.voc import VocImage, VocObject, VocSet
from tests.helpers import make_dets, make_gt


# One image, class "a": objects at (0,0), (20,20) and a difficult one at (40,40), 10x10.
GT = make_gt([(0, 0, [0, 0, 10, 10], False), (0, 0, [20, 20, 10, 10], False),
              (0, 0, [40, 40, 10, 10], True)], ["a"])
DETS = make_dets([(0, 0, [0, 0, 10, 10], 0.9),      # TP on object 1
                  (0, 0, [0, 0, 10, 10], 0.8),      # object 1 already taken: FP
                  (0, 0, [40, 40, 10, 10], 0.7),    # on the difficult object: ignored
                  (0, 0, [20, 20, 10, 10], 0.6),    # TP on object 2
                  (0, 0, [100, 100, 5, 5], 0.5)])   # nothing there: FP


def test_hand_case_all_point():
    r = voc_evaluate(GT, DETS)
    assert r.tp.tolist() == [True, False, False, True, False]
    assert r.fp.tolist() == [False, True, False, False, True]
    assert r.npos.tolist() == [2]
    # PR points (recall, precision): (.5, 1) (.5, .5) (.5, .5) (1, 2/3) (1, .5).
    # All-point AP = .5 * 1 + .5 * 2/3.
    assert r.ap[0] == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-12)
    assert r.map == pytest.approx(5 / 6, abs=1e-12)


def test_hand_case_voc07_11_point():
    # Recall thresholds 0..0.5 (6 points) reach precision 1, 0.6..1.0 (5 points) 2/3.
    r = voc_evaluate(GT, DETS, use_07=True)
    assert r.ap[0] == pytest.approx((6 * 1 + 5 * 2 / 3) / 11, abs=1e-12)


def test_best_object_taken_is_a_false_positive_even_if_another_fits():
    """VOC2010+ rule: no fall-back to the second-best object (COCO would fall back)."""
    gt = make_gt([(0, 0, [0, 0, 10, 10], False), (0, 0, [2, 0, 10, 10], False)], ["a"])
    dets = make_dets([(0, 0, [0, 0, 10, 10], 0.9),
                      (0, 0, [0.5, 0, 10, 10], 0.8)])   # IoU .905 with 1 (taken), .739 with 2
    r = voc_evaluate(gt, dets)
    assert r.tp.tolist() == [True, False] and r.fp.tolist() == [False, True]
    assert r.ap[0] == pytest.approx(0.5)


def test_equal_iou_goes_to_the_first_object():
    gt = make_gt([(0, 0, [0, 0, 10, 10], False), (0, 0, [2, 0, 10, 10], False)], ["a"])
    dets = make_dets([(0, 0, [1, 0, 10, 10], 0.9), (0, 0, [2, 0, 10, 10], 0.8)])
    r = voc_evaluate(gt, dets)
    assert r.best_gt.tolist() == [0, 1]
    assert r.tp.tolist() == [True, True]


def test_detection_below_threshold_on_difficult_is_a_false_positive():
    gt = make_gt([(0, 0, [0, 0, 10, 10], True), (0, 0, [50, 50, 10, 10], False)], ["a"])
    dets = make_dets([(0, 0, [5, 0, 10, 10], 0.9)])     # IoU 1/3 with the difficult one
    r = voc_evaluate(gt, dets)
    assert r.fp.tolist() == [True]
    assert r.ap[0] == 0.0


def test_classes_without_objects_are_left_out_of_the_mean():
    gt = make_gt([(0, 0, [0, 0, 10, 10], False), (0, 2, [0, 0, 30, 30], True)],
                 ["a", "b", "c"])
    dets = make_dets([(0, 0, [0, 0, 10, 10], 0.9), (0, 1, [0, 0, 10, 10], 0.9)])
    r = voc_evaluate(gt, dets)
    assert r.npos.tolist() == [1, 0, 0]
    assert np.isnan(r.ap[1]) and np.isnan(r.ap[2])
    assert r.map == 1.0


def test_empty_detections_give_zero():
    r = voc_evaluate(GT, Detections.empty())
    assert r.ap.tolist() == [0.0] and r.map == 0.0


def test_best_f1_uses_reachable_thresholds_only():
    # Scores .9 .9 .5: thresholds are .9 (2 dets) and .5 (3 dets), never "1 det".
    c = PRCurve(score=np.array([0.9, 0.9, 0.5]), precision=np.array([1.0, 0.5, 2 / 3]),
                recall=np.array([0.5, 0.5, 1.0]), n_gt=2)
    best = c.best_f1()
    assert best["conf"] == 0.5
    assert best["f1"] == pytest.approx(0.8)


def test_ground_truth_converts_voc_boxes_to_0_based():
    voc = VocSet(root=None, classes=["a", "b"], images=[
        VocImage("x", "x.jpg", 100, 80, 3, [VocObject("b", (1, 1, 10, 20), difficult=True),
                                            VocObject("a", (11, 21, 11, 21))])])
    gt = ground_truth(voc)
    np.testing.assert_array_equal(gt.boxes, [[0, 0, 10, 20], [10, 20, 1, 1]])
    assert gt.cls.tolist() == [1, 0] and gt.difficult.tolist() == [True, False]
    np.testing.assert_array_equal(gt.area, [200, 1])


# --------------------------------------------------------------------- loop transcription
def _iou(a, b) -> float:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def devkit_ap(gt: GroundTruth, dets: Detections, k: int, use_07: bool) -> float:
    """The VOC devkit's VOCevaldet, one detection at a time."""
    objs = [g for g in range(len(gt)) if gt.cls[g] == k]
    npos = sum(1 for g in objs if not gt.difficult[g])
    order = sorted((i for i in range(len(dets)) if dets.cls[i] == k),
                   key=lambda i: -dets.score[i])
    used, tp, fp = set(), [], []
    for i in order:
        best, jmax = -np.inf, None
        for g in objs:
            if gt.image[g] == dets.image[i]:
                o = _iou(dets.boxes[i], gt.boxes[g])
                if o > best:
                    best, jmax = o, g
        t = f = 0
        if best >= 0.5:
            if not gt.difficult[jmax]:
                if jmax in used:
                    f = 1
                else:
                    t = 1
                    used.add(jmax)
        else:
            f = 1
        tp.append(t)
        fp.append(f)
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    rec = [t / npos for t in tp]
    prec = [t / max(t + f, np.finfo(float).eps) for t, f in zip(tp, fp)]
    if use_07:
        ap = 0.0
        for t in [i / 10 for i in range(11)]:
            ps = [p for p, r in zip(prec, rec) if r >= t]
            ap += (max(ps) if ps else 0.0) / 11
        return ap
    mrec, mpre = [0.0] + rec + [1.0], [0.0] + prec + [0.0]
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    return sum((mrec[i] - mrec[i - 1]) * mpre[i] for i in range(1, len(mrec))
               if mrec[i] != mrec[i - 1])


@st.composite
def voc_fixture(draw):
    n_cls, n_img = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    coord = st.sampled_from([0, 1, 2, 4, 6, 10, 30])
    side = st.sampled_from([4, 8, 10, 12, 20])
    g = [(draw(st.integers(0, n_img - 1)), draw(st.integers(0, n_cls - 1)),
          [draw(coord), draw(coord), draw(side), draw(side)], draw(st.integers(0, 4)) == 0)
         for _ in range(draw(st.integers(1, 8)))]
    g.sort(key=lambda r: r[0])
    score = st.sampled_from([0.2, 0.5, 0.5, 0.7, 0.9])
    d = []
    for _ in range(draw(st.integers(0, 15))):
        if draw(st.booleans()):     # a copy of an object, maybe nudged: hits, dupes, ties
            img, cls, box, _ = g[draw(st.integers(0, len(g) - 1))]
            box = [v + draw(st.sampled_from([0, 0, 1, 2])) for v in box]
        else:
            img, cls = draw(st.integers(0, n_img - 1)), draw(st.integers(0, n_cls - 1))
            box = [draw(coord), draw(coord), draw(side), draw(side)]
        d.append((img, cls, box, draw(score)))
    return make_gt(g, [f"c{k}" for k in range(n_cls)], n_img), make_dets(d)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(voc_fixture(), st.booleans())
def test_matches_the_devkit_loop(fixture, use_07):
    gt, dets = fixture
    r = voc_evaluate(gt, dets, use_07=use_07)
    for k in range(len(gt.classes)):
        if r.npos[k] == 0:
            assert np.isnan(r.ap[k])
        else:
            assert r.ap[k] == pytest.approx(devkit_ap(gt, dets, k, use_07), abs=1e-12)


# --------------------------------------------------------------------- confusion matrix
def test_confusion_matrix_hand_case():
    classes = ["a", "b", "c"]
    gt = make_gt([(0, 0, [0, 0, 10, 10], False), (0, 1, [20, 0, 10, 10], False),
                  (0, 2, [40, 0, 10, 10], False), (0, 0, [60, 0, 10, 10], True)], classes)
    dets = make_dets([(0, 0, [0, 0, 10, 10], 0.9),     # a on a
                      (0, 0, [20, 0, 10, 10], 0.8),    # a on b: confusion
                      (0, 1, [90, 90, 10, 10], 0.7),   # b on nothing: false alarm
                      (0, 0, [60, 0, 10, 10], 0.9),    # a on a difficult a: not counted
                      (0, 1, [0, 0, 10, 10], 0.1)])    # below conf: not counted
    m = confusion_matrix(gt, dets, conf=0.25, iou_threshold=0.5)
    expected = np.zeros((4, 4), int)
    expected[0, 0] = 1          # true a predicted a
    expected[1, 0] = 1          # true b predicted a
    expected[3, 1] = 1          # background predicted b (false alarm)
    expected[2, 3] = 1          # true c predicted nothing (miss)
    np.testing.assert_array_equal(m, expected)


def test_confusion_matrix_one_to_one_highest_iou_first():
    gt = make_gt([(0, 0, [0, 0, 10, 10], False)], ["a", "b"])
    dets = make_dets([(0, 1, [0, 0, 10, 10], 0.5),     # IoU 1: wins the object
                      (0, 0, [1, 0, 10, 10], 0.9)])    # IoU .82: left over, false alarm
    m = confusion_matrix(gt, dets, conf=0.25, iou_threshold=0.5)
    assert m[0, 1] == 1 and m[2, 0] == 1 and m.sum() == 2
