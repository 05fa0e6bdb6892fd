"""Drawing on RGB images: one colour per class, one way to outline a box and label it.

Used by `synth preview`, `pipeline predict` and the evaluation/compare-real galleries, so a
class has the same colour everywhere. Boxes are continuous 0-based pixels (x1, y1, x2, y2):
pixel column i spans [i, i + 1), so a box is outlined on columns round(x1) .. round(x2) - 1
and rows round(y1) .. round(y2) - 1 (a VOC box (xmin, ymin, xmax, ymax) is
(xmin - 1, ymin - 1, xmax, ymax)).
"""
from __future__ import annotations

import colorsys
import math
from typing import Sequence

import cv2
import numpy as np

RGB = tuple[int, int, int]
FONT = cv2.FONT_HERSHEY_SIMPLEX
LABEL_SCALE = 0.4
# Well-separated hues for the first classes; later ones step round the hue circle.
PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
           (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
           (0, 128, 128), (170, 110, 40)]
UNKNOWN = (200, 200, 200)   # an object whose class is not in the list
DIFFICULT_COLOUR = (150, 150, 150)  # a difficult object (preview, evaluation galleries)


def class_colour(index: int) -> RGB:
    """RGB colour of the class with this index (stable: depends on the index only)."""
    if 0 <= index < len(PALETTE):
        return PALETTE[index]
    if index < 0:
        return UNKNOWN
    h = (index * 0.6180339887) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, 0.8, 1.0)
    return (int(r * 255), int(g * 255), int(b * 255))


def _px(v: float) -> int:
    return int(math.floor(v + 0.5))


def box_edges(box: Sequence[float]) -> tuple[int, int, int, int]:
    """The outermost pixel columns and rows (x0, y0, x1, y1) of a continuous box."""
    x0, y0 = _px(box[0]), _px(box[1])
    return x0, y0, max(_px(box[2]) - 1, x0), max(_px(box[3]) - 1, y0)


def _dashed_line(img: np.ndarray, p0: tuple[int, int], p1: tuple[int, int], colour: RGB,
                 thickness: int, dash: int = 6) -> None:
    length = max(abs(p1[0] - p0[0]), abs(p1[1] - p0[1]))
    for start in range(0, length + 1, 2 * dash):
        end = min(start + dash, length)
        a = (p0[0] + (p1[0] - p0[0]) * start // max(length, 1),
             p0[1] + (p1[1] - p0[1]) * start // max(length, 1))
        b = (p0[0] + (p1[0] - p0[0]) * end // max(length, 1),
             p0[1] + (p1[1] - p0[1]) * end // max(length, 1))
        cv2.line(img, a, b, colour, thickness)


def draw_box(img: np.ndarray, box: Sequence[float], colour: RGB, thickness: int = 1,
             dashed: bool = False) -> tuple[int, int]:
    """Outline a continuous box in place (dashed: for truncated objects); returns its
    top-left pixel, where a label goes."""
    # A box may lie far outside the image (detections do); OpenCV takes int32 coordinates.
    h, w = img.shape[:2]
    box = [min(max(float(v), -2.0), side + 2.0) for v, side in zip(box, (w, h, w, h))]
    x0, y0, x1, y1 = box_edges(box)
    if dashed:
        for p, q in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)),
                     ((x0, y1), (x0, y0))):
            _dashed_line(img, p, q, colour, thickness)
    else:
        cv2.rectangle(img, (x0, y0), (x1, y1), colour, thickness)
    return x0, y0


def draw_label(img: np.ndarray, text: str, x: int, y: int, colour: RGB,
               scale: float = LABEL_SCALE, thickness: int = 1) -> None:
    """Text on a filled strip of `colour` just above (x, y), or just inside when there is
    no room above; black or white ink, whichever reads on the colour."""
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thickness)
    h = th + base + 2
    top = y - h if y - h >= 0 else y
    x = min(max(x, 0), max(img.shape[1] - tw - 4, 0))
    cv2.rectangle(img, (x, top), (x + tw + 3, top + h - 1), colour, cv2.FILLED)
    luma = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
    ink = (0, 0, 0) if luma > 128 else (255, 255, 255)
    cv2.putText(img, text, (x + 2, top + th + 1), FONT, scale, ink, thickness, cv2.LINE_AA)


def text_fits(text: str, width: int, scale: float = LABEL_SCALE) -> bool:
    """Whether `text` in the label font is at most `width` pixels wide."""
    return cv2.getTextSize(text, FONT, scale, 1)[0][0] <= width


def line_width(img: np.ndarray) -> int:
    """A box outline width that reads at this image's size (1 px per 400 px of its longer side)."""
    return max(1, round(max(img.shape[:2]) / 400))
