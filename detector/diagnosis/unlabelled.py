"""compare-real against real frames that have no labels: image statistics and detector behaviour.

Without labels there is no AP, recall or gap on the real side. What can still be compared,
synthetic (a labelled set, evaluated as usual) vs real (a folder of frames, frames.py):
  images      the image-level statistics of the labelled comparison (colour, contrast,
              sharpness, JPEG blockiness; not the label-derived objects and box_area), with the
              same image_* findings and thresholds (shift.DOMAIN_SHIFT, shift.MIN_IMAGES);
  detections  per class, the detector's own detections with score >= the operating
              confidence, measured alike in both domains: how many per image, their scores,
              and their boxes' relative area, aspect and vertical position (detection_*
              findings). Real detections are unverified: some may be false alarms.
The thresholds below are chosen so that two domains drawn alike give no finding: a finding
needs both a large effect (a rate ratio, a shift score) and a test that rejects sampling
noise (Mann-Whitney on per-image counts at 1%, two-sample Kolmogorov-Smirnov on values at
0.1%). Simulated alike domains (5 to 500 images a side, 0.1 to 2 detections per image,
Poisson or strongly clustered counts) give a finding for 0.2% of the classes; a class that
fires 5x less often on 36 real frames than on 36 synthetic images is found about 3 times in
4 (bench/unlabelled_thresholds.py). Frames of one video are not independent (a dense video
raises the false findings to a few percent): give every Nth frame of a dense sequence.
Nothing here imports torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import ks_2samp, mannwhitneyu

from synth.voc import VocSet

from detector.evaluation.detections import Detections
from detector.evaluation.metrics import ground_truth
from detector.evaluation.render import json_ready
from detector.evaluation.report import report_json

from .compare import (VIEW_MISMATCH_DEG, Domain, DomainStat, Finding, domain_json, image_level,
                      labelled_domain, low_recall_warning, manifest_json)
from .suggest import (Manifest, suggest_false_alarms, suggest_shift, suggest_unrecognised,
                    suggest_view)
from .shift import ATTRIBUTES, DOMAIN_STATS, MIN_IMAGES, Attribute, measure, shift_score, summary

# ----------------------------------------------------------------------------- thresholds
# A detection_rate finding (a class fires more or less often per image on real frames) needs:
RATE_RATIO = 2.0          # detections per image differ by at least this factor, either way
RATE_P = 0.01             # a Mann-Whitney test on the per-image counts rejects equal ones (the
#                           image is the unit: detections cluster in images, so a Poisson test
#                           on the totals would see differences that are not there)
MIN_RATE_DETECTIONS = 5   # detections of the class in the busier domain
# A detection_score / detection_rel_area / _aspect / _y_center finding needs:
MIN_DETECTIONS = 5        # detections of the class in each domain
DETECTION_SHIFT = 1.0     # shift score (Wasserstein / real std, analysis scale) at least this
DETECTION_P = 0.001       # a two-sample Kolmogorov-Smirnov test rejects one distribution
# Both kinds need shift.MIN_IMAGES images in each domain. Real scores higher than synthetic
# ones are no failure and give no finding.
MAX_STAT_FRAMES = 2000    # image statistics of an even sample of this many frames when more
#                           (detections are counted on every frame)
LABEL_FREE_STATS = tuple(n for n in DOMAIN_STATS if n not in ("objects", "box_area"))

SCORE = Attribute("score", "detection score", "linear", 0.02, ".2f", "more confident",
                  "less confident")
DETECTION_ATTRIBUTES: dict[str, Attribute] = {
    "score": SCORE, **{n: ATTRIBUTES[n] for n in ("rel_area", "aspect", "y_center")}}
NO_LABELS = ("The real frames are unlabelled: no AP, recall or gap can be measured on them. "
             "Compared instead are image statistics and the detector's own detections "
             "(how often it fires, how confident it is, where and how large its boxes are).")


@dataclass
class ClassDetections:
    """One class's detections with score >= conf in one domain, measured."""

    per_image: np.ndarray           # (n_images,) detections in each image
    values: dict[str, np.ndarray]   # DETECTION_ATTRIBUTES name -> (n,)

    @property
    def n_images(self) -> int:
        return len(self.per_image)

    @property
    def n(self) -> int:
        return len(self.values["score"])

    @property
    def rate(self) -> float:
        """Detections per image."""
        return self.n / self.n_images if self.n_images else float("nan")


