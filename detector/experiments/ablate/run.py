"""`pipeline ablate` end to end: generate the regimes, write their views, train one detector
per regime x seed on the shared budget, evaluate every run on every test set, summarise.

Layout of OUT: data/NAME (regimes generated from recipes), views/NAME, runs/NAME-sSEED
(trainer run dirs + ablate.json records + eval/TEST.npz per-detection matches),
ablation.json (settings, checked on rerun), results.{json,md,csv}, plots/.

Torch-free: the default trainer (detector.training.trainer.train) and the default detector
(detector.evaluation.evaluate.model_detections) import torch only when a run needs them.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Callable

from synth import fsio
from synth.errors import InputError
from synth.voc import VocSet

from detector.evaluation.bootstrap import MatchTable
from detector.evaluation.evaluate import evaluate, model_detections, read_set
from detector.evaluation.render import json_text
from detector.training.config import TrainConfig, check_config

from .results import read_json, summarise, write_results
from .spec import AblateConfig, check_regimes
from .views import Budget, plan_views, write_view

log = logging.getLogger(__name__)

MIN_BOOT = 100


def generate_regimes(cfg: AblateConfig) -> dict[str, Path]:
    """The training VOC dir of every non-mixture regime; recipes are generated (resumably)."""
    from synth.generate import generate
    from synth.recipe import config_from_options, load_recipe

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
            generate(gen, progress=cfg.train.progress)
            roots[r.name] = gen.out
    return roots


def shared_settings(cfg: AblateConfig, budget: Budget, classes: list[str]) -> dict:
    """What every run shares (a rerun into the same OUT must not change it)."""
    t = cfg.train
    return {"model": t.model, "img_size": t.img_size, "epochs": t.epochs,
            "batch_size": t.batch_size, "images_per_epoch": budget.images_per_epoch,
            "train_options": dict(sorted(cfg.shared_options().items())), "classes": classes}


def check_previous(cfg: AblateConfig, settings: dict, regimes: dict[str, str]) -> None:
    """InputError when OUT holds an ablation with other settings or regime sources."""
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


def default_train(tc: TrainConfig):
    """detector.training.trainer.train (torch is imported here, on the first run)."""
    from detector.training.trainer import train

    return train(tc)


def default_detect(ckpt: Path, voc_set: VocSet, device: str | None, progress: bool):
    """The run's best.pt over a test set at EVAL_CONF (the `evaluate --model` path)."""
    return model_detections(ckpt, voc_set, device=device, progress=progress)


def run_config(cfg: AblateConfig, view: Path, run_dir: Path, seed: int,
               resume: bool) -> TrainConfig:
    """The TrainConfig of one run: the shared one with this run's data, directory and seed."""
    t = cfg.train
    if resume:
        return TrainConfig(resume=run_dir, device=t.device, workers=t.workers,
                           progress=t.progress)
    return dataclasses.replace(t, data=[view], run_dir=run_dir, seed=seed,
                               note=f"ablate {cfg.out.name}: regime {view.name} seed {seed}")


def check_ablation(cfg: AblateConfig) -> None:
    """InputError on a bad regime list, test list, seed list or number."""
    check_regimes(cfg.regimes)
    if not cfg.tests:
        raise InputError("give at least one --test NAME=DIR")
    tnames = [t.name for t in cfg.tests]
    if len(set(tnames)) != len(tnames):
        raise InputError(f"--test: a name is used twice: {', '.join(tnames)}")
    if not cfg.seeds:
        raise InputError("--seeds: give at least one seed")
    if cfg.n_boot < MIN_BOOT:
        raise InputError(f"--boot {cfg.n_boot}: use at least {MIN_BOOT} resamples")
    if cfg.images_per_epoch is not None and cfg.images_per_epoch < 1:
        raise InputError(f"--images-per-epoch {cfg.images_per_epoch}: must be at least 1")
    for flag, v in (("--epochs", cfg.train.epochs), ("--batch-size", cfg.train.batch_size)):
        if v < 1:
            raise InputError(f"{flag} {v}: must be at least 1")
    if cfg.out.exists() and not cfg.out.is_dir():
        raise InputError(f"{cfg.out}: exists and is not a directory")


