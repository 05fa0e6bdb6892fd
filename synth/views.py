"""Which view of a subject the camera sees, and whether a class has the views a camera needs.

A class's subjects are views of physical objects, each photographed from a capture elevation
(and maybe an azimuth). For a placement the camera sees each view's middle from some
elevation, but never from higher than it sees the object's top or the view's own top edge
(`class_seen`: a camera under the rim of a bowl cannot look into it, and a view that looks
into it must not be drawn with its far rim above the camera).
`choose_view` takes the class's views whose capture elevation is nearest (near ties within
TIE_DEG drawn at random), an object among those that have one, and among that object's
views at that elevation the azimuth nearest the side the camera faces — mirrored copies too
where the class is left-right symmetric. What is left over (the residual angle)
is what the plane's homography foreshortens.

`coverage_gaps` estimates, before rendering, the viewing elevations a camera produces and
reports the classes whose views are too far from them to look right.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .assets import Subject, capture_elevation
from .catalog import TOP_VIEW_DEG, ClassSpec, pose_ranges, wrap_azimuth

TIE_DEG = 5.0  # capture elevations this close to the nearest count as equally near
MAX_TURN_DEG = 45.0  # an azimuth view is used for cameras at most this far around from it
GAP_DEG = 20.0  # a placement seen this far from every capture elevation is badly covered
GAP_SHARE = 0.25  # ... and a class with more than this share of such placements is warned of


@dataclass
class ClassViews:
    """The views of one class: global subject indices, capture angles and object grouping."""

    cls: str
    subjects: list[int] = field(default_factory=list)
    elev_deg: list[float] = field(default_factory=list)
    az_deg: list[float | None] = field(default_factory=list)
    size_m: list[float | None] = field(default_factory=list)  # declared; None = catalog's
    h_px: list[int] = field(default_factory=list)  # cut-out height of each view
    long_px: list[int] = field(default_factory=list)  # its longer side
    _scale: tuple | None = field(default=None, repr=False)
    object_of: list[int] = field(default_factory=list)  # object index of each view
    objects: list[str] = field(default_factory=list)
    ref_px: list[int] = field(default_factory=list)  # per object: its largest view's longer side

    _arrays: tuple | None = field(default=None, repr=False)
    _lean: tuple | None = field(default=None, repr=False)

    @property
    def elevations(self) -> np.ndarray:
        """Capture elevation of each view."""
        return self.arrays[0]

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(capture elevations, object index) of every view, as arrays (made once)."""
        if self._arrays is None:
            self._arrays = (np.asarray(self.elev_deg, float), np.asarray(self.object_of, int))
        return self._arrays

    def heights_m(self, size_m: float) -> np.ndarray:
        """Metres each view's cut-out spans from bottom to top for an object of `size_m`."""
        if self._scale is None:  # per view: metres of height per metre of size, or declared
            h = np.asarray(self.h_px, float)
            ref = np.asarray([self.ref_px[k] for k in self.object_of], float)
            declared = np.asarray([np.nan if v is None else v for v in self.size_m], float)
            self._scale = (h / ref, declared * h / np.asarray(self.long_px, float))
        per_size, declared = self._scale
        return np.where(np.isnan(declared), size_m * per_size, declared)

    def tops_m(self, size_m: float) -> np.ndarray:
        """Per view, how high its object stands (metres): the height of the object's lowest
        view below TOP_VIEW_DEG, upright; 0 for an object with only views from above."""
        _, _, low, upright, _, _ = self.lean
        return self.heights_m(size_m)[low] * upright

    @property
    def lean(self) -> tuple[np.ndarray, ...]:
        """Per view (made once): `lean_of` its capture elevation; its object's lowest view
        below TOP_VIEW_DEG (0 if none) and that view's upright share, cos(elevation) (0 if
        none); the index of its (object, capture elevation) group; and the views in group
        order with where each group starts, for np.maximum.reduceat."""
        if self._lean is None:
            elev, obj = self.arrays
            lowest = np.full(len(self.objects), -1)
            for v in np.argsort(elev, kind="stable")[::-1]:
                if elev[v] < TOP_VIEW_DEG:
                    lowest[obj[v]] = v
            low = lowest[obj]
            upright = np.where(low >= 0, np.cos(np.radians(elev[low])), 0.0)
            group = np.unique(np.column_stack([obj, elev]), axis=0,
                              return_inverse=True)[1].reshape(-1)
            order = np.argsort(group, kind="stable")
            starts = np.flatnonzero(np.r_[True, np.diff(group[order]) != 0])
            self._lean = (*lean_of(elev), np.maximum(low, 0), upright, group, (order, starts))
        return self._lean


