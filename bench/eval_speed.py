"""Benchmark: `pipeline evaluate --detections` against pycocotools, in one run.

Builds a synthetic VOC set (default 3000 images, 20 classes, 43 detections per image: the
fixture of issue #12) and its detections file in a temp dir, then, on the same data:
  1. the whole `pipeline evaluate --detections` command of this checkout (and of --baseline
     DIR, another checkout, alternating), a fresh process each time: start-up, imports, XML
     and JSON reading, every metric, the report with its plots and gallery;
  2. its stages, each in a fresh process of each checkout: start-up + imports, reading the
     XML, the metrics (VOC + COCO + errors + confusion), the plots, the whole report;
  3. metrics.coco_evaluate alone (the 12 COCO numbers) in this process;
  4. pycocotools: load (COCO + loadRes) and evaluate + accumulate (+ summarize) in this
     process, and as a command (a fresh python: import, read the two JSON files, evaluate,
     accumulate);
  5. faster-coco-eval and hotcoco (bench-only extras, skipped when not installed), the same,
     and hotcoco fed arrays (what it would cost as the engine inside `pipeline evaluate`);
checks that every library's 12 numbers equal pycocotools' bit for bit, and prints the
wall and CPU times (a process's CPU counts its children's) and every ratio. Fresh processes
cache their bytecode in the temp dir, after one untimed run each, as an installed copy does
(--no-bytecode-cache: as the environment says). The whole command's reference is
pycocotools' load + evaluate + accumulate in this process (its start-up and file reading not
counted: the conservative ratio); repeated timings are medians.

    python bench/eval_speed.py [--images 3000] [--dets 43] [--classes 20] [--repeat N]
                               [--baseline /path/to/other/checkout] [--no-bytecode-cache]
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synth.imageio import encode_jpeg  # noqa: E402
from synth.voc import VocImage, VocObject, annotation_xml  # noqa: E402


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


# A fresh process of a checkout times its own stages (functions every checkout has).
STAGES = r"""
import json, sys, time
from detector.evaluation.evaluate import evaluate, get_detections, read_set
from detector.evaluation.report import render_plots, render_report
out = {}
def timed(key, fn):
    w, c = time.perf_counter(), time.process_time()
    r = fn()
    out[key] = (time.perf_counter() - w, time.process_time() - c)
    return r
voc_set = timed("xml", lambda: read_set(sys.argv[1]))
dets = get_detections(voc_set, sys.argv[2])
ev = timed("metrics", lambda: evaluate(voc_set, dets))
timed("plots", lambda: render_plots(ev))
timed("report", lambda: render_report(ev))
print(json.dumps(out))
"""
IMPORTS = "import pipeline, detector.evaluation.evaluate, detector.evaluation.report"
COCO_COMMAND = r"""
import contextlib, io, sys
with contextlib.redirect_stdout(io.StringIO()):
    if sys.argv[3] == "pycocotools":
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    else:
        from hotcoco import COCO, COCOeval
    gt = COCO(sys.argv[1])
    ev = COCOeval(gt, gt.loadRes(sys.argv[2]), "bbox")
    ev.evaluate()
    ev.accumulate()
