"""camera.yaml (CameraSpec) and the readers of OpenCV / ROS intrinsics files."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from synth.camera_file import CameraSpec, Intrinsics, Jitter, fov_focal, format_camera_file
from synth.camera_file import load_camera_file, load_intrinsics, write_camera_file
from synth.errors import InputError

GOOD = """\
image_size: [640, 480]
model: pinhole
fx: 320.0
fy: 321.0
cx: 319.5
cy: 239.5
dist: [-0.2, 0.05, 0.001, -0.0005, 0.0]
height_m: 0.08
pitch_deg: 2.0
roll_deg: 0.0
jitter:
  height_m: 0.005
  pitch_deg: 1.0
  roll_deg: 0.5
"""

SPECS = [
    CameraSpec((640, 480), 320.0, 321.5, 319.5, 239.5, 0.08, 2.0),
    CameraSpec((1280, 720), 640.123456789, 640.987654321, 641.3, 355.25, 0.123456789, -12.5,
               roll_deg=-1.25, dist=(-0.28, 0.09, 1e-05, -0.0005, -0.012)),
    CameraSpec((640, 480), 300.0, 299.0, 321.3, 238.2, 0.1, 90.0, roll_deg=44.9,
               model="fisheye", dist=(0.05, -0.02, 1.5e-07, -2e+20),
               jitter=Jitter(0.005, 1.0, 0.5)),
    CameraSpec((32, 32), 1e-3, 1e5, -0.5, 31.5, 1e-4, -45.0, roll_deg=-45.0,
               dist=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8), jitter=Jitter(0.0, 0.0, 0.0)),
]


@pytest.mark.parametrize("spec", SPECS)
def test_round_trip_is_exact(tmp_path, spec):
    path = tmp_path / "camera.yaml"
    write_camera_file(spec, path, comment="a note\nover two lines")
    assert load_camera_file(path) == spec
    text = path.read_text()
    assert text.startswith("# camera.yaml") and "# a note\n# over two lines\n" in text
    assert list(tmp_path.iterdir()) == [path]  # the atomic write left no temp file


def test_example_file_reads(tmp_path):
    path = tmp_path / "cam.yaml"
    path.write_text(GOOD)
    spec = load_camera_file(path)
    assert spec == CameraSpec((640, 480), 320.0, 321.0, 319.5, 239.5, 0.08, 2.0, 0.0, "pinhole",
                              (-0.2, 0.05, 0.001, -0.0005, 0.0), Jitter(0.005, 1.0, 0.5))
    np.testing.assert_array_equal(spec.K(), [[320, 0, 319.5], [0, 321, 239.5], [0, 0, 1]])
    np.testing.assert_array_equal(spec.dist_coeffs(), spec.dist)


def test_optional_fields_default(tmp_path):
    path = tmp_path / "cam.yaml"
    path.write_text("image_size: [640, 480]\nfx: 300\nfy: 300\ncx: 320\ncy: 240\n"
                    "height_m: 0.1\npitch_deg: 10\n")
    spec = load_camera_file(path)
    assert (spec.model, spec.dist, spec.roll_deg, spec.jitter) == ("pinhole", (), 0.0, None)
    np.testing.assert_array_equal(spec.dist_coeffs(), np.zeros(5))
    text = format_camera_file(spec)
    assert "\ndist:" not in text and "\njitter:" not in text


@pytest.mark.parametrize("model", ["pinhole", "fisheye"])
def test_fov_deg_gives_the_intrinsics(tmp_path, model):
    path = tmp_path / "cam.yaml"
    path.write_text(f"image_size: [640, 480]\nmodel: {model}\nfov_deg: 90\nheight_m: 0.1\n"
                    "pitch_deg: 10\n")
    spec = load_camera_file(path)
    f = 320.0 / math.tan(math.radians(45)) if model == "pinhole" else 320.0 / math.radians(45)
    assert spec.fx == spec.fy == pytest.approx(f) == fov_focal(model, 640, 90)
    assert (spec.cx, spec.cy) == (319.5, 239.5)


def _edit(text: str, key: str, value: str | None) -> str:
    """GOOD with `key`'s line replaced (value None: removed; a new key is appended)."""
    lines = [ln for ln in text.splitlines() if not ln.startswith(f"{key}:")]
    if value is not None:
        lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


