"""Compose one synthetic image: place subjects on the floor, warp, shade, blend, label.

Per image: draw a camera from the view, render the background, place 1..N labelled subjects
(and unlabelled distractors) on the visible floor, each with the view of its class nearest
the elevation the camera sees it from (synth/views.py), its size, yaw and roll from the
catalog, then paste them far-to-near, each with its contact shadow, its colour matched to
the local background and its blend mode. Boxes are the tight boxes of each object's alpha
that is still visible after nearer objects covered it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from .assets import Subject
from .camera import (PRESETS, Camera, apply_homography, cutout_corners, plane_footprint_centre,
                     sample_camera, subject_homography, subject_plane)
from .paste import ALPHA_ON, BLENDS, clip_box, paste, paste_reflection, times_planes
from .catalog import TOP_VIEW_DEG, ClassSpec, pose_of_elevation
from .camera_file import CameraSpec
from .maskpoints import MaskPoints
from .lens import LensMap, camera_record, canvas_to_frame, draw_mount, ideal_camera
from .scene import Background, Frame, SceneBank, render_background
from .views import ClassViews, ViewChoice, choose_view, class_seen, index_views, middle_elevation

# `random` draws a blend per object; poisson is costly, so it is drawn less often.
RANDOM_BLEND_WEIGHTS = (0.45, 0.45, 0.10)
MIN_SIDE_PX = 6  # subjects whose image would be thinner than this are not placed
# A subject may cover at most this share of a labelled frame object's box (or of its own):
FRAME_OVERLAP = 0.05


@dataclass
class ComposeOptions:
    """What `synth generate` controls per image."""

    view: str = "topdown"
    size: tuple[int, int] = (640, 480)
    objects: tuple[int, int] = (2, 4)
    distractors: tuple[int, int] = (0, 0)
    blend: str = "random"
    min_visible: float = 0.25
    height_m: float | None = None
    pitch_deg: float | None = None
    fov_deg: float | None = None
    camera: CameraSpec | None = None  # a calibrated camera (camera.yaml) instead of a preset's


@dataclass
class Library:
    """The subjects a run draws from, as views of objects per class, with premultiplied mip
    pyramids."""

    subjects: list[Subject]
    catalog: dict[str, ClassSpec]
    views: dict[str, ClassViews] = field(default_factory=dict)
    _pyramids: dict[int, list[np.ndarray]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.views = index_views(self.subjects, self.catalog)

    @property
    def classes(self) -> list[str]:
        """Target class names in catalog order."""
        return [c for c in self.views if not self.catalog[c].distractor]

    @property
    def distractor_classes(self) -> list[str]:
        """Distractor class names in catalog order."""
        return [c for c in self.views if self.catalog[c].distractor]

    def pyramid(self, index: int) -> list[np.ndarray]:
        """Premultiplied RGBA uint8 levels of a subject, each half the size of the last."""
        if index not in self._pyramids:
            rgba = self.subjects[index].rgba
            a = rgba[..., 3:4].astype(np.float32) / 255.0
            pm = np.concatenate([rgba[..., :3] * a, rgba[..., 3:4]], axis=2)
            levels = [np.round(pm).astype(np.uint8)]
            while min(levels[-1].shape[:2]) >= 16:
                levels.append(cv2.resize(levels[-1], None, fx=0.5, fy=0.5,
                                         interpolation=cv2.INTER_AREA))
            self._pyramids[index] = levels
        return self._pyramids[index]


@dataclass
class Placement:
    """One pasted subject: where it is, how it looks, and (after compositing) its label."""

    subject: int
    name: str  # the subject's id, e.g. "shoe.psd:shoe/shoe_runner"
    cls: str
    pose: str
    distractor: bool
    H: np.ndarray  # cut-out pixels -> image pixels
    depth: float  # camera-frame depth of where it stands, for far-to-near order
    distance_m: float | None
    yaw_deg: float
    roll_deg: float
    size_m: float | None  # the object's size (its largest view's longer side)
    floor_xy: tuple[float, float] | None  # where it stands (the middle of its footprint)
    plane: np.ndarray | None = None
    capture_elev_deg: float = 90.0
    view_elev_deg: float | None = None  # None: no perspective (the naive paste)
    capture_az_deg: float | None = None
    view_az_deg: float | None = None
    mirrored: bool = False
    blend: str = "alpha"
    bbox: tuple[int, int, int, int] | None = None  # VOC 1-based inclusive
    visible: float = 0.0
    truncated: bool = False
    labelled: bool = False
    difficult: bool = False  # boxed but less than min_visible visible: VOC's `difficult`

    def record(self) -> dict:
        """The manifest's object record."""
        def r2(v):
            return None if v is None else round(float(v), 4)

        def r3(v):
            return None if v is None else round(float(v), 3)

        return {"class": self.cls, "subject": self.name, "pose": self.pose,
                "capture_elev_deg": r3(self.capture_elev_deg),
                "view_elev_deg": r3(self.view_elev_deg),
                "capture_az_deg": r3(self.capture_az_deg), "view_az_deg": r3(self.view_az_deg),
                "mirrored": self.mirrored, "distance_m": r2(self.distance_m),
                "yaw_deg": round(self.yaw_deg, 3), "roll_deg": round(self.roll_deg, 3),
                "size_m": r2(self.size_m), "bbox": list(self.bbox) if self.bbox else None,
                "visible": round(self.visible, 4), "truncated": self.truncated,
                "blend": self.blend, "labelled": self.labelled, "difficult": self.difficult}


