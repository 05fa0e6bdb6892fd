"""Letterboxing: the one resize-and-pad between image pixels and network-input pixels.

Boxes are continuous 0-based pixel boxes (x1, y1, x2, y2): pixel column i spans [i, i + 1),
so a VOC box (xmin, ymin, xmax, ymax) is (xmin - 1, ymin - 1, xmax, ymax). A letterboxed
point is exactly `p * scale + pad` of the original point, on both axes: the same `scale`
for x and y, and integer pads.
"""
from __future__ import annotations

from typing import TypeVar

import cv2
import numpy as np

B = TypeVar("B")  # a numpy array or a torch tensor of boxes [..., 4]

# Below this scale a bilinear warp skips pixels (aliasing); shrink by pixel area first.
_AREA_BELOW = 0.5


def letterbox_geometry(width: int, height: int, new_size: int | tuple[int, int]
                       ) -> tuple[float, tuple[int, int]]:
    """The (scale, (pad_x, pad_y)) that fits a width x height image into `new_size`."""
    out_w, out_h = (new_size, new_size) if isinstance(new_size, int) else new_size
    scale = min(out_w / width, out_h / height)
    pad_x = (out_w - int(round(width * scale))) // 2
    pad_y = (out_h - int(round(height * scale))) // 2
    return scale, (pad_x, pad_y)


def letterbox(img: np.ndarray, new_size: int | tuple[int, int], color: int | tuple = 114
              ) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Resize `img` keeping its aspect ratio and pad it to `new_size` (int or (w, h)).

    Returns (image, scale, (pad_x, pad_y)): original continuous pixel p lands at
    p * scale + pad in the result.
    """
    out_w, out_h = (new_size, new_size) if isinstance(new_size, int) else new_size
    h, w = img.shape[:2]
    scale, (pad_x, pad_y) = letterbox_geometry(w, h, (out_w, out_h))
    channels = 1 if img.ndim == 2 else img.shape[2]
    fill = (color,) * channels if np.isscalar(color) else tuple(color)
    rw, rh = w * scale, h * scale
    if abs(rw - round(rw)) < 1e-6 and abs(rh - round(rh)) < 1e-6:
        # Whole-pixel size: a plain resize is exactly the uniform scale; pad around it.
        rw, rh = int(round(rw)), int(round(rh))
        if (rw, rh) != (w, h):
            interp = cv2.INTER_AREA if scale < _AREA_BELOW else cv2.INTER_LINEAR
            img = cv2.resize(img, (rw, rh), interpolation=interp)
        out = cv2.copyMakeBorder(img, pad_y, out_h - rh - pad_y, pad_x, out_w - rw - pad_x,
                                 cv2.BORDER_CONSTANT, value=fill)
    else:
        out = _warp_scaled(img, scale, (pad_x, pad_y), (out_w, out_h), fill)
    if out.ndim == 2 and img.ndim == 3:  # cv2 drops a single channel axis
        out = out[..., None]
    return out, scale, (pad_x, pad_y)


def _warp_scaled(img: np.ndarray, scale: float, pad: tuple[int, int], out_size: tuple[int, int],
                 fill: tuple) -> np.ndarray:
    """Scale by exactly `scale` and shift by `pad` in one warp (a fractional content size)."""
    h, w = img.shape[:2]
    sx = sy = scale
    if scale < _AREA_BELOW:
        rw, rh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
        img = cv2.resize(img, (rw, rh), interpolation=cv2.INTER_AREA)
        sx, sy = scale * w / rw, scale * h / rh  # what is left to reach `scale` exactly
    # Continuous X' = s X + p is, in pixel-centre (index) coordinates, x' = s x + p + (s - 1) / 2.
    m = np.array([[sx, 0.0, pad[0] + (sx - 1) / 2], [0.0, sy, pad[1] + (sy - 1) / 2]])
    return cv2.warpAffine(img, m, out_size, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=fill)


def boxes_to_letterbox(boxes: B, scale: float, pad: tuple[float, float]) -> B:
    """Map [..., 4] x1, y1, x2, y2 boxes from original to letterboxed pixels."""
    out = boxes * 1.0  # a float copy, numpy or torch alike
    out[..., 0::2] = boxes[..., 0::2] * scale + pad[0]
    out[..., 1::2] = boxes[..., 1::2] * scale + pad[1]
    return out


def boxes_from_letterbox(boxes: B, scale: float, pad: tuple[float, float],
                         clip_to: tuple[int, int] | None = None) -> B:
    """Map [..., 4] x1, y1, x2, y2 boxes from letterboxed back to original pixels.

    `clip_to=(width, height)` clips the result to the original image.
    """
    out = boxes * 1.0
    out[..., 0::2] = (boxes[..., 0::2] - pad[0]) / scale
    out[..., 1::2] = (boxes[..., 1::2] - pad[1]) / scale
    if clip_to is not None:
        out[..., 0::2] = out[..., 0::2].clip(0, clip_to[0])
        out[..., 1::2] = out[..., 1::2].clip(0, clip_to[1])
    return out
