"""synth calibrate: synthetic board photos through known cameras, OpenCV's model as the oracle."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from synth import calibrate as calib
from synth.boards import floor_board_pose, held_board_poses, render_board_photo
from synth.calibrate import board_points, calibrate, check_overlay, find_board
from synth.calibrate import mount_from_board_pose, overlay_lines
from synth.lens import project_points, undistort_pixels
from synth.camera import Camera, mount_rotation
from synth.camera_file import CameraSpec, load_camera_file, write_camera_file
from synth.cli import main
from synth.errors import InputError
from synth.imageio import encode_png, read_image

BOARD = (9, 6)
SQUARE = 0.03
N_PHOTOS = 10
# Known cameras: a wide pinhole lens with barrel distortion and a fisheye, both 10 cm above
# the floor, pitched 12 deg down and rolled 1.5 deg.
PINHOLE = CameraSpec((640, 480), 330.0, 331.5, 322.4, 236.1, 0.10, 12.0, 1.5, "pinhole",
                     (-0.22, 0.05, 0.0008, -0.0005, 0.0))
FISHEYE = CameraSpec((640, 480), 300.0, 299.0, 321.3, 238.2, 0.10, 12.0, 1.5, "fisheye",
                     (0.05, -0.02, 0.01, -0.002))


def _photos(spec: CameraSpec) -> dict:
    poses = held_board_poses(spec, BOARD, SQUARE, N_PHOTOS, seed=1)
    photos = [render_board_photo(spec, BOARD, SQUARE, R, t, seed=i)
              for i, (R, t) in enumerate(poses)]
    R, t = floor_board_pose(spec, BOARD, SQUARE, ahead_m=0.30, yaw_deg=3.0)
    return {"spec": spec, "photos": photos, "poses": poses, "floor_pose": (R, t),
            "floor": render_board_photo(spec, BOARD, SQUARE, R, t, seed=99)}


@pytest.fixture(scope="module")
def pinhole() -> dict:
    return _photos(PINHOLE)


@pytest.fixture(scope="module")
def fisheye() -> dict:
    return _photos(FISHEYE)


def _match(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-corner distances, for the grid labelling that fits best (the board is symmetric)."""
    grid = truth.reshape(BOARD[1], BOARD[0], 2)
    candidates = [grid, grid[::-1], grid[:, ::-1], grid[::-1, ::-1]]
    errors = [np.linalg.norm(found - c.reshape(-1, 2), axis=1) for c in candidates]
    return min(errors, key=lambda e: e.mean())


# --------------------------------------------------------------------------- the mount formula


@pytest.mark.parametrize("pitch", [-30.0, 0.0, 12.0, 60.0, 89.0])
@pytest.mark.parametrize("roll", [-20.0, 0.0, 1.5, 30.0])
def test_world_up_in_camera_is_the_documented_column(pitch, roll):
    p, r = math.radians(pitch), math.radians(roll)
    up = np.array([-math.sin(r) * math.cos(p), -math.cos(r) * math.cos(p), -math.sin(p)])
    np.testing.assert_allclose(mount_rotation(pitch, roll)[:, 2], up, atol=1e-15)


@pytest.mark.parametrize("height,pitch,roll", [(0.1, 12.0, 1.5), (0.05, -10.0, -4.0),
                                               (0.8, 60.0, 20.0), (1.5, 35.0, -0.5)])
@pytest.mark.parametrize("yaw", [0.0, 37.0, 180.0])
@pytest.mark.parametrize("flipped", [False, True])
def test_mount_from_board_pose_inverts_mount_rotation(height, pitch, roll, yaw, flipped):
    spec = CameraSpec((640, 480), 300.0, 300.0, 319.5, 239.5, height, pitch, roll)
    R, t = floor_board_pose(spec, BOARD, SQUARE, ahead_m=0.5, side_m=-0.1, yaw_deg=yaw)
    if flipped:  # the same board labelled from its other side (normal pointing down)
        R = R @ np.diag([1.0, -1.0, -1.0])
    got = mount_from_board_pose(R, t)
    np.testing.assert_allclose(got, (height, pitch, roll), atol=1e-9)


