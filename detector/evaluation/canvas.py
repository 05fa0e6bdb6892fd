"""Plots without matplotlib: an RGB canvas of rectangles, lines, polygons, dots and DejaVu Sans
text, written as PNG.

The evaluation report's plots are drawn on it (plots.py). Importing matplotlib and laying
out its artists cost `pipeline evaluate` more than every metric together (issue #12); a
PIL image with a TrueType font does the same drawing in milliseconds. Coordinates are
pixels, x right and y down; colours are "#rrggbb" strings or RGB tuples.
"""
from __future__ import annotations

import importlib.util
import io
import math
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

Colour = str | tuple[int, int, int]
WHITE = (255, 255, 255)
INK = (34, 34, 34)

# ColorBrewer's 9-class Blues, the stops of matplotlib's "Blues" colour map.
BLUES = ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5",
         "#08519c", "#08306b")


def rgb(colour: Colour) -> tuple[int, int, int]:
    """An RGB tuple of a "#rrggbb" string (tuples pass through)."""
    if isinstance(colour, str):
        c = colour.lstrip("#")
        return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    return tuple(int(v) for v in colour)  # type: ignore[return-value]


def mix(colour: Colour, alpha: float, under: Colour = WHITE) -> tuple[int, int, int]:
    """`colour` at opacity `alpha` over `under`, as one opaque colour."""
    return tuple(round(alpha * a + (1 - alpha) * b)  # type: ignore[return-value]
                 for a, b in zip(rgb(colour), rgb(under)))


def ramp(values: np.ndarray, stops: Sequence[Colour] = BLUES) -> np.ndarray:
    """uint8 RGB of `values` in [0, 1] on a colour map linear between evenly spaced stops."""
    table = np.array([rgb(c) for c in stops], np.float64)
    x = np.clip(np.asarray(values, np.float64), 0, 1) * (len(stops) - 1)
    i = np.minimum(x.astype(np.int64), len(stops) - 2)
    t = (x - i)[..., None]
    return np.rint(table[i] * (1 - t) + table[i + 1] * t).astype(np.uint8)


def nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 x 10^k) covering [lo, hi], about n of them."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw * (1 - 1e-9))
    first = math.ceil(lo / step - 1e-9)
    return [round(k * step, 10) for k in range(first, math.floor(hi / step + 1e-9) + 1)]


def tick_text(v: float) -> str:
    """A tick value without trailing zeros (2.5, 10, 0.2)."""
    return f"{v:.6g}"


@lru_cache(maxsize=None)
def font_file() -> str | None:
    """DejaVu Sans as matplotlib ships it (found without importing matplotlib), if present."""
    spec = importlib.util.find_spec("matplotlib")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if path.is_file():
            return str(path)
    return None


@lru_cache(maxsize=None)
def font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The plot font at `px` pixels (Pillow's own font where DejaVu Sans is missing)."""
    path = font_file()
    return ImageFont.truetype(path, px) if path else ImageFont.load_default(px)


def text_width(text: str, px: int) -> int:
    """Width in pixels of `text` at size `px`."""
    return math.ceil(font(px).getlength(text))


@lru_cache(maxsize=None)
def _disc(radius: float) -> Image.Image:
    """An antialiased disc mask (drawn 4x larger, then reduced)."""
    d = max(1, round(2 * radius))
    big = Image.new("L", (4 * d, 4 * d), 0)
    ImageDraw.Draw(big).ellipse((0, 0, 4 * d - 1, 4 * d - 1), fill=255)
    return big.resize((d, d), Image.LANCZOS)


Points = Sequence[tuple[float, float]] | np.ndarray   # (x, y) pairs, or an (n, 2) array


def _pixels(points: Points) -> list[int]:
    """Points rounded to pixels (halves to even, as round() does), flat: x0, y0, x1, ..."""
    return np.rint(np.asarray(points, np.float64)).astype(np.int64).ravel().tolist()


class Canvas:
    """A white RGB image to draw a plot on."""

    def __init__(self, width: int, height: int, background: Colour = WHITE):
        self.image = Image.new("RGB", (int(width), int(height)), rgb(background))
        self.draw = ImageDraw.Draw(self.image)

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: Colour | None = None,
             outline: Colour | None = None, width: int = 1) -> None:
        """The pixels [x0, x1) x [y0, y1), filled and/or outlined inside that area."""
        x0, y0, x1, y1 = round(x0), round(y0), round(x1) - 1, round(y1) - 1
        if x1 < x0 or y1 < y0:
            return
        self.draw.rectangle((x0, y0, x1, y1), fill=rgb(fill) if fill is not None else None,
                            outline=rgb(outline) if outline is not None else None,
                            width=width)

    def line(self, points: Points, colour: Colour, width: int = 1) -> None:
        """A polyline (not antialiased: the plots draw axis-aligned lines only)."""
        self.draw.line(_pixels(points), fill=rgb(colour), width=width)

    def polygon(self, points: Points, fill: Colour) -> None:
        """A filled polygon."""
        self.draw.polygon(_pixels(points), fill=rgb(fill))

    def dot(self, x: float, y: float, radius: float, colour: Colour) -> None:
        """An antialiased filled circle centred on (x, y)."""
        mask = _disc(radius)
        self.image.paste(rgb(colour), (round(x - mask.width / 2), round(y - mask.height / 2)),
                         mask)

    def pixels(self, array: np.ndarray, x: float, y: float) -> None:
        """An (h, w, 3) uint8 array placed with its top-left corner at (x, y)."""
        self.image.paste(Image.fromarray(np.ascontiguousarray(array), "RGB"),
                         (round(x), round(y)))

    def text(self, x: float, y: float, text: str, px: int, colour: Colour = INK,
             anchor: str = "mm", vertical: bool = False) -> None:
        """`text` at (x, y) by a PIL anchor (l/m/r, then t/m/s/b: "mm" centres it);
        `vertical` turns it 90 degrees anticlockwise (anchors then refer to the turned box)."""
        if not vertical:
            self.draw.text((x, y), text, fill=rgb(colour), font=font(px), anchor=anchor)
            return
        f = font(px)
        left, top, right, bottom = f.getbbox(text)
        mask = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
        ImageDraw.Draw(mask).text((-left, -top), text, fill=255, font=f)
        mask = mask.rotate(90, expand=True)
        w, h = mask.size
        ox = {"l": 0, "m": w / 2, "r": w}[anchor[0]]
        oy = {"t": 0, "a": 0, "m": h / 2, "s": h, "b": h, "d": h}[anchor[1]]
        self.image.paste(rgb(colour), (round(x - ox), round(y - oy)), mask)

    def png(self) -> bytes:
        """The canvas as PNG bytes."""
        buf = io.BytesIO()
        self.image.save(buf, format="PNG", compress_level=1)   # 2x faster, 5% larger
        return buf.getvalue()
