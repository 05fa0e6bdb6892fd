"""The `pipeline` command: train, evaluate, compare-real, ablate, predict, export, runs, demo.

Thin orchestration over `synth` and `detector`: each command parses its flags and calls a
library function that tests call too. Heavy imports (torch) happen inside the commands so
that the detections-only paths start fast.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import click

from synth.errors import cli_errors


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Train and diagnose YOLOv3 detectors on synthetic floor-object data."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(message)s")
    for noisy in ("matplotlib", "PIL"):  # their debug output drowns ours under -v
        logging.getLogger(noisy).setLevel(logging.WARNING)


@main.command("evaluate")
@click.option("--data", required=True, type=click.Path(path_type=Path),
              help="VOC set directory (Annotations/, JPEGImages/, labels.txt).")
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="Checkpoint to run over the set (at confidence 0.001).")
@click.option("--detections", type=click.Path(path_type=Path), default=None,
              help="Detections JSON: COCO results keyed by VOC stem and class name.")
@click.option("--split", default=None, help="Evaluate only ImageSets/Main/SPLIT.txt "
              "(default: every annotation).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Report directory [default: ./evaluate-<data dir name>].")
@click.option("--voc07", is_flag=True, help="11-point VOC2007 AP instead of all-point.")
@click.option("--conf", type=float, default=0.25, show_default=True,
              help="Operating confidence: confusion matrix, error counts, gallery.")
@click.option("--iou", type=float, default=0.5, show_default=True,
              help="IoU for the confusion matrix.")
@click.option("--gallery", type=int, default=12, show_default=True,
              help="How many worst images to draw.")
@cli_errors
def evaluate(data: Path, model: Path | None, detections: Path | None, split: str | None,
             out: Path | None, voc07: bool, conf: float, iou: float, gallery: int) -> None:
    """VOC mAP50, the 12 COCO numbers, per-class errors and a report (json, md, html).

    \b
    Example:
      pipeline evaluate --data data/real --detections dets.json --out reports/real
      pipeline evaluate --data data/val --split val --model runs/exp1/best.pt --voc07
    """
    from synth.errors import InputError

    for noisy in ("matplotlib", "PIL"):   # their debug output drowns ours under -v
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if (detections is None) == (model is None):
        raise InputError("give exactly one of --model CKPT or --detections FILE")
    if not 0 < iou <= 1:
        raise InputError(f"--iou {iou}: must be in (0, 1]")
    out = out if out is not None else Path(f"evaluate-{data.resolve().name}")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    # The JSON is parsed in a child forked before numpy loads, while this process reads
    # the XML and imports the report's plotting libraries.
    from detector.jsoncolumns import BackgroundParse

    pending = BackgroundParse(detections) if detections is not None else None
    try:
        from detector.evaluation import evaluate as run_evaluation, get_detections, read_set

        voc_set = read_set(data, split)
        import detector.report  # noqa: F401  (matplotlib: imported while the child works)

        dets = get_detections(voc_set, detections, model, pending)
    finally:
        if pending is not None:
            pending.cancel()
    ev = run_evaluation(voc_set, dets, voc07=voc07, conf=conf, iou=iou)

    from detector.detections import detections_to_list
    from detector.report import render_report, write_files

    t0 = time.perf_counter()
    source = f"detections: {detections}" if detections else f"model: {model} (conf 0.001)"
    lines = [f"data: {data}" + (f" (split {split})" if split else ""), source]
    files = render_report(ev, title=f"Evaluation of {data.resolve().name}", lines=lines,
                          n_gallery=gallery,
                          extra_json={"data": str(data), "split": split,
                                      "detections": str(detections) if detections else None,
                                      "model": str(model) if model else None})
    if model is not None:
        files["detections.json"] = json.dumps(detections_to_list(dets, voc_set)).encode()
    write_files(out, files)
    logging.getLogger(__name__).debug("report written in %.2fs", time.perf_counter() - t0)
    click.echo(f"mAP50 {ev.map50:.4f}  mAP {ev.map:.4f}  ({len(voc_set.images)} images, "
               f"{len(ev.gt)} objects, {len(dets)} detections)")
    click.echo(f"report: {out / 'report.html'}")


if __name__ == "__main__":
    main()
