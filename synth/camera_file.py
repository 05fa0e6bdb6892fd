"""camera.yaml: one physical camera (image size, lens, mount), and readers for existing intrinsics.

A camera file names the image size, the intrinsics in OpenCV's pixel convention (pixel
centres at integers), the lens model and its distortion in OpenCV's order, and the mount:
the optical centre's height above the floor, the pitch of the optical axis below the
horizon and the roll about it (`synth.camera.mount_rotation`). `load_intrinsics` reads the
intrinsics other tools write: OpenCV FileStorage YAML/XML and ROS camera_info YAML.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .camera import mount_rotation
from .errors import InputError
from .fsio import read_text, write_text
from .values import is_finite, is_number, shown
from .yamlio import parse_yaml

MODELS = ("pinhole", "fisheye")
PINHOLE_DIST_SIZES = (4, 5, 8)
FISHEYE_DIST_SIZE = 4
MIN_IMAGE_SIDE = 32
MAX_IMAGE_SIDE = 20000  # what synth.imageio lets PIL decode (MAX_IMAGE_PIXELS)
PITCH_RANGE_DEG = (-45.0, 90.0)
MAX_ABS_ROLL_DEG = 45.0
INTRINSIC_KEYS = ("fx", "fy", "cx", "cy")
JITTER_KEYS = ("height_m", "pitch_deg", "roll_deg")
CAMERA_KEYS = ("image_size", "model", *INTRINSIC_KEYS, "fov_deg", "dist", "height_m",
               "pitch_deg", "roll_deg", "jitter")
# Field names other tools use in OpenCV FileStorage files, in the order they are tried.
OPENCV_MATRIX_NAMES = ("camera_matrix", "cameraMatrix", "K")
OPENCV_DIST_NAMES = ("distortion_coefficients", "dist_coeffs", "distCoeffs", "D")
ROS_MODELS = {"plumb_bob": ("pinhole", (5,)), "rational_polynomial": ("pinhole", (8,)),
              "equidistant": ("fisheye", (4,))}

_DIST_TEXT = {"pinhole": "4, 5 or 8 values (k1 k2 p1 p2 [k3 [k4 k5 k6]])",
              "fisheye": "4 values (k1 k2 k3 k4)"}


@dataclass(frozen=True)
class Jitter:
    """Half-ranges of the mount drawn per image (the robot bumps)."""

    height_m: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0


def _lens_matrix(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def _dist_array(model: str, dist: tuple[float, ...]) -> np.ndarray:
    if dist:
        return np.array(dist, float)
    return np.zeros(FISHEYE_DIST_SIZE if model == "fisheye" else 5)


@dataclass(frozen=True)
class Intrinsics:
    """A lens without its mount, as calibration files from other tools give it."""

    image_size: tuple[int, int] | None  # (W, H); None where the file does not say
    fx: float
    fy: float
    cx: float
    cy: float
    model: str = "pinhole"
    dist: tuple[float, ...] = ()

    def K(self) -> np.ndarray:
        """The 3x3 camera matrix."""
        return _lens_matrix(self.fx, self.fy, self.cx, self.cy)

    def dist_coeffs(self) -> np.ndarray:
        """Distortion coefficients for OpenCV (zeros of the model's length when none)."""
        return _dist_array(self.model, self.dist)

    def with_mount(self, height_m: float, pitch_deg: float, roll_deg: float = 0.0,
                   image_size: tuple[int, int] | None = None) -> CameraSpec:
        """The camera with this lens on the given mount."""
        size = self.image_size if image_size is None else image_size
        if size is None:
            raise ValueError("the image size is unknown")
        return CameraSpec(image_size=size, fx=self.fx, fy=self.fy, cx=self.cx, cy=self.cy,
                          height_m=height_m, pitch_deg=pitch_deg, roll_deg=roll_deg,
                          model=self.model, dist=self.dist)


@dataclass(frozen=True)
class CameraSpec:
    """One physical camera: image size, lens and mount (the contents of camera.yaml)."""

    image_size: tuple[int, int]  # (W, H) pixels
    fx: float
    fy: float
    cx: float
    cy: float
    height_m: float  # optical centre above the floor
    pitch_deg: float  # optical axis below the horizon
    roll_deg: float = 0.0
    model: str = "pinhole"
    dist: tuple[float, ...] = ()
    jitter: Jitter | None = None

    def K(self) -> np.ndarray:
        """The 3x3 camera matrix."""
        return _lens_matrix(self.fx, self.fy, self.cx, self.cy)

    def dist_coeffs(self) -> np.ndarray:
        """Distortion coefficients for OpenCV (zeros of the model's length when none)."""
        return _dist_array(self.model, self.dist)

    def rotation(self) -> np.ndarray:
        """World-to-camera rotation of the mount (synth.camera.mount_rotation)."""
        return mount_rotation(self.pitch_deg, self.roll_deg)

    def centre(self) -> np.ndarray:
        """The optical centre in world coordinates (the camera looks along +Y)."""
        return np.array([0.0, 0.0, self.height_m])

    def intrinsics(self) -> Intrinsics:
        """The lens alone."""
        return Intrinsics(self.image_size, self.fx, self.fy, self.cx, self.cy, self.model,
                          self.dist)


# --------------------------------------------------------------------------- validation


def _number(where: str, field: str, value) -> float:
    if not is_number(value):
        raise InputError(f"{where}: {field} must be a number, got {value!r}")
    if not is_finite(value):
        raise InputError(f"{where}: {field} must be finite, got {shown(value)}")
    return float(value)


def check_lens(where: str, image_size: tuple[int, int] | None, fx: float, fy: float,
               cx: float, cy: float, model: str, dist: tuple[float, ...],
               dist_field: str = "dist") -> None:
    """Refuse impossible intrinsics with one line naming `where` and the field."""
    if model not in MODELS:
        raise InputError(f"{where}: model must be pinhole or fisheye, got {model!r}")
    for field, value in (("fx", fx), ("fy", fy)):
        if not value > 0:
            raise InputError(f"{where}: {field} must be > 0 pixels, got {value:g}")
    if image_size is not None:
        w, h = image_size
        for field, value, side in (("cx", cx, w), ("cy", cy, h)):
            if not -0.5 <= value <= side - 0.5:
                raise InputError(f"{where}: {field} {value:g} puts the principal point outside "
                                 f"the image (-0.5 .. {side - 0.5:g})")
    sizes = (FISHEYE_DIST_SIZE,) if model == "fisheye" else PINHOLE_DIST_SIZES
    if dist and len(dist) not in sizes:
        raise InputError(f"{where}: {model} {dist_field} must have {_DIST_TEXT[model]}, "
                         f"got {len(dist)}")


def check_mount(where: str, height_m: float, pitch_deg: float, roll_deg: float) -> None:
    """Refuse an impossible mount with one line naming `where` and the field."""
    if not height_m > 0:
        raise InputError(f"{where}: height_m must be > 0 (metres above the floor), "
                         f"got {height_m:g}")
    lo, hi = PITCH_RANGE_DEG
    if not lo <= pitch_deg <= hi:
        raise InputError(f"{where}: pitch_deg must lie within [{lo:g}, {hi:g}] "
                         f"(degrees below the horizon), got {pitch_deg:g}")
    if not abs(roll_deg) <= MAX_ABS_ROLL_DEG:
        raise InputError(f"{where}: roll_deg must lie within [-{MAX_ABS_ROLL_DEG:g}, "
                         f"{MAX_ABS_ROLL_DEG:g}], got {roll_deg:g}")


def check_camera(spec: CameraSpec, where: str) -> None:
    """Refuse a camera with an impossible field (one line naming `where` and the field)."""
    w, h = spec.image_size
    if min(w, h) < MIN_IMAGE_SIDE:
        raise InputError(f"{where}: image_size must be at least {MIN_IMAGE_SIDE}x"
                         f"{MIN_IMAGE_SIDE} pixels, got {w}x{h}")
    check_lens(where, spec.image_size, spec.fx, spec.fy, spec.cx, spec.cy, spec.model,
               spec.dist)
    check_mount(where, spec.height_m, spec.pitch_deg, spec.roll_deg)
    if spec.jitter is not None and spec.jitter.height_m >= spec.height_m:
        raise InputError(f"{where}: jitter.height_m {spec.jitter.height_m:g} would put the "
                         f"camera on or below the floor (height_m {spec.height_m:g})")


# --------------------------------------------------------------------------- camera.yaml


def _image_size(where: str, value) -> tuple[int, int]:
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise InputError(f"{where}: image_size must be [W, H], two whole numbers of pixels, "
                         f"got {value!r}")
    w, h = value
    if min(w, h) < MIN_IMAGE_SIDE:
        raise InputError(f"{where}: image_size must be at least {MIN_IMAGE_SIDE}x"
                         f"{MIN_IMAGE_SIDE} pixels, got {w}x{h}")
    if max(w, h) > MAX_IMAGE_SIDE:
        raise InputError(f"{where}: image_size must be at most {MAX_IMAGE_SIDE}x"
                         f"{MAX_IMAGE_SIDE} pixels, got {w}x{h}")
    return int(w), int(h)


def _dist(where: str, field: str, value) -> tuple[float, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise InputError(f"{where}: {field} must be a list of numbers, got {value!r}")
    return tuple(_number(where, f"{field}[{i}]", v) for i, v in enumerate(value))


def fov_focal(model: str, width: int, fov_deg: float) -> float:
    """Focal length in pixels that gives a horizontal field of view `fov_deg` over `width`.

    Pinhole: (W/2) / tan(fov/2). Fisheye (OpenCV's equidistant model, r = f * theta before
    the k1..k4 terms): (W/2) / (fov/2 in radians), so fov_deg may reach and pass 180.
    """
    half = math.radians(fov_deg) / 2.0
    return (width / 2.0) / (half if model == "fisheye" else math.tan(half))


def _check_mapping(where: str, value, allowed: tuple[str, ...], what: str, keys: str) -> None:
    """Refuse a value that is not a mapping, or one with keys outside `allowed`."""
    if not isinstance(value, dict):
        got = repr(value) if isinstance(value, (int, float, str)) else type(value).__name__
        raise InputError(f"{where}: {what} ({', '.join(allowed)}), got {got}")
    unknown = sorted(set(map(str, value)) - set(allowed))
    if unknown:
        raise InputError(f"{where}: unknown {keys} {', '.join(unknown)} "
                         f"(allowed: {', '.join(allowed)})")


def _jitter(where: str, value) -> Jitter | None:
    if value is None:
        return None
    _check_mapping(where, value, JITTER_KEYS, "jitter must be a mapping of half-ranges",
                   "jitter key(s)")
    out = {}
    for key in JITTER_KEYS:
        v = _number(where, f"jitter.{key}", value.get(key, 0.0))
        if v < 0:
            raise InputError(f"{where}: jitter.{key} must be >= 0 (a half-range), got {v:g}")
        out[key] = v
    return Jitter(**out)


def parse_camera(doc, where: str) -> CameraSpec:
    """Validate a camera.yaml document (already parsed YAML) into a CameraSpec."""
    _check_mapping(where, doc, CAMERA_KEYS, "expected a mapping of camera fields", "key(s)")
    if "image_size" not in doc:
        raise InputError(f"{where}: missing image_size [W, H]")
    w, h = _image_size(where, doc["image_size"])
    model = doc.get("model", "pinhole")
    if model not in MODELS:
        raise InputError(f"{where}: model must be pinhole or fisheye, got {model!r}")
    given = [k for k in INTRINSIC_KEYS if k in doc]
    if "fov_deg" in doc:
        if given:
            raise InputError(f"{where}: give either fov_deg or {' '.join(INTRINSIC_KEYS)}, "
                             f"not both (found fov_deg and {' '.join(given)})")
        fov = _number(where, "fov_deg", doc["fov_deg"])
        top = 360.0 if model == "fisheye" else 180.0
        if not 0 < fov < top:
            raise InputError(f"{where}: fov_deg must lie in (0, {top:g}) for a {model} "
                             f"camera, got {fov:g}")
        fx = fy = fov_focal(model, w, fov)
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    else:
        for key in INTRINSIC_KEYS:
            if key not in doc:
                raise InputError(f"{where}: missing {key} (give {' '.join(INTRINSIC_KEYS)} "
                                 "in pixels, or fov_deg)")
        fx, fy, cx, cy = (_number(where, k, doc[k]) for k in INTRINSIC_KEYS)
    for key in ("height_m", "pitch_deg"):
        if key not in doc:
            raise InputError(f"{where}: missing {key}")
    spec = CameraSpec(
        image_size=(w, h), fx=fx, fy=fy, cx=cx, cy=cy,
        height_m=_number(where, "height_m", doc["height_m"]),
        pitch_deg=_number(where, "pitch_deg", doc["pitch_deg"]),
        roll_deg=_number(where, "roll_deg", doc.get("roll_deg", 0.0)),
        model=model, dist=_dist(where, "dist", doc.get("dist")),
        jitter=_jitter(where, doc.get("jitter")))
    check_camera(spec, where)
    return spec


def load_camera_file(path: str | os.PathLike) -> CameraSpec:
    """Read and validate camera.yaml; any bad field is an InputError naming the file and field."""
    path = Path(path)
    return parse_camera(parse_yaml(read_text(path, "camera file"), path), str(path))


def _yaml_float(x: float) -> str:
    """repr(x) in a form YAML 1.1 (PyYAML) reads back as the same float."""
    r = repr(float(x))
    if "e" in r:
        mantissa, exponent = r.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        if exponent[0] not in "+-":
            exponent = "+" + exponent
        r = f"{mantissa}e{exponent}"
    return r


CAMERA_FILE_HEADER = """\
# camera.yaml: one physical camera for `synth generate --camera` (see `synth calibrate --help`)
# Pixels in OpenCV's convention (pixel centres at integers); dist in OpenCV's order
# (pinhole: k1 k2 p1 p2 [k3 [k4 k5 k6]], fisheye: k1 k2 k3 k4). height_m: optical centre
# above the floor; pitch_deg: optical axis below the horizon (0 level, negative up);
# positive roll_deg dips the camera's right side.
"""


def format_camera_file(spec: CameraSpec, comment: str = "") -> str:
    """The text of camera.yaml for `spec` (a comment header, then one field a line)."""
    lines = [CAMERA_FILE_HEADER.rstrip("\n")]
    lines += [f"# {line}" if line else "#" for line in comment.splitlines()]
    w, h = spec.image_size
    lines += [f"image_size: [{w}, {h}]", f"model: {spec.model}"]
    lines += [f"{k}: {_yaml_float(getattr(spec, k))}" for k in INTRINSIC_KEYS]
    if spec.dist:
        lines.append(f"dist: [{', '.join(_yaml_float(v) for v in spec.dist)}]")
    lines += [f"{k}: {_yaml_float(getattr(spec, k))}" for k in ("height_m", "pitch_deg",
                                                               "roll_deg")]
    if spec.jitter is not None:
        lines.append("jitter:")
        lines += [f"  {k}: {_yaml_float(getattr(spec.jitter, k))}" for k in JITTER_KEYS]
    return "\n".join(lines) + "\n"


def write_camera_file(spec: CameraSpec, path: str | os.PathLike, comment: str = "") -> None:
    """Write camera.yaml atomically; `comment` lines go into the header."""
    write_text(path, format_camera_file(spec, comment))


# --------------------------------------------------------------------------- other tools' files


def cv_error_text(exc: BaseException) -> str:
    """One line from an OpenCV exception, without its source-file prefix."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, SystemError) and isinstance(cause, cv2.error):
        exc = cause
    text = str(getattr(exc, "msg", None) or exc).strip()
    text = re.sub(r"^OpenCV\([^)]*\) \S+: error: \([^)]*\) ", "", text)
    return " ".join(text.split())


def _lens_from_matrix(where: str, field: str, K: np.ndarray) -> tuple[float, float, float, float]:
    K = np.asarray(K, float)
    if K.shape != (3, 3) and K.size == 9:
        K = K.reshape(3, 3)
    if K.shape != (3, 3):
        raise InputError(f"{where}: {field} must be a 3x3 matrix, got shape "
                         f"{'x'.join(map(str, K.shape))}")
    if not np.isfinite(K).all():
        raise InputError(f"{where}: {field} has a non-finite value")
    if K[2, 2] == 0 or abs(K[2, 2] - 1.0) > 1e-9 or np.any(np.abs(K[[1, 2, 2], [0, 0, 1]]) > 1e-9):
        raise InputError(f"{where}: {field} is not a camera matrix [[fx 0 cx] [0 fy cy] [0 0 1]]")
    if abs(K[0, 1]) > 1e-6 * max(abs(K[0, 0]), 1.0):
        raise InputError(f"{where}: {field} has a skew term {K[0, 1]:g} (not supported)")
    return float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])


def _finite_dist(where: str, field: str, values) -> tuple[float, ...]:
    arr = np.asarray(values, float).ravel()
    if not np.isfinite(arr).all():
        raise InputError(f"{where}: {field} has a non-finite value")
    return tuple(float(v) for v in arr)


def _model_for(where: str, found: str | None, expected: str | None) -> str:
    if found is not None and expected is not None and found != expected:
        raise InputError(f"{where}: the file describes a {found} lens, not {expected}")
    return found or expected or "pinhole"


def _read_opencv(path: Path, expected_model: str | None) -> Intrinsics:
    where = str(path)
    try:
        fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    except (cv2.error, SystemError) as exc:  # the Python binding wraps parse errors
        raise InputError(f"{where}: not a readable OpenCV FileStorage file "
                         f"({cv_error_text(exc)})") from None
    try:
        if not fs.isOpened():
            raise InputError(f"{where}: not a readable OpenCV FileStorage file")

        def matrix(names: tuple[str, ...]) -> tuple[str, np.ndarray | None]:
            for name in names:
                node = fs.getNode(name)
                if not node.empty():
                    try:
                        return name, node.mat()
                    except (cv2.error, SystemError) as exc:
                        raise InputError(f"{where}: {name} is not a readable !!opencv-matrix "
                                         f"({cv_error_text(exc)})") from None
            return names[0], None

        k_name, K = matrix(OPENCV_MATRIX_NAMES)
        if K is None:
            raise InputError(f"{where}: missing {k_name} (a 3x3 !!opencv-matrix)")
        d_name, D = matrix(OPENCV_DIST_NAMES)
        if D is None:
            raise InputError(f"{where}: missing {d_name} (an !!opencv-matrix of k1 k2 p1 p2 ...)")
        sizes = {}
        for name in ("image_width", "image_height"):
            node = fs.getNode(name)
            if not node.empty():
                value = node.real()
                if not (math.isfinite(value) and value == int(value)):
                    raise InputError(f"{where}: {name} must be a whole number, got {value:g}")
                sizes[name] = int(value)
        if len(sizes) == 1:
            raise InputError(f"{where}: give both image_width and image_height, or neither")
        flag = fs.getNode("fisheye_model")
        found = None if flag.empty() else ("fisheye" if flag.real() else "pinhole")
    finally:
        fs.release()
    model = _model_for(where, found, expected_model)
    fx, fy, cx, cy = _lens_from_matrix(where, k_name, K)
    dist = _finite_dist(where, d_name, D)
    size = (sizes["image_width"], sizes["image_height"]) if sizes else None
    if size is not None and not MIN_IMAGE_SIDE <= min(size) <= max(size) <= MAX_IMAGE_SIDE:
        raise InputError(f"{where}: image_width x image_height must be from "
                         f"{MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} to {MAX_IMAGE_SIDE}x{MAX_IMAGE_SIDE}, "
                         f"got {size[0]}x{size[1]}")
    check_lens(where, size, fx, fy, cx, cy, model, dist, dist_field=d_name)
    return Intrinsics(size, fx, fy, cx, cy, model, dist)


def _ros_data(where: str, doc: dict, field: str) -> list:
    node = doc.get(field)
    if not isinstance(node, dict) or "data" not in node:
        raise InputError(f"{where}: missing {field}.data")
    data = node["data"]
    if not isinstance(data, list):
        raise InputError(f"{where}: {field}.data must be a list of numbers, got {data!r}")
    return [_number(where, f"{field}.data[{i}]", v) for i, v in enumerate(data)]


def _read_ros(path: Path, doc: dict, expected_model: str | None) -> Intrinsics:
    where = str(path)
    for key in ("image_width", "image_height"):
        if key not in doc:
            raise InputError(f"{where}: missing {key}")
        v = doc[key]
        if not isinstance(v, int) or isinstance(v, bool) or not \
                MIN_IMAGE_SIDE <= v <= MAX_IMAGE_SIDE:
            raise InputError(f"{where}: {key} must be a whole number from {MIN_IMAGE_SIDE} to "
                             f"{MAX_IMAGE_SIDE}, got {shown(v)}")
    size = (doc["image_width"], doc["image_height"])
    k = _ros_data(where, doc, "camera_matrix")
    if len(k) != 9:
        raise InputError(f"{where}: camera_matrix.data must have 9 values, got {len(k)}")
    fx, fy, cx, cy = _lens_from_matrix(where, "camera_matrix.data", np.array(k))
    name = doc.get("distortion_model", "plumb_bob")
    if name not in ROS_MODELS:
        raise InputError(f"{where}: distortion_model must be one of {', '.join(ROS_MODELS)}, "
                         f"got {name!r}")
    found, lengths = ROS_MODELS[name]
    model = _model_for(where, found, expected_model)
    dist = tuple(_ros_data(where, doc, "distortion_coefficients")) \
        if "distortion_coefficients" in doc else ()
    if dist and len(dist) not in lengths:
        raise InputError(f"{where}: distortion_coefficients.data must have "
                         f"{' or '.join(map(str, lengths))} values for {name}, got {len(dist)}")
    check_lens(where, size, fx, fy, cx, cy, model, dist,
               dist_field="distortion_coefficients.data")
    return Intrinsics(size, fx, fy, cx, cy, model, dist)


def load_intrinsics(path: str | os.PathLike, model: str | None = None) -> Intrinsics:
    """Read intrinsics from an OpenCV FileStorage YAML/XML or a ROS camera_info YAML file.

    `model` ("pinhole" or "fisheye") is what the caller expects: it decides a file that
    does not say (OpenCV files without fisheye_model) and must agree with one that does.
    """
    path = Path(path)
    text = read_text(path, "intrinsics file")
    head = text.lstrip()
    if head.startswith(("%YAML", "<")) or "opencv-matrix" in text:
        return _read_opencv(path, model)
    doc = parse_yaml(text, path)
    if not isinstance(doc, dict) or "camera_matrix" not in doc:
        raise InputError(f"{path}: not an OpenCV FileStorage or ROS camera_info file "
                         "(no camera_matrix)")
    return _read_ros(path, doc, model)
