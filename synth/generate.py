"""`synth generate`: render a VOC, YOLO or COCO set in parallel, reproducibly, resumably, in shards.

Every image is a pure function of (settings, seed, index): its own random generator is
seeded from the run's seed and its index, so the bytes do not depend on the number of
workers, on sharding, or on being resumed. Files are written under temporary names and
renamed; the annotation is written last, so an image counts as done once its XML exists.
Finishing a run (any shard) gathers every image present into manifest.jsonl,
ImageSets/Main/*.txt and labels.txt. A YOLO or COCO run renders the same VOC files into
OUT/.synth/ (its resumable working copy) and finishing writes the chosen layout from them
with the one writer (`synth.layouts.write_dataset`, images hard-linked).
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import multiprocessing as mp
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from . import fsio
from .assets import capture_elevation, load_subjects
from .camera import PRESETS
from .catalog import DEFAULT_ASSETS, DEFAULT_BACKGROUNDS, DEFAULT_CATALOG, load_catalog
from .compose import Composite, ComposeOptions, Library, compose, placement_samples
from .views import class_seen, coverage_gaps
from .effects import DEFAULT_CAMERA, CameraEffects, apply_camera, unit_noise
from .errors import InputError
from .camera_file import MAX_IMAGE_SIDE, CameraSpec, load_camera_file
from .imageio import encode_jpeg
from .layouts import LAYOUTS, write_dataset
from .lens import NoRays, lens_map, prepare_lens
from .locks import FileLock
from .manifest import MANIFEST, image_record, record_line, write_manifest
from .match import effects_mapping, effects_yaml, fit_header, fit_to_folder
from .paste import BLENDS
from .scene import SceneBank, load_scene_bank
from .voc import VocImage, VocObject, annotation_xml, read_annotation, write_labels, write_splits

log = logging.getLogger(__name__)

STATE_DIR = ".synth"
OUT_LOCK = "lock"  # OUT/.synth/lock: held while a run prepares OUT or gathers the index files
ACTIVE_LOCK = "active"  # held shared by every run rendering into OUT
LOCK_FILES = (OUT_LOCK, ACTIVE_LOCK)
MAX_IMAGES = 100_000_000
MAX_OBJECTS = 1000  # subjects (or distractors) per image
MAX_WORKERS = 1024
# Bump when the same settings and inputs render other bytes (a new label rule, stage or draw
# order): a set half-made by older code is then refused instead of resumed into a mixed set.
# 3: the views a camera under an object's top sees (1929c8c, 6b0f08f); the wall warped from
# its mirrored margin (a grey level on ~0.01% of wall pixels)
# 4: a turned side view leans along the line of sight (its verticals upright)
# 5: poisson blending by synth/poisson.py: also for subjects cut by the canvas's edge (they
# were alpha-pasted), with thin parts kept at the alpha paste's contrast
RENDER_VERSION = 5
EFFECTS_FILE = "effects.yaml"  # the set's fitted camera effects, a recipe fragment


@dataclass
class GenerateConfig:
    """Every setting of a `synth generate` run."""

    view: str
    out: Path
    n: int = 200
    assets: list[Path] = field(default_factory=lambda: [DEFAULT_ASSETS])
    backgrounds: Path = DEFAULT_BACKGROUNDS
    classes: Path = DEFAULT_CATALOG
    size: tuple[int, int] = (640, 480)
    objects: tuple[int, int] = (2, 4)
    distractors: tuple[int, int] = (0, 1)
    blend: str = "random"
    only: list[str] | None = None
    height_m: float | None = None
    pitch_deg: float | None = None
    fov_deg: float | None = None
    split: dict[str, float] = field(default_factory=lambda: {"train": 0.8, "val": 0.2})
    seed: int = 0
    workers: int = 1
    shard: tuple[int, int] = (0, 1)
    jpeg_quality: int = 95
    min_visible: float = 0.25
    effects: bool = True
    shadows: bool = True
    capture_elev: list[float] | None = None  # use only views shot from these elevations
    camera: Path | None = None  # camera.yaml of a calibrated camera (replaces the preset's)
    camera_spec: CameraSpec | None = None  # ... as read
    strict_views: bool = False  # a class without views near what the camera sees is an error
    size_given: bool = False  # --size was given (it must then agree with --camera)
    cache_dir: Path | None = None
    match_stats: Path | None = None  # a folder of real frames: fit the camera effects to them
    camera_effects: CameraEffects | None = None  # fitted (or recipe) effects: replace the default
    format: str = "voc"  # the layout written: voc, yolo or coco

    def compose_options(self) -> ComposeOptions:
        return ComposeOptions(view=self.view, size=self.size, objects=self.objects,
                              distractors=self.distractors, blend=self.blend,
                              min_visible=self.min_visible, height_m=self.height_m,
                              pitch_deg=self.pitch_deg, fov_deg=self.fov_deg,
                              camera=self.camera_spec)


@dataclass
class GenerateResult:
    """What a run did."""

    out: Path
    written: int
    skipped: int
    present: int
    total: int
    finalized: bool


def image_seed(seed: int, index: int) -> int:
    """The 63-bit seed of one image, from the run's seed and the image's index."""
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def image_stem(cfg: GenerateConfig, index: int) -> str:
    """File stem of image `index`."""
    return f"{cfg.view}_s{cfg.seed}_{index:06d}"


def split_assignment(n: int, ratios: dict[str, float], seed: int) -> list[str]:
    """Split name of each image index: exact counts (largest remainder), seeded order."""
    names = list(ratios)
    total = sum(ratios.values())
    quotas = [n * ratios[k] / total for k in names]
    counts = [int(q) for q in quotas]
    for i in sorted(range(len(names)), key=lambda i: -(quotas[i] - counts[i]))[: n - sum(counts)]:
        counts[i] += 1
    order = np.random.default_rng(seed).permutation(n)
    out = [""] * n
    pos = 0
    for name, c in zip(names, counts):
        for idx in order[pos:pos + c]:
            out[int(idx)] = name
        pos += c
    return out


def _hash_arrays(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _fingerprint(cfg: GenerateConfig, lib: Library, bank: SceneBank) -> dict:
    """The settings and inputs that decide the output bytes (not workers, shard or paths)."""
    d = asdict(cfg)
    for k in ("out", "workers", "shard", "assets", "backgrounds", "classes", "cache_dir",
              "strict_views", "camera", "camera_spec", "size_given", "match_stats",
              "camera_effects"):
        d.pop(k)
    if cfg.format == "voc":  # sets made before --format existed stay resumable
        d.pop("format")
    if cfg.effects and cfg.camera_effects is not None:  # the fitted camera decides the bytes
        d["camera_effects"] = effects_mapping(cfg.camera_effects)
    if cfg.camera_spec is not None:
        d["camera"] = json.loads(json.dumps(asdict(cfg.camera_spec)))
    d["size"] = list(cfg.size)
    d["objects"] = list(cfg.objects)
    d["distractors"] = list(cfg.distractors)
    d["subjects"] = _hash_arrays(s.rgba for s in lib.subjects)
    objects = {o: k for cv in lib.views.values() for k, o in enumerate(cv.objects)}
    d["subject_names"] = _hash_arrays([np.frombuffer("\n".join(
        f"{s.name}|{s.cls}|{s.pose}|{s.elev_deg}|{s.az_deg}|{s.size_m}|{objects[s.object or s.name]}"
        for s in lib.subjects).encode(), np.uint8)])
    d["catalog"] = _hash_arrays([np.frombuffer(repr(sorted(lib.catalog.items())).encode(), np.uint8)])
    d["backgrounds"] = _hash_arrays([f.mips[0] for f in bank.floors] +
                                    [b for _, b in bank.backdrops] + [p.rgb for p in bank.photos])
    d["render_version"] = RENDER_VERSION
    return d


@dataclass
class _Worker:
    """What each worker process needs to render images (built once, inherited by fork)."""

    cfg: GenerateConfig
    lib: Library
    bank: SceneBank
    splits: list[str]
    dirs: dict[str, Path]

    def render(self, index: int) -> int:
        cfg = self.cfg
        seed = image_seed(cfg.seed, index)
        rng = np.random.default_rng(seed)
        comp = compose(self.lib, self.bank, cfg.compose_options(), rng, shadows=cfg.shadows)
        rgb, quality = comp.rgb, cfg.jpeg_quality
        if cfg.effects:
            rgb, quality = apply_camera(cfg.camera_effects or DEFAULT_CAMERA, rgb, seed)
        stem = image_stem(cfg, index)
        fsio.write_bytes(self.dirs["images"] / f"{stem}.jpg", encode_jpeg(rgb, quality))
        record = image_record(stem, seed, cfg.view, comp, self.splits[index])
        fsio.write_text(self.dirs["records"] / f"{stem}.json", record_line(record))
        fsio.write_text(self.dirs["annotations"] / f"{stem}.xml",
                        annotation_xml(voc_image(stem, comp)))
        return index


_WORKER: _Worker | None = None


def warm_caches(cfg: GenerateConfig) -> None:
    """Build what every image reads once, before the workers fork (they share it then):
    the sensor-noise field and a calibrated lens's rays."""
    if cfg.effects:
        unit_noise()
    if cfg.camera_spec is not None:
        prepare_lens(cfg.camera_spec)


