"""`pipeline ablate`: one training per data regime x seed on an identical image budget, every
run evaluated on every test set, and a table of mean ± std with paired bootstrap CIs.

Controlled variables: every run gets the same model, hyper-parameters, seed list and the
same *number of images drawn*, whatever its regime's size. The budget is
`images_per_epoch x epochs` (images per epoch defaults to the largest regime's training
set); a regime's training set is a *view* directory (OUT/views/NAME) whose
ImageSets/Main/train.txt lists exactly `images_per_epoch` draws: a smaller set is repeated
in whole cycles (the remainder drawn without replacement), a mixture `a:0.9+b:0.1` draws
90% / 10% of the list from its parts (largest remainder). Views link to the sources'
files (symlinks, copies where links fail) and carry one class list, the union over all
regimes, so every model has the same head. The trainer is unchanged: an epoch is one pass
over its view, so steps and images seen are identical across regimes.

Layout of OUT: data/NAME (regimes generated from recipes), views/NAME, runs/NAME-sSEED
(trainer run dirs + ablate.json records + eval/TEST.npz per-detection matches),
ablation.json (settings, checked on rerun), results.{json,md,csv}, plots/.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from synth import fsio
from synth.errors import InputError
from synth.voc import VocSet, available_splits, find_image, read_voc_set

log = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]*")   # no '+': it joins mixture parts
_MIX_PART = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.@-]*):([0-9.eE-]+)")
RECIPE_SUFFIXES = (".yaml", ".yml")


# ----------------------------------------------------------------------------- inputs
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
    if path.is_dir():
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
    if not path.is_dir() and ":" in spec:
        head, tail = spec.rsplit(":", 1)
        path, split = Path(head), tail
    if not path.is_dir():
        raise InputError(f"{path}: --test {name}: not a directory")
    if split is not None and split not in available_splits(path):
        raise InputError(f"{path}: --test {name}: no split {split!r} "
                         f"(ImageSets/Main/{split}.txt)")
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


# ----------------------------------------------------------------------------- budget, views
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
    """The images a regime contributes: its train split if it has one, else all images."""
    split = "train" if "train" in available_splits(root) else None
    voc = read_voc_set(root, split=split)
    if not voc.images:
        raise InputError(f"{root}: no training images{' in split train' if split else ''}")
    if not any(o for im in voc.images for o in im.objects if not o.difficult):
        raise InputError(f"{root}: the training images have no (non-difficult) objects")
    return voc


def _link(src: Path, dst: Path) -> None:
    """dst -> src as a symlink (a copy where the file system refuses links)."""
    if dst.is_symlink() or dst.exists():
        if dst.is_symlink() and os.readlink(dst) == str(src):
            return
        dst.unlink()
    try:
        os.symlink(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def write_view(view: Path, parts: Sequence[tuple[str, VocSet, int]], classes: Sequence[str],
               seed: int = 0) -> list[str]:
    """Write a training view: `count` draws from each (prefix, set, count); return the list.

    Stems become PREFIX__STEM so parts cannot collide; the annotation and image files are
    links to the originals. The list is a pure function of the inputs and `seed`.
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
            _link((voc.root / "Annotations" / f"{im.stem}.xml").resolve(),
                  view / "Annotations" / f"{stem}.xml")
            _link(img, view / "JPEGImages" / f"{stem}{img.suffix}")
            stems.append(stem)
        draws += [stems[i] for i in cycle_draws(len(stems), count, rng)]
    fsio.write_text(view / "labels.txt", "".join(f"{c}\n" for c in classes))
    fsio.write_text(view / "ImageSets" / "Main" / "train.txt", "".join(f"{s}\n" for s in draws))
    return draws


