"""Train/val splits of a VOC set: evenly spaced ("interval") or random; their class balance.

Interval split: images are put in natural name order (img2 before img10) and grouped into
blocks of B consecutive images (B=1 by default); with k = round(1/(1-ratio)) (half up), every
k-th block goes to val, i.e. blocks at positions k-1, 2k-1, 3k-1, ... (0-based). ratio=0.85
gives k=7 (val ≈ 14.3%). Val frames are spread evenly through the sequence, so on video-like
data val is not a random subset whose every frame has a near-duplicate neighbour in train;
blocks keep neighbouring frames on the same side.

Random split: a seeded shuffle of the blocks; exactly round(n_blocks * (1-ratio)) blocks go to
val (with B=1 that is round(N * (1-ratio)) images).

Images listed in an existing ImageSets/Main/test.txt are left out of train and val.
"""
from __future__ import annotations

import logging
import math
import os
import random
import re
from pathlib import Path

from .errors import InputError
from .stats import box_table, class_counts, format_table, split_mask
from .voc import VocSet, available_splits, read_split, read_voc_set, write_splits

log = logging.getLogger(__name__)

MODES = ("interval", "random")


def natural_key(name: str) -> tuple:
    """Sort key that orders digit runs by value: img2 < img10."""
    parts = [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]
    return (parts, name)


def _round_half_up(x: float) -> int:
    # The epsilon absorbs float error such as 100 * (1 - 0.85) = 15.000000000000002 or 14.99...
    return int(math.floor(x + 0.5 + 1e-9))


def interval_k(ratio: float) -> int:
    """Interval of the val images: k = round(1/(1-ratio)), half up."""
    return _round_half_up(1.0 / (1.0 - ratio))


def split_stems(stems: list[str], ratio: float, mode: str, seed: int = 0,
                block: int = 1) -> dict[str, list[str]]:
    """Split image stems into {"train": [...], "val": [...]} (each in natural name order)."""
    if not 0.0 < ratio < 1.0:
        raise InputError(f"--ratio {ratio}: must lie strictly between 0 and 1 (the train fraction)")
    if mode not in MODES:
        raise InputError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
    if block < 1:
        raise InputError(f"--block {block}: must be at least 1")
    ordered = sorted(stems, key=natural_key)
    blocks = [ordered[i:i + block] for i in range(0, len(ordered), block)]
    if mode == "interval":
        k = interval_k(ratio)
        if k < 2:
            raise InputError(f"--ratio {ratio}: gives k=1, every image in val; --interval "
                             f"needs a ratio of at least 1/3 (use --random for less)")
        val_blocks = {j for j in range(len(blocks)) if j % k == k - 1}
    else:
        n_val = _round_half_up(len(blocks) * (1.0 - ratio))
        order = list(range(len(blocks)))
        random.Random(seed).shuffle(order)
        val_blocks = set(order[:n_val])
    train = [s for j, b in enumerate(blocks) if j not in val_blocks for s in b]
    val = [s for j, b in enumerate(blocks) if j in val_blocks for s in b]
    return {"train": train, "val": val}


def split_dataset(root: str | os.PathLike | VocSet, ratio: float, mode: str, seed: int = 0,
                  block: int = 1) -> dict[str, list[str]]:
    """Split a VOC set's annotated images (minus any listed in test.txt) into train and val."""
    voc_set = root if isinstance(root, VocSet) else read_voc_set(root)
    has_test = "test" in available_splits(voc_set.root)
    test = set(read_split(voc_set.root, "test")) if has_test else set()
    stems = [im.stem for im in voc_set.images if im.stem not in test]
    if not stems:
        raise InputError(f"{voc_set.root}: no annotated images to split")
    splits = split_stems(stems, ratio, mode, seed=seed, block=block)
    for name, part in splits.items():
        if not part:
            unit = f"{len(stems)} images" + (f" in blocks of {block}" if block > 1 else "")
            how = f"k={interval_k(ratio)}" if mode == "interval" else f"ratio {ratio}"
            raise InputError(f"{voc_set.root}: {unit} with {how} leave {name} empty")
    return splits


def class_shares(voc_set: VocSet, splits: dict[str, list[str]]) -> dict[str, dict[str, dict]]:
    """Per split and class: {"objects": count, "share": fraction of the split's objects}."""
    table = box_table(voc_set)
    result = {}
    for name, stems in splits.items():
        mask = split_mask(table, stems, Path(voc_set.root) / f"<{name} split>")
        counts = class_counts(table, mask)
        total = int(counts.sum())
        result[name] = {c: {"objects": int(n), "share": float(n / total) if total else 0.0}
                        for c, n in zip(table.classes, counts)}
    return result


def imbalanced_classes(shares: dict[str, dict[str, dict]], tolerance: float = 3.0,
                       a: str = "train", b: str = "val") -> list[str]:
    """Classes whose object shares in splits a and b differ by more than `tolerance` points."""
    flagged = []
    for cls in shares[a]:
        diff = 100.0 * (shares[b][cls]["share"] - shares[a][cls]["share"])
        if abs(diff) > tolerance:
            log.warning("imbalanced class %s: %.1f%% of train objects but %.1f%% of val objects "
                        "(differs by %.2f points, tolerance %g)", cls,
                        100 * shares[a][cls]["share"], 100 * shares[b][cls]["share"], abs(diff),
                        tolerance)
            flagged.append(cls)
    return flagged


def format_shares(shares: dict[str, dict[str, dict]], flagged: list[str],
                  tolerance: float) -> str:
    """The class-distribution table printed by `synth split`."""
    rows = []
    for cls in shares["train"]:
        t, v = shares["train"][cls], shares["val"][cls]
        diff = 100.0 * (v["share"] - t["share"])
        rows.append([cls, t["objects"], f"{100 * t['share']:.1f}%", v["objects"],
                     f"{100 * v['share']:.1f}%", f"{diff:+.1f}"]
                    + (["IMBALANCED" if cls in flagged else ""] if flagged else []))
    headers = ["class", "train", "train %", "val", "val %", "diff pts"]
    headers += ["check"] if flagged else []
    text = format_table(headers, rows, align="lrrrrrl")
    if flagged:
        text += (f"\nwarning: {len(flagged)} class(es) differ by more than {tolerance:g} points "
                 f"between train and val: {', '.join(flagged)}")
    else:
        text += f"\nclass shares agree within {tolerance:g} points"
    return text


def save_splits(root: str | os.PathLike, splits: dict[str, list[str]]) -> list[Path]:
    """Write train.txt and val.txt atomically (and trainval.txt, if one exists, as their union)."""
    main = Path(root) / "ImageSets" / "Main"
    out = dict(splits)
    if (main / "trainval.txt").is_file():
        out["trainval"] = sorted(splits["train"] + splits["val"], key=natural_key)
    write_splits(root, out)
    return [main / f"{name}.txt" for name in out]