def _render_in_worker(index: int) -> int:
    assert _WORKER is not None
    return _WORKER.render(index)


def _capture_filter(subjects: list, catalog: dict, elevations: list[float]) -> list:
    """Only the views shot from one of `elevations`; a class with none keeps its views
    nearest to them (and says so)."""
    keep = []
    for cls in sorted({s.cls for s in subjects}):
        mine = [(s, capture_elevation(s, catalog)) for s in subjects if s.cls == cls]
        dist = {e: min(abs(e - x) for x in elevations) for _, e in mine}
        best = min(dist.values())
        if best > 1e-6:
            nearest = min(e for e in dist if dist[e] == best)
            log.info("--capture-elev: %s has no views shot from %s°; using its nearest (%g°)",
                     cls, ", ".join(f"{e:g}" for e in elevations), nearest)
        keep += [s for s, e in mine if dist[e] <= best + 1e-6]
    return sorted(keep, key=lambda s: (s.cls, s.name))


def voc_image(stem: str, comp: Composite) -> VocImage:
    """The VOC annotation of a composite: its labelled and its difficult objects."""
    objects = [VocObject(p.cls, p.bbox, pose=p.pose, truncated=p.truncated, difficult=p.difficult)
               for p in comp.objects if p.labelled or p.difficult] + list(comp.frame_objects)
    width, height = comp.size
    return VocImage(stem=stem, filename=f"{stem}.jpg", width=width, height=height, depth=3,
                    objects=objects)


