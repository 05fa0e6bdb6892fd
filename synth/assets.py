"""Loading cut-out subjects: layered PSDs, folders of RGBA PNGs, and photo + mask pairs.

This module holds the naming rules (which class, object and view a layer, file or folder is)
and the entry point `load_subjects`; decoding a PSD and its cache are synth/psd.py.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from .catalog import (POSE_ELEVATION, ClassSpec, ViewTag, class_of, match_class,
                      parse_view_tags)
from .errors import InputError
from .imageio import IMAGE_SUFFIXES, crop_to_alpha, read_image
from .psd import default_cache_dir, load_psd_layers

log = logging.getLogger(__name__)

MASK_SUFFIX = "_mask"
TINY_PX = 16


@dataclass
class Subject:
    """One cut-out (one view of one object): straight-alpha RGBA uint8 cropped to its alpha
    box, its class, and from where it was photographed."""

    cls: str
    name: str
    rgba: np.ndarray
    source: str
    pose: str | None = None  # "[upright]"/"[flat]" tag override; None = the catalog's pose
    elev_deg: float | None = None  # declared capture elevation; None = its pose's
    az_deg: float | None = None  # declared capture azimuth; None = unknown
    size_m: float | None = None  # declared metres of the longer side; None = the catalog's
    object: str = ""  # the physical object this is a view of; "" = its own name


def _tags(name: str, where: str) -> tuple[str, ViewTag]:
    try:
        return parse_view_tags(name)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def _subject(cls: str, name: str, rgba: np.ndarray, source: str, tag: ViewTag,
             obj: str) -> Subject:
    return Subject(cls=cls, name=name, rgba=rgba, source=source, pose=tag.pose,
                   elev_deg=tag.elev_deg, az_deg=tag.az_deg, size_m=tag.size_m, object=obj)


def _psd_subjects(path: Path, catalog: dict[str, ClassSpec],
                  cache_dir: Path | None) -> list[Subject]:
    file_tag = _tags(path.stem, str(path))[1]
    out = []
    for raw in load_psd_layers(path, cache_dir):
        parts = raw.layer.split("/", 1) if raw.group is not None else [raw.layer]
        names = ([raw.group] if raw.group is not None else []) + parts
        tag = file_tag
        clean = []
        for part in names:  # outermost first; inner tags win
            c, t = _tags(part, f"{path}: layer '{raw.layer}'")
            tag = t.over(tag)
            clean.append(c)
        if raw.group is None:
            cls = class_of(raw.layer, catalog, where=f"{path}: layer '{raw.layer}'")
            name = f"{path.name}:{raw.layer}"
        else:
            cls = class_of(raw.group, catalog, where=f"{path}: group '{raw.group}'")
            name = f"{path.name}:{raw.group}/{raw.layer}"
        # the object is the innermost name that is not just a view's tag: the sub-group of
        # an object's views, else the layer's own name without its tags
        obj = clean[1] if len(clean) == 3 else clean[-1]
        out.append(_subject(cls, name, raw.rgba, str(path), tag, f"{path.name}:{cls}/{obj}"))
    return out


# ----------------------------------------------------------------------------- images

# elev_30, elev30, elev-30, elev_-20 (from below); az_90, az90, az-90 (= -90), az_-90
_VIEW_TEXT = r"elev(?:_|-(?=\d))?(-?\d+(?:\.\d+)?)(?:[_-]az_?(-?\d+(?:\.\d+)?))?"
_VIEW_DIR = re.compile(f"^{_VIEW_TEXT}$", re.I)
_VIEW_SUFFIX = re.compile(f"[_-]{_VIEW_TEXT}$", re.I)


def _view_from_match(m: re.Match, where: Path) -> ViewTag:
    text = f"elev={m.group(1)}" + (f" az={m.group(2)}" if m.group(2) else "")
    return _tags(f"[{text}]", str(where))[1]


def _image_view(path: Path) -> tuple[str, Path, ViewTag]:
    """(object stem, class folder, view) of a PNG/photo: view folders and name suffixes read."""
    stem, tag = _tags(path.stem, str(path))
    m = _VIEW_SUFFIX.search(stem)
    if m:
        tag = tag.over(_view_from_match(m, path))
        stem = stem[: m.start()]
    folder = path.parent
    m = _VIEW_DIR.match(folder.name)
    if m:
        tag = tag.over(_view_from_match(m, folder))
        folder = folder.parent
    return stem, folder, tag


def _image_class(path: Path, catalog: dict[str, ClassSpec]) -> str:
    """Class of a PNG/photo: its folder's name if that is a class (view folders skipped),
    else the file name's prefix."""
    _, folder, _ = _image_view(path)
    return match_class(folder.name, catalog) or class_of(
        path.stem, catalog, where=f"{path}")


