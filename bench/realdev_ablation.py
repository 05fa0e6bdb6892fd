"""The brief's regimes measured on real photos: pseudo / half-real / half-real on the photos'
own frames / real / half-real:0.9+real:0.1, one image budget, tested on real photos.

Usage: python bench/realdev_ablation.py --realdev ../shared/realdev [--out data/realdev-ablation]
           [--n 2000] [--images-per-epoch 600] [--epochs 12] [--img-size 256] [--seeds 0]
           [--device cpu] [--matched] [--frames-layout voc|scenes] [--only real,half-real,mix]

Steps (each resumable; rerun the command to continue):
  1. real: a copy of REALDEV/photos split 70/30 with `synth split --interval --block 3` (the
     source shipped up to three flipped copies of a photo side by side: blocks keep them on
     one side); train on its train split, test on its val split.
  2. pseudo: `synth generate --view topdown --only cable,poop` from the embedded demo pack.
  3. half-real: REALDEV/cutouts pasted on REALDEV/floors (top-down view).
  4. half-real-frames: REALDEV/cutouts pasted on the real set's own TRAIN photos used as
     backgrounds (their labelled objects handled as `synth generate` handles a labelled
     set given as --backgrounds).
  5. with --matched, half-real-matched: half-real with `--match-stats` fitted to the real
     set's TRAIN photos (never the test split).
  6. `pipeline ablate` over the regimes (mix = half-real:0.9 + real:0.1) with one
     budget, tested on real:val.
The photos never leave --out (which is git-ignored under data/). Prints the results table.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the checkout's commands through this interpreter: no installed entry points needed (the
# GPU machine runs the checkout as it is, bench/gpu_check.sh)
SYNTH = [sys.executable, "-m", "synth.cli"]
PIPELINE = [sys.executable, "-m", "pipeline"]


def sh(*args: str) -> None:
    print("+", " ".join(args), flush=True)
    path = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    subprocess.run(list(args), check=True, env={**os.environ, "PYTHONPATH": path})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--realdev", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("data/realdev-ablation"))
    ap.add_argument("--n", type=int, default=2000, help="synthetic images per regime")
    ap.add_argument("--images-per-epoch", type=int, default=600)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--img-size", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--model", default="yolov3-tiny")
    ap.add_argument("--name", default="ablation", help="folder under --out for the ablation")
    ap.add_argument("--frames-layout", choices=["voc", "scenes"], default="voc",
                    help="how the real train photos are given as backgrounds: as their VOC set "
                         "(labelled objects respected) or as plain scene photos (objects "
                         "ignored: what the generator could do before)")
    ap.add_argument("--generate-option", action="append", default=[],
                    help="extra `synth generate` flag for the synthetic regimes, e.g. "
                         "--generate-option=--match-stats=DIR (repeat)")
    ap.add_argument("--matched", action="store_true",
                    help="add half-real-matched: half-real whose camera effects are fitted to "
                         "the real train photos (synth generate --match-stats)")
    ap.add_argument("--only", help="comma-separated regimes to train, in this order (default: all), e.g. "
                    "real,half-real-frames,half-real,mix; only the sets they need are generated")
    args = ap.parse_args()
    out, rd = args.out, args.realdev
    out.mkdir(parents=True, exist_ok=True)
    real = out / "real"
    if not (real / "ImageSets" / "Main" / "val.txt").is_file():
        shutil.rmtree(real, ignore_errors=True)
        shutil.copytree(rd / "photos", real)
        sh(*SYNTH, "split", str(real), "--ratio", "0.7", "--interval", "--block", "3")
    frames = out / f"real-train-frames-{args.frames_layout}"
    if not frames.is_dir():  # the real set's train split, as backgrounds
        train = sorted(set((real / "ImageSets" / "Main" / "train.txt").read_text().split()))
        if args.frames_layout == "voc":
            (frames / "JPEGImages").mkdir(parents=True)
            (frames / "Annotations").mkdir()
            for stem in train:
                for sub, ext in (("JPEGImages", ".jpg"), ("Annotations", ".xml")):
                    shutil.copy(real / sub / f"{stem}{ext}", frames / sub / f"{stem}{ext}")
            shutil.copy(real / "labels.txt", frames / "labels.txt")
        else:
            (frames / "scenes").mkdir(parents=True)
            for stem in train:
                shutil.copy(real / "JPEGImages" / f"{stem}.jpg", frames / "scenes" / f"{stem}.jpg")
    gen = [*SYNTH, "generate", "--view", "topdown", "-n", str(args.n),
           "--only", "cable,poop", "--seed", "0", *args.generate_option]
    regimes = {"pseudo": [],
               "half-real": ["--assets", str(rd / "cutouts"), "--backgrounds", str(rd / "floors")],
               "half-real-frames": ["--assets", str(rd / "cutouts"), "--backgrounds", str(frames)]}
    if args.matched:
        regimes["half-real-matched"] = [*regimes["half-real"], "--match-stats", str(frames)]
    tag = "" if args.frames_layout == "voc" else "-scenes"
    sets = {name: out / (name + (tag if name == "half-real-frames" else "")) for name in regimes}
    trained = {**{name: str(path) for name, path in sets.items()}, "real": str(real),
               "mix": "half-real:0.9+real:0.1"}
    order = ["pseudo", "half-real", "half-real-frames", "real", "mix", "half-real-matched"]
    chosen = [r for r in order if r in trained]
    if args.only:
        wanted = args.only.split(",")
        unknown = sorted(set(wanted) - set(chosen))
        if unknown:
            ap.error(f"--only: unknown regime(s) {', '.join(unknown)}; known: {', '.join(chosen)}")
        chosen = wanted   # in the order given: the first ones train first
        if "mix" in chosen and not {"half-real", "real"} <= set(chosen):
            ap.error("--only: mix is drawn from half-real and real: list them too")
    needed = set(chosen)
    for name, extra in regimes.items():
        if name in needed and not (sets[name] / "manifest.jsonl").is_file():
            sh(*gen, "--out", str(sets[name]), *extra)
    sh(*PIPELINE, "ablate",
       *[a for r in chosen for a in ("--regime", f"{r}={trained[r]}")],
       "--test", f"real={real}:val", "--model", args.model, "--img-size", str(args.img_size),
       "--epochs", str(args.epochs), "--images-per-epoch", str(args.images_per_epoch),
       "--batch-size", str(args.batch_size), "--seeds", args.seeds, "--device", args.device,
       "--workers", str(args.workers), "--out", str(out / args.name))
    print((out / args.name / "results.md").read_text())


if __name__ == "__main__":
    main()