def build_library(cfg: GenerateConfig) -> Library:
    """Load the catalog and the subjects a run draws from."""
    catalog = load_catalog(cfg.classes)
    only = set(cfg.only) if cfg.only else None
    subjects = load_subjects(cfg.assets, catalog, only=only, cache_dir=cfg.cache_dir)
    if cfg.capture_elev:
        subjects = _capture_filter(subjects, catalog, cfg.capture_elev)
    lib = Library(subjects, catalog)
    if not lib.classes:
        raise InputError(f"{', '.join(map(str, cfg.assets))}: no subjects of a target class found")
    return lib


def _check_config(cfg: GenerateConfig) -> None:
    if cfg.format not in LAYOUTS:
        raise InputError(f"--format: unknown layout {cfg.format!r} ({', '.join(LAYOUTS)})")
    if cfg.view not in PRESETS:
        raise InputError(f"--view: unknown view {cfg.view!r} ({', '.join(PRESETS)})")
    if cfg.n < 1:
        raise InputError("-n: must be at least 1")
    if cfg.n > MAX_IMAGES:
        raise InputError(f"-n: at most {MAX_IMAGES} images, got {cfg.n}")
    if cfg.seed < 0:
        raise InputError(f"--seed: must be a whole number >= 0, got {cfg.seed}")
    if cfg.workers > MAX_WORKERS:
        raise InputError(f"--workers: at most {MAX_WORKERS}, got {cfg.workers}")
    lo, hi = cfg.objects
    if not (0 <= lo <= hi) or hi < 1:
        raise InputError(f"--objects: need 0 <= MIN <= MAX and MAX >= 1, got {lo}-{hi}")
    if not (0 <= cfg.distractors[0] <= cfg.distractors[1]):
        raise InputError(f"--distractors: need 0 <= MIN <= MAX, got {cfg.distractors}")
    for flag, (_, top) in (("--objects", cfg.objects), ("--distractors", cfg.distractors)):
        if top > MAX_OBJECTS:
            raise InputError(f"{flag}: at most {MAX_OBJECTS} subjects per image, got {top}")
    if not 1 <= cfg.jpeg_quality <= 100:
        raise InputError(f"--jpeg-quality: must lie in [1, 100], got {cfg.jpeg_quality}")
    if cfg.blend not in (*BLENDS, "random"):
        raise InputError(f"--blend: unknown mode {cfg.blend!r} ({', '.join(BLENDS)}, random)")
    k, n = cfg.shard
    if not (n >= 1 and 0 <= k < n):
        raise InputError(f"--shard: need K/N with 0 <= K < N, got {k}/{n}")
    w, h = cfg.size
    if w < 32 or h < 32:
        raise InputError(f"--size: {w}x{h} is too small (at least 32x32)")
    if max(w, h) > MAX_IMAGE_SIDE:
        raise InputError(f"--size: {w}x{h} is too large (at most {MAX_IMAGE_SIDE} pixels a side)")
    if not cfg.split or not all(0 <= v < math.inf for v in cfg.split.values()) \
            or sum(cfg.split.values()) <= 0:
        raise InputError(f"--split: ratios must be non-negative and not all zero: {cfg.split}")
    if cfg.pitch_deg is not None and not (-45 <= cfg.pitch_deg <= 90):
        raise InputError(f"--pitch: must lie in [-45, 90] degrees (0 = level, negative = "
                         f"looking up), got {cfg.pitch_deg}")
    if cfg.camera is not None:
        given = [f for f, v in (("--height", cfg.height_m), ("--pitch", cfg.pitch_deg),
                                ("--fov", cfg.fov_deg)) if v is not None]
        if given:
            raise InputError(f"--camera {cfg.camera}: its mount and lens replace "
                             f"{', '.join(given)} (give one or the other)")
        if cfg.view == "flat":
            raise InputError("--camera: the flat view has no camera (use topdown, robot or human)")
    if cfg.match_stats is not None and not cfg.effects:
        raise InputError(f"--match-stats {cfg.match_stats}: fits the camera effects; drop "
                         "--no-effects (effects: false)")
    if cfg.match_stats is not None and cfg.camera_effects is not None:
        raise InputError(f"--match-stats {cfg.match_stats}: the recipe already holds fitted "
                         "camera effects (an effects: mapping); give one or the other")
    if not 0 <= cfg.min_visible <= 1:
        raise InputError(f"--min-visible: must lie in [0, 1], got {cfg.min_visible}")
    if cfg.height_m is not None and not 0 < cfg.height_m < math.inf:
        raise InputError(f"--height: must be a positive, finite number of metres, "
                         f"got {cfg.height_m}")
    if cfg.fov_deg is not None and not (1 <= cfg.fov_deg < 179):
        raise InputError(f"--fov: must lie in [1, 179) degrees, got {cfg.fov_deg}")


