"""Dataset statistics of a VOC set: class counts, COCO box sizes and aspect ratios per split.

Box geometry follows the project's metric convention: a VOC box (xmin, ymin, xmax, ymax),
1-based inclusive, is the continuous 0-based box (xmin-1, ymin-1, xmax, ymax), so its width
is xmax - xmin + 1. Size buckets are COCO's, by box area w*h in pixels: small < 32²,
medium < 96², large otherwise.
`synth stats --compare` puts a set's image statistics (synth/imagestats.py) beside a folder's.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError
from .layouts import read_dataset, split_source
from .voc import VocSet

QUANTILES = (5, 25, 50, 75, 95)
SMALL_MAX_AREA = 32 ** 2
MEDIUM_MAX_AREA = 96 ** 2


@dataclass
class BoxTable:
    """Every object of a VOC set as flat arrays (one entry per box), for vectorised statistics."""

    classes: list[str]
    stems: list[str]
    image_width: np.ndarray   # (n_images,)
    image_height: np.ndarray  # (n_images,)
    image: np.ndarray         # (n_boxes,) index into stems
    cls: np.ndarray           # (n_boxes,) index into classes
    width: np.ndarray         # (n_boxes,) pixels, 0-based continuous box
    height: np.ndarray        # (n_boxes,)
    truncated: np.ndarray     # (n_boxes,) bool
    difficult: np.ndarray     # (n_boxes,) bool


def box_table(voc_set: VocSet) -> BoxTable:
    """Flatten a VocSet's objects into a BoxTable."""
    index = {c: i for i, c in enumerate(voc_set.classes)}
    image, cls, boxes, trunc, diff = [], [], [], [], []
    for i, im in enumerate(voc_set.images):
        for o in im.objects:
            image.append(i)
            cls.append(index[o.name])
            boxes.append(o.bbox)
            trunc.append(o.truncated)
            diff.append(o.difficult)
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return BoxTable(
        classes=list(voc_set.classes),
        stems=[im.stem for im in voc_set.images],
        image_width=np.array([im.width for im in voc_set.images], dtype=np.float64),
        image_height=np.array([im.height for im in voc_set.images], dtype=np.float64),
        image=np.asarray(image, dtype=np.int64),
        cls=np.asarray(cls, dtype=np.int64),
        width=b[:, 2] - b[:, 0] + 1.0,
        height=b[:, 3] - b[:, 1] + 1.0,
        truncated=np.asarray(trunc, dtype=bool),
        difficult=np.asarray(diff, dtype=bool),
    )


def _quantiles(values: np.ndarray) -> dict[str, float] | None:
    if values.size == 0:
        return None
    q = np.percentile(values, QUANTILES)
    return {f"p{p}": float(v) for p, v in zip(QUANTILES, q)}


def _size_buckets(area: np.ndarray) -> dict[str, int]:
    small = area < SMALL_MAX_AREA
    medium = ~small & (area < MEDIUM_MAX_AREA)
    return {"small": int(small.sum()), "medium": int(medium.sum()),
            "large": int((~small & ~medium).sum())}


def class_counts(table: BoxTable, image_mask: np.ndarray | None = None) -> np.ndarray:
    """Objects per class (in table.classes order), over the images selected by `image_mask`."""
    cls = table.cls if image_mask is None else table.cls[image_mask[table.image]]
    return np.bincount(cls, minlength=len(table.classes))


def subset_stats(table: BoxTable, image_mask: np.ndarray) -> dict:
    """Statistics of the images selected by a boolean mask over table.stems."""
    box_mask = image_mask[table.image]
    cls = table.cls[box_mask]
    w, h = table.width[box_mask], table.height[box_mask]
    area = w * h
    trunc, diff = table.truncated[box_mask], table.difficult[box_mask]
    img_area = (table.image_width * table.image_height)[table.image[box_mask]]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_area = np.where(img_area > 0, area / img_area, np.nan)
        aspect = h / w
    n_images = int(image_mask.sum())
    per_image = np.bincount(table.image[box_mask], minlength=len(table.stems))[image_mask]
    n_classes = len(table.classes)
    counts = np.bincount(cls, minlength=n_classes)
    n_objects = int(box_mask.sum())
    per_class = {}
    for k, name in enumerate(table.classes):
        m = cls == k
        per_class[name] = {
            "objects": int(counts[k]),
            "share": float(counts[k] / n_objects) if n_objects else 0.0,
            "images": int(np.unique(table.image[box_mask][m]).size),
            "truncated": int(trunc[m].sum()),
            "difficult": int(diff[m].sum()),
            "sizes": _size_buckets(area[m]),
            "aspect_hw": _quantiles(aspect[m]),
        }
    return {
        "images": n_images,
        "objects": n_objects,
        "empty_images": int((per_image == 0).sum()),
        "truncated": int(trunc.sum()),
        "difficult": int(diff.sum()),
        "sizes": _size_buckets(area),
        "objects_per_image": {"mean": float(per_image.mean()) if n_images else 0.0,
                              "max": int(per_image.max()) if n_images else 0},
        "relative_area": _quantiles(rel_area[np.isfinite(rel_area)]),
        "aspect_hw": _quantiles(aspect),
        "per_class": per_class,
    }


