"""The `pipeline` command: train, evaluate, compare-real, ablate, predict, export, runs, demo.

Each command parses its flags, calls one library function (the one tests and the demo call
too; range checks live there) and prints what it returned. Heavy imports (torch) happen
inside the commands so that the detections-only paths start fast. `train`'s flags (and
ablate's shared training flags) are generated from detector.training.config.TrainConfig.
"""
from __future__ import annotations

import atexit
import gc
import logging
import os
import time
from pathlib import Path

import click

from synth.errors import CommandGroup, InputError, setup_logging

from detector.training.config import SETTINGS, coerce_setting, read_config_file


def setting_option(name: str, default=None):
    """The click option of TrainConfig field `name`: its flag, help, choices and default
    (`default` replaces the field's, for ablate's own defaults)."""
    s = SETTINGS[name]
    default = s.default if default is None else default
    help_text = s.help + (f" [default: {s.default_text}]" if s.default_text else "")
    if s.type is bool:
        decl = f"{s.option}/--no-{s.option[2:]}" if default else s.option
        return click.option(decl, name, is_flag=True, default=default,
                            show_default=bool(default), help=help_text)
    kind = (click.Choice(s.choices) if s.choices else
            click.Path(path_type=Path) if s.type is Path else str if s.many else s.type)
    return click.option(s.option, name, type=kind, multiple=s.many and s.type is Path,
                        default=None if s.many else default, help=help_text,
                        show_default=default not in (None, [], ""))


def train_options(f):
    """Every `pipeline train` flag: one per TrainConfig field that has a flag."""
    for s in reversed(list(SETTINGS.values())):
        if s.flag:
            f = setting_option(s.name)(f)
    return f


