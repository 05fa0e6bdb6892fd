"""Glossy floors mirror what stands on them: the subject's plane mirrored in Z = 0."""
from __future__ import annotations


from pathlib import Path

import numpy as np
import pytest

from synth.camera import Camera, apply_homography, subject_homography, subject_plane
from synth.compose import ComposeOptions, compose
from synth.errors import InputError
from synth.generate import GenerateConfig, build_library
from synth.paste import paste_reflection, reflection_homography
from synth.scene import load_scene_bank


def test_the_reflection_is_the_plane_mirrored_below_its_contact_line_by_hand():
    cam = Camera(height_m=0.1, pitch_deg=0.0, fov_deg=90.0, width=640, height=480)
    plane = subject_plane(0.0, (0.0, 1.0), 0.3, (30, 100))  # 0.3 m tall, 1 m ahead, standing
    H = reflection_homography(cam, plane)
    # the mirror of the top edge (0.3 m up) is 0.3 m below the floor: 0.4 m below the camera
    top_mirror = apply_homography(H, np.array([[14.5, -0.5]]))[0]
    assert top_mirror == pytest.approx([319.5, 239.5 + 320.0 * 0.4 / 1.0], abs=1e-6)
    # the bottom edge is its own mirror: the reflection starts at the contact line
    bottom = apply_homography(H, np.array([[14.5, 99.5]]))[0]
    direct = apply_homography(subject_homography(cam, plane), np.array([[14.5, 99.5]]))[0]
    assert bottom == pytest.approx(direct, abs=1e-9)
    assert bottom == pytest.approx([319.5, 239.5 + 32.0], abs=1e-9)


def _standing_bar_canvas(gloss: float) -> tuple[np.ndarray, np.ndarray, Camera]:
    cam = Camera(height_m=0.1, pitch_deg=0.0, fov_deg=90.0, width=640, height=480)
    plane = subject_plane(0.0, (0.0, 1.0), 0.3, (30, 100))
    level = np.zeros((100, 30, 4), np.uint8)
    level[...] = (250, 250, 250, 255)  # premultiplied opaque white
    canvas = np.full((480, 640, 3), 40, np.uint8)
    paste_reflection(canvas, [level], plane, cam, gloss)
    return canvas, plane, cam


def test_a_glossy_floor_shows_the_mirror_image_from_the_contact_line_down():
    canvas, plane, cam = _standing_bar_canvas(1.0)
    lit = canvas[..., 0] > 45
    rows = np.flatnonzero(lit.any(axis=1))
    cols = np.flatnonzero(lit.any(axis=0))
    # contact line at row 271.5 (239.5 + 320 * 0.1): the reflection starts there
    assert abs(rows[0] - 272) <= 1
    # the mirrored top edge is at 367.5; fading and the blur soften the far end
    assert 355 <= rows[-1] <= 369
    # as wide as the bar: 0.09 m at 1 m -> 28.8 px, centred on column 319.5
    assert abs(cols[0] - (319.5 - 14.4)) <= 2 and abs(cols[-1] - (319.5 + 14.4)) <= 2
    # brightest at the contact line, fading away from it
    col = canvas[:, 320, 0].astype(int)
    assert col[275] > col[320] > col[360]


def test_no_reflection_on_a_matte_floor():
    canvas, _, _ = _standing_bar_canvas(0.0)
    assert (canvas == 40).all()


def _gloss_pack(pack, tmp_path, value) -> Path:
    import shutil
    bg = tmp_path / f"bg{value}"
    shutil.copytree(pack["backgrounds"], bg)
    (bg / "floors" / "gloss.yaml").write_text(f"floor.png: {value}\n")
    return bg


def test_reflections_never_change_a_box(grey_pack, tmp_path):
    cfg = GenerateConfig(view="robot", out=Path("unused"), assets=[grey_pack["assets"]],
                         backgrounds=grey_pack["backgrounds"], classes=grey_pack["classes"])
    lib = build_library(cfg)
    banks = [load_scene_bank(_gloss_pack(grey_pack, tmp_path, g)) for g in (0.0, 0.8)]
    opts = ComposeOptions(view="robot", objects=(2, 3), blend="alpha")
    changed = 0
    for seed in range(8):
        matte, glossy = (compose(lib, b, opts, np.random.default_rng(seed)) for b in banks)
        assert [p.record() for p in matte.objects] == [p.record() for p in glossy.objects]
        assert matte.floor_gloss == 0.0 and glossy.floor_gloss == 0.8
        changed += int(np.any(matte.rgb != glossy.rgb))
    assert changed >= 4  # the standing poles mirror in the glossy floor


def test_bad_gloss_table(grey_pack, tmp_path):
    bg = _gloss_pack(grey_pack, tmp_path, "[0.5, 2]")
    with pytest.raises(InputError, match="gloss must be a number or \\[lo, hi\\] within \\[0, 1\\]"):
        load_scene_bank(bg)

