"""The `pipeline` command: train, evaluate, compare-real, ablate, predict, export, runs, demo.

Thin orchestration over `synth` and `detector`: each command parses its flags and calls a
library function that tests call too. Heavy imports (torch) happen inside the commands so
that the detections-only paths start fast.
"""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import click

from synth.cli import setup_logging
from synth.errors import CommandGroup


@click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Train and diagnose YOLOv3 detectors on synthetic floor-object data."""
    setup_logging(verbose)


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


@main.command("compare-real")
@click.option("--synthetic", required=True, type=click.Path(path_type=Path),
              help="Synthetic VOC set (its manifest.jsonl, if any, names generator settings).")
@click.option("--real", type=click.Path(path_type=Path), default=None,
              help="Real VOC set (labelled).")
@click.option("--real-unlabelled", type=click.Path(path_type=Path), default=None,
              help="Real frames without labels instead of --real: a folder of images (jpg, "
                   "png, ...), searched recursively; a VOC dir means its JPEGImages/. No AP "
                   "then: image statistics and the detector's behaviour are compared.")
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="Checkpoint to run over both sets (at confidence 0.001).")
@click.option("--synthetic-detections", type=click.Path(path_type=Path), default=None,
              help="Detections JSON on the synthetic set (instead of --model).")
@click.option("--real-detections", type=click.Path(path_type=Path), default=None,
              help="Detections JSON on the real set or frames (instead of --model); "
                   "image_id is the frame's file stem.")
@click.option("--split", default=None,
              help="Use only ImageSets/Main/SPLIT.txt of the synthetic set (e.g. val).")
@click.option("--real-split", default=None,
              help="Use only ImageSets/Main/SPLIT.txt of the real set.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Report directory [default: ./compare-<synthetic>-vs-<real>].")
@click.option("--conf", type=float, default=0.25, show_default=True,
              help="Operating confidence: recall, confusion, errors, findings, gallery.")
@click.option("--voc07", is_flag=True, help="11-point VOC2007 AP instead of all-point.")
@click.option("--gallery", type=int, default=4, show_default=True,
              help="Worst real images (unlabelled: real frames) drawn per class.")
def compare_real(synthetic: Path, real: Path | None, model: Path | None,
                 synthetic_detections: Path | None, real_detections: Path | None,
                 split: str | None, real_split: str | None, out: Path | None, conf: float,
                 voc07: bool, gallery: int, real_unlabelled: Path | None = None) -> None:
    """Where a detector fails on real images, class by class, and which generator knob to turn.

    With --real (labelled): evaluates both sets, compares per-class AP50, and finds the
    object attributes (size, aspect, position, brightness, contrast, sharpness, truncation)
    whose real values the synthetic set barely covers and where real recall collapses.

    With --real-unlabelled (frames without labels, e.g. the robot's own recordings): no AP
    can be measured on them, so it compares image statistics (colour and brightness,
    contrast, sharpness, JPEG blockiness) and, per class, the detector's own detections at
    --conf: how many per image, their scores, and their boxes' area, aspect and position,
    synthetic vs real. Detections files refer to frames by file stem.

    Writes report.json, report.md and report.html.

    \b
    Example:
      pipeline compare-real --model runs/exp1/best.pt --synthetic data/syn --split val \\
          --real data/robot --out reports/gap
      pipeline compare-real --synthetic data/syn --synthetic-detections syn.json \\
          --real data/robot --real-detections robot.json
      pipeline compare-real --model runs/exp1/best.pt --synthetic data/syn --split val \\
          --real-unlabelled recordings/kitchen --out reports/kitchen
    """
    from synth.errors import InputError

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
    if gallery < 0:
        raise InputError(f"--gallery {gallery}: must be >= 0")
    real_name = (real or real_unlabelled).resolve()
    if real_name.name == "JPEGImages":
        real_name = real_name.parent
    out = out if out is not None else \
        Path(f"compare-{synthetic.resolve().name}-vs-{real_name.name}")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    if real_unlabelled is not None:
        _compare_unlabelled(synthetic, real_unlabelled, model, synthetic_detections,
                            real_detections, split, out, conf, voc07, gallery)
        return
    from detector.evaluation import get_detections, read_set

    syn_set = read_set(synthetic, split)
    real_set = read_set(real, real_split)
    syn_dets = get_detections(syn_set, synthetic_detections, model)
    real_dets = get_detections(real_set, real_detections, model)

    from detector.compare import compare
    from detector.compare_report import render_comparison
    from detector.knobs import read_manifest
    from detector.report import write_files

    manifest = read_manifest(synthetic, {im.stem for im in syn_set.images})
    result = compare(syn_set, syn_dets, real_set, real_dets, conf=conf, manifest=manifest,
                     voc07=voc07)
    source = (f"model: {model} (conf 0.001)" if model else
              f"detections: {synthetic_detections} / {real_detections}")
    lines = [f"synthetic: {synthetic}" + (f" (split {split})" if split else ""),
             f"real: {real}" + (f" (split {real_split})" if real_split else ""), source,
             f"synthetic set made with {manifest.view_text()}" if manifest
             else "synthetic set has no manifest.jsonl"]
    files = render_comparison(
        result, title=f"Synthetic vs real: {synthetic.resolve().name} → {real.resolve().name}",
        lines=lines, n_gallery=gallery,
        extra_json={"synthetic_data": str(synthetic), "real_data": str(real), "split": split,
                    "real_split": real_split, "model": str(model) if model else None,
                    "synthetic_detections": str(synthetic_detections)
                    if synthetic_detections else None,
                    "real_detections": str(real_detections) if real_detections else None})
    if model is not None:
        from detector.detections import detections_to_list

        files["synthetic_detections.json"] = json.dumps(
            detections_to_list(syn_dets, syn_set)).encode()
        files["real_detections.json"] = json.dumps(
            detections_to_list(real_dets, real_set)).encode()
    write_files(out, files)
    click.echo(f"mAP50 synthetic {result.syn.ev.map50:.4f}  real {result.real.ev.map50:.4f}  "
               f"({len(result.findings)} findings)")
    if result.conf_warning():
        click.echo(f"warning: {result.conf_warning()}")
    for f in [f for f in result.findings if not f.overlaps][:10]:
        click.echo(f"  {f.cls} · {f.attribute}: {f.suggestion}")
    click.echo(f"report: {out / 'report.html'}")


def _compare_unlabelled(synthetic: Path, frames_dir: Path, model: Path | None,
                        synthetic_detections: Path | None, real_detections: Path | None,
                        split: str | None, out: Path, conf: float, voc07: bool,
                        gallery: int) -> None:
    """compare-real --real-unlabelled: everything is read and computed before one write."""
    from detector.evaluation import get_detections, read_set
    from detector.frames import read_frames

    syn_set = read_set(synthetic, split)
    frames = read_frames(frames_dir, syn_set.classes)
    syn_dets = get_detections(syn_set, synthetic_detections, model)
    real_dets = get_detections(frames, real_detections, model)

    from detector.knobs import read_manifest
    from detector.report import write_files
    from detector.unlabelled import compare_unlabelled
    from detector.unlabelled_report import render_unlabelled

    manifest = read_manifest(synthetic, {im.stem for im in syn_set.images})
    result = compare_unlabelled(syn_set, syn_dets, frames, real_dets, conf=conf,
                                manifest=manifest, voc07=voc07)
    source = (f"model: {model} (conf 0.001)" if model else
              f"detections: {synthetic_detections} / {real_detections}")
    lines = [f"synthetic: {synthetic}" + (f" (split {split})" if split else ""),
             f"real: {frames.root} ({len(frames.images)} frames, unlabelled)", source,
             f"synthetic set made with {manifest.view_text()}" if manifest
             else "synthetic set has no manifest.jsonl"]
    files = render_unlabelled(
        result, title=f"Synthetic vs unlabelled real frames: {synthetic.resolve().name} → "
                      f"{frames_dir.resolve().name}",
        lines=lines, n_gallery=gallery,
        extra_json={"synthetic_data": str(synthetic), "real_data": None,
                    "real_unlabelled": str(frames_dir), "split": split,
                    "model": str(model) if model else None,
                    "synthetic_detections": str(synthetic_detections)
                    if synthetic_detections else None,
                    "real_detections": str(real_detections) if real_detections else None})
    if model is not None:
        from detector.detections import detections_to_list

        files["synthetic_detections.json"] = json.dumps(
            detections_to_list(syn_dets, syn_set)).encode()
        files["real_detections.json"] = json.dumps(
            detections_to_list(real_dets, frames)).encode()
    write_files(out, files)
    click.echo(f"mAP50 synthetic {result.syn.ev.map50:.4f}  real: {len(frames.images)} frames, "
               f"unlabelled (no AP)  ({len(result.findings)} findings)")
    if result.conf_warning():
        click.echo(f"warning: {result.conf_warning()}")
    for f in [f for f in result.findings if not f.overlaps][:10]:
        click.echo(f"  {f.cls} · {f.attribute}: {f.suggestion}")
    click.echo(f"report: {out / 'report.html'}")


@main.command("predict")
@click.argument("source")
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=None,
              help="Checkpoint (.pt), or an ONNX export (.onnx: run with onnxruntime).")
@click.option("--onnx", "onnx_path", type=click.Path(path_type=Path), default=None,
              help="Run this ONNX export with onnxruntime (instead of --model).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output directory [default: ./predict-<source name>].")
@click.option("--conf", type=float, default=0.25, show_default=True,
              help="Keep detections whose objectness x class probability reaches this.")
@click.option("--iou", type=float, default=0.45, show_default=True, help="NMS IoU threshold.")
@click.option("--img-size", type=int, default=None,
              help="Network input size, a multiple of 32 [default: the model's].")
@click.option("--max-det", type=int, default=300, show_default=True,
              help="At most this many detections per image.")
@click.option("--multi-label", is_flag=True,
              help="Report a box once per class above --conf (default: its best class).")
@click.option("--device", default=None, help="cpu, cuda or cuda:K [default: cuda if any].")
@click.option("--threads", type=int, default=None,
              help="CPU threads for the model [default: torch's / onnxruntime's].")
@click.option("--max-frames", type=int, default=None,
              help="Stop after this many frames (a camera runs until Ctrl-C otherwise).")
@click.option("--benchmark", is_flag=True,
              help="Print per-stage milliseconds (decode, preprocess, model, NMS, draw, write) "
                   "and FPS.")
@click.option("--warmup", type=int, default=5, show_default=True,
              help="Frames left out of the benchmark (first-call allocations, caches).")
def predict(source: str, model_path: Path | None, onnx_path: Path | None, out: Path | None,
            conf: float, iou: float, img_size: int | None, max_det: int, multi_label: bool,
            device: str | None, threads: int | None, max_frames: int | None, benchmark: bool,
            warmup: int) -> None:
    """Detect objects in an image, a folder of images, a video file or a camera.

    Writes annotated images (or OUT/<video name>.mp4) and OUT/detections.json (COCO
    results keyed by image stem; video frames are <stem>_000123).

    \b
    Example:
      pipeline predict --model runs/exp1/best.pt data/real/JPEGImages --out preds
      pipeline predict --model runs/exp1/best.pt clip.mp4 --benchmark
      pipeline predict --onnx best.onnx 0 --max-frames 300      (camera 0)
    """
    from synth.errors import InputError

    if (model_path is None) == (onnx_path is None):
        raise InputError("give exactly one of --model CKPT or --onnx FILE")
    if not 0 <= conf <= 1 or not 0 < iou <= 1:
        raise InputError(f"--conf {conf} / --iou {iou}: must be in [0, 1] / (0, 1]")
    if max_det < 1 or warmup < 0 or any(v is not None and v < 1 for v in (max_frames, threads)):
        raise InputError("--max-det, --max-frames and --threads must be >= 1, --warmup >= 0")
    weights = onnx_path if onnx_path is not None else model_path
    if onnx_path is not None and onnx_path.suffix.lower() != ".onnx":
        raise InputError(f"{onnx_path}: --onnx wants a .onnx file")
    from detector.predict import load_predictor, open_source, run_predict

    predictor = load_predictor(weights, device, img_size, threads)
    src = open_source(source, max_frames)
    out = out if out is not None else Path(f"predict-{src.name}")
    run = run_predict(predictor, src, out, conf=conf, iou=iou, max_det=max_det,
                      multi_label=multi_label)
    stopped = " (stopped by Ctrl-C)" if run.interrupted else ""
    click.echo(f"{run.frames} frame(s), {run.detections} detections{stopped} → {out}")
    if benchmark:
        from detector.predict import model_device

        where = str(model_device(predictor.model)) if predictor.backend == "pytorch" else "cpu"
        if where == "cpu":
            where += f", {threads} thread(s)" if threads else ", default threads"
        click.echo(run.benchmark_table(warmup, f"{predictor.backend} {predictor.img_size}px",
                                       where))


@main.command("export")
@click.option("--model", "model_path", required=True, type=click.Path(path_type=Path),
              help="Checkpoint to export.")
@click.option("--format", "fmt", default="onnx", show_default=True, help="Export format: onnx.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output file [default: the checkpoint's name with .onnx].")
@click.option("--img-size", type=int, default=None,
              help="Input size, a multiple of 32 [default: the checkpoint's].")
@click.option("--dynamic", is_flag=True, help="Free batch size and input height/width.")
def export(model_path: Path, fmt: str, out: Path | None, img_size: int | None,
           dynamic: bool) -> None:
    """Export a checkpoint to ONNX (decoded boxes before NMS; class names in the metadata).

    \b
    Example:
      pipeline export --model runs/exp1/best.pt --format onnx --out best.onnx
      pipeline predict --onnx best.onnx photos/ --benchmark --device cpu
    """
    from synth.errors import InputError

    from detector.export import FORMATS, export_onnx

    if fmt.lower() not in FORMATS:
        raise InputError(f"--format {fmt}: unknown export format (known: {', '.join(FORMATS)})")
    out = out if out is not None else model_path.with_suffix(".onnx")
    if out.resolve() == model_path.resolve():
        raise InputError(f"{out}: would overwrite the checkpoint; give --out")

    diff = export_onnx(model_path, out, img_size=img_size, dynamic=dynamic)
    click.echo(f"wrote {out} (onnxruntime vs PyTorch: max box difference {diff:.1e} px)")


_TRAIN_EPILOG = """\b
Examples:
  pipeline train --data data/topdown --model yolov3-tiny --img-size 416 --epochs 100
  pipeline train --data data/a --data data/b --val data/real --weights darknet53.conv.74 \\
      --freeze-epochs 5 --freeze-batch-size 64 --batch-size 16 --nominal-batch 64
  pipeline train --resume runs/topdown-yolov3       (after a crash: continues exactly)
  torchrun --nproc_per_node 4 -m pipeline train --data data/topdown --batch-size 64
"""


def _floats(text: str | None) -> list[float] | None:
    if text is None:
        return None
    from synth.errors import InputError

    try:
        return [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise InputError(f"--milestones {text!r}: expected epochs like 60,80") from None


@main.command("train", epilog=_TRAIN_EPILOG)
@click.option("--data", multiple=True, type=click.Path(path_type=Path),
              help="VOC set(s) to train on (repeat; class lists merged by name).")
@click.option("--split", default=None,
              help="Training split of the --data sets [default: train if present, else all].")
@click.option("--val", type=click.Path(path_type=Path), default=None,
              help="VOC set to validate on [default: the --data sets' val split, if any].")
@click.option("--val-split", default=None, help="Validation split [default: val if present].")
@click.option("--classes", type=click.Path(path_type=Path), default=None,
              help="Class list file (its order is the model's; other classes are skipped).")
@click.option("--model", "model_name", type=click.Choice(["yolov3", "yolov3-tiny"]),
              default="yolov3", show_default=True)
@click.option("--img-size", type=int, default=416, show_default=True)
@click.option("--epochs", type=int, default=100, show_default=True)
@click.option("--batch-size", type=int, default=16, show_default=True,
              help="Global batch (split over torchrun processes).")
@click.option("--nominal-batch", type=int, default=None,
              help="Optimiser step every this many images (gradient accumulation).")
@click.option("--device", default=None, help="cpu, cuda or cuda:K [default: cuda if any].")
@click.option("--run-dir", type=click.Path(path_type=Path), default=None,
              help="Run directory [default: runs/<data>-<model>[-N]].")
@click.option("--name", default=None, help="Run name: the run directory is runs/NAME.")
@click.option("--weights", type=click.Path(path_type=Path), default=None,
              help="Initial weights: darknet .weights (e.g. darknet53.conv.74) or a .pt; "
                   "layers of other shapes (another class count) are re-initialised.")
@click.option("--resume", type=click.Path(path_type=Path), default=None,
              help="Continue the run in this directory from its last.pt.")
@click.option("--augment", type=click.Choice(["default", "none"]), default="default",
              show_default=True, help="none: letterbox only (the 'overfit a few images' check).")
@click.option("--mosaic", type=float, default=1.0, show_default=True,
              help="Probability of a 4-image mosaic.")
@click.option("--mixup", type=float, default=0.0, show_default=True,
              help="Probability of mixing two samples.")
@click.option("--close-mosaic", type=int, default=0, show_default=True,
              help="Switch mosaic/mixup off for the last N epochs.")
@click.option("--multi-scale", is_flag=True, help="Input size drawn per batch, 0.75x-1.5x.")
@click.option("--anchors", type=click.Choice(["default", "auto"]), default="default",
              show_default=True, help="auto: k-means (IoU distance) on the training boxes.")
@click.option("--optimizer", type=click.Choice(["sgd", "adam", "adamw"]), default="sgd",
              show_default=True)
@click.option("--lr", type=float, default=None,
              help="Peak learning rate [default: 0.01 for sgd, 0.001 for adam/adamw].")
@click.option("--momentum", type=float, default=0.937, show_default=True,
              help="SGD momentum / Adam beta1.")
@click.option("--weight-decay", type=float, default=5e-4, show_default=True)
@click.option("--scheduler", type=click.Choice(["cosine", "multistep", "onecycle"]),
              default="cosine", show_default=True)
@click.option("--t-max", type=float, default=None, help="Cosine period in epochs [epochs].")
@click.option("--milestones", default=None,
              help="multistep: epochs where the lr is multiplied by --gamma [80%,90%].")
@click.option("--gamma", type=float, default=0.1, show_default=True)
@click.option("--warmup-epochs", type=float, default=3.0, show_default=True)
@click.option("--ema/--no-ema", default=True, show_default=True,
              help="Keep an exponential moving average of the weights (saved and validated).")
@click.option("--amp/--no-amp", default=True, show_default=True,
              help="Mixed precision on CUDA (bf16 where supported, else fp16).")
@click.option("--freeze-epochs", type=int, default=0, show_default=True,
              help="Train with the backbone frozen for the first N epochs.")
@click.option("--freeze-batch-size", type=int, default=None,
              help="Batch while the backbone is frozen [--batch-size].")
@click.option("--val-every", type=int, default=1, show_default=True,
              help="Validate every N epochs (and after the last).")
@click.option("--box-loss", type=click.Choice(["mse", "giou", "diou", "ciou"]), default="mse",
              show_default=True)
@click.option("--label-smoothing", type=float, default=0.0, show_default=True)
@click.option("--focal-gamma", type=float, default=0.0, show_default=True)
@click.option("--workers", type=int, default=4, show_default=True, help="Loader processes.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--auto-batch", is_flag=True,
              help="On CUDA out-of-memory halve the batch, double accumulation, go on.")
@click.option("--deterministic", is_flag=True, help="Deterministic algorithms (slower).")
@click.option("--stop-after", type=int, default=None,
              help="Stop after this many epochs (continue later with --resume).")
@click.option("--note", default="", help="Free text for the experiment log (runs/index.csv).")
def train_cmd(**opts) -> None:
    """Train YOLOv3 / YOLOv3-tiny on VOC sets; writes a run directory and logs the run.

    The run directory holds config.yaml, metrics.csv, last.pt (every epoch), best.pt (best
    validation mAP), plots/ and TensorBoard events/; runs/index.csv gets a row per run.
    """
    from click.core import ParameterSource

    from detector.train import TrainConfig, resume_config, train

    ctx = click.get_current_context()
    rename = {"model_name": "model"}
    values = {rename.get(k, k): v for k, v in opts.items()}
    values["data"] = list(values["data"])
    values["milestones"] = _floats(values["milestones"])
    if values["resume"] is not None:
        given = {rename.get(k, k) for k in opts
                 if ctx.get_parameter_source(k) == ParameterSource.COMMANDLINE} - {"resume"}
        cfg = resume_config(values["resume"], {k: values[k] for k in given})
    else:
        if not values["data"]:
            from synth.errors import InputError

            raise InputError("--data: give at least one VOC set (or --resume RUN_DIR)")
        cfg = TrainConfig(**values)
    result = train(cfg)
    if int(os.environ.get("RANK", "0")) == 0:
        best = (f"best mAP50 {result.map50:.4f}  mAP {result.map:.4f} (epoch "
                f"{result.best_epoch})" if result.map50 is not None else "no validation set")
        state = "finished" if result.finished else f"stopped after epoch {result.epochs_done}"
        click.echo(f"{state}: {best}")
        click.echo(f"run: {result.run_dir}")


@main.command("runs")
@click.argument("runs_dir", required=False, type=click.Path(path_type=Path),
                default=Path("runs"))
@click.option("--compare", nargs=2, default=None, metavar="RUN_A RUN_B",
              help="Print what changed between two runs: settings and per-class AP50.")
def runs(runs_dir: Path, compare: tuple[str, str] | None) -> None:
    """The experiment log (RUNS_DIR/index.csv, default runs/) as a table, newest first.

    \b
    Example:
      pipeline runs
      pipeline runs runs --compare topdown-yolov3-tiny flat-yolov3-tiny
    """
    from detector.runlog import compare_runs, find_index, format_runs, read_runs

    rows = read_runs(find_index(runs_dir))
    if compare:
        click.echo(compare_runs(rows, *compare))
    elif not rows:
        click.echo(f"{find_index(runs_dir)}: no runs yet")
    else:
        click.echo(format_runs(rows))


@main.command("ablate")
@click.option("--regime", "regimes", multiple=True, metavar="NAME=DIR|RECIPE|MIX",
              help="A training-data regime (repeat; the first is the baseline): a VOC dir, a "
                   "synth recipe (.yaml, generated into OUT/data/NAME), or a mixture of other "
                   "regimes by share of images drawn, e.g. mix=pseudo:0.9+real:0.1.")
@click.option("--test", "tests", multiple=True, metavar="NAME=DIR[:SPLIT]",
              help="A test set every run is evaluated on (repeat): all images, or a split.")
@click.option("--factorial", nargs=2, default=None,
              metavar="subjects=RECIPE,RECIPE backgrounds=DIR,DIR",
              help="Add the full subject-source x background-source design: one regime "
                   "SUBJ@BG per cell, the subject recipe with its backgrounds replaced.")
@click.option("--model", "model_name", type=click.Choice(["yolov3", "yolov3-tiny"]),
              default="yolov3-tiny", show_default=True)
@click.option("--img-size", type=int, default=416, show_default=True)
@click.option("--epochs", type=int, default=30, show_default=True)
@click.option("--batch-size", type=int, default=16, show_default=True)
@click.option("--images-per-epoch", type=int, default=None,
              help="Images drawn per epoch by every regime [default: the largest regime's "
                   "training-image count]. Budget = this x --epochs, the same for all runs.")
@click.option("--seeds", default="0,1,2", show_default=True,
              help="Training seeds; every regime is trained once per seed.")
@click.option("--device", default=None, help="cpu, cuda or cuda:K [default: cuda if any].")
@click.option("--workers", type=int, default=4, show_default=True, help="Loader processes.")
@click.option("--augment", type=click.Choice(["default", "none"]), default="default",
              show_default=True)
@click.option("--train-option", "train_options", multiple=True, metavar="KEY=VALUE",
              help="Any other `pipeline train` setting for every run, e.g. optimizer=adam, "
                   "lr=0.002, warmup_epochs=1 (repeat).")
@click.option("--boot", type=int, default=1000, show_default=True,
              help="Bootstrap resamples of the test images for the CIs.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("ablate"),
              show_default=True, help="Output directory (rerun the command to resume).")
def ablate(regimes: tuple[str, ...], tests: tuple[str, ...], factorial: tuple[str, str] | None,
           model_name: str, img_size: int, epochs: int, batch_size: int,
           images_per_epoch: int | None, seeds: str, device: str | None, workers: int,
           augment: str, train_options: tuple[str, ...], boot: int, out: Path) -> None:
    """Train one detector per data regime x seed on an identical image budget; compare them.

    Every run has the same model, settings and number of images drawn (a small regime is
    repeated, a mixture draws by its shares); each is evaluated on every --test set.
    Writes OUT/results.json, results.md, results.csv (mAP50, mAP and per-class AP50 as
    mean ± std over seeds, and a paired bootstrap 95% CI over test images of each regime's
    mAP50 difference to the first regime) and plots/ap50_REGIME.png. Rerunning skips
    finished runs and resumes an interrupted one from its last.pt.

    \b
    Example:
      pipeline ablate --regime flat=recipes/flat.yaml --regime robot=recipes/robot.yaml \\
          --regime mix=robot:0.9+real:0.1 --regime real=data/robot-train \\
          --test real=data/robot-test --model yolov3-tiny --img-size 320 --epochs 30 \\
          --seeds 0,1,2 --out ablations/view
      pipeline ablate --factorial subjects=pseudo.yaml,halfreal.yaml \\
          backgrounds=assets,assets/heldout --test real=data/robot-test --out ablations/2x2
    """
    from detector.ablate import (AblateConfig, expand_factorial, headline, parse_factorial,
                                 parse_regime, parse_seeds, parse_test, run_ablation,
                                 train_options_from_text)
    from synth.errors import InputError

    parsed = [parse_regime(r) for r in regimes]
    design = None
    if factorial:
        cells, design = expand_factorial(*parse_factorial(factorial))
        parsed += cells
    if boot < 100:
        raise InputError(f"--boot {boot}: use at least 100 resamples")
    if images_per_epoch is not None and images_per_epoch < 1:
        raise InputError(f"--images-per-epoch {images_per_epoch}: must be at least 1")
    options = train_options_from_text(train_options)
    options.setdefault("augment", augment)
    cfg = AblateConfig(regimes=parsed, tests=[parse_test(t) for t in tests], out=out,
                       model=model_name, img_size=img_size, epochs=epochs,
                       batch_size=batch_size, seeds=parse_seeds(seeds), device=device,
                       images_per_epoch=images_per_epoch, workers=workers,
                       train_options=options, n_boot=boot, factorial=design)
    res = run_ablation(cfg)
    if not res:
        click.echo(f"stopped early: rerun the same command to resume ({out})")
        return
    for t in res["tests"]:
        click.echo(f"\ntest {t} (mAP50 mean ± std over {len(res['seeds'])} seed(s)):")
        click.echo(headline(res, t))
    click.echo(f"\nresults: {out / 'results.md'}  (json, csv, plots/ beside it)")


@main.command("demo")
@click.option("--out", type=click.Path(path_type=Path), default=Path("demo"),
              show_default=True, help="Where everything goes (rerun to resume).")
@click.option("--workers", type=int, default=None,
              help="Processes for image generation [default: CPU count].")
@click.option("--smoke", is_flag=True, hidden=True,
              help="Tiny sizes (seconds): checks the plumbing; the numbers mean nothing.")
def demo(out: Path, workers: int | None, smoke: bool) -> None:
    """The whole loop on the embedded asset pack, on the CPU, in about ten minutes.

    Generates a naive 2-D paste set (`flat`), a `topdown` set, a robot-view set made from
    the top-down cut-outs only (`robot-topdown-cutouts`: what teams do today) and a
    `robot` set using each subject's view nearest the robot's viewing angle, from the
    main pack, plus a robot-view set made of the HELD-OUT subject variants and held-out
    floors/backdrops as a STAND-IN FOR REAL PHOTOS (no real photos ship with the tool);
    trains a small YOLOv3-tiny on each with an identical image budget (`pipeline ablate`),
    evaluates every model on the stand-in, and writes the compare-real report of the best.

    \b
    Example:
      pipeline demo --out demo
    """
    from detector.demo import SMOKE, run_demo

    t0 = time.perf_counter()
    res, best = run_demo(out, workers=workers, settings=SMOKE if smoke else None)
    if not res:
        click.echo(f"stopped early: rerun `pipeline demo --out {out}` to resume")
        return
    ctx = click.get_current_context()
    ctx.invoke(compare_real, synthetic=best["synthetic"], real=best["real"],
               model=best["model"], split=best["split"], conf=best["conf"],
               out=out / "compare-real")
    from detector.demo import summary_text

    click.echo(summary_text(out, res, best, time.perf_counter() - t0))


if __name__ == "__main__":
    main()
