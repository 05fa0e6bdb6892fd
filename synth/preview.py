"""Contact sheets of a VOC set: thumbnails in a grid with their boxes and class names drawn.

Each tile is `thumb` pixels wide and `thumb + CAPTION_H` high: the image scaled to fit a
thumb x thumb square (aspect kept, centred on grey), then a caption strip with the image stem.
A box is drawn in its class colour (synth.draw: fixed by the class's index in the set's class
list, so sheets of different sets with the same labels.txt agree); truncated objects get a dashed
outline and "(t)", difficult ones (too hidden to label: training and the metrics ignore them) a
thin grey outline and "(d)", explained by a legend strip under a sheet that shows any. A
synthetic set's manifest gives each image's
camera, whose horizon is drawn as a thin yellow line (through the lens of a calibrated one).
"""
from __future__ import annotations

import math
import os
import random

import cv2
import numpy as np

from .camera_file import CameraSpec
from .draw import (DIFFICULT_COLOUR, FONT, LABEL_SCALE, class_colour, draw_box, draw_label,
                   text_fits)
from .errors import InputError
from .imageio import read_image
from .lens import horizon_polyline, spec_from_record
from .manifest import read_records
from .split import natural_key
from .layouts import read_dataset, split_source
from .voc import VocImage, VocObject, VocSet

CAPTION_H = 20
MAX_SHEET_SIDE = 20000  # pixels; what synth.imageio reads back
PAD_COLOR = (48, 48, 48)
CAPTION_BG = (16, 16, 16)
def fit_geometry(width: int, height: int, thumb: int) -> tuple[int, int, int, int]:
    """Size (tw, th) of an image scaled to fit a thumb square, and its offset (ox, oy) in it."""
    s = thumb / max(width, height)
    tw, th = max(1, round(width * s)), max(1, round(height * s))
    return tw, th, (thumb - tw) // 2, (thumb - th) // 2


def _draw_object(tile: np.ndarray, obj: VocObject, colour: tuple[int, int, int],
                 sx: float, sy: float, ox: int, oy: int, thickness: int) -> None:
    xmin, ymin, xmax, ymax = obj.bbox   # VOC 1-based inclusive -> continuous, scaled
    box = (ox + (xmin - 1) * sx, oy + (ymin - 1) * sy, ox + xmax * sx, oy + ymax * sy)
    x0, y0 = draw_box(tile, box, DIFFICULT_COLOUR if obj.difficult else colour,
                      1 if obj.difficult else thickness, dashed=obj.truncated)
    text = obj.name + (" (t)" if obj.truncated else "") + (" (d)" if obj.difficult else "")
    draw_label(tile, text, x0, y0, colour)


LEGEND = "difficult (d): ignored by training and metrics; dashed: truncated (t)"


def _legend(width: int) -> np.ndarray:
    """The strip under a sheet with difficult objects: a grey box swatch and what it means."""
    strip = np.full((CAPTION_H, width, 3), CAPTION_BG, np.uint8)
    cv2.rectangle(strip, (3, 5), (14, CAPTION_H - 6), DIFFICULT_COLOUR, 1)
    cv2.putText(strip, LEGEND, (19, CAPTION_H - 6), FONT, LABEL_SCALE, (235, 235, 235), 1,
                cv2.LINE_AA)
    return strip


def _caption(strip: np.ndarray, text: str) -> None:
    width = strip.shape[1] - 6
    if not text_fits(text, width):  # shorten in the middle: keep the start and the frame number
        for keep in range(len(text) - 1, 1, -1):
            short = text[:keep // 2] + ".." + text[len(text) - (keep - keep // 2):]
            if text_fits(short, width):
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
                camera: dict | None = None, caption: str | None = None) -> np.ndarray:
    """One tile: the thumbnail with boxes drawn (and the horizon, given the image's manifest
    camera record), over a caption (default: the image stem)."""
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
        _draw_object(body, obj, class_colour(index.get(obj.name, -1)), tw / w, th / h, ox, oy,
                     thickness)
    _caption(tile[thumb:], image.stem if caption is None else caption)
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
    """RGB uint8 grid of n images (a seeded sample; the first n if seed is None), boxes drawn,
    and the legend strip if any is difficult."""
    if n < 1 or cols < 1 or thumb < 16:
        raise InputError(f"contact sheet needs n >= 1, cols >= 1, thumb >= 16 "
                         f"(got n={n}, cols={cols}, thumb={thumb})")
    if not isinstance(voc_set, VocSet):
        voc_set = read_dataset(voc_set, split=split)
    elif split is not None:
        if split not in voc_set.splits:
            raise InputError(f"{voc_set.root}: no split {split!r}")
        wanted = set(voc_set.splits[split])
        voc_set = VocSet(voc_set.root, voc_set.classes,
                         [im for im in voc_set.images if im.stem in wanted])
    images = _select(voc_set.images, n, seed)
    if not images:
        where = voc_set.root if split is None else split_source(voc_set.root, split)
        raise InputError(f"{where}: no images to preview")
    used = min(cols, len(images))
    w, h = used * thumb, -(-len(images) // used) * (thumb + CAPTION_H)
    if max(w, h) > MAX_SHEET_SIDE:
        raise InputError(f"--thumb {thumb}: the sheet would be {w}x{h} pixels (at most "
                         f"{MAX_SHEET_SIDE} a side): lower -n, --cols or --thumb")
    sheet = tile_grid(voc_set, images, cols, thumb)
    if any(o.difficult for im in images for o in im.objects):
        sheet = np.concatenate([sheet, _legend(sheet.shape[1])])
    return sheet


def tile_grid(voc_set: VocSet, images: list[VocImage], cols: int = 6, thumb: int = 320,
              captions: list[str] | None = None) -> np.ndarray:
    """RGB uint8 grid of these images' tiles, in this order, row by row."""
    cameras = {stem: rec.get("camera") for stem, rec in read_records(voc_set.root).items()}
    cols = min(cols, len(images))
    rows = -(-len(images) // cols)
    tile_h = thumb + CAPTION_H
    sheet = np.full((rows * tile_h, cols * thumb, 3), CAPTION_BG, np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        tile = render_tile(voc_set, im, thumb, cameras.get(im.stem),
                           None if captions is None else captions[i])
        sheet[r * tile_h:(r + 1) * tile_h, c * thumb:(c + 1) * thumb] = tile
    return sheet
