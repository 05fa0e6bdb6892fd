"""`synth generate`'s options: flag values and YAML recipes into a GenerateConfig."""
from __future__ import annotations

import os
from pathlib import Path

from .cores import default_workers
from .effects import CameraEffects
from .errors import InputError
from .fsio import read_text
from .generate import GenerateConfig
from .match import effects_from_mapping
from .values import is_finite, is_number, is_whole, shown
from .yamlio import parse_yaml


def parse_range(text: str | list | tuple, flag: str) -> tuple[int, int]:
    """'2-4' (or '3', or [2, 4]) -> (2, 4)."""
    if isinstance(text, (list, tuple)) and len(text) == 2:
        lo, hi = text
    else:
        parts = str(text).split("-")
        if len(parts) == 1:
            parts = parts * 2
        if len(parts) != 2:
            raise InputError(f"{flag}: expected MIN-MAX, got {text!r}")
        lo, hi = parts
    try:
        return int(lo), int(hi)
    except ValueError:
        raise InputError(f"{flag}: expected whole numbers MIN-MAX, got {text!r}") from None


def parse_size(text: str | list | tuple) -> tuple[int, int]:
    """'640x480' -> (640, 480)."""
    parts = list(text) if isinstance(text, (list, tuple)) else str(text).lower().split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise InputError(f"--size: expected WxH, got {text!r}") from None
    return w, h


def parse_split(text: str | dict) -> dict[str, float]:
    """'train=0.8,val=0.2' -> {'train': 0.8, 'val': 0.2}."""
    if isinstance(text, dict):
        items = list(text.items())
    else:
        items = []
        for part in str(text).split(","):
            if "=" not in part:
                raise InputError(f"--split: expected NAME=RATIO,..., got {text!r}")
            k, v = part.split("=", 1)
            items.append((k.strip(), v))
    try:
        out = {str(k): float(v) for k, v in items}
    except ValueError:
        raise InputError(f"--split: ratios must be numbers, got {text!r}") from None
    if any(not k or not k.replace("_", "").isalnum() for k in out):
        raise InputError(f"--split: split names must be plain words, got {text!r}")
    return out


def parse_elevations(text: str | float | list | tuple) -> list[float]:
    """'90' or '15,45' (or [15, 45]) -> [15.0, 45.0]: capture elevations in degrees."""
    parts = list(text) if isinstance(text, (list, tuple)) else str(text).split(",")
    try:
        out = [float(p) for p in parts if str(p).strip()]
    except ValueError:
        raise InputError(f"--capture-elev: expected degrees E[,E...], got {text!r}") from None
    if not out or any(not -90.0 <= e <= 90.0 for e in out):
        raise InputError(f"--capture-elev: elevations must lie in [-90, 90] degrees, got {text!r}")
    return out


def parse_shard(text: str | list | tuple) -> tuple[int, int]:
    """'0/2' -> (0, 2)."""
    parts = list(text) if isinstance(text, (list, tuple)) else str(text).split("/")
    try:
        k, n = (int(p) for p in parts)
    except ValueError:
        raise InputError(f"--shard: expected K/N, got {text!r}") from None
    return k, n


RECIPE_KEYS = {"view", "assets", "backgrounds", "classes", "n", "out", "size", "objects",
               "blend", "distractors", "only", "height", "pitch", "fov", "split", "seed",
               "workers", "shard", "jpeg_quality", "min_visible", "effects", "shadows",
               "capture_elev", "strict_views", "camera", "match_stats", "format"}
PATH_KEYS = ("backgrounds", "classes", "out", "camera", "match_stats")
NUMBER_KEYS = ("height", "pitch", "fov", "min_visible")
WHOLE_KEYS = ("n", "seed", "workers", "jpeg_quality")


def _pair_of_whole(v: object) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(is_whole(x) for x in v)


def check_recipe_value(path: Path, key: str, value: object) -> None:
    """Refuse a recipe value of the wrong type: InputError '<path>: KEY: expected ..., got ...'."""
    def bad(expected: str) -> InputError:
        return InputError(f"{path}: {key}: expected {expected}, got {shown(value)}")

    if key in PATH_KEYS and not isinstance(value, str):
        raise bad("a path")
    if key == "assets" and not (isinstance(value, str) or isinstance(value, list) and all(
            isinstance(v, str) for v in value)):
        raise bad("a path or a list of paths")
    if key in ("view", "blend", "format") and not isinstance(value, str):
        raise bad("a word")
    if key in NUMBER_KEYS:
        if not is_number(value):
            raise bad("a number")
        if not is_finite(value):
            raise bad("a finite number")
    if key in WHOLE_KEYS and not is_whole(value):
        raise bad("a whole number")
    if key in ("shadows", "strict_views") and not isinstance(value, bool):
        raise bad("true or false")
    if key == "effects" and not isinstance(value, (bool, dict)):
        raise bad("true, false or a mapping of effect ranges")
    if key in ("objects", "distractors") and not (
            isinstance(value, str) or is_whole(value) or _pair_of_whole(value)):
        raise bad("MIN-MAX or [MIN, MAX] (whole numbers)")
    if key == "size" and not (isinstance(value, str) or _pair_of_whole(value)):
        raise bad("WxH or [W, H] (whole numbers)")
    if key == "shard" and not (isinstance(value, str) or _pair_of_whole(value)):
        raise bad("K/N or [K, N] (whole numbers)")
    if key == "split" and not (isinstance(value, str) or isinstance(value, dict) and all(
            isinstance(k, str) and is_number(v) for k, v in value.items())):
        raise bad("NAME=RATIO,... or a mapping of split names to numbers")
    if key == "capture_elev" and not (isinstance(value, str) or is_number(value) or (
            isinstance(value, list) and value and all(is_number(v) for v in value))):
        raise bad("degrees E, 'E,E,...' or a list of numbers")
    if key == "only" and not (isinstance(value, str) or isinstance(value, list) and all(
            isinstance(v, str) for v in value)):
        raise bad("class names: 'A,B' or a list")