def lean_of(elev_deg) -> tuple[np.ndarray, np.ndarray]:
    """Per metre of cut-out height, how far up and how far back from its contact point the
    middle of a view shot from `elev_deg` stands: (cos(elev) / 2, sin(elev) / 2), and 0 for
    a view from above, which lies on the floor."""
    e = np.radians(elev_deg)
    lying = np.asarray(elev_deg, float) >= 90.0
    return np.where(lying, 0.0, 0.5 * np.cos(e)), np.where(lying, 0.0, 0.5 * np.sin(e))


def _elevation(camera_height_m, floor_xy, up_m, back_m) -> np.ndarray:
    """Degrees above the horizontal from which a camera over the origin sees a point `up_m`
    above and `back_m` beyond the floor point `floor_xy`."""
    xy = np.asarray(floor_xy, float)
    return _elevation_at(camera_height_m, np.hypot(xy[..., 0], xy[..., 1]), up_m, back_m)


def _elevation_at(camera_height_m, distance_m, up_m, back_m) -> np.ndarray:
    """_elevation of a floor point `distance_m` from the camera's foot."""
    return np.degrees(np.arctan2(np.asarray(camera_height_m, float) - up_m, distance_m + back_m))


def middle_elevation(camera_height_m, floor_xy, elev_deg, height_m) -> np.ndarray:
    """Degrees above the horizontal from which a camera at `camera_height_m` (over the
    origin) sees the middle of a view shot from `elev_deg` whose cut-out spans `height_m`
    in its plane, resting on `floor_xy` (broadcasts over arrays).

    A view from above lies on the floor: its middle is (about) its contact point. Any
    other leans back from its contact point, so its middle stands (height/2) cos(elev) up
    and (height/2) sin(elev) farther away: a tall fan seen by a low camera is seen from
    below, a lying rag from where it lies.
    """
    up, back = lean_of(elev_deg)
    h = np.asarray(height_m, float)
    return _elevation(camera_height_m, floor_xy, h * up, h * back)


def index_views(subjects: list[Subject], catalog: dict[str, ClassSpec]) -> dict[str, ClassViews]:
    """Group subjects into per-class views of objects (catalog order)."""
    out: dict[str, ClassViews] = {}
    object_index: dict[tuple[str, str], int] = {}
    for i, s in enumerate(subjects):
        cv = out.setdefault(s.cls, ClassViews(s.cls))
        key = (s.cls, s.object or s.name)
        if key not in object_index:
            object_index[key] = len(cv.objects)
            cv.objects.append(key[1])
            cv.ref_px.append(0)
        k = object_index[key]
        cv.subjects.append(i)
        cv.elev_deg.append(capture_elevation(s, catalog))
        cv.az_deg.append(s.az_deg)
        cv.size_m.append(s.size_m)
        cv.h_px.append(s.rgba.shape[0])
        cv.long_px.append(max(s.rgba.shape[:2]))
        cv.object_of.append(k)
        cv.ref_px[k] = max(cv.ref_px[k], max(s.rgba.shape[:2]))
    return {c: out[c] for c in catalog if c in out}