def _image_subject(path: Path, mask: Path | None, catalog: dict[str, ClassSpec]) -> Subject | None:
    """One subject from an RGBA cut-out, or from a photo and its mask (alpha = mask value)."""
    if mask is None:
        rgba = read_image(path, alpha=True)
    else:
        rgb = read_image(path)
        m = read_image(mask).max(axis=2)
        if m.shape != rgb.shape[:2]:
            raise InputError(f"{mask}: mask is {m.shape[1]}x{m.shape[0]} but its photo "
                             f"{path.name} is {rgb.shape[1]}x{rgb.shape[0]}")
        rgba = np.concatenate([rgb, m[..., None]], axis=2)
        rgba[m == 0, :3] = 0
    cls = _image_class(path, catalog)
    cropped = crop_to_alpha(rgba)
    if cropped is None:
        log.warning("%s: fully transparent%s; skipped", path,
                    f" (mask {mask.name} is all black)" if mask else "")
        return None
    stem, folder, tag = _image_view(path)
    inner = path.relative_to(folder).as_posix()
    return _subject(cls, f"{folder.name}/{inner}", cropped, str(path), tag,
                    f"{folder.as_posix()}/{cls}/{stem}")


def _image_subjects(files: list[Path], catalog: dict[str, ClassSpec]) -> list[Subject]:
    """Pair photos with their `_mask` files; every other image is an RGBA cut-out."""
    stems = {}
    for f in files:
        stems.setdefault((f.parent, f.stem), []).append(f)
    out = []
    for f in files:
        if f.stem.endswith(MASK_SUFFIX):
            if (f.parent, f.stem[: -len(MASK_SUFFIX)]) not in stems:
                log.warning("%s: mask without a photo (expected %s.*); skipped",
                            f, f.stem[: -len(MASK_SUFFIX)])
            continue
        masks = stems.get((f.parent, f.stem + MASK_SUFFIX), [])
        if len(masks) > 1:
            raise InputError(f"{f}: several masks for one photo: "
                             f"{', '.join(m.name for m in sorted(masks))}")
        s = _image_subject(f, masks[0] if masks else None, catalog)
        if s is not None:
            out.append(s)
    return out


# ----------------------------------------------------------------------------- entry point