@dataclass
class Composite:
    """A composed image (before camera effects) and everything its manifest line needs."""

    rgb: np.ndarray
    camera: Camera  # the ideal camera it was composed with
    background: str
    objects: list[Placement]
    camera_record: dict = field(default_factory=dict)  # the manifest's camera record
    frame_objects: list = field(default_factory=list)  # a labelled frame's own (VocObject)
    floor_gloss: float = 0.0

    @property
    def size(self) -> tuple[int, int]:
        """(W, H) of the image."""
        return self.rgb.shape[1], self.rgb.shape[0]


def _choose_blend(mode: str, rng: np.random.Generator) -> str:
    if mode != "random":
        return mode
    return BLENDS[int(rng.choice(len(BLENDS), p=RANDOM_BLEND_WEIGHTS))]


def _floor_sampler_rows(camera: Camera, max_distance: float) -> tuple[float, float]:
    """Image rows between which the floor nearer than `max_distance` lies (may exceed image)."""
    H = camera.height
    horizon = camera.horizon_row()
    if not math.isfinite(horizon):
        return -0.15 * H, 1.15 * H
    top = max(camera.row_of_distance(max_distance), horizon + 1.0, -0.15 * H)
    return top, 1.15 * H


def sample_floor_point(camera: Camera, max_distance_m: float, rng: np.random.Generator,
                       mask_pts: MaskPoints | None = None,
                       rows: tuple[float, float] | None = None
                       ) -> tuple[float, float, tuple[float, float]] | None:
    """A random image point on the floor nearer than `max_distance_m` (from a floor mask's
    pixels if given; `rows` as _floor_sampler_rows gives them, if known): (x, y, floor XY),
    or None if the draw missed the floor."""
    W = camera.width
    top, bottom = rows or _floor_sampler_rows(camera, max_distance_m)
    if mask_pts is None:
        if not (math.isfinite(top) and top < bottom):  # no floor within reach in the frame
            return None
        x = rng.uniform(-0.15 * W, 1.15 * W)
        y = rng.uniform(top, bottom)
    else:  # a pixel of the floor mask, jittered within the pixel
        y, x = mask_pts[int(rng.integers(len(mask_pts)))] + rng.uniform(-0.5, 0.5, size=2)
    xy = camera.floor_point(float(x), float(y))
    if not (math.isfinite(xy[0]) and math.isfinite(xy[1])) or math.hypot(*xy) > max_distance_m:
        return None
    return float(x), float(y), xy