# --------------------------------------------------------------------------- the renderer


@pytest.mark.parametrize("which", ["pinhole", "fisheye"])
def test_rendered_corners_are_where_the_lens_puts_them(request, which):
    data = request.getfixturevalue(which)
    spec = data["spec"]
    for (R, t), photo in list(zip(data["poses"], data["photos"]))[:3] + \
            [(data["floor_pose"], data["floor"])]:
        truth = project_points(spec, board_points(BOARD, SQUARE) @ R.T + t)
        err = _match(find_board(photo, BOARD), truth)
        assert err.mean() < 0.2 and err.max() < 0.6, (err.mean(), err.max())


# --------------------------------------------------------------------------- calibration


@pytest.fixture(scope="module")
def pinhole_result(pinhole):
    return calibrate(pinhole["photos"], BOARD, SQUARE, floor=pinhole["floor"])


@pytest.fixture(scope="module")
def fisheye_result(fisheye):
    return calibrate(fisheye["photos"], BOARD, SQUARE, fisheye=True, floor=fisheye["floor"])


def _assert_mount(spec: CameraSpec, true: CameraSpec, cm: float = 1.0, deg: float = 0.5):
    assert spec.height_m == pytest.approx(true.height_m, abs=cm / 100)
    assert spec.pitch_deg == pytest.approx(true.pitch_deg, abs=deg)
    assert spec.roll_deg == pytest.approx(true.roll_deg, abs=deg)


def test_pinhole_calibration_recovers_the_camera(pinhole_result):
    r, spec = pinhole_result, pinhole_result.spec
    assert spec.model == "pinhole" and spec.image_size == (640, 480) and len(spec.dist) == 5
    assert spec.fx == pytest.approx(PINHOLE.fx, rel=0.01)
    assert spec.fy == pytest.approx(PINHOLE.fy, rel=0.01)
    assert spec.dist[0] == pytest.approx(PINHOLE.dist[0], rel=0.10)
    assert abs(spec.cx - PINHOLE.cx) < 2 and abs(spec.cy - PINHOLE.cy) < 2
    _assert_mount(spec, PINHOLE)
    assert r.rms_px < 0.3 and r.floor_rms_px < 0.5
    assert len(r.used) == N_PHOTOS and set(r.per_image_px) == set(r.used)
    assert all(0 < e < 0.5 for e in r.per_image_px.values())
    assert set(r.seconds) == {"detect", "intrinsics", "mount", "total"}


def test_fisheye_calibration_recovers_the_camera(fisheye_result):
    r, spec = fisheye_result, fisheye_result.spec
    assert spec.model == "fisheye" and len(spec.dist) == 4
    assert spec.fx == pytest.approx(FISHEYE.fx, rel=0.01)
    assert spec.fy == pytest.approx(FISHEYE.fy, rel=0.01)
    assert abs(spec.cx - FISHEYE.cx) < 2 and abs(spec.cy - FISHEYE.cy) < 2
    _assert_mount(spec, FISHEYE)
    assert r.rms_px < 0.3 and r.floor_rms_px < 0.5


@pytest.mark.parametrize("which", ["pinhole", "fisheye"])
def test_calibrated_lens_maps_rays_like_the_true_lens(request, which):
    """Over the part of the frame the boards covered, the two lenses agree to a pixel."""
    true = request.getfixturevalue(which)["spec"]
    spec = request.getfixturevalue(f"{which}_result").spec
    u, v = np.meshgrid(np.linspace(96, 544, 9), np.linspace(72, 408, 7))
    pix = np.column_stack([u.ravel(), v.ravel()])
    rays = undistort_pixels(true, pix)
    back = project_points(spec, np.column_stack([rays, np.ones(len(rays))]))
    assert np.abs(back - pix).max() < 1.0


