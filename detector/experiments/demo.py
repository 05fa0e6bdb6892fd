"""`pipeline demo`: the whole loop on the embedded asset pack, CPU only, in minutes.

Four training regimes from the main pack — `flat` (the naive 2-D paste teams start
from), `topdown`, `robot-topdown-cutouts` (the robot's camera, but only the cut-outs shot
from above: what teams do today) and `robot` (the robot's own low, forward-looking view,
each subject seen through the view nearest its viewing angle) — and one test
set that stands in for real robot photos: robot view, rendered only from the pack's
HELD-OUT subject variants, floors and backdrop, none of which any training image contains.
It is synthetic; it only plays the part of the real photos a team would bring. The
ablation trains YOLOv3-tiny on each regime with an identical image budget and evaluates
every model on the stand-in and on the few REAL photos the tool ships (dog poop, Public
Domain, assets/realphotos); then the compare-real report of the best (run_compare).

The sizes are tuned to fit ten minutes on a 2-core CPU with room to spare (5.6 min measured
on an idle one with 12 epochs, bf16 autocast; 6 epochs took 3.1 min); a detector trained for
two minutes from scratch is weak, so the numbers are small: it is the *ranking* of the
regimes, with its bootstrap CI, that the demo is about.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from synth import fsio
from synth.cores import default_workers
from synth.catalog import DEFAULT_ASSETS, DEFAULT_BACKGROUNDS

from detector.diagnosis.run import CompareRun, run_compare
from detector.evaluation.evaluate import evaluate, read_set
from detector.training.config import TrainConfig

from .ablate import AblateConfig, EvalSet, Regime, default_detect, headline, run_ablation

log = logging.getLogger(__name__)

HELDOUT = DEFAULT_BACKGROUNDS / "heldout"
# The only real photos the tool ships (Public Domain): poop, top-down, outdoors.
REAL_PHOTOS = DEFAULT_BACKGROUNDS / "realphotos" / "poop"
# name -> (view, capture elevations used); the first is the baseline of the CIs.
# robot-topdown-cutouts is what teams do today: the robot's camera, but only the cut-outs
# shot from above, so its gap to `robot` is what the viewpoint mismatch costs.
REGIME_VIEWS = {"flat": ("flat", None), "topdown": ("topdown", None),
                "robot-topdown-cutouts": ("robot", [90]), "robot": ("robot", None)}
REGIMES = tuple(REGIME_VIEWS)
STAND_IN_NOTE = """\
STAND-IN FOR REAL PHOTOS - this is NOT real data.

Rendered by `synth generate --view robot` from the asset pack's held-out subject variants
(assets/heldout/subjects) on its held-out floors and backdrop (assets/heldout), none of
which appear in any training regime of the demo. It plays the part of the labelled robot
photos a team would bring; replace it with yours:
    pipeline ablate --regime ... --test real=YOUR_VOC_DIR
"""


@dataclass
class DemoSettings:
    """Sizes of the demo (tuned for about ten minutes on a 2-core CPU)."""

    n_train: int = 500             # images generated per training regime (80% train)
    n_test: int = 150              # stand-in images
    size: tuple[int, int] = (256, 192)
    objects: str = "1-3"
    only: str | None = "shoe,bowl,fan,poop"   # fewer classes: learnable in minutes of CPU;
    #                                       poop, for the test on real photos
    img_size: int = 128
    epochs: int = 12
    batch_size: int = 8            # more steps for the same images: what short runs need
    seeds: list[int] = field(default_factory=lambda: [0])
    loader_workers: int = 0        # letterbox only: loading is cheap, keep both cores on it
    train_options: dict = field(default_factory=lambda: {
        "augment": "none", "optimizer": "adam", "lr": 0.001, "warmup_epochs": 0.5,
        "ema": False})


# For tests: the same plumbing in seconds (numbers meaningless).
SMOKE = DemoSettings(n_train=20, n_test=10, epochs=1, img_size=64)


def _recipe(view: str, n: int, s: DemoSettings, seed: int, workers: int,
            heldout: bool = False, split: str = "train=0.8,val=0.2") -> dict:
    r = {"view": view, "n": n, "size": f"{s.size[0]}x{s.size[1]}", "objects": s.objects,
         "seed": seed, "split": split, "workers": workers,
         "assets": [str(HELDOUT / "subjects" if heldout else DEFAULT_ASSETS)],
         "backgrounds": str(HELDOUT if heldout else DEFAULT_BACKGROUNDS)}
    if s.only:
        r["only"] = s.only
    return r


def write_recipes(out: Path, s: DemoSettings, workers: int = 1) -> dict[str, Path]:
    """The demo's synth recipes (OUT/recipes/NAME.yaml): the regimes and the stand-in."""
    recipes = {}
    for i, (name, (view, elevations)) in enumerate(REGIME_VIEWS.items()):
        recipes[name] = _recipe(view, s.n_train, s, 1 + i, workers)
        if elevations:
            recipes[name]["capture_elev"] = elevations
    recipes["standin"] = _recipe("robot", s.n_test, s, 99, workers, heldout=True,
                                 split="test=1")
    paths = {}
    for name, r in recipes.items():
        paths[name] = out / "recipes" / f"{name}.yaml"
        head = "# STAND-IN FOR REAL PHOTOS (held-out subjects and backgrounds)\n" \
            if name == "standin" else f"# demo training regime: {name}\n"
        fsio.write_text(paths[name], head + yaml.safe_dump(r, sort_keys=False))
    return paths


