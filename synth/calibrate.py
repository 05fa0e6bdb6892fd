"""Calibrate the robot's own camera from checkerboard photos: lens, distortion and mount.

Board photos (the board held at varied tilts and distances) give the intrinsics and the
lens distortion through OpenCV's calibration (`cv2.calibrateCamera`, or
`cv2.fisheye.calibrate`). One photo of the board lying flat on the floor gives the mount:
its pose relative to the camera puts the floor plane in camera coordinates, so the height
of the optical centre above it and the pitch and roll of the camera follow. `check_overlay`
draws a metric floor grid and the horizon through the lens over a real frame, to see by eye
that a camera file fits. Exact synthetic photos of a board through a known camera (the
tests' oracle) are synth/boards.py.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Sequence, Union

import cv2
import numpy as np
from tqdm import tqdm

from .camera_file import CameraSpec, Intrinsics, check_camera, check_lens, check_mount
from .camera_file import cv_error_text
from .lens import UNDISTORT_CRITERIA, Lens, project_points, undistort_pixels
from .errors import InputError
from .imageio import read_image

# A calibration, or a floor photo, whose RMS reprojection error is over this is refused.
MAX_RMS_PX = 1.0
MIN_BOARD_PHOTOS = 3
SUBPIX_WINDOW_FRACTION = 0.4  # of the distance to the nearest corner (measured on rendered boards)


def _fisheye_flag(name: str) -> int:
    # OpenCV 4 has these under cv2.fisheye; OpenCV 5 merged them (other values) into cv2.
    return int(getattr(cv2.fisheye, name, None) or getattr(cv2, name))


FISHEYE_FLAGS = _fisheye_flag("CALIB_RECOMPUTE_EXTRINSIC") | _fisheye_flag("CALIB_FIX_SKEW")
_SB_FLAGS = cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_EXHAUSTIVE | cv2.CALIB_CB_ACCURACY

ImageInput = Union[str, os.PathLike, np.ndarray]


@dataclass(frozen=True)
class CalibrationResult:
    """What `calibrate` found, with the figures that say how well."""

    spec: CameraSpec
    rms_px: float | None  # board photos' RMS reprojection error; None with given intrinsics
    per_image_px: dict[str, float]  # board photo -> its RMS reprojection error
    used: tuple[str, ...]  # the board photos the intrinsics came from
    floor_rms_px: float | None  # the floor photo's RMS reprojection error (None: mount given)
    seconds: dict[str, float] = field(default_factory=dict)  # detect, intrinsics, mount, total


# --------------------------------------------------------------------------- lens helpers


def board_points(board: tuple[int, int], square_m: float) -> np.ndarray:
    """The board's inner corners (N, 3) in metres, in OpenCV's order (row by row)."""
    cols, rows = board
    grid = np.mgrid[0:cols, 0:rows].T.reshape(-1, 2)
    return np.column_stack([grid * square_m, np.zeros(len(grid))]).astype(np.float64)


def mount_from_board_pose(R_bc: np.ndarray, t_bc: np.ndarray) -> tuple[float, float, float]:
    """(height_m, pitch_deg, roll_deg) of a camera that sees the floor board at pose R_bc, t_bc.

    The pose maps board points into the camera frame (X_c = R_bc X_b + t_bc) and the board
    plane Z_b = 0 is the floor. World up in camera coordinates is the third column of the
    world-to-camera rotation, (-sin(roll) cos(pitch), -cos(roll) cos(pitch), -sin(pitch)) in
    `mount_rotation`'s convention, and equals +-R_bc[:, 2] (the sign pointing to the camera's
    side of the board). At pitch 90 the roll is a turn about the vertical and comes out 0.
    """
    R_bc = np.asarray(R_bc, float)
    centre = -R_bc.T @ np.asarray(t_bc, float).ravel()  # the camera in board coordinates
    side = 1.0 if centre[2] >= 0 else -1.0
    up = side * R_bc[:, 2]
    pitch = math.degrees(math.asin(float(np.clip(-up[2], -1.0, 1.0))))
    roll = math.degrees(math.atan2(-up[0], -up[1]))
    return float(abs(centre[2])), pitch, roll


def _rms(a: np.ndarray, b: np.ndarray) -> float:
    d = np.asarray(a, float).reshape(-1, 2) - np.asarray(b, float).reshape(-1, 2)
    return float(np.sqrt(np.mean(np.sum(d * d, axis=1))))


# --------------------------------------------------------------------------- board detection


def _gray(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img


def refine_corners(gray: np.ndarray, corners: np.ndarray, board: tuple[int, int]) -> np.ndarray:
    """Sub-pixel corners by cv2.cornerSubPix, each with a window fitted to its squares.

    A board lying on the floor seen from a few centimetres up has squares a few pixels tall
    in its far rows: one window for all corners would reach across neighbouring corners
    there, so each corner's half-window is a fraction of the distance to its nearest
    neighbour on the grid.
    """
    cols, rows = board
    grid = corners.reshape(rows, cols, 2)
    near = np.full((rows, cols), np.inf)
    dx = np.linalg.norm(np.diff(grid, axis=1), axis=2)
    dy = np.linalg.norm(np.diff(grid, axis=0), axis=2)
    near[:, :-1] = np.minimum(near[:, :-1], dx)
    near[:, 1:] = np.minimum(near[:, 1:], dx)
    near[:-1] = np.minimum(near[:-1], dy)
    near[1:] = np.minimum(near[1:], dy)
    half = np.clip((SUBPIX_WINDOW_FRACTION * near).astype(int), 2, 10).ravel()
    out = corners.reshape(-1, 2).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-4)
    for win in np.unique(half):
        idx = np.flatnonzero(half == win)
        out[idx] = cv2.cornerSubPix(gray, out[idx].reshape(-1, 1, 2).copy(),
                                    (int(win), int(win)), (-1, -1), criteria).reshape(-1, 2)
    return out.astype(np.float64)


def find_board(image: np.ndarray, board: tuple[int, int]) -> np.ndarray | None:
    """Sub-pixel inner corners (N, 2) of a COLSxROWS checkerboard, or None where not found."""
    gray = _gray(image)
    ok, corners = cv2.findChessboardCorners(
        gray, board, flags=cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE)
    if not ok:  # the sector-based detector is slower and copes with harder photos
        ok, corners = cv2.findChessboardCornersSB(gray, board, flags=_SB_FLAGS)
    if not ok:
        return None
    return refine_corners(gray, corners.reshape(-1, 2), board)


def _load(item: ImageInput) -> np.ndarray:
    return item if isinstance(item, np.ndarray) else read_image(item)


def _name(item: ImageInput, fallback: str) -> str:
    return fallback if isinstance(item, np.ndarray) else str(item)


def _board_corners(item: ImageInput, name: str, board: tuple[int, int],
                   size: tuple[int, int] | None) -> tuple[np.ndarray, tuple[int, int]]:
    img = _load(item)
    h, w = img.shape[:2]
    if size is not None and (w, h) != tuple(size):
        raise InputError(f"{name}: image is {w}x{h}, the other photos are {size[0]}x{size[1]} "
                         "(all photos must come from the camera at one resolution)")
    corners = find_board(img, board)
    if corners is None:
        raise InputError(f"{name}: no {board[0]}x{board[1]} checkerboard found (the whole board "
                         "with its white margin must be in the frame, sharp and well lit; "
                         "COLSxROWS counts inner corners)")
    return corners, (w, h)


# --------------------------------------------------------------------------- calibration


def _calibrate_lens(obj: np.ndarray, corners: list[np.ndarray], size: tuple[int, int],
                    fisheye: bool) -> tuple[Intrinsics, list[np.ndarray]]:
    """Intrinsics and distortion from board views; also each view's reprojected corners."""
    w, h = size
    try:
        if fisheye:
            # (1, N, C) per view: OpenCV 5's fisheye.calibrate rejects (N, 1, C).
            objs = [obj.reshape(1, -1, 3)] * len(corners)
            imgs = [c.reshape(1, -1, 2) for c in corners]
            criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)
            _, K, D, rvecs, tvecs = cv2.fisheye.calibrate(
                objs, imgs, (w, h), np.zeros((3, 3)), np.zeros(4), flags=FISHEYE_FLAGS,
                criteria=criteria)
            proj = [cv2.fisheye.projectPoints(obj.reshape(-1, 1, 3), r, t, K, D)[0]
                    for r, t in zip(rvecs, tvecs)]
        else:
            objs = [obj.astype(np.float32)] * len(corners)
            imgs = [c.astype(np.float32) for c in corners]
            _, K, D, rvecs, tvecs = cv2.calibrateCamera(objs, imgs, (w, h), None, None)
            proj = [cv2.projectPoints(obj, r, t, K, D)[0] for r, t in zip(rvecs, tvecs)]
    except cv2.error as exc:
        raise InputError(f"calibration failed ({cv_error_text(exc)}); take more photos with the "
                         "board at varied tilts") from None
    K = np.asarray(K, float)
    lens = Intrinsics((w, h), float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]),
                      "fisheye" if fisheye else "pinhole",
                      tuple(float(v) for v in np.asarray(D).ravel()))
    return lens, [p.reshape(-1, 2) for p in proj]