@click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Train and diagnose YOLOv3 detectors on synthetic floor-object data."""
    setup_logging(verbose)


@main.command("evaluate")
@click.option("--data", required=True, type=click.Path(path_type=Path),
              help="The labelled set: VOC, YOLO (folder or data.yaml) or COCO folder.")
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
    for noisy in ("matplotlib", "PIL"):   # their debug output drowns ours under -v
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Where a core is free, the JSON is parsed in a child forked before numpy loads, while
    # this process imports the metrics and the report's libraries and reads the XML.
    from detector.evaluation.jsoncolumns import BackgroundParse, spare_core

    pending = BackgroundParse(detections) if detections is not None and model is None \
        and spare_core() else None
    from detector.evaluation.evaluate import run_evaluate

    run = run_evaluate(data, model=model, detections=detections, split=split, out=out,
                       voc07=voc07, conf=conf, iou=iou, n_gallery=gallery, pending=pending)
    click.echo("\n".join(run.summary()))
    # The collections at interpreter exit would walk every object the run built (a tenth
    # of the command on 3000 images); frozen objects are skipped, and nothing of this
    # command needs a finaliser run at exit.
    atexit.register(gc.freeze)


@main.command("compare-real")
@click.option("--synthetic", required=True, type=click.Path(path_type=Path),
              help="Synthetic set, any layout (its manifest.jsonl, if any, names generator settings).")
@click.option("--real", type=click.Path(path_type=Path), default=None,
              help="Real labelled set (VOC, YOLO or COCO).")
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
    from detector.diagnosis.run import run_compare

    run = run_compare(synthetic, real=real, real_unlabelled=real_unlabelled, model=model,
                      synthetic_detections=synthetic_detections,
                      real_detections=real_detections, split=split, real_split=real_split,
                      out=out, conf=conf, voc07=voc07, n_gallery=gallery)
    click.echo("\n".join(run.summary()))


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
@click.option("--save-labels", metavar="voc|yolo|coco", default=None,
              help="Also write the detections as a set to correct in CVAT/labelImg and train "
                   "on: OUT/labels in this layout (images or a folder only).")
@click.option("--review", is_flag=True,
              help="Also write OUT/review.jpg, the least certain frames first (their lowest "
                   "detection score), and OUT/review.txt.")
def predict(source: str, model_path: Path | None, onnx_path: Path | None, out: Path | None,
            conf: float, iou: float, img_size: int | None, max_det: int, multi_label: bool,
            device: str | None, threads: int | None, max_frames: int | None, benchmark: bool,
            warmup: int, save_labels: str | None, review: bool) -> None:
    """Detect objects in an image, a folder of images, a video file or a camera.

    Writes annotated images (or OUT/<video name>.mp4) and OUT/detections.json (COCO
    results keyed by image stem; video frames are <stem>_000123).

    \b
    Example:
      pipeline predict --model runs/exp1/best.pt data/real/JPEGImages --out preds
      pipeline predict --model runs/exp1/best.pt clip.mp4 --benchmark
      pipeline predict --onnx best.onnx 0 --max-frames 300      (camera 0)
      pipeline predict --model best.pt frames/ --out pre --save-labels yolo --review
    """
    from detector.predict import predict_source

    click.echo("\n".join(predict_source(
        source, model=model_path, onnx=onnx_path, out=out, conf=conf, iou=iou,
        img_size=img_size, max_det=max_det, multi_label=multi_label, device=device,
        threads=threads, max_frames=max_frames, benchmark=benchmark, warmup=warmup,
        save_labels=save_labels, review=review)))


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
    from detector.model.export import export_checkpoint

    out, diff = export_checkpoint(model_path, fmt, out, img_size, dynamic)
    click.echo(f"wrote {out} (onnxruntime vs PyTorch: max box difference {diff:.1e} px)")


_TRAIN_EPILOG = """\b
Examples:
  pipeline train --data data/topdown --model yolov3-tiny --img-size 416 --epochs 100
  pipeline train --data data/a --data data/b --val data/real --weights darknet53.conv.74 \\
      --freeze-epochs 5 --freeze-batch-size 64 --batch-size 16 --nominal-batch 64
  pipeline train --config train.yaml --epochs 50   (the file's settings; flags win)
  pipeline train --resume runs/topdown-yolov3       (after a crash: continues exactly)
  torchrun --nproc_per_node 4 -m pipeline train --data data/topdown --batch-size 64
"""


@main.command("train", epilog=_TRAIN_EPILOG)
@click.option("--config", "config_file", type=click.Path(path_type=Path), default=None,
              help="YAML file of training settings by these flags' names (img_size: 320 or "
                   "img-size: 320); flags given here win.")
@train_options
def train_cmd(config_file: Path | None, **opts) -> None:
    """Train YOLOv3 / YOLOv3-tiny on VOC, YOLO or COCO sets; writes a run directory and logs the run.

    The run directory holds config.yaml, metrics.csv, last.pt (every epoch), best.pt (best
    validation mAP), plots/ and TensorBoard events/; runs/index.csv gets a row per run.
    """
    from click.core import ParameterSource

    from detector.training.config import TrainConfig
    from detector.training.trainer import resume_config, train

    ctx = click.get_current_context()
    given = {k: coerce_setting(k, list(v) if k == "data" else v, SETTINGS[k].option)
             for k, v in opts.items()
             if ctx.get_parameter_source(k) == ParameterSource.COMMANDLINE}
    chosen = {**(read_config_file(config_file) if config_file else {}), **given}
    if chosen.get("resume") is not None:
        cfg = resume_config(chosen.pop("resume"), chosen)
    elif not chosen.get("data"):
        raise InputError("--data: give at least one dataset (or --resume RUN_DIR)")
    else:
        cfg = TrainConfig(**chosen)
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
    from detector.experiments.runlog import compare_runs, find_index, format_runs, read_runs

    rows = read_runs(find_index(runs_dir))
    if compare:
        click.echo(compare_runs(rows, *compare))
    elif not rows:
        click.echo(f"{find_index(runs_dir)}: no runs yet")
    else:
        click.echo(format_runs(rows))


@main.command("ablate")
@click.option("--regime", "regimes", multiple=True, metavar="NAME=DIR|RECIPE|MIX",
              help="A training-data regime (repeat; the first is the baseline): a set (VOC, "
                   "YOLO folder or data.yaml, COCO), a "
                   "synth recipe (.yaml, generated into OUT/data/NAME), or a mixture of other "
                   "regimes by share of images drawn, e.g. mix=pseudo:0.9+real:0.1.")
@click.option("--test", "tests", multiple=True, metavar="NAME=DIR[:SPLIT]",
              help="A test set every run is evaluated on (repeat): all images, or a split.")
@click.option("--factorial", nargs=2, default=None,
              metavar="subjects=RECIPE,RECIPE backgrounds=DIR,DIR",
              help="Add the full subject-source x background-source design: one regime "
                   "SUBJ@BG per cell, the subject recipe with its backgrounds replaced.")
@setting_option("model", default="yolov3-tiny")
@setting_option("img_size")
@setting_option("epochs", default=30)
@setting_option("batch_size")
@click.option("--images-per-epoch", type=int, default=None,
              help="Images drawn per epoch by every regime [default: the largest regime's "
                   "training-image count]. Budget = this x --epochs, the same for all runs.")
@click.option("--seeds", default="0,1,2", show_default=True,
              help="Training seeds; every regime is trained once per seed.")
@setting_option("device")
@setting_option("workers")
@setting_option("augment")
@click.option("--train-option", "train_options", multiple=True, metavar="KEY=VALUE",
              help="Any other `pipeline train` setting for every run, e.g. optimizer=adam, "
                   "lr=0.002, warmup_epochs=1 (repeat).")
@click.option("--boot", type=int, default=1000, show_default=True,
              help="Bootstrap resamples of the test images for the CIs.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("ablate"),
              show_default=True, help="Output directory (rerun the command to resume).")
def ablate(regimes: tuple[str, ...], tests: tuple[str, ...], factorial: tuple[str, str] | None,
           images_per_epoch: int | None, seeds: str, train_options: tuple[str, ...], boot: int,
           out: Path, **shared) -> None:
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
    from detector.experiments.ablate import (AblateConfig, expand_factorial, headline,
                                             parse_factorial, parse_regime, parse_seeds,
                                             parse_test, parse_train_options, run_ablation)
    from detector.training.config import TrainConfig

    parsed = [parse_regime(r) for r in regimes]
    design = None
    if factorial:
        cells, design = expand_factorial(*parse_factorial(factorial))
        parsed += cells
    train = TrainConfig(**{**shared, **parse_train_options(train_options)})
    res = run_ablation(AblateConfig(regimes=parsed, tests=[parse_test(t) for t in tests],
                                    out=out, train=train, seeds=parse_seeds(seeds),
                                    images_per_epoch=images_per_epoch, n_boot=boot,
                                    factorial=design))
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
              help="Processes for image generation [default: the cores this process may use].")
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
    from detector.experiments.demo import SMOKE, run_demo, summary_text

    t0 = time.perf_counter()
    run = run_demo(out, workers=workers, settings=SMOKE if smoke else None)
    if not run.results:
        click.echo(f"stopped early: rerun `pipeline demo --out {out}` to resume")
        return
    click.echo("\n".join(run.compared.summary()))
    click.echo(summary_text(out, run.results, run.best, time.perf_counter() - t0))


if __name__ == "__main__":
    main()
