"""TIDE-style error breakdown on hand-made scenes with exactly one error each."""
from __future__ import annotations

import numpy as np
import pytest

from detector.evaluation.metrics import overlapping_pairs, voc_evaluate
from detector.evaluation.tide import ERROR_TYPES, error_breakdown
from tests.helpers import make_dets, make_gt

A, B = 0, 1
BOX = [0, 0, 10, 10]


def breakdown(gt_rows, det_rows, conf=0.0):
    gt, dets = make_gt(gt_rows, ["a", "b"]), make_dets(det_rows)
    pairs = overlapping_pairs(gt, dets)
    voc = voc_evaluate(gt, dets, pairs)
    return error_breakdown(gt, dets, pairs, voc, conf=conf), voc


def totals(counts):
    return {t: int(counts[t].sum()) for t in ERROR_TYPES}


def only(name, where=None):
    out = {t: 0 for t in ERROR_TYPES}
    out[name] = 1
    return out


def test_localisation_error():
    # Right class, IoU 50/150 = 1/3: poor box. The object is explained by it, no miss.
    e, voc = breakdown([(0, A, BOX, False)], [(0, A, [5, 0, 10, 10], 0.9)])
    assert totals(e.counts) == only("loc")
    assert e.counts["loc"].tolist() == [1, 0]
    # Fixed, the detection becomes the object's true positive: AP 0 -> 1.
    assert e.delta_ap["loc"][A] == pytest.approx(1.0)
    assert e.delta_map["loc"] == pytest.approx(1.0)
    assert all(e.delta_map[t] == 0 for t in ERROR_TYPES if t != "loc")


def test_classification_error():
    # Box exactly on an "a", labelled "b": counted under b, fixed into a's true positive.
    e, voc = breakdown([(0, A, BOX, False)], [(0, B, BOX, 0.9)])
    assert totals(e.counts) == only("cls")
    assert e.counts["cls"].tolist() == [0, 1]
    assert e.delta_ap["cls"][A] == pytest.approx(1.0)
    assert np.isnan(e.delta_ap["cls"][B])          # b has no objects


def test_duplicate_error():
    # Two objects; the second-best hit on object 1 is a duplicate ranked above object 2's.
    gt = [(0, A, BOX, False), (0, A, [50, 50, 10, 10], False)]
    dets = [(0, A, BOX, 0.9), (0, A, [0, 0, 10, 11], 0.8), (0, A, [50, 50, 10, 10], 0.7)]
    e, voc = breakdown(gt, dets)
    assert totals(e.counts) == only("dupe")
    assert e.kind_of("dupe").tolist() == [False, True, False]
    # Base AP: (.5, 1) (.5, .5) (1, 2/3) -> .5 + .5*2/3; without the duplicate: 1.
    assert e.delta_ap["dupe"][A] == pytest.approx(1 - (0.5 + 0.5 * 2 / 3))


def test_background_error():
    e, voc = breakdown([(0, A, BOX, False)],
                       [(0, A, [60, 60, 10, 10], 0.9), (0, A, BOX, 0.5)])
    assert totals(e.counts) == only("bkg")
    assert e.delta_ap["bkg"][A] == pytest.approx(0.5)     # AP .5 -> 1


def test_both_error():
    # Wrong class and poor box (IoU 1/3 with the "a"); the "a" is found by another detection.
    e, voc = breakdown([(0, A, BOX, False)],
                       [(0, B, [5, 0, 10, 10], 0.9), (0, A, BOX, 0.5)])
    assert totals(e.counts) == only("both")
    assert e.counts["both"].tolist() == [0, 1]


def test_missed_object():
    e, voc = breakdown([(0, A, BOX, False), (0, A, [50, 50, 10, 10], False)],
                       [(0, A, BOX, 0.9)])
    assert totals(e.counts) == only("miss")
    assert e.missed.tolist() == [False, True]
    assert e.delta_ap["miss"][A] == pytest.approx(0.5)    # recall 1/2 -> 1/1


def test_order_loc_before_cls_and_difficult_is_no_miss():
    # Same-class IoU 1/3 and other-class IoU 1: the order says loc first.
    gt = [(0, A, BOX, False), (0, B, [5, 0, 10, 10], False), (0, A, [80, 80, 5, 5], True)]
    e, voc = breakdown(gt, [(0, A, [5, 0, 10, 10], 0.9), (0, B, [5, 0, 10, 10], 0.8)])
    assert totals(e.counts) == only("loc")


def test_counts_at_confidence_versus_all():
    gt = [(0, A, BOX, False)]
    dets = [(0, A, BOX, 0.9), (0, A, [60, 60, 10, 10], 0.1), (0, A, [5, 0, 10, 10], 0.05)]
    e, voc = breakdown(gt, dets, conf=0.25)
    assert totals(e.counts) == {t: 0 for t in ERROR_TYPES}
    assert totals(e.counts_all) == {"cls": 0, "loc": 1, "both": 0, "dupe": 0, "bkg": 1,
                                    "miss": 0}
    # Missed counts depend on the confidence too.
    e, voc = breakdown(gt, [(0, A, BOX, 0.1)], conf=0.25)
    assert totals(e.counts)["miss"] == 1 and totals(e.counts_all)["miss"] == 0
