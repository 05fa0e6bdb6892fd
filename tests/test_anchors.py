"""Anchors: darknet defaults, corner-aligned IoU, k-means with IoU distance."""
import numpy as np
import pytest

from detector.model.anchors import (default_anchors, kmeans_anchors, mean_best_iou, split_masks,
                              wh_iou)


def test_default_anchors():
    assert default_anchors("yolov3").shape == (9, 2)
    assert default_anchors("yolov3")[-1].tolist() == [373, 326]
    assert default_anchors("yolov3-tiny")[0].tolist() == [10, 14]
    with pytest.raises(ValueError):
        default_anchors("yolov5")


def test_wh_iou_by_hand():
    # 10x20 vs 20x10 aligned at a corner: overlap 10x10 = 100, union 200 + 200 - 100 = 300.
    assert wh_iou(np.array([[10, 20]]), np.array([[20, 10]]))[0, 0] == pytest.approx(1 / 3)
    # 4x4 inside 8x8: 16 / 64.
    assert wh_iou(np.array([[4, 4]]), np.array([[8, 8], [4, 4]])).tolist() == [[0.25, 1.0]]


def test_split_masks():
    assert split_masks(9, 3) == ((6, 7, 8), (3, 4, 5), (0, 1, 2))
    assert split_masks(6, 2) == ((3, 4, 5), (0, 1, 2))
    with pytest.raises(ValueError):
        split_masks(7, 3)


def _planted(seed=1):
    rng = np.random.default_rng(seed)
    centers = np.array([[12, 16], [40, 90], [120, 60], [200, 220]], dtype=float)  # pixels
    wh = np.concatenate([c * np.exp(rng.normal(0, 0.05, (300, 2))) for c in centers])
    return centers, wh


def test_kmeans_recovers_planted_clusters():
    centers, wh_px = _planted()
    anchors = kmeans_anchors(wh_px / 416, k=4, img_size=416, seed=0)
    assert anchors.shape == (4, 2)
    assert np.all(np.diff(anchors.prod(1)) > 0)  # sorted by area
    assert np.allclose(anchors, centers, rtol=0.05)


def test_kmeans_improves_mean_best_iou_over_defaults():
    _, wh_px = _planted()
    before = mean_best_iou(wh_px, default_anchors("yolov3"))
    anchors = kmeans_anchors(wh_px / 416, k=9, img_size=416, seed=0)
    after = mean_best_iou(wh_px, anchors)
    assert after > before + 0.1
    assert after > 0.9


def test_kmeans_is_deterministic_by_seed_and_scales_with_img_size():
    _, wh_px = _planted()
    wh = wh_px / 416
    a = kmeans_anchors(wh, k=6, img_size=416, seed=3)
    b = kmeans_anchors(wh, k=6, img_size=416, seed=3)
    assert np.array_equal(a, b)
    c = kmeans_anchors(wh, k=6, img_size=832, seed=3)
    assert np.allclose(c, 2 * a)


def test_kmeans_rejects_too_few_boxes():
    with pytest.raises(ValueError):
        kmeans_anchors(np.array([[0.1, 0.1], [0.0, 0.2]]), k=2, img_size=416)
