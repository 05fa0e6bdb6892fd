"""Benchmark: `pipeline evaluate --detections` against pycocotools and faster-coco-eval.

Builds a synthetic VOC set (default 5000 images, 20 classes, 100 detections per image) and
its detections file in a temp dir, then times on the same data:
  1. the whole `pipeline evaluate --detections` command (subprocess, wall clock: start-up,
     XML + JSON parsing, all metrics, report with plots and gallery),
  2. detector.evaluation.evaluate alone (VOC + COCO + errors + confusion) and
     detector.metrics.coco_evaluate alone (the 12 COCO numbers),
  3. pycocotools COCOeval evaluate + accumulate (+ summarize),
  4. faster-coco-eval COCOeval_faster evaluate + accumulate (+ summarize),
checks that the 12 numbers agree, and prints a table with ratios.

    .venv/bin/python bench/eval_speed.py [--images 5000] [--dets 100] [--classes 20] [--repeat N]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synth.imageio import encode_jpeg  # noqa: E402
from synth.voc import VocImage, VocObject, annotation_xml, read_voc_set  # noqa: E402


def make_data(root: Path, n_images: int, n_dets: int, n_classes: int, seed: int = 0) -> Path:
    """Write a VOC set with random objects and a detections file; return the file path."""
    rng = np.random.default_rng(seed)
    classes = [f"class{k:02d}" for k in range(n_classes)]
    W, H = 640, 480
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    (root / "labels.txt").write_text("".join(c + "\n" for c in classes))
    jpeg = encode_jpeg(np.full((H, W, 3), 128, np.uint8), 80)
    dets = []
    for i in range(n_images):
        stem = f"{i:06d}"
        n_obj = int(rng.integers(1, 13))
        size = np.exp(rng.uniform(np.log(6), np.log(400), (n_obj, 2)))
        x0 = rng.uniform(0, W - size[:, 0])
        y0 = rng.uniform(0, H - size[:, 1])
        x1, y1 = x0 + size[:, 0], y0 + size[:, 1]
        box = np.stack([np.floor(x0) + 1, np.floor(y0) + 1, np.ceil(x1), np.ceil(y1)], 1)
        box = np.minimum(box, [W, H, W, H])
        cls = rng.integers(0, n_classes, n_obj)
        difficult = rng.random(n_obj) < 0.1
        objects = [VocObject(classes[c], tuple(int(v) for v in b), difficult=bool(d))
                   for c, b, d in zip(cls, box, difficult)]
        (root / "Annotations" / f"{stem}.xml").write_text(
            annotation_xml(VocImage(stem, f"{stem}.jpg", W, H, 3, objects)))
        (root / "JPEGImages" / f"{stem}.jpg").write_bytes(jpeg)
        # Detections near objects (jittered, sometimes the wrong class, some duplicates) ...
        n_near = min(n_dets, int(rng.integers(n_obj, 3 * n_obj + 1)))
        src = rng.integers(0, n_obj, n_near)
        g = np.stack([box[:, 0] - 1, box[:, 1] - 1, box[:, 2] - box[:, 0] + 1,
                      box[:, 3] - box[:, 1] + 1], 1)[src]
        jitter = rng.normal(0, 0.15, (n_near, 4)) * g[:, [2, 3, 2, 3]]
        near = g + jitter
        near_cls = np.where(rng.random(n_near) < 0.85, cls[src], rng.integers(0, n_classes, n_near))
        near_score = rng.beta(5, 2, n_near)
        # ... and the rest on the background with low scores, as a detector at conf 0.001 gives.
        n_bg = n_dets - n_near
        bw = np.exp(rng.uniform(np.log(6), np.log(300), (n_bg, 2)))
        bg = np.stack([rng.uniform(0, W - bw[:, 0]), rng.uniform(0, H - bw[:, 1]),
                       bw[:, 0], bw[:, 1]], 1)
        b = np.concatenate([near, bg])
        b[:, 2:] = np.maximum(b[:, 2:], 1)
        b[:, :2] = np.clip(b[:, :2], 0, [W - 1, H - 1])
        b[:, 2] = np.minimum(b[:, 2], W - b[:, 0])
        b[:, 3] = np.minimum(b[:, 3], H - b[:, 1])
        c = np.concatenate([near_cls, rng.integers(0, n_classes, n_bg)])
        s = np.concatenate([near_score, rng.beta(1, 12, n_bg)]).clip(0.001, 1)
        dets += [{"image_id": stem, "category": classes[k], "bbox": [round(v, 2) for v in bb],
                  "score": round(float(sc), 5)} for k, bb, sc in zip(c.tolist(), b.tolist(), s)]
    path = root.parent / "detections.json"
    path.write_text(json.dumps(dets))
    return path


REPEAT = 1


def timed(fn):
    """(best seconds over REPEAT runs, result of the last run)."""
    best = float("inf")
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run_cocoeval(module: str, gt_json: dict, results: list[dict]) -> tuple[float, float, float, np.ndarray]:
    """(load, evaluate+accumulate, summarize) seconds and the stats of a COCOeval library."""
    if module == "pycocotools":
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    else:
        from faster_coco_eval import COCO
        from faster_coco_eval import COCOeval_faster as COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        def load():
            gt = COCO()
            gt.dataset = json.loads(json.dumps(gt_json))
            gt.createIndex()
            return gt, gt.loadRes(json.loads(json.dumps(results)))
        t_load, (gt, dt) = timed(load)
        ev = COCOeval(gt, dt, "bbox")
        t0 = time.perf_counter()
        ev.evaluate()
        ev.accumulate()
        t_eval = time.perf_counter() - t0
        t_sum, _ = timed(ev.summarize)
    return t_load, t_eval, t_sum, np.asarray(ev.stats)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--dets", type=int, default=100, help="detections per image")
    ap.add_argument("--classes", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=1,
                    help="time everything this many times and keep the best")
    ap.add_argument("--skip-pycocotools", action="store_true")
    args = ap.parse_args()

    from detector.evaluation.detections import Detections, read_detections
    from detector.evaluation.evaluate import evaluate
    from detector.evaluation.metrics import (coco_evaluate, coco_ground_truth_json, coco_results_json,
                                  ground_truth)

    global REPEAT
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "voc"
        t0 = time.perf_counter()
        det_path = make_data(data, args.images, args.dets, args.classes)
        t_make = time.perf_counter() - t0
        REPEAT = args.repeat
        print(f"data: {args.images} images x {args.dets} detections x {args.classes} classes "
              f"({det_path.stat().st_size / 1e6:.0f} MB json), made in {t_make:.1f}s", flush=True)

        rows = []
        cmd = [str(ROOT / ".venv" / "bin" / "pipeline"), "evaluate", "--data", str(data),
               "--detections", str(det_path), "--out", str(Path(tmp) / "report")]
        t_cmd, proc = timed(lambda: subprocess.run(cmd, capture_output=True, text=True))
        if proc.returncode != 0:
            sys.exit(f"pipeline evaluate failed: {proc.stderr.strip()}")
        rows.append(("pipeline evaluate --detections (whole command)", t_cmd))

        t_voc, voc_set = timed(lambda: read_voc_set(data))
        t_json, dets = timed(lambda: read_detections(det_path, voc_set))
        rows.append(("  read VOC XML (synth.voc.read_voc_set)", t_voc))
        rows.append(("  read + validate detections JSON", t_json))
        def fresh() -> Detections:  # no cached score order: every run sorts from scratch
            return Detections(dets.image, dets.cls, dets.boxes, dets.score)

        t_all, _ = timed(lambda: evaluate(voc_set, fresh()))
        rows.append(("  evaluation.evaluate (VOC+COCO+errors+confusion)", t_all))
        gt = ground_truth(voc_set)
        t_coco, ours = timed(lambda: coco_evaluate(gt, fresh()))
        rows.append(("  metrics.coco_evaluate (12 COCO numbers)", t_coco))

        gt_json, results = coco_ground_truth_json(gt), coco_results_json(dets)
        ref = {}
        for lib in ("pycocotools", "faster_coco_eval"):
            if lib == "pycocotools" and args.skip_pycocotools:
                continue
            t_load, t_eval, t_sum, stats = run_cocoeval(lib, gt_json, results)
            ref[lib] = (t_eval, stats)
            rows.append((f"{lib} load (COCO + loadRes, not in ratios)", t_load))
            rows.append((f"{lib} evaluate+accumulate", t_eval))
            rows.append((f"{lib} summarize", t_sum))

    width = max(len(r[0]) for r in rows)
    print(f"\n{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, best of {args.repeat}")
    print(f"{'what':<{width}}  seconds")
    for name, sec in rows:
        print(f"{name:<{width}}  {sec:8.2f}")
    print()
    for lib, (t_eval, stats) in ref.items():
        diff = np.abs(stats - ours.stats).max()
        print(f"{lib}: evaluate+accumulate / whole command = {t_eval / t_cmd:.1f}x, "
              f"/ coco_evaluate = {t_eval / t_coco:.1f}x; max |stats diff| = {diff:.1e}")
    print("12 stats:", " ".join(f"{v:.4f}" for v in ours.stats))


if __name__ == "__main__":
    main()