BAD = [
    (_edit(GOOD, "height_m", None), "missing height_m"),
    (_edit(GOOD, "pitch_deg", None), "missing pitch_deg"),
    (_edit(GOOD, "image_size", None), "missing image_size"),
    (_edit(GOOD, "cy", None), "missing cy"),
    (_edit(GOOD, "fx", "'320'"), "fx must be a number"),
    (_edit(GOOD, "fx", "true"), "fx must be a number"),
    (_edit(GOOD, "fy", ".nan"), "fy must be finite"),
    (_edit(GOOD, "height_m", ".inf"), "height_m must be finite"),
    (_edit(GOOD, "fx", "0"), "fx must be > 0"),
    (_edit(GOOD, "fy", "-3"), "fy must be > 0"),
    (_edit(GOOD, "cx", "640"), "cx 640 puts the principal point outside the image"),
    (_edit(GOOD, "cy", "-1"), "cy -1 puts the principal point outside the image"),
    (_edit(GOOD, "image_size", "[31, 480]"), "image_size must be at least 32x32"),
    (_edit(GOOD, "image_size", "[640.0, 480]"), "image_size must be [W, H]"),
    (_edit(GOOD, "image_size", "640"), "image_size must be [W, H]"),
    # were a MemoryError mid-render and an OverflowError from math.isfinite
    (_edit(GOOD, "image_size", "[1000000000000, 480]"), "image_size must be at most 20000x20000"),
    (_edit(GOOD, "fx", "1" + "0" * 400), "fx must be finite"),
    (_edit(GOOD, "height_m", "0"), "height_m must be > 0"),
    (_edit(GOOD, "height_m", "-0.1"), "height_m must be > 0"),
    (_edit(GOOD, "pitch_deg", "90.5"), "pitch_deg must lie within [-45, 90]"),
    (_edit(GOOD, "pitch_deg", "-46"), "pitch_deg must lie within [-45, 90]"),
    (_edit(GOOD, "roll_deg", "45.1"), "roll_deg must lie within [-45, 45]"),
    (_edit(GOOD, "model", "fishy"), "model must be pinhole or fisheye"),
    (_edit(GOOD, "dist", "[0.1, 0.2, 0.3]"), "pinhole dist must have 4, 5 or 8 values"),
    (_edit(GOOD, "dist", "[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]"), "pinhole dist must have 4, 5 or 8"),
    (_edit(_edit(GOOD, "model", "fisheye"), "dist", "[0.1, 0.2, 0.3, 0.4, 0.5]"),
     "fisheye dist must have 4 values (k1 k2 k3 k4), got 5"),
    (_edit(GOOD, "dist", "[0.1, x, 0.3, 0.4]"), "dist[1] must be a number"),
    (_edit(GOOD, "dist", "0.1"), "dist must be a list"),
    (_edit(GOOD, "focal", "3"), "unknown key(s) focal"),
    (_edit(GOOD, "fov_deg", "90"), "give either fov_deg or fx fy cx cy"),
    ("image_size: [640, 480]\nfov_deg: 180\nheight_m: 0.1\npitch_deg: 0\n", "fov_deg must lie in"),
    (GOOD.replace("  roll_deg: 0.5", "  roll_deg: -0.5"), "jitter.roll_deg must be >= 0"),
    (GOOD.replace("  roll_deg: 0.5", "  yaw_deg: 0.5"), "unknown jitter key(s) yaw_deg"),
    (GOOD.replace("  height_m: 0.005", "  height_m: 0.08"), "jitter.height_m 0.08 would put"),
    (GOOD.split("jitter:")[0] + "jitter: 3\n", "jitter must be a mapping"),
    (GOOD + "fx: 3\n", "duplicate key 'fx'"),
    ("image_size: [640, 480\n", "not valid YAML"),
    ("- 1\n- 2\n", "expected a mapping of camera fields"),
    ("", "expected a mapping of camera fields"),
]


