"""From a shift to the generator knob that fixes it: manifest summaries and suggestions.

A suggestion names a `synth generate` flag (--view, --height, --pitch, --blend, --objects,
--backgrounds, --distractors) or a classes.yaml field (pose, size_m, yaw_deg, roll_deg), and,
when the synthetic set has a manifest.jsonl, quotes the setting it was made with.
"""
from __future__ import annotations

import os
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from synth.errors import InputError
from synth.manifest import MANIFEST, read_records

from .shift import Region

PERSPECTIVE_FREE = ("topdown", "flat")  # views that never show a low camera's geometry


@dataclass
class ClassSettings:
    """What the manifest says about the labelled subjects of one class."""

    n: int = 0
    poses: Counter = field(default_factory=Counter)
    blends: Counter = field(default_factory=Counter)
    size_m: list[float] = field(default_factory=list)
    yaw_deg: list[float] = field(default_factory=list)
    roll_deg: list[float] = field(default_factory=list)
    distance_m: list[float] = field(default_factory=list)
    view_elev_deg: list[float] = field(default_factory=list)  # as the camera saw them
    capture_elev_deg: list[float] = field(default_factory=list)  # of the views used
    truncated: int = 0

    def view_mismatch(self) -> float | None:
        """Median |view - capture elevation| (degrees); None without view records."""
        pairs = [abs(v - c) for v, c in zip(self.view_elev_deg, self.capture_elev_deg)]
        return statistics.median(pairs) if pairs else None


@dataclass
class Manifest:
    """Summary of a synthetic set's manifest.jsonl (restricted to the evaluated images)."""

    path: Path
    n_images: int
    views: Counter
    camera: dict[str, tuple[float, float]]     # height_m, pitch_deg, fov_deg: (min, max)
    objects_per_image: tuple[int, int]
    backgrounds: int
    classes: dict[str, ClassSettings]

    @property
    def view(self) -> str | None:
        """The view most images were made with."""
        return self.views.most_common(1)[0][0] if self.views else None

    def view_text(self) -> str:
        """e.g. '--view topdown (manifest: camera pitch 85–90°, height 0.60–1.00 m)'."""
        parts = []
        if "pitch_deg" in self.camera:
            parts.append(f"camera pitch {_range(self.camera['pitch_deg'], '.0f')}°")
        if "height_m" in self.camera:
            parts.append(f"height {_range(self.camera['height_m'], '.2f')} m")
        return f"--view {self.view} (manifest: {', '.join(parts)})"


def _range(lo_hi: tuple[float, float] | list[float], fmt: str) -> str:
    lo, hi = (min(lo_hi), max(lo_hi)) if lo_hi else (float("nan"), float("nan"))
    return format(lo, fmt) if format(lo, fmt) == format(hi, fmt) else \
        f"{format(lo, fmt)}–{format(hi, fmt)}"


def read_manifest(root: str | os.PathLike, stems: set[str] | None = None) -> Manifest | None:
    """Summarise ROOT/manifest.jsonl for the given image stems; None if there is none."""
    path = Path(root) / MANIFEST
    views: Counter = Counter()
    cams: dict[str, list[float]] = {}
    per_image, backgrounds, n = [], set(), 0
    classes: dict[str, ClassSettings] = {}
    for stem, rec in read_records(root).items():
        if stems is not None and stem not in stems:
            continue
        try:
            views[str(rec.get("view"))] += 1
            for k, v in (rec.get("camera") or {}).items():
                if isinstance(v, (int, float)):
                    cams.setdefault(k, []).append(float(v))
            backgrounds.add(str(rec.get("background")))
            labelled = [o for o in rec["objects"] if o.get("labelled", True)]
            per_image.append(len(labelled))
            for o in labelled:
                c = classes.setdefault(str(o["class"]), ClassSettings())
                c.n += 1
                c.poses[str(o.get("pose"))] += 1
                c.blends[str(o.get("blend"))] += 1
                c.truncated += bool(o.get("truncated"))
                for key in ("size_m", "yaw_deg", "roll_deg", "distance_m"):
                    if isinstance(o.get(key), (int, float)):
                        getattr(c, key).append(float(o[key]))
                v, k = o.get("view_elev_deg"), o.get("capture_elev_deg")
                if isinstance(v, (int, float)) and isinstance(k, (int, float)):
                    c.view_elev_deg.append(float(v))
                    c.capture_elev_deg.append(float(k))
            n += 1
        except (AttributeError, TypeError) as exc:
            raise InputError(f"{path}: image {stem}: not a manifest record "
                             f"({type(exc).__name__}: {exc})") from None
    if n == 0:
        return None
    return Manifest(path=path, n_images=n, views=views,
                    camera={k: (min(v), max(v)) for k, v in cams.items()},
                    objects_per_image=(min(per_image), max(per_image)),
                    backgrounds=len(backgrounds), classes=classes)