# ----------------------------------------------------------------------------- bootstrap
@dataclass
class MatchTable:
    """VOC matching of one run on one test set: enough to recompute AP50 on any resample.

    Only detections that are a true or false positive are kept (those on difficult objects
    count for nothing); `n_pos[i, k]` is image i's number of non-difficult class-k objects.
    """

    image: np.ndarray    # (n,) int64
    cls: np.ndarray      # (n,) int64
    score: np.ndarray    # (n,) float64
    tp: np.ndarray       # (n,) bool
    n_pos: np.ndarray    # (n_images, K) int64
    classes: list[str]

    @classmethod
    def from_evaluation(cls, ev) -> "MatchTable":
        """From a detector.evaluation.Evaluation."""
        keep = ev.voc.tp | ev.voc.fp
        gt = ev.gt
        n_pos = np.zeros((gt.n_images, len(gt.classes)), np.int64)
        np.add.at(n_pos, (gt.image[~gt.difficult], gt.cls[~gt.difficult]), 1)
        return cls(ev.dets.image[keep].astype(np.int64), ev.dets.cls[keep].astype(np.int64),
                   ev.dets.score[keep].astype(np.float64), ev.voc.tp[keep].astype(bool),
                   n_pos, list(gt.classes))

    def save(self, path: Path) -> None:
        with fsio.atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, image=self.image, cls=self.cls, score=self.score,
                                    tp=self.tp, n_pos=self.n_pos,
                                    classes=np.array(self.classes, dtype=str))

    @classmethod
    def load(cls, path: Path) -> "MatchTable":
        with np.load(path) as z:
            return cls(z["image"], z["cls"], z["score"], z["tp"], z["n_pos"],
                       [str(c) for c in z["classes"]])


