"""`synth generate --match-stats DIR`: fit the camera effects to a folder of real frames.

The fit is a measured loop. A probe batch of composites (PROBE_IMAGES at the run's view and
size, no effects, drawn from the run's seed) is rendered once, with a tone probe of more,
smaller composites of the same draws (tone_composites); the camera's effects
(synth.effects.CameraEffects, applied by the code that writes the images, JPEG round trip
included) are tried on it and the probe's medians of the image statistics
(synth.imagestats) compared with the folder's. Each fitted effect answers one statistic:

  tone knobs (solved one at a time, on the tone probe):
    gamma          brightness
    contrast       contrast (log)
    gain_r/gain_b  mean_r/mean_b     (gain_g keeps 0.299 r + 0.587 g + 0.114 b = 1)
  fine knobs (one at a time at first, then joint damped Gauss-Newton steps, _JointStep):
    sharpen        sharpness (log)   signed: blur sigma < 0 < unsharp-mask amount
    noise_std      noise
    jpeg_quality   blockiness

in rounds until every statistic is within its tolerance (TOLERANCE), or nothing moves, or
MAX_RENDERS probe renders are spent. Tone statistics are read from the tone probe, offset
by what blur, noise and JPEG change on the draws both probes share. Each effect's range is
its fitted centre plus a fixed jitter (SPREAD), so a set is not one camera setting.
Resolution loss (downscale) is not fitted: it lowers the same statistic as blur and nothing
here tells them apart; it stays as given (default off). Everything is a function of the
seed and the folder: the same inputs give the same fit.
"""
from __future__ import annotations

import logging
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from .cores import default_workers
from .compose import ComposeOptions, Library, compose
from .effects import (CAMERA_STREAM, LUMA, CameraEffects, blur_or_sharpen, draw_camera,
                      resolution_loss, sensor_noise, tone)
from .errors import InputError
from .imageio import encode_jpeg
from .imagestats import STATS, FolderStats, folder_stats, image_stats
from .scene import SceneBank

log = logging.getLogger(__name__)

PROBE_IMAGES = 32
TONE_PROBE_IMAGES = 128  # small composites for the tone statistics (see tone_composites)
TONE_SHRINK = 4
TARGET_IMAGES = 200  # an even sample of the folder's images when it has more
MAX_RENDERS = 36     # probe renders through the whole camera, at most
MAX_PASSES = 12      # rounds of the fit (each: tone knobs, then a joint step of the others)
MAX_EVALS = 5        # probe renders per effect in a one-at-a-time search
FIT_STATS = ("brightness", "contrast", "mean_r", "mean_g", "mean_b", "sharpness", "noise",
             "blockiness")
TONE_STATS = ("brightness", "contrast", "mean_r", "mean_g", "mean_b")
# How close each statistic's probe median must come to the folder's (in the search scale:
# log for sharpness and contrast, so log(1.08) is 8%); noise: relative, at least 0.05.
TOLERANCE = {"sharpness": math.log(1.08), "contrast": math.log(1.03), "brightness": 1.5,
             "mean_r": 2.0, "mean_g": 2.0, "mean_b": 2.0, "noise": 0.06, "blockiness": 0.01}
LOG_STATS = ("sharpness", "contrast")
# Half-width of each fitted range around its centre ("rel": times the centre).
SPREAD = {"sharpen": 0.15, "noise_std": ("rel", 0.2), "gamma": ("rel", 0.04),
          "contrast": ("rel", 0.04), "gain": 0.02, "jpeg_quality": 4}
EFFECT_COMMENTS = {
    "sharpen": "signed: < 0 Gaussian blur sigma (px), > 0 unsharp-mask amount (sigma 1 px)",
    "downscale": "resolution loss: shrink by this factor and scale back (not fitted)",
    "noise_std": "sensor noise std per channel (0-255)",
    "gamma": "tone-curve exponent (> 1 darkens the mid-tones)",
    "contrast": "gain about the image's grey mean",
    "gain_r": "colour balance (per-channel gains)",
    "gain_g": "",
    "gain_b": "",
    "jpeg_quality": "the written file's JPEG quality",
    "motion_px": "motion blur length (px), in a random direction (not fitted)",
}
LIMITS = {"sharpen": (-6.0, 4.0), "downscale": (1.0, 8.0), "noise_std": (0.0, 40.0),
          "gamma": (0.25, 4.0), "contrast": (0.2, 6.0), "gain_r": (0.4, 2.5),
          "gain_g": (0.4, 2.5), "gain_b": (0.4, 2.5), "jpeg_quality": (10, 100),
          "motion_px": (0.0, 40.0)}


