"""Contact sheets of a VOC set: thumbnails in a grid with their boxes and class names drawn.

Each tile is `thumb` pixels wide and `thumb + CAPTION_H` high: the image scaled to fit a
thumb x thumb square (aspect kept, centred on grey), then a caption strip with the image stem.
A box is drawn in its class colour (fixed by the class's index in the set's class list, so
sheets of different sets with the same labels.txt agree); truncated objects get a dashed
outline and "(t)", difficult ones "(d)". A synthetic set's manifest gives each image's
camera, whose horizon is drawn as a thin yellow line (through the lens of a calibrated one).
"""
from __future__ import annotations

import colorsys
import math
import os
import random
from pathlib import Path

import cv2
import numpy as np

from .camera_file import CameraSpec
from .errors import InputError
from .imageio import read_image
from .lens import horizon_polyline, spec_from_record
from .manifest import read_records
from .split import natural_key
from .voc import VocImage, VocObject, VocSet, read_split, read_voc_set

CAPTION_H = 20
PAD_COLOR = (48, 48, 48)
CAPTION_BG = (16, 16, 16)
FONT = cv2.FONT_HERSHEY_SIMPLEX
LABEL_SCALE = 0.4
# Well-separated hues for the first classes; later ones step round the hue circle.
PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
           (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
           (0, 128, 128), (170, 110, 40)]


def class_color(index: int) -> tuple[int, int, int]:
    """RGB colour of the class with this index (stable: depends on the index only)."""
    if 0 <= index < len(PALETTE):
        return PALETTE[index]
    if index < 0:
        return (200, 200, 200)
    h = (index * 0.6180339887) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, 0.8, 1.0)
    return (int(r * 255), int(g * 255), int(b * 255))


def fit_geometry(width: int, height: int, thumb: int) -> tuple[int, int, int, int]:
    """Size (tw, th) of an image scaled to fit a thumb square, and its offset (ox, oy) in it."""
    s = thumb / max(width, height)
    tw, th = max(1, round(width * s)), max(1, round(height * s))
    return tw, th, (thumb - tw) // 2, (thumb - th) // 2


def _dashed_line(img: np.ndarray, p0: tuple[int, int], p1: tuple[int, int],
                 color: tuple[int, int, int], thickness: int, dash: int = 6) -> None:
    length = max(abs(p1[0] - p0[0]), abs(p1[1] - p0[1]))
    for start in range(0, length + 1, 2 * dash):
        end = min(start + dash, length)
        a = (p0[0] + (p1[0] - p0[0]) * start // max(length, 1),
             p0[1] + (p1[1] - p0[1]) * start // max(length, 1))
        b = (p0[0] + (p1[0] - p0[0]) * end // max(length, 1),
             p0[1] + (p1[1] - p0[1]) * end // max(length, 1))
        cv2.line(img, a, b, color, thickness)


def _draw_label(tile: np.ndarray, text: str, x: int, y: int, color: tuple[int, int, int]) -> None:
    (tw, th), base = cv2.getTextSize(text, FONT, LABEL_SCALE, 1)
    h = th + base + 2
    top = y - h if y - h >= 0 else y  # above the box if it fits, else just inside it
    x = min(max(x, 0), max(tile.shape[1] - tw - 4, 0))
    cv2.rectangle(tile, (x, top), (x + tw + 3, top + h - 1), color, cv2.FILLED)
    luma = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]
    ink = (0, 0, 0) if luma > 128 else (255, 255, 255)
    cv2.putText(tile, text, (x + 2, top + th + 1), FONT, LABEL_SCALE, ink, 1, cv2.LINE_AA)


def _draw_object(tile: np.ndarray, obj: VocObject, color: tuple[int, int, int],
                 sx: float, sy: float, ox: int, oy: int, thickness: int) -> None:
    xmin, ymin, xmax, ymax = obj.bbox
    # VOC 1-based inclusive -> continuous 0-based edges, scaled; the far edge's last pixel is -1.
    x0, y0 = ox + round((xmin - 1) * sx), oy + round((ymin - 1) * sy)
    x1, y1 = ox + max(round(xmax * sx) - 1, round((xmin - 1) * sx)), \
        oy + max(round(ymax * sy) - 1, round((ymin - 1) * sy))
    if obj.truncated:
        for p, q in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)),
                     ((x0, y1), (x0, y0))):
            _dashed_line(tile, p, q, color, thickness)
    else:
        cv2.rectangle(tile, (x0, y0), (x1, y1), color, thickness)
    text = obj.name + (" (t)" if obj.truncated else "") + (" (d)" if obj.difficult else "")
    _draw_label(tile, text, x0, y0, color)


def _fits(text: str, width: int) -> bool:
    return cv2.getTextSize(text, FONT, LABEL_SCALE, 1)[0][0] <= width