def max_distance(camera_view: str, wall_distance_m: float) -> float:
    """How far from the camera subjects may stand: the view's limit, short of the wall."""
    return min(PRESETS[camera_view].max_distance_m, 0.9 * wall_distance_m)


def placement_samples(opts: ComposeOptions, rng: np.random.Generator, n: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Where the cameras of `opts` would place subjects: (camera heights (n,), floor points
    (n, 2)) for n draws in the frame, a camera per 10 of them; empty for the flat view."""
    preset = PRESETS[opts.view]
    if not preset.perspective:
        return np.zeros(0), np.zeros((0, 2))
    W, Hh = opts.size
    heights: list[float] = []
    points: list[np.ndarray] = []
    for _ in range(40 * n):
        if len(points) >= n:
            break
        if len(points) % 10 == 0:
            if opts.camera is None:
                camera = sample_camera(opts.view, rng, W, Hh, opts.height_m, opts.pitch_deg,
                                       opts.fov_deg)
            else:  # the frame's pinhole part is enough to tell the angles
                h, pitch, _ = draw_mount(opts.camera, rng)
                c = opts.camera
                camera = Camera(h, pitch, 60.0, W, Hh, c.fx, c.fy, c.cx, c.cy)
            max_d = max_distance(opts.view, float(rng.uniform(*preset.wall_distance_m)))
            rows = _floor_sampler_rows(camera, max_d)
        point = sample_floor_point(camera, max_d, rng, rows=rows)
        if point is not None and 0 <= point[0] < W and 0 <= point[1] < Hh:
            heights.append(camera.height_m)
            points.append(point[2])
    return np.asarray(heights), np.asarray(points).reshape(-1, 2)


def seen_elevations(opts: ComposeOptions, rng: np.random.Generator, n: int) -> np.ndarray:
    """Elevations from which the cameras of `opts` see the floor points where subjects are
    placed (n draws); empty for a view without perspective."""
    heights, points = placement_samples(opts, rng, n)
    return middle_elevation(heights, points, 90.0, 0.0)


def overlaps_frame_objects(box: tuple[float, float, float, float],
                           frame_boxes: list[tuple[float, float, float, float]]) -> bool:
    """Whether a subject's box covers more than FRAME_OVERLAP of a frame object's box (or
    of its own): continuous (x0, y0, x1, y1) boxes."""
    x0, y0, x1, y1 = box
    area = max(x1 - x0, 0.0) * max(y1 - y0, 0.0)
    for fx0, fy0, fx1, fy1 in frame_boxes:
        iw = min(x1, fx1) - max(x0, fx0)
        ih = min(y1, fy1) - max(y0, fy0)
        if iw > 0 and ih > 0:
            inter = iw * ih
            smaller = min(area, (fx1 - fx0) * (fy1 - fy0))
            if inter > FRAME_OVERLAP * max(smaller, 1e-9):
                return True
    return False


def _frame_boxes(objects: list, lens: LensMap | None) -> list[tuple[float, float, float, float]]:
    """A frame's object boxes in the canvas placements work in (continuous pixels)."""
    out = []
    for o in objects:
        x0, y0, x1, y1 = o.bbox[0] - 1.0, o.bbox[1] - 1.0, float(o.bbox[2]), float(o.bbox[3])
        if lens is None:
            out.append((x0, y0, x1, y1))
            continue
        # the box's outline through the lens map into the canvas
        H, W = lens.map_x.shape
        xs = np.clip(np.r_[np.linspace(x0, x1 - 1, 16), np.full(16, x1 - 1),
                           np.linspace(x0, x1 - 1, 16), np.full(16, x0)], 0, W - 1).astype(int)
        ys = np.clip(np.r_[np.full(16, y0), np.linspace(y0, y1 - 1, 16), np.full(16, y1 - 1),
                           np.linspace(y0, y1 - 1, 16)], 0, H - 1).astype(int)
        mx, my = lens.map_x[ys, xs], lens.map_y[ys, xs]
        ok = mx > -5
        if ok.any():
            out.append((float(mx[ok].min()), float(my[ok].min()),
                        float(mx[ok].max()) + 1, float(my[ok].max()) + 1))
    return out


def _place_perspective(lib: Library, cls: str, camera: Camera, bg: Background,
                       opts: ComposeOptions, placed: list[Placement],
                       rng: np.random.Generator, mask_pts: MaskPoints | None,
                       frame_boxes: list | None = None) -> Placement | None:
    spec = lib.catalog[cls]
    max_d = max_distance(opts.view, bg.wall_distance_m)
    W, Hh = camera.width, camera.height
    rows = _floor_sampler_rows(camera, max_d)
    if mask_pts is not None:
        mask_pts = mask_pts.below(rows[0])
        if len(mask_pts) == 0:
            return None
    for _ in range(40):
        point = sample_floor_point(camera, max_d, rng, mask_pts, rows)
        if point is None:
            continue
        x, y, xy = point
        if bg.floor_mask is not None:
            xi, yi = int(round(x)), int(round(y))
            if not (0 <= xi < W and 0 <= yi < Hh and bg.floor_mask[yi, xi]):
                continue
        cv = lib.views[cls]
        size = rng.uniform(*spec.size_m)
        # Cheap early out before a view is chosen: an anchor farther outside the frame than
        # the subject can reach (half its size sideways, its size below) leaves it mostly out.
        depth = float(camera.to_camera(np.array([[xy[0], xy[1], 0.0]]))[0, 2])
        reach = camera.focal * size / max(depth, 1e-6)
        if max(-x, x - W) > 0.6 * reach or y - Hh > reach:
            continue
        seen_by_view = class_seen(cv, np.array([camera.height_m]), np.array([xy]), size)[0]
        # Most draws are refused (off the frame, on another subject): test the nearest view,
        # unturned, before drawing the view and its pose, then test what was drawn.
        rough = int(np.argmin(np.abs(seen_by_view - cv.elevations)))
        rough_wh = lib.subjects[cv.subjects[rough]].rgba.shape[1::-1]
        rough_size = cv.size_m[rough] if cv.size_m[rough] is not None else size
        rough_ref = None if cv.size_m[rough] is not None else cv.ref_px[cv.object_of[rough]]
        if _fits(camera, subject_plane(cv.elev_deg[rough], (float(xy[0]), float(xy[1])),
                                       rough_size, rough_wh, ref_px=rough_ref),
                 rough_wh, rough_size, placed, frame_boxes) is None:
            continue
        ch = choose_view(cv, spec, seen_by_view, rng)
        seen = float(seen_by_view[ch.view])
        subject = lib.subjects[ch.subject]
        h, w = subject.rgba.shape[:2]
        size = ch.size_m if ch.size_m is not None else size
        ref = None if ch.size_m is not None else ch.ref_px
        # A top view turns freely, lean and all; a side view's lean stays along the line of
        # sight, so its verticals stand upright when turned round from its azimuth.
        plane = subject_plane(ch.capture_elev_deg, (float(xy[0]), float(xy[1])), size, (w, h),
                              ch.turn_deg, ch.roll_deg, ref_px=ref, mirror=ch.mirrored,
                              lean_turns=ch.capture_elev_deg >= TOP_VIEW_DEG)
        fit = _fits(camera, plane, (w, h), size, placed, frame_boxes)
        if fit is None:
            continue
        Hs, foot = fit
        foot_c = camera.to_camera(np.array([[foot[0], foot[1], 0.0]]))[0]
        return _placement(lib, ch, spec, Hs, float(foot_c[2]), math.hypot(*xy), size,
                          (float(foot[0]), float(foot[1])), plane, seen)
    return None


@lru_cache(maxsize=4096)
def _corners_h(wh: tuple[int, int]) -> np.ndarray:
    """A cut-out's corners in homogeneous coordinates, (4, 3) (read-only)."""
    q = np.column_stack([cutout_corners(wh), np.ones(4)])
    q.flags.writeable = False
    return q


def _fits(camera: Camera, plane: np.ndarray, wh: tuple[int, int], size: float,
          placed: list[Placement], frame_boxes: list | None
          ) -> tuple[np.ndarray, np.ndarray] | None:
    """(homography, footprint centre) of a subject plane that may be placed: apart from the
    subjects already placed, in front of the camera, big enough, mostly inside the frame
    and off the frame's own objects; None otherwise."""
    W, Hh = camera.width, camera.height
    foot = plane_footprint_centre(plane, wh)
    # Solid things do not interpenetrate: keep them apart by most of their radii.
    if any(p.floor_xy is not None and math.dist(p.floor_xy, foot) < 0.35 * (p.size_m + size)
           for p in placed):
        return None
    Hs = subject_homography(camera, plane)
    # The projection's last row is the camera's z axis, so the corners' third homogeneous
    # coordinate is their depth in front of the camera. (Four corners in plain floats.)
    q = (_corners_h(wh) @ Hs.T).tolist()
    if min(c[2] for c in q) < 0.05:
        return None  # part of the subject is behind (or at) the camera
    xs, ys = [c[0] / c[2] for c in q], [c[1] / c[2] for c in q]
    x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
    if min(x1 - x0, y1 - y0) < MIN_SIDE_PX or (x1 - x0) > 1.6 * W or (y1 - y0) > 1.6 * Hh:
        return None
    ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x1, W), min(y1, Hh)
    if ix1 <= ix0 or iy1 <= iy0 or (ix1 - ix0) * (iy1 - iy0) < 0.4 * (x1 - x0) * (y1 - y0):
        return None  # mostly outside the frame
    if frame_boxes and overlaps_frame_objects((x0, y0, x1, y1), frame_boxes):
        return None  # on top of one of the frame's own labelled objects
    return Hs, foot


