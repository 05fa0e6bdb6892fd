"""An ablation's results: per regime and test set the mean ± std over seeds of mAP50, mAP and
per-class AP50, and the paired bootstrap 95% CI of each regime's mAP50 difference to the
first (detector.evaluation.bootstrap); written as results.json, results.md, results.csv and
plots/ap50_REGIME.png."""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from detector.evaluation.bootstrap import MatchTable, bootstrap_counts, paired_bootstrap_ci
from detector.evaluation.render import json_text, md_table, png_bytes, write_files

from synth.errors import InputError

from .spec import AblateConfig


def read_json(path: Path) -> dict | None:
    """A JSON record of the ablation (None when there is none yet)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable ({exc}); delete it to redo that run") from None


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
        record = read_json(run_dir / "ablate.json") or {"tests": {}}
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
    values = [v + (x["per_class_ap50_std"].get(c) or 0.0) for x in res["summary"]
              for c, v in x["per_class_ap50_mean"].items() if v is not None]
    top = min(1.0, max([0.05] + values) * 1.15)
    files = {f"plots/ap50_{r}.png": plot_regime(res, r, top) for r in res["regimes"]}
    files["results.md"] = results_markdown(res).encode("utf-8")
    files["results.csv"] = results_csv(res).encode("utf-8")
    files["results.json"] = json_text(res).encode("utf-8")
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
