"""How far from its capture angle each subject is seen: median |view_elev - capture_elev|.

Usage: python bench/view_residuals.py [--n 300] [--views topdown,robot,human] [--camera FILE]
                                      [--capture-elev 90]

Composes --n images per view from the embedded demo pack (no files written) and prints, per
class and over all labelled objects, the median absolute difference between the elevation
from which the camera saw each subject's middle and the capture elevation of the view that
was pasted — the angle the plane's homography had to make up. `--capture-elev 90` restricts
the pack to its top-down cut-outs (what a single-view pack gives).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from synth.compose import compose
from synth.generate import GenerateConfig, build_library, load_camera
from synth.scene import load_scene_bank
from synth.views import residual_stats


def residuals(view: str, n: int, camera: Path | None, capture_elev: list[float] | None
              ) -> dict[str, float]:
    cfg = GenerateConfig(view=view, out=Path("unused"), camera=camera, capture_elev=capture_elev)
    load_camera(cfg)
    lib, bank = build_library(cfg), load_scene_bank(cfg.backgrounds)
    opts = cfg.compose_options()
    records = []
    for i in range(n):
        comp = compose(lib, bank, opts, np.random.default_rng([cfg.seed, i]))
        records.append({"objects": [p.record() for p in comp.objects]})
    per = residual_stats(records)
    every = [abs(o["view_elev_deg"] - o["capture_elev_deg"]) for r in records
             for o in r["objects"] if o["labelled"]]
    per["all"] = float(np.median(every))
    return per


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--views", default="topdown,robot,human")
    ap.add_argument("--camera", type=Path, default=None)
    ap.add_argument("--capture-elev", default=None,
                    help="comma-separated capture elevations to keep (e.g. 90)")
    args = ap.parse_args()
    keep = [float(e) for e in args.capture_elev.split(",")] if args.capture_elev else None
    table = {v: residuals(v, args.n, args.camera, keep) for v in args.views.split(",")}
    classes = sorted({c for t in table.values() for c in t if c != "all"}) + ["all"]
    print("median |view_elev - capture_elev| of labelled objects, degrees"
          + (f" (views shot at {args.capture_elev}° only)" if keep else ""))
    print(f"{'class':8s}" + "".join(f"{v:>10s}" for v in table))
    for c in classes:
        print(f"{c:8s}" + "".join(f"{table[v].get(c, float('nan')):10.1f}" for v in table))


if __name__ == "__main__":
    main()