def camera_text(cfg: GenerateConfig) -> str:
    """How the user asked for the camera, for messages: e.g. '--view robot --pitch 10'."""
    if cfg.camera is not None:
        return f"--camera {cfg.camera.name}"
    parts = [f"--view {cfg.view}"]
    for flag, v in (("--height", cfg.height_m), ("--pitch", cfg.pitch_deg), ("--fov", cfg.fov_deg)):
        if v is not None:
            parts.append(f"{flag} {v:g}")
    return " ".join(parts)


def check_coverage(cfg: GenerateConfig, lib: Library, n: int = 600) -> list[str]:
    """Warn (or, with strict_views, refuse) per target class whose views miss the camera's
    angles; return the warning lines."""
    heights, points = placement_samples(cfg.compose_options(),
                                        np.random.default_rng([cfg.seed, 7]), n)
    preset = PRESETS[cfg.view]
    if preset.perspective and not len(points):
        raise InputError(f"{camera_text(cfg)}: the camera sees no floor nearer than "
                         f"{preset.max_distance_m:g} m, where subjects stand (lower the camera "
                         "or look further down)")
    views = {c: lib.views[c] for c in lib.classes}
    seen = {c: class_seen(v, heights, points, float(np.mean(lib.catalog[c].size_m)))
            for c, v in views.items()} if len(points) else {}
    gaps = coverage_gaps(views, seen)
    lines = [g.message(camera_text(cfg)) for g in gaps]
    if lines and cfg.strict_views:
        raise InputError(f"--strict-views: {lines[0]}"
                         + (f" (and {len(lines) - 1} more class(es))" if len(lines) > 1 else ""))
    for line in lines:
        log.warning("warning: %s", line)
    return lines