@dataclass
class ViewChoice:
    """The view used for one placement and how it is posed."""

    view: int  # index into ClassViews' lists
    subject: int  # global subject index
    capture_elev_deg: float
    capture_az_deg: float | None  # of the view as used (a mirrored view's is negated)
    view_az_deg: float | None  # where the camera stands in the object's frame
    mirrored: bool
    yaw_deg: float  # the object's turn from facing the camera, about the vertical
    turn_deg: float  # the plane's turn from facing the camera (the residual)
    roll_deg: float  # in the plane
    ref_px: int  # pixels the size refers to
    size_m: float | None  # declared size of the view, else None


def choose_view(cv: ClassViews, spec: ClassSpec, seen_elev_deg: float | np.ndarray | None,
                rng: np.random.Generator) -> ViewChoice:
    """Pick and pose the view of class `cv` for a placement seen from `seen_elev_deg`: one
    elevation, or one per view (from where the camera would see that view's middle).

    None (no perspective: the naive 2-D paste) takes any view of a random object.
    """
    elev, object_of = cv.arrays
    if seen_elev_deg is None:
        obj = int(rng.integers(len(cv.objects)))
        mine = np.flatnonzero(object_of == obj)
        e = elev[mine[int(rng.integers(len(mine)))]]
    else:
        d = np.abs(elev - seen_elev_deg)
        near = np.flatnonzero(d <= d.min() + TIE_DEG)
        objects = sorted(set(object_of[near].tolist()))
        obj = objects[int(rng.integers(len(objects)))]
        mine = near[object_of[near] == obj]
        e = elev[mine[np.lexsort((elev[mine], d[mine]))[0]]]  # nearest, then lowest
    at_e = np.flatnonzero((object_of == obj) & (elev == e)).tolist()
    yaw_range, roll_range = pose_ranges(spec, float(e))
    yaw = float(rng.uniform(*yaw_range))
    roll = float(rng.uniform(*roll_range))
    with_az = [i for i in at_e if cv.az_deg[i] is not None]
    if e >= TOP_VIEW_DEG or not with_az:
        # Seen from above a view turns freely; without azimuths the whole yaw is a turn.
        i = at_e[int(rng.integers(len(at_e)))]
        mirrored = spec.mirror and bool(rng.random() < 0.5)
        az = cv.az_deg[i]
        return ViewChoice(i, cv.subjects[i], float(e),
                          None if az is None else (wrap_azimuth(-az) if mirrored else az),
                          None, mirrored, yaw, yaw, roll, cv.ref_px[obj], cv.size_m[i])
    # The object lies turned by `yaw` (counter-clockwise seen from above; from the class's own
    # range: any way round for a class that lies on the floor) from facing the camera, so
    # the camera stands at azimuth `yaw` in its frame (azimuths run clockwise seen from
    # above: 90 is the object's right side); the nearest photographed side (or its mirror)
    # is used, and the plane is turned by what is left over. Sides no view is near are not
    # shown: the object's yaw is drawn again.
    yaw_range = spec.yaw_deg
    yaw = float(rng.uniform(*yaw_range))
    options = [(i, cv.az_deg[i], False) for i in with_az]
    if spec.mirror:
        options += [(i, wrap_azimuth(-cv.az_deg[i]), True) for i in with_az]
    for attempt in range(24):
        if attempt:
            yaw = float(rng.uniform(*yaw_range))
        seen_az = wrap_azimuth(yaw)
        gaps = [abs(wrap_azimuth(seen_az - a)) for _, a, _ in options]
        best = min(gaps)
        if best <= MAX_TURN_DEG:
            break
    ties = [k for k, g in enumerate(gaps) if g <= best + 1e-9]
    i, az, mirrored = options[ties[int(rng.integers(len(ties)))]]
    residual = wrap_azimuth(seen_az - az)
    turn = min(max(residual, -MAX_TURN_DEG), MAX_TURN_DEG)
    return ViewChoice(i, cv.subjects[i], float(e), az, seen_az, mirrored, yaw, turn, roll,
                      cv.ref_px[obj], cv.size_m[i])


