"""The class catalog (classes.yaml) and the rule that maps layer/file names to classes."""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .fsio import read_text
from .values import is_finite
from .yamlio import parse_yaml

_REPO = Path(__file__).resolve().parent.parent
DEFAULT_CATALOG = _REPO / "assets" / "classes.yaml"
DEFAULT_ASSETS = _REPO / "assets" / "subjects"
DEFAULT_BACKGROUNDS = _REPO / "assets"

POSES = ("flat", "upright")
_DEFAULT_YAW = {"flat": (-180.0, 180.0), "upright": (-30.0, 30.0)}
_DEFAULT_ROLL = {"flat": (0.0, 0.0), "upright": (-3.0, 3.0)}
_FIELDS = {"size_m", "pose", "yaw_deg", "roll_deg", "distractor", "mirror"}
POSE_ELEVATION = {"flat": 90.0, "upright": 0.0}  # a pose is the shorthand for one capture elevation

NAMING_RULE = """\
Naming rule (PSD layers, PNG cut-outs, photo + mask pairs):
  - A top-level PSD group is a class container: its name gives the class, and
    each visible pixel layer in it is one subject, each visible sub-group one
    subject (its layers composited).
  - A top-level PSD layer is one subject whose class is its name's prefix: the
    name up to the first '_', '-', ' ', '.' or digit. A name that equals a
    class as a whole wins first, and a multi-word class ('pet_waste') matches
    when followed by one of those characters. Case is ignored.
  - A PNG or photo's class is its folder's name if that names a class, else
    the file name's prefix, by the same rule.
  - '[upright]' or '[flat]' in a layer, group or file name overrides the
    catalog's pose for the subjects inside (innermost wins); the tag is
    removed before the class is read.
  - Hidden layers and groups are skipped; so is a top-level layer named
    'Background'.
Example: shoes.psd with group 'shoe' > layers 'runner', 'boot [upright]',
and a top-level layer 'sock_02' gives shoe (runner, flat), shoe (boot,
upright) and sock (sock_02).

Views (from where a subject was photographed):
  - '[elev=E]' in a layer, group or file name: the capture elevation in
    degrees, 90 = from straight above, 0 = level with the floor, from the
    side, negative = from below (a tall object seen by a camera on the
    floor). '[elev=E az=A]' adds the azimuth: from which side of the object
    (0 = its front, 90 = its right side, 180 = its back). '[size=M]' gives
    the metres the view's longer side spans (else the catalog's size_m).
    '[flat]' is the shorthand for elev=90, '[upright]' for elev=0; without
    any tag a subject has its class pose's elevation.
  - Views of one object share a name once the tags are removed
    ('runner [elev=90]', 'runner [elev=15 az=90]'), or sit in one PSD
    sub-group whose layers carry the tags (group 'shoe' > sub-group
    'runner' > layers '[elev=90]', '[elev=15 az=90]').
  - PNGs and photos: a folder 'elev_E' or 'elev_E_az_A' below the class
    folder (shoe/elev_15_az_90/runner.png), or a name suffix
    (runner_elev15_az90.png, photo runner_elev15.jpg + runner_elev15_mask.png).
  - All views of one object share one scale (pixels per metre) unless they
    declare size=: size_m is the longer side of the object's largest view.
  - For each placement the generator uses the class's view whose capture
    elevation is nearest the elevation at which the camera sees the
    subject's floor contact point, and among its azimuths the one nearest
    the side the camera faces ('mirror: true' classes also use each view
    mirrored, as seen from -A)."""


@dataclass(frozen=True)
class ClassSpec:
    """One catalog class: physical size of the cut-out's longer side, pose, yaw/roll ranges."""

    name: str
    size_m: tuple[float, float]
    pose: str
    yaw_deg: tuple[float, float]
    roll_deg: tuple[float, float]
    distractor: bool = False
    mirror: bool = False  # left-right symmetric: a view mirrored is the view from -azimuth


def _range(path: Path, cls: str, field: str, value, positive: bool = False) -> tuple[float, float]:
    where = f"{path}: class '{cls}': {field}"
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise InputError(f"{where} must be a list [lo, hi] of two numbers, got {value!r}")
    out = []
    for v in value:
        if not is_finite(v):
            raise InputError(f"{where} must be a list [lo, hi] of two numbers, got {value!r}")
        out.append(float(v))
    lo, hi = out
    if lo > hi:
        raise InputError(f"{where}: lo {lo:g} > hi {hi:g}")
    if positive and lo <= 0:
        raise InputError(f"{where}: sizes must be > 0, got {lo:g}")
    return lo, hi