# ----------------------------------------------------------------------------- the effects file
def effects_from_mapping(mapping: object, where: str) -> CameraEffects:
    """CameraEffects from an `effects:` mapping (each key a [lo, hi] range or one value)."""
    if not isinstance(mapping, dict):
        raise InputError(f"{where}: must be a mapping of effect names to [lo, hi] ranges")
    names = [f.name for f in fields(CameraEffects)]
    values = {}
    for key, raw in mapping.items():
        if key not in names:
            raise InputError(f"{where}: unknown effect {key!r} (known: {', '.join(names)})")
        pair = raw if isinstance(raw, (list, tuple)) else [raw, raw]
        try:
            lo, hi = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise InputError(f"{where}: {key} must be a number or [lo, hi], got {raw!r}") from None
        a, b = LIMITS[key]
        if not (a <= lo <= hi <= b):
            raise InputError(f"{where}: {key} needs {a:g} <= lo <= hi <= {b:g}, got {raw!r}")
        if key == "jpeg_quality":
            values[key] = (int(round(lo)), int(round(hi)))
        else:
            values[key] = (lo, hi)
    return CameraEffects(**values)


def effects_mapping(fx: CameraEffects) -> dict[str, list]:
    """The `effects:` mapping of a CameraEffects (the inverse of effects_from_mapping)."""
    return {k: list(v) for k, v in asdict(fx).items()}


def effects_yaml(fx: CameraEffects, header: list[str]) -> str:
    """A recipe fragment holding the effects, commented, to keep and pass back with --recipe."""
    lines = [f"# {h}" if h else "#" for h in header]
    lines.append("effects:")
    for k, (lo, hi) in asdict(fx).items():
        text = f"  {k}: [{lo}, {hi}]"
        note = EFFECT_COMMENTS.get(k)
        lines.append(f"{text:<34}# {note}" if note else text)
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- the probe
def probe_composites(lib: Library, bank: SceneBank, options: ComposeOptions, seed: int,
                     n: int = PROBE_IMAGES, shadows: bool = True) -> list[np.ndarray]:
    """The probe batch: `n` composites without effects, a pure function of the seed."""
    return [compose(lib, bank, options, np.random.default_rng([seed, 0x9B0BE, i]),
                    shadows=shadows).rgb for i in range(n)]