def _write_intrinsics(path, spec: CameraSpec, kind: str) -> None:
    if kind in ("opencv-yaml", "opencv-xml"):
        fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
        fs.write("image_width", spec.image_size[0])
        fs.write("image_height", spec.image_size[1])
        fs.write("camera_matrix", spec.K())
        fs.write("distortion_coefficients", np.array(spec.dist).reshape(-1, 1))
        if spec.model == "fisheye":
            fs.write("fisheye_model", 1)
        fs.release()
    else:
        model = "equidistant" if spec.model == "fisheye" else "plumb_bob"
        path.write_text(
            f"image_width: {spec.image_size[0]}\nimage_height: {spec.image_size[1]}\n"
            f"camera_name: cam\ncamera_matrix:\n  rows: 3\n  cols: 3\n"
            f"  data: {spec.K().ravel().tolist()}\ndistortion_model: {model}\n"
            f"distortion_coefficients:\n  rows: 1\n  cols: {len(spec.dist)}\n"
            f"  data: {list(spec.dist)}\n")


@pytest.mark.parametrize("which,kind", [("pinhole", "opencv-yaml"), ("pinhole", "opencv-xml"),
                                        ("pinhole", "ros"), ("fisheye", "ros"),
                                        ("fisheye", "opencv-yaml")])
def test_intrinsics_file_calibrates_the_mount_only(request, tmp_path, which, kind):
    data = request.getfixturevalue(which)
    spec = data["spec"]
    path = tmp_path / ("cam.xml" if kind == "opencv-xml" else "cam.yaml")
    _write_intrinsics(path, spec, kind)
    r = calibrate([], BOARD, SQUARE, fisheye=which == "fisheye", floor=data["floor"],
                  intrinsics=path)
    assert r.rms_px is None and r.used == () and r.floor_rms_px < 0.5
    assert (r.spec.fx, r.spec.fy, r.spec.cx, r.spec.cy, r.spec.dist) == \
        (spec.fx, spec.fy, spec.cx, spec.cy, spec.dist)
    _assert_mount(r.spec, spec, cm=0.5, deg=0.2)


def test_mount_given_by_hand(pinhole):
    r = calibrate(pinhole["photos"][:4], BOARD, SQUARE, mount=(0.2, 5.0, -1.0))
    assert (r.spec.height_m, r.spec.pitch_deg, r.spec.roll_deg) == (0.2, 5.0, -1.0)
    assert r.floor_rms_px is None


def test_calibration_refusals(pinhole, monkeypatch):
    photos, floor = pinhole["photos"], pinhole["floor"]
    blank = np.full((480, 640, 3), 128, np.uint8)
    cases = [
        (dict(images=photos[:2] + [blank] + photos[2:5], floor=floor),
         "photo 3: no 9x6 checkerboard found"),
        (dict(images=photos[:2], floor=floor), "need at least 3 board photos"),
        (dict(images=photos[:3] + [cv2.resize(photos[3], (320, 240))], floor=floor),
         "photo 4: image is 320x240, the other photos are 640x480"),
        (dict(images=photos[:4], floor=blank), "floor photo: no 9x6 checkerboard found"),
        (dict(images=photos[:4], floor=cv2.resize(floor, (320, 240))),
         "floor photo: image is 320x240"),
        (dict(images=photos[:4]), "give either a floor photo"),
        (dict(images=photos[:4], floor=floor, mount=(0.1, 1.0, 0.0)), "not both"),
        (dict(images=photos[:4], floor=floor, mount=None, intrinsics=PINHOLE.intrinsics()),
         "with given intrinsics the board photos are not used"),
    ]
    for kwargs, message in cases:
        with pytest.raises(InputError) as info:
            calibrate(board=BOARD, square_m=SQUARE, **kwargs)
        assert message in str(info.value) and "\n" not in str(info.value), str(info.value)
    with pytest.raises(InputError, match="at least 3x3 inner corners"):
        calibrate(photos, (2, 6), SQUARE, floor=floor)
    with pytest.raises(InputError, match="square size must be > 0"):
        calibrate(photos, BOARD, -1.0, floor=floor)
    monkeypatch.setattr(calib, "MAX_RMS_PX", 0.01)
    with pytest.raises(InputError, match=r"RMS reprojection error 0\.\d+ px is over the 0.01 px "
                                         r"limit \(worst: photo \d+ "):
        calibrate(photos[:4], BOARD, SQUARE, floor=floor)
    with pytest.raises(InputError, match="floor photo: RMS reprojection error .* over the 0.01"):
        calibrate([], BOARD, SQUARE, floor=floor, intrinsics=PINHOLE.intrinsics())


