"""The evaluation report's plots as PNG bytes: PR curves per class, the error breakdown and
the confusion matrix, drawn on canvas.py's PIL canvas (no matplotlib: see canvas.py).

Each plot's geometry is a plain function (`pr_panel`, `confusion_layout`, `errors_layout`)
that the drawing and the tests share, so a test can check the pixels a number should colour.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .canvas import Canvas, mix, nice_ticks, ramp, text_width, tick_text
from .tide import ERROR_TYPES

if TYPE_CHECKING:  # evaluate.py builds the Evaluation these plots draw
    from .evaluate import Evaluation

ERROR_COLOURS = {"cls": "#e6550d", "loc": "#3182bd", "both": "#9e9ac8", "dupe": "#fdae6b",
                 "bkg": "#636363", "miss": "#d62728"}
CURVE, BEST, FRAME, GRID, GREY = "#3182bd", "#e6550d", "#888888", "#dddddd", "#555555"
FILL = mix(CURVE, 0.15)

# PR curves: panel size and the gaps and margins around panels, in pixels.
PANEL_W, PANEL_H, GAP_X, GAP_Y = 176, 136, 40, 56
PR_LEFT, PR_TOP, PR_RIGHT, PR_BOTTOM = 56, 56, 16, 40


# ----------------------------------------------------------------------------- PR curves
def pr_panel(k: int, cols: int) -> tuple[int, int]:
    """Top-left pixel of class k's panel in the PR-curve grid of `cols` columns."""
    return PR_LEFT + (k % cols) * (PANEL_W + GAP_X), PR_TOP + (k // cols) * (PANEL_H + GAP_Y)


def pr_step(recall: np.ndarray, precision: np.ndarray, n: int = 400
            ) -> tuple[np.ndarray, np.ndarray]:
    """(recall, interpolated precision) vertices of the PR step curve, at most ~2n of them:
    precision p_i holds on (r_{i-1}, r_i], the area under it is the all-point AP."""
    p = np.maximum.accumulate(precision[::-1])[::-1]
    r = recall
    if len(r) > n:  # two points a pixel is plenty
        i = np.unique(np.linspace(0, len(r) - 1, n).astype(int))
        r, p = r[i], p[i]
    r0 = np.concatenate(([0.0], r))
    xs = np.repeat(r0, 2)[1:-1]
    ys = np.repeat(p, 2)
    return xs, ys


def plot_pr_curves(ev: Evaluation, cols: int = 5) -> bytes:
    """Precision-recall curve per class (IoU 0.5, interpolated), best-F1 point marked."""
    K = len(ev.classes)
    cols = max(1, min(cols, K))
    rows = max(1, math.ceil(K / cols))
    width = PR_LEFT + cols * PANEL_W + (cols - 1) * GAP_X + PR_RIGHT
    height = PR_TOP + rows * PANEL_H + (rows - 1) * GAP_Y + PR_BOTTOM
    c = Canvas(width, height)
    c.text(width / 2, 12, "Precision–recall at IoU 0.5 (orange dot: best F1)", 15, anchor="mt")
    for k, name in enumerate(ev.classes):
        x0, y0 = pr_panel(k, cols)

        def px(r, p):
            return x0 + np.asarray(r) * PANEL_W, y0 + (1 - np.asarray(p)) * PANEL_H

        curve = ev.voc.curves[k]
        drawn = curve.n_gt > 0 and len(curve.recall) > 0
        if drawn:
            xs, ys = px(*pr_step(curve.recall, curve.precision, n=2 * PANEL_W))
            points = np.column_stack([xs, ys])
            c.polygon(np.vstack([points, [(xs[-1], y0 + PANEL_H), (x0, y0 + PANEL_H)]]), FILL)
        c.line([(x0 + PANEL_W / 2, y0), (x0 + PANEL_W / 2, y0 + PANEL_H)], GRID)
        c.line([(x0, y0 + PANEL_H / 2), (x0 + PANEL_W, y0 + PANEL_H / 2)], GRID)
        if drawn:
            c.line(points, CURVE, 2)
            best = curve.best_f1()
            bx, by = px(best["recall"], best["precision"])
            c.dot(float(bx), float(by), 4, BEST)
            title = f"{name}  AP50 {ev.voc.ap[k]:.2f}"
        else:
            title = f"{name}  ({'no objects' if curve.n_gt == 0 else 'no detections'})"
        c.rect(x0, y0, x0 + PANEL_W + 1, y0 + PANEL_H + 1, outline=FRAME)
        c.text(x0 + PANEL_W / 2, y0 - 6, title, 12, anchor="mb")
        ticks = ((0, "0"), (0.5, ".5"), (1, "1"))
        if k % cols == 0:
            for v, s in ticks:
                c.text(x0 - 4, y0 + (1 - v) * PANEL_H, s, 10, GREY, anchor="rm")
            c.text(x0 - 22, y0 + PANEL_H / 2, "precision", 11, anchor="mm", vertical=True)
        if k >= K - cols:
            for v, s in ticks:
                c.text(x0 + v * PANEL_W, y0 + PANEL_H + 4, s, 10, GREY, anchor="mt")
            c.text(x0 + PANEL_W / 2, y0 + PANEL_H + 18, "recall", 11, anchor="mt")
    return c.png()


# ----------------------------------------------------------------------------- confusion
@dataclass
class ConfusionLayout:
    """Where plot_confusion puts things: the cell grid's top-left pixel and cell size."""

    left: int
    top: int
    cell: int
    width: int
    height: int
    label_px: int


def confusion_layout(labels: list[str]) -> ConfusionLayout:
    """The confusion plot's geometry for these row/column labels."""
    n = len(labels)
    cell = max(30, min(80, round(405 / n)))
    label_px = 12 if cell >= 40 else 11
    lab = max(text_width(s, label_px) for s in labels)
    left, top = 30 + lab + 8, 40
    side = n * cell
    return ConfusionLayout(left=left, top=top, cell=cell, width=left + side + 90,
                           height=top + side + 8 + lab + 36, label_px=label_px)


def plot_confusion(matrix: np.ndarray, labels: list[str], conf: float, iou: float) -> bytes:
    """Confusion heat-map, rows normalised (true class → where its objects went): the cells
    are one image, the counts one text each."""
    n = len(labels)
    g = confusion_layout(labels)
    side = n * g.cell
    c = Canvas(g.width, g.height)
    totals = matrix.sum(axis=1, keepdims=True)
    frac = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    c.rect(g.left - 1, g.top - 1, g.left + side + 1, g.top + side + 1, outline="#000000")
    cells = np.repeat(np.repeat(ramp(frac), g.cell, axis=0), g.cell, axis=1)
    c.pixels(cells, g.left, g.top)
    if n <= 30:
        count_px = max(9, min(14, g.cell // 3))
        for i, j in zip(*np.nonzero(matrix)):
            c.text(g.left + (j + 0.5) * g.cell, g.top + (i + 0.5) * g.cell, str(matrix[i, j]),
                   count_px, "#ffffff" if frac[i, j] > 0.6 else "#000000")
    for i, name in enumerate(labels):
        mid = (i + 0.5) * g.cell
        c.text(g.left - 5, g.top + mid, name, g.label_px, anchor="rm")
        c.text(g.left + mid, g.top + side + 5, name, g.label_px, anchor="mt", vertical=True)
    lab = max(text_width(s, g.label_px) for s in labels)
    c.text(g.left + side / 2, g.top + side + 5 + lab + 10, "predicted class (background: missed)",
           13, anchor="mt")
    c.text(12, g.top + side / 2, "true class (background: false alarm)", 13, anchor="mm",
           vertical=True)
    c.text(g.left + side / 2, g.top - 10, f"conf ≥ {conf:g}, IoU ≥ {iou:g}", 13, anchor="mb")
    bar = g.left + side + 14
    c.pixels(np.repeat(ramp(np.linspace(1, 0, side))[:, None], 16, axis=1), bar, g.top)
    c.rect(bar - 1, g.top - 1, bar + 17, g.top + side + 1, outline="#000000")
    for v in nice_ticks(0, 1, 5):
        y = g.top + (1 - v) * (side - 1)
        c.line([(bar + 16, y), (bar + 20, y)], "#000000")
        c.text(bar + 23, y, f"{v:.1f}", 11, anchor="lm")
    return c.png()


# ----------------------------------------------------------------------------- errors
def _axis(c: Canvas, x0: int, x1: int, y0: int, y1: int, lo: float, hi: float, label: str
          ) -> tuple[float, float]:
    """Vertical grid, ticks and label of an x axis over [lo, hi]; the axis's (scale, offset)."""
    scale = (x1 - x0) / (hi - lo)
    for v in nice_ticks(lo, hi, 7):
        x = x0 + (v - lo) * scale
        c.line([(x, y0), (x, y1)], "#e8e8e8")
        c.line([(x, y1), (x, y1 + 4)], "#000000")
        c.text(x, y1 + 6, tick_text(v), 11, anchor="mt")
    c.text((x0 + x1) / 2, y1 + 24, label, 12, anchor="mt")
    return scale, x0 - lo * scale


@dataclass
class ErrorsLayout:
    """Where plot_errors puts things: the two panels' x ranges and their common y range."""

    left: tuple[int, int]    # the error-type bars' panel
    right: tuple[int, int]   # the per-class stacked bars' panel
    top: int
    bottom: int
    width: int
    height: int


def errors_layout(classes: list[str]) -> ErrorsLayout:
    """The error plot's geometry for these classes."""
    height = max(330, 44 + len(classes) * 22 + 56)
    width = 1080
    lx0 = 24 + max(text_width(t, 12) for t in ERROR_TYPES)
    rx0 = 530 + max((text_width(name, 10) for name in classes), default=0)
    return ErrorsLayout(left=(lx0, 500), right=(rx0, width - 20), top=44, bottom=height - 56,
                        width=width, height=height)


def errors_scale(counts: np.ndarray) -> float:
    """The right panel's x range: the largest class total plus 5% (at least 1)."""
    return max(float(counts.sum(axis=1).max()) if len(counts) else 0.0, 1.0) * 1.05


def plot_errors(ev: Evaluation) -> bytes:
    """Left: mAP50 each error type costs; right: error counts per class at conf."""
    g = errors_layout(ev.classes)
    c = Canvas(g.width, g.height)
    y0, y1 = g.top, g.bottom
    # Left: one bar per error type.
    (lx0, lx1), (rx0, rx1) = g.left, g.right
    dm = [ev.errors.delta_map[t] * 100 for t in ERROR_TYPES]
    lo, hi = min(0.0, min(dm)), max(max(dm), 0.1) * 1.15
    scale, off = _axis(c, lx0, lx1, y0, y1, lo, hi, "mAP50 points gained if this error type "
                                                    "were fixed")
    band = (y1 - y0) / len(ERROR_TYPES)
    for i, (t, v) in enumerate(zip(ERROR_TYPES, dm)):
        ym = y0 + (i + 0.5) * band
        a, b = sorted((off, off + v * scale))
        c.rect(a, ym - 0.4 * band, b, ym + 0.4 * band, fill=ERROR_COLOURS[t])
        c.text(lx0 - 6, ym, t, 12, anchor="rm")
        c.text(off + max(v, 0) * scale + 4, ym, f"{v:.1f}", 10, anchor="lm")
    c.rect(lx0, y0, lx1 + 1, y1 + 1, outline=GREY)
    c.text((lx0 + lx1) / 2, y0 - 10, "What each error type costs", 12, anchor="mb")
    # Right: the error counts of each class, stacked by type.
    counts = np.stack([ev.errors.counts[t] for t in ERROR_TYPES], axis=1).astype(np.float64)
    scale, off = _axis(c, rx0, rx1, y0, y1, 0, errors_scale(counts),
                       f"errors per class at conf ≥ {ev.conf:g}")
    band = (y1 - y0) / max(len(ev.classes), 1)
    for k, name in enumerate(ev.classes):
        ym = y0 + (k + 0.5) * band
        left = 0.0
        for t, v in zip(ERROR_TYPES, counts[k]):
            c.rect(off + left * scale, ym - 0.4 * band, off + (left + v) * scale,
                   ym + 0.4 * band, fill=ERROR_COLOURS[t])
            left += v
        c.text(rx0 - 6, ym, name, 10, anchor="rm")
    c.rect(rx0, y0, rx1 + 1, y1 + 1, outline=GREY)
    x = rx0
    for t in ERROR_TYPES:
        c.rect(x, y0 - 22, x + 12, y0 - 12, fill=ERROR_COLOURS[t])
        c.text(x + 16, y0 - 17, t, 11, anchor="lm")
        x += 16 + text_width(t, 11) + 14
    return c.png()


def render_plots(ev: Evaluation) -> dict[str, bytes]:
    """All plots of an evaluation as {file name: PNG bytes}."""
    return {"pr_curves.png": plot_pr_curves(ev),
            "errors.png": plot_errors(ev),
            "confusion.png": plot_confusion(ev.confusion, list(ev.classes) + ["background"],
                                            ev.conf, ev.iou)}