def _check_out(out: Path) -> None:
    """InputError, before anything is written, for an --out that cannot hold this set."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    if not (out / STATE_DIR / "config.json").is_file() and out.is_dir() and any(
            p.name != STATE_DIR for p in out.iterdir()):
        raise InputError(f"{out}: exists, is not empty and was not made by synth generate")


def _prepare_out(cfg: GenerateConfig, fingerprint: dict, sweep: bool) -> dict[str, Path]:
    """Check (or record) the set's settings and make its folders; the caller holds OUT_LOCK.

    `sweep`: no other run renders into OUT, so temp files left there are a killed run's."""
    out = cfg.out
    state = out / STATE_DIR
    config_file = state / "config.json"
    if config_file.is_file():
        old = json.loads(config_file.read_text(encoding="utf-8"))
        made_by = old.get("render_version", 1)  # sets made before the key existed: 1
        if made_by != RENDER_VERSION:
            raise InputError(f"{out}: was made by another version of synth generate (render "
                             f"version {made_by}, this one {RENDER_VERSION}); use another --out "
                             "or delete it")
        if old != fingerprint:
            diff = sorted(k for k in set(old) | set(fingerprint) if old.get(k) != fingerprint.get(k))
            raise InputError(f"{out}: holds a set made with other settings ({', '.join(diff)}); "
                             "use another --out or delete it")
    else:
        # A run that died before writing config.json leaves at most the lock files.
        if any(p.name != STATE_DIR for p in out.iterdir()) or any(
                p.name not in LOCK_FILES and not p.name.endswith(".tmp") for p in state.iterdir()):
            raise InputError(f"{out}: exists, is not empty and was not made by synth generate")
        fsio.remove_stale_temps(state)
        fsio.write_text(config_file, json.dumps(fingerprint, indent=1, sort_keys=True) + "\n")
    work = out if cfg.format == "voc" else state  # where the VOC files are rendered
    dirs = {"images": work / "JPEGImages", "annotations": work / "Annotations",
            "records": state / "records"}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
        if sweep:
            fsio.remove_stale_temps(d)
    return dirs


