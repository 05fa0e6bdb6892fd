"""The image budget every run of an ablation gets, and each regime's training *view*.

Controlled variables: every run gets the same model, hyper-parameters, seed list and the
same *number of images drawn*, whatever its regime's size. The budget is
`images_per_epoch x epochs` (images per epoch defaults to the largest regime's training
set); a regime's training set is a view directory (OUT/views/NAME) whose
ImageSets/Main/train.txt lists exactly `images_per_epoch` draws: a smaller set is repeated
in whole cycles (the remainder drawn without replacement), a mixture `a:0.9+b:0.1` draws
90% / 10% of the list from its parts (largest remainder). Views link to the sources'
files (symlinks, copies where links fail) and carry one class list, the union over all
regimes, so every model has the same head. The trainer is unchanged: an epoch is one pass
over its view, so steps and images seen are identical across regimes.
"""
from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from synth import fsio
from synth.errors import InputError
from synth.layouts import read_train_images
from synth.voc import (VocImage, VocSet, find_image, merge_classes, write_annotation, write_labels,
                       write_splits)

from .spec import AblateConfig


@dataclass
class Budget:
    """The image budget every run gets."""

    images_per_epoch: int
    epochs: int
    batch_size: int

    @property
    def images(self) -> int:
        return self.images_per_epoch * self.epochs

    @property
    def steps(self) -> int:
        """Optimiser steps (the trainer keeps a last partial batch)."""
        return math.ceil(self.images_per_epoch / self.batch_size) * self.epochs


def split_counts(total: int, shares: Sequence[float]) -> list[int]:
    """`total` draws split by `shares` (normalised), largest remainder: exact sum."""
    s = np.asarray(shares, float)
    quota = total * s / s.sum()
    counts = np.floor(quota).astype(int)
    for i in np.argsort(-(quota - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    return counts.tolist()


def cycle_draws(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """k indices into range(n): whole cycles over all n, the remainder without replacement.

    Every image is drawn floor(k/n) or ceil(k/n) times (the least-variance way to show a
    small set as often as a large one).
    """
    if n < 1:
        raise ValueError("nothing to draw from")
    full, rest = divmod(k, n)
    return np.concatenate([np.tile(np.arange(n), full),
                           np.sort(rng.permutation(n)[:rest])]).astype(np.int64)


def training_set(root: Path) -> VocSet:
    """The images a regime contributes: its train split if it has one, else every image its
    val and test splits do not list (synth.layouts.read_train_images)."""
    voc = read_train_images(root)
    if not voc.images:
        raise InputError(f"{root}: no training images")
    if not any(o for im in voc.images for o in im.objects if not o.difficult):
        raise InputError(f"{root}: the training images have no (non-difficult) objects")
    return voc


def write_view(view: Path, parts: Sequence[tuple[str, VocSet, int]], classes: Sequence[str],
               seed: int = 0) -> list[str]:
    """Write a training view: `count` draws from each (prefix, set, count); return the list.

    Stems become PREFIX__STEM so parts cannot collide; the annotation and image files are
    links to the originals (fsio.place_file). The list is a pure function of the inputs and `seed`.
    """
    rng = np.random.default_rng(seed)
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (view / sub).mkdir(parents=True, exist_ok=True)
    draws: list[str] = []
    for prefix, voc, count in parts:
        stems = []
        for im in voc.images:
            stem = f"{prefix}__{im.stem}"
            img = find_image(voc.root, im).resolve()
            xml = voc.root / "Annotations" / f"{im.stem}.xml"
            if voc.layout == "voc":
                fsio.place_file(xml.resolve(), view / "Annotations" / f"{stem}.xml")
            else:  # a YOLO or COCO set: its labels written as VOC XML
                write_annotation(view / "Annotations" / f"{stem}.xml",
                                 VocImage(stem, f"{stem}{img.suffix}", im.width, im.height,
                                          im.depth, im.objects))
            fsio.place_file(img, view / "JPEGImages" / f"{stem}{img.suffix}")
            stems.append(stem)
        draws += [stems[i] for i in cycle_draws(len(stems), count, rng)]
    write_labels(view, list(classes))
    write_splits(view, {"train": draws})
    return draws


def plan_views(cfg: AblateConfig, roots: dict[str, Path]
               ) -> tuple[Budget, list[str], dict[str, list[tuple[str, VocSet, int]]]]:
    """The budget, the shared class list and each regime's view parts (prefix, set, draws)."""
    sets = {name: training_set(root) for name, root in roots.items()}
    classes = merge_classes([sets[r.name].classes for r in cfg.regimes if r.kind != "mix"])
    per_epoch = cfg.images_per_epoch or max(len(s.images) for s in sets.values())
    if per_epoch < 1:
        raise InputError(f"--images-per-epoch {per_epoch}: must be at least 1")
    budget = Budget(per_epoch, cfg.train.epochs, cfg.train.batch_size)
    parts = {}
    for r in cfg.regimes:
        if r.kind == "mix":
            counts = split_counts(per_epoch, [s for _, s in r.parts])
            parts[r.name] = [(n, sets[n], c) for (n, _), c in zip(r.parts, counts) if c > 0]
        else:
            parts[r.name] = [(r.name, sets[r.name], per_epoch)]
    return budget, classes, parts
