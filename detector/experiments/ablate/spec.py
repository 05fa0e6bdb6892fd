"""What an ablation is made of: data regimes (a VOC dir, a synth recipe, a mixture), the test
sets every run is evaluated on, the seeds, the subject x background factorial design, and
`AblateConfig`, which holds them with the training every run shares (a TrainConfig)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import yaml

from synth.errors import InputError
from synth.layouts import dataset_splits
from synth.yolo import is_yolo_data_yaml

from detector.training.config import SETTINGS, TrainConfig, coerce_setting, setting_name

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]*")   # no '+': it joins mixture parts
_MIX_PART = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.@-]*):([0-9.eE-]+)")
RECIPE_SUFFIXES = (".yaml", ".yml")


@dataclass
class Regime:
    """One way of making training data: a VOC dir, a synth recipe, or a mixture of regimes."""

    name: str
    kind: str                                   # "dir" | "recipe" | "mix"
    path: Path | None = None                    # the dir or the recipe
    parts: tuple[tuple[str, float], ...] = ()   # mix: (regime name, share of draws)
    overrides: dict = field(default_factory=dict)  # recipe keys replaced (factorial cells)

    def spec(self) -> str:
        """What the regime is, as text (recorded in ablation.json, shown in results.md)."""
        if self.kind == "mix":
            return "mix " + " + ".join(f"{n} {r:g}" for n, r in self.parts)
        extra = "".join(f" {k}={v}" for k, v in sorted(self.overrides.items()))
        return f"{self.kind} {self.path}{extra}"


@dataclass
class EvalSet:
    """A VOC set every run is evaluated on (all images, or one split)."""

    name: str
    path: Path
    split: str | None = None


def _check_name(name: str, flag: str, text: str) -> str:
    if not _NAME.fullmatch(name):
        raise InputError(f"{flag} {text!r}: NAME must be letters, digits, '_', '.', '@' or '-'")
    return name


def parse_regime(text: str) -> Regime:
    """'NAME=DIR', 'NAME=RECIPE.yaml' or 'NAME=a:0.9+b:0.1' (a mixture of other regimes)."""
    if "=" not in text:
        raise InputError(f"--regime {text!r}: expected NAME=DIR, NAME=RECIPE.yaml or "
                         f"NAME=a:0.9+b:0.1")
    name, spec = (s.strip() for s in text.split("=", 1))
    _check_name(name, "--regime", text)
    path = Path(spec)
    if path.is_dir() or (path.is_file() and is_yolo_data_yaml(path)):
        return Regime(name, "dir", path)
    if path.is_file():
        if path.suffix.lower() not in RECIPE_SUFFIXES:
            raise InputError(f"{path}: --regime {name}: a file must be a synth recipe "
                             f"(.yaml/.yml)")
        return Regime(name, "recipe", path)
    parts = spec.split("+")
    matches = [_MIX_PART.fullmatch(p.strip()) for p in parts]
    if spec and all(matches):
        shares = []
        for m in matches:
            try:
                share = float(m.group(2))
            except ValueError:
                share = float("nan")
            if not (math.isfinite(share) and share > 0):
                raise InputError(f"--regime {text!r}: share {m.group(2)!r} of {m.group(1)!r} "
                                 f"must be a positive number")
            shares.append((m.group(1), share))
        names = [n for n, _ in shares]
        if len(set(names)) != len(names):
            raise InputError(f"--regime {text!r}: a regime appears twice in the mixture")
        return Regime(name, "mix", parts=tuple(shares))
    raise InputError(f"{spec}: --regime {name}: no such directory or recipe file (a mixture "
                     f"is NAME=a:0.9+b:0.1 over other regimes' names)")


def parse_test(text: str) -> EvalSet:
    """'NAME=DIR' (every image) or 'NAME=DIR:SPLIT' (ImageSets/Main/SPLIT.txt)."""
    if "=" not in text:
        raise InputError(f"--test {text!r}: expected NAME=DIR or NAME=DIR:SPLIT")
    name, spec = (s.strip() for s in text.split("=", 1))
    _check_name(name, "--test", text)
    path, split = Path(spec), None
    if not path.exists() and ":" in spec:
        head, tail = spec.rsplit(":", 1)
        path, split = Path(head), tail
    if not path.exists():
        raise InputError(f"{path}: --test {name}: no such dataset folder or data.yaml")
    if split is not None and split not in dataset_splits(path):
        raise InputError(f"{path}: --test {name}: no split {split!r}")
    return EvalSet(name, path, split)


def parse_seeds(text: str) -> list[int]:
    """'0,1,2' -> [0, 1, 2]; '3' -> [3]."""
    try:
        seeds = [int(s) for s in str(text).split(",") if s.strip()]
    except ValueError:
        raise InputError(f"--seeds {text!r}: expected integers like 0,1,2") from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise InputError(f"--seeds {text!r}: expected distinct non-negative integers like 0,1,2")
    return seeds


def _label(path: Path) -> str:
    """A short regime-name part from a recipe or directory path."""
    base = path.stem if path.suffix.lower() in RECIPE_SUFFIXES else path.name
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", base).strip("-.") or "x"
    return base if base[0].isalnum() else "x" + base


def _unique(labels: list[str]) -> list[str]:
    return [lab if labels.count(lab) == 1 else f"{lab}{i + 1}" for i, lab in enumerate(labels)]


def parse_factorial(items: Sequence[str]) -> tuple[list[Path], list[Path]]:
    """('subjects=A.yaml,B.yaml', 'backgrounds=C,D') -> (recipes, background dirs)."""
    levels: dict[str, list[Path]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in ("subjects", "backgrounds") or key in levels:
            raise InputError(f"--factorial {item!r}: expected subjects=RECIPE,RECIPE and "
                             f"backgrounds=DIR,DIR (each once)")
        levels[key] = [Path(v.strip()) for v in value.split(",") if v.strip()]
        if not levels[key]:
            raise InputError(f"--factorial {item!r}: no levels given")
    if set(levels) != {"subjects", "backgrounds"}:
        raise InputError("--factorial: give both subjects=RECIPE,RECIPE and backgrounds=DIR,DIR")
    for p in levels["subjects"]:
        if not p.is_file() or p.suffix.lower() not in RECIPE_SUFFIXES:
            raise InputError(f"{p}: --factorial subjects: not a synth recipe file "
                             f"(.yaml/.yml: its `assets` are the subject source)")
    for p in levels["backgrounds"]:
        if not p.is_dir():
            raise InputError(f"{p}: --factorial backgrounds: not a directory (floors/, "
                             f"backdrops/)")
    return levels["subjects"], levels["backgrounds"]


def expand_factorial(subjects: Sequence[Path], backgrounds: Sequence[Path]
                     ) -> tuple[list[Regime], dict]:
    """Every (subject recipe, background dir) cell as a recipe regime named SUBJ@BG.

    Each cell is its subject recipe (its assets, view, size, counts ...) with `backgrounds`
    replaced by the background level. Also returns the design (levels and cell names) for
    results.json and the grid in results.md.
    """
    s_labels = _unique([_label(p) for p in subjects])
    b_labels = _unique([_label(p) for p in backgrounds])
    regimes, cells = [], {}
    for s, sl in zip(subjects, s_labels):
        for b, bl in zip(backgrounds, b_labels):
            regimes.append(Regime(f"{sl}@{bl}", "recipe", Path(s),
                                  overrides={"backgrounds": str(Path(b).resolve())}))
            cells.setdefault(sl, {})[bl] = regimes[-1].name
    design = {"subjects": s_labels, "backgrounds": b_labels,
              "subject_sources": [str(p) for p in subjects],
              "background_sources": [str(p) for p in backgrounds], "cells": cells}
    return regimes, design


def check_regimes(regimes: Sequence[Regime]) -> None:
    """Unique names; mixtures name existing non-mixture regimes."""
    if not regimes:
        raise InputError("give at least one --regime NAME=DIR|RECIPE (or --factorial)")
    names = [r.name for r in regimes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"--regime: name used twice: {', '.join(dupes)}")
    kinds = {r.name: r.kind for r in regimes}
    for r in regimes:
        for part, _ in r.parts:
            if part not in kinds:
                raise InputError(f"--regime {r.name}: mixture part {part!r} is not a regime "
                                 f"(regimes: {', '.join(names)})")
            if kinds[part] == "mix":
                raise InputError(f"--regime {r.name}: mixture part {part!r} is itself a "
                                 f"mixture")


@dataclass
class AblateConfig:
    """Every setting of an ablation. `train` holds what every run shares (model, sizes,
    epochs, optimiser ...); ablate sets each run's data, run directory, seed and note."""

    regimes: list[Regime]
    tests: list[EvalSet]
    out: Path = Path("ablate")
    train: TrainConfig = field(default_factory=lambda: TrainConfig(model="yolov3-tiny",
                                                                   epochs=30))
    seeds: list[int] = field(default_factory=lambda: [0])
    images_per_epoch: int | None = None   # default: the largest regime's training images
    n_boot: int = 1000
    factorial: dict | None = None  # {"subjects": [...], "backgrounds": [...], "cells": {...}}

    def run_names(self) -> list[tuple[str, int]]:
        return [(r.name, s) for r in self.regimes for s in self.seeds]

    def shared_options(self) -> dict:
        """The shared training settings beyond ablate's own (results.md and ablation.json
        name them): --augment, and every other one that differs from `pipeline train`'s
        default."""
        default = TrainConfig().to_dict()
        return {k: v for k, v in self.train.to_dict().items()
                if k not in MANAGED_TRAIN_KEYS and (k == "augment" or v != default[k])}


# Settings ablate decides per run or takes from its own flags; --train-option may set
# any other TrainConfig field.
MANAGED_TRAIN_KEYS = {"data", "val", "split", "val_split", "classes", "model", "img_size",
                      "epochs", "batch_size", "device", "run_dir", "name", "project", "resume",
                      "seed", "workers", "progress", "note", "stop_after"}


def parse_train_options(items: Sequence[str]) -> dict:
    """['optimizer=adam', 'lr=0.002'] -> {'optimizer': 'adam', 'lr': 0.002}: `pipeline train`
    settings by their names (values read as YAML), for every run."""
    known = {n for n, s in SETTINGS.items() if s.flag} - MANAGED_TRAIN_KEYS
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = setting_name(key)
        if not sep or key not in known:
            why = ("is set by ablate itself" if key in MANAGED_TRAIN_KEYS else
                   f"is not a training setting (known: {', '.join(sorted(known))})")
            raise InputError(f"--train-option {item!r}: {key!r} {why}" if sep else
                             f"--train-option {item!r}: expected KEY=VALUE")
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            raise InputError(f"--train-option {item!r}: cannot read the value") from None
        out[key] = coerce_setting(key, parsed, f"--train-option {item!r}")
    return out
