"""coco_evaluate against pycocotools (the oracle) on randomised and hand-made fixtures."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detector.evaluation.detections import Detections
from detector.evaluation.metrics import (GroundTruth, box_iou, coco_evaluate, coco_ground_truth_json,
                              coco_results_json)

pycocotools = pytest.importorskip("pycocotools")
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402
from pycocotools import mask as mask_utils  # noqa: E402

# Side lengths that straddle COCO's area limits (32² and 96²) and go tiny and huge.
SIDES = [1, 2, 5, 12, 31, 32, 33, 60, 95, 96, 97, 140, 400]


def pycocotools_eval(gt: GroundTruth, dets: Detections) -> COCOeval:
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = coco_ground_truth_json(gt)
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(coco_results_json(dets)), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def assert_same_as_pycocotools(gt: GroundTruth, dets: Detections) -> None:
    ref = pycocotools_eval(gt, dets)
    ours = coco_evaluate(gt, dets)
    np.testing.assert_allclose(ours.stats, ref.stats, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.precision, ref.eval["precision"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.recall, ref.eval["recall"], rtol=0, atol=1e-12)


@st.composite
def fixtures(draw) -> tuple[GroundTruth, Detections]:
    """A few images and classes; objects (some difficult) and detections that copy, jitter,
    duplicate or relabel them, or land anywhere; scores often tied."""
    n_cls = draw(st.sampled_from([1, 2, 3, 8]))
    n_img = draw(st.integers(1, 4))
    # "Crowded" fixtures put small boxes on a coarse grid: many overlaps and IoU ties.
    crowded = draw(st.booleans())
    sides = st.sampled_from([8, 10, 10, 12, 33] if crowded else SIDES)
    corner = st.sampled_from([0, 1, 2, 2, 4]) if crowded else st.integers(0, 120)
    g_img, g_cls, g_box, g_diff = [], [], [], []
    for i in range(n_img):
        for _ in range(draw(st.integers(0, 6))):
            w, h = draw(sides), draw(sides)
            x, y = draw(corner), draw(corner)
            g_img.append(i)
            g_cls.append(draw(st.integers(0, n_cls - 1)))
            g_box.append([x, y, w, h])          # = VOC (x+1, y+1, x+w, y+h)
            g_diff.append(draw(st.booleans()) and draw(st.booleans()))
    gt = GroundTruth(np.array(g_img, np.int64), np.array(g_cls, np.int64),
                     np.array(g_box, float).reshape(-1, 4), np.array(g_diff, bool),
                     [f"c{k}" for k in range(n_cls)], n_img)
    tied = draw(st.booleans())
    score = st.sampled_from([0.1, 0.5, 0.5, 0.9]) if tied else st.floats(0.001, 1.0)
    d_img, d_cls, d_box, d_score = [], [], [], []
    for _ in range(draw(st.integers(1, 30))):
        if len(gt) and draw(st.integers(0, 3)):
            g = draw(st.integers(0, len(gt) - 1))
            shift = draw(st.lists(st.sampled_from([0, 0, 0, 1, -1, 0.5, 3, -3, 8]),
                                  min_size=4, max_size=4))
            box = [max(0.0, v + s) for v, s in zip(gt.boxes[g], shift)]
            box[2], box[3] = max(box[2], 0.5), max(box[3], 0.5)
            img = int(gt.image[g])
            cls = int(gt.cls[g]) if draw(st.integers(0, 4)) else draw(st.integers(0, n_cls - 1))
        else:
            img, cls = draw(st.integers(0, n_img - 1)), draw(st.integers(0, n_cls - 1))
            box = [draw(st.integers(0, 150)), draw(st.integers(0, 150)),
                   draw(st.sampled_from(SIDES)), draw(st.sampled_from(SIDES))]
        d_img.append(img)
        d_cls.append(cls)
        d_box.append(box)
        d_score.append(draw(score))
    dets = Detections(np.array(d_img, np.int64), np.array(d_cls, np.int64),
                      np.array(d_box, float), np.array(d_score, float))
    return gt, dets


@settings(max_examples=250, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(fixtures())
def test_twelve_stats_equal_pycocotools(fixture):
    gt, dets = fixture
    assert_same_as_pycocotools(gt, dets)


def test_more_than_100_detections_per_image_and_class():
    """maxDets=100 cuts per (image, class) by score, ties at the cut in file order."""
    rng = np.random.default_rng(3)
    n_obj = 40
    xy = rng.integers(0, 500, (n_obj, 2))
    wh = rng.integers(5, 150, (n_obj, 2))
    gt = GroundTruth(np.zeros(n_obj, np.int64), rng.integers(0, 2, n_obj),
                     np.concatenate([xy, wh], 1).astype(float), rng.random(n_obj) < 0.1,
                     ["a", "b"], 2)
    # 90 background boxes at scores 0.9/0.8, then hits on every object, all at 0.5: the
    # cut at 100 falls inside the tied hits of class a, the rest of which are lost.
    bg = np.concatenate([rng.integers(600, 900, (90, 2)), rng.integers(5, 50, (90, 2))], 1)
    boxes = np.concatenate([bg, gt.boxes, gt.boxes + 1.0]).astype(float)
    cls = np.concatenate([np.zeros(90, np.int64), gt.cls, gt.cls])
    score = np.concatenate([rng.choice([0.9, 0.8], 90), np.full(2 * n_obj, 0.5)])
    dets = Detections(np.zeros(len(cls), np.int64), cls, boxes, score)
    assert np.count_nonzero(cls == 0) > 100
    assert_same_as_pycocotools(gt, dets)


def test_no_overlaps_at_all_and_no_ground_truth_class():
    gt = GroundTruth(np.array([0]), np.array([0]), np.array([[0, 0, 20, 20.]]),
                     np.array([False]), ["a", "b"], 1)
    dets = Detections(np.array([0, 0]), np.array([0, 1]),
                      np.array([[100, 100, 5, 5], [0, 0, 20, 20.]]), np.array([0.9, 0.8]))
    assert_same_as_pycocotools(gt, dets)


def test_empty_detections_give_zeros():
    gt = GroundTruth(np.array([0, 0]), np.array([0, 1]),
                     np.array([[0, 0, 10, 10], [0, 0, 200, 200.]]), np.array([False, False]),
                     ["a", "b"], 1)
    stats = coco_evaluate(gt, Detections.empty()).stats
    # Small and large objects exist, medium ones do not (pycocotools' -1).
    np.testing.assert_array_equal(stats, [0, 0, 0, 0, -1, 0, 0, 0, 0, 0, -1, 0])


def test_crowd_rule_matches_pycocotools_iou():
    """A crowd (difficult) object's IoU is intersection over the detection's own area."""
    d = np.array([[0, 0, 10, 10], [5, 5, 10, 10], [2.5, 1, 3, 40]])
    g = np.array([[0, 0, 20, 20], [3, 3, 4, 4.]])
    for crowd in ([0, 0], [1, 0], [1, 1]):
        ours = box_iou(d[:, None], g[None], np.array(crowd, bool)[None])
        ref = mask_utils.iou(d.tolist(), g.tolist(), crowd)
        np.testing.assert_array_equal(ours, ref)


def test_equal_iou_tie_takes_the_later_object():
    """pycocotools takes the last of equally good objects; the next detection notices."""
    gt = GroundTruth(np.array([0, 0]), np.array([0, 0]),
                     np.array([[0, 0, 10, 10], [2, 0, 10, 10.]]), np.array([False, False]),
                     ["a"], 1)
    dets = Detections(np.array([0, 0]), np.array([0, 0]),
                      np.array([[1, 0, 10, 10], [0, 0, 10, 10.]]), np.array([0.9, 0.8]))
    # The first detection (IoU 90/110 with both) takes object 2, so the second gets object
    # 1 at IoU 1: both are true positives at thresholds .5-.8. At .85-.95 the first is a
    # false positive ahead of one true positive: precision .5 up to recall .5 (51 of the
    # 101 recall points). Taking object 1 instead would give a different AP.
    expected = (7 * 1.0 + 3 * 0.5 * 51 / 101) / 10
    assert coco_evaluate(gt, dets).stats[0] == pytest.approx(expected, abs=1e-12)
    assert_same_as_pycocotools(gt, dets)


def test_detection_on_taken_object_falls_back_to_next_best():
    """COCO (unlike VOC) lets a detection whose best object is taken match another one."""
    gt = GroundTruth(np.array([0, 0]), np.array([0, 0]),
                     np.array([[0, 0, 10, 10], [2, 0, 10, 10.]]), np.array([False, False]),
                     ["a"], 1)
    dets = Detections(np.array([0, 0]), np.array([0, 0]),
                      np.array([[0, 0, 10, 10], [0.5, 0, 10, 10]]), np.array([0.9, 0.8]))
    stats = coco_evaluate(gt, dets).stats
    assert stats[1] == pytest.approx(1.0)      # AP50: both objects found
    assert_same_as_pycocotools(gt, dets)


def test_twelve_stats_bit_equal_on_a_detector_like_set():
    """The bench's kind of data (issue #12): many images and classes, ~43 detections per
    image near the objects (jittered, relabelled, duplicated) and on the background down to
    score 0.001, one object in ten difficult. The 12 numbers are pycocotools' to the bit."""
    rng = np.random.default_rng(12)
    n_img, n_cls = 60, 6
    g_img, g_cls, g_box, d_img, d_cls, d_box, d_score = [], [], [], [], [], [], []
    for i in range(n_img):
        n_obj = int(rng.integers(1, 13))
        wh = np.exp(rng.uniform(np.log(6), np.log(400), (n_obj, 2)))
        xy = rng.uniform(0, [640, 480] - np.minimum(wh, [639, 479]))
        box = np.floor(np.concatenate([xy, wh], 1))
        cls = rng.integers(0, n_cls, n_obj)
        g_img += [i] * n_obj
        g_cls += cls.tolist()
        g_box.append(box)
        src = rng.integers(0, n_obj, 2 * n_obj)
        near = box[src] + rng.normal(0, 0.15, (len(src), 4)) * box[src][:, [2, 3, 2, 3]]
        bg = np.concatenate([rng.uniform(0, 600, (43 - len(src), 2)),
                             np.exp(rng.uniform(np.log(6), np.log(300), (43 - len(src), 2)))], 1)
        b = np.concatenate([near, bg])
        b[:, 2:] = np.maximum(b[:, 2:], 1)
        d_img += [i] * len(b)
        d_cls += np.concatenate([np.where(rng.random(len(src)) < 0.85, cls[src],
                                          rng.integers(0, n_cls, len(src))),
                                 rng.integers(0, n_cls, len(bg))]).tolist()
        d_box.append(b.round(2))
        d_score += np.concatenate([rng.beta(5, 2, len(src)),
                                   rng.beta(1, 12, len(bg))]).clip(0.001, 1).round(5).tolist()
    gt = GroundTruth(np.array(g_img), np.array(g_cls), np.concatenate(g_box),
                     rng.random(len(g_img)) < 0.1, [f"c{k}" for k in range(n_cls)], n_img)
    dets = Detections(np.array(d_img), np.array(d_cls), np.concatenate(d_box), np.array(d_score))
    ref = pycocotools_eval(gt, dets)
    ours = coco_evaluate(gt, dets)
    assert np.array_equal(ours.stats, np.asarray(ref.stats))
    assert np.array_equal(ours.precision, ref.eval["precision"])
    assert np.array_equal(ours.recall, ref.eval["recall"])
    assert 0.05 < ours.stats[0] < 0.9          # a fixture with something to measure