# ----------------------------------------------------------------------------- suggestions
def _share_text(count: int, total: int) -> str:
    return "all" if count == total else f"{count} of {total}"


def _dominant(counter: Counter) -> tuple[str, int, int]:
    """(most common value, its count, total)."""
    if not counter:
        return "", 0, 0
    value, count = counter.most_common(1)[0]
    return value, count, sum(counter.values())


def _backgrounds(m: Manifest | None) -> str:
    if m is None:
        return ""
    return f" (manifest: {m.backgrounds} background{'' if m.backgrounds == 1 else 's'})"


def suggest(attr: str, region: Region, cls: str, manifest: Manifest | None) -> str:
    """The generator setting to change for a (class, attribute) finding, with its reason."""
    return suggest_shift(attr, region.side == "high", cls, manifest)


def suggest_shift(attr: str, high: bool, cls: str, manifest: Manifest | None) -> str:
    """The generator setting to change when real values of an attribute lie higher (or lower)."""
    m = manifest
    c = m.classes.get(cls) if m else None
    view = m.view if m else None
    topdown = view in PERSPECTIVE_FREE
    pose, n_pose, n_all = _dominant(c.poses) if c else ("", 0, 0)

    def view_fix(why: str) -> str:
        return f"--view robot: synthetic set was made with {m.view_text()}; {why}"

    def cls_range(key: str, fmt: str, unit: str) -> str:
        values = getattr(c, key) if c else []
        return f" (manifest: {key} {_range(values, fmt)}{unit})" if values else ""

    if attr == "aspect":
        shot = statistics.median(c.capture_elev_deg) if c and c.capture_elev_deg else None
        if high and shot is not None and shot >= 60:
            return (f"side views of {cls} (photograph them from {view_range(c)}° above the "
                    f"floor: [elev=E] views): synthetic {cls} were rendered from cut-outs shot "
                    f"at a median {shot:.0f}° (manifest); real ones show their side, so their "
                    f"boxes are taller")
        if high and pose == "flat" and n_pose * 2 >= n_all:
            return (f"pose: upright for {cls} in classes.yaml — synthetic {cls} subjects were "
                    f"{_share_text(n_pose, n_all)} pasted with pose flat (manifest); real ones "
                    f"stand, so their boxes are taller")
        if not high and pose == "upright" and n_pose * 2 >= n_all:
            return (f"pose: flat for {cls} in classes.yaml if real {cls} objects lie on the "
                    f"floor — synthetic {cls} subjects were {_share_text(n_pose, n_all)} "
                    f"pasted upright (manifest); real boxes are wider")
        if topdown:
            return view_fix(f"real {cls} boxes are taller: a low camera sees standing objects "
                            f"side-on" if high else f"real {cls} boxes are wider: a low "
                            f"camera foreshortens objects lying on the floor")
        if m is None:
            return (f"pose: upright for {cls} in classes.yaml if real {cls} objects stand "
                    f"(real boxes are taller); otherwise --view robot" if high else
                    f"--view robot (a low camera foreshortens objects on the floor into wide "
                    f"boxes), or pose: flat for {cls} in classes.yaml if real {cls} objects "
                    f"lie down")
        return (f"widen yaw_deg for {cls} in classes.yaml{cls_range('yaw_deg', '.0f', '°')}: "
                f"real boxes are {'taller' if high else 'wider'} than any synthetic view "
                f"of it")
    if attr == "y_center":
        where = "low in the frame (near the robot)" if high else \
            "high in the frame (far ahead, near the horizon)"
        if topdown:
            return view_fix(f"real boxes sit {where}")
        if m is None:
            return f"--view robot: real boxes sit {where}, as a low camera looking ahead sees them"
        cam = m.camera.get("pitch_deg")
        pitch = f" (manifest: pitch {_range(cam, '.0f')}°)" if cam else ""
        return (f"{'lower' if high else 'raise'} --pitch{pitch} or place subjects "
                f"{'nearer' if high else 'farther'}{cls_range('distance_m', '.2f', ' m')}: "
                f"real boxes sit {where}")
    if attr == "rel_area":
        if topdown:
            cam = m.camera.get("height_m")
            height = f" (manifest: camera height {_range(cam, '.2f')} m)" if cam else ""
            return view_fix(f"real {cls} objects are {'larger' if high else 'smaller'} in the "
                            f"frame (seen from {'closer up' if high else 'farther away'}); if "
                            f"the real camera looks down too, {'lower' if high else 'raise'} "
                            f"--height{height}")
        size = cls_range("size_m", ".2f", " m")
        if high:
            return (f"widen size_m for {cls} upwards in classes.yaml{size}, or a lower "
                    f"--height / nearer subjects: real {cls} objects fill more of the frame")
        return (f"widen size_m for {cls} downwards in classes.yaml{size}, or place subjects "
                f"farther (--view robot sees them at a distance): real {cls} objects are smaller "
                f"in the frame")
    if attr == "truncated":
        if topdown:
            return view_fix("real objects are often cut by the image border")
        share = f" (manifest: {c.truncated} of {c.n} synthetic {cls} truncated)" if c else ""
        return (f"more subjects cut by the image border{share}: --view robot places near "
                f"subjects across the bottom edge" if high else
                f"fewer truncated subjects{share}: real {cls} objects are whole in the frame")
    backgrounds = _backgrounds(m)
    if attr == "sharpness" and not high:
        blend, n_b, n_t = _dominant(c.blends) if c else ("", 0, 0)
        if blend in ("alpha", "") or n_b < n_t:
            used = (f" (manifest: {_share_text(n_b, n_t)} {cls} subjects pasted with blend "
                    f"{blend})") if blend else ""
            return (f"--blend random{used}: real {cls} objects are blurrier; softer pasting and "
                    f"blurrier backgrounds like the real ones")
        return (f"add backgrounds like the real ones{backgrounds} and more blur in the "
                f"camera effects: real {cls} objects are blurrier than any synthetic one")
    if attr == "contrast":
        blend = f"; --blend random (manifest: blends {dict(c.blends)})" if c else \
            "; --blend random"
        return (f"add backgrounds like the real ones{backgrounds}{blend}: real {cls} crops are "
                f"{'more contrasted' if high else 'flatter'}")
    # brightness, and sharpness "high"
    word = {"brightness": "brighter" if high else "darker", "sharpness": "sharper"}[attr]
    return (f"add backgrounds and lighting like the real ones{backgrounds}: real {cls} crops "
            f"are {word} than the synthetic ones")


