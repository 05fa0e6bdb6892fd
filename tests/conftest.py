"""Shared fixtures: a tiny subject pack and backgrounds built on the fly (no downloads)."""
from __future__ import annotations

import os
from pathlib import Path

# One math thread per process: on a 2-core box, torch's default of two threads spins
# against test subprocesses and data workers and runs training tests many times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest

from synth.imageio import encode_jpeg, encode_png

# Saturated, far-apart hues so a test can find each subject's pixels by colour.
PALETTE = {"box": [(230, 20, 20), (20, 200, 20)], "pole": [(20, 20, 230), (230, 230, 20)],
           "leaf": [(230, 20, 230)]}

CATALOG = """\
classes:
  box:  {size_m: [0.20, 0.30], pose: flat, yaw_deg: [-180, 180], roll_deg: [0, 0]}
  pole: {size_m: [0.30, 0.50], pose: upright, yaw_deg: [-20, 20], roll_deg: [-3, 3]}
  leaf: {size_m: [0.05, 0.10], pose: flat, yaw_deg: [-180, 180], roll_deg: [0, 0], distractor: true}
"""


def make_pack(root: Path, floor_value: int | None = None) -> dict[str, Path]:
    """Write solid-colour cut-outs (PNG class folders), a floor, a backdrop and a catalog."""
    subjects = root / "subjects"
    for cls, colours in PALETTE.items():
        (subjects / cls).mkdir(parents=True, exist_ok=True)
        for i, rgb in enumerate(colours):
            h, w = (60, 80) if cls != "pole" else (100, 30)
            a = np.zeros((h, w, 4), np.uint8)
            a[..., :3] = rgb
            a[..., 3] = 255
            (subjects / cls / f"{cls}{i}.png").write_bytes(encode_png(a))
    bg = root / "backgrounds"
    (bg / "floors").mkdir(parents=True, exist_ok=True)
    (bg / "backdrops").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    if floor_value is None:
        floor = (rng.random((256, 256, 3)) * 40 + 110).astype(np.uint8)
        floor[::32] = 60
    else:
        floor = np.full((256, 256, 3), floor_value, np.uint8)
    (bg / "floors" / "floor.png").write_bytes(encode_png(floor))
    wall = np.full((180, 320, 3), 200, np.uint8)
    wall[150:] = 90
    (bg / "backdrops" / "wall.jpg").write_bytes(encode_jpeg(wall))
    catalog = root / "classes.yaml"
    catalog.write_text(CATALOG)
    return {"assets": subjects, "backgrounds": bg, "classes": catalog}


@pytest.fixture(scope="session")
def tiny_pack(tmp_path_factory) -> dict[str, Path]:
    """Textured floor, solid-colour subjects."""
    return make_pack(tmp_path_factory.mktemp("pack"))


@pytest.fixture(scope="session")
def grey_pack(tmp_path_factory) -> dict[str, Path]:
    """Uniform grey floor, solid-colour subjects: subjects can be segmented by colour."""
    return make_pack(tmp_path_factory.mktemp("greypack"), floor_value=128)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep the PSD cache out of the user's home during tests."""
    monkeypatch.setenv("FLOORSYNTH_CACHE", str(tmp_path_factory.getbasetemp() / "psd-cache"))


def pipeline_imports_torch(argv: list[str]) -> bool:
    """Run `pipeline ARGV...` in a fresh interpreter; True if torch got imported on the way."""
    import subprocess
    import sys

    code = ("import sys\nfrom pipeline import main\n"
            f"sys.argv = {['pipeline', *argv]!r}\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1] == "True"
