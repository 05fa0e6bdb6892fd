"""Reading user images into 8-bit RGB(A) arrays, whatever their mode, depth or EXIF rotation,
their headers (size, EXIF orientation) without decoding, and boxes through an EXIF rotation."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InputError

# The image files every reader accepts (compared lower-case: photo.JPG is a photo).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def is_image_file(path: str | os.PathLike) -> bool:
    """Whether a path names an image by its suffix (any case)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES

Image.MAX_IMAGE_PIXELS = 20000 * 20000


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16:
        return (arr >> 8).astype(np.uint8)
    if arr.dtype in (np.int32, np.uint32):  # PIL "I" mode: 16-bit greyscale PNGs land here
        top = 65535 if arr.max(initial=0) > 255 else 255
        return np.clip(arr.astype(np.float64) * 255.0 / top + 0.5, 0, 255).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.floating):
        return np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    raise InputError(f"unsupported pixel type {arr.dtype}")


def pil_to_array(img: Image.Image, alpha: bool = False) -> np.ndarray:
    """Convert any PIL image (L, LA, P, RGB, RGBA, CMYK, I;16, I, F, 1) to uint8 RGB or RGBA."""
    want = "RGBA" if alpha else "RGB"
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        grey = _to_uint8(np.asarray(img))
        rgb = np.repeat(grey[..., None], 3, axis=2)
        if alpha:
            rgb = np.concatenate([rgb, np.full(grey.shape + (1,), 255, np.uint8)], axis=2)
        return np.ascontiguousarray(rgb)
    if img.mode == want:
        return np.array(img)
    if img.mode == "P" and alpha:
        img = img.convert("RGBA")
    return np.array(img.convert(want))


def read_image(path: str | os.PathLike, alpha: bool = False) -> np.ndarray:
    """Read an image file as uint8 RGB (or RGBA), applying its EXIF orientation."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            if img.getexif().get(EXIF_ORIENTATION, 1) != 1:  # transposing copies: only when needed
                img = ImageOps.exif_transpose(img)
            arr = pil_to_array(img, alpha=alpha)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: cannot read image ({exc.__class__.__name__}: {exc})") from None
    if arr.size == 0:
        raise InputError(f"{path}: image is empty")
    return arr


EXIF_ORIENTATION = 0x0112
# EXIF orientation -> the one that undoes it (5 and 7 are their own inverse; 6 and 8 swap).
INVERSE_ORIENTATION = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}


def image_header(path: str | os.PathLike) -> tuple[int, int, int]:
    """(stored width, stored height, EXIF orientation 1-8) without decoding the pixels."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            w, h = img.size
            orientation = int(img.getexif().get(EXIF_ORIENTATION, 1) or 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: cannot read image ({exc})") from None
    return w, h, orientation if orientation in INVERSE_ORIENTATION else 1


def swaps_axes(orientation: int) -> bool:
    """True for the EXIF orientations that turn the image by 90° (width and height swap)."""
    return orientation in (5, 6, 7, 8)


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """Return (width, height) after EXIF rotation without decoding the pixels."""
    w, h, orientation = image_header(path)
    return (h, w) if swaps_axes(orientation) else (w, h)


def orient_boxes(boxes: np.ndarray, orientation: int, width: int, height: int) -> np.ndarray:
    """Map (x1, y1, x2, y2) boxes on a width x height image's stored pixels to its
    EXIF-oriented pixels (continuous coordinates)."""
    x1, y1, x2, y2 = (boxes[:, k] for k in range(4))
    w, h = width, height
    corners = {  # where the stored point (x, y) lands, for both corners
        1: (x1, y1, x2, y2), 2: (w - x1, y1, w - x2, y2), 3: (w - x1, h - y1, w - x2, h - y2),
        4: (x1, h - y1, x2, h - y2), 5: (y1, x1, y2, x2), 6: (h - y1, x1, h - y2, x2),
        7: (h - y1, w - x1, h - y2, w - x2), 8: (y1, w - x1, y2, w - x2),
    }[orientation]
    ax, ay, bx, by = corners
    return np.stack([np.minimum(ax, bx), np.minimum(ay, by),
                     np.maximum(ax, bx), np.maximum(ay, by)], 1).astype(boxes.dtype)


def crop_to_alpha(rgba: np.ndarray) -> np.ndarray | None:
    """Crop an RGBA array to the bounding box of its non-zero alpha; None if all transparent."""
    alpha = rgba[..., 3]
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(alpha.any(axis=0))
    return np.ascontiguousarray(rgba[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1])


def encode_jpeg(rgb: np.ndarray, quality: int = 95) -> bytes:
    """Encode an RGB uint8 array as JPEG bytes (deterministic)."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def encode_png(arr: np.ndarray) -> bytes:
    """Encode an RGB or RGBA uint8 array as PNG bytes."""
    code = cv2.COLOR_RGBA2BGRA if arr.ndim == 3 and arr.shape[2] == 4 else cv2.COLOR_RGB2BGR
    ok, buf = cv2.imencode(".png", cv2.cvtColor(arr, code) if arr.ndim == 3 else arr)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()
