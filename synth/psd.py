"""Decoding layered PSD/PSB files into RGBA subjects, and the cache of decoded files.

`load_psd_layers(path, cache_dir)` returns every subject layer of a PSD (its top-level group,
its layer name, its RGBA pixels cropped to the alpha box), decoded by psd-tools or read back
from the cache: one .npz per file content (SHA-256), under `default_cache_dir()`. Which class
and view a layer is, is synth/assets.py's naming rule.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from . import fsio
from .catalog import parse_view_tags
from .errors import InputError
from .imageio import crop_to_alpha

log = logging.getLogger(__name__)

# Layer kinds that carry their own pixels; adjustment and fill layers do not make subjects.
_PIXEL_KINDS = {"pixel", "smartobject", "shape", "type"}
CACHE_VERSION = 2


@dataclass
class PsdLayer:
    """A decoded PSD subject before its class is resolved (what the cache stores)."""

    group: str | None  # enclosing top-level group's name, None for a top-level layer
    layer: str  # the layer's name; for a view in an object sub-group, "SUBGROUP/LAYER"
    rgba: np.ndarray


def default_cache_dir() -> Path:
    """Where decoded PSDs are cached: $FLOORSYNTH_CACHE/psd or ~/.cache/floorsynth/psd."""
    root = os.environ.get("FLOORSYNTH_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "floorsynth"
    return base / "psd"


# ----------------------------------------------------------------------------- PSD decoding

def _cmyk_to_rgb(inverted: np.ndarray, icc: bytes | None) -> np.ndarray:
    """PSD CMYK (stored as 1 - ink, floats in [0, 1]) to 8-bit sRGB; via the ICC profile if any."""
    if icc:
        from PIL import ImageCms
        ink = np.round((1.0 - inverted) * 255).astype(np.uint8)
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            out = ImageCms.profileToProfile(Image.fromarray(ink, "CMYK"), src,
                                            ImageCms.createProfile("sRGB"), outputMode="RGB")
            return np.asarray(out).copy()
        except (ImageCms.PyCMSError, OSError, ValueError) as exc:
            log.debug("ICC conversion failed (%s); using the naive CMYK formula", exc)
    rgb = inverted[..., :3] * inverted[..., 3:4]
    return np.round(rgb * 255).astype(np.uint8)


def _apply_icc(rgb: np.ndarray, icc: bytes | None) -> np.ndarray:
    """Convert RGB pixels from the document's embedded profile to sRGB (no-op without one)."""
    if not icc:
        return rgb
    from PIL import ImageCms
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if src.profile.xcolor_space.strip() != "RGB":
            return rgb
        out = ImageCms.profileToProfile(Image.fromarray(rgb, "RGB"), src,
                                        ImageCms.createProfile("sRGB"), outputMode="RGB")
        return np.asarray(out).copy()
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        log.debug("ICC conversion failed (%s); keeping the raw values", exc)
        return rgb


def _render(layer, psd, icc: bytes | None) -> np.ndarray:
    """Composite one layer or group (its own mask, opacity, clipping) to RGBA uint8, uncropped."""
    # psd-tools (and the scipy it pulls in) takes ~0.5 s to import: only pay it when decoding.
    from psd_tools.composite import composite
    from psd_tools.constants import ColorMode

    # as_layer=True makes a group apply its own opacity and mask, like a pixel layer does.
    color, _, alpha = composite(layer, as_layer=layer.is_group())
    mode = psd.color_mode
    channels = color.shape[2]
    if mode == ColorMode.CMYK and channels == 4:
        rgb = _cmyk_to_rgb(color, icc)
    elif mode in (ColorMode.GRAYSCALE, ColorMode.BITMAP, ColorMode.DUOTONE) and channels == 1:
        grey = np.round(color[..., 0] * 255).astype(np.uint8)
        rgb = np.repeat(grey[..., None], 3, axis=2)
    elif mode in (ColorMode.RGB, ColorMode.INDEXED) and channels == 3:  # indexed: via palette
        rgb = _apply_icc(np.round(color * 255).astype(np.uint8), icc)
    else:
        raise InputError(f"unsupported colour mode {psd.color_mode.name} "
                         "(convert the document to RGB, CMYK or greyscale)")
    a = np.round(np.clip(alpha[..., 0], 0, 1) * 255).astype(np.uint8)
    rgb = np.where(a[..., None] > 0, rgb, 0).astype(np.uint8)  # no colour under zero alpha
    return np.concatenate([rgb, a[..., None]], axis=2)


def _truncation(data: bytes) -> str | None:
    """Say how a PSD/PSB is cut short, or None if its sections are all there.

    psd-tools reads the merged-image section lazily and its RLE decoder pads a short
    section, so a file truncated there would load without complaint.
    """
    if len(data) < 26 or data[:4] != b"8BPS":
        return "no PSD signature"
    version, channels, height, width, depth = struct.unpack(">H6xHIIH", data[4:24])
    if version not in (1, 2):
        return f"unknown PSD version {version}"
    pos = 26
    for size_fmt in (">I", ">I", ">I" if version == 1 else ">Q"):  # mode data, resources, layers
        n = struct.calcsize(size_fmt)
        if pos + n > len(data):
            return "file ends inside its section table"
        pos += n + struct.unpack(size_fmt, data[pos: pos + n])[0]
    if pos + 2 > len(data):
        return "file ends before the merged image data"
    compression = struct.unpack(">H", data[pos: pos + 2])[0]
    pos += 2
    row = (width * depth + 7) // 8
    rows = height * channels
    if compression == 0:
        need = row * rows
    elif compression == 1:
        fmt = f">{rows}{'H' if version == 1 else 'I'}"
        table = struct.calcsize(fmt)
        if pos + table > len(data):
            return "file ends inside the merged image's row table"
        need = table + sum(struct.unpack(fmt, data[pos: pos + table]))
    else:
        return None  # ZIP: psd-tools checks the decompressed size itself
    if len(data) - pos < need:
        return f"file is truncated ({need - (len(data) - pos)} bytes missing)"
    return None