def load_recipe(path: str | os.PathLike) -> dict:
    """Read a YAML recipe: any `synth generate` flag by name; paths relative to the file.

    A key without a value (`pitch:`) counts as not given."""
    path = Path(path)
    raw = parse_yaml(read_text(path, "recipe"), path)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InputError(f"{path}: recipe must be a mapping of flag names to values")
    out = {}
    for key, value in raw.items():
        k = str(key).lstrip("-").replace("-", "_")
        if k not in RECIPE_KEYS:
            raise InputError(f"{path}: unknown recipe key {key!r} (known: {', '.join(sorted(RECIPE_KEYS))})")
        if value is None:
            continue
        check_recipe_value(path, k, value)
        if k in ("assets",):
            value = [str(path.parent / v) for v in (value if isinstance(value, list) else [value])]
        elif k in PATH_KEYS:
            value = str(path.parent / value)
        elif k == "effects" and isinstance(value, dict):
            value = effects_from_mapping(value, f"{path}: effects")
        out[k] = value
    return out


def config_from_options(opts: dict) -> GenerateConfig:
    """Build a GenerateConfig from flag values (strings as typed, or recipe values)."""
    view = opts.get("view") or ("robot" if opts.get("camera") else None)
    if not view:
        raise InputError("--view is required (topdown, robot, human or flat), or --camera")
    only = opts.get("only")
    if isinstance(only, str):
        only = [c.strip() for c in only.split(",") if c.strip()]
    cfg = GenerateConfig(view=str(view), out=Path(opts.get("out") or f"data/synth-{view}"))
    if opts.get("assets"):
        cfg.assets = [Path(p) for p in opts["assets"]]
    for key in ("backgrounds", "classes"):
        if opts.get(key):
            setattr(cfg, key, Path(opts[key]))
    for key, conv in (("n", int), ("seed", int), ("workers", int), ("jpeg_quality", int),
                      ("min_visible", float)):
        if opts.get(key) is not None:
            try:
                setattr(cfg, key, conv(opts[key]))
            except (TypeError, ValueError):
                raise InputError(f"--{key.replace('_', '-')}: not a number: {opts[key]!r}") from None
    for key, attr in (("height", "height_m"), ("pitch", "pitch_deg"), ("fov", "fov_deg")):
        if opts.get(key) is not None:
            try:
                setattr(cfg, attr, float(opts[key]))
            except (TypeError, ValueError):
                raise InputError(f"--{key}: not a number: {opts[key]!r}") from None
    if opts.get("size"):
        cfg.size = parse_size(opts["size"])
        cfg.size_given = True
    if opts.get("camera"):
        cfg.camera = Path(opts["camera"])
    if opts.get("objects") is not None:
        cfg.objects = parse_range(opts["objects"], "--objects")
    if opts.get("distractors") is not None:
        cfg.distractors = parse_range(opts["distractors"], "--distractors")
    if opts.get("blend"):
        cfg.blend = str(opts["blend"])
    if opts.get("format"):
        cfg.format = str(opts["format"]).lower()
    if opts.get("split"):
        cfg.split = parse_split(opts["split"])
    if opts.get("shard"):
        cfg.shard = parse_shard(opts["shard"])
    effects = opts.get("effects")
    if isinstance(effects, dict):
        effects = effects_from_mapping(effects, "effects")
    if isinstance(effects, CameraEffects):  # a recipe's fitted camera (effects.yaml)
        cfg.camera_effects, opts = effects, dict(opts, effects=True)
    for key in ("effects", "shadows", "strict_views"):
        if opts.get(key) is not None:
            setattr(cfg, key, bool(opts[key]))
    if opts.get("match_stats"):
        cfg.match_stats = Path(opts["match_stats"])
    if opts.get("capture_elev") is not None:
        cfg.capture_elev = parse_elevations(opts["capture_elev"])
    cfg.only = only or None
    if opts.get("workers") is None:
        cfg.workers = default_workers()
    return cfg