# --------------------------------------------------------------------------- check overlay

STRONG = CameraSpec((640, 480), 250.0, 250.0, 319.5, 239.5, 0.1, 10.0, 0.0, "pinhole",
                    (-0.5, 0.0, 0.0, 0.0, 0.0))  # folds back at r = 0.82: beyond the corners


@pytest.mark.parametrize("spec", [PINHOLE, FISHEYE, STRONG,
                                  CameraSpec((640, 480), 400.0, 400.0, 300.0, 250.0, 0.8, 88.0,
                                             10.0, "pinhole", (-0.1, 0.01, 0.0, 0.0))],
                         ids=["pinhole", "fisheye", "strong", "topdown"])
def test_overlay_pixels_are_projectpoints_of_their_world_points(spec):
    lines = overlay_lines(spec)
    assert {ln.kind for ln in lines} == {"minor", "major", "horizon"} or spec.pitch_deg > 80
    R, C = mount_rotation(spec.pitch_deg, spec.roll_deg), np.array([0.0, 0.0, spec.height_m])
    fn = cv2.fisheye.projectPoints if spec.model == "fisheye" else cv2.projectPoints
    w, h = spec.image_size
    for line in lines:
        cam = line.world @ R.T if line.kind == "horizon" else (line.world - C) @ R.T
        expect = fn(cam.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), spec.K(),
                    spec.dist_coeffs())[0].reshape(-1, 2)
        np.testing.assert_allclose(line.pixels, expect, atol=1e-9)
        assert (cam[:, 2] > 0).all()
        assert (line.pixels > -10).all() and (line.pixels[:, 0] < w + 10).all() and \
            (line.pixels[:, 1] < h + 10).all()
        if line.kind != "horizon":
            assert np.all(line.world[:, 2] == 0)  # floor points
        # No point comes from a fold of the lens model: its pixel undistorts to its own ray.
        np.testing.assert_allclose(undistort_pixels(spec, line.pixels), cam[:, :2] / cam[:, 2:],
                                   atol=1e-3)


def test_overlay_matches_the_ideal_pinhole_camera():
    cam = Camera(height_m=0.12, pitch_deg=9.0, fov_deg=80.0, width=640, height=480)
    spec = CameraSpec((640, 480), cam.focal, cam.focal, 319.5, 239.5, 0.12, 9.0)
    lines = overlay_lines(spec)
    horizon = np.concatenate([ln.pixels for ln in lines if ln.kind == "horizon"])
    np.testing.assert_allclose(horizon[:, 1], cam.horizon_row(), atol=1e-9)
    ahead = [ln for ln in lines if ln.label == "1.0 m"]
    assert ahead
    at = np.concatenate([ln.pixels[np.abs(ln.world[:, 0]) < 1e-9] for ln in ahead])
    np.testing.assert_allclose(at, cam.project(np.array([[0.0, 1.0, 0.0]])), atol=1e-9)