def decode_psd(path: Path, data: bytes) -> tuple[list[PsdLayer], list[str]]:
    """Decode every subject of a PSD per the naming rule; return (subjects, warnings)."""
    from psd_tools import PSDImage
    from psd_tools.constants import Resource

    problem = _truncation(data)
    if problem:
        raise InputError(f"not a readable PSD file ({problem})")
    psd = PSDImage.open(io.BytesIO(data))
    icc = None
    if Resource.ICC_PROFILE in psd.image_resources:
        icc = psd.image_resources.get_data(Resource.ICC_PROFILE)
    raws: list[PsdLayer] = []
    warnings: list[str] = []

    def take(layer, group: str | None, prefix: str = "") -> None:
        label = f"{group}/{prefix}{layer.name}" if group is not None else layer.name
        if not layer.is_group() and layer.kind not in _PIXEL_KINDS:
            log.debug("%s: layer '%s': %s layer skipped", path, label, layer.kind)
            return
        if layer.width <= 0 or layer.height <= 0:
            warnings.append(f"layer '{label}' is empty; skipped")
            return
        rgba = crop_to_alpha(_render(layer, psd, icc))
        if rgba is None:
            warnings.append(f"layer '{label}' is fully transparent; skipped")
            return
        raws.append(PsdLayer(group, prefix + layer.name, rgba))

    def view_children(group) -> list:
        """A sub-group's children if they are views of one object (they carry view tags)."""
        kids = [k for k in group if k.visible and not k.clipping]
        if any(parse_view_tags(k.name)[1].declared for k in kids):
            return kids
        return []

    for top in psd:
        if not top.visible:
            continue
        if top.is_group():
            for child in top:
                # A clipped layer is shading on the layer below it and renders with it.
                if not child.visible or child.clipping:
                    continue
                views = view_children(child) if child.is_group() else []
                if not views:
                    take(child, top.name)
                for view in views:
                    take(view, top.name, prefix=f"{child.name}/")
        elif top.name.strip().lower() == "background":
            log.debug("%s: top-level 'Background' layer skipped", path)
        elif not top.clipping:
            take(top, None)
    return raws, warnings


# ----------------------------------------------------------------------------- PSD cache

def _cache_file(cache_dir: Path, digest: str) -> Path:
    return cache_dir / f"{digest}.v{CACHE_VERSION}.npz"


def _read_cache(file: Path) -> tuple[list[PsdLayer], list[str]] | None:
    """Read one cached PSD decode; None if absent or unreadable (it is then rebuilt)."""
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes().decode("utf-8"))
            raws = []
            for i, (group, layer) in enumerate(meta["layers"]):
                rgba = npz[f"rgba{i}"]
                if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
                    raise ValueError(f"bad array rgba{i}")
                raws.append(PsdLayer(group, layer, rgba))
            return raws, list(meta["warnings"])
    except Exception as exc:  # any damage means "not cached"; the PSD is decoded again
        log.warning("%s: unreadable cache entry (%s); rebuilding it", file,
                    f"{exc.__class__.__name__}: {exc}".splitlines()[0])
        return None


def _write_cache(file: Path, raws: list[PsdLayer], warnings: list[str]) -> None:
    meta = {"layers": [[r.group, r.layer] for r in raws], "warnings": warnings}
    arrays = {f"rgba{i}": r.rgba for i, r in enumerate(raws)}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    try:
        with fsio.atomic_path(file) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
    except OSError as exc:
        log.debug("cannot write PSD cache %s: %s", file, exc)


def load_psd_layers(path: Path, cache_dir: Path | None) -> list[PsdLayer]:
    """Decode a PSD (or fetch it from the cache keyed by its content hash); warn per bad layer."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    file = _cache_file(cache_dir, hashlib.sha256(data).hexdigest()) if cache_dir else None
    cached = _read_cache(file) if file else None
    if cached is not None:
        raws, warnings = cached
        log.debug("%s: %d subject(s) from cache", path, len(raws))
    else:
        try:
            raws, warnings = decode_psd(path, data)
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
        except MemoryError:
            raise InputError(f"{path}: too large to decode in memory") from None
        except Exception as exc:  # psd-tools raises many types on damaged files
            reason = f"{exc.__class__.__name__}: {exc}".splitlines()[0][:200]
            raise InputError(f"{path}: not a readable PSD file ({reason})") from None
        if file and raws:
            _write_cache(file, raws, warnings)
    for w in warnings:  # stored without the path: the same bytes may sit under another name
        log.warning("%s: %s", path, w)
    if not raws:
        raise InputError(f"{path}: no visible subject layer (every layer is hidden, empty "
                         "or transparent)")
    return raws
