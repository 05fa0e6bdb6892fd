"""A real camera's lens and roll, as one remap from its ideal pinhole image.

With `--camera camera.yaml` every image is composed in the IDEAL image of that camera: a
pinhole with the same focal lengths, no roll, on a canvas large enough to hold everything
the real frame sees. One remap then takes it to the real frame: for each output pixel,
its ray through the lens (OpenCV's own model, cv2.undistortPoints / fisheye), rotated by
the camera's roll, projected into the ideal canvas. The same map moves every object's
visible alpha, so boxes are tight boxes of the distorted alpha.

The ideal canvas is a pinhole image, so it cannot hold rays at or beyond 90° from the
optical axis: output pixels whose rays lie outside MAX_CANVAS times the frame stay black
(a fisheye lens wider than about 150° shows a dark rim), as do pixels a polynomial lens
model cannot reach (beyond the radius where its distortion turns back).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .camera import Camera, mount_rotation
from .camera_file import CameraSpec, Intrinsics

Lens = CameraSpec | Intrinsics  # what the projections need: K(), dist_coeffs(), model

MAX_CANVAS = 3.0  # the ideal canvas is at most this many times the frame, per side
NEWTON_TOL_PX = 1e-9  # undistort_pixels refines a ray until it reprojects this close
UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-14)


def project_points(spec: Lens, points_cam: np.ndarray) -> np.ndarray:
    """Camera-frame points (N, 3) to real-frame pixels (N, 2) through the lens."""
    pts = np.asarray(points_cam, np.float64).reshape(-1, 1, 3)
    if len(pts) == 0:
        return np.zeros((0, 2))
    zero = np.zeros(3)
    if spec.model == "fisheye":
        uv, _ = cv2.fisheye.projectPoints(pts, zero, zero, spec.K(), spec.dist_coeffs())
    else:
        uv, _ = cv2.projectPoints(pts, zero, zero, spec.K(), spec.dist_coeffs())
    return uv.reshape(-1, 2)


def undistort_pixels(spec: Lens, pixels: np.ndarray, newton_steps: int = 3) -> np.ndarray:
    """Real-frame pixels (N, 2) to normalised ray coordinates (x/z, y/z) (N, 2).

    OpenCV's iterative undistortion drifts by pixels near the corners of a strongly
    distorted lens; a few Newton steps on projectPoints (its own forward model) pin every
    ray to where that model sends it back.
    """
    pts = np.asarray(pixels, np.float64).reshape(-1, 1, 2)
    if len(pts) == 0:
        return np.zeros((0, 2))
    if spec.model == "fisheye":
        out = cv2.fisheye.undistortPoints(pts, spec.K(), spec.dist_coeffs(),
                                          criteria=UNDISTORT_CRITERIA)
    else:
        out = cv2.undistortPoints(pts, spec.K(), spec.dist_coeffs(),
                                  criteria=UNDISTORT_CRITERIA)
    xy = out.reshape(-1, 2).copy()
    target = pts.reshape(-1, 2)
    eps = 1e-6
    active = np.arange(len(xy))
    for _ in range(newton_steps):
        # Pixels already within NEWTON_TOL_PX of their target would move by less than a
        # float64's rounding: only the others take the step (a fraction near the corners).
        base = project_points(spec, np.column_stack([xy[active], np.ones(len(active))]))
        r = target[active] - base
        moving = np.abs(r).max(axis=1) > NEWTON_TOL_PX
        active, base, r = active[moving], base[moving], r[moving]
        if len(active) == 0:
            break
        a = xy[active]
        dx = project_points(spec, np.column_stack([a + [eps, 0.0], np.ones(len(a))]))
        dy = project_points(spec, np.column_stack([a + [0.0, eps], np.ones(len(a))]))
        J = np.stack([(dx - base) / eps, (dy - base) / eps], axis=2)  # (N, 2 px, 2 xy)
        det = J[:, 0, 0] * J[:, 1, 1] - J[:, 0, 1] * J[:, 1, 0]
        good = np.abs(det) > 1e-12
        step = np.zeros_like(a)
        step[good, 0] = (J[good, 1, 1] * r[good, 0] - J[good, 0, 1] * r[good, 1]) / det[good]
        step[good, 1] = (-J[good, 1, 0] * r[good, 0] + J[good, 0, 0] * r[good, 1]) / det[good]
        xy[active] = a + step
    return xy


def roll_matrix(roll_deg: float) -> np.ndarray:
    """Rotation from the un-rolled camera frame to the rolled one (synth.camera.mount_rotation)."""
    s, c = math.sin(math.radians(roll_deg)), math.cos(math.radians(roll_deg))
    return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


class NoRays(ValueError):
    """A lens whose distortion sends no pixel back to a ray in front of the camera."""


@lru_cache(maxsize=4)
def _rays(spec: CameraSpec) -> np.ndarray:
    """Unit rays (H, W, 3) of every real-frame pixel, in the camera frame."""
    W, H = spec.image_size
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    pix = np.column_stack([xs.ravel(), ys.ravel()])
    xy = undistort_pixels(spec, pix)
    rays = np.column_stack([xy, np.ones(len(xy))])
    # Beyond the radius where a polynomial distortion turns back, pixels have no ray at
    # all (a lens fitted far past its field, typically the outermost corners): left dark.
    miss = np.abs(project_points(spec, rays) - pix).max(axis=1) > 0.05
    rays[miss] = np.nan
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    return rays.reshape(H, W, 3)


def is_identity(spec: CameraSpec, roll_deg: float) -> bool:
    """Whether the real frame is its ideal image (no distortion, no roll)."""
    return roll_deg == 0.0 and not np.any(spec.dist_coeffs())


@dataclass
class LensMap:
    """Where each real-frame pixel samples the ideal canvas, and the canvas's geometry."""

    map_x: np.ndarray  # (H, W) float32 canvas x of each real-frame pixel (-1: outside)
    map_y: np.ndarray
    canvas_size: tuple[int, int]  # (W', H')
    offset: tuple[float, float]  # canvas pixel = ideal-image pixel + offset
    footprint: np.ndarray  # (H', W') bool: canvas pixels the real frame sees

    def __post_init__(self) -> None:
        # the canvas rows each frame row samples, and the columns each frame column does:
        # remap_patch's window (a pixel that sees nothing, at -10, only widens it)
        self._rows = (self.map_y.min(axis=1), self.map_y.max(axis=1))
        self._cols = (self.map_x.min(axis=0), self.map_x.max(axis=0))

    def remap(self, image: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
        """An ideal-canvas image (or alpha) as the real frame sees it."""
        return cv2.remap(image, self.map_x, self.map_y, interpolation,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    def remap_patch(self, patch: np.ndarray, x0: int, y0: int) -> tuple[np.ndarray, int, int]:
        """A patch of the canvas whose top-left pixel is (x0, y0), in the real frame: the
        window of the frame that samples it, and the window's left and top; the frame is 0
        outside it (bilinear taps reach a pixel past the patch; the window holds every frame
        row and column whose samples reach that far)."""
        h, w = patch.shape[:2]
        rows = np.flatnonzero((self._rows[1] > y0 - 1) & (self._rows[0] < y0 + h))
        cols = np.flatnonzero((self._cols[1] > x0 - 1) & (self._cols[0] < x0 + w))
        if len(rows) == 0 or len(cols) == 0:
            return np.zeros((0, 0) + patch.shape[2:], patch.dtype), 0, 0
        win = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        out = cv2.remap(patch, self.map_x[win] - np.float32(x0), self.map_y[win] - np.float32(y0),
                        cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return out, int(cols[0]), int(rows[0])


@dataclass(frozen=True)
class _PlaneRays:
    """Every real-frame pixel's forward ray as (x/z, y/z), the same for every roll."""

    xy: np.ndarray  # (H, W, 2) float64; 0 where a pixel has no forward ray
    missing: np.ndarray  # flat indices of the pixels without one
    hull: np.ndarray  # (K, 2) the convex hull of the rays that exist


@lru_cache(maxsize=4)
def _plane_rays(spec: CameraSpec) -> _PlaneRays:
    """The rays every per-roll lens map of `spec` is computed from."""
    W, H = spec.image_size
    r = _rays(spec).reshape(-1, 3)
    z = r[:, 2]
    forward = np.isfinite(z) & (z > 1e-6)
    xy = np.zeros((H * W, 2))
    xy[forward] = r[forward, :2] / z[forward, None]
    # the hull's vertices, found on float32 copies (cv2.convexHull's input): an extreme it
    # misses is within float32 rounding of one it keeps, far inside the canvas's margin
    ahead = xy[forward]
    hull = (cv2.convexHull(ahead.astype(np.float32), returnPoints=False).ravel()
            if len(ahead) else np.zeros(0, np.int64))
    return _PlaneRays(xy.reshape(H, W, 2), np.flatnonzero(~forward), ahead[hull])


def prepare_lens(spec: CameraSpec) -> None:
    """Compute (and cache) the rays of a distorting lens's pixels, which every image reuses."""
    rolls = spec.roll_deg != 0.0 or (spec.jitter is not None and spec.jitter.roll_deg != 0.0)
    if rolls or np.any(spec.dist_coeffs()):
        _plane_rays(spec)


def lens_map(spec: CameraSpec, roll_deg: float) -> LensMap:
    """The remap from the ideal canvas of `spec` (rolled by `roll_deg`) to its real frame."""
    rays = _plane_rays(spec)
    if len(rays.hull) == 0:
        raise NoRays("no pixel of the camera sees forward")
    # the roll and the pinhole projection are one affine map of (x/z, y/z): u = fx (cos r x/z
    # - sin r y/z) + cx, v = fy (sin r x/z + cos r y/z) + cy
    sr, cr = math.sin(math.radians(roll_deg)), math.cos(math.radians(roll_deg))
    M = np.array([[spec.fx * cr, -spec.fx * sr, spec.cx], [spec.fy * sr, spec.fy * cr, spec.cy]])
    # an affine map takes its extremes over a point set at the set's hull vertices
    points, outside = rays.hull @ M[:, :2].T + M[:, 2], rays.missing
    if not _in_canvas(points, spec.image_size).all():
        # a lens wider than the canvas holds: its outer rays stay outside, like missing ones
        flat = cv2.transform(rays.xy, M).reshape(-1, 2)
        ok = _in_canvas(flat, spec.image_size)
        ok[rays.missing] = False
        if not ok.any():
            raise NoRays("no pixel of the camera sees forward")
        points, outside = flat[ok], np.flatnonzero(~ok)
    x0, y0, size = _canvas_bounds(points[:, 0], points[:, 1], spec.image_size)
    M[:, 2] -= (x0, y0)
    map_x, map_y = cv2.split(cv2.transform(rays.xy, M).astype(np.float32))
    map_x.ravel()[outside] = -10.0
    map_y.ravel()[outside] = -10.0
    return LensMap(map_x, map_y, size, (-x0, -y0), _footprint(map_x, map_y, size))


def _in_canvas(uv: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Which ideal-image points uv (N, 2) lie within MAX_CANVAS times the frame."""
    W, H = image_size
    lim_x, lim_y = (MAX_CANVAS - 1) / 2 * W, (MAX_CANVAS - 1) / 2 * H
    u, v = uv[:, 0], uv[:, 1]
    return (u > -lim_x) & (u < W - 1 + lim_x) & (v > -lim_y) & (v < H - 1 + lim_y)


def _canvas_bounds(u: np.ndarray, v: np.ndarray, image_size: tuple[int, int]
                   ) -> tuple[float, float, tuple[int, int]]:
    """The canvas around the frame and the points (u, v), with a margin for bilinear taps:
    its top-left corner in ideal-image pixels (x0, y0) and its size."""
    W, H = image_size
    x0 = math.floor(min(u.min(), 0.0)) - 2
    y0 = math.floor(min(v.min(), 0.0)) - 2
    x1 = math.ceil(max(u.max(), W - 1.0)) + 3
    y1 = math.ceil(max(v.max(), H - 1.0)) + 3
    return float(x0), float(y0), (x1 - x0, y1 - y0)


def _footprint(map_x: np.ndarray, map_y: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Canvas pixels inside the outline of the real frame's border, mapped."""
    H, W = map_x.shape
    border = np.concatenate([
        np.column_stack([np.arange(W), np.zeros(W, int)]),
        np.column_stack([np.full(H, W - 1), np.arange(H)]),
        np.column_stack([np.arange(W - 1, -1, -1), np.full(W, H - 1)]),
        np.column_stack([np.zeros(H, int), np.arange(H - 1, -1, -1)])])
    pts = np.column_stack([map_x[border[:, 1], border[:, 0]], map_y[border[:, 1], border[:, 0]]])
    pts = pts[pts[:, 0] > -5]
    mask = np.zeros((size[1], size[0]), np.uint8)
    if len(pts) >= 3:
        cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], 1, lineType=cv2.LINE_8,
                     shift=4)
    return mask.astype(bool)


def canvas_to_frame(spec: CameraSpec, roll_deg: float, lens: LensMap,
                    step: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The inverse remap: for each ideal-canvas pixel, the real-frame pixel it shows.

    Projected through the lens on every `step`-th pixel and interpolated bilinearly (the
    map is smooth): this moves a frame recorded by the camera into its ideal canvas.
    """
    Wc, Hc = lens.canvas_size
    gx = np.arange(0, Wc + step, step, dtype=np.float64)
    gy = np.arange(0, Hc + step, step, dtype=np.float64)
    xs, ys = np.meshgrid(gx, gy)
    dx, dy = lens.offset
    rays = np.column_stack([(xs.ravel() - dx - spec.cx) / spec.fx,
                            (ys.ravel() - dy - spec.cy) / spec.fy, np.ones(xs.size)])
    uv = project_points(spec, rays @ roll_matrix(roll_deg).T)
    coarse_x = uv[:, 0].reshape(xs.shape).astype(np.float32)
    coarse_y = uv[:, 1].reshape(xs.shape).astype(np.float32)
    fy, fx = np.mgrid[0:Hc, 0:Wc].astype(np.float32) / np.float32(step)
    return (cv2.remap(coarse_x, fx, fy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE),
            cv2.remap(coarse_y, fx, fy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))


def draw_mount(spec: CameraSpec, rng: np.random.Generator) -> tuple[float, float, float]:
    """Height, pitch and roll of one image: the mount plus its jitter (three draws, like
    synth.camera.sample_camera, so a camera file without jitter renders as its flags do)."""
    j = spec.jitter
    dh, dp, dr = (rng.uniform(-1.0, 1.0) for _ in range(3))
    if j is None:
        return spec.height_m, spec.pitch_deg, spec.roll_deg
    return (max(spec.height_m + j.height_m * dh, 1e-3),
            float(np.clip(spec.pitch_deg + j.pitch_deg * dp, -45.0, 90.0)),
            spec.roll_deg + j.roll_deg * dr)


def horizontal_fov(spec: CameraSpec) -> float:
    """The ideal image's horizontal field of view, degrees."""
    return math.degrees(2.0 * math.atan(spec.image_size[0] / 2.0 / spec.fx))


def ideal_camera(spec: CameraSpec, height_m: float, pitch_deg: float,
                 roll_deg: float) -> tuple[Camera, LensMap | None]:
    """The pinhole camera images are composed with, and the map to the real frame (None when
    the frame is its ideal image)."""
    W, H = spec.image_size
    fov = horizontal_fov(spec)
    if is_identity(spec, roll_deg):
        return Camera(height_m, pitch_deg, fov, W, H, spec.fx, spec.fy, spec.cx, spec.cy), None
    lens = lens_map(spec, roll_deg)
    dx, dy = lens.offset
    return Camera(height_m, pitch_deg, fov, *lens.canvas_size, spec.fx, spec.fy,
                  spec.cx + dx, spec.cy + dy), lens


def camera_record(spec: CameraSpec, height_m: float, pitch_deg: float, roll_deg: float) -> dict:
    """The manifest's camera record for an image made through `spec`: the whole camera."""
    return {"height_m": round(height_m, 4), "pitch_deg": round(pitch_deg, 3),
            "fov_deg": round(horizontal_fov(spec), 3), "roll_deg": round(roll_deg, 3),
            "image_size": list(spec.image_size), "fx": spec.fx, "fy": spec.fy,
            "cx": spec.cx, "cy": spec.cy, "model": spec.model, "dist": list(spec.dist)}


def spec_from_record(record: dict) -> CameraSpec | None:
    """The camera of a manifest record written by camera_record (None for a view preset's)."""
    if "fx" not in record:
        return None
    return CameraSpec(tuple(record["image_size"]), float(record["fx"]), float(record["fy"]),
                      float(record["cx"]), float(record["cy"]), float(record["height_m"]),
                      float(record["pitch_deg"]), float(record.get("roll_deg", 0.0)),
                      str(record["model"]), tuple(float(v) for v in record["dist"]))


def horizon_polyline(spec: CameraSpec, n: int = 64) -> np.ndarray:
    """Real-frame pixels (M, 2) of the horizon (far floor points all round the front), for
    drawing; empty when it is out of view."""
    R = mount_rotation(spec.pitch_deg, spec.roll_deg)
    az = np.linspace(-85.0, 85.0, n)
    dirs = np.column_stack([np.sin(np.radians(az)), np.cos(np.radians(az)), np.zeros(n)])
    cam = dirs @ R.T
    W, H = spec.image_size
    ok = cam[:, 2] > 1e-3
    # A lens model only holds over the field it was fitted on: beyond the frame's corners a
    # polynomial distortion folds rays back into the image. Keep rays inside that field.
    corners = undistort_pixels(spec, np.array([[0, 0], [W - 1, 0], [0, H - 1], [W - 1, H - 1]]))
    r_max = 1.05 * float(np.hypot(corners[:, 0], corners[:, 1]).max())
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.hypot(cam[:, 0] / cam[:, 2], cam[:, 1] / cam[:, 2])
    ok &= r <= r_max
    uv = project_points(spec, cam[ok])
    keep = (uv[:, 0] >= -1) & (uv[:, 0] <= W) & (uv[:, 1] >= -1) & (uv[:, 1] <= H)
    return uv[keep]
