"""`pipeline compare-real`: the same detector on synthetic and real images, class by class.

`compare(...)` evaluates both domains with the evaluate metrics, builds the per-class gap
table, measures attribute and image-level shifts (shift.py) and turns the shifts that cost real
recall into findings with a generator suggestion (suggest.py). Nothing here imports torch:
running a checkpoint is detector.evaluation.evaluate.model_detections' job.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from synth.voc import VocSet

from detector.evaluation.detections import Detections
from detector.evaluation.evaluate import Evaluation, evaluate
from detector.evaluation.render import json_ready
from detector.evaluation.report import report_json
from detector.evaluation.tide import ERROR_TYPES

from .shift import (ATTRIBUTES, CLASS_WIDE_SHIFT, DOMAIN_SHIFT, DOMAIN_STATS, MIN_IMAGES,
                    MIN_SHIFT, RECALL_COLLAPSE, RECALL_DROP, Histogram, Measurements, Region,
                    find_region, fmt_share, found_objects, histogram, measure, shift_score,
                    summary)
from .suggest import Manifest, suggest, suggest_domain, suggest_view, view_range

log = logging.getLogger(__name__)

ALL_CLASSES = "*"   # the "class" of an image-level finding
OVERLAP = 0.8       # share of a finding's misses inside a stronger one that makes it an echo
LOW_SYN_RECALL = 0.3  # below this synthetic recall at the operating confidence, warn
VIEW_MISMATCH_DEG = 20.0  # synthetic objects warped this far (median) from their capture angle


@dataclass
class Domain:
    """One side of the comparison: its evaluation, measurements and found objects."""

    name: str              # "synthetic" or "real"
    ev: Evaluation
    m: Measurements
    found: np.ndarray      # (g,) found at the operating confidence

    def class_index(self, cls: str) -> int | None:
        return self.ev.classes.index(cls) if cls in self.ev.classes else None

    def mask(self, cls: str) -> np.ndarray:
        """Counted (non-difficult) objects of a class."""
        k = self.class_index(cls)
        if k is None:
            return np.zeros(len(self.ev.gt), bool)
        return (self.ev.gt.cls == k) & ~self.ev.gt.difficult

    def recall(self, cls: str) -> float:
        sel = self.mask(cls)
        return float(self.found[sel].mean()) if sel.any() else float("nan")


@dataclass
class AttributeShift:
    """One attribute of one class: both distributions, shift, histogram, maybe a region."""

    attr: str
    synthetic: str
    real: str
    shift: float
    hist: Histogram
    region: Region | None


@dataclass
class Finding:
    """A shift that costs real recall, with numbers and the generator knob to turn."""

    cls: str
    attribute: str
    synthetic: str
    real: str
    shift: float
    evidence: str
    suggestion: str
    missed: int = 0            # real objects missed inside the region (ranking)
    region: Region | None = None
    missed_objects: frozenset = frozenset()   # their indices in the real ground truth
    overlaps: str | None = None  # a stronger finding of the class that holds most of them

    def as_dict(self) -> dict:
        d = {"class": self.cls, "attribute": self.attribute, "synthetic": self.synthetic,
             "real": self.real, "shift": round(self.shift, 3), "evidence": self.evidence,
             "suggestion": self.suggestion}
        if self.overlaps:
            d["overlaps"] = self.overlaps
        if self.region is not None:
            r = self.region
            d["region"] = {"side": r.side, "cut": r.cut, "real_objects": r.n,
                           "real_found": r.found, "real_recall": r.recall,
                           "synthetic_share": r.syn_share, "synthetic_recall": r.syn_recall,
                           "other_real_recall": r.rest_recall,
                           "class_wide": r.class_wide}
        return d


@dataclass
class DomainStat:
    """One image-level statistic in both domains."""

    name: str
    synthetic: str
    real: str
    shift: float
    syn_values: np.ndarray
    real_values: np.ndarray


@dataclass
class Comparison:
    """Everything compare-real reports."""

    syn: Domain
    real: Domain
    classes: list[str]
    rows: list[dict]
    attributes: dict[str, dict[str, AttributeShift]]
    findings: list[Finding]
    domain: list[DomainStat]
    manifest: Manifest | None
    conf: float

    @property
    def gap(self) -> dict[str, float]:
        """AP50 synthetic - AP50 real, for classes with objects in both."""
        return {r["class"]: r["gap"] for r in self.rows if r["gap"] is not None}

    def conf_warning(self) -> str | None:
        """A note when the operating confidence leaves too little synthetic recall to judge."""
        return low_recall_warning(self.syn, self.conf)


def low_recall_warning(syn: Domain, conf: float) -> str | None:
    """A note when the operating confidence leaves too little synthetic recall to judge."""
    counted = ~syn.ev.gt.difficult
    recall = float(syn.found[counted].mean()) if counted.any() else 0.0
    if recall >= LOW_SYN_RECALL:
        return None
    confs = [c.best_f1()["conf"] for c in syn.ev.voc.curves if c.n_gt > 0]
    confs = [c for c in confs if c is not None]
    best = float(np.median(confs)) if confs else None
    hint = (f"try --conf {best:.2g} (the median best-F1 confidence on synthetic images)"
            if best is not None and best < 0.8 * conf else
            "the model is weak even on synthetic images; train it further")
    return (f"At conf ≥ {conf:g} the model finds only {recall:.0%} of the synthetic "
            f"objects, so a collapse on real images is hard to see: {hint}.")


# ----------------------------------------------------------------------------- table
def _class_row(cls: str, syn: Domain, real: Domain) -> dict:
    ks, kr = syn.class_index(cls), real.class_index(cls)
    ap_s, ap_r = syn.ev.ap50(ks), real.ev.ap50(kr)
    row = {"class": cls, "ap50_synthetic": ap_s, "ap50_real": ap_r,
           "gap": ap_s - ap_r if ap_s is not None and ap_r is not None else None,
           "n_synthetic": int(syn.mask(cls).sum()), "n_real": int(real.mask(cls).sum()),
           "recall_synthetic": syn.recall(cls), "recall_real": real.recall(cls),
           "dominant_real_error": None, "real_errors": {}, "mistaken_for": {},
           "missed_real": 0}
    if kr is not None and row["n_real"]:
        e = real.ev.errors
        row["real_errors"] = {t: int(e.counts[t][kr]) for t in ERROR_TYPES}
        cost = {t: float(e.delta_ap[t][kr]) for t in ERROR_TYPES
                if math.isfinite(float(e.delta_ap[t][kr]))}
        if cost and max(cost.values()) > 0:
            row["dominant_real_error"] = max(cost, key=cost.get)
        elif sum(row["real_errors"].values()):
            row["dominant_real_error"] = max(row["real_errors"], key=row["real_errors"].get)
        conf_row = real.ev.confusion[kr]
        labels = real.ev.classes
        row["mistaken_for"] = {labels[j]: int(conf_row[j])
                               for j in np.argsort(-conf_row[:-1], kind="stable")
                               if j != kr and conf_row[j] > 0}
        row["missed_real"] = int(conf_row[-1])
    return row


# ----------------------------------------------------------------------------- findings
def _evidence(attr: str, cls: str, r: Region) -> str:
    a = ATTRIBUTES[attr]
    cond = r.describe(a)
    text = (f"recall {r.recall:.2f} on real {cls} objects with {cond} ({r.found} of {r.n} "
            f"found); {fmt_share(r.syn_share)} of synthetic {cls} objects are in that range; "
            f"recall {r.syn_recall:.2f} on synthetic {cls} objects")
    if math.isfinite(r.rest_recall):
        text += f", {r.rest_recall:.2f} on the other real ones"
    if r.class_wide:
        text += " (the class fails on all real images; this is its largest uncovered shift)"
    return text


def _class_shifts(cls: str, syn: Domain, real: Domain, manifest: Manifest | None
                  ) -> tuple[dict[str, AttributeShift], list[Finding]]:
    ms, mr = syn.mask(cls), real.mask(cls)
    syn_recall = syn.recall(cls)
    if not math.isfinite(syn_recall):
        syn_recall = 1.0   # no synthetic objects: any collapse counts
    real_recall = real.recall(cls)
    class_wide = real_recall <= RECALL_COLLAPSE and syn_recall - real_recall >= RECALL_DROP
    shifts, findings = {}, []
    for name, a in ATTRIBUTES.items():
        s, r = syn.m.objects[name][ms], real.m.objects[name][mr]
        f = real.found[mr]
        score = shift_score(a, s, r)
        region = None
        if ms.any() and mr.any() and score >= MIN_SHIFT:
            region = find_region(a, s, r, f, syn_recall)
            if region is None and class_wide and score >= CLASS_WIDE_SHIFT:
                region = find_region(a, s, r, f, syn_recall, class_wide=True)
        shifts[name] = AttributeShift(attr=name, synthetic=summary(a, s), real=summary(a, r),
                                      shift=score, hist=histogram(a, s, r, f), region=region)
        if region is not None:
            missed = frozenset(np.flatnonzero(mr)[region.members & ~f].tolist())
            findings.append(Finding(cls=cls, attribute=name, synthetic=shifts[name].synthetic,
                                    real=shifts[name].real, shift=score,
                                    evidence=_evidence(name, cls, region),
                                    suggestion=suggest(name, region, cls, manifest),
                                    missed=region.missed, region=region,
                                    missed_objects=missed))
    return shifts, _mark_overlaps(findings)


def _mark_overlaps(findings: list[Finding]) -> list[Finding]:
    """Rank a class's findings (most misses, then largest shift) and mark the echoes.

    Attributes correlate (a tall box of the same area is also a narrow one): a finding whose
    missed objects are mostly (OVERLAP) the misses of a stronger finding is kept, but says so.
    """
    findings = sorted(findings, key=lambda f: (-f.missed, -f.shift))
    for i, f in enumerate(findings):
        for g in findings[:i]:
            if g.overlaps is None and f.missed_objects and \
                    len(f.missed_objects & g.missed_objects) >= OVERLAP * len(f.missed_objects):
                shared = len(f.missed_objects & g.missed_objects)
                f.overlaps = g.attribute
                f.evidence += (f"; {shared} of these {len(f.missed_objects)} misses are also "
                               f"in the {g.attribute} finding")
                break
    return findings


def _view_finding(cls: str, syn: Domain, real: Domain, manifest: Manifest | None,
                  others: list[Finding]) -> Finding | None:
    """The `view_angle` finding: real recall collapses (class-wide, or in another finding of
    the class) while the synthetic objects were seen far from the angle their cut-outs were
    shot from (manifest). Its shift is the median mismatch over VIEW_MISMATCH_DEG."""
    c = manifest.classes.get(cls) if manifest else None
    mismatch = c.view_mismatch() if c else None
    if mismatch is None or mismatch <= VIEW_MISMATCH_DEG or not real.mask(cls).any():
        return None
    syn_recall, real_recall = syn.recall(cls), real.recall(cls)
    collapsed = (math.isfinite(syn_recall) and real_recall <= RECALL_COLLAPSE
                 and syn_recall - real_recall >= RECALL_DROP)
    if not collapsed and not others:
        return None
    shot = float(np.median(c.capture_elev_deg))
    why = (f"real recall {real_recall:.2f} vs {syn_recall:.2f} on synthetic {cls} objects"
           if collapsed else f"real recall collapses in the {others[0].attribute} finding")
    return Finding(cls=cls, attribute="view_angle",
                   synthetic=f"seen from {view_range(c)}°, cut-outs shot at {shot:.0f}° "
                             f"(median mismatch {mismatch:.0f}°)",
                   real=f"recall {real_recall:.2f}", shift=mismatch / VIEW_MISMATCH_DEG,
                   evidence=f"{why}; the synthetic camera saw {cls} from {view_range(c)}° above "
                            f"the floor but its cut-outs were shot at {shot:.0f}°, so they were "
                            f"warped by a median {mismatch:.0f}° (manifest)",
                   suggestion=suggest_view(cls, c))


COLOUR = ("mean_r", "mean_g", "mean_b")   # one finding, "image_colour", for the three


def image_level(syn_images: dict[str, np.ndarray], real_images: dict[str, np.ndarray],
                manifest: Manifest | None) -> tuple[list[DomainStat], list[Finding]]:
    """Image statistics of both domains (those in both dicts) and the image_* findings."""
    stats = []
    for name, a in DOMAIN_STATS.items():
        if name not in syn_images or name not in real_images:
            continue
        s, r = syn_images[name], real_images[name]
        stats.append(DomainStat(name=name, synthetic=summary(a, s), real=summary(a, r),
                                shift=shift_score(a, s, r), syn_values=s, real_values=r))
    if not stats or len(stats[0].syn_values) < MIN_IMAGES or \
            len(stats[0].real_values) < MIN_IMAGES:
        return stats, []
    by_name = {d.name: d for d in stats}
    findings = []
    groups = [("image_colour", [n for n in COLOUR if n in by_name])] + \
        [(f"image_{n}", [n]) for n in by_name if n not in COLOUR]
    for attribute, names in groups:
        ds = [by_name[n] for n in names]
        if not ds or not any(d.shift >= DOMAIN_SHIFT for d in ds):
            continue
        words, syn_text, real_text = [], [], []
        for d in ds:
            a = DOMAIN_STATS[d.name]
            ms, mr = float(np.nanmedian(d.syn_values)), float(np.nanmedian(d.real_values))
            if d.shift >= DOMAIN_SHIFT:
                words.append(f"{a.high if mr > ms else a.low} ({a.label} median {a.format(mr)} "
                             f"vs {a.format(ms)} synthetic, shift {d.shift:.2f})")
            syn_text.append(d.synthetic if len(ds) == 1 else f"{d.name} {a.format(ms)}")
            real_text.append(d.real if len(ds) == 1 else f"{d.name} {a.format(mr)}")
        top = max(ds, key=lambda d: d.shift)
        high = bool(np.nanmedian(top.real_values) > np.nanmedian(top.syn_values))
        findings.append(Finding(
            cls=ALL_CLASSES, attribute=attribute, synthetic=", ".join(syn_text),
            real=", ".join(real_text), shift=top.shift,
            evidence="real images are " + "; ".join(words),
            suggestion=suggest_domain(top.name if len(ds) == 1 else "colour", high, manifest)))
    return stats, findings


# ----------------------------------------------------------------------------- main
def labelled_domain(name: str, voc_set: VocSet, dets: Detections, conf: float,
                    voc07: bool = False) -> Domain:
    """Evaluate and measure one labelled domain."""
    t0 = time.perf_counter()
    ev = evaluate(voc_set, dets, voc07=voc07, conf=conf)
    m = measure(voc_set, ev.gt)
    found = found_objects(ev.gt, ev.voc.tp, ev.voc.best_gt, ev.dets.score, conf)
    log.debug("%s: evaluated and measured %d images in %.2fs", name, ev.gt.n_images,
              time.perf_counter() - t0)
    return Domain(name=name, ev=ev, m=m, found=found)


def compare(syn_set: VocSet, syn_dets: Detections, real_set: VocSet, real_dets: Detections,
            conf: float = 0.25, manifest: Manifest | None = None,
            voc07: bool = False) -> Comparison:
    """Evaluate both domains, measure their shifts and derive the findings."""
    syn = labelled_domain("synthetic", syn_set, syn_dets, conf, voc07)
    real = labelled_domain("real", real_set, real_dets, conf, voc07)
    classes = list(syn_set.classes) + [c for c in real_set.classes if c not in syn_set.classes]
    rows = [_class_row(c, syn, real) for c in classes]
    attributes, findings = {}, []
    for c in classes:
        if syn.mask(c).any() or real.mask(c).any():
            attributes[c], f = _class_shifts(c, syn, real, manifest)
            view = _view_finding(c, syn, real, manifest, f)
            findings += f + ([view] if view else [])
    findings.sort(key=lambda f: (f.overlaps is not None, -f.missed, -f.shift))
    domain, image_findings = image_level(syn.m.images, real.m.images, manifest)
    return Comparison(syn=syn, real=real, classes=classes, rows=rows, attributes=attributes,
                      findings=findings + image_findings, domain=domain, manifest=manifest,
                      conf=conf)


def domain_json(domain) -> dict:
    """The image-level statistics of a comparison, as report.json holds them."""
    return {d.name: {"label": DOMAIN_STATS[d.name].label, "synthetic": d.synthetic,
                     "real": d.real, "shift": d.shift} for d in domain}


def manifest_json(m: Manifest | None) -> dict | None:
    """What report.json records of the synthetic set's manifest."""
    if m is None:
        return None
    return {"path": str(m.path), "images": m.n_images, "views": dict(m.views),
            "camera": {k: list(v) for k, v in m.camera.items()},
            "objects_per_image": list(m.objects_per_image), "backgrounds": m.backgrounds}


def comparison_json(c: Comparison, extra: dict | None = None) -> dict:
    """report.json: docs/design.md's compare-real schema plus the table, attributes and
    domain statistics (NaN becomes null)."""
    m = c.manifest
    out = {
        "synthetic": report_json(c.syn.ev),
        "real": report_json(c.real.ev),
        "gap": c.gap,
        "findings": [f.as_dict() for f in c.findings],
        "conf": c.conf,
        "warning": c.conf_warning(),
        "per_class": {r["class"]: {k: v for k, v in r.items() if k != "class"}
                      for r in c.rows},
        "attributes": {
            cls: {name: {"synthetic": a.synthetic, "real": a.real, "shift": a.shift,
                         "bins": a.hist.edges.tolist(),
                         "synthetic_count": a.hist.synthetic.tolist(),
                         "real_count": a.hist.real.tolist(),
                         "real_recall": [float(v) for v in a.hist.real_recall]}
                  for name, a in attrs.items()}
            for cls, attrs in c.attributes.items()},
        "domain": domain_json(c.domain),
        "manifest": manifest_json(m),
    }
    out.update(extra or {})
    return json_ready(out)
