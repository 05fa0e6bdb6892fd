"""A calibrated camera in generation: lens distortion and roll against OpenCV's own model,
level and upward cameras, boxes of distorted alpha, real frames as scenes, bad input."""
from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from synth.camera import Camera, mount_rotation
from synth.camera_file import CameraSpec, Jitter
from synth.cli import main
from synth.compose import ComposeOptions, compose
from synth.generate import GenerateConfig, build_library
from synth.imageio import encode_png
from synth.lens import camera_record, horizon_polyline, ideal_camera, lens_map, spec_from_record
from synth.scene import load_scene_bank
from tests.helpers import check_boxes_by_colour

PINHOLE = CameraSpec((320, 240), 170.0, 171.0, 161.3, 118.2, 0.08, 4.0, 2.5, "pinhole",
                     (-0.28, 0.09, 0.0008, -0.0005, -0.012))
FISHEYE = CameraSpec((320, 240), 110.0, 110.5, 160.8, 120.4, 0.08, 4.0, 2.5, "fisheye",
                     (0.04, -0.01, 0.002, -0.0005))


def _cv_project(spec: CameraSpec, world: np.ndarray) -> np.ndarray:
    """OpenCV's projection of world points through the mounted camera."""
    R = mount_rotation(spec.pitch_deg, spec.roll_deg)
    rvec, _ = cv2.Rodrigues(R)
    tvec = -R @ np.array([0.0, 0.0, spec.height_m])
    pts = world.reshape(-1, 1, 3).astype(np.float64)
    if spec.model == "fisheye":
        uv, _ = cv2.fisheye.projectPoints(pts, rvec, tvec, spec.K(), spec.dist_coeffs())
    else:
        uv, _ = cv2.projectPoints(pts, rvec, tvec, spec.K(), spec.dist_coeffs())
    return uv.reshape(-1, 2)


@pytest.mark.parametrize("spec", [PINHOLE, FISHEYE], ids=["pinhole", "fisheye"])
def test_floor_points_in_the_image_land_where_opencv_projects_them(spec):
    camera, lens = ideal_camera(spec, spec.height_m, spec.pitch_deg, spec.roll_deg)
    assert lens is not None and camera.width > spec.image_size[0]
    floor = np.array([[x, y, 0.0] for x in (-0.25, 0.0, 0.3) for y in (0.25, 0.5, 1.0)])
    expected = _cv_project(spec, floor)
    W, H = spec.image_size
    inside = (expected[:, 0] > 8) & (expected[:, 0] < W - 9) & (expected[:, 1] > 8) & \
        (expected[:, 1] < H - 9)
    assert inside.sum() >= 5
    # Draw a small bright dot at each floor point in the ideal canvas, send the canvas
    # through the lens, and find the dots again.
    q = camera.project(floor)
    yy, xx = np.mgrid[0:camera.height, 0:camera.width]
    for (qx, qy), uv, ok in zip(q, expected, inside):
        if not ok:
            continue
        canvas = np.exp(-((xx - qx) ** 2 + (yy - qy) ** 2) / (2 * 1.5 ** 2)).astype(np.float32)
        out = lens.remap(canvas)
        y0, x0 = int(round(uv[1])) - 6, int(round(uv[0])) - 6
        win = out[y0:y0 + 13, x0:x0 + 13]
        wy, wx = np.mgrid[0:13, 0:13]
        centroid = np.array([(win * wx).sum() / win.sum() + x0, (win * wy).sum() / win.sum() + y0])
        assert np.abs(centroid - uv).max() <= 0.5, (centroid, uv)


