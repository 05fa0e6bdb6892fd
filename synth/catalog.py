"""The class catalog (classes.yaml) and the rule that maps layer/file names to classes."""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import InputError
from .fsio import read_text

_REPO = Path(__file__).resolve().parent.parent
DEFAULT_CATALOG = _REPO / "assets" / "classes.yaml"
DEFAULT_ASSETS = _REPO / "assets" / "subjects"
DEFAULT_BACKGROUNDS = _REPO / "assets"

POSES = ("flat", "upright")
_DEFAULT_YAW = {"flat": (-180.0, 180.0), "upright": (-30.0, 30.0)}
_DEFAULT_ROLL = {"flat": (0.0, 0.0), "upright": (-3.0, 3.0)}
_FIELDS = {"size_m", "pose", "yaw_deg", "roll_deg", "distractor"}

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
upright) and sock (sock_02)."""


@dataclass(frozen=True)
class ClassSpec:
    """One catalog class: physical size of the cut-out's longer side, pose, yaw/roll ranges."""

    name: str
    size_m: tuple[float, float]
    pose: str
    yaw_deg: tuple[float, float]
    roll_deg: tuple[float, float]
    distractor: bool = False


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _range(path: Path, cls: str, field: str, value, positive: bool = False) -> tuple[float, float]:
    where = f"{path}: class '{cls}': {field}"
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise InputError(f"{where} must be a list [lo, hi] of two numbers, got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
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
    )


def load_catalog(path: str | os.PathLike = DEFAULT_CATALOG) -> dict[str, ClassSpec]:
    """Read and validate a classes.yaml catalog; return {class name: ClassSpec}."""
    path = Path(path)
    text = read_text(path, "class catalog")
    try:
        doc = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{path}: not valid YAML{where}: {problem}") from None
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
_SEPARATOR = re.compile(r"[_\- .0-9]")


def parse_tags(name: str) -> tuple[str, str | None]:
    """Strip '[upright]'/'[flat]' tags from a name; return (clean name, pose or None)."""
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


def pose_ranges(spec: ClassSpec, pose: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """Yaw and roll ranges for a subject of this class posed `pose`.

    A subject whose tag overrides its class's pose (a side-view shoe among shoes shot from
    above) takes that pose's default ranges: a side view turned by 180 degrees is wrong.
    """
    if pose == spec.pose:
        return spec.yaw_deg, spec.roll_deg
    return _DEFAULT_YAW[pose], _DEFAULT_ROLL[pose]