def _caption(strip: np.ndarray, text: str) -> None:
    width = strip.shape[1] - 6
    if not _fits(text, width):  # shorten in the middle: keep the start and the frame number
        for keep in range(len(text) - 1, 1, -1):
            short = text[:keep // 2] + ".." + text[len(text) - (keep - keep // 2):]
            if _fits(short, width):
                break
        text = short
    cv2.putText(strip, text, (3, strip.shape[0] - 6), FONT, LABEL_SCALE, (235, 235, 235), 1,
                cv2.LINE_AA)


HORIZON_COLOR = (255, 230, 0)


def horizon_pixels(camera: dict, size: tuple[int, int]) -> np.ndarray:
    """Image pixels (N, 2) of the horizon for a manifest camera record (empty if unseen)."""
    spec = spec_from_record(camera)
    if spec is None:  # a view preset's camera: centred pinhole, no roll, no distortion
        try:
            W, H = size
            f = (W / 2.0) / math.tan(math.radians(float(camera["fov_deg"])) / 2.0)
            spec = CameraSpec((W, H), f, f, (W - 1) / 2.0, (H - 1) / 2.0,
                              float(camera["height_m"]), float(camera["pitch_deg"]))
        except (KeyError, TypeError, ValueError):
            return np.zeros((0, 2))
    if spec.pitch_deg >= 89.0:
        return np.zeros((0, 2))
    return horizon_polyline(spec)


def render_tile(voc_set: VocSet, image: VocImage, thumb: int,
                camera: dict | None = None) -> np.ndarray:
    """One tile: the thumbnail with boxes drawn (and the horizon, given the image's manifest
    camera record), over a caption with the image stem."""
    pixels = read_image(voc_set.image_path(image))
    h, w = pixels.shape[:2]
    tw, th, ox, oy = fit_geometry(w, h, thumb)
    interp = cv2.INTER_AREA if tw < w else cv2.INTER_LINEAR
    tile = np.empty((thumb + CAPTION_H, thumb, 3), np.uint8)
    tile[:thumb] = PAD_COLOR
    tile[thumb:] = CAPTION_BG
    tile[oy:oy + th, ox:ox + tw] = cv2.resize(pixels, (tw, th), interpolation=interp)
    index = {c: i for i, c in enumerate(voc_set.classes)}
    thickness = 2 if thumb >= 160 else 1
    body = tile[:thumb]
    if camera:
        line = horizon_pixels(camera, (w, h))
        if len(line) >= 2:
            pts = np.round((line * [tw / w, th / h] + [ox, oy]) * 16).astype(np.int32)
            cv2.polylines(body, [pts], False, HORIZON_COLOR, 1, cv2.LINE_AA, shift=4)
    for obj in image.objects:
        _draw_object(body, obj, class_color(index.get(obj.name, -1)), tw / w, th / h, ox, oy,
                     thickness)
    _caption(tile[thumb:], image.stem)
    tile[:, -1] = CAPTION_BG  # a dark seam between neighbouring tiles
    return tile


def _select(images: list[VocImage], n: int, seed: int | None) -> list[VocImage]:
    images = sorted(images, key=lambda im: natural_key(im.stem))
    if seed is None or n >= len(images):
        return images[:n]
    picked = sorted(random.Random(seed).sample(range(len(images)), n))
    return [images[i] for i in picked]


def contact_sheet(voc_set: VocSet | str | os.PathLike, n: int = 24, cols: int = 6,
                  thumb: int = 320, seed: int | None = 0, split: str | None = None) -> np.ndarray:
    """RGB uint8 grid of n images (a seeded sample; the first n if seed is None), boxes drawn."""
    if n < 1 or cols < 1 or thumb < 16:
        raise InputError(f"contact sheet needs n >= 1, cols >= 1, thumb >= 16 "
                         f"(got n={n}, cols={cols}, thumb={thumb})")
    if not isinstance(voc_set, VocSet):
        voc_set = read_voc_set(voc_set, split=split)
    elif split is not None:
        wanted = set(read_split(voc_set.root, split))
        voc_set = VocSet(voc_set.root, voc_set.classes,
                         [im for im in voc_set.images if im.stem in wanted])
    images = _select(voc_set.images, n, seed)
    cameras = {stem: rec.get("camera") for stem, rec in read_records(voc_set.root).items()}
    if not images:
        where = Path(voc_set.root) / ("Annotations" if split is None else
                                      f"ImageSets/Main/{split}.txt")
        raise InputError(f"{where}: no images to preview")
    cols = min(cols, len(images))
    rows = -(-len(images) // cols)
    tile_h = thumb + CAPTION_H
    sheet = np.full((rows * tile_h, cols * thumb, 3), CAPTION_BG, np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        tile = render_tile(voc_set, im, thumb, cameras.get(im.stem))
        sheet[r * tile_h:(r + 1) * tile_h, c * thumb:(c + 1) * thumb] = tile
    return sheet
