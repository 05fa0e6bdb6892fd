"""`pipeline compare-real` end to end: check the inputs, read both sides and their
detections (files, or a checkpoint run at EVAL_CONF), compare, write the report. Everything
is read and computed before the one write; nothing is written when an input is bad."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from synth.errors import InputError

from detector.evaluation import EVAL_CONF
from detector.evaluation.detections import detections_to_list
from detector.evaluation.evaluate import get_detections, read_set
from detector.evaluation.render import write_files

from .compare import Comparison, compare
from .frames import read_frames
from .report import render_comparison
from .suggest import read_manifest
from .unlabelled import UnlabelledComparison, compare_unlabelled
from .unlabelled_report import render_unlabelled


@dataclass
class CompareRun:
    """What `run_compare` found and where it wrote the report."""

    result: Comparison | UnlabelledComparison
    out: Path
    real_frames: int | None = None    # unlabelled: how many real frames were compared

    def summary(self) -> list[str]:
        """The lines `pipeline compare-real` prints."""
        r = self.result
        real = (f"real {r.real.ev.map50:.4f}" if self.real_frames is None
                else f"real: {self.real_frames} frames, unlabelled (no AP)")
        lines = [f"mAP50 synthetic {r.syn.ev.map50:.4f}  {real}  ({len(r.findings)} findings)"]
        if r.conf_warning():
            lines.append(f"warning: {r.conf_warning()}")
        lines += [f"  {f.cls} · {f.attribute}: {f.suggestion}"
                  for f in [f for f in r.findings if not f.overlaps][:10]]
        return lines + [f"report: {self.out / 'report.html'}"]


def check_compare_inputs(real: Path | None, real_unlabelled: Path | None,
                         real_split: str | None, model: Path | None,
                         synthetic_detections: Path | None, real_detections: Path | None,
                         conf: float, n_gallery: int) -> None:
    """InputError for a combination of compare-real inputs that does not make one run."""
    if real is not None and real_unlabelled is not None:
        raise InputError("give either --real DIR (a labelled VOC set) or --real-unlabelled "
                         "DIR (frames without labels), not both")
    if real is None and real_unlabelled is None:
        raise InputError("give --real DIR (a labelled VOC set) or --real-unlabelled DIR "
                         "(frames without labels)")
    if real_unlabelled is not None and real_split is not None:
        raise InputError("--real-split selects a split of --real; --real-unlabelled reads "
                         "every frame of its folder")
    files_given = (synthetic_detections is not None, real_detections is not None)
    if model is not None and any(files_given):
        raise InputError("give either --model CKPT or --synthetic-detections and "
                         "--real-detections, not both")
    if model is None and not all(files_given):
        raise InputError("give --model CKPT, or both --synthetic-detections FILE and "
                         "--real-detections FILE")
    if not 0 < conf <= 1:
        raise InputError(f"--conf {conf}: must be in (0, 1]")
    if n_gallery < 0:
        raise InputError(f"--gallery {n_gallery}: must be >= 0")


def run_compare(synthetic: str | os.PathLike, real: str | os.PathLike | None = None,
                real_unlabelled: str | os.PathLike | None = None,
                model: str | os.PathLike | None = None,
                synthetic_detections: str | os.PathLike | None = None,
                real_detections: str | os.PathLike | None = None, split: str | None = None,
                real_split: str | None = None, out: str | os.PathLike | None = None,
                conf: float = 0.25, voc07: bool = False, n_gallery: int = 4) -> CompareRun:
    """`pipeline compare-real`: the synthetic set against a labelled real set (`real`) or
    real frames without labels (`real_unlabelled`); report.json/md/html (and, with a model,
    both detection files) in `out` (default ./compare-<synthetic>-vs-<real>)."""
    paths = [None if p is None else Path(p) for p in (synthetic, real, real_unlabelled, model,
                                                       synthetic_detections, real_detections)]
    synthetic, real, real_unlabelled, model, synthetic_detections, real_detections = paths
    check_compare_inputs(real, real_unlabelled, real_split, model, synthetic_detections,
                         real_detections, conf, n_gallery)
    real_dir = real if real is not None else real_unlabelled
    real_name = real_dir.resolve()
    if real_name.name == "JPEGImages":
        real_name = real_name.parent
    out = Path(out) if out is not None else \
        Path(f"compare-{synthetic.resolve().name}-vs-{real_name.name}")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")

    syn_set = read_set(synthetic, split)
    real_set = read_set(real, real_split) if real is not None else \
        read_frames(real_unlabelled, syn_set.classes)
    syn_dets = get_detections(syn_set, synthetic_detections, model)
    real_dets = get_detections(real_set, real_detections, model)
    manifest = read_manifest(synthetic, {im.stem for im in syn_set.images})
    source = (f"model: {model} (conf {EVAL_CONF})" if model else
              f"detections: {synthetic_detections} / {real_detections}")
    made = (f"synthetic set made with {manifest.view_text()}" if manifest
            else "synthetic set has no manifest.jsonl")
    syn_line = f"synthetic: {synthetic}" + (f" (split {split})" if split else "")
    where = ({"real_split": real_split} if real is not None
             else {"real_unlabelled": str(real_unlabelled)})
    extra = {"synthetic_data": str(synthetic), "real_data": str(real) if real else None,
             **({} if real is not None else where), "split": split,
             **(where if real is not None else {}), "model": str(model) if model else None,
             "synthetic_detections": str(synthetic_detections) if synthetic_detections
             else None, "real_detections": str(real_detections) if real_detections else None}
    if real is not None:
        result = compare(syn_set, syn_dets, real_set, real_dets, conf=conf, manifest=manifest,
                         voc07=voc07)
        files = render_comparison(
            result, title=f"Synthetic vs real: {synthetic.resolve().name} → "
                          f"{real.resolve().name}",
            lines=[syn_line, f"real: {real}" + (f" (split {real_split})" if real_split else ""),
                   source, made],
            n_gallery=n_gallery, extra_json=extra)
        frames = None
    else:
        result = compare_unlabelled(syn_set, syn_dets, real_set, real_dets, conf=conf,
                                    manifest=manifest, voc07=voc07)
        frames = len(real_set.images)
        files = render_unlabelled(
            result, title=f"Synthetic vs unlabelled real frames: {synthetic.resolve().name} "
                          f"→ {real_unlabelled.resolve().name}",
            lines=[syn_line, f"real: {real_set.root} ({frames} frames, unlabelled)", source,
                   made],
            n_gallery=n_gallery, extra_json=extra)
    if model is not None:
        files["synthetic_detections.json"] = json.dumps(
            detections_to_list(syn_dets, syn_set)).encode()
        files["real_detections.json"] = json.dumps(
            detections_to_list(real_dets, real_set)).encode()
    write_files(out, files)
    return CompareRun(result, out, frames)