def open_out(cfg: GenerateConfig, fingerprint: dict, effects_text: str | None
             ) -> tuple[dict[str, Path], FileLock]:
    """Prepare OUT for this run (shards may start together) and return its folders and the
    shared ACTIVE_LOCK this run holds until it has gathered the index files."""
    _check_out(cfg.out)
    state = cfg.out / STATE_DIR
    active = FileLock(state / ACTIVE_LOCK)
    with FileLock(state / OUT_LOCK).held():
        alone = active.acquire(wait=False)  # no other run renders: sweep their temp files
        dirs = _prepare_out(cfg, fingerprint, sweep=alone)
        if effects_text is not None:
            fsio.write_text(cfg.out / EFFECTS_FILE, effects_text)
        active.acquire(shared=True)
    return dirs, active


def _done(dirs: dict[str, Path], stem: str) -> bool:
    return ((dirs["annotations"] / f"{stem}.xml").is_file()
            and (dirs["images"] / f"{stem}.jpg").is_file()
            and (dirs["records"] / f"{stem}.json").is_file())


def publish_layout(cfg: GenerateConfig, dirs: dict[str, Path], classes: list[str],
                   splits: dict[str, list[str]]) -> None:
    """Write the YOLO or COCO layout of the rendered images into OUT with the one writer.

    It is written whole into a folder under OUT/.synth, then each of its top-level entries
    (images/, labels/, annotations/, data.yaml) replaces OUT's by a rename."""
    import shutil
    import tempfile

    items = {name: [(read_annotation(dirs["annotations"] / f"{stem}.xml"),
                     (dirs["images"] / f"{stem}.jpg").resolve()) for stem in stems]
             for name, stems in splits.items()}
    tmp = Path(tempfile.mkdtemp(dir=cfg.out / STATE_DIR, prefix="layout.", suffix=".tmp"))
    try:
        write_dataset(tmp / "new", cfg.format, classes, items, final_root=cfg.out)
        (tmp / "old").mkdir()
        for part in sorted((tmp / "new").iterdir()):
            old = cfg.out / part.name
            if old.is_dir() and not old.is_symlink():
                os.replace(old, tmp / "old" / part.name)
            fsio.rename_into_place(part, old)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def finalize(cfg: GenerateConfig, dirs: dict[str, Path], classes: list[str]) -> int:
    """Write manifest.jsonl, the split files and labels.txt (VOC), or the chosen layout, from
    every image present; return how many.

    Runs take turns (OUT_LOCK), and each gathers everything present after it has rendered
    its own images, so the last shard to finish writes the whole set."""
    with FileLock(cfg.out / STATE_DIR / OUT_LOCK).held():
        _sweep_index_temps(cfg)
        lines: list[str] = []
        splits: dict[str, list[str]] = {name: [] for name in cfg.split}
        for index in range(cfg.n):
            stem = image_stem(cfg, index)
            if not _done(dirs, stem):
                continue
            line = (dirs["records"] / f"{stem}.json").read_text(encoding="utf-8")
            lines.append(line if line.endswith("\n") else line + "\n")
            splits[json.loads(line)["split"]].append(stem)
        if cfg.format == "voc":
            write_splits(cfg.out, splits)
            write_labels(cfg.out, classes)
        else:
            publish_layout(cfg, dirs, classes, splits)
        write_manifest(cfg.out, lines)
    return len(lines)


def _sweep_index_temps(cfg: GenerateConfig) -> None:
    """Remove what a run killed while gathering left (those files are only written under
    OUT_LOCK, so no temp of theirs is in use)."""
    import shutil

    for name in (MANIFEST, "labels.txt", EFFECTS_FILE):
        fsio.remove_stale_temps(cfg.out, name)
    for split in cfg.split:
        fsio.remove_stale_temps(cfg.out / "ImageSets" / "Main", f"{split}.txt")
    for tmp in (cfg.out / STATE_DIR).glob("layout.*.tmp"):
        shutil.rmtree(tmp, ignore_errors=True)