def _parse_class(path: Path, name, spec) -> ClassSpec:
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise InputError(f"{path}: class name {name!r} must be a non-empty string "
                         "without surrounding spaces")
    if re.search(r"[\[\]/,:]", name):
        raise InputError(f"{path}: class name {name!r} must not contain '[', ']', '/', ',' or ':'")
    if not isinstance(spec, dict):
        raise InputError(f"{path}: class '{name}' must be a mapping of fields, got {spec!r}")
    unknown = sorted(set(map(str, spec)) - _FIELDS)
    if unknown:
        raise InputError(f"{path}: class '{name}': unknown key(s) {', '.join(unknown)} "
                         f"(allowed: {', '.join(sorted(_FIELDS))})")
    if "size_m" not in spec:
        raise InputError(f"{path}: class '{name}': missing size_m [lo, hi] (metres)")
    if "pose" not in spec:
        raise InputError(f"{path}: class '{name}': missing pose (flat or upright)")
    pose = spec["pose"]
    if pose not in POSES:
        raise InputError(f"{path}: class '{name}': pose must be flat or upright, got {pose!r}")
    distractor = spec.get("distractor", False)
    if not isinstance(distractor, bool):
        raise InputError(f"{path}: class '{name}': distractor must be true or false, "
                         f"got {distractor!r}")
    mirror = spec.get("mirror", False)
    if not isinstance(mirror, bool):
        raise InputError(f"{path}: class '{name}': mirror must be true or false, got {mirror!r}")
    roll = _range(path, name, "roll_deg", spec.get("roll_deg", _DEFAULT_ROLL[pose]))
    if roll[0] < -90 or roll[1] > 90:
        raise InputError(f"{path}: class '{name}': roll_deg must lie within [-90, 90]")
    return ClassSpec(
        name=name,
        size_m=_range(path, name, "size_m", spec["size_m"], positive=True),
        pose=pose,
        yaw_deg=_range(path, name, "yaw_deg", spec.get("yaw_deg", _DEFAULT_YAW[pose])),
        roll_deg=roll,
        distractor=distractor,
        mirror=mirror,
    )


def load_catalog(path: str | os.PathLike = DEFAULT_CATALOG) -> dict[str, ClassSpec]:
    """Read and validate a classes.yaml catalog; return {class name: ClassSpec}."""
    path = Path(path)
    text = read_text(path, "class catalog")
    doc = parse_yaml(text, path)
    if not isinstance(doc, dict) or "classes" not in doc:
        raise InputError(f"{path}: expected a top-level 'classes:' mapping")
    extra = sorted(set(map(str, doc)) - {"classes"})
    if extra:
        raise InputError(f"{path}: unknown top-level key(s) {', '.join(extra)} "
                         "(only 'classes' is allowed)")
    classes = doc["classes"]
    if not isinstance(classes, dict) or not classes:
        raise InputError(f"{path}: 'classes' must be a non-empty mapping of class name -> fields")
    catalog: dict[str, ClassSpec] = {}
    lowered: dict[str, str] = {}
    for name, spec in classes.items():
        cs = _parse_class(path, name, spec)
        if cs.name.lower() in lowered:
            raise InputError(f"{path}: classes '{lowered[cs.name.lower()]}' and '{cs.name}' "
                             "differ only in case")
        lowered[cs.name.lower()] = cs.name
        catalog[cs.name] = cs
    return catalog


_TAG = re.compile(r"\[\s*(upright|flat)\s*\]", re.IGNORECASE)
_VIEW_TAG = re.compile(r"\[([^\[\]]*=[^\[\]]*)\]")
_VIEW_KEYS = {"elev": "elev_deg", "az": "az_deg", "size": "size_m"}
_SEPARATOR = re.compile(r"[_\- .0-9]")


@dataclass(frozen=True)
class ViewTag:
    """What a name declares about its subject's view; None = not declared."""

    pose: str | None = None
    elev_deg: float | None = None
    az_deg: float | None = None
    size_m: float | None = None

    def over(self, outer: "ViewTag") -> "ViewTag":
        """This tag with the fields it leaves open taken from an enclosing name's tag.

        A pose and an elevation say the same thing: an inner one of either replaces both.
        """
        own = self.pose is not None or self.elev_deg is not None
        pose, elev = (self.pose, self.elev_deg) if own else (outer.pose, outer.elev_deg)
        return ViewTag(pose, elev, self.az_deg if self.az_deg is not None else outer.az_deg,
                       self.size_m if self.size_m is not None else outer.size_m)

    @property
    def declared(self) -> bool:
        """Whether the name says anything about the view."""
        return any(v is not None for v in (self.pose, self.elev_deg, self.az_deg, self.size_m))