def resampled_map50(t: MatchTable, counts: np.ndarray, max_cells: int = 4_000_000
                    ) -> np.ndarray:
    """VOC all-point mAP50 on each resample: `counts` (B, n_images) = times each image drawn.

    A drawn-twice image counts its objects and its detections twice, exactly as if the set
    held two copies. All-ones counts give the plain mAP50. Vectorised over resamples.
    """
    counts = np.asarray(counts, np.float64)
    B, K = counts.shape[0], t.n_pos.shape[1]
    npos = counts @ t.n_pos                                                # (B, K)
    ap = np.full((B, K), np.nan)
    for k in range(K):
        live = npos[:, k] > 0
        if not live.any():
            continue
        idx = np.flatnonzero(t.cls == k)
        idx = idx[np.argsort(-t.score[idx], kind="stable")]
        hits = np.flatnonzero(t.tp[idx])
        if len(hits) == 0:
            ap[live, k] = 0.0
            continue
        idx = idx[: hits[-1] + 1]  # false positives after the last hit change no AP
        tp = t.tp[idx]
        step = max(1, max_cells // len(idx))
        for lo in range(0, B, step):
            w = counts[lo:lo + step][:, t.image[idx]]                       # (b, n)
            tpc = np.cumsum(w * tp, axis=1)
            fpc = np.cumsum(w * ~tp, axis=1)
            prec = tpc / np.maximum(tpc + fpc, np.finfo(np.float64).eps)
            env = np.maximum.accumulate(prec[:, ::-1], axis=1)[:, ::-1]
            n = npos[lo:lo + step, k]
            with np.errstate(invalid="ignore", divide="ignore"):
                rec = tpc / n[:, None]
            drec = np.diff(rec, axis=1, prepend=0.0)
            ap[lo:lo + step, k] = np.where(n > 0, (drec * env).sum(axis=1), np.nan)
    with np.errstate(invalid="ignore"):
        valid = ~np.isnan(ap)
        return np.where(valid.any(1), np.nansum(ap, 1) / np.maximum(valid.sum(1), 1), np.nan)


def bootstrap_counts(n_images: int, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """(n_boot, n_images) draw counts of resampling the images with replacement."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_images, size=(n_boot, n_images))
    flat = (np.arange(n_boot)[:, None] * n_images + idx).ravel()
    return np.bincount(flat, minlength=n_boot * n_images).reshape(n_boot, n_images)


def paired_bootstrap_ci(first: Sequence[MatchTable], other: Sequence[MatchTable],
                        n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                        counts: np.ndarray | None = None) -> tuple[float, float]:
    """Percentile CI of mAP50(other) - mAP50(first) over test images resampled with replacement.

    Both regimes are scored on the same resamples (paired); with several seeds each
    regime's mAP50 is its mean over seeds on that resample.
    """
    n = first[0].n_pos.shape[0]
    if any(t.n_pos.shape[0] != n for t in (*first, *other)):
        raise ValueError("match tables of different test sets")
    if counts is None:
        counts = bootstrap_counts(n, n_boot, seed)
    a = np.mean([resampled_map50(t, counts) for t in first], axis=0)
    b = np.mean([resampled_map50(t, counts) for t in other], axis=0)
    diff = (b - a)[~np.isnan(b - a)]
    if len(diff) == 0:
        return (float("nan"), float("nan"))
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(diff, [tail, 100 - tail])
    return float(lo), float(hi)


# ----------------------------------------------------------------------------- the ablation
@dataclass
class AblateConfig:
    """Every setting of an ablation."""

    regimes: list[Regime]
    tests: list[EvalSet]
    out: Path = Path("ablate")
    model: str = "yolov3-tiny"
    img_size: int = 416
    epochs: int = 30
    batch_size: int = 16
    seeds: list[int] = field(default_factory=lambda: [0])
    device: str | None = None
    images_per_epoch: int | None = None   # default: the largest regime's training images
    workers: int = 4
    train_options: dict = field(default_factory=dict)  # more TrainConfig fields, for all runs
    n_boot: int = 1000
    progress: bool = True
    factorial: dict | None = None  # {"subjects": [...], "backgrounds": [...], "cells": {...}}

    def run_names(self) -> list[tuple[str, int]]:
        return [(r.name, s) for r in self.regimes for s in self.seeds]


def _json_default(x):
    if isinstance(x, Path):
        return str(x)
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"not JSON serialisable: {type(x)}")


def _write_json(path: Path, obj) -> None:
    fsio.write_text(path, json.dumps(_finite(obj), indent=1, default=_json_default) + "\n")


def _finite(x):
    """JSON-safe copy: NaN/inf become null."""
    if isinstance(x, dict):
        return {str(k): _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def generate_regimes(cfg: AblateConfig) -> dict[str, Path]:
    """The training VOC dir of every non-mixture regime; recipes are generated (resumably)."""
    from synth.generate import config_from_options, generate, load_recipe

    roots = {}
    for r in cfg.regimes:
        if r.kind == "dir":
            roots[r.name] = r.path
        elif r.kind == "recipe":
            opts = load_recipe(r.path)
            opts.update(r.overrides)
            opts["out"] = str(cfg.out / "data" / r.name)
            gen = config_from_options(opts)
            log.info("regime %s: generating %d %s images from %s into %s", r.name, gen.n,
                     gen.view, r.path, gen.out)
            generate(gen, progress=cfg.progress)
            roots[r.name] = gen.out
    return roots


def plan_views(cfg: AblateConfig, roots: dict[str, Path]
               ) -> tuple[Budget, list[str], dict[str, list[tuple[str, VocSet, int]]]]:
    """The budget, the shared class list and each regime's view parts (prefix, set, draws)."""
    sets = {name: training_set(root) for name, root in roots.items()}
    from .data import merge_classes

    classes = merge_classes([sets[r.name].classes for r in cfg.regimes if r.kind != "mix"])
    per_epoch = cfg.images_per_epoch or max(len(s.images) for s in sets.values())
    if per_epoch < 1:
        raise InputError(f"--images-per-epoch {per_epoch}: must be at least 1")
    budget = Budget(per_epoch, cfg.epochs, cfg.batch_size)
    parts = {}
    for r in cfg.regimes:
        if r.kind == "mix":
            counts = split_counts(per_epoch, [s for _, s in r.parts])
            parts[r.name] = [(n, sets[n], c) for (n, _), c in zip(r.parts, counts) if c > 0]
        else:
            parts[r.name] = [(r.name, sets[r.name], per_epoch)]
    return budget, classes, parts


def _settings(cfg: AblateConfig, budget: Budget, classes: list[str]) -> dict:
    """What every run shares (a rerun into the same OUT must not change it)."""
    return {"model": cfg.model, "img_size": cfg.img_size, "epochs": cfg.epochs,
            "batch_size": cfg.batch_size, "images_per_epoch": budget.images_per_epoch,
            "train_options": dict(sorted(cfg.train_options.items())), "classes": classes}


def _check_previous(cfg: AblateConfig, settings: dict, regimes: dict[str, str]) -> None:
    path = cfg.out / "ablation.json"
    if not path.is_file():
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable ({exc}); remove it or choose another --out") from None
    changed = [k for k, v in settings.items() if json.loads(json.dumps(v, default=str)) !=
               old.get("settings", {}).get(k)]
    if changed:
        k = changed[0]
        raise InputError(f"{path}: this --out holds an ablation with {k}="
                         f"{old.get('settings', {}).get(k)!r}, now {settings[k]!r}; the runs "
                         f"would not be comparable: choose another --out")
    for name, spec in regimes.items():
        prev = old.get("regimes", {}).get(name)
        if prev is not None and prev["spec"] != spec:
            raise InputError(f"{path}: regime {name!r} was {prev['spec']!r}, now {spec!r}: "
                             f"rename it or choose another --out")


def _default_train(tc):
    from .train import train

    return train(tc)


def _default_detect(ckpt: Path, voc_set: VocSet, device: str | None, progress: bool):
    from .predict import predict_voc_set

    return predict_voc_set(ckpt, voc_set, conf=0.001, device=device, progress=progress)


def run_ablation(cfg: AblateConfig, train_fn: Callable | None = None,
                 detect_fn: Callable | None = None) -> dict:
    """Generate, train, evaluate and summarise; returns the results.json dict.

    Resumable: a run whose record lists every test is skipped; one whose training finished
    is only evaluated on the tests it lacks; an interrupted one resumes from its last.pt.
    `train_fn(TrainConfig) -> TrainResult` and `detect_fn(ckpt, voc_set, device, progress)
    -> Detections` default to detector.train.train and detector.predict.predict_voc_set.
    """
    from .evaluation import evaluate, read_set

    train_fn = train_fn or _default_train
    detect_fn = detect_fn or _default_detect
    check_regimes(cfg.regimes)
    if not cfg.tests:
        raise InputError("give at least one --test NAME=DIR")
    tnames = [t.name for t in cfg.tests]
    if len(set(tnames)) != len(tnames):
        raise InputError(f"--test: a name is used twice: {', '.join(tnames)}")
    if not cfg.seeds:
        raise InputError("--seeds: give at least one seed")
    for flag, v in (("--epochs", cfg.epochs), ("--batch-size", cfg.batch_size)):
        if v < 1:
            raise InputError(f"{flag} {v}: must be at least 1")
    if cfg.out.exists() and not cfg.out.is_dir():
        raise InputError(f"{cfg.out}: exists and is not a directory")
    tests = {t.name: read_set(t.path, t.split) for t in cfg.tests}

    specs = {r.name: r.spec() for r in cfg.regimes}
    roots = generate_regimes(cfg)
    budget, classes, parts = plan_views(cfg, roots)
    for t in cfg.tests:
        if not set(tests[t.name].classes) & set(classes):
            raise InputError(f"{t.path}: --test {t.name}: none of its classes "
                             f"({', '.join(tests[t.name].classes)}) is trained "
                             f"({', '.join(classes)})")
    settings = _settings(cfg, budget, classes)
    _check_previous(cfg, settings, specs)
    views = {}
    for r in cfg.regimes:
        views[r.name] = cfg.out / "views" / r.name
        write_view(views[r.name], parts[r.name], classes)
    meta = {"settings": settings,
            "regimes": {r.name: {"spec": specs[r.name],
                                 "unique_images": {p: len(s.images) for p, s, _ in
                                                   parts[r.name]},
                                 "draws_per_epoch": {p: c for p, _, c in parts[r.name]}}
                        for r in cfg.regimes},
            "tests": {t.name: {"path": str(t.path), "split": t.split,
                               "images": len(tests[t.name].images)} for t in cfg.tests},
            "budget": {"images_per_epoch": budget.images_per_epoch, "epochs": budget.epochs,
                       "images": budget.images, "steps": budget.steps,
                       "batch_size": budget.batch_size},
            "seeds": cfg.seeds, "factorial": cfg.factorial}
    old_meta = _read_json(cfg.out / "ablation.json") or {}
    for name, info in (old_meta.get("regimes") or {}).items():
        meta["regimes"].setdefault(name, info)   # regimes of earlier invocations stay known
    _write_json(cfg.out / "ablation.json", meta)
    log.info("budget: %d images per epoch x %d epochs = %d images, %d steps of batch %d, "
             "for each of %d runs", budget.images_per_epoch, budget.epochs, budget.images,
             budget.steps, budget.batch_size, len(cfg.run_names()))

    if train_fn is _default_train:  # bad --train-option values fail now, not after run 1
        from .train import check_config

        try:
            check_config(_train_config(cfg, views[cfg.regimes[0].name],
                                       cfg.out / "runs" / "check", cfg.seeds[0], resume=False))
        except TypeError as exc:
            raise InputError(f"--train-option: a value has the wrong type ({exc})") from None
    runs = cfg.run_names()
    trained = 0
    for i, (regime, seed) in enumerate(runs, 1):
        run_dir = cfg.out / "runs" / f"{regime}-s{seed}"
        record = _read_json(run_dir / "ablate.json") or {"regime": regime, "seed": seed,
                                                         "tests": {}}
        missing = [t for t in cfg.tests if t.name not in record["tests"]]
        head = f"run {i}/{len(runs)}: regime={regime} seed={seed}"
        if not missing:
            log.info("%s: done, skipped", head)
            continue
        if not record.get("trained"):
            resume = (run_dir / "last.pt").is_file()
            log.info("%s%s", head, " (resuming from last.pt)" if resume else "")
            t0 = time.perf_counter()
            result = train_fn(_train_config(cfg, views[regime], run_dir, seed, resume))
            trained += 1
            if not getattr(result, "finished", True):
                log.warning("%s stopped before its last epoch; rerun to resume it", head)
                return {}
            record["trained"] = {"seconds": round(time.perf_counter() - t0, 1)}
            _write_json(run_dir / "ablate.json", record)
        else:
            log.info("%s: trained, evaluating on %s", head, ", ".join(t.name for t in missing))
        for t in missing:
            voc_set = tests[t.name]
            dets = detect_fn(run_dir / "best.pt", voc_set, cfg.device, cfg.progress)
            ev = evaluate(voc_set, dets)
            MatchTable.from_evaluation(ev).save(run_dir / "eval" / f"{t.name}.npz")
            record["tests"][t.name] = {
                "map50": ev.map50, "map": ev.map,
                "per_class": {c: (None if ev.voc.npos[k] == 0 else float(ev.voc.ap[k]))
                              for k, c in enumerate(ev.classes)}}
            _write_json(run_dir / "ablate.json", record)
            log.info("  %s: mAP50 %.4f  mAP %.4f", t.name, ev.map50, ev.map)
    results = summarise(cfg, meta)
    write_results(cfg.out, results)
    log.info("trained %d of %d runs; results in %s", trained, len(runs), cfg.out / "results.md")
    return results


# Settings ablate decides per run; --train-option may set any other TrainConfig field.
MANAGED_TRAIN_KEYS = {"data", "val", "split", "val_split", "classes", "model", "img_size",
                      "epochs", "batch_size", "device", "run_dir", "name", "project", "resume",
                      "seed", "workers", "progress", "note", "stop_after"}


def train_options_from_text(items: Sequence[str]) -> dict:
    """['optimizer=adam', 'lr=0.002'] -> {'optimizer': 'adam', 'lr': 0.002} (YAML values)."""
    import dataclasses

    import yaml

    from .train import TrainConfig

    known = {f.name for f in dataclasses.fields(TrainConfig)} - MANAGED_TRAIN_KEYS
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().lstrip("-").replace("-", "_")
        if not sep or key not in known:
            why = ("is set by ablate itself" if key in MANAGED_TRAIN_KEYS else
                   f"is not a training setting (known: {', '.join(sorted(known))})")
            raise InputError(f"--train-option {item!r}: {key!r} {why}" if sep else
                             f"--train-option {item!r}: expected KEY=VALUE")
        try:
            out[key] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise InputError(f"--train-option {item!r}: cannot read the value") from None
    return out


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable ({exc}); delete it to redo that run") from None


def _train_config(cfg: AblateConfig, view: Path, run_dir: Path, seed: int, resume: bool):
    from .train import TrainConfig

    if resume:
        return TrainConfig(resume=run_dir, device=cfg.device, workers=cfg.workers,
                           progress=cfg.progress)
    return TrainConfig(data=[view], model=cfg.model, img_size=cfg.img_size, epochs=cfg.epochs,
                       batch_size=cfg.batch_size, device=cfg.device, run_dir=run_dir,
                       seed=seed, workers=cfg.workers, progress=cfg.progress,
                       note=f"ablate {cfg.out.name}: regime {view.name} seed {seed}",
                       **cfg.train_options)


# ----------------------------------------------------------------------------- results
def _mean_std(values: list[float | None]) -> tuple[float | None, float | None]:
    """Mean and sample std (None: no value / a single value has no spread to report)."""
    v = [x for x in values if x is not None and math.isfinite(x)]
    if not v:
        return None, None
    return float(np.mean(v)), (float(np.std(v, ddof=1)) if len(v) > 1 else None)


def summarise(cfg: AblateConfig, meta: dict) -> dict:
    """results.json from the run records on disk (means, stds, paired bootstrap CIs)."""
    runs, tables = [], {}
    for regime, seed in cfg.run_names():
        run_dir = cfg.out / "runs" / f"{regime}-s{seed}"
        record = _read_json(run_dir / "ablate.json") or {"tests": {}}
        for t in cfg.tests:
            m = record["tests"].get(t.name)
            if m is None:
                continue
            runs.append({"regime": regime, "seed": seed, "test": t.name, "map50": m["map50"],
                         "map": m["map"], "per_class": m["per_class"]})
            tables[(regime, seed, t.name)] = MatchTable.load(run_dir / "eval" / f"{t.name}.npz")
    first = cfg.regimes[0].name
    summary = []
    for t in cfg.tests:
        n_images = next((tab.n_pos.shape[0] for (_, _, tn), tab in tables.items()
                         if tn == t.name), 0)
        counts = bootstrap_counts(n_images, cfg.n_boot, seed=0) if n_images else None
        base = [tables[(first, s, t.name)] for s in cfg.seeds if (first, s, t.name) in tables]
        for r in cfg.regimes:
            mine = [x for x in runs if x["regime"] == r.name and x["test"] == t.name]
            if not mine:
                continue
            m50, s50 = _mean_std([x["map50"] for x in mine])
            m, s = _mean_std([x["map"] for x in mine])
            classes = list(mine[0]["per_class"])
            pc = {c: _mean_std([x["per_class"].get(c) for x in mine]) for c in classes}
            other = [tables[(r.name, s_, t.name)] for s_ in cfg.seeds
                     if (r.name, s_, t.name) in tables]
            if r.name == first:
                ci = [0.0, 0.0]
            elif base and other:
                ci = list(paired_bootstrap_ci(base, other, counts=counts))
            else:
                ci = [None, None]
            summary.append({"regime": r.name, "test": t.name, "n_seeds": len(mine),
                            "map50_mean": m50, "map50_std": s50, "map_mean": m, "map_std": s,
                            "per_class_ap50_mean": {c: v[0] for c, v in pc.items()},
                            "per_class_ap50_std": {c: v[1] for c, v in pc.items()},
                            "ci95_vs_first": ci})
    return {"regimes": [r.name for r in cfg.regimes], "tests": [t.name for t in cfg.tests],
            "first": first, "seeds": cfg.seeds, "budget": meta["budget"],
            "settings": meta["settings"], "regime_info": {r.name: meta["regimes"][r.name]
                                                          for r in cfg.regimes},
            "test_info": meta["tests"], "factorial": cfg.factorial, "n_boot": cfg.n_boot,
            "runs": runs, "summary": summary}


def _pm(mean: float | None, std: float | None, digits: int = 3) -> str:
    if mean is None:
        return "–"
    return f"{mean:.{digits}f}" if std is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


def _ci(ci: list) -> str:
    if ci[0] is None:
        return "–"
    return f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"


def _delta(rows: list[dict], row: dict, first: str) -> str:
    base = next((x for x in rows if x["regime"] == first and x["test"] == row["test"]), None)
    if base is None or base["map50_mean"] is None or row["map50_mean"] is None:
        return "–"
    return f"{row['map50_mean'] - base['map50_mean']:+.3f}"


def results_markdown(res: dict) -> str:
    """results.md: settings, regimes, one table per test set, the factorial grid, plots."""
    from .report import md_table

    b, st = res["budget"], res["settings"]
    first = res["first"]
    out = ["# Ablation\n",
           f"Model {st['model']} at {st['img_size']} px, batch {b['batch_size']}, seeds "
           f"{', '.join(map(str, res['seeds']))}. **Identical budget for every run: "
           f"{b['images_per_epoch']} images per epoch × {b['epochs']} epochs = {b['images']} "
           f"images, {b['steps']} optimiser steps.**" +
           (f" Other training settings: {json.dumps(st['train_options'])}."
            if st["train_options"] else "") + "\n",
           "## Regimes\n",
           md_table(["regime", "source", "unique training images", "draws per epoch"],
                    [[name, info["spec"],
                      " + ".join(str(v) for v in info["unique_images"].values()),
                      " + ".join(f"{v} {k}" for k, v in info["draws_per_epoch"].items())]
                     for name, info in res["regime_info"].items()])]
    for t in res["tests"]:
        info = res["test_info"][t]
        rows = [x for x in res["summary"] if x["test"] == t]
        if not rows:
            continue
        classes = list(rows[0]["per_class_ap50_mean"])
        out += [f"## Test set `{t}` ({info['path']}"
                f"{', split ' + info['split'] if info['split'] else ''}, {info['images']} "
                f"images)\n",
                f"mean ± std over seeds; Δ and its paired bootstrap 95% CI (over test "
                f"images, {res['n_boot']} resamples) are mAP50 minus `{first}`'s.\n",
                md_table(["regime", "mAP50", "mAP", f"Δ mAP50 vs {first}", "95% CI"],
                         [[x["regime"], _pm(x["map50_mean"], x["map50_std"]),
                           _pm(x["map_mean"], x["map_std"]), _delta(rows, x, first),
                           _ci(x["ci95_vs_first"])] for x in rows]),
                "Per-class AP50 (mean ± std over seeds):\n" if len(res["seeds"]) > 1 else
                "Per-class AP50 (one seed: no spread over seeds to show):\n",
                md_table(["regime", *classes],
                         [[x["regime"], *(_pm(x["per_class_ap50_mean"][c],
                                              x["per_class_ap50_std"][c], 2)
                                          for c in classes)] for x in rows])]
    fac = res.get("factorial")
    if fac:
        out.append("## Factorial: subject source × background source (mean mAP50)\n")
        for t in res["tests"]:
            cell = {(x["regime"]): x["map50_mean"] for x in res["summary"] if x["test"] == t}
            grid = [[s, *(("–" if cell.get(fac["cells"][s][b]) is None
                           else f"{cell[fac['cells'][s][b]]:.3f}") for b in fac["backgrounds"])]
                    for s in fac["subjects"]]
            out += [f"Test `{t}`:\n", md_table(["subjects \\ backgrounds", *fac["backgrounds"]],
                                               grid)]
    out.append("## Per-class AP50 charts\n")
    out += [f"![{r}](plots/ap50_{r}.png)\n" for r in res["regimes"]]
    return "\n".join(out)


def results_csv(res: dict) -> str:
    """results.csv: one row per (regime, test) with the summary numbers."""
    import csv
    import io

    classes: list[str] = []
    for x in res["summary"]:
        classes += [c for c in x["per_class_ap50_mean"] if c not in classes]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["regime", "test", "n_seeds", "map50_mean", "map50_std", "map_mean", "map_std",
                "ci95_lo_vs_first", "ci95_hi_vs_first",
                *(f"ap50_{c}_{s}" for c in classes for s in ("mean", "std"))])

    def num(v):
        return "" if v is None else f"{v:.6g}"

    for x in res["summary"]:
        w.writerow([x["regime"], x["test"], x["n_seeds"], num(x["map50_mean"]),
                    num(x["map50_std"]), num(x["map_mean"]), num(x["map_std"]),
                    num(x["ci95_vs_first"][0]), num(x["ci95_vs_first"][1]),
                    *(num(x[f"per_class_ap50_{s}"].get(c)) for c in classes
                      for s in ("mean", "std"))])
    return buf.getvalue()


def plot_regime(res: dict, regime: str, top: float = 1.0) -> bytes:
    """Per-class AP50 bars of one regime, one bar per test set, std over seeds as error bars.

    `top` is the y-axis limit (the same for every regime's chart, so they compare).
    """
    from matplotlib.figure import Figure

    from .report import png_bytes

    rows = [x for x in res["summary"] if x["regime"] == regime]
    classes: list[str] = []
    for x in rows:
        classes += [c for c in x["per_class_ap50_mean"] if c not in classes]
    fig = Figure(figsize=(max(5.0, 0.8 * len(classes) + 2), 3.6))
    ax = fig.add_axes((0.12, 0.2, 0.85, 0.68))
    width = 0.8 / max(1, len(rows))
    x0 = np.arange(len(classes))
    for j, x in enumerate(rows):
        mean = [x["per_class_ap50_mean"].get(c) for c in classes]
        std = [x["per_class_ap50_std"].get(c) for c in classes]
        ax.bar(x0 + (j - (len(rows) - 1) / 2) * width, [m or 0.0 for m in mean], width,
               yerr=[s or 0.0 for s in std], capsize=2, label=f"{x['test']} "
               f"(mAP50 {x['map50_mean'] or 0:.3f})")
    ax.set_xticks(x0, classes, rotation=30, ha="right")
    ax.set_ylim(0, top)
    ax.set_ylabel("AP50")
    ax.set_title(f"regime {regime}: per-class AP50 (mean ± std over seeds)", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    return png_bytes(fig)


def write_results(out: Path, res: dict) -> None:
    """results.json, results.md, results.csv and plots/ap50_REGIME.png."""
    from .report import write_files

    values = [v + (x["per_class_ap50_std"].get(c) or 0.0) for x in res["summary"]
              for c, v in x["per_class_ap50_mean"].items() if v is not None]
    top = min(1.0, max([0.05] + values) * 1.15)
    files = {f"plots/ap50_{r}.png": plot_regime(res, r, top) for r in res["regimes"]}
    files["results.md"] = results_markdown(res).encode("utf-8")
    files["results.csv"] = results_csv(res).encode("utf-8")
    files["results.json"] = (json.dumps(_finite(res), indent=1, default=_json_default)
                             + "\n").encode("utf-8")
    write_files(out, files)


def headline(res: dict, test: str | None = None) -> str:
    """A plain-text table of mAP50 per regime for one test set (the first by default)."""
    test = test or res["tests"][0]
    rows = [x for x in res["summary"] if x["test"] == test]
    w = max([len("regime")] + [len(x["regime"]) for x in rows])
    lines = [f"{'regime':<{w}}  {'mAP50':>15}  {'mAP':>15}  {'Δ vs ' + res['first']:>12}  "
             f"95% CI", ]
    for x in rows:
        lines.append(f"{x['regime']:<{w}}  {_pm(x['map50_mean'], x['map50_std']):>15}  "
                     f"{_pm(x['map_mean'], x['map_std']):>15}  "
                     f"{_delta(rows, x, res['first']):>12}  {_ci(x['ci95_vs_first'])}")
    return "\n".join(lines)

