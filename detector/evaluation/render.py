"""What every report is made of: NaN-safe JSON, PNG plots, gallery thumbnails with boxes,
HTML pieces (one stylesheet, a page, a header line, figures, galleries), Markdown tables and
writing a report's files atomically. The evaluation report (report.py), compare-real's and
ablate's results are built from these.
"""
from __future__ import annotations

import base64
import html
import io
import json
import logging
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import cv2
import numpy as np

from synth import fsio
from synth.draw import draw_box, draw_label
from synth.errors import InputError
from synth.imageio import read_image
from synth.voc import VocImage, VocSet

from .detections import Detections

if TYPE_CHECKING:  # compare-real's and ablate's plots are matplotlib figures
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- JSON
def json_ready(x):
    """JSON-safe copy: NaN/inf become null, numpy scalars and arrays plain numbers and lists,
    paths strings (the one NaN-safe JSON rule of every report and record)."""
    if isinstance(x, dict):
        return {str(k): json_ready(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_ready(v) for v in x]
    if isinstance(x, np.ndarray):
        return json_ready(x.tolist())
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, Path):
        return str(x)
    return x


def json_text(x, indent: int | None = 1) -> str:
    """`x` as NaN-safe JSON text (see json_ready), ending in a newline."""
    return json.dumps(json_ready(x), indent=indent) + "\n"


# ----------------------------------------------------------------------------- plots and images
def png_bytes(fig: Figure, dpi: int = 90) -> bytes:
    """Render a matplotlib figure to PNG bytes (one draw: layouts are set by hand)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


GT_COLOUR, DET_COLOUR = (0, 200, 0), (230, 0, 0)


def thumbnail(voc_set: VocSet, image: VocImage, max_side: int = 480
              ) -> tuple[np.ndarray, float]:
    """An image of a set for a gallery, scaled to `max_side` (small ones enlarged, up to 3x),
    and the scale; a grey placeholder saying so when its file is missing."""
    try:
        rgb = read_image(voc_set.image_path(image))
    except InputError as exc:
        log.warning("gallery: %s", exc)
        rgb = np.full((max(image.height, 1), max(image.width, 1), 3), 200, np.uint8)
        cv2.putText(rgb, "image file missing", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8,
                    (0, 0, 0), 2)
    scale = min(3.0, max_side / max(rgb.shape[:2]))
    if scale != 1:
        rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return np.ascontiguousarray(rgb), scale


def draw_detections(rgb: np.ndarray, dets: Detections, rows: np.ndarray, classes: list[str],
                    scale: float) -> None:
    """Detections `rows` (xywh boxes of the unscaled image) in red with class and score."""
    for d in rows:
        x, y, w, h = dets.boxes[d] * scale
        left, top = draw_box(rgb, (x, y, x + w, y + h), DET_COLOUR)
        draw_label(rgb, f"{classes[dets.cls[d]]} {dets.score[d]:.2f}", left, top, DET_COLOUR)


# ----------------------------------------------------------------------------- HTML
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
background:#f6f7f9}
main{max-width:1320px;margin:0 auto;padding:14px 24px 40px}
h1{font-size:21px;margin:4px 0 2px}h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #ddd}
.sub{color:#666;font-size:12.5px;margin-bottom:10px;word-break:break-all}
.cards{display:flex;gap:10px;flex-wrap:wrap;margin:8px 0 12px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:5px 14px;min-width:92px}
.card b{display:block;font-size:22px}.card span{color:#666;font-size:12px}
.card.main{border-color:#3182bd}.card.main b{color:#3182bd}
table{border-collapse:collapse;background:#fff;font-size:13px}
th,td{border:1px solid #e0e0e0;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#eef1f5;font-weight:600}th[colspan]{text-align:center}td.l,th.l{text-align:left}
tr.nogt td{color:#999}
.figure{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px;margin:8px 0}
.figure img{max-width:100%}.note{color:#555;font-size:13px;max-width:1000px}
.gallery{display:flex;flex-wrap:wrap;gap:10px}
.gallery figure{margin:0;background:#fff;border:1px solid #ddd;padding:4px;font-size:12px}
.gallery img{display:block;max-width:400px}
"""


def esc(x) -> str:
    """HTML-escape any value."""
    return html.escape(str(x))


def data_uri(data: bytes, mime: str = "image/png") -> str:
    """A base64 data URI for inline images."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def fmt(v, digits: int = 3) -> str:
    """A number with `digits` decimals; a dash for none or NaN."""
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) \
        else f"{v:.{digits}f}"


def html_page(title: str, sections: Iterable[str]) -> str:
    """A complete self-contained HTML document."""
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width'><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body><main>\n" + "\n".join(sections)
            + "\n</main></body></html>\n")


def html_header(title: str, lines: list[str]) -> str:
    """Title and one grey line under it (data, detections, date)."""
    return f"<h1>{esc(title)}</h1><div class='sub'>{' · '.join(esc(x) for x in lines)}</div>"


def slug(name: str) -> str:
    """A class name as a file-name part."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "class"


def tick(v: float) -> str:
    """A short axis label for a value of any size."""
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.1e}"


def html_figure(png: bytes, alt: str, caption: str = "") -> str:
    """An inline PNG with an optional caption."""
    cap = f"<div class='note'>{caption}</div>" if caption else ""
    return f"<div class='figure'><img alt='{esc(alt)}' src='{data_uri(png)}'>{cap}</div>"


def html_gallery(items: list[tuple[str, bytes, str]]) -> str:
    """Thumbnails with captions."""
    if not items:
        return "<p class='note'>No image has a miss or a false positive at this confidence.</p>"
    figs = "".join(f"<figure><img alt='{esc(stem)}' src='{data_uri(jpg, 'image/jpeg')}'>"
                   f"<figcaption><b>{esc(stem)}</b>: {esc(cap)}</figcaption></figure>"
                   for stem, jpg, cap in items)
    return f"<div class='gallery'>{figs}</div>"


# ----------------------------------------------------------------------------- Markdown, files
def md_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table (first column left-aligned, the rest right)."""
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join([":--"] + ["--:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_files(out_dir: str | os.PathLike, files: dict[str, bytes]) -> None:
    """Write {relative path: bytes} under out_dir, each file atomically."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a directory")
    for rel in files:
        fsio.remove_stale_temps((out_dir / rel).parent)
    for rel, data in files.items():
        fsio.write_bytes(out_dir / rel, data)
