"""Exact synthetic photos of a checkerboard through a known camera, and board poses.

The oracle of the calibration tests and benchmarks, and a way to try a setup before printing
a board: `render_board_photo` traces every sub-pixel through the lens model onto the board
plane; `held_board_poses` gives poses of a board held in front of the camera at varied
tilts, `floor_board_pose` one lying on the floor. Board points map to camera points as
X_c = R_bc X_b + t_bc, the inner corners being `synth.calibrate.board_points(board, square)`.
"""
from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from .camera_file import CameraSpec, Intrinsics
from .lens import Lens, project_points, undistort_pixels


@lru_cache(maxsize=2)
def _ray_map(size: tuple[int, int], K: tuple[float, ...], model: str, dist: tuple[float, ...],
             supersample: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised rays (H*s, W*s, 2) of the sub-pixel samples, and where the lens maps 1:1."""
    w, h = size
    lens = Intrinsics(size, K[0], K[1], K[2], K[3], model, dist)
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    pix = np.column_stack([u.ravel(), v.ravel()])
    rays = undistort_pixels(lens, pix)
    back = project_points(lens, np.column_stack([rays, np.ones(len(rays))]))
    good = (np.linalg.norm(back - pix, axis=1) < 1e-3).reshape(h, w).astype(np.uint8)
    rays = rays.reshape(h, w, 2).astype(np.float32)
    if supersample > 1:
        # resize samples the source at (x + 0.5) / s - 0.5: exactly the sub-pixel centres.
        rays = cv2.resize(rays, (w * supersample, h * supersample),
                          interpolation=cv2.INTER_LINEAR)
        good = cv2.resize(good, (w * supersample, h * supersample),
                          interpolation=cv2.INTER_NEAREST)
    return rays, good.astype(bool)


def render_board_photo(lens: Lens, board: tuple[int, int], square_m: float,
                       R_bc: np.ndarray, t_bc: np.ndarray, supersample: int = 3,
                       noise: float = 1.5, seed: int = 0, margin_squares: float = 1.0,
                       ) -> np.ndarray:
    """An exact photo (RGB uint8) of a COLSxROWS checkerboard at pose R_bc, t_bc through `lens`.

    Each sub-pixel sample (`supersample`^2 a pixel) takes its ray from the lens model
    (OpenCV's undistortPoints), meets the board plane and reads the checker there; the board
    has a white margin of `margin_squares` squares and lies before a smooth grey background.
    Gaussian noise of `noise` grey levels is added (seeded). Board points map to camera
    points as X_c = R_bc X_b + t_bc, the inner corners being `board_points(board, square_m)`.
    """
    cols, rows = board
    w, h = lens.image_size
    ss = supersample
    rays, good = _ray_map((w, h), (lens.fx, lens.fy, lens.cx, lens.cy), lens.model,
                          tuple(lens.dist), ss)
    R = np.asarray(R_bc, np.float64)
    t = np.asarray(t_bc, np.float64).ravel()
    m = margin_squares * square_m
    lo, hi = np.array([-square_m - m, -square_m - m]), np.array([cols * square_m + m,
                                                                 rows * square_m + m])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    value = 110.0 + 25.0 * np.sin(xx / 97.0 + 0.6) * np.cos(yy / 71.0)  # smooth background
    window = _board_window(lens, R, t, lo, hi)
    if window is not None:
        x0, y0, x1, y1 = window  # only pixels the board may cover are supersampled
        sub = rays[y0 * ss:y1 * ss, x0 * ss:x1 * ss].astype(np.float64)
        ok = good[y0 * ss:y1 * ss, x0 * ss:x1 * ss]
        x, y = sub[..., 0], sub[..., 1]
        n = R[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = (n @ t) / (n[0] * x + n[1] * y + n[2])
            # Board coordinates of the hit point: R^T (lam * ray - t).
            pb = [lam * (R[0, k] * x + R[1, k] * y + R[2, k]) - (R[:, k] @ t) for k in (0, 1)]
            i = np.floor(pb[0] / square_m) + 1
            j = np.floor(pb[1] / square_m) + 1
            hit = ok & np.isfinite(lam) & (lam > 0)
            on_board = hit & (pb[0] >= lo[0]) & (pb[0] <= hi[0]) & (pb[1] >= lo[1]) & \
                (pb[1] <= hi[1])
        bg = np.repeat(np.repeat(value[y0:y1, x0:x1], ss, axis=0), ss, axis=1)
        fine = np.where(on_board, 215.0, bg)
        fine[on_board & (i >= 0) & (i <= cols) & (j >= 0) & (j <= rows)
             & (((i + j) % 2) == 0)] = 35.0
        value[y0:y1, x0:x1] = fine.reshape(y1 - y0, ss, x1 - x0, ss).mean(axis=(1, 3))
    if noise > 0:
        value = value + np.random.default_rng(seed).normal(0.0, noise, value.shape)
    grey = np.clip(np.round(value), 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def _board_window(lens: Lens, R: np.ndarray, t: np.ndarray, lo: np.ndarray,
                  hi: np.ndarray) -> tuple[int, int, int, int] | None:
    """Pixel box (x0, y0, x1, y1) holding the board's image, the whole frame if unsure,
    None when the board is not in view."""
    w, h = lens.image_size
    s = np.linspace(0.0, 1.0, 65)
    edge = [np.column_stack([lo[0] + s * (hi[0] - lo[0]), np.full_like(s, v)]) for v in lo[1:]]
    edge += [np.column_stack([lo[0] + s * (hi[0] - lo[0]), np.full_like(s, hi[1])])]
    edge += [np.column_stack([np.full_like(s, v), lo[1] + s * (hi[1] - lo[1])])
             for v in (lo[0], hi[0])]
    outline = np.concatenate(edge)
    cam = np.column_stack([outline, np.zeros(len(outline))]) @ R.T + t
    if (cam[:, 2] <= 1e-3).any():
        return 0, 0, w, h
    uv = project_points(lens, cam)
    x0, y0 = np.floor(uv.min(axis=0)).astype(int) - 3
    x1, y1 = np.ceil(uv.max(axis=0)).astype(int) + 4
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _rot(axis: int, deg: float) -> np.ndarray:
    return cv2.Rodrigues(np.eye(3)[axis] * math.radians(deg))[0]


def held_board_poses(lens: Lens, board: tuple[int, int], square_m: float, n: int,
                     seed: int = 0, fill: tuple[float, float] = (0.35, 0.7),
                     max_tilt_deg: float = 40.0) -> list[tuple[np.ndarray, np.ndarray]]:
    """`n` poses (R_bc, t_bc) of a board held in front of the camera at varied tilts.

    Each board fills a fraction `fill` of the image width, is tilted up to `max_tilt_deg`
    about both of its axes and turned in its plane, and lies wholly inside the frame with
    its margin, spread over the image so the lens's edges are covered too.
    """
    rng = np.random.default_rng(seed)
    cols, rows = board
    w, h = lens.image_size
    centre_b = np.array([(cols - 1) * square_m / 2, (rows - 1) * square_m / 2, 0.0])
    ext = np.array([[-2, -2], [cols + 1, -2], [cols + 1, rows + 1], [-2, rows + 1]], float)
    outline = np.column_stack([ext * square_m, np.zeros(4)])  # board with its margin
    width_m = (cols + 3) * square_m
    poses: list[tuple[np.ndarray, np.ndarray]] = []
    tries = 0
    while len(poses) < n:
        tries += 1
        if tries > 200 * n:
            raise ValueError("cannot fit the board in the frame: use a smaller board or lens")
        R = _rot(2, rng.uniform(-20, 20)) @ _rot(0, rng.uniform(-max_tilt_deg, max_tilt_deg)) \
            @ _rot(1, rng.uniform(-max_tilt_deg, max_tilt_deg))
        dist = lens.fx * width_m / (rng.uniform(*fill) * w)
        target = np.array([rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h])
        ray = undistort_pixels(lens, target[None])[0]
        direction = np.array([ray[0], ray[1], 1.0])
        t = direction / np.linalg.norm(direction) * dist - R @ centre_b
        cam = outline @ R.T + t
        if (cam[:, 2] <= 0.05).any():
            continue
        uv = project_points(lens, cam)
        if (uv[:, 0] > 4).all() and (uv[:, 0] < w - 5).all() and (uv[:, 1] > 4).all() and \
                (uv[:, 1] < h - 5).all():
            poses.append((R, t))
    return poses


def floor_board_pose(spec: CameraSpec, board: tuple[int, int], square_m: float,
                     ahead_m: float, side_m: float = 0.0,
                     yaw_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Pose (R_bc, t_bc) of a board lying on the floor, centred `ahead_m` in front of the camera."""
    cols, rows = board
    a = math.radians(yaw_deg)
    R_bw = np.array([[math.cos(a), -math.sin(a), 0.0],
                     [math.sin(a), math.cos(a), 0.0],
                     [0.0, 0.0, 1.0]])
    centre_b = np.array([(cols - 1) * square_m / 2, (rows - 1) * square_m / 2, 0.0])
    t_w = np.array([side_m, ahead_m, 0.0]) - R_bw @ centre_b
    R_wc = spec.rotation()
    return R_wc @ R_bw, R_wc @ (t_w - spec.centre())
