"""Benchmark `synth generate`: whole-command images/s, start-up and peak memory; per-stage times.

Usage: python bench/synth_throughput.py [--n 1000] [--repeat 1] [--reference DIR] [--only NAME,...]
       python bench/synth_throughput.py --stages [--n 200] [--view robot] [--camera FILE|wide|ideal] [--cpu]

The default mode runs the whole command (`python -m synth.cli generate ...` in a fresh process,
imports and start-up included) at 640x480, 2-4 objects, random blend, JPEG q95 (the defaults),
for each setting: topdown with 1 and 2 workers, robot, human and flat, poisson blending, and
a calibrated robot camera (camera.yaml) without and with lens distortion and roll. It prints
images/s of the whole command, when the first image was written (start-up plus one image),
and the peak resident memory of the process tree (sampled every 20 ms), then the peak for
--n and for a fifth of it, to show that memory does not grow with the set's size.
`--reference DIR` (a checkout of another commit, e.g. `git worktree add /tmp/main main`) runs
each setting with DIR's synth and with this one, alternating, `--repeat` times each, and
prints the ratio of the medians: on a shared machine only a ratio measured in one run means
anything. Uses the embedded demo pack.

`--stages` instead renders in this process (one worker) and prints where the time goes: the
start-up steps (imports, subjects, backgrounds, the view-coverage check, ...) and, per image,
background, placement, subject warps, shadows, colour match and blend, Poisson, reflections,
visible boxes, lens map and remap, camera effects, JPEG encoding, file writes and the rest.
Each stage's time excludes the stages it calls.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


class PeakRSS:
    """Sample the resident memory of a process tree every 20 ms; note when a file appears."""

    def __init__(self, pid: int, t0: float, watch: Path | None = None) -> None:
        self.pid = pid
        self.watch = watch
        self.peak = 0
        self.first_file: float | None = None  # seconds from t0 to the first .jpg in `watch`
        self.t0 = t0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            me = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop.is_set():
            try:
                procs = [me] + me.children(recursive=True)
                rss = sum(p.memory_info().rss for p in procs if p.is_running())
                self.peak = max(self.peak, rss)
            except psutil.Error:
                pass
            if self.first_file is None and self.watch is not None and self.watch.is_dir():
                if any(e.name.endswith(".jpg") for e in os.scandir(self.watch)):
                    self.first_file = time.perf_counter() - self.t0
            time.sleep(0.02)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


CAMERA = """\
image_size: [640, 480]
fx: 300.0
fy: 300.0
cx: 321.5
cy: 238.0
dist: {dist}
height_m: 0.07
pitch_deg: -6.0
roll_deg: {roll}
jitter: {{height_m: 0.005, pitch_deg: 1.5, roll_deg: {jitter}}}
"""


def camera_file(folder: Path, distorted: bool) -> Path:
    """A robot camera.yaml: an ideal lens, or a wide one with barrel distortion and roll."""
    path = folder / ("wide.yaml" if distorted else "ideal.yaml")
    path.write_text(CAMERA.format(dist="[-0.28, 0.08, 0.0005, -0.0003, -0.01]" if distorted
                                  else "[]", roll=1.5 if distorted else 0.0,
                                  jitter=1.0 if distorted else 0.0))
    return path


def settings(folder: Path, n: int) -> list[tuple[str, list[str], int]]:
    """(name, generate arguments, images) of each benchmarked setting."""
    wide, ideal = camera_file(folder, True), camera_file(folder, False)
    return [
        ("topdown-w1", ["--view", "topdown", "--workers", "1"], n),
        ("topdown", ["--view", "topdown", "--workers", "2"], n),
        ("robot", ["--view", "robot", "--workers", "2"], n),
        ("human", ["--view", "human", "--workers", "2"], n),
        ("flat", ["--view", "flat", "--workers", "2"], n),
        ("poisson", ["--view", "topdown", "--blend", "poisson", "--workers", "2"], max(n // 4, 20)),
        ("camera-ideal", ["--view", "robot", "--camera", str(ideal), "--workers", "2"], n),
        ("camera-wide", ["--view", "robot", "--camera", str(wide), "--workers", "2"], n),
    ]


DESCRIBE = {
    "topdown-w1": "topdown, random blend, --workers 1",
    "topdown": "topdown, random blend, --workers 2",
    "robot": "robot, random blend, --workers 2",
    "human": "human, random blend, --workers 2",
    "flat": "flat, random blend, --workers 2",
    "poisson": "topdown, poisson blend, --workers 2",
    "camera-ideal": "--camera (no distortion, no roll), --workers 2",
    "camera-wide": "--camera (k1 -0.28, roll 1.5±1°), --workers 2",
}


def run_cli(root: Path, args: list[str], n: int) -> tuple[float, float | None, int]:
    """Run `synth generate` of the checkout at `root` in a fresh process: (images/s of the
    whole command, seconds until its first image was written, peak RSS of its processes)."""
    out = Path(tempfile.mkdtemp(prefix="synth-bench-")) / "set"
    env = dict(os.environ, PYTHONPATH=str(root))
    cmd = [sys.executable, "-m", "synth.cli", "generate", *args, "-n", str(n), "--out", str(out)]
    try:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        with PeakRSS(proc.pid, t0, out / "JPEGImages") as mem:
            _, err = proc.communicate()
        dt = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{err[-2000:]}")
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    return n / dt, mem.first_file, mem.peak


def throughput(args: argparse.Namespace) -> None:
    """The whole-command table (and the ratios against --reference)."""
    with tempfile.TemporaryDirectory() as d:
        rows = settings(Path(d), args.n)
        if args.only:
            rows = [r for r in rows if r[0] in args.only.split(",")]
        sides = [("this", ROOT)] + ([("reference", args.reference)] if args.reference else [])
        run_cli(ROOT, ["--view", "topdown"], 4)  # warm the PSD cache and the file cache
        results: dict[tuple[str, str], list[tuple[float, float | None, int]]] = {}
        for name, cli_args, n in rows:
            for i in range(args.repeat):
                for side, root in (sides if i % 2 == 0 else sides[::-1]):  # alternate A/B
                    results.setdefault((name, side), []).append(run_cli(root, cli_args, n))
        head = f"{'setting (whole command, start-up included)':50s} {'n':>5s} {'images/s':>9s} " \
               f"{'1st image s':>11s} {'peak RSS MB':>11s}"
        print(head + ("  reference: images/s  1st image s   ratio" if args.reference else ""))
        for name, _, n in rows:
            line = _row(results[(name, "this")])
            print(f"{DESCRIBE[name]:50s} {n:5d} {line}", end="")
            if args.reference:
                ref = results[(name, "reference")]
                ratio = (statistics.median(r[0] for r in results[(name, "this")])
                         / statistics.median(r[0] for r in ref))
                print(f"  {_row(ref)[:21]}  {ratio:5.2f}x", end="")
            print()
        if args.repeat > 1:
            print(f"(medians of {args.repeat} runs per side, A/B alternating)")
    if args.memory:
        small = max(args.n // 5, 1)
        print("\npeak RSS, topdown --workers 2 (whole process tree, shared pages counted per process):")
        for n in (small, args.n):
            ips, _, peak = run_cli(ROOT, ["--view", "topdown", "--workers", "2"], n)
            print(f"  {n:5d} images: {peak / 2**20:6.0f} MB ({ips:.1f} images/s)")


def _row(runs: list[tuple[float, float | None, int]]) -> str:
    ips = statistics.median(r[0] for r in runs)
    firsts = [r[1] for r in runs if r[1] is not None]
    first = f"{statistics.median(firsts):11.2f}" if firsts else f"{'-':>11s}"
    return f"{ips:9.1f} {first} {max(r[2] for r in runs) / 2**20:11.0f}"


STARTUP = [  # (label, module, function): wrapped with a timer for --stages
    ("load subjects (PSD cache)", "synth.generate", "build_library"),
    ("load backgrounds", "synth.generate", "load_scene_bank"),
    ("view coverage check", "synth.generate", "check_coverage"),
    ("fingerprint of the inputs", "synth.generate", "_fingerprint"),
    ("output folders", "synth.generate", "_prepare_out"),
    ("shared caches (noise, lens rays)", "synth.generate", "warm_caches"),
    ("index files (after the images)", "synth.generate", "finalize"),
]
STAGES = [
    ("background", "synth.compose", "render_background"),
    ("lens map (per image roll)", "synth.compose", "ideal_camera"),
    ("placement", "synth.compose", "_place_perspective"),
    ("placement (flat)", "synth.compose", "_place_flat"),
    ("reflections", "synth.compose", "paste_reflection"),
    ("subject warps", "synth.paste", "warp_roi"),
    ("shadows", "synth.paste", "cast_shadow"),
    ("poisson", "synth.paste", "poisson"),
    ("colour match + blend", "synth.compose", "paste"),
    ("visible boxes", "synth.compose", "label_placements"),
    ("lens remap", "synth.compose", "_through_lens"),
    ("camera effects", "synth.generate", "apply_camera"),
    ("JPEG encode", "synth.generate", "encode_jpeg"),
    ("file writes", "synth.fsio", "write_bytes"),
]


def stages(view: str, n: int, camera: Path | None, cpu: bool = False) -> None:
    """Time each stage of rendering n images in this process (the stages are wrapped); with
    `cpu`, in CPU time of this process (steadier than wall time on a loaded machine)."""
    clock = time.process_time if cpu else time.perf_counter
    import importlib

    t_import = clock()
    import synth.generate as g  # noqa: F401 (timed: the imports of the command)
    import synth.cli  # noqa: F401
    imports = clock() - t_import
    spent: dict[str, float] = {}
    stack: list[list[float]] = []  # per active stage: [time spent in nested stages]

    def timed(label, fn):
        def wrapper(*a, **k):
            t = clock()
            stack.append([0.0])
            try:
                return fn(*a, **k)
            finally:
                dt = clock() - t
                nested = stack.pop()[0]
                spent[label] = spent.get(label, 0.0) + dt - nested
                if stack:
                    stack[-1][0] += dt
        return wrapper

    saved = []
    for label, mod, name in STARTUP + STAGES:
        m = importlib.import_module(mod)
        if hasattr(m, name):
            saved.append((m, name, getattr(m, name)))
            setattr(m, name, timed(label, getattr(m, name)))
    out = Path(tempfile.mkdtemp(prefix="synth-bench-")) / "set"
    cfg = g.GenerateConfig(view=view, out=out, n=n, workers=1, camera=camera)
    renders: list[float] = []
    render = g._Worker.render

    def timed_render(self, index):  # the per-image loop, from the first image to the last
        t = clock()
        try:
            return render(self, index)
        finally:
            renders.append(clock() - t)

    g._Worker.render = timed_render
    try:
        t0 = clock()
        g.generate(cfg, progress=False)
        total = clock() - t0
    finally:
        g._Worker.render = render
        for m, name, fn in saved:
            setattr(m, name, fn)
        shutil.rmtree(out.parent, ignore_errors=True)
    per = sum(renders) / n
    startup = total - sum(renders) - spent.get("index files (after the images)", 0.0)
    print(f"{view}{' --camera ' + camera.name if camera else ''}: {n} images, one worker, in "
          f"process, {'CPU' if cpu else 'wall'} time: "
          f"{n / (total + imports):.1f} images/s with imports and start-up, "
          f"{1 / per:.1f}/s rendering")
    print(f"{'start-up step':34s} {'ms':>9s}")
    print(f"{'imports (synth.cli, synth.generate)':34s} {1000 * imports:9.0f}")
    for label, _, _ in STARTUP:
        if label in spent and not label.startswith("index"):
            print(f"{label:34s} {1000 * spent[label]:9.0f}")
    print(f"{'start-up in all':34s} {1000 * (imports + startup):9.0f}")
    print(f"{'index files (after the images)':34s} {1000 * spent.get('index files (after the images)', 0):9.0f}")
    print(f"\n{'stage':34s} {'ms/image':>9s} {'share':>6s}")
    covered = 0.0
    for label, _, _ in STAGES:
        if label in spent:
            covered += spent[label]
            print(f"{label:34s} {1000 * spent[label] / n:9.2f} {spent[label] / sum(renders):6.0%}")
    rest = sum(renders) - covered
    print(f"{'other (draws, manifest, XML)':34s} {1000 * rest / n:9.2f} {rest / sum(renders):6.0%}")
    print(f"{'per image':34s} {1000 * per:9.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=None, help="images per run (1000; --stages: 200)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per setting (and side)")
    ap.add_argument("--reference", type=Path, default=None,
                    help="a checkout whose synth to compare with, alternating runs")
    ap.add_argument("--only", default=None, help="settings to run, e.g. topdown,camera-wide")
    ap.add_argument("--no-memory", dest="memory", action="store_false",
                    help="skip the peak memory of --n versus --n/5 images")
    ap.add_argument("--view", default="topdown")
    ap.add_argument("--stages", action="store_true", help="time each stage instead")
    ap.add_argument("--cpu", action="store_true", help="with --stages: CPU time, not wall time")
    ap.add_argument("--camera", default=None,
                    help="with --stages: a camera.yaml, or 'wide' / 'ideal' for the bench's own")
    args = ap.parse_args()
    if args.stages:
        with tempfile.TemporaryDirectory() as d:
            camera = args.camera
            if camera in ("wide", "ideal"):
                camera = camera_file(Path(d), camera == "wide")
            stages(args.view, args.n or 200, Path(camera) if camera else None, args.cpu)
        return
    args.n = args.n or 1000
    throughput(args)


if __name__ == "__main__":
    main()