def assert_one_line(load, path, message: str) -> None:
    """`load(path)` refuses with one line that starts with the path and says `message`."""
    with pytest.raises(InputError) as info:
        load(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: ") and message in msg and "\n" not in msg, msg


@pytest.mark.parametrize("text,message", BAD, ids=[m for _, m in BAD])
def test_bad_field_is_one_line_naming_file_and_field(tmp_path, text, message):
    path = tmp_path / "cam.yaml"
    path.write_text(text)
    assert_one_line(load_camera_file, path, message)


def test_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="no such camera file"):
        load_camera_file(tmp_path / "missing.yaml")
    path = tmp_path / "latin1.yaml"
    path.write_bytes(GOOD.encode() + b"# caf\xe9\n")
    with pytest.raises(InputError, match="cannot read camera file") as info:
        load_camera_file(path)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- intrinsics files

K = np.array([[330.0, 0.0, 322.4], [0.0, 331.5, 236.1], [0.0, 0.0, 1.0]])
D5 = np.array([-0.22, 0.05, 0.0008, -0.0005, 0.001])


def _filestorage(path, entries: dict) -> None:
    fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
    for key, value in entries.items():
        fs.write(key, value)
    fs.release()


@pytest.mark.parametrize("suffix", [".yaml", ".xml"])
def test_opencv_filestorage(tmp_path, suffix):
    path = tmp_path / f"cam{suffix}"
    _filestorage(path, {"image_width": 640, "image_height": 480, "camera_matrix": K,
                        "distortion_coefficients": D5.reshape(-1, 1)})
    intr = load_intrinsics(path)
    assert intr == Intrinsics((640, 480), 330.0, 331.5, 322.4, 236.1, "pinhole", tuple(D5))
    np.testing.assert_array_equal(intr.K(), K)


def test_opencv_calibration_sample_file(tmp_path):
    """The layout OpenCV's camera_calibration sample writes, fisheye_model included."""
    path = tmp_path / "out_camera_data.xml"
    _filestorage(path, {"calibration_time": "today", "nr_of_frames": 12, "image_width": 640,
                        "image_height": 480, "board_width": 9, "board_height": 6,
                        "square_size": 25.0, "fisheye_model": 1, "camera_matrix": K,
                        "distortion_coefficients": np.array([[0.05], [-0.02], [0.01], [0.0]]),
                        "avg_reprojection_error": 0.2})
    intr = load_intrinsics(path)
    assert intr.model == "fisheye" and intr.dist == (0.05, -0.02, 0.01, 0.0)
    with pytest.raises(InputError, match="describes a fisheye lens, not pinhole"):
        load_intrinsics(path, model="pinhole")


def test_opencv_without_size_or_model(tmp_path):
    path = tmp_path / "cam.yaml"
    _filestorage(path, {"camera_matrix": K, "distortion_coefficients": D5[:4].reshape(1, -1)})
    assert load_intrinsics(path).image_size is None
    assert load_intrinsics(path).model == "pinhole"
    assert load_intrinsics(path, model="fisheye").model == "fisheye"  # 4 values, caller decides


ROS = """\
image_width: 640
image_height: 480
camera_name: robot_cam
camera_matrix:
  rows: 3
  cols: 3
  data: [330.0, 0.0, 322.4, 0.0, 331.5, 236.1, 0.0, 0.0, 1.0]
distortion_model: {model}
distortion_coefficients:
  rows: 1
  cols: {n}
  data: {data}
rectification_matrix:
  rows: 3
  cols: 3
  data: [1, 0, 0, 0, 1, 0, 0, 0, 1]
projection_matrix:
  rows: 3
  cols: 4
  data: [330.0, 0.0, 322.4, 0.0, 0.0, 331.5, 236.1, 0.0, 0.0, 0.0, 1.0, 0.0]
"""


@pytest.mark.parametrize("name,data,model", [
    ("plumb_bob", [-0.22, 0.05, 0.0008, -0.0005, 0.001], "pinhole"),
    ("rational_polynomial", [-0.22, 0.05, 0.0008, -0.0005, 0.001, 0.1, 0.0, 0.02], "pinhole"),
    ("equidistant", [0.05, -0.02, 0.01, 0.0], "fisheye"),
])
def test_ros_camera_info(tmp_path, name, data, model):
    path = tmp_path / "ost.yaml"
    path.write_text(ROS.format(model=name, n=len(data), data=data))
    assert load_intrinsics(path) == Intrinsics((640, 480), 330.0, 331.5, 322.4, 236.1, model,
                                               tuple(data))