def floor_pose(lens: Lens, corners: np.ndarray, obj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Board-to-camera pose (R_bc, t_bc) of a planar board from its detected corners."""
    K = lens.K()
    if lens.model == "fisheye":
        pts = cv2.fisheye.undistortPoints(corners.reshape(-1, 1, 2), K, lens.dist_coeffs(),
                                          P=K, criteria=UNDISTORT_CRITERIA).reshape(-1, 2)
        dist = np.zeros(5)
    else:
        pts, dist = corners, lens.dist_coeffs()
    ok, rvec, tvec = cv2.solvePnP(obj, pts, K, dist, flags=cv2.SOLVEPNP_IPPE)
    if not ok:
        raise ValueError("solvePnP found no pose")
    rvec, tvec = cv2.solvePnPRefineLM(obj, pts, K, dist, rvec, tvec)
    return cv2.Rodrigues(rvec)[0], tvec.ravel()


def _reproject(lens: Lens, obj: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    return project_points(lens, obj @ R.T + t)


def calibrate(images: Sequence[ImageInput], board: tuple[int, int], square_m: float,
              fisheye: bool = False, floor: ImageInput | None = None,
              intrinsics: Intrinsics | str | os.PathLike | None = None,
              mount: tuple[float, float, float] | None = None,
              progress: bool = False) -> CalibrationResult:
    """Calibrate a camera from checkerboard photos; see the module docstring.

    `board` counts inner corners (COLS, ROWS) as OpenCV does; `square_m` is a square's side.
    `images` are the board photos (paths or RGB arrays); `intrinsics` (an Intrinsics or an
    OpenCV / ROS file) replaces them. The mount comes from `floor`, a photo of the board
    lying flat on the floor, or is given as `mount` = (height_m, pitch_deg, roll_deg).
    Any problem with the input is an InputError naming the photo or file. `progress`
    shows a progress bar over the board photos (on a terminal).
    """
    from .camera_file import load_intrinsics

    t0 = time.perf_counter()
    cols, rows = board
    if cols < 3 or rows < 3:
        raise InputError(f"the board must have at least 3x3 inner corners, got {cols}x{rows}")
    if not (math.isfinite(square_m) and square_m > 0):
        raise InputError(f"the square size must be > 0 metres, got {square_m:g}")
    if (floor is None) == (mount is None):
        raise InputError("give either a floor photo (the board lying flat on the floor) or the "
                         "mount (height, pitch, roll), not " + ("both" if floor is not None
                                                                else "neither"))
    if intrinsics is not None and len(images):
        raise InputError("with given intrinsics the board photos are not used: give no photos, "
                         "or drop the intrinsics to calibrate them")
    obj = board_points(board, square_m)
    seconds: dict[str, float] = {}
    size: tuple[int, int] | None = None
    per_image: dict[str, float] = {}
    rms = None
    names: list[str] = []
    if intrinsics is None:
        if len(images) < MIN_BOARD_PHOTOS:
            raise InputError(f"need at least {MIN_BOARD_PHOTOS} board photos (10-20 at varied "
                             f"tilts are better), got {len(images)}")
        corners = []
        # disable=None: a bar only on a terminal, so an error stays one line in logs
        bar = tqdm(images, desc="finding boards", unit="photo",
                   disable=None if progress else True, leave=False)
        for i, item in enumerate(bar):
            name = _name(item, f"photo {i + 1}")
            c, size = _board_corners(item, name, board, size)
            corners.append(c)
            names.append(name)
        seconds["detect"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        lens, reprojected = _calibrate_lens(obj, corners, size, fisheye)
        seconds["intrinsics"] = time.perf_counter() - t1
        per_image = {n: _rms(c, p) for n, c, p in zip(names, corners, reprojected)}
        rms = _rms(np.concatenate(corners), np.concatenate(reprojected))
        check_lens("calibration result", size, lens.fx, lens.fy, lens.cx, lens.cy, lens.model,
                   lens.dist)
        if rms > MAX_RMS_PX:
            worst = sorted(per_image.items(), key=lambda kv: -kv[1])[:3]
            raise InputError(f"RMS reprojection error {rms:.2f} px is over the {MAX_RMS_PX:g} px "
                             "limit (worst: " + ", ".join(f"{n} {e:.2f} px" for n, e in worst)
                             + "); retake blurred or moving photos, check --board and --square")
    else:
        lens = intrinsics if isinstance(intrinsics, Intrinsics) else load_intrinsics(
            intrinsics, "fisheye" if fisheye else None)
        if fisheye and lens.model != "fisheye":
            raise InputError("--fisheye given but the intrinsics describe a pinhole lens")
        size = lens.image_size

    t2 = time.perf_counter()
    floor_rms = None
    if floor is not None:
        name = _name(floor, "floor photo")
        img = _load(floor)
        h, w = img.shape[:2]
        if size is not None and (w, h) != tuple(size):
            raise InputError(f"{name}: image is {w}x{h}, the camera's images are "
                             f"{size[0]}x{size[1]}")
        size = (w, h)
        check_lens(name, size, lens.fx, lens.fy, lens.cx, lens.cy, lens.model, lens.dist)
        corners_floor = find_board(img, board)
        if corners_floor is None:
            raise InputError(f"{name}: no {board[0]}x{board[1]} checkerboard found on the floor "
                             "(the whole board must be in the frame; a bigger board or one "
                             "nearer the camera helps)")
        try:
            R, t = floor_pose(lens, corners_floor, obj)
        except (cv2.error, ValueError) as exc:
            raise InputError(f"{name}: no board pose found ({exc})") from None
        floor_rms = _rms(corners_floor, _reproject(lens, obj, R, t))
        if floor_rms > MAX_RMS_PX:
            raise InputError(f"{name}: RMS reprojection error {floor_rms:.2f} px is over the "
                             f"{MAX_RMS_PX:g} px limit (is the board flat, and are these the "
                             "camera's intrinsics?)")
        height_m, pitch_deg, roll_deg = mount_from_board_pose(R, t)
        check_mount(f"{name}: the mount found", height_m, pitch_deg, roll_deg)
    else:
        height_m, pitch_deg, roll_deg = (float(v) for v in mount)
        check_mount("the mount given", height_m, pitch_deg, roll_deg)
        if size is None:
            raise InputError("the intrinsics file gives no image size (image_width, "
                             "image_height): give a floor photo")
    seconds["mount"] = time.perf_counter() - t2
    spec = lens.with_mount(height_m, pitch_deg, roll_deg, image_size=size)
    check_camera(spec, "calibration result")
    seconds["total"] = time.perf_counter() - t0
    return CalibrationResult(spec=spec, rms_px=rms, per_image_px=per_image, used=tuple(names),
                             floor_rms_px=floor_rms, seconds=seconds)


# --------------------------------------------------------------------------- check overlay


@dataclass(frozen=True)
class OverlayLine:
    """One polyline of the overlay: its world points and where the lens puts them."""

    kind: str  # "minor" (every step), "major" (every label step) or "horizon"
    world: np.ndarray  # (N, 3) floor points in metres; for the horizon, world directions
    pixels: np.ndarray  # (N, 2) through the lens
    label: str = ""


def _camera_points(spec: CameraSpec, world: np.ndarray, directions: bool) -> np.ndarray:
    R = spec.rotation()
    return world @ R.T if directions else (world - spec.centre()) @ R.T


def _visible(spec: CameraSpec, cam: np.ndarray, uv: np.ndarray, margin_px: float) -> np.ndarray:
    """Points in front of the camera that land near the image and project one-to-one.

    Polynomial lens models fold back outside the field they were fitted on, which would
    put points from far outside the view into the image; a pixel whose ray, undistorted
    again, is not the ray it came from lies in such a fold and is dropped.
    """
    w, h = spec.image_size
    ok = cam[:, 2] > 1e-6
    with np.errstate(invalid="ignore"):
        ok &= np.isfinite(uv).all(axis=1)
        ok &= (uv[:, 0] > -0.5 - margin_px) & (uv[:, 0] < w - 0.5 + margin_px)
        ok &= (uv[:, 1] > -0.5 - margin_px) & (uv[:, 1] < h - 0.5 + margin_px)
    idx = np.flatnonzero(ok)
    if len(idx):
        ray = cam[idx, :2] / cam[idx, 2:3]
        back = undistort_pixels(spec, uv[idx])
        tol = 1e-4 * np.maximum(1.0, np.linalg.norm(ray, axis=1))
        ok[idx] = np.linalg.norm(back - ray, axis=1) < tol
    return ok


def _runs(mask: np.ndarray) -> list[slice]:
    """Slices of consecutive True values."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [slice(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a >= 2]


def overlay_lines(spec: CameraSpec, step_m: float = 0.1, label_every_m: float = 0.5,
                  ahead_m: float = 3.0, side_m: float = 2.0, sample_m: float = 0.005,
                  horizon_step_deg: float = 0.25, margin_px: float = 8.0,
                  max_step_px: float = 2.0) -> list[OverlayLine]:
    """Floor grid lines and the horizon as polylines through the lens, visible parts only.

    Grid lines run every `step_m` (X = const from -`ahead_m` to `ahead_m` along the view,
    Y = const across it, out to `side_m` each side), sampled every `sample_m` and more
    densely where needed so that neighbouring vertices lie at most `max_step_px` apart:
    straight floor lines bend as the lens bends them; lines every `label_every_m` are "major" and
    labelled. The horizon is the image of the horizontal directions. A line is cut where
    it leaves the view, goes behind the camera or into a fold of the lens model.
    """
    lines: list[OverlayLine] = []
    n_side = int(round(side_m / step_m))
    n_ahead = int(round(ahead_m / step_m))
    major = max(1, int(round(label_every_m / step_m)))
    along = np.linspace(-ahead_m, ahead_m, int(round(2 * ahead_m / sample_m)) + 1)
    across = np.linspace(-side_m, side_m, int(round(2 * side_m / sample_m)) + 1)
    specs = [(i * step_m, along, "x", i) for i in range(-n_side, n_side + 1)] + \
            [(j * step_m, across, "y", j) for j in range(-n_ahead, n_ahead + 1)]
    for value, ts, axis, k in specs:
        world = np.zeros((len(ts), 3))
        if axis == "x":  # a line along the view, `value` to the side
            world[:, 0], world[:, 1] = value, ts
        else:  # a line across the view, `value` ahead
            world[:, 0], world[:, 1] = ts, value
        kind = "major" if k % major == 0 else "minor"
        label = ""
        if kind == "major":
            label = f"{value:+.1f}" if axis == "x" else f"{value:.1f} m"
        lines += _visible_parts(spec, world, False, kind, label, margin_px, max_step_px)
    phi = np.radians(np.arange(-180.0, 180.0, horizon_step_deg))
    directions = np.column_stack([np.sin(phi), np.cos(phi), np.zeros(len(phi))])
    lines += _visible_parts(spec, directions, True, "horizon", "horizon", margin_px,
                            max_step_px)
    return lines


def _project_front(spec: CameraSpec, cam: np.ndarray) -> np.ndarray:
    uv = np.full((len(cam), 2), np.nan)
    front = cam[:, 2] > 1e-6
    uv[front] = project_points(spec, cam[front])
    return uv


def _densify(spec: CameraSpec, world: np.ndarray, directions: bool,
             max_step_px: float) -> np.ndarray:
    """`world` with points added between neighbours whose pixels lie over `max_step_px` apart
    (only where the segment touches the image: far outside it pixels run off to infinity)."""
    w, h = spec.image_size
    for _ in range(3):
        uv = _project_front(spec, _camera_points(spec, world, directions))
        with np.errstate(invalid="ignore"):
            near = (uv[:, 0] > -0.25 * w) & (uv[:, 0] < 1.25 * w) & \
                (uv[:, 1] > -0.25 * h) & (uv[:, 1] < 1.25 * h)
        step = np.linalg.norm(np.diff(uv, axis=0), axis=1)
        wanted = np.isfinite(step) & (near[:-1] | near[1:])
        extra = np.where(wanted, np.ceil(np.where(wanted, step, 0) / max_step_px), 1)
        n = extra.clip(1, 32).astype(int)
        if (n == 1).all():
            break
        seg = np.repeat(np.arange(len(n)), n)
        frac = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(n, n)
        world = np.vstack([world[seg] + frac[:, None] * (world[seg + 1] - world[seg]),
                           world[-1:]])
    return world


def _visible_parts(spec: CameraSpec, world: np.ndarray, directions: bool, kind: str,
                   label: str, margin_px: float, max_step_px: float) -> list[OverlayLine]:
    world = _densify(spec, world, directions, max_step_px)
    cam = _camera_points(spec, world, directions)
    uv = _project_front(spec, cam)
    ok = _visible(spec, cam, uv, margin_px)
    return [OverlayLine(kind, world[s], uv[s], label) for s in _runs(ok)]


_STYLE = {"minor": ((40, 190, 40), 1), "major": ((255, 230, 0), 1),
          "horizon": ((255, 60, 40), 2)}  # RGB, thickness


def _label_priority(line: OverlayLine) -> tuple[int, float]:
    if line.kind == "horizon":
        return 0, 0.0
    across = np.ptp(line.world[:, 0]) > 0
    value = line.world[0, 1] if across else line.world[0, 0]
    return 1, abs(float(value))


def check_overlay(spec: CameraSpec, image: np.ndarray, name: str = "image") -> np.ndarray:
    """The frame with the camera's metric floor grid and horizon drawn over it (RGB uint8)."""
    w, h = spec.image_size
    img = np.asarray(image)
    if img.shape[:2] != (h, w):
        raise InputError(f"{name}: image is {img.shape[1]}x{img.shape[0]}, the camera's images "
                         f"are {w}x{h}")
    out = np.ascontiguousarray(img[..., :3] if img.ndim == 3 else np.repeat(img[..., None], 3, 2))
    out = out.astype(np.uint8, copy=True)
    lines = overlay_lines(spec)
    shift = 4  # sub-pixel vertices: 1/16 px
    for kind in ("minor", "major", "horizon"):
        colour, thick = _STYLE[kind]
        for line in lines:
            if line.kind == kind:
                pts = np.round(line.pixels * (1 << shift)).astype(np.int32).reshape(-1, 1, 2)
                cv2.polylines(out, [pts], False, colour, thick, cv2.LINE_AA, shift)
    taken: list[tuple[int, int, int, int]] = []
    seen: set[str] = set()
    # Nearest lines first; a label that would overlap one already placed is left out.
    for line in sorted((ln for ln in lines if ln.label), key=_label_priority):
        if line.label in seen:
            continue
        inside = (line.pixels[:, 0] >= 4) & (line.pixels[:, 0] < w - 40) & \
                 (line.pixels[:, 1] >= 12) & (line.pixels[:, 1] < h - 4)
        if not inside.any():
            continue
        pix, world = line.pixels[inside], line.world[inside]
        if line.kind == "horizon":
            at = pix[len(pix) // 2]
        elif np.ptp(world[:, 0]) == 0:  # along the view: label it low in the frame
            at = pix[int(np.argmax(pix[:, 1]))]
        else:  # across the view: label it straight ahead
            at = pix[int(np.argmin(np.abs(world[:, 0])))]
        (tw, th), base = cv2.getTextSize(line.label, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
        x, y = int(at[0]) + 3, int(at[1]) - 3
        box = (x - 2, y - th - 2, x + tw + 2, y + base + 2)
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
               for b in taken):
            continue
        taken.append(box)
        seen.add(line.label)
        colour = _STYLE[line.kind][0]
        cv2.putText(out, line.label, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3,
                    cv2.LINE_AA)
        cv2.putText(out, line.label, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1,
                    cv2.LINE_AA)
    return out