def tone_composites(lib: Library, bank: SceneBank, options: ComposeOptions, seed: int,
                    n: int = TONE_PROBE_IMAGES, shadows: bool = True) -> list[np.ndarray] | None:
    """The tone probe: `n` small composites, the first ones of the same draws as the probe's.

    Brightness, contrast and colour vary much more between composites (floors differ) than
    the probe's 32 can pin down, and they hardly depend on the resolution; a composite at a
    quarter of the width costs about a third. None with a calibrated camera (its size is
    fixed).
    """
    if options.camera is not None:
        return None
    w, h = options.size
    k = max(1, min(TONE_SHRINK, min(w, h) // 64))
    small = replace(options, size=(max(32, w // k), max(32, h // k)))
    return probe_composites(lib, bank, small, seed, n, shadows)


def _clamp_range(lo: float, hi: float, name: str) -> tuple[float, float]:
    a, b = LIMITS[name]
    return max(a, lo), min(b, hi)


def effects_at(centres: dict[str, float], base: CameraEffects) -> CameraEffects:
    """The effect ranges around fitted centres (base gives the effects not fitted)."""
    out = {}
    for name, c in centres.items():
        spread = SPREAD["gain"] if name.startswith("gain_") else SPREAD[name]
        half = spread[1] * abs(c) if isinstance(spread, tuple) else spread
        lo, hi = _clamp_range(c - half, c + half, name)
        if name == "jpeg_quality":
            out[name] = (int(round(lo)), int(round(hi)))
        else:
            out[name] = (round(lo, 4), round(hi, 4))
    return replace(base, **out)


class Probe:
    """The probe batch and the camera's stages on it (each stage's last result cached)."""

    def __init__(self, images: list[np.ndarray], seed: int,
                 tone_images: list[np.ndarray] | None = None):
        self.images = images
        self.tone_images = tone_images or [
            cv2.resize(im, (max(1, im.shape[1] // 2), max(1, im.shape[0] // 2)),
                       interpolation=cv2.INTER_AREA) for im in images]
        self.base = [seed, 0x9B0BE]  # composite i was drawn from [seed, 0x9B0BE, i]
        h = max(im.shape[0] for im in images)
        w = max(im.shape[1] for im in images)
        noise_rng = np.random.default_rng([seed, CAMERA_STREAM, 0x9B0BE])
        self.unit = noise_rng.standard_normal((h + 32, w + 32, 3), dtype=np.float32)
        self.cache: dict[str, tuple[object, list]] = {}
        self.measured: dict[CameraEffects, dict[str, float]] = {}
        self.renders = 0
        self.workers = min(4, default_workers())

    def _draws(self, fx: CameraEffects, n: int | None = None):
        """Each probe image's draw of the effects (image i draws as the i-th composite)."""
        return [draw_camera(fx, np.random.default_rng([*self.base, i, CAMERA_STREAM]))
                for i in range(len(self.images) if n is None else n)]

    def _stage(self, name: str, key: object, make: Callable[[], list]) -> list:
        hit = self.cache.get(name)
        if hit is not None and hit[0] == key:
            return hit[1]
        value = make()
        self.cache[name] = (key, value)
        return value

    def _sharp(self, fx: CameraEffects, draws) -> list[np.ndarray]:
        return self._stage("sharp", (fx.downscale, fx.sharpen), lambda: [
            blur_or_sharpen(resolution_loss(im, d.downscale), d.sharpen)
            for im, d in zip(self.images, draws)])

    def _toned(self, fx: CameraEffects, draws) -> list[np.ndarray]:
        key = (fx.downscale, fx.sharpen, fx.gamma, fx.contrast, fx.gain_r, fx.gain_g, fx.gain_b)
        return self._stage("toned", key, lambda: [
            tone(im, d.gains, d.contrast, d.gamma)
            for im, d in zip(self._sharp(fx, draws), draws)])

    def _noisy(self, fx: CameraEffects, draws) -> list[np.ndarray]:
        key = (fx.downscale, fx.sharpen, fx.gamma, fx.contrast, fx.gain_r, fx.gain_g, fx.gain_b,
               fx.noise_std)

        def make() -> list[np.ndarray]:
            out = []
            for i, (im, d) in enumerate(zip(self._toned(fx, draws), draws)):
                dy, dx = (7 * i) % 32, (13 * i) % 32
                out.append(sensor_noise(im, d.noise_std, self.unit[dy:, dx:]))
            return out
        return self._stage("noisy", key, make)

    def measure(self, fx: CameraEffects) -> dict[str, float]:
        """Probe medians of FIT_STATS through the whole camera, JPEG round trip included."""
        if fx not in self.measured:
            draws = self._draws(fx)

            def one(args) -> dict[str, float]:
                im, d = args
                data = np.frombuffer(encode_jpeg(im, d.jpeg_quality), np.uint8)  # as written
                bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
                return image_stats(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), only=FIT_STATS)

            with ThreadPoolExecutor(self.workers) as pool:  # cv2 releases the GIL
                rows = list(pool.map(one, zip(self._noisy(fx, draws), draws)))
            self.renders += 1
            self.measured[fx] = {k: float(np.median([r[k] for r in rows])) for k in FIT_STATS}
        return self.measured[fx]

    def measure_tone(self, fx: CameraEffects, stats: tuple[str, ...], shared: bool = False
                     ) -> dict[str, float]:
        """Medians of tone statistics on the tone probe (tone only: no blur, noise or JPEG);
        `shared`: on its first images only, the same draws as the probe's."""
        images = self.tone_images[:len(self.images)] if shared else self.tone_images
        draws = self._draws(fx, len(images))
        rows = [image_stats(tone(im, d.gains, d.contrast, d.gamma), only=stats)
                for im, d in zip(images, draws)]
        return {k: float(np.median([r[k] for r in rows])) for k in stats}


# ----------------------------------------------------------------------------- the fit
@dataclass(frozen=True)
class Knob:
    """One fitted effect: the statistic it answers and how to search it."""

    name: str
    stat: str
    log: bool          # search in log(value)
    slope: float       # prior d(stat in search scale) / d(value in search scale), for a first step
    max_step: float    # largest first step (search scale)


KNOBS = (
    Knob("gamma", "brightness", True, -80.0, 0.7),
    Knob("contrast", "contrast", True, 1.0, 1.2),
    Knob("gain_r", "mean_r", True, 120.0, 0.4),
    Knob("gain_b", "mean_b", True, 120.0, 0.4),
    Knob("jpeg_quality", "blockiness", False, -0.004, 30.0),
    Knob("noise_std", "noise", False, 0.55, 8.0),
    Knob("sharpen", "sharpness", False, 1.2, 1.5),
)
KNOB = {k.name: k for k in KNOBS}
TONE_KNOBS = ("gamma", "contrast", "gain_r", "gain_b")
FINE = ("sharpen", "noise_std", "jpeg_quality")
FINE_STATS = ("sharpness", "noise", "blockiness")


def _scale(stat: str, v: float) -> float:
    return math.log(max(v, 1e-6)) if stat in LOG_STATS else v


def _tolerance(stat: str, target: float) -> float:
    if stat == "noise":
        return max(0.05, TOLERANCE["noise"] * target)
    return TOLERANCE[stat]


def solve(g: Callable[[float], float], x0: float, g0: float, knob: Knob, tol: float,
          lo: float, hi: float, max_evals: int = MAX_EVALS) -> tuple[float, float]:
    """A root of the monotone g (in the knob's search scale) near x0: (x, g(x)), best found."""
    to_s = (lambda x: math.log(x)) if knob.log else (lambda x: x)
    to_x = (lambda s: math.exp(s)) if knob.log else (lambda s: s)
    s_lo, s_hi = to_s(lo), to_s(hi)
    pts = [(to_s(x0), g0)]
    if abs(g0) <= tol:
        return x0, g0
    step = max(-knob.max_step, min(knob.max_step, -g0 / knob.slope))
    s = min(s_hi, max(s_lo, pts[0][0] + step))
    for _ in range(max_evals):
        if any(abs(s - p) < 1e-9 for p, _ in pts):
            break
        gs = g(to_x(s))
        pts.append((s, gs))
        if abs(gs) <= tol:
            break
        below = [p for p in pts if p[1] < 0]
        above = [p for p in pts if p[1] > 0]
        if below and above:  # bracketed: secant between the closest pair
            a = min(below, key=lambda p: -p[1])
            b = min(above, key=lambda p: p[1])
            s = (a[0] * b[1] - b[0] * a[1]) / (b[1] - a[1])
            # keep clear of the ends, or regula falsi crawls
            width = b[0] - a[0]
            s = min(max(s, min(a[0], b[0]) + 0.1 * abs(width)), max(a[0], b[0]) - 0.1 * abs(width))
        else:  # not yet: extrapolate from the last two (at most four times the last step)
            (s1, g1), (s2, g2) = pts[-2], pts[-1]
            slope = (g2 - g1) / (s2 - s1) if s2 != s1 else 0.0
            nxt = s2 - g2 / slope if slope * knob.slope > 0 else s2 + 2 * (s2 - s1)
            lim = 4 * abs(s2 - s1)
            s = min(s_hi, max(s_lo, min(s2 + lim, max(s2 - lim, nxt))))
    best = min(pts, key=lambda p: abs(p[1]))
    return to_x(best[0]), best[1]


@dataclass
class FitResult:
    """What the fit found: the effects and the statistics before and after."""

    effects: CameraEffects
    target: dict[str, float]     # medians of the folder
    before: dict[str, float]     # the probe's, without effects (JPEG 95)
    after: dict[str, float]      # the probe's, through the fitted effects
    directory: Path
    target_images: int
    target_total: int
    probe_images: int
    renders: int
    seconds: float
    off: list[str]               # statistics left outside their tolerance


def _rounded(name: str, x: float) -> float:
    """A fitted centre as written: whole JPEG qualities, three decimals otherwise."""
    return float(round(x)) if name == "jpeg_quality" else round(x, 3)


def _gain_g(gain_r: float, gain_b: float) -> float:
    return float((1.0 - LUMA[0] * gain_r - LUMA[2] * gain_b) / LUMA[1])


def _within(stat: str, probe: float, target: float) -> bool:
    return abs(_scale(stat, probe) - _scale(stat, target)) <= _tolerance(stat, target)


def _tone_estimate(probe: Probe, fx: CameraEffects, full: dict[str, float]) -> dict[str, float]:
    """The probe's statistics with the tone ones taken from the tone probe, offset by what
    blur, noise and JPEG change (measured on the draws both probes share)."""
    small, shared = probe.measure_tone(fx, TONE_STATS), probe.measure_tone(fx, TONE_STATS, True)
    out = dict(full)
    for k in TONE_STATS:
        t = _scale(k, small[k]) + _scale(k, full[k]) - _scale(k, shared[k])
        out[k] = math.exp(t) if k in LOG_STATS else t
    return out


def _tone_pass(probe: Probe, centres: dict[str, float], fx_of, target: dict[str, float],
               full: dict[str, float]) -> None:
    """Solve each tone knob in turn on the tone probe, offset to the full camera."""
    shared = probe.measure_tone(fx_of(centres), TONE_STATS, shared=True)
    for name in TONE_KNOBS:
        knob = KNOB[name]
        offset = _scale(knob.stat, full[knob.stat]) - _scale(knob.stat, shared[knob.stat])
        goal = _scale(knob.stat, target[knob.stat]) - offset

        def g(x: float, knob=knob, goal=goal) -> float:
            m = probe.measure_tone(fx_of(dict(centres, **{knob.name: x})), (knob.stat,))
            return _scale(knob.stat, m[knob.stat]) - goal

        lo, hi = LIMITS[name]
        x, _ = solve(g, centres[name], g(centres[name]), knob,
                     _tolerance(knob.stat, target[knob.stat]), lo, hi)
        centres[name] = _rounded(name, x)


def _fine_pass(probe: Probe, centres: dict[str, float], fx_of, target: dict[str, float]) -> None:
    """Solve each of blur/sharpen, noise and JPEG quality in turn (a first, rough answer)."""
    for name in ("jpeg_quality", "noise_std", "sharpen"):
        knob = KNOB[name]
        goal = _scale(knob.stat, target[knob.stat])

        def g(x: float, knob=knob, goal=goal) -> float:
            m = probe.measure(fx_of(dict(centres, **{knob.name: x})))
            return _scale(knob.stat, m[knob.stat]) - goal

        lo, hi = LIMITS[name]
        x, _ = solve(g, centres[name], g(centres[name]), knob,
                     _tolerance(knob.stat, target[knob.stat]), lo, hi)
        centres[name] = _rounded(name, x)


def _residuals(m: dict[str, float], target: dict[str, float]) -> np.ndarray:
    """Misses of the fine statistics, in units of their tolerances."""
    return np.array([(_scale(s, m[s]) - _scale(s, target[s])) / _tolerance(s, target[s])
                     for s in FINE_STATS])


def _to_u(c: dict[str, float]) -> np.ndarray:
    """The fine knobs in the joint step's units: sharpen / 0.3, noise variance / 4, quality / 5."""
    return np.array([c["sharpen"] / 0.3, c["noise_std"] ** 2 / 4.0, c["jpeg_quality"] / 5.0])


def _from_u(u: np.ndarray) -> dict[str, float]:
    a, v, q = (float(x) for x in u)
    return {"sharpen": _rounded("sharpen", 0.3 * a),
            "noise_std": _rounded("noise_std", math.sqrt(max(0.0, 4.0 * v))),
            "jpeg_quality": _rounded("jpeg_quality", 5.0 * q)}


_U_LO = _to_u({"sharpen": LIMITS["sharpen"][0], "noise_std": LIMITS["noise_std"][0],
               "jpeg_quality": LIMITS["jpeg_quality"][0]})
_U_HI = _to_u({"sharpen": LIMITS["sharpen"][1], "noise_std": LIMITS["noise_std"][1],
               "jpeg_quality": LIMITS["jpeg_quality"][1]})


class _JointStep:
    """Damped Gauss-Newton (Levenberg-Marquardt) steps of the fine knobs together.

    Noise raises the Laplacian's variance, blur lowers the noise reading and JPEG removes
    noise below its quantisation step, so solving the three one at a time swings. The
    Jacobian comes from finite differences once and is then kept up to date by Broyden's
    rank-one updates (one probe render per step); the damping leaves a knob alone where
    its statistic does not answer. Noise is stepped in variance, which adds.
    """

    def __init__(self, probe: Probe, fx_of, target: dict[str, float]):
        self.probe, self.fx_of, self.target = probe, fx_of, target
        self.J: np.ndarray | None = None
        self.damping = 0.03

    def residuals(self, centres: dict[str, float]) -> np.ndarray:
        return _residuals(self.probe.measure(self.fx_of(centres)), self.target)

    def jacobian(self, centres: dict[str, float], r0: np.ndarray) -> np.ndarray:
        u0 = _to_u(centres)
        J = np.empty((len(FINE_STATS), 3))
        for j in range(3):
            du = 1.0 if u0[j] + 1.0 <= _U_HI[j] else -1.0
            u = u0.copy()
            u[j] += du
            J[:, j] = (self.residuals(dict(centres, **_from_u(u))) - r0) / du
        return J

    def step(self, centres: dict[str, float]) -> bool:
        """Move the fine knobs of `centres` towards the target; False when no step helped."""
        r0 = self.residuals(centres)
        if self.J is None:
            self.J = self.jacobian(centres, r0)
        u0 = _to_u(centres)
        for _ in range(3):
            A, b = self.J.T @ self.J, self.J.T @ r0
            du = -np.linalg.solve(A + self.damping * (np.diag(np.diag(A)) + 0.1 * np.eye(3)), b)
            moved = _from_u(np.clip(u0 + du, _U_LO, _U_HI))
            du = _to_u(moved) - u0
            if not np.any(np.abs(du) > 1e-9):
                self.damping = max(self.damping / 3, 1e-3)
                return False
            cand = dict(centres, **moved)
            r = self.residuals(cand)
            self.J = self.J + np.outer(r - r0 - self.J @ du, du) / float(du @ du)  # Broyden
            if float(r @ r) < float(r0 @ r0):
                centres.update(moved)
                self.damping = max(self.damping / 3, 1e-3)
                return True
            self.damping *= 4
        self.J = None  # the model was poor there: measure it afresh next time
        return False


def fit_camera(probe: Probe, target: dict[str, float]
               ) -> tuple[CameraEffects, dict[str, float], dict[str, float], list[str]]:
    """Fit the effects on the probe to the target medians: (effects, before, after, off).

    The fitted camera has no motion blur (the probe's stages, like the knobs, leave it out).
    """
    base = CameraEffects()
    centres = {"sharpen": 0.0, "noise_std": 0.0, "gamma": 1.0, "contrast": 1.0, "gain_r": 1.0,
               "gain_b": 1.0, "jpeg_quality": 95.0}
    plain = replace(base, jpeg_quality=(95, 95))
    before = _tone_estimate(probe, plain, probe.measure(plain))

    def fx_of(c: dict[str, float]) -> CameraEffects:
        return effects_at(dict(c, gain_g=_gain_g(c["gain_r"], c["gain_b"])), base)

    def within(m: dict[str, float], knobs) -> bool:
        return all(_within(KNOB[k].stat, m[KNOB[k].stat], target[KNOB[k].stat]) for k in knobs)

    log.debug("match target: %s", {k: round(target[k], 3) for k in FIT_STATS})
    joint = _JointStep(probe, fx_of, target)
    stuck = 0
    for rnd in range(MAX_PASSES):
        full = probe.measure(fx_of(centres))
        estimate = _tone_estimate(probe, fx_of(centres), full)
        log.debug("match (%d renders): %s -> %s", probe.renders, centres,
                  {k: round(v, 3) for k, v in estimate.items()})
        if within(estimate, KNOB) or stuck >= 2 or probe.renders >= MAX_RENDERS:
            break
        was = dict(centres)
        if rnd == 0 or not within(estimate, TONE_KNOBS):
            _tone_pass(probe, centres, fx_of, target, full)
        if rnd == 0:
            _fine_pass(probe, centres, fx_of, target)
        elif not within(probe.measure(fx_of(centres)), FINE):
            joint.step(centres)
        stuck = stuck + 1 if centres == was else 0  # twice nothing moved: as good as it gets
    fx = fx_of(centres)
    after = _tone_estimate(probe, fx, probe.measure(fx))
    off = [k.stat for k in KNOBS if not _within(k.stat, after[k.stat], target[k.stat])]
    return fx, before, after, off


def fit_to_folder(directory: str | os.PathLike, lib: Library, bank: SceneBank,
                  options: ComposeOptions, seed: int, shadows: bool = True) -> FitResult:
    """Fit the camera effects so a run's images match the statistics of a folder of frames."""
    t0 = time.perf_counter()
    try:
        real: FolderStats = folder_stats(directory, limit=TARGET_IMAGES)
    except InputError as exc:
        raise InputError(f"--match-stats {exc}") from None
    target = {k: real.median(k) for k in STATS}
    bad = [k for k in FIT_STATS if not math.isfinite(target[k])]
    if bad:
        raise InputError(f"--match-stats {directory}: cannot measure {', '.join(bad)} "
                         "(images under 16x16 pixels?)")
    probe = Probe(probe_composites(lib, bank, options, seed, PROBE_IMAGES, shadows), seed,
                  tone_composites(lib, bank, options, seed, shadows=shadows))
    fx, before, after, off = fit_camera(probe, target)
    return FitResult(effects=fx, target=target, before=before, after=after,
                     directory=Path(directory), target_images=len(real.paths),
                     target_total=real.total, probe_images=PROBE_IMAGES, renders=probe.renders,
                     seconds=time.perf_counter() - t0, off=off)


def fit_table(fit: FitResult) -> list[str]:
    """The fit's statistics as text lines: the folder's, the probe's before and after."""
    from .stats import format_table

    rows = []
    for k in FIT_STATS:
        t, b, a = fit.target[k], fit.before[k], fit.after[k]
        ratio = f"{a / t:.2f}" if t else "-"
        rows.append([k, f"{t:.4g}", f"{b:.4g}", f"{a:.4g}", ratio,
                     "" if _within(k, a, t) else "off"])
    return format_table(["statistic", "DIR median", "probe before", "probe after",
                         "after/DIR", ""], rows).splitlines()


def fit_header(fit: FitResult, seed: int) -> list[str]:
    """The comment lines of effects.yaml: where the fit came from and how close it got
    (nothing that varies between runs: the file is part of the set's bytes)."""
    n = (f"{fit.target_images} images" if fit.target_images == fit.target_total else
         f"an even sample of {fit.target_images} of {fit.target_total} images")
    return [f"synth generate --match-stats {fit.directory} ({n}): camera effects fitted on "
            f"{fit.probe_images} probe composites (seed {seed}), {fit.renders} probe renders",
            *fit_table(fit),
            "Keep this file and pass it back with --recipe (or copy the effects: block into a "
            "recipe); it replaces the default camera effects."]
