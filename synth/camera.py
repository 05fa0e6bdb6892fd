"""The pinhole camera above the floor and the planes subjects live on.

World frame: the floor is the plane Z = 0, Z points up, the camera stands at (0, 0, h) and
looks along +Y, pitched `pitch_deg` below the horizon. Camera frame (OpenCV): x right,
y down, z forward. Pixel coordinates are OpenCV's: the centre of pixel column j is x = j,
so an image W pixels wide spans x in [-0.5, W - 0.5].

A subject is a textured rectangle in 3-D: a photograph taken from some capture elevation
(90 = from straight above, 0 = from the side) is the plane perpendicular to that direction,
facing the camera. A 90° view lies on the floor, its top pointing away from the camera;
any other rests on the floor with the bottom centre of its cut-out and leans back by
(90° - elevation) from the vertical (0° stands). The map from cut-out pixels to image
pixels is then a homography (`subject_homography`), which is what makes scale fall with
distance and keeps the proportions of a view seen from near its capture elevation.
"""
from __future__ import annotations

import math
from functools import cached_property
from dataclasses import dataclass

import numpy as np


def mount_rotation(pitch_deg: float, roll_deg: float = 0.0) -> np.ndarray:
    """World-to-camera rotation of a camera looking along +Y, pitched and rolled.

    World: floor Z = 0, Z up, the camera looks along +Y (yaw 0). Camera (OpenCV): x right,
    y down, z forward. `pitch_deg` is the angle of the optical axis below the horizon
    (0 = level, negative = looking up). `roll_deg` turns the camera about its optical axis;
    positive roll dips the camera's right side, so the horizon rises to the right in the image.
    The rows of the result are the camera's x, y, z axes in world terms.
    """
    s, c = math.sin(math.radians(pitch_deg)), math.cos(math.radians(pitch_deg))
    pitched = np.array([[1.0, 0.0, 0.0],
                        [0.0, -s, -c],
                        [0.0, c, -s]])
    sr, cr = math.sin(math.radians(roll_deg)), math.cos(math.radians(roll_deg))
    roll = np.array([[cr, sr, 0.0], [-sr, cr, 0.0], [0.0, 0.0, 1.0]])
    return roll @ pitched


