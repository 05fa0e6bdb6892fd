"""How often compare-real --real-unlabelled's detection thresholds fire on alike domains, and
how often they catch a planted shift.

Usage: python bench/unlabelled_thresholds.py [--trials 60] [--seed 1]

Draws synthetic and real detections from one model (5 to 500 images a side, 0.1 to 2
detections of the class per image, Poisson or strongly clustered per-image counts; scores
Beta(5, 2), log-normal areas and aspects, uniform vertical positions) and prints the share
of classes that get any detection_* finding: the false-finding rate the module constants in
detector/unlabelled.py are chosen to keep near zero. Then the share found of a class that
fires 5x less often on 36 real frames than on 36 synthetic images, and of one whose real boxes
are 3x smaller in area, and the false-finding rate on a dense video (each frame five times).
"""
from __future__ import annotations

import argparse
import warnings

import numpy as np

from detector.diagnosis.unlabelled import ClassDetections, class_findings

CONF = 0.25


def draw(rng: np.random.Generator, n_images: int, rate: float, clustered: bool,
         repeat: int = 1, area_scale: float = 1.0) -> ClassDetections:
    """One domain's detections of one class."""
    n0 = -(-n_images // repeat)
    lam = rng.gamma(1.0, rate, n0) if clustered else np.full(n0, rate)
    per = np.repeat(rng.poisson(lam), repeat)[:n_images]
    k = int(per.sum())
    values = {"score": rng.beta(5, 2, k),
              "rel_area": area_scale * 10 ** rng.normal(-2.2, 0.4, k),
              "aspect": 2 ** rng.normal(0, 0.5, k), "y_center": rng.uniform(0.3, 0.95, k)}
    keep = values["score"] >= CONF
    image = np.repeat(np.arange(n_images), per)[keep]
    return ClassDetections(per_image=np.bincount(image, minlength=n_images),
                           values={a: v[keep] for a, v in values.items()})


def found(s: ClassDetections, r: ClassDetections) -> set[str]:
    return {f.attribute for f in class_findings("x", s, r, None, CONF)[1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    warnings.simplefilter("ignore")   # scipy's exact-KS fallbacks
    rng = np.random.default_rng(args.seed)
    n = hits = 0
    for n_syn, n_real in [(36, 36), (10, 10), (200, 50), (5, 5), (30, 300), (500, 500)]:
        for rate in (0.1, 0.5, 2.0):
            for clustered in (False, True):
                for _ in range(args.trials):
                    n += 1
                    hits += bool(found(draw(rng, n_syn, rate, clustered),
                                       draw(rng, n_real, rate, clustered)))
    print(f"alike domains: {hits} of {n} classes with a finding ({hits / n:.2%})")
    t = 100
    rate = sum("detection_rate" in found(draw(rng, 36, 0.55, False), draw(rng, 36, 0.11, False))
               for _ in range(t))
    area = sum("detection_rel_area" in found(draw(rng, 36, 0.55, False),
                                             draw(rng, 36, 0.55, False, area_scale=1 / 3))
               for _ in range(t))
    video = sum(bool(found(draw(rng, 36, 0.5, False), draw(rng, 180, 0.5, True, repeat=5)))
                for _ in range(t))
    print(f"5x fewer detections on 36 vs 36 images: found {rate} of {t}")
    print(f"boxes 3x smaller in area, 36 vs 36 images: found {area} of {t}")
    print(f"alike, real frames a dense video (each frame 5x): {video} of {t} with a finding")


if __name__ == "__main__":
    main()