INTRINSICS_BAD = [
    (ROS.format(model="plumb_bob", n=4, data=[0.1, 0.2, 0.3, 0.4]),
     "distortion_coefficients.data must have 5 values for plumb_bob, got 4"),
    (ROS.format(model="kannala", n=4, data=[0.1, 0.2, 0.3, 0.4]), "distortion_model must be"),
    (ROS.format(model="plumb_bob", n=5, data=[0.1, 0.2, 0.3, 0.4, 0.5])
     .replace("330.0, 0.0, 322.4", "330.0, 2.0, 322.4"), "has a skew term"),
    (ROS.format(model="plumb_bob", n=5, data=[0.1, 0.2, 0.3, 0.4, 0.5])
     .replace("322.4, 0.0, 331.5", "322.4, 0.0, -331.5"), "fy must be > 0"),
    (ROS.format(model="plumb_bob", n=5, data=[0.1, 0.2, 0.3, 0.4, 0.5])
     .replace("image_width: 640", "image_width: 300"), "cx 322.4 puts the principal point"),
    (ROS.format(model="plumb_bob", n=5, data=[0.1, 0.2, 0.3, 0.4, 0.5])
     .replace("image_height: 480\n", ""), "missing image_height"),
    ("image_width: 640\nimage_height: 480\ncamera_matrix: {data: [1, 2]}\n",
     "camera_matrix.data must have 9 values"),
    ("camera: 3\n", "not an OpenCV FileStorage or ROS camera_info file"),
    ("%YAML:1.0\n---\ncamera_matrix: !!opencv-matrix\n  rows: 3\n  cols: [3\n",
     "not a readable OpenCV FileStorage file"),
    ("%YAML:1.0\n---\nimage_width: 640\n", "missing camera_matrix"),
    # a matrix without its `dt` used to escape as cv2.error (a traceback)
    ("%YAML:1.0\n---\ncamera_matrix: !!opencv-matrix\n  rows: 3\n  cols: 3\n"
     "  data: [300., 0., 320., 0., 300., 240., 0., 0., 1.]\n", "camera_matrix is not a readable "
     "!!opencv-matrix"),
]


@pytest.mark.parametrize("text,message", INTRINSICS_BAD, ids=[m for _, m in INTRINSICS_BAD])
def test_bad_intrinsics_file_is_one_line(tmp_path, text, message):
    path = tmp_path / "ost.yaml"
    path.write_text(text)
    assert_one_line(load_intrinsics, path, message)


def test_opencv_wrong_dist_length(tmp_path):
    path = tmp_path / "cam.yml"
    _filestorage(path, {"camera_matrix": K, "distortion_coefficients": np.zeros((1, 6))})
    with pytest.raises(InputError, match="pinhole distortion_coefficients must have 4, 5 or 8"):
        load_intrinsics(path)
    path2 = tmp_path / "cam2.yml"
    _filestorage(path2, {"camera_matrix": K})
    with pytest.raises(InputError, match="missing distortion_coefficients"):
        load_intrinsics(path2)


def test_with_mount_builds_the_camera():
    intr = Intrinsics((640, 480), 330.0, 331.5, 322.4, 236.1, "fisheye", (0.1, 0.0, 0.0, 0.0))
    spec = intr.with_mount(0.1, 12.0, 1.5)
    assert spec == CameraSpec((640, 480), 330.0, 331.5, 322.4, 236.1, 0.1, 12.0, 1.5, "fisheye",
                              (0.1, 0.0, 0.0, 0.0))
    assert spec.intrinsics() == intr


def test_a_lens_that_sees_nothing_is_refused_before_rendering(tmp_path):
    """A distortion so strong that no pixel maps back to a ray (p1 = -30851) used to pass the
    reader and end in lens_map's ValueError in the middle of `synth generate`."""
    from synth.generate import GenerateConfig, load_camera

    path = tmp_path / "camera.yaml"
    path.write_text(GOOD.replace("dist: [-0.2, 0.05, 0.001, -0.0005, 0.0]",
                                 "dist: [-0.1, 0.01, -30851, 0.0, 0.0]"))
    cfg = GenerateConfig(view="robot", out=tmp_path / "out", camera=path)
    with pytest.raises(InputError) as err:
        load_camera(cfg)
    assert str(err.value).startswith(f"{path}: dist: no pixel of this lens maps back to a ray")