@dataclass(frozen=True)
class Camera:
    """An ideal pinhole camera at `height_m` above the floor, pitched `pitch_deg` below the
    horizon (0 = level, negative = looking up), with horizontal FOV `fov_deg`.

    `fx, fy, cx, cy` (pixels) give the intrinsics of a calibrated camera; left None they
    follow from the FOV: square pixels, the principal point at the image centre.
    """

    height_m: float
    pitch_deg: float
    fov_deg: float
    width: int
    height: int
    fx: float | None = None
    fy: float | None = None
    cx: float | None = None
    cy: float | None = None

    @cached_property
    def focal(self) -> float:
        """Horizontal focal length in pixels."""
        if self.fx is not None:
            return float(self.fx)
        return (self.width / 2.0) / math.tan(math.radians(self.fov_deg) / 2.0)

    @cached_property
    def focal_y(self) -> float:
        """Vertical focal length in pixels."""
        return float(self.fy) if self.fy is not None else self.focal

    @cached_property
    def K(self) -> np.ndarray:
        cx = (self.width - 1) / 2.0 if self.cx is None else float(self.cx)
        cy = (self.height - 1) / 2.0 if self.cy is None else float(self.cy)
        return np.array([[self.focal, 0.0, cx],
                         [0.0, self.focal_y, cy],
                         [0.0, 0.0, 1.0]])

    @cached_property
    def _principal(self) -> np.ndarray:
        return self.K[:2, 2].copy()

    @cached_property
    def _focals(self) -> np.ndarray:
        return np.diag(self.K)[:2].copy()

    @cached_property
    def R(self) -> np.ndarray:
        """World-to-camera rotation: its rows are the camera's x, y, z axes in world terms."""
        return mount_rotation(self.pitch_deg, 0.0)

    @cached_property
    def centre(self) -> np.ndarray:
        return np.array([0.0, 0.0, self.height_m])

    @cached_property
    def P(self) -> np.ndarray:
        """3x4 projection matrix K [R | -R C]."""
        return self.K @ np.hstack([self.R, (-self.R @ self.centre)[:, None]])

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (N, 3) in the camera frame (N, 3)."""
        return (np.asarray(points, float) - self.centre) @ self.R.T

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points (N, 3) to pixels (N, 2); points behind the camera give NaN."""
        pc = self.to_camera(points)
        z = pc[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = (pc[:, :2] / z[:, None]) * np.diag(self.K)[:2] + self.K[:2, 2]
        uv[z <= 1e-9] = np.nan
        return uv

    def floor_homography(self) -> np.ndarray:
        """3x3 homography from floor coordinates (X, Y, 1) in metres to pixels."""
        P = self.P
        return P[:, [0, 1, 3]]

    def pixel_to_floor(self, uv: np.ndarray) -> np.ndarray:
        """Pixels (N, 2) to floor points (N, 2); pixels at or above the horizon give NaN."""
        uv = np.atleast_2d(np.asarray(uv, float))
        rays_c = np.ones((len(uv), 3))
        rays_c[:, :2] = (uv - self._principal) / self._focals
        rays_w = rays_c @ self.R  # camera-to-world is R transposed
        down = rays_w[:, 2] < -1e-12
        t = -self.height_m / np.where(down, rays_w[:, 2], -1.0)
        xy = rays_w[:, :2] * t[:, None]
        xy[~down] = np.nan
        return xy

    def floor_point(self, u: float, v: float) -> tuple[float, float]:
        """One pixel's pixel_to_floor in plain floats (placement draws thousands a second,
        and numpy's call overhead is most of the cost for one point): the same numbers."""
        R = self._rows
        (px, py), (fx, fy) = self._plain_intrinsics
        a, b = (u - px) / fx, (v - py) / fy
        down = a * R[0][2] + b * R[1][2] + R[2][2]
        if not down < -1e-12:
            return math.nan, math.nan
        t = -self.height_m / down
        return (a * R[0][0] + b * R[1][0] + R[2][0]) * t, (a * R[0][1] + b * R[1][1] + R[2][1]) * t

    @cached_property
    def _rows(self) -> list[list[float]]:
        return self.R.tolist()

    @cached_property
    def _plain_intrinsics(self) -> tuple[list[float], list[float]]:
        return self._principal.tolist(), self._focals.tolist()

    def horizon_row(self) -> float:
        """Image row of the horizon (can lie outside the image; -inf looking straight down)."""
        t = math.tan(math.radians(self.pitch_deg))
        if self.pitch_deg >= 90.0 - 1e-9:
            return -math.inf
        return self.K[1, 2] - self.focal_y * t

    def row_of_distance(self, distance_m: float) -> float:
        """Image row where the floor at forward distance `distance_m` (straight ahead) appears."""
        return float(self.project(np.array([[0.0, distance_m, 0.0]]))[0, 1])

    def summary(self) -> dict:
        """The manifest's camera record (height, pitch, FOV)."""
        return {"height_m": round(self.height_m, 4), "pitch_deg": round(self.pitch_deg, 3),
                "fov_deg": round(self.fov_deg, 3)}

    def shifted(self, width: int, height: int, dx: float, dy: float) -> "Camera":
        """The same camera imaging onto a larger canvas whose origin is (-dx, -dy) here."""
        K = self.K
        return Camera(self.height_m, self.pitch_deg, self.fov_deg, width, height,
                      fx=K[0, 0], fy=K[1, 1], cx=K[0, 2] + dx, cy=K[1, 2] + dy)


@dataclass(frozen=True)
class ViewPreset:
    """Ranges a view draws its camera from (uniform), and how far from the camera subjects lie."""

    name: str
    height_m: tuple[float, float]
    pitch_deg: tuple[float, float]
    fov_deg: tuple[float, float]
    max_distance_m: float  # subjects are placed no farther than this (horizontal distance)
    wall_distance_m: tuple[float, float]  # where the backdrop's wall meets the floor
    perspective: bool = True


# Documented in `synth generate --help`; `--height/--pitch/--fov` replace a range by one value.
PRESETS: dict[str, ViewPreset] = {
    "topdown": ViewPreset("topdown", (0.60, 1.00), (85.0, 90.0), (60.0, 75.0), 3.0, (6.0, 8.0)),
    # Floor robots carry their camera 5-9 cm up, looking level or a little up: in frames of
    # a public sweeping-robot obstacle dataset the horizon sits in the lower third and the
    # floor is a band along the bottom (issue 13). With a 80-110° lens that is a pitch of
    # 0 to -15°.
    "robot": ViewPreset("robot", (0.05, 0.09), (-15.0, 0.0), (80.0, 110.0), 1.8, (3.0, 6.0)),
    "human": ViewPreset("human", (1.40, 1.75), (25.0, 50.0), (55.0, 70.0), 5.0, (5.0, 8.0)),
    # The naive 2-D paste: the floor seen from above, subjects at random scale and rotation.
    "flat": ViewPreset("flat", (0.80, 0.80), (90.0, 90.0), (65.0, 65.0), 3.0, (8.0, 8.0),
                       perspective=False),
}


def sample_camera(view: str, rng: np.random.Generator, width: int, height: int,
                  height_m: float | None = None, pitch_deg: float | None = None,
                  fov_deg: float | None = None) -> Camera:
    """Draw a camera from a view preset; given values override the preset's ranges."""
    p = PRESETS[view]
    h = rng.uniform(*p.height_m)
    pitch = rng.uniform(*p.pitch_deg)
    fov = rng.uniform(*p.fov_deg)
    return Camera(height_m=h if height_m is None else height_m,
                  pitch_deg=pitch if pitch_deg is None else pitch_deg,
                  fov_deg=fov if fov_deg is None else fov_deg,
                  width=width, height=height)


def view_elevation(camera: "Camera", floor_xy: tuple[float, float]) -> float:
    """Degrees above the horizontal from which the camera sees a floor point (90 = from above)."""
    return math.degrees(math.atan2(camera.height_m, math.hypot(*floor_xy)))


def bearing(floor_xy: tuple[float, float]) -> np.ndarray:
    """Horizontal unit vector from the camera's foot to a floor point (+Y straight below)."""
    x, y = floor_xy
    r = math.hypot(x, y)
    return np.array([x / r, y / r, 0.0]) if r > 1e-9 else np.array([0.0, 1.0, 0.0])


def subject_axes(elev_deg: float, floor_xy: tuple[float, float], turn_deg: float,
                 roll_deg: float, lean_turns: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """World directions of the cut-out's +u (right) and +v (down) axes.

    The cut-out is a photograph taken from `elev_deg` above the horizontal, so its plane is
    perpendicular to that capture direction: it faces the camera (its horizontal axis
    perpendicular to the line of sight), tilted back from the vertical by the elevation
    (0 stands, 90 lies on the floor), then turned about the vertical by `turn_deg`
    (counter-clockwise seen from above) and rolled within its own plane by `roll_deg`.

    With `lean_turns` False only the horizontal axis turns; the plane still leans along the
    line of sight (a shear). A plane leaning by e and turned by t shows the photo's vertical
    slanted by about e·sin t, where the object's own verticals stand upright (a pedestal
    fan shot from 20° below and seen 33° round leant 12°); the sheared plane keeps them
    upright, and the photo's horizontals horizontal.
    """
    # In plain floats: placement tries thousands of planes per second, and 3-vectors as
    # arrays cost more in numpy's call overhead than in arithmetic.
    x, y = float(floor_xy[0]), float(floor_xy[1])
    r = math.hypot(x, y)
    sx, sy = (x / r, y / r) if r > 1e-9 else (0.0, 1.0)  # the line of sight
    t = math.radians(turn_deg)
    ct, st = math.cos(t), math.sin(t)
    bx, by = ct * sx - st * sy, st * sx + ct * sy  # the turned bearing
    lx, ly = (bx, by) if lean_turns else (sx, sy)  # the lean's direction
    a = math.radians(elev_deg)
    sa, ca = math.sin(a), math.cos(a)
    u = (by, -bx, 0.0)  # b x up: the photo's right
    v = (-sa * lx, -sa * ly, -ca)  # the photo's down
    rr = math.radians(roll_deg)
    cr, sr = math.cos(rr), math.sin(rr)
    return (np.array([cr * u[0] - sr * v[0], cr * u[1] - sr * v[1], cr * u[2] - sr * v[2]]),
            np.array([sr * u[0] + cr * v[0], sr * u[1] + cr * v[1], sr * u[2] + cr * v[2]]))


def subject_plane(elev_deg: float, floor_xy: tuple[float, float], size_m: float,
                  cutout_wh: tuple[int, int], turn_deg: float = 0.0, roll_deg: float = 0.0,
                  ref_px: float | None = None, mirror: bool = False,
                  lean_turns: bool = True) -> np.ndarray:
    """Map from cut-out pixels (u, v, 1) to world points (homogeneous 3-D, Z included).

    Returns a 4x3 matrix M with world = M @ [u, v, 1] (last row [0, 0, 1]). The cut-out is
    `size_m` metres per `ref_px` pixels (default: its longer side). A view shot from 90°
    lies on the floor centred on `floor_xy`; any other rests on it with the middle of its
    bottom edge (the nearest contact, as photographed). `mirror` flips it left to right;
    `lean_turns` as in subject_axes.
    """
    w, h = cutout_wh
    s = size_m / (ref_px if ref_px else max(w, h))
    e_u, e_v = subject_axes(elev_deg, floor_xy, turn_deg, roll_deg, lean_turns)
    if mirror:
        e_u = -e_u
    # Pixel u spans [u - 0.5, u + 0.5], so the cut-out's edges are at -0.5 and w - 0.5.
    cu = (w - 1) / 2.0
    cv = (h - 1) / 2.0 if elev_deg >= 90.0 else h - 0.5
    anchor = np.array([floor_xy[0], floor_xy[1], 0.0])
    M = np.zeros((4, 3))
    M[:3, 0] = s * e_u
    M[:3, 1] = s * e_v
    M[:3, 2] = anchor - cu * s * e_u - cv * s * e_v
    M[3, 2] = 1.0
    return M


def plane_footprint_centre(plane: np.ndarray, cutout_wh: tuple[int, int]) -> np.ndarray:
    """Floor point (X, Y) under the middle of a subject plane: where it stands, for spacing
    and far-to-near order."""
    w, h = cutout_wh
    c = plane @ np.array([(w - 1) / 2.0, (h - 1) / 2.0, 1.0])
    return c[:2]


def subject_homography(camera: Camera, plane: np.ndarray) -> np.ndarray:
    """3x3 homography from cut-out pixels to image pixels for a plane from `subject_plane`."""
    return camera.P @ plane


def shadow_homography(camera: Camera, plane: np.ndarray, light_dir: np.ndarray) -> np.ndarray:
    """Homography from cut-out pixels to the image of the subject's shadow on the floor.

    Each point P of the plane is pushed along the light direction L (pointing from the light
    towards the floor, L_z < 0) to P - (P_z / L_z) L, which is linear in P, so the shadow
    is again a homography.
    """
    L = np.asarray(light_dir, float)
    proj = np.eye(4)
    proj[:3, 2] -= L / L[2]  # P' = P - P_z * L / L_z
    proj[2, :] = 0.0
    return camera.P @ proj @ plane


def cutout_corners(cutout_wh: tuple[int, int]) -> np.ndarray:
    """The cut-out's four outer corners in its own pixel coordinates."""
    w, h = cutout_wh
    return np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])


def apply_homography(H: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map (N, 2) points through a 3x3 homography."""
    pts = np.asarray(pts, float)
    q = np.column_stack([pts, np.ones(len(pts))]) @ H.T
    return q[:, :2] / q[:, 2:3]
