"""Benchmark: `synth calibrate` time for 10 board photos and one floor photo.

Renders, through a known camera, 10 photos of a 9x6 board (3 cm squares) held at varied
tilts and one of it lying on the floor (synth.calibrate.render_board_photo), writes them as
PNG to a temp dir, then times synth.calibrate.calibrate on the files (decoding, corner
detection, OpenCV's calibration, the mount) at 640x480 and 1280x720, pinhole and fisheye.
Prints the time per stage and how far the result is from the true camera.

    .venv/bin/python bench/calibrate_speed.py [--photos 10] [--repeat 3]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synth.boards import floor_board_pose, held_board_poses, render_board_photo  # noqa: E402
from synth.calibrate import calibrate  # noqa: E402
from synth.camera_file import CameraSpec  # noqa: E402
from synth.imageio import encode_png  # noqa: E402

BOARD, SQUARE = (9, 6), 0.03


def camera(model: str, width: int, height: int) -> CameraSpec:
    """The tests' cameras, scaled to the image width (same field of view)."""
    s = width / 640.0
    if model == "fisheye":
        return CameraSpec((width, height), 300.0 * s, 299.0 * s, width / 2 + 1.3 * s,
                          height / 2 - 1.8 * s, 0.10, 12.0, 1.5, "fisheye",
                          (0.05, -0.02, 0.01, -0.002))
    return CameraSpec((width, height), 330.0 * s, 331.5 * s, width / 2 + 2.4 * s,
                      height / 2 - 3.9 * s, 0.10, 12.0, 1.5, "pinhole",
                      (-0.22, 0.05, 0.0008, -0.0005, 0.0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3, help="Best of N calibrations.")
    args = ap.parse_args()
    print(f"{args.photos} board photos + 1 floor photo, board {BOARD[0]}x{BOARD[1]}, "
          f"best of {args.repeat}")
    print(f"{'size':>9} {'model':>8} {'render':>7} {'detect':>7} {'intrin':>7} {'mount':>7} "
          f"{'total':>7}   {'fx err':>7} {'height':>8} {'pitch':>7} {'roll':>7}")
    for width, height in ((640, 480), (1280, 720)):
        for model in ("pinhole", "fisheye"):
            spec = camera(model, width, height)
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                paths = []
                poses = held_board_poses(spec, BOARD, SQUARE, args.photos, seed=1)
                for i, (R, t) in enumerate(poses):
                    paths.append(Path(tmp) / f"board{i:02d}.png")
                    paths[-1].write_bytes(encode_png(render_board_photo(spec, BOARD, SQUARE, R,
                                                                        t, seed=i)))
                floor = Path(tmp) / "floor.png"
                R, t = floor_board_pose(spec, BOARD, SQUARE, ahead_m=0.30, yaw_deg=3.0)
                floor.write_bytes(encode_png(render_board_photo(spec, BOARD, SQUARE, R, t)))
                render = time.perf_counter() - t0
                results = [calibrate(paths, BOARD, SQUARE, fisheye=model == "fisheye",
                                     floor=floor) for _ in range(args.repeat)]
            best = min(results, key=lambda r: r.seconds["total"])
            s, got = best.seconds, best.spec
            print(f"{f'{width}x{height}':>9} {model:>8} {render:6.2f}s {s['detect']:6.2f}s "
                  f"{s['intrinsics']:6.2f}s {s['mount']:6.2f}s {s['total']:6.2f}s   "
                  f"{100 * (got.fx / spec.fx - 1):+6.2f}% "
                  f"{100 * (got.height_m - spec.height_m):+6.2f}cm "
                  f"{got.pitch_deg - spec.pitch_deg:+6.2f}° {got.roll_deg - spec.roll_deg:+6.2f}°")


if __name__ == "__main__":
    main()