def view_range(c: ClassSettings) -> str:
    """The 5th-95th percentile of the elevations the synthetic camera saw a class from."""
    v = sorted(c.view_elev_deg)
    if not v:
        return "?"
    lo, hi = v[int(0.05 * (len(v) - 1))], v[int(round(0.95 * (len(v) - 1)))]
    return f"{lo:.0f}–{hi:.0f}"


def suggest_view(cls: str, c: ClassSettings) -> str:
    """What to photograph when a class was rendered far from the angle its cut-outs show."""
    seen = statistics.median(c.view_elev_deg)
    shot = statistics.median(c.capture_elev_deg)
    e = int(round(seen / 5.0) * 5)
    return (f"photograph {cls} from {view_range(c)}° above the floor and add them as views "
            f"('[elev={e}]' in the layer name, or an elev_{e}/ folder): synthetic {cls} were "
            f"seen from a median {seen:.0f}° but rendered from cut-outs shot at a median "
            f"{shot:.0f}° (manifest: median mismatch {c.view_mismatch():.0f}°)")


def suggest_domain(stat: str, high: bool, manifest: Manifest | None) -> str:
    """The generator setting behind an image-level difference."""
    m = manifest
    backgrounds = _backgrounds(m)
    if stat == "objects":
        used = f" (manifest: {_range(m.objects_per_image, 'd')} per image)" if m else ""
        return f"--objects MIN-MAX{used}: real images hold {'more' if high else 'fewer'} objects"
    if stat == "box_area":
        if m and m.view in PERSPECTIVE_FREE:
            return (f"--view robot: synthetic set was made with {m.view_text()}; real objects "
                    f"cover {'more' if high else 'less'} of the frame")
        return (f"--objects MIN-MAX and size_m in classes.yaml: real objects cover "
                f"{'more' if high else 'less'} of the frame")
    if stat == "blockiness":
        return ("real images are more JPEG-compressed: widen the camera effects' "
                "ImageCompression quality range" if high else
                "synthetic images are more JPEG-compressed than the real ones")
    if stat == "sharpness" and not high:
        return (f"real images are blurrier: --blend random, more blur in the camera effects, "
                f"and backgrounds like the real ones{backgrounds}")
    what = {"colour": "colours", "std": "contrast", "sharpness": "texture"}.get(stat, stat)
    where = backgrounds.replace(" (", "; ") if backgrounds else ")"
    return (f"add backgrounds like the real ones (--backgrounds DIR{where}: real images "
            f"differ in {what}")