def make_stand_in(out: Path, recipe: Path) -> Path:
    """Generate the stand-in test set (resumably) and label it as one."""
    from synth.generate import generate
    from synth.recipe import config_from_options, load_recipe

    opts = load_recipe(recipe)
    opts["out"] = str(out / "data" / "standin-robot-heldout")
    cfg = config_from_options(opts)
    log.info("stand-in for real photos: %d robot-view images of held-out subjects and "
             "backgrounds → %s", cfg.n, cfg.out)
    generate(cfg)
    fsio.write_text(cfg.out / "STAND-IN_NOT_REAL.txt", STAND_IN_NOTE)
    return cfg.out


@dataclass
class DemoRun:
    """What the demo produced: the ablation's results, its best run and the comparison."""

    results: dict                     # results.json ({} when a run stopped early)
    best: dict = field(default_factory=dict)    # the best run's paths and its conf
    compared: CompareRun | None = None


def run_demo(out: Path, workers: int | None = None, settings: DemoSettings | None = None
             ) -> DemoRun:
    """Recipes, stand-in, ablation, then compare-real of the best run into OUT/compare-real."""
    s = settings or DemoSettings()
    workers = workers or default_workers()
    recipes = write_recipes(out, s, workers)
    stand_in = make_stand_in(out, recipes["standin"])
    train = TrainConfig(model="yolov3-tiny", img_size=s.img_size, epochs=s.epochs,
                        batch_size=s.batch_size, device="cpu", workers=s.loader_workers,
                        **s.train_options)
    cfg = AblateConfig(
        regimes=[Regime(name, "recipe", recipes[name]) for name in REGIMES],
        tests=[EvalSet("standin", stand_in), EvalSet("real-poop", REAL_PHOTOS)],
        out=out / "ablation", train=train, seeds=list(s.seeds))
    res = run_ablation(cfg)
    if not res:
        return DemoRun(res)
    rows = [x for x in res["summary"] if x["test"] == "standin"]
    top = max(rows, key=lambda x: x["map50_mean"] or 0.0)
    seed = min(s.seeds)
    best = {"regime": top["regime"],
            "model": cfg.out / "runs" / f"{top['regime']}-s{seed}" / "best.pt",
            "synthetic": cfg.out / "data" / top["regime"], "split": "val", "real": stand_in}
    best["conf"] = operating_conf(best["model"], best["synthetic"], best["split"])
    compared = run_compare(best["synthetic"], real=best["real"], model=best["model"],
                           split=best["split"], conf=best["conf"], out=out / "compare-real")
    return DemoRun(res, best, compared)


def operating_conf(model: Path, data: Path, split: str) -> float:
    """The median best-F1 confidence of `model` on its own synthetic validation images.

    A briefly trained model is unsure of itself: at the usual 0.25 it finds almost nothing,
    and compare-real would have no recall to compare. Clipped to [0.01, 0.25].
    """
    voc = read_set(data, split)
    ev = evaluate(voc, default_detect(model, voc, "cpu", False))
    confs = [c.best_f1()["conf"] for c in ev.voc.curves if c.n_gt > 0]
    confs = [c for c in confs if c is not None]
    return float(np.clip(round(float(np.median(confs)), 3), 0.01, 0.25)) if confs else 0.25


def summary_text(out: Path, res: dict, best: dict, seconds: float) -> str:
    """What the demo printed at the end: where everything is and the headline table."""
    b = res["budget"]
    lines = [
        "",
        f"demo finished in {seconds / 60:.1f} min",
        f"  recipes            {out / 'recipes'}",
        f"  stand-in test set  {best['real']}   (STAND-IN for real photos: held-out "
        f"subjects/backgrounds, robot view; NOT real data)",
        f"  training sets      {out / 'ablation' / 'data'}/{{{','.join(res['regimes'])}}}",
        f"  runs               {out / 'ablation' / 'runs'}   (pipeline runs "
        f"{out / 'ablation' / 'runs'})",
        f"  ablation           {out / 'ablation' / 'results.md'}",
        f"  compare-real       {out / 'compare-real' / 'report.html'}   (best: {best['regime']})",
        "",
        f"YOLOv3-tiny {res['settings']['img_size']} px from scratch, {b['images']} images "
        f"({b['steps']} steps) per regime; mAP50 on the stand-in, paired bootstrap 95% CI "
        f"vs {res['first']}:",
        headline(res, "standin"),
        "",
        f"and on {len(list((REAL_PHOTOS / 'JPEGImages').glob('*.jpg')))} REAL photos of dog "
        f"poop ({REAL_PHOTOS}, Public Domain; top-down and outdoors, unlike a robot's view; "
        "poop AP50):",
        headline(res, "real-poop"),
    ]
    return "\n".join(lines)