def _collect(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Expand the given files/directories into (PSD files, image files), sorted."""
    psds, images = set(), set()
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = 0
            for f in p.rglob("*"):
                rel = f.relative_to(p).parts
                if any(part.startswith(".") for part in rel) or not f.is_file():
                    continue
                suffix = f.suffix.lower()
                if suffix == ".psd":
                    psds.add(f)
                elif suffix in IMAGE_SUFFIXES:
                    images.add(f)
                else:
                    continue
                found += 1
            if not found:
                raise InputError(f"{p}: no subjects found (expected .psd files, CLASS/*.png "
                                 "cut-outs or photo + _mask.png pairs)")
        elif p.is_file():
            suffix = p.suffix.lower()
            if suffix == ".psd":
                psds.add(p)
            elif suffix in IMAGE_SUFFIXES:
                images.add(p)
                if not p.stem.endswith(MASK_SUFFIX):
                    for m in p.parent.glob(f"{p.stem}{MASK_SUFFIX}.*"):
                        if m.suffix.lower() in IMAGE_SUFFIXES:
                            images.add(m)
            else:
                raise InputError(f"{p}: not a subject file (expected .psd, or an image "
                                 f"{'/'.join(sorted(IMAGE_SUFFIXES))})")
        else:
            raise InputError(f"{p}: no such file or directory")
    return sorted(psds), sorted(images)


def load_subjects(paths: Iterable[str | os.PathLike], catalog: dict[str, ClassSpec],
                  only: Iterable[str] | None = None,
                  cache_dir: str | os.PathLike | None = None,
                  use_cache: bool = True) -> list[Subject]:
    """Load every subject under `paths`, sorted by (class, name); `only` keeps those classes
    plus the catalog's distractors."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no subject paths given")
    keep = None
    if only is not None:
        keep = set()
        by_lower = {c.lower(): c for c in catalog}
        for c in only:
            if c.strip().lower() not in by_lower:
                raise InputError(f"--only: class '{c}' is not in the catalog "
                                 f"(known: {', '.join(sorted(catalog))})")
            keep.add(by_lower[c.strip().lower()])
    cache = None
    if use_cache:
        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()

    psds, images = _collect(paths)
    subjects: list[Subject] = []
    for psd in psds:
        subjects += _psd_subjects(psd, catalog, cache)
    subjects += _image_subjects(images, catalog)

    if keep is not None:
        subjects = [s for s in subjects if s.cls in keep or catalog[s.cls].distractor]
        missing = sorted(keep - {s.cls for s in subjects})
        if missing:
            raise InputError(f"{', '.join(map(str, paths))}: no subjects of class "
                             f"{', '.join(missing)}")
    if not subjects:
        raise InputError(f"{', '.join(map(str, paths))}: no usable subjects")

    # Names must be unique: two files with one name in different folders get "#2", "#3".
    seen: dict[str, int] = {}
    for s in subjects:
        n = seen.get(s.name, 0) + 1
        seen[s.name] = n
        if n > 1:
            s.name = f"{s.name}#{n}"
    subjects.sort(key=lambda s: (s.cls, s.name))
    return subjects


def effective_pose(subject: Subject, catalog: dict[str, ClassSpec]) -> str:
    """The subject's pose: its tag override, else its class's catalog pose."""
    return subject.pose or catalog[subject.cls].pose


def capture_elevation(subject: Subject, catalog: dict[str, ClassSpec]) -> float:
    """Degrees above the floor the subject was photographed from: declared, else its pose's."""
    if subject.elev_deg is not None:
        return subject.elev_deg
    return POSE_ELEVATION[effective_pose(subject, catalog)]


def subject_problems(subject: Subject) -> list[str]:
    """Problems visible in a loaded cut-out: too small, or not cut out at all."""
    h, w = subject.rgba.shape[:2]
    problems = []
    if max(h, w) < TINY_PX:
        problems.append(f"tiny ({w}x{h} px)")
    if subject.rgba[..., 3].min() == 255:
        problems.append("fully opaque (not cut out)")
    return problems


def view_label(elev: float, azimuths: Iterable[float | None]) -> str:
    """e.g. '15° az 0/90/180' (azimuths left out when none is declared)."""
    azs = sorted({a for a in azimuths if a is not None})
    return f"{elev:g}°" + (f" az {'/'.join(f'{a:g}' for a in azs)}" if azs else "")


def class_views(subjects: list[Subject], catalog: dict[str, ClassSpec]) -> list[dict]:
    """Per capture elevation of a class's subjects (highest first): its azimuths, views and
    objects."""
    by_elev: dict[float, list[Subject]] = {}
    for s in subjects:
        by_elev.setdefault(capture_elevation(s, catalog), []).append(s)
    return [{"elev_deg": e, "az_deg": sorted({s.az_deg for s in v if s.az_deg is not None}),
             "views": len(v), "objects": len({s.object or s.name for s in v})}
            for e, v in sorted(by_elev.items(), reverse=True)]


def summarize_subjects(subjects: list[Subject],
                       catalog: dict[str, ClassSpec]) -> list[dict]:
    """One row per catalog class: subject (view) and object counts, poses, capture
    elevations and azimuths, size range, cut-out pixel sizes, problems, per-subject lines."""
    rows = []
    for name in sorted(catalog, key=lambda c: (catalog[c].distractor, c)):
        spec = catalog[name]
        mine = [s for s in subjects if s.cls == name]
        poses: dict[str, int] = {}
        for s in mine:
            p = effective_pose(s, catalog)
            poses[p] = poses.get(p, 0) + 1
        sizes = [(s.rgba.shape[1], s.rgba.shape[0]) for s in mine]
        problems = [] if mine else ["no subjects"]
        items = []
        for s in mine:
            sp = subject_problems(s)
            problems += [f"{s.name}: {p}" for p in sp]
            items.append({"name": s.name, "object": s.object or s.name,
                          "pose": effective_pose(s, catalog),
                          "elev_deg": capture_elevation(s, catalog), "az_deg": s.az_deg,
                          "width": s.rgba.shape[1], "height": s.rgba.shape[0],
                          "problems": sp})
        rows.append({
            "class": name,
            "count": len(mine),
            "objects": len({s.object or s.name for s in mine}),
            "distractor": spec.distractor,
            "mirror": spec.mirror,
            "pose": ", ".join(f"{p} x{n}" if len(poses) > 1 else p
                              for p, n in sorted(poses.items())) or spec.pose,
            "views": class_views(mine, catalog),
            "size_m": spec.size_m,
            "min_px": min((max(wh) for wh in sizes), default=0),
            "max_px": max((max(wh) for wh in sizes), default=0),
            "problems": problems,
            "subjects": items,
        })
    return rows


def format_summary(rows: list[dict], problems: Iterable[str] = ()) -> str:
    """Render summarize_subjects() rows (and load-time problems) as a plain-text table."""
    labels = [r["class"] + (" (distractor)" if r["distractor"] else "") for r in rows]
    w = max([len("class")] + [len(x) for x in labels])
    lines = [f"{'class':<{w}} {'views':>5} {'objects':>7}  {'size (m)':<11} "
             f"{'cut-out px':<10} capture elevations: views (objects)"]
    for label, r in zip(labels, rows):
        px = f"{r['min_px']}-{r['max_px']}" if r["count"] else "-"
        size = f"{r['size_m'][0]:g}-{r['size_m'][1]:g}"
        views = ", ".join(f"{view_label(v['elev_deg'], v['az_deg'])}: {v['views']} "
                          f"({v['objects']})" for v in r["views"]) or "-"
        mirror = "  [mirror]" if r["mirror"] else ""
        lines.append(f"{label:<{w}} {r['count']:>5} {r['objects']:>7}  {size:<11} {px:<10} "
                     f"{views}{mirror}")
        objects: dict[str, list[dict]] = {}
        for s in r["subjects"]:
            objects.setdefault(s["object"], []).append(s)
        for obj, views_ in objects.items():
            if len(views_) == 1:
                s = views_[0]
                flag = f"  <- {'; '.join(s['problems'])}" if s["problems"] else ""
                lines.append(f"    {s['name']:<44} {s['pose']:<8} "
                             f"{view_label(s['elev_deg'], [s['az_deg']]):<18} "
                             f"{s['width']}x{s['height']}{flag}")
                continue
            by_elev: dict[float, list] = {}
            for s in views_:
                by_elev.setdefault(s["elev_deg"], []).append(s["az_deg"])
            text = ", ".join(view_label(e, a) for e, a in sorted(by_elev.items(), reverse=True))
            px_ = [max(s["width"], s["height"]) for s in views_]
            flags = [f"{s['name']}: {p}" for s in views_ for p in s["problems"]]
            flag = f"  <- {'; '.join(flags)}" if flags else ""
            lines.append(f"    {obj.rsplit(':', 1)[-1]:<44} {len(views_)} views: {text}; "
                         f"{min(px_)}-{max(px_)} px{flag}")
    found = list(problems) + [f"{r['class']}: {p}" for r in rows for p in r["problems"]]
    lines.append("")
    lines.append(f"problems: {len(found)}" if found else "problems: none")
    lines += [f"  {p}" for p in found]
    return "\n".join(lines)