def test_roll_raises_the_horizon_to_the_right():
    spec = CameraSpec((640, 480), 300.0, 300.0, 319.5, 239.5, 0.1, 10.0, 5.0)
    horizon = np.concatenate([ln.pixels for ln in overlay_lines(spec) if ln.kind == "horizon"])
    left, right = horizon[np.argmin(horizon[:, 0])], horizon[np.argmax(horizon[:, 0])]
    slope = (right[1] - left[1]) / (right[0] - left[0])
    assert slope == pytest.approx(-math.tan(math.radians(5.0)), abs=1e-6)


def test_fisheye_floor_lines_bend():
    near = [ln for ln in overlay_lines(FISHEYE)  # across the view, 0.2 m ahead: low in frame
            if np.ptp(ln.world[:, 0]) > 0 and abs(ln.world[0, 1] - 0.2) < 1e-9]
    line = max(near, key=lambda ln: len(ln.pixels))
    p = line.pixels
    chord = p[-1] - p[0]
    normal = np.array([-chord[1], chord[0]]) / np.linalg.norm(chord)
    assert np.abs((p - p[0]) @ normal).max() > 10  # pixels off the straight chord
    assert np.linalg.norm(np.diff(p, axis=0), axis=1).max() <= 2.0 + 1e-9  # densely sampled


def test_check_overlay_draws_over_the_frame(pinhole):
    frame = pinhole["floor"]
    out = check_overlay(PINHOLE, frame)
    assert out.shape == frame.shape and out.dtype == np.uint8
    changed = np.any(out != frame, axis=2)
    assert 0.02 < changed.mean() < 0.5
    assert not changed[:100].any()  # above the horizon nothing is drawn
    with pytest.raises(InputError, match="frame.jpg: image is 320x240, the camera's images "
                                         "are 640x480"):
        check_overlay(PINHOLE, frame[:240, :320], name="frame.jpg")


# --------------------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory, pinhole):
    root = tmp_path_factory.mktemp("calib")
    paths = []
    for i, img in enumerate(pinhole["photos"]):
        paths.append(root / f"board{i:02d}.png")
        paths[-1].write_bytes(encode_png(img))
    (root / "floor.png").write_bytes(encode_png(pinhole["floor"]))
    return root, paths


def _run(*args: str):
    return CliRunner().invoke(main, ["calibrate", *map(str, args)])


def test_cli_calibrates_and_checks(photo_dir, tmp_path):
    root, paths = photo_dir
    out = tmp_path / "camera.yaml"
    r = _run("--board", "9x6", "--square", SQUARE, "--floor", root / "floor.png", "--out", out,
             *paths)
    assert r.exit_code == 0, r.output + r.stderr
    for needle in ("RMS reprojection error", "board03.png", "fx ", "dist k1 ", "height 0.",
                   " m  pitch 1", " deg  roll 1.", f"wrote {out}"):
        assert needle in r.stdout, r.stdout
    spec = load_camera_file(out)
    _assert_mount(spec, PINHOLE)
    assert spec.fx == pytest.approx(PINHOLE.fx, rel=0.01)
    assert "synth calibrate: 10 board photos" in out.read_text()
    png = tmp_path / "check.png"
    r = _run("--check", out, root / "floor.png", "--out", png)
    assert r.exit_code == 0, r.output + r.stderr
    assert read_image(png).shape == (480, 640, 3)


def test_cli_intrinsics_without_photos(photo_dir, tmp_path):
    root, _ = photo_dir
    intr = tmp_path / "ost.yaml"
    _write_intrinsics(intr, PINHOLE, "ros")
    out = tmp_path / "camera.yaml"
    r = _run("--intrinsics", intr, "--board", "9x6", "--square", SQUARE, "--floor",
             root / "floor.png", "--out", out)
    assert r.exit_code == 0, r.output + r.stderr
    assert f"intrinsics from {intr}" in r.stdout
    _assert_mount(load_camera_file(out), PINHOLE, cm=0.5, deg=0.2)