def wrap_azimuth(deg: float) -> float:
    """An azimuth in (-180, 180]."""
    a = math.fmod(deg, 360.0)
    a = a - 360.0 if a > 180.0 else a + 360.0 if a <= -180.0 else a
    return 0.0 if a == 0.0 else a  # no -0.0


def _view_values(text: str, name: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in re.split(r"[\s,;]+", text.strip()):
        if not part:
            continue
        key, _, value = part.partition("=")
        key = key.strip().lower()
        if key not in _VIEW_KEYS:
            raise InputError(f"'{name}': unknown view tag key {key!r} (elev, az, size)")
        try:
            v = float(value)
        except ValueError:
            raise InputError(f"'{name}': {key}= must be a number, got {value!r}") from None
        if not math.isfinite(v):
            raise InputError(f"'{name}': {key}= must be a finite number, got {value!r}")
        if key == "elev" and not -90.0 <= v <= 90.0:
            raise InputError(f"'{name}': elev= must lie in [-90, 90] degrees (90 = from above, "
                             f"negative = from below), "
                             f"got {v:g}")
        if key == "size" and v <= 0:
            raise InputError(f"'{name}': size= must be positive metres, got {v:g}")
        out[_VIEW_KEYS[key]] = wrap_azimuth(v) if key == "az" else v
    return out


def parse_view_tags(name: str) -> tuple[str, ViewTag]:
    """Strip pose and view tags from a name; return (clean name, what they declare).

    InputError (naming the name) for a malformed '[key=value]' tag.
    """
    values: dict[str, float] = {}
    for text in _VIEW_TAG.findall(name):
        values.update(_view_values(text, name))
    clean, pose = parse_tags(_VIEW_TAG.sub(" ", name))
    return clean, ViewTag(pose=pose, **values)


def parse_tags(name: str) -> tuple[str, str | None]:
    """Strip '[upright]'/'[flat]' (and view) tags from a name; return (clean name, pose or None)."""
    name = _VIEW_TAG.sub(" ", name)
    tags = _TAG.findall(name)
    clean = " ".join(_TAG.sub(" ", name).split())
    return clean, (tags[-1].lower() if tags else None)


def match_class(name: str, catalog: dict[str, ClassSpec]) -> str | None:
    """Return the catalog class a (tag-free or tagged) name denotes, or None."""
    clean = parse_tags(name)[0].lower()
    by_lower = {c.lower(): c for c in catalog}
    if clean in by_lower:
        return by_lower[clean]
    best = None
    for low, cls in by_lower.items():
        if (clean.startswith(low) and _SEPARATOR.match(clean, len(low))
                and (best is None or len(low) > len(best.lower()))):
            best = cls
    return best


def name_prefix(name: str) -> str:
    """The part of a (tag-free) name before its first '_', '-', ' ', '.' or digit."""
    clean = parse_tags(name)[0]
    m = _SEPARATOR.search(clean)
    return clean[: m.start()] if m else clean


def class_of(name: str, catalog: dict[str, ClassSpec], where: str = "") -> str:
    """Return the class a layer/group/file name denotes; InputError listing the known ones."""
    cls = match_class(name, catalog)
    if cls is None:
        prefix = f"{where}: " if where else ""
        raise InputError(f"{prefix}class '{name_prefix(name) or name}' is not in the catalog "
                         f"(known: {', '.join(sorted(catalog))})")
    return cls


TOP_VIEW_DEG = 75.0  # views shot from at least this high turn freely about the vertical


def pose_of_elevation(elev_deg: float) -> str:
    """The pose word a capture elevation is closest to (the VOC <pose> field)."""
    return "flat" if elev_deg >= 45.0 else "upright"


def pose_ranges(spec: ClassSpec, elev_deg: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """Yaw and roll ranges for a view of this class shot from `elev_deg`.

    A view seen from (nearly) above may turn freely about the vertical: it takes the
    class's ranges if the class lies flat, else free yaw and no roll. A view from lower
    down only holds for a camera on the side it was shot from: the class's ranges if the
    class stands upright, else the upright defaults (a side view turned by 180 degrees
    shows its back).
    """
    pose = "flat" if elev_deg >= TOP_VIEW_DEG else "upright"
    if pose == spec.pose:
        return spec.yaw_deg, spec.roll_deg
    return _DEFAULT_YAW[pose], _DEFAULT_ROLL[pose]