"""


def wall(cmd: list[str], tree: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds of it and its children) of a fresh process running with
    checkout `tree` first on sys.path."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    if PYCACHE is not None:  # bytecode cached as on an ordinary install, off the source tree
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = PYCACHE
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tree)
    sec = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])}... ({tree}) failed: {proc.stderr.strip()[-2000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return sec, cpu, proc


PYCACHE: str | None = None   # where fresh processes cache bytecode (None: as the env says)


class Clock:
    """Wall and CPU seconds of a block of this process (`with Clock() as c: ...; c.wall`)."""

    def __enter__(self):
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c


def run_cocoeval(module: str, gt_json: dict, results: list[dict]) -> tuple[Clock, Clock, np.ndarray]:
    """(load, evaluate + accumulate) clocks and the 12 stats of a COCOeval library."""
    if module == "pycocotools":
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    elif module == "faster_coco_eval":
        from faster_coco_eval import COCO
        from faster_coco_eval import COCOeval_faster as COCOeval
    else:
        from hotcoco import COCO, COCOeval
    gt_json, results = json.loads(json.dumps(gt_json)), json.loads(json.dumps(results))
    with contextlib.redirect_stdout(io.StringIO()):
        with Clock() as load:
            if module == "hotcoco":
                gt = COCO(gt_json)
            else:
                gt = COCO()
                gt.dataset = gt_json
                gt.createIndex()
            dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "bbox")
        with Clock() as run:
            ev.evaluate()
            ev.accumulate()
        ev.summarize()
    return load, run, np.asarray(ev.stats, np.float64)


def run_hotcoco_arrays(gt, dets) -> tuple[Clock, Clock, np.ndarray]:
    """hotcoco fed arrays, as the COCO engine inside `pipeline evaluate` would be."""
    from hotcoco import COCO, COCOeval

    with Clock() as load:
        coco = COCO.from_arrays([{"id": i + 1} for i in range(gt.n_images)],
                                [{"id": k + 1, "name": c} for k, c in enumerate(gt.classes)],
                                gt.image + 1, gt.cls + 1, gt.boxes, area=gt.area,
                                iscrowd=gt.difficult.astype(np.int64))
        dt = coco.load_res(np.column_stack([dets.image + 1, dets.boxes, dets.score,
                                            dets.cls + 1]).astype(np.float64))
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(coco, dt, "bbox")
        with Clock() as run:
            ev.evaluate()
            ev.accumulate()
        ev.summarize()
    return load, run, np.asarray(ev.stats, np.float64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--images", type=int, default=3000)
    ap.add_argument("--dets", type=int, default=43, help="detections per image")
    ap.add_argument("--classes", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each command and stage (medians; pycocotools runs once)")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="another checkout (e.g. main's) timed the same way, alternating")
    ap.add_argument("--skip-pycocotools", action="store_true")
    ap.add_argument("--no-bytecode-cache", action="store_true",
                    help="run the processes as the environment says (PYTHONDONTWRITEBYTECODE: "
                         "every start compiles every module); default: a bytecode cache in "
                         "the temp dir, warmed by one untimed run of each")
    args = ap.parse_args()

    from detector.evaluation.detections import Detections, read_detections
    from detector.evaluation.evaluate import read_set
    from detector.evaluation.metrics import (coco_evaluate, coco_ground_truth_json,
                                             coco_results_json, ground_truth)

    trees = {"this": ROOT}
    if args.baseline is not None:
        trees = {"baseline": args.baseline.resolve(), **trees}
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "voc"
        t0 = time.perf_counter()
        det_path = make_data(data, args.images, args.dets, args.classes)
        print(f"data: {args.images} images x {args.dets} detections x {args.classes} classes "
              f"({det_path.stat().st_size / 1e6:.0f} MB json), made in "
              f"{time.perf_counter() - t0:.1f}s", flush=True)

        global PYCACHE
        if not args.no_bytecode_cache:
            PYCACHE = str(Path(tmp) / "pycache")
        commands = {name: [sys.executable, str(tree / "pipeline.py"), "evaluate", "--data",
                           str(data), "--detections", str(det_path), "--out",
                           str(Path(tmp) / f"report-{name}")] for name, tree in trees.items()}
        for name, tree in trees.items():  # untimed: caches bytecode and the files
            wall(commands[name], tree)
        wall([sys.executable, "-c", "import pycocotools.cocoeval, hotcoco"
              if importlib.util.find_spec("hotcoco") else "import pycocotools.cocoeval"], ROOT)
        # (tree, stage) -> [(wall, cpu)], every tree once per round.
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.repeat):
            for name, tree in trees.items():
                cmd = commands[name]
                times.setdefault((name, "command"), []).append(wall(cmd, tree)[:2])
                times.setdefault((name, "imports"), []).append(
                    wall([sys.executable, "-c", IMPORTS], tree)[:2])
                proc = wall([sys.executable, "-c", STAGES, str(data), str(det_path)], tree)[2]
                for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items():
                    times.setdefault((name, k), []).append(tuple(v))
            loads.append(os.getloadavg()[0])
        med = {k: tuple(statistics.median(x[i] for x in v) for i in (0, 1))
               for k, v in times.items()}

        voc_set = read_set(data)
        dets = read_detections(det_path, voc_set)
        gt = ground_truth(voc_set)
        coco_runs = []
        for _ in range(args.repeat):  # a fresh Detections: every run sorts from scratch
            with Clock() as c:
                ours = coco_evaluate(gt, Detections(dets.image, dets.cls, dets.boxes, dets.score))
            coco_runs.append((c.wall, c.cpu))
        t_coco = tuple(statistics.median(x[i] for x in coco_runs) for i in (0, 1))

        gt_json, results = coco_ground_truth_json(gt), coco_results_json(dets)
        gt_file, res_file = Path(tmp) / "gt.json", Path(tmp) / "results.json"
        gt_file.write_text(json.dumps(gt_json))
        res_file.write_text(json.dumps(results))
        ref: dict[str, tuple[Clock, Clock, np.ndarray]] = {}
        command: dict[str, tuple[float, float]] = {}
        for lib in ("pycocotools", "faster_coco_eval", "hotcoco"):
            if lib == "pycocotools" and args.skip_pycocotools:
                continue
            if importlib.util.find_spec(lib) is None:
                print(f"{lib}: not installed, skipped (pip install '.[bench]')")
                continue
            ref[lib] = run_cocoeval(lib, gt_json, results)
            if lib == "hotcoco":
                ref["hotcoco (from arrays)"] = run_hotcoco_arrays(gt, dets)
            if lib in ("pycocotools", "hotcoco"):
                command[lib] = wall([sys.executable, "-c", COCO_COMMAND, str(gt_file),
                                     str(res_file), lib], ROOT)[:2]
            loads.append(os.getloadavg()[0])

    print(f"\n{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, medians of "
          f"{args.repeat}, bytecode {'as the environment says' if PYCACHE is None else 'cached'}"
          f"; 1-minute load average during the run: "
          f"{' '.join(f'{v:.1f}' for v in loads)}")
    stages = [("command", "pipeline evaluate --detections (whole command)"),
              ("imports", "  start-up + imports (fresh process)"),
              ("xml", "  read the XML (read_set)"),
              ("metrics", "  metrics (VOC + COCO + errors + confusion)"),
              ("plots", "  plots (render_plots)"),
              ("report", "  whole report (plots, gallery, html/md/json)")]
    names = list(trees)
    width = 52
    head = "".join(f"{n + ' ' + kind:>15}" for kind in ("wall", "cpu") for n in names)
    print(f"{'seconds':<{width}}{head}"
          + ("  baseline/this: wall  cpu" if len(names) == 2 else ""))
    for key, label in stages:
        vals = [med[(n, key)][i] for i in (0, 1) for n in names]
        ratio = (f"{vals[0] / vals[1]:15.1f}x{vals[2] / vals[3]:5.1f}x" if len(names) == 2
                 else "")
        print(f"{label:<{width}}" + "".join(f"{v:15.3f}" for v in vals) + ratio)
    rows = [("metrics.coco_evaluate (12 COCO numbers)", t_coco)]
    for lib, (load, run, _) in ref.items():
        rows += [(f"{lib} load (COCO + loadRes)", (load.wall, load.cpu)),
                 (f"{lib} evaluate + accumulate", (run.wall, run.cpu))]
        if lib in command:
            rows.append((f"{lib} as a command (start-up, json, eval, acc)", command[lib]))
    for label, (w, c) in rows:
        pad = " " * 15 * (len(names) - 1)
        print(f"{label:<{width}}{pad}{w:15.3f}{pad}{c:15.3f}")
    print()
    if "pycocotools" in ref:
        load, run, stats = ref["pycocotools"]
        for n in names:
            w, c = med[(n, "command")]
            print(f"{n}: pycocotools load + evaluate + accumulate / whole command: wall "
                  f"{(load.wall + run.wall) / w:.1f}x, cpu {(load.cpu + run.cpu) / c:.1f}x; "
                  f"pycocotools as a command / whole command: wall "
                  f"{command['pycocotools'][0] / w:.1f}x, cpu {command['pycocotools'][1] / c:.1f}x")
        print(f"pycocotools evaluate + accumulate / coco_evaluate: wall "
              f"{run.wall / t_coco[0]:.1f}x, cpu {run.cpu / t_coco[1]:.1f}x")
        for lib, (_, lib_run, _) in ref.items():
            if lib != "pycocotools":
                print(f"{lib} evaluate + accumulate / coco_evaluate: wall "
                      f"{lib_run.wall / t_coco[0]:.2f}x, cpu {lib_run.cpu / t_coco[1]:.2f}x")
        for lib, s in [("coco_evaluate", ours.stats)] + [(k, v[2]) for k, v in ref.items()
                                                          if k != "pycocotools"]:
            print(f"{lib}: 12 stats bit-equal to pycocotools: {np.array_equal(s, stats)} "
                  f"(max |diff| {np.abs(s - stats).max():.1e})")
    print("12 stats:", " ".join(f"{v:.4f}" for v in ours.stats))


if __name__ == "__main__":
    main()