def suggest_unrecognised(cls: str, manifest: Manifest | None) -> str:
    """The generator setting when the detector rarely fires on, or doubts, a class in frames."""
    m = manifest
    if m and m.view in PERSPECTIVE_FREE:
        return (f"--view robot: synthetic set was made with {m.view_text()}; the detector has "
                f"not seen {cls} the way a low camera shows it")
    c = m.classes.get(cls) if m else None
    parts = [f"{m.backgrounds} background{'' if m.backgrounds == 1 else 's'}"] if m else []
    if c and c.blends:
        blend, n_b, n_t = _dominant(c.blends)
        parts.append(f"{_share_text(n_b, n_t)} {cls} subjects pasted with blend {blend}")
    used = f" (manifest: {'; '.join(parts)})" if parts else ""
    return (f"add backgrounds like the real ones (--backgrounds DIR with the team's own frames) "
            f"and --blend random{used}: real {cls} look unlike the synthetic ones to the "
            f"detector")


def suggest_false_alarms(cls: str, manifest: Manifest | None) -> str:
    """The generator setting when the detector fires on real frames far more often for a class."""
    m = manifest
    used = f" (manifest: {_range(m.objects_per_image, 'd')} objects per image)" if m else ""
    return (f"--backgrounds DIR with the team's own frames{_backgrounds(m)} and --distractors "
            f"MIN-MAX with look-alikes of {cls} (distractor: true in classes.yaml): the detector "
            f"may be firing on real things that are not {cls}; if real frames do hold more "
            f"{cls}, --objects MIN-MAX{used}")