def test_cli_help_gives_example_and_rms_limit():
    r = _run("--help")
    assert r.exit_code == 0
    assert f"over {calib.MAX_RMS_PX:.1f} px" in r.output
    assert "synth calibrate --board 9x6 --square" in r.output and "--check camera.yaml" in r.output


def _bad_camera_files(root):
    good = PINHOLE
    out = {}
    path = root / "no_height.yaml"
    write_camera_file(good, path)
    path.write_text("\n".join(ln for ln in path.read_text().splitlines()
                              if not ln.startswith("height_m")) + "\n")
    out["no_height"] = (path, "missing height_m")
    path = root / "negative_height.yaml"
    write_camera_file(good, path)
    path.write_text(path.read_text().replace("height_m: 0.1", "height_m: -0.1"))
    out["negative_height"] = (path, "height_m must be > 0")
    path = root / "fisheye_dist.yaml"
    write_camera_file(good, path)
    path.write_text(path.read_text().replace("model: pinhole", "model: fisheye"))
    out["fisheye_dist"] = (path, "fisheye dist must have 4 values (k1 k2 k3 k4), got 5")
    return out


@pytest.mark.parametrize("case", ["no_board", "tiny_board", "no_height", "negative_height",
                                  "fisheye_dist", "floor_no_board", "bad_board_flag",
                                  "intrinsics_bad", "check_two_images"])
def test_cli_bad_input_is_one_line_exit_2_nothing_written(photo_dir, tmp_path, case):
    root, paths = photo_dir
    floor = root / "floor.png"
    out = tmp_path / ("check.png" if case in ("no_height", "negative_height", "fisheye_dist",
                                              "check_two_images") else "camera.yaml")
    calib_args = ["--board", "9x6", "--square", SQUARE, "--floor", floor, "--out", out]
    if case == "no_board":
        bad = tmp_path / "wall.png"
        bad.write_bytes(encode_png(np.full((480, 640, 3), 120, np.uint8)))
        args, needle = [*calib_args, bad, *paths[:4]], f"{bad}: no 9x6 checkerboard found"
    elif case == "tiny_board":
        poses = held_board_poses(PINHOLE, BOARD, SQUARE, 1, seed=3, fill=(0.06, 0.06))
        bad = tmp_path / "far.png"
        bad.write_bytes(encode_png(render_board_photo(PINHOLE, BOARD, SQUARE, *poses[0])))
        args, needle = [*calib_args, *paths[:3], bad], f"{bad}: no 9x6 checkerboard found"
    elif case in ("no_height", "negative_height", "fisheye_dist"):
        path, message = _bad_camera_files(tmp_path)[case]
        args, needle = ["--check", path, floor, "--out", out], f"{path}: {message}"
    elif case == "floor_no_board":
        args = ["--board", "9x6", "--square", SQUARE, "--floor", paths[0].parent / "nope.png",
                "--out", out, *paths[:3]]
        needle = "nope.png: no such file"
    elif case == "bad_board_flag":
        args = ["--board", "9by6", "--square", SQUARE, "--floor", floor, "--out", out, *paths]
        needle = "--board must be COLSxROWS inner corners, e.g. 9x6, got '9by6'"
    elif case == "intrinsics_bad":
        intr = tmp_path / "ost.yaml"
        intr.write_text("image_width: 640\nimage_height: 480\ncamera_matrix: {data: [1, 2]}\n")
        args = ["--intrinsics", intr, *calib_args]
        needle = f"{intr}: camera_matrix.data must have 9 values"
    else:
        cam = tmp_path / "cam.yaml"
        write_camera_file(PINHOLE, cam)
        args, needle = ["--check", cam, floor, floor, "--out", out], "--check takes one IMAGE"
    r = _run(*args)
    lines = r.stderr.strip().splitlines()
    assert r.exit_code == 2, r.output + r.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], r.stderr
    assert not out.exists()
    assert not list(out.parent.glob(".*.tmp"))