@dataclass
class CoverageGap:
    """A class whose views are far from the elevations the camera will see it from."""

    cls: str
    seen_lo_deg: float
    seen_hi_deg: float
    nearest_capture_deg: float
    share_far: float  # of placements over GAP_DEG from every capture elevation

    def message(self, camera_text: str) -> str:
        """The one-line warning, e.g. 'shoe: --view robot sees shoe at 3–17° elevation; ...'."""
        lo, hi = round(self.seen_lo_deg), round(self.seen_hi_deg)
        if hi <= 0:
            what = f"from below, the camera {-hi}–{-lo}° below their middle ([elev={hi}] or lower)"
        elif lo < -5:
            what = f"from {lo}° to {hi}° (negative: from below their middle)"
        elif hi <= 30:
            what = f"from the side ({lo}–{hi}° above the floor)"
        elif lo >= 60:
            what = f"from above ({lo}–{hi}° above the floor)"
        else:
            what = f"from {lo}–{hi}° above the floor"
        return (f"{self.cls}: {camera_text} sees {self.cls} at {lo}° to {hi}° elevation; nearest "
                f"cut-out shot at {self.nearest_capture_deg:g}° ({100 * self.share_far:.0f}% of "
                f"placements over {GAP_DEG:g}° away): photograph {self.cls} {what}")


def class_seen(cv: ClassViews, camera_h: np.ndarray, floor_xy: np.ndarray,
               size_m: float) -> np.ndarray:
    """(n, V): the elevation from which each of n placements would see each view's middle,
    but no higher than the camera sees its object's top from, and no higher than level
    when the camera is below that top or below the view's top edge as drawn (its plane
    leaning back by its capture elevation): a camera cannot look onto a top it is under,
    and a view that shows a top must not reach above the camera (a bowl's far rim above
    the horizon while its inside shows)."""
    cam = np.asarray(camera_h, float)[:, None]
    xy = np.asarray(floor_xy, float)
    r = np.hypot(xy[:, 0], xy[:, 1])[:, None]
    up, back, low, upright, group, (order, starts) = cv.lean
    h = cv.heights_m(size_m)
    middle = _elevation_at(cam, r, h * up, h * back)
    top = np.maximum(_elevation_at(cam, r, h[low] * upright, 0.0), 0.0)
    # How high the views' top edges stand as drawn, the tallest of each object's views at
    # one elevation (choose_view takes an elevation first, then any azimuth of it).
    drawn = np.maximum.reduceat((2.0 * h * up)[order], starts)[group]
    return np.minimum(middle, np.where(drawn > cam, 0.0, top))


def coverage_gaps(views: dict[str, ClassViews], seen: dict[str, np.ndarray]) -> list[CoverageGap]:
    """Classes for which more than GAP_SHARE of the placements are seen over GAP_DEG from
    every capture elevation of the class; `seen[cls]` is class_seen's (n, V) array."""
    gaps = []
    for cls, cv in views.items():
        s = seen.get(cls)
        if s is None or s.size == 0:
            continue
        mismatch = np.abs(s - cv.elevations[None, :])
        best = mismatch.argmin(axis=1)
        at_best = s[np.arange(len(s)), best]
        share = float(np.mean(mismatch.min(axis=1) > GAP_DEG))
        if share > GAP_SHARE:
            lo, hi = np.percentile(at_best, [5, 95])
            used, counts = np.unique(cv.elevations[best], return_counts=True)
            gaps.append(CoverageGap(cls, float(lo), float(hi), float(used[counts.argmax()]),
                                    share))
    return gaps


def residual_stats(records: list[dict]) -> dict[str, float]:
    """Median |view_elev - capture_elev| of labelled objects per class (from manifest records)."""
    per: dict[str, list[float]] = {}
    for rec in records:
        for o in rec["objects"]:
            if o.get("labelled") and o.get("view_elev_deg") is not None:
                per.setdefault(o["class"], []).append(abs(o["view_elev_deg"] - o["capture_elev_deg"]))
    return {c: float(np.median(v)) for c, v in sorted(per.items())}