def load_camera(cfg: GenerateConfig) -> None:
    """Read cfg.camera into cfg.camera_spec; the image size is the camera's."""
    if cfg.camera is None:
        return
    spec = load_camera_file(cfg.camera)
    try:
        lens_map(spec, spec.roll_deg)  # cached: the first image reuses its rays
    except NoRays:
        raise InputError(f"{cfg.camera}: dist: no pixel of this lens maps back to a ray in front "
                         f"of the camera (the distortion {list(spec.dist)} is too strong to "
                         "invert)") from None
    if cfg.size_given and tuple(cfg.size) != tuple(spec.image_size):
        raise InputError(f"--size {cfg.size[0]}x{cfg.size[1]}: {cfg.camera} makes "
                         f"{spec.image_size[0]}x{spec.image_size[1]} images (leave --size out)")
    cfg.camera_spec = spec
    cfg.size = tuple(spec.image_size)


def generate(cfg: GenerateConfig, progress: bool = True) -> GenerateResult:
    """Render (or resume) the images of this run's shard, then gather the set's index files."""
    _check_config(cfg)
    load_camera(cfg)
    cfg.out = Path(cfg.out)
    lib = build_library(cfg)
    bank = load_scene_bank(cfg.backgrounds)
    foreign = sorted({o.name for ph in bank.photos for o in ph.objects} - set(lib.classes))
    if foreign:
        log.warning("warning: %s: objects of %s in the frames are not generated here: subjects "
                    "keep off them but they stay unlabelled", cfg.backgrounds, ", ".join(foreign))
    check_coverage(cfg, lib)
    if cfg.match_stats is not None:  # fit the camera to the real frames before writing anything
        fit = fit_to_folder(cfg.match_stats, lib, bank, cfg.compose_options(), cfg.seed,
                            shadows=cfg.shadows)
        cfg.camera_effects = fit.effects
        header = fit_header(fit, cfg.seed)
        log.info("%s\n(fitted in %.1f s)", "\n".join(header[:-1]), fit.seconds)
        for stat in fit.off:
            log.warning("warning: --match-stats: the probe's median %s is still off %s's "
                        "(see the table above)", stat, cfg.match_stats)
    else:
        header = ["camera effects of this set (synth generate --recipe ... effects:)"]
    effects_text = (effects_yaml(cfg.camera_effects, header)
                    if cfg.effects and cfg.camera_effects is not None else None)
    dirs, active = open_out(cfg, _fingerprint(cfg, lib, bank), effects_text)
    k, n_shards = cfg.shard
    mine = [i for i in range(cfg.n) if i % n_shards == k]
    pending = [i for i in mine if not _done(dirs, image_stem(cfg, i))]
    if len(pending) < len(mine):
        log.info("resuming: %d of %d images already done", len(mine) - len(pending), len(mine))
    global _WORKER
    _WORKER = _Worker(cfg, lib, bank, split_assignment(cfg.n, cfg.split, cfg.seed), dirs)
    if pending:
        warm_caches(cfg)
    bar = tqdm(total=len(pending), unit="img", desc=f"synth {cfg.view}", disable=not progress)
    try:
        if cfg.workers <= 1 or len(pending) <= 1:
            for i in pending:
                _WORKER.render(i)
                bar.update()
        else:
            # One OpenCV thread per worker: the workers fill the cores already, and OpenCV's
            # threads on top of them only contend (the bytes do not depend on it). Set before
            # the fork: a forked child cannot resize a pool whose threads it did not inherit.
            threads = cv2.getNumThreads()
            cv2.setNumThreads(1)
            try:
                with mp.get_context("fork").Pool(cfg.workers) as pool:
                    for _ in pool.imap_unordered(_render_in_worker, pending, chunksize=4):
                        bar.update()
            finally:
                cv2.setNumThreads(threads)
    finally:
        bar.close()
        _WORKER = None
    present = finalize(cfg, dirs, lib.classes)
    active.release()
    return GenerateResult(cfg.out, len(pending), len(mine) - len(pending), present, cfg.n,
                          finalized=present == cfg.n)