def test_the_lens_map_agrees_with_opencv_at_every_floor_pixel():
    spec = PINHOLE
    camera, lens = ideal_camera(spec, spec.height_m, spec.pitch_deg, spec.roll_deg)
    # every 7th frame pixel below the horizon: through the map into the canvas, to the floor,
    # then back through OpenCV: the same pixel
    W, H = spec.image_size
    ys, xs = np.mgrid[H // 2:H:7, 0:W:7]
    pix = np.column_stack([xs.ravel(), ys.ravel()])
    canvas_pts = np.column_stack([lens.map_x[pix[:, 1], pix[:, 0]], lens.map_y[pix[:, 1], pix[:, 0]]])
    valid = canvas_pts[:, 0] > -5  # the lens model cannot reach the outermost corner pixels
    assert valid.mean() > 0.99
    floor = camera.pixel_to_floor(canvas_pts[valid])
    ok = np.all(np.isfinite(floor), axis=1)
    back = _cv_project(spec, np.column_stack([floor[ok], np.zeros(ok.sum())]))
    assert ok.sum() > 100 and np.abs(back - pix[valid][ok]).max() < 0.05


def test_boxes_are_tight_on_the_distorted_alpha(grey_pack):
    cfg = GenerateConfig(view="robot", out=Path("unused"), assets=[grey_pack["assets"]],
                         backgrounds=grey_pack["backgrounds"], classes=grey_pack["classes"])
    lib, bank = build_library(cfg), load_scene_bank(grey_pack["backgrounds"])
    opts = ComposeOptions(view="robot", size=PINHOLE.image_size, objects=(2, 3),
                          distractors=(0, 1), blend="alpha", camera=PINHOLE)
    comps = [compose(lib, bank, opts, np.random.default_rng(seed), shadows=False)
             for seed in range(30)]
    assert all(c.rgb.shape[:2] == (240, 320) for c in comps)
    checked, tight = check_boxes_by_colour(lib, comps)
    assert checked >= 20 and tight >= 0.8 * checked


@pytest.mark.parametrize("spec", [PINHOLE, FISHEYE], ids=["pinhole", "fisheye"])
def test_a_patch_moves_into_the_frame_as_the_whole_canvas_would(spec):
    # remap_patch remaps only the frame window that samples the patch; placed in an empty
    # frame, it must equal the whole canvas (the patch on zeros) remapped
    lens = lens_map(spec, 2.0)
    Wc, Hc = lens.canvas_size
    rng = np.random.default_rng(3)
    for _ in range(40):
        w, h = int(rng.integers(1, 160)), int(rng.integers(1, 120))
        x0, y0 = int(rng.integers(0, Wc - w + 1)), int(rng.integers(0, Hc - h + 1))
        patch = rng.random((h, w), dtype=np.float32)
        canvas = np.zeros((Hc, Wc), np.float32)
        canvas[y0:y0 + h, x0:x0 + w] = patch
        want = lens.remap(canvas)
        win, fx0, fy0 = lens.remap_patch(patch, x0, y0)
        got = np.zeros_like(want)
        got[fy0:fy0 + win.shape[0], fx0:fx0 + win.shape[1]] = win
        assert np.array_equal(got, want)
        if want.any():  # the window is much smaller than the frame for a small patch
            assert win.size < want.size


def _write_camera(path: Path, **fields) -> Path:
    base = {"image_size": [160, 120], "fov_deg": 90.0, "height_m": 0.08, "pitch_deg": 2.0}
    base.update(fields)
    lines = [f"{k}: {json.dumps(v)}" for k, v in base.items() if v is not None]
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(tmp_path, pack, out: str, *extra: str):
    return CliRunner().invoke(main, ["generate", "-n", "6", "--out", str(tmp_path / out),
                                     "--assets", str(pack["assets"]), "--backgrounds",
                                     str(pack["backgrounds"]), "--classes", str(pack["classes"]),
                                     "--workers", "1", "--seed", "5", *extra])


def test_a_camera_file_without_distortion_renders_like_the_same_flags(tiny_pack, tmp_path):
    cam = _write_camera(tmp_path / "cam.yaml")
    a = _run(tmp_path, tiny_pack, "flags", "--view", "robot", "--size", "160x120", "--height",
             "0.08", "--pitch", "2", "--fov", "90")
    b = _run(tmp_path, tiny_pack, "file", "--view", "robot", "--camera", str(cam))
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    for sub, ext in (("JPEGImages", "jpg"), ("Annotations", "xml")):
        fa = sorted((tmp_path / "flags" / sub).glob(f"*.{ext}"))
        fb = sorted((tmp_path / "file" / sub).glob(f"*.{ext}"))
        assert [f.name for f in fa] == [f.name for f in fb] and len(fa) == 6
        assert all(x.read_bytes() == y.read_bytes() for x, y in zip(fa, fb))
    rec = json.loads((tmp_path / "file" / "manifest.jsonl").read_text().splitlines()[0])["camera"]
    assert rec["model"] == "pinhole" and rec["fx"] == pytest.approx(80.0) and rec["dist"] == []
    assert rec["roll_deg"] == 0.0 and rec["image_size"] == [160, 120]


def test_manifest_holds_the_whole_camera_with_its_drawn_mount(tiny_pack, tmp_path):
    cam = _write_camera(tmp_path / "cam.yaml", dist=[-0.2, 0.05, 0.0, 0.0, 0.0], roll_deg=1.0,
                        jitter={"height_m": 0.01, "pitch_deg": 2.0, "roll_deg": 1.0})
    r = _run(tmp_path, tiny_pack, "set", "--camera", str(cam))
    assert r.exit_code == 0, r.output
    recs = [json.loads(x)["camera"] for x in (tmp_path / "set" / "manifest.jsonl").read_text().splitlines()]
    assert all(r["dist"] == [-0.2, 0.05, 0.0, 0.0, 0.0] and r["model"] == "pinhole" for r in recs)
    assert all(abs(r["pitch_deg"] - 2.0) <= 2.0 and abs(r["roll_deg"] - 1.0) <= 1.0 and
               abs(r["height_m"] - 0.08) <= 0.01 for r in recs)
    assert len({r["pitch_deg"] for r in recs}) == len(recs)  # drawn per image
    spec = spec_from_record(recs[0])
    assert spec.pitch_deg == recs[0]["pitch_deg"] and spec.dist == (-0.2, 0.05, 0.0, 0.0, 0.0)
    # the preview draws the horizon of that camera
    r = CliRunner().invoke(main, ["preview", str(tmp_path / "set"), "--out",
                                  str(tmp_path / "p.png"), "-n", "2", "--thumb", "160"])
    assert r.exit_code == 0 and len(horizon_polyline(spec)) > 10


@pytest.mark.parametrize("pitch", [0.0, -10.0])
def test_level_and_upward_cameras(grey_pack, pitch):
    # floor points by hand: a point d ahead lies atan(h/d) below the horizon, i.e.
    # atan(h/d) + pitch below the optical axis
    cam = Camera(height_m=0.07, pitch_deg=pitch, fov_deg=90.0, width=640, height=480)
    for d, x in ((0.3, 0.0), (1.0, 0.2), (2.0, -0.5)):
        z = d * math.cos(math.radians(pitch)) + 0.07 * math.sin(math.radians(pitch))  # depth
        below = -(d * math.sin(math.radians(pitch)) - 0.07 * math.cos(math.radians(pitch)))
        expected = np.array([319.5 + 320.0 * x / z, 239.5 + 320.0 * below / z])
        assert np.abs(cam.project(np.array([[x, d, 0.0]]))[0] - expected).max() <= 0.5
    horizon = cam.horizon_row()
    assert horizon == pytest.approx(239.5 - 320.0 * math.tan(math.radians(pitch)))
    cfg = GenerateConfig(view="robot", out=Path("unused"), assets=[grey_pack["assets"]],
                         backgrounds=grey_pack["backgrounds"], classes=grey_pack["classes"])
    lib, bank = build_library(cfg), load_scene_bank(grey_pack["backgrounds"])
    opts = ComposeOptions(view="robot", objects=(2, 3), distractors=(0, 1), blend="alpha",
                          pitch_deg=pitch, height_m=0.07, fov_deg=90.0)
    comps = [compose(lib, bank, opts, np.random.default_rng(s), shadows=False) for s in range(25)]
    for c in comps:
        for p in c.objects:  # every subject stands on floor below the horizon
            assert p.floor_xy is not None
            assert c.camera.project(np.array([[*p.floor_xy, 0.0]]))[0, 1] > horizon
    checked, tight = check_boxes_by_colour(lib, comps)
    assert checked >= 20 and tight >= 0.8 * checked


def test_real_frames_as_scenes_keep_their_pixels_and_masks(grey_pack, tmp_path):
    W, H = PINHOLE.image_size
    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(3)
    frame = (rng.random((H, W, 3)) * 60 + 100).astype(np.uint8)
    (frames / "f1.png").write_bytes(encode_png(frame))
    mask = np.zeros((H, W, 3), np.uint8)
    mask[H // 2:] = 255
    (frames / "f1_floor.png").write_bytes(encode_png(mask))
    cfg = GenerateConfig(view="robot", out=Path("unused"), assets=[grey_pack["assets"]],
                         backgrounds=frames, classes=grey_pack["classes"])
    lib, bank = build_library(cfg), load_scene_bank(frames)
    opts = ComposeOptions(view="robot", size=(W, H), objects=(1, 3), distractors=(0, 0),
                          blend="alpha", camera=PINHOLE)
    placed = 0
    for seed in range(12):
        comp = compose(lib, bank, opts, np.random.default_rng(seed), shadows=False)
        assert comp.background == "f1.png"
        changed = np.any(comp.rgb != frame, axis=2)
        allowed = np.zeros((H, W), bool)
        for p in comp.objects:
            if p.bbox is not None:
                x0, y0, x1, y1 = p.bbox
                allowed[max(y0 - 7, 0):y1 + 6, max(x0 - 7, 0):x1 + 6] = True  # + blend seam
            placed += 1
        assert not np.any(changed & ~allowed), seed  # the frame's own pixels elsewhere
    assert placed >= 8


def test_contact_points_lie_on_the_masked_floor(grey_pack, tmp_path):
    W, H = PINHOLE.image_size
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "f1.png").write_bytes(encode_png(np.full((H, W, 3), 128, np.uint8)))
    mask = np.zeros((H, W, 3), np.uint8)
    mask[int(0.7 * H):, : W // 2] = 255  # the near left corner only
    (frames / "f1_floor.png").write_bytes(encode_png(mask))
    cfg = GenerateConfig(view="robot", out=Path("unused"), assets=[grey_pack["assets"]],
                         backgrounds=frames, classes=grey_pack["classes"])
    lib, bank = build_library(cfg), load_scene_bank(frames)
    opts = ComposeOptions(view="robot", size=(W, H), objects=(2, 2), blend="alpha",
                          camera=PINHOLE)
    n = 0
    for seed in range(10):
        comp = compose(lib, bank, opts, np.random.default_rng(seed), shadows=False)
        spec = spec_from_record(comp.camera_record)
        for p in comp.objects:
            # the floor point where the subject was placed, projected by OpenCV into the frame
            anchor = np.array([p.floor_xy[0], p.floor_xy[1], 0.0])
            u, v = _cv_project(spec, anchor[None])[0]
            n += 1
            assert v >= 0.7 * H - 12 and u <= W / 2 + 12, (u, v)
    assert n >= 5


@pytest.mark.parametrize("fields, extra, message", [
    ({"height_m": None}, [], "height_m"),
    ({"height_m": -0.1}, [], "height_m"),
    ({"model": "fisheye", "dist": [0.1, 0.0, 0.0]}, [], "fisheye dist must have 4 values"),
    ({}, ["--pitch", "5"], "replace --pitch"),
    ({}, ["--size", "320x240"], "--size 320x240"),
    ({}, ["--view", "flat"], "the flat view has no camera"),
])
def test_bad_camera_input_is_one_line_exit_2_nothing_written(tiny_pack, tmp_path, fields,
                                                              extra, message):
    cam = _write_camera(tmp_path / "cam.yaml", **fields)
    r = _run(tmp_path, tiny_pack, "out", "--camera", str(cam), *extra)
    assert r.exit_code == 2, r.output
    lines = [x for x in r.output.strip().splitlines() if x]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert "Traceback" not in r.output and not (tmp_path / "out").exists()


def test_camera_record_round_trip():
    spec = CameraSpec((320, 240), 170.0, 171.0, 161.3, 118.2, 0.08, 4.0, 2.5, "fisheye",
                      (0.04, -0.01, 0.002, -0.0005), Jitter(0.01, 1.0, 0.5))
    back = spec_from_record(camera_record(spec, 0.081, 3.5, 2.0))
    assert (back.height_m, back.pitch_deg, back.roll_deg) == (0.081, 3.5, 2.0)
    assert back.dist == spec.dist and back.model == "fisheye" and back.fx == 170.0