def _placement(lib: Library, ch: ViewChoice, spec: ClassSpec, H: np.ndarray, depth: float,
               distance: float | None, size: float | None, foot: tuple[float, float] | None,
               plane: np.ndarray | None, seen: float | None) -> Placement:
    subject = lib.subjects[ch.subject]
    return Placement(ch.subject, subject.name, subject.cls, pose_of_elevation(ch.capture_elev_deg),
                     spec.distractor, H, depth, distance, ch.yaw_deg, ch.roll_deg, size, foot,
                     plane, capture_elev_deg=ch.capture_elev_deg, view_elev_deg=seen,
                     capture_az_deg=ch.capture_az_deg, view_az_deg=ch.view_az_deg,
                     mirrored=ch.mirrored)


def _place_flat(lib: Library, cls: str, camera: Camera, rng: np.random.Generator,
                mask_pts: MaskPoints | None, frame_boxes: list | None = None) -> Placement | None:
    """The naive 2-D paste: any view, uniform random scale and in-plane rotation, anywhere
    (but not on a labelled frame object)."""
    spec = lib.catalog[cls]
    ch = choose_view(lib.views[cls], spec, None, rng)
    h, w = lib.subjects[ch.subject].rgba.shape[:2]
    W, Hh = camera.width, camera.height
    long_px = rng.uniform(0.08, 0.45) * min(W, Hh)
    k = long_px / max(w, h)
    angle = rng.uniform(-180.0, 180.0)
    if mask_pts is not None and len(mask_pts):
        cy, cx = mask_pts[int(rng.integers(len(mask_pts)))]
    else:
        cx, cy = rng.uniform(0.05 * W, 0.95 * W), rng.uniform(0.05 * Hh, 0.95 * Hh)
    a = math.radians(angle)
    A = np.array([[k * math.cos(a), -k * math.sin(a), 0.0],
                  [k * math.sin(a), k * math.cos(a), 0.0], [0.0, 0.0, 1.0]])
    A[:2, 2] = np.array([cx, cy]) - A[:2, :2] @ np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    if ch.mirrored:
        A = A @ np.array([[-1.0, 0.0, w - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    if frame_boxes:
        quad = apply_homography(A, cutout_corners((w, h)))
        if overlaps_frame_objects((*quad.min(axis=0), *quad.max(axis=0)), frame_boxes):
            return None
    ch.yaw_deg, ch.roll_deg = float(angle), 0.0
    return _placement(lib, ch, spec, A, 0.0, None, None, None, None, None)


def label_placements(placed: list[tuple[Placement, tuple]], W: int, Hh: int, min_visible: float,
                     lens: LensMap | None = None) -> None:
    """Set each placement's visible box, fraction and truncation, nearest first; a target
    subject with a box is labelled at `min_visible` or more, else difficult.

    W x Hh is the canvas the alpha patches live in; with a `lens` the canvas is the ideal
    image around a real frame: visibility counts canvas pixels the frame sees, and the box
    is the tight box of the visible alpha moved into the frame by the lens.
    """
    cover = np.ones((Hh, W), np.float32)  # product of (1 - alpha) of nearer objects
    for p, (alpha, x0, y0, full_area) in reversed(placed):
        sl = clip_box(x0, y0, alpha.shape, W, Hh)
        ps, cs = sl
        a = alpha[ps]
        vis = a * cover[cs]
        cover[cs] *= 1.0 - a
        on = vis >= ALPHA_ON
        inside = a >= ALPHA_ON
        if lens is not None:
            seen = lens.footprint[cs]
            on, inside = on & seen, inside & seen
        n_vis = int(np.count_nonzero(on))
        p.visible = n_vis / full_area
        p.truncated = int(np.count_nonzero(inside)) < full_area
        if n_vis == 0:
            continue
        if lens is not None:
            frame_vis, fx0, fy0 = lens.remap_patch(vis, cs[1].start, cs[0].start)
            on = frame_vis >= ALPHA_ON
            if not on.any():
                continue
            cs = (slice(fy0, fy0 + on.shape[0]), slice(fx0, fx0 + on.shape[1]))
        rows = np.nonzero(on.any(axis=1))[0]
        cols = np.nonzero(on.any(axis=0))[0]
        # 0-based pixel indices -> VOC's 1-based inclusive coordinates
        p.bbox = (int(cols[0] + cs[1].start + 1), int(rows[0] + cs[0].start + 1),
                  int(cols[-1] + cs[1].start + 1), int(rows[-1] + cs[0].start + 1))
        p.labelled = (not p.distractor) and p.visible >= min_visible
        # Left unlabelled, its visible pixels would be trained as background.
        p.difficult = (not p.distractor) and not p.labelled


def _frame(spec: CameraSpec, roll_deg: float, lens: LensMap) -> Frame:
    """The real frame inside the lens's ideal canvas; the inverse map is made on first use."""
    maps: list = []

    def to_canvas(image: np.ndarray, interpolation: int) -> np.ndarray:
        if not maps:
            maps.extend(canvas_to_frame(spec, roll_deg, lens))
        return cv2.remap(image, maps[0], maps[1], interpolation,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    return Frame(spec.image_size, to_canvas, lens.footprint)


def _through_lens(canvas: np.ndarray, bg: Background, lens: LensMap) -> np.ndarray:
    """The composed canvas as the real frame sees it; a real frame's own pixels are kept
    wherever nothing was pasted or shaded (they are not resampled twice)."""
    out = lens.remap(canvas)
    if bg.frame_rgb is None:
        return out
    changed = np.any(canvas != bg.rgb, axis=2).astype(np.uint8)
    changed = cv2.dilate(changed, np.ones((3, 3), np.uint8)).astype(np.float32)
    m = lens.remap(changed)
    mixed = times_planes(bg.frame_rgb.astype(np.float32), 1.0 - m)
    mixed += times_planes(out.astype(np.float32), m)
    mixed += 0.5
    return mixed.astype(np.uint8)


def compose(lib: Library, bank: SceneBank, opts: ComposeOptions,
            rng: np.random.Generator, shadows: bool = True) -> Composite:
    """Compose one image (RGB uint8, before camera effects) with its labelled objects."""
    preset = PRESETS[opts.view]
    lens = frame = None
    if opts.camera is None:
        camera = sample_camera(opts.view, rng, *opts.size, opts.height_m, opts.pitch_deg,
                               opts.fov_deg)
        record = camera.summary()
    else:
        mount = draw_mount(opts.camera, rng)
        camera, lens = ideal_camera(opts.camera, *mount)
        record = camera_record(opts.camera, *mount)
        frame = _frame(opts.camera, mount[2], lens) if lens is not None else None
    W, Hh = camera.width, camera.height
    bg = render_background(bank, camera, preset, rng, frame)
    classes = lib.classes
    n_obj = int(rng.integers(opts.objects[0], opts.objects[1] + 1))
    dis = lib.distractor_classes
    n_dis = int(rng.integers(opts.distractors[0], opts.distractors[1] + 1)) if dis else 0
    picks = [classes[int(rng.integers(len(classes)))] for _ in range(n_obj)]
    if n_dis:  # distractor classes in proportion to their objects
        weights = np.array([len(lib.views[c].objects) for c in dis], float)
        picks += [dis[int(rng.choice(len(dis), p=weights / weights.sum()))] for _ in range(n_dis)]

    placed: list[Placement] = []
    mask_pts = MaskPoints(bg.floor_mask) if bg.floor_mask is not None else None
    boxes = _frame_boxes(bg.objects, lens)  # subjects keep off all of a frame's objects
    for cls in picks:
        if preset.perspective:
            p = _place_perspective(lib, cls, camera, bg, opts, placed, rng, mask_pts, boxes)
        else:
            p = _place_flat(lib, cls, camera, rng, mask_pts, boxes)
        if p is not None:
            p.blend = _choose_blend(opts.blend, rng)
            placed.append(p)
    if preset.perspective:
        placed.sort(key=lambda p: -p.depth)  # far to near; the sort is stable for ties

    light = None
    strength = 0.0
    if shadows and preset.perspective:
        az, el = rng.uniform(0, 2 * math.pi), math.radians(rng.uniform(50, 80))
        light = np.array([-math.cos(el) * math.cos(az), -math.cos(el) * math.sin(az), -math.sin(el)])
        strength = float(rng.uniform(0.3, 0.55))
    canvas = bg.rgb.copy()
    if bg.gloss > 0 and preset.perspective:
        for p in placed:  # lying subjects mirror onto themselves: only standing ones show
            if p.plane is not None and p.capture_elev_deg < TOP_VIEW_DEG:
                paste_reflection(canvas, lib.pyramid(p.subject), p.plane, camera, bg.gloss,
                                 bg.floor_top)
    pasted = []
    for p in placed:
        lift = 0.04 * p.size_m if p.capture_elev_deg >= TOP_VIEW_DEG and p.size_m else 0.0
        out = paste(canvas, lib.pyramid(p.subject), p.H, p.blend, rng, camera, p.plane, light,
                    strength, lift)
        if out is not None:
            pasted.append((p, out))
    label_placements(pasted, W, Hh, opts.min_visible, lens)
    rgb = canvas if lens is None else _through_lens(canvas, bg, lens)
    return Composite(rgb, camera, bg.id, [p for p, _ in pasted], record,
                     [o for o in bg.objects if o.name in lib.classes], bg.gloss)