def write_json(path: Path, obj) -> None:
    """A record of the ablation, NaN-safe."""
    fsio.write_text(path, json_text(obj))


def run_ablation(cfg: AblateConfig, train_fn: Callable | None = None,
                 detect_fn: Callable | None = None) -> dict:
    """Generate, train, evaluate and summarise; returns the results.json dict ({} if a run
    stopped early).

    Resumable: a run whose record lists every test is skipped; one whose training finished
    is only evaluated on the tests it lacks; an interrupted one resumes from its last.pt.
    `train_fn(TrainConfig) -> TrainResult` and `detect_fn(ckpt, voc_set, device, progress)
    -> Detections` default to `default_train` and `default_detect`.
    """
    train_fn = train_fn or default_train
    detect_fn = detect_fn or default_detect
    check_ablation(cfg)
    tests = {t.name: read_set(t.path, t.split) for t in cfg.tests}

    specs = {r.name: r.spec() for r in cfg.regimes}
    roots = generate_regimes(cfg)
    budget, classes, parts = plan_views(cfg, roots)
    for t in cfg.tests:
        if not set(tests[t.name].classes) & set(classes):
            raise InputError(f"{t.path}: --test {t.name}: none of its classes "
                             f"({', '.join(tests[t.name].classes)}) is trained "
                             f"({', '.join(classes)})")
    settings = shared_settings(cfg, budget, classes)
    check_previous(cfg, settings, specs)
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
    old_meta = read_json(cfg.out / "ablation.json") or {}
    for name, info in (old_meta.get("regimes") or {}).items():
        meta["regimes"].setdefault(name, info)   # regimes of earlier invocations stay known
    write_json(cfg.out / "ablation.json", meta)
    log.info("budget: %d images per epoch x %d epochs = %d images, %d steps of batch %d, "
             "for each of %d runs", budget.images_per_epoch, budget.epochs, budget.images,
             budget.steps, budget.batch_size, len(cfg.run_names()))

    if train_fn is default_train:  # bad --train-option values fail now, not after run 1
        check_config(run_config(cfg, views[cfg.regimes[0].name], cfg.out / "runs" / "check",
                                cfg.seeds[0], resume=False))
    runs = cfg.run_names()
    trained = 0
    for i, (regime, seed) in enumerate(runs, 1):
        run_dir = cfg.out / "runs" / f"{regime}-s{seed}"
        record = read_json(run_dir / "ablate.json") or {"regime": regime, "seed": seed,
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
            result = train_fn(run_config(cfg, views[regime], run_dir, seed, resume))
            trained += 1
            if not getattr(result, "finished", True):
                log.warning("%s stopped before its last epoch; rerun to resume it", head)
                return {}
            record["trained"] = {"seconds": round(time.perf_counter() - t0, 1)}
            write_json(run_dir / "ablate.json", record)
        else:
            log.info("%s: trained, evaluating on %s", head, ", ".join(t.name for t in missing))
        for t in missing:
            voc_set = tests[t.name]
            dets = detect_fn(run_dir / "best.pt", voc_set, cfg.train.device, cfg.train.progress)
            ev = evaluate(voc_set, dets)
            MatchTable.from_evaluation(ev).save(run_dir / "eval" / f"{t.name}.npz")
            record["tests"][t.name] = {
                "map50": ev.map50, "map": ev.map,
                "per_class": ev.per_class_ap50()}
            write_json(run_dir / "ablate.json", record)
            log.info("  %s: mAP50 %.4f  mAP %.4f", t.name, ev.map50, ev.map)
    results = summarise(cfg, meta)
    write_results(cfg.out, results)
    log.info("trained %d of %d runs; results in %s", trained, len(runs), cfg.out / "results.md")
    return results
