"""Benchmark `synth generate`: images/s and peak memory at 640x480, 2-4 objects, JPEG q95.

Usage: python bench/synth_throughput.py [--n 400] [--memory-n 10000] [--view topdown]
       python bench/synth_throughput.py --stages [--n 200] [--view robot] [--camera FILE]

Prints images/s for --workers 1 and 2 at default settings (random blend), poisson blending
separately, a calibrated robot camera (camera.yaml) without and with lens distortion and
roll, and the peak resident memory of the run (parent + workers, sampled) for a
run of --memory-n images, with the peak after the first 10% of it, to show that memory does
not grow with the set's size. Uses the embedded demo pack. `--stages` instead renders in
this process (one worker) and prints where the time goes: start-up, background, placement,
shadows, reflections, warp and blend, camera effects, JPEG encoding, file writes.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from pathlib import Path

import psutil

from synth.generate import GenerateConfig, generate


class PeakRSS:
    """Sample the resident memory of this process and its children every 50 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        t0 = time.perf_counter()
        while not self._stop.is_set():
            try:
                procs = [me] + me.children(recursive=True)
                rss = sum(p.memory_info().rss for p in procs if p.is_running())
            except psutil.Error:
                continue
            self.peak = max(self.peak, rss)
            self.samples.append((time.perf_counter() - t0, rss))
            time.sleep(0.05)

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


def run(view: str, n: int, workers: int, blend: str = "random",
        camera: Path | None = None) -> tuple[float, PeakRSS]:
    out = Path(tempfile.mkdtemp(prefix="synth-bench-")) / "set"
    cfg = GenerateConfig(view=view, out=out, n=n, workers=workers, blend=blend, camera=camera)
    try:
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            generate(cfg, progress=False)
            dt = time.perf_counter() - t0
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    return n / dt, mem


STAGES = [  # (label, module, function): wrapped with a timer for --stages
    ("background", "synth.compose", "render_background"),
    ("placement", "synth.compose", "_place_perspective"),
    ("placement (flat)", "synth.compose", "_place_flat"),
    ("reflections", "synth.compose", "paste_reflection"),
    ("warp + blend (incl. shadow)", "synth.compose", "paste"),
    ("  of which shadow", "synth.paste", "cast_shadow"),
    ("lens remap", "synth.compose", "_through_lens"),
    ("camera effects", "synth.generate", "apply_camera"),
    ("JPEG encode", "synth.generate", "encode_jpeg"),
    ("file writes", "synth.fsio", "write_bytes"),
]


def stages(view: str, n: int, camera: Path | None) -> None:
    """Time each stage of rendering n images in this process (the stages are wrapped)."""
    import importlib
    spent: dict[str, float] = {}

    def timed(label, fn):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t
        return wrapper

    for label, mod, name in STAGES:
        m = importlib.import_module(mod)
        setattr(m, name, timed(label, getattr(m, name)))
    out = Path(tempfile.mkdtemp(prefix="synth-bench-")) / "set"
    cfg = GenerateConfig(view=view, out=out, n=n, workers=1, camera=camera)
    import synth.generate as g
    compose = g.compose
    first: list[float] = []

    def first_compose(*a, **k):  # start-up ends where the first image is composed
        if not first:
            first.append(time.perf_counter())
        return compose(*a, **k)

    g.compose = first_compose
    try:
        t0 = time.perf_counter()
        generate(cfg, progress=False)
        total = time.perf_counter() - t0
    finally:
        g.compose = compose
        shutil.rmtree(out.parent, ignore_errors=True)
    startup = first[0] - t0 if first else 0.0
    per = (total - startup) / n
    print(f"{view}{' --camera ' + camera.name if camera else ''}: {n} images, one worker, "
          f"{n / total:.1f} images/s whole command ({1 / per:.1f}/s after start-up)")
    print(f"{'stage':32s} {'ms/image':>9s} {'share':>6s}")
    print(f"{'start-up (imports done, load, fit)':32s} {1000 * startup:9.0f} {'':>6s} (once)")
    for label, _, _ in STAGES:
        if label in spent:
            print(f"{label:32s} {1000 * spent[label] / n:9.2f} {spent[label] / (total - startup):6.0%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--memory-n", type=int, default=10000)
    ap.add_argument("--view", default="topdown")
    ap.add_argument("--stages", action="store_true", help="time each stage instead")
    ap.add_argument("--camera", type=Path, default=None, help="with --stages: a camera.yaml")
    args = ap.parse_args()
    if args.stages:
        stages(args.view, args.n, args.camera)
        return
    run(args.view, 8, 1)  # warm the PSD cache
    rows = []
    for workers in (1, 2):
        ips, mem = run(args.view, args.n, workers)
        rows.append((f"{args.view}, random blend, --workers {workers}", ips, mem.peak))
    for view in ("robot", "human", "flat"):
        ips, mem = run(view, args.n, 2)
        rows.append((f"{view}, random blend, --workers 2", ips, mem.peak))
    ips, mem = run(args.view, max(args.n // 4, 20), 2, blend="poisson")
    rows.append((f"{args.view}, poisson blend, --workers 2", ips, mem.peak))
    with tempfile.TemporaryDirectory() as d:
        for distorted in (False, True):
            ips, mem = run("robot", args.n, 2, camera=camera_file(Path(d), distorted))
            what = "k1 -0.28, roll 1.5±1°" if distorted else "no distortion, no roll"
            rows.append((f"--camera ({what}), --workers 2", ips, mem.peak))
    print(f"{'setting':45s} {'images/s':>9s} {'peak RSS MB':>12s}")
    for name, ips, peak in rows:
        print(f"{name:45s} {ips:9.1f} {peak / 2**20:12.0f}")
    if args.memory_n:
        ips, mem = run(args.view, args.memory_n, 2)
        total_t = mem.samples[-1][0] if mem.samples else 0
        early = max((r for t, r in mem.samples if t <= 0.1 * total_t), default=0)
        print(f"\n{args.memory_n} images, --workers 2: {ips:.1f} images/s, peak RSS "
              f"{mem.peak / 2**20:.0f} MB (first 10% of the run: {early / 2**20:.0f} MB)")


if __name__ == "__main__":
    main()
