"""The evaluation plots (drawn without matplotlib): each PNG decodes to the size its layout
says, and the pixels show the numbers: confusion cells in the colour of their row share,
PR fills up to the interpolated precision, error bars as long as their counts."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.evaluation.canvas import BLUES, nice_ticks, ramp, rgb
from detector.evaluation.detections import Detections, read_detections
from detector.evaluation.evaluate import evaluate
from detector.evaluation.plots import (ERROR_COLOURS, FILL, PANEL_H, PANEL_W, confusion_layout,
                                       errors_layout, errors_scale, plot_confusion,
                                       plot_errors, plot_pr_curves, pr_panel)
from detector.evaluation.tide import ERROR_TYPES
from synth.voc import VocImage, VocSet, read_voc_set
from tests.helpers import box, make_voc_set


def decode(png: bytes) -> np.ndarray:
    """RGB pixels of PNG bytes."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    bgr = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    return bgr[..., ::-1].astype(int)


def test_colour_map_and_ticks():
    assert ramp(np.array([0.0]))[0].tolist() == list(rgb(BLUES[0]))
    assert ramp(np.array([1.0]))[0].tolist() == list(rgb(BLUES[-1]))
    assert ramp(np.array([0.5]))[0].tolist() == list(rgb(BLUES[4]))   # the middle stop
    assert nice_ticks(0, 1, 5) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 1575, 7) == [0, 250, 500, 750, 1000, 1250, 1500]


def test_confusion_cells_show_each_rows_share():
    matrix = np.array([[8, 2, 0], [0, 0, 0], [1, 3, 4]])
    labels = ["cat", "dog", "background"]
    img = decode(plot_confusion(matrix, labels, 0.25, 0.5))
    g = confusion_layout(labels)
    assert img.shape == (g.height, g.width, 3)
    frac = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    for i in range(3):
        for j in range(3):
            y, x = g.top + i * g.cell, g.left + j * g.cell
            cell = img[y:y + g.cell, x:x + g.cell]
            want = ramp(np.array([frac[i, j]]))[0]
            assert np.abs(cell[2, 2] - want).max() <= 1, (i, j)      # a corner: no text
            ink = np.abs(cell - want).max(axis=2) > 60
            assert ink.any() == (matrix[i, j] > 0), (i, j)          # a count, or nothing
            if matrix[i, j]:  # white on dark cells, black on light ones
                centre = cell[g.cell // 4:-g.cell // 4, g.cell // 4:-g.cell // 4][
                    ink[g.cell // 4:-g.cell // 4, g.cell // 4:-g.cell // 4]]
                assert (centre.mean() > 128) == (frac[i, j] > 0.6), (i, j)


def _one_class_evaluation() -> tuple:
    """Class a: 4 objects, hits at scores .9 .8, a miss-fire at .7, a hit at .6, so the
    interpolated precision is 1 up to recall .5, then .75 up to .75; class b: no detections."""
    objects = [box("a", 10 + 40 * k, 10, 30, 30) for k in range(4)] + [box("b", 10, 60, 30, 30)]
    voc_set = VocSet(Path("mem"), ["a", "b"], [VocImage("im", "im.jpg", 200, 100, 3, objects)])
    boxes = np.array([[10, 10, 30, 30], [50, 10, 30, 30], [150, 60, 30, 30], [90, 10, 30, 30]],
                     float)
    dets = Detections(np.zeros(4, np.int64), np.zeros(4, np.int64), boxes,
                      np.array([0.9, 0.8, 0.7, 0.6]))
    return evaluate(voc_set, dets), voc_set


def test_pr_curve_fills_up_to_the_interpolated_precision():
    ev, _ = _one_class_evaluation()
    img = decode(plot_pr_curves(ev))
    x0, y0 = pr_panel(0, 2)
    assert pr_panel(1, 2) == (x0 + PANEL_W + 40, y0)
    fill, white = np.array(FILL), np.array([255, 255, 255])

    def at(k: int, r: float, p: float) -> np.ndarray:
        px, py = pr_panel(k, 2)
        return img[round(py + (1 - p) * PANEL_H), round(px + r * PANEL_W)]

    for r, filled_to in ((0.2, 1.0), (0.35, 1.0), (0.6, 0.75), (0.7, 0.75), (0.9, 0.0)):
        for p in (0.1, 0.3, 0.65, 0.9):
            want = fill if p < filled_to - 0.03 else white
            assert np.abs(at(0, r, p) - want).max() <= 2, (r, p)
    # Class b has objects but no detections: its panel is empty.
    px, py = pr_panel(1, 2)
    inside = img[py + 3:py + PANEL_H - 3, px + 3:px + PANEL_W - 3]
    assert not (np.abs(inside - fill).max(axis=2) <= 2).any()


@pytest.fixture(scope="module")
def shapes_evaluation(tmp_path_factory):
    root = tmp_path_factory.mktemp("plots") / "voc"
    det_path = make_voc_set(root, n_images=12)
    voc_set = read_voc_set(root)
    return evaluate(voc_set, read_detections(det_path, voc_set))


def test_error_bars_are_as_long_as_their_counts(shapes_evaluation):
    ev = shapes_evaluation
    img = decode(plot_errors(ev))
    g = errors_layout(ev.classes)
    assert img.shape == (g.height, g.width, 3)
    counts = np.stack([ev.errors.counts[t] for t in ERROR_TYPES], axis=1)
    assert counts.sum() > 0
    (rx0, rx1) = g.right
    scale = (rx1 - rx0) / errors_scale(counts.astype(float))
    band = (g.bottom - g.top) / len(ev.classes)
    for k in range(len(ev.classes)):
        row = img[round(g.top + (k + 0.5) * band), rx0:rx1]
        for t, n in zip(ERROR_TYPES, counts[k]):
            width = int((np.abs(row - np.array(rgb(ERROR_COLOURS[t]))).max(axis=1) <= 1).sum())
            assert abs(width - n * scale) <= 1.5, (ev.classes[k], t, width, n * scale)