def split_mask(table: BoxTable, stems: list[str], split_file: str | Path) -> np.ndarray:
    """Boolean image mask for the stems of a split file; a stem without annotation is an error."""
    index = {s: i for i, s in enumerate(table.stems)}
    mask = np.zeros(len(table.stems), dtype=bool)
    for s in stems:
        if s not in index:
            raise InputError(f"{split_file}: lists {s!r}, which has no annotation")
        mask[index[s]] = True
    return mask


def dataset_stats(voc_set_root: str | os.PathLike) -> dict[str, dict]:
    """Statistics of a set (VOC, YOLO or COCO): {"all": {...}, name: {...} per split}."""
    root = Path(voc_set_root)
    voc_set = read_dataset(root)
    if not voc_set.images:
        raise InputError(f"{root}: no labelled images")
    table = box_table(voc_set)
    result = {"all": subset_stats(table, np.ones(len(table.stems), dtype=bool))}
    for name, stems in voc_set.splits.items():
        result[name] = subset_stats(table, split_mask(table, stems, split_source(root, name)))
    return result


def format_table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    """Plain aligned text table; `align` holds 'l' or 'r' per column (default: first left)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = align or "l" + "r" * (len(headers) - 1)
    lines = []
    for j, r in enumerate(cells):
        parts = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(r, widths, align)]
        lines.append("  ".join(parts).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths).rstrip())
    return "\n".join(lines)


def _q(q: dict[str, float] | None, key: str, fmt: str = "{:.2f}") -> str:
    return "-" if q is None else fmt.format(q[key])


def format_stats(stats: dict[str, dict]) -> str:
    """Human-readable text of dataset_stats' result."""
    out = []
    rows = []
    for name, s in stats.items():
        rows.append([name, s["images"], s["objects"], f"{s['objects_per_image']['mean']:.2f}",
                     s["objects_per_image"]["max"], s["empty_images"], s["truncated"],
                     s["difficult"]] + [s["sizes"][k] for k in ("small", "medium", "large")])
    out.append(format_table(["split", "images", "objects", "obj/img", "max", "empty", "trunc",
                             "diff", "small", "medium", "large"], rows))
    out.append("")
    out.append("box area / image area quantiles")
    out.append(format_table(["split"] + [f"p{p}" for p in QUANTILES],
                            [[name] + [_q(s["relative_area"], f"p{p}", "{:.4f}") for p in QUANTILES]
                             for name, s in stats.items()]))
    for name, s in stats.items():
        out.append("")
        out.append(f"[{name}] per class (aspect = box height / width)")
        rows = []
        for cls, c in s["per_class"].items():
            rows.append([cls, c["objects"], f"{100 * c['share']:.1f}%", c["images"], c["truncated"],
                         c["difficult"], c["sizes"]["small"], c["sizes"]["medium"],
                         c["sizes"]["large"]] + [_q(c["aspect_hw"], f"p{p}") for p in QUANTILES])
        out.append(format_table(["class", "objects", "share", "images", "trunc", "diff", "small",
                                 "medium", "large"] + [f"asp p{p}" for p in QUANTILES], rows))
    return "\n".join(out)


# --------------------------------------------------------------------------- image statistics
def compare_image_stats(directory: str | os.PathLike, real_dir: str | os.PathLike) -> dict:
    """Median and IQR of each image statistic of two folders, and the ratio of the medians."""
    from .imagestats import STATS, folder_stats

    try:
        real = folder_stats(real_dir)
    except InputError as exc:
        raise InputError(f"--compare {exc}") from None
    mine = folder_stats(directory)
    sides = {}
    for key, fs in (("set", mine), ("real", real)):
        sides[key] = {"dir": str(fs.root), "images": len(fs.paths), "total": fs.total,
                      "stats": fs.summary()}
    ratio = {}
    for k in STATS:
        m, r = sides["set"]["stats"][k]["median"], sides["real"]["stats"][k]["median"]
        ratio[k] = m / r if r else None
    return {**sides, "ratio": ratio}


def format_compare(result: dict) -> str:
    """Text of compare_image_stats' result, one row per statistic."""
    from .imagestats import STATS

    def fmt(v: float) -> str:
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3e}"

    def side(key: str) -> str:
        s = result[key]
        n = f"{s['images']} images" if s["images"] == s["total"] else \
            f"{s['images']} of {s['total']} images"
        return f"{s['dir']} ({n})"

    rows = []
    for k in STATS:
        a, b = result["set"]["stats"][k], result["real"]["stats"][k]
        r = result["ratio"][k]
        rows.append([k, fmt(a["median"]), f"{fmt(a['p25'])}-{fmt(a['p75'])}", fmt(b["median"]),
                     f"{fmt(b['p25'])}-{fmt(b['p75'])}", "-" if r is None else f"{r:.2f}"])
    head = [f"image statistics: {side('set')} vs {side('real')}",
            "(median and interquartile range p25-p75 per image; ratio = median / real median)",
            ""]
    table = format_table(["statistic", "median", "IQR", "real median", "real IQR", "ratio"],
                         rows, align="lrrrrr")
    return "\n".join(head) + table