@dataclass
class DetectionShift:
    """One detection attribute of one class in both domains."""

    attr: str
    synthetic: str
    real: str
    shift: float
    p: float                        # KS test p-value (NaN: too few detections)


@dataclass
class UnlabelledComparison:
    """Everything compare-real reports against unlabelled real frames."""

    syn: Domain                     # the synthetic set: evaluated and measured
    frames: VocSet                  # the real frames (no objects)
    real_dets: Detections
    classes: list[str]
    detections: dict[str, dict[str, ClassDetections]]   # class -> "synthetic"/"real"
    shifts: dict[str, dict[str, DetectionShift]]        # class -> attribute -> shift
    rows: list[dict]
    findings: list[Finding]
    domain: list[DomainStat]
    manifest: Manifest | None
    conf: float

    def conf_warning(self) -> str | None:
        """A note when the operating confidence leaves too little synthetic recall to judge."""
        return low_recall_warning(self.syn, self.conf)


# ----------------------------------------------------------------------------- measuring
def class_detections(voc_set: VocSet, dets: Detections, conf: float
                     ) -> dict[str, ClassDetections]:
    """Per class, the detections with score >= conf: score and box attributes."""
    sizes = np.array([(im.width, im.height) for im in voc_set.images], np.float64).reshape(-1, 2)
    W, H = sizes[dets.image, 0], sizes[dets.image, 1]
    x, y, w, h = dets.boxes.T if len(dets) else np.zeros((4, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        values = {"score": dets.score, "rel_area": w * h / (W * H),
                  "aspect": h / np.maximum(w, 1e-9), "y_center": (y + h / 2) / H}
    active = dets.score >= conf
    n_images = len(voc_set.images)
    out = {}
    for k, cls in enumerate(voc_set.classes):
        sel = active & (dets.cls == k)
        out[cls] = ClassDetections(per_image=np.bincount(dets.image[sel], minlength=n_images),
                                   values={a: v[sel] for a, v in values.items()})
    return out


def frame_statistics(frames: VocSet, limit: int = MAX_STAT_FRAMES) -> dict[str, np.ndarray]:
    """The label-free image statistics of the frames (an even sample of `limit` when more)."""
    n_frames = len(frames.images)
    if n_frames > limit:
        keep = np.unique(np.linspace(0, n_frames - 1, limit).round().astype(int))
        frames = VocSet(root=frames.root, classes=frames.classes,
                        images=[frames.images[i] for i in keep])
    images = measure(frames, ground_truth(frames)).images
    return {n: images[n] for n in LABEL_FREE_STATS}


def rate_p(syn_counts: np.ndarray, real_counts: np.ndarray) -> float:
    """Two-sided Mann-Whitney p-value that per-image detection counts are drawn alike."""
    if not (syn_counts.any() or real_counts.any()):
        return 1.0
    return float(mannwhitneyu(syn_counts, real_counts, alternative="two-sided").pvalue)


def _fold(x: float) -> str:
    """A factor of 1 or more as text ('5.0x', '12x')."""
    return f"{x:.1f}x" if x < 10 else f"{x:.0f}x"


# ----------------------------------------------------------------------------- findings
def _unrecognised(cls: str, manifest: Manifest | None) -> str:
    c = manifest.classes.get(cls) if manifest else None
    mismatch = c.view_mismatch() if c else None
    if mismatch is not None and mismatch > VIEW_MISMATCH_DEG:
        return suggest_view(cls, c)
    return suggest_unrecognised(cls, manifest)


def _rate_finding(cls: str, s: ClassDetections, r: ClassDetections, manifest: Manifest | None,
                  conf: float, labels: str) -> Finding | None:
    if s.n_images < MIN_IMAGES or r.n_images < MIN_IMAGES or max(s.n, r.n) < MIN_RATE_DETECTIONS:
        return None
    fewer = r.rate < s.rate
    if fewer:
        ratio = s.rate / r.rate if r.n else math.inf
    else:
        ratio = r.rate / s.rate if s.n else math.inf
    p = rate_p(s.per_image, r.per_image)
    if ratio < RATE_RATIO or p > RATE_P:
        return None
    smoothed = ((r.n + 0.5) / r.n_images) / ((s.n + 0.5) / s.n_images)
    labels = f"; {labels}" if labels else ""
    if r.n == 0:
        how = f"never fires on real frames for {cls}"
    elif s.n == 0:
        how = f"fires on real frames for {cls} but never on synthetic images"
    else:
        how = (f"fires on real frames {_fold(ratio)} {'less' if fewer else 'more'} often than "
               f"on synthetic images for {cls}")
    why = (f"fewer {cls} in view, or {cls} the detector does not recognise" if fewer else
           f"more {cls} in view, or false alarms on real things that are not {cls}")
    return Finding(
        cls=cls, attribute="detection_rate",
        synthetic=f"{s.rate:.2f} per image ({s.n} in {s.n_images} images{labels})",
        real=f"{r.rate:.2f} per frame ({r.n} in {r.n_images} frames)",
        shift=abs(math.log2(smoothed)) / math.log2(RATE_RATIO),
        evidence=(f"the detector {how} ({r.rate:.2f} vs {s.rate:.2f} detections per image with "
                  f"score ≥ {conf:g}; Mann-Whitney p = {p:.1g} over per-image counts); the real "
                  f"frames are unlabelled, so this is {why}"),
        suggestion=_unrecognised(cls, manifest) if fewer else suggest_false_alarms(cls, manifest))


def _shift_text(a: Attribute, ms: float, mr: float) -> str:
    """How the real median differs, e.g. '3.0x smaller in the frame', 'lower in the frame'."""
    word = a.high if mr > ms else a.low
    if a.scale in ("log10", "log2") and ms > 0 and mr > 0:
        return f"{_fold(max(mr / ms, ms / mr))} {word}"
    return word


def class_findings(cls: str, s: ClassDetections, r: ClassDetections,
                   manifest: Manifest | None = None, conf: float = 0.25, labels: str = ""
                   ) -> tuple[dict[str, DetectionShift], list[Finding]]:
    """One class's detection shifts and detection_* findings (`labels`: what the synthetic
    labels say, quoted in the rate finding)."""
    shifts, findings = {}, []
    rate = _rate_finding(cls, s, r, manifest, conf, labels)
    few = " few" if rate is not None and r.rate < s.rate else ""
    for name, a in DETECTION_ATTRIBUTES.items():
        sv, rv = s.values[name], r.values[name]
        sv, rv = sv[np.isfinite(sv)], rv[np.isfinite(rv)]
        enough = len(sv) >= MIN_DETECTIONS and len(rv) >= MIN_DETECTIONS
        score = shift_score(a, sv, rv)
        p = float(ks_2samp(a.transform(sv), a.transform(rv)).pvalue) if enough else float("nan")
        shifts[name] = DetectionShift(attr=name, synthetic=summary(a, sv), real=summary(a, rv),
                                      shift=score, p=p)
        if not (enough and s.n_images >= MIN_IMAGES and r.n_images >= MIN_IMAGES
                and score >= DETECTION_SHIFT and p <= DETECTION_P):
            continue
        ms, mr = float(np.median(sv)), float(np.median(rv))
        high = mr > ms
        if name == "score" and high:
            continue     # more confident on real frames: no failure
        evidence = (f"the{few} real {cls} detections are {_shift_text(a, ms, mr)} than the "
                    f"synthetic ones ({a.label} median {a.format(mr)} vs {a.format(ms)}; "
                    f"{len(rv)} real vs {len(sv)} synthetic detections with score ≥ {conf:g}; "
                    f"KS test p = {p:.1g}); unverified: the real frames have no labels")
        suggestion = _unrecognised(cls, manifest) if name == "score" else \
            suggest_shift(name, high, cls, manifest)
        findings.append(Finding(cls=cls, attribute=f"detection_{name}",
                                synthetic=shifts[name].synthetic, real=shifts[name].real,
                                shift=score, evidence=evidence, suggestion=suggestion))
    findings.sort(key=lambda f: -f.shift)
    return shifts, ([rate] if rate else []) + findings


def _row(cls: str, s: ClassDetections, r: ClassDetections, syn: Domain) -> dict:
    def median(d: ClassDetections, a: str) -> float | None:
        v = d.values[a][np.isfinite(d.values[a])]
        return float(np.median(v)) if len(v) else None

    return {"class": cls, "n_synthetic_objects": int(syn.mask(cls).sum()),
            "recall_synthetic": syn.recall(cls),
            "detections_synthetic": s.n, "per_image_synthetic": s.rate,
            "detections_real": r.n, "per_frame_real": r.rate,
            "rate_ratio": r.rate / s.rate if s.n else None,
            **{f"{a}_median_{side}": median(d, a) for a in DETECTION_ATTRIBUTES
               for side, d in (("synthetic", s), ("real", r))}}


# ----------------------------------------------------------------------------- main
def compare_unlabelled(syn_set: VocSet, syn_dets: Detections, frames: VocSet,
                       real_dets: Detections, conf: float = 0.25,
                       manifest: Manifest | None = None, voc07: bool = False
                       ) -> UnlabelledComparison:
    """Evaluate the synthetic set, measure both domains' images and detections, find shifts."""
    syn = labelled_domain("synthetic", syn_set, syn_dets, conf, voc07)
    syn_images = {n: syn.m.images[n] for n in LABEL_FREE_STATS}
    domain, image_findings = image_level(syn_images, frame_statistics(frames), manifest)
    by_syn = class_detections(syn_set, syn_dets, conf)
    by_real = class_detections(frames, real_dets, conf)
    classes = list(syn_set.classes)
    detections, shifts, rows, findings = {}, {}, [], []
    for cls in classes:
        s, r = by_syn[cls], by_real[cls]
        detections[cls] = {"synthetic": s, "real": r}
        n_obj = int(syn.mask(cls).sum())
        labels = (f"labels: {n_obj / s.n_images:.2f} {cls} per image, recall "
                  f"{syn.recall(cls):.2f}") if n_obj else f"labels: no {cls} objects"
        shifts[cls], f = class_findings(cls, s, r, manifest, conf, labels)
        rows.append(_row(cls, s, r, syn))
        findings += f
    return UnlabelledComparison(syn=syn, frames=frames, real_dets=real_dets, classes=classes,
                                detections=detections, shifts=shifts, rows=rows,
                                findings=findings + image_findings, domain=domain,
                                manifest=manifest, conf=conf)


def unlabelled_json(c: UnlabelledComparison, extra: dict | None = None) -> dict:
    """report.json: the compare-real schema, "real" holding what frames without labels tell
    (NaN becomes null)."""
    m = c.manifest
    real = {
        "labelled": False, "note": NO_LABELS, "root": str(c.frames.root),
        "n_images": len(c.frames.images), "n_detections": int(len(c.real_dets)),
        "n_detections_at_conf": int((c.real_dets.score >= c.conf).sum()),
        "map50": None, "map": None, "classes": list(c.classes), "conf": c.conf,
        "per_class": {cls: {"detections": d["real"].n, "per_frame": d["real"].rate,
                            **{a: c.shifts[cls][a].real for a in DETECTION_ATTRIBUTES}}
                      for cls, d in c.detections.items()},
    }
    out = {
        "synthetic": report_json(c.syn.ev),
        "real": real,
        "gap": {},
        "findings": [f.as_dict() for f in c.findings],
        "unlabelled": True,
        "note": NO_LABELS,
        "conf": c.conf,
        "warning": c.conf_warning(),
        "per_class": {r["class"]: {k: v for k, v in r.items() if k != "class"} for r in c.rows},
        "detections": {cls: {a: {"synthetic": d.synthetic, "real": d.real, "shift": d.shift,
                                 "ks_p": d.p} for a, d in attrs.items()}
                       for cls, attrs in c.shifts.items()},
        "domain": domain_json(c.domain),
        "manifest": manifest_json(m),
    }
    out.update(extra or {})
    return json_ready(out)
