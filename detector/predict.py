"""Inference: letterbox → model → class-aware NMS → boxes on the original pixels.

Layers, each usable alone:
- `non_max_suppression(pred, ...)`: decoded model output [B, N, 5+C] → per image [k, 6] rows
  (x1, y1, x2, y2, score, class) in network-input pixels, score = objectness * class prob.
- `predict_batch(model, images, ...)`: uint8 RGB images of any size → `Prediction`s in their
  own pixels (`preprocess` → `run_model` → `postprocess`, the steps the other two share).
- `predict_voc_set(model, voc_set, ...)`: a whole VOC set → `Detections` in annotation pixels:
  the one way a model is run over a VOC set (training validation, `evaluate --model`,
  compare-real, ablate and demo), with one box mapping: letterbox → image pixels (clipped) →
  annotation pixels (detector.data.sets.image_to_annotation, clipped to <size>).
- `run_predict(...)`: the `pipeline predict` loop over an image, a folder, a video or a camera,
  writing annotated frames and `detections.json`, with per-stage timings.

Candidates: with `multi_label=True` every (box, class) pair whose obj * cls reaches `conf` is
a candidate, so one box may be reported for several classes (YOLOv5's choice for mAP: a
second-best class still earns recall at low confidence); with `multi_label=False` each box
keeps only its best class (one label per object, what a person looking at the picture
expects). `predict_voc_set` (evaluation) defaults to multi-label, `pipeline predict` to best
class. Boxes are continuous 0-based pixels, as in detector.data.letterbox.
"""
from __future__ import annotations

import contextlib
import logging
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, NamedTuple, Sequence

import cv2
import numpy as np
import torch
from torchvision.ops import batched_nms
from tqdm import tqdm

from synth import fsio
from synth.draw import LABEL_SCALE, class_colour, draw_box, draw_label, line_width
from synth.errors import InputError
from synth.imageio import IMAGE_SUFFIXES, image_size, read_image
from synth.voc import VocImage, VocSet

from .data.letterbox import boxes_from_letterbox, letterbox
from .data.sets import image_to_annotation
from .device import model_device, resolve_device
from .evaluation import EVAL_CONF, EVAL_NMS_IOU
from .evaluation.detections import Detections, write_detections
from .model import check_img_size
from .model.checkpoint import model_from_checkpoint
from .model.export import OnnxModel

log = logging.getLogger(__name__)

MAX_THREADS = 1024  # OpenMP allocates per thread up front: a huge count aborts the process
MAX_CANDIDATES = 30000  # top-scoring candidates kept before NMS (bounds its cost at conf 0.001)
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv",
                  ".flv", ".ts"}


class Prediction(NamedTuple):
    """Detections of one image, in its own pixels (continuous, 0-based x1, y1, x2, y2)."""

    boxes: np.ndarray    # (k, 4) float32
    scores: np.ndarray   # (k,) float32, objectness * class probability
    classes: np.ndarray  # (k,) int64, index into the model's class list


# ----------------------------------------------------------------------------- NMS
def non_max_suppression(pred: torch.Tensor, conf: float = 0.25, iou: float = 0.45,
                        max_det: int = 300, multi_label: bool = False,
                        max_candidates: int = MAX_CANDIDATES) -> list[torch.Tensor]:
    """Class-aware NMS of decoded predictions [B, N, 5+C] → per image [k, 6] float32 rows
    (x1, y1, x2, y2, score, class), highest score first, at most `max_det`."""
    out = []
    for x in pred:
        x = x[x[:, 4] >= conf]  # obj * cls <= obj: a cheap first cut
        scores = x[:, 5:] * x[:, 4:5]
        if multi_label:
            i, j = (scores >= conf).nonzero(as_tuple=True)
            boxes, score, cls = x[i, :4], scores[i, j], j
        else:
            score, cls = scores.max(1)
            keep = score >= conf
            boxes, score, cls = x[keep, :4], score[keep], cls[keep]
        if len(score) > max_candidates:
            top = score.topk(max_candidates).indices
            boxes, score, cls = boxes[top], score[top], cls[top]
        keep = batched_nms(boxes.float(), score.float(), cls, iou)[:max_det]
        out.append(torch.cat([boxes[keep], score[keep, None], cls[keep, None].to(boxes.dtype)],
                             1).float())
    return out


# ----------------------------------------------------------------------------- models
@contextlib.contextmanager
def _eval_mode(model):
    """Run a torch module in eval mode (decoded output, running BN stats), then restore."""
    was_training = isinstance(model, torch.nn.Module) and model.training
    if was_training:
        model.eval()
    try:
        yield
    finally:
        if was_training:
            model.train()


@dataclass
class Predictor:
    """A runnable model with its class names and input size (a checkpoint or an ONNX file)."""

    model: Callable                 # float [B, 3, S, S] in [0, 1] → decoded [B, N, 5+C]
    classes: list[str]
    img_size: int
    source: str
    backend: str                    # "pytorch" | "onnxruntime"


def load_predictor(path: str | os.PathLike, device: str | torch.device | None = None,
                   img_size: int | None = None, threads: int | None = None) -> Predictor:
    """Load a checkpoint (.pt) or an ONNX export (.onnx) for inference.

    `threads`: CPU threads for the model (torch's global setting, or the ONNX session's).
    """
    path = Path(path)
    if threads:
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    if path.suffix.lower() == ".onnx":
        onnx_model = OnnxModel(path, device=dev, threads=threads)
        size = onnx_model.check_size(img_size)
        return Predictor(onnx_model, onnx_model.classes, size, str(path), "onnxruntime")
    model, ckpt = model_from_checkpoint(path, dev)
    size = check_img_size(img_size if img_size is not None else int(ckpt.get("img_size", 416)))
    return Predictor(model, list(ckpt["classes"]), size, str(path), "pytorch")


# ----------------------------------------------------------------------------- one batch
def preprocess(images: Sequence[np.ndarray], img_size: int
               ) -> tuple[torch.Tensor, list[tuple[float, tuple[int, int]]]]:
    """Letterbox uint8 RGB images → uint8 [B, 3, S, S] and each image's (scale, pad)."""
    batch = np.empty((len(images), 3, img_size, img_size), np.uint8)
    geometry = []
    for k, img in enumerate(images):
        boxed, scale, pad = letterbox(img, img_size)
        batch[k] = boxed.transpose(2, 0, 1)
        geometry.append((scale, pad))
    return torch.from_numpy(batch), geometry


@torch.inference_mode()
def run_model(model, images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 [B, 3, S, S] → decoded predictions [B, N, 5+C] (torch module or ONNX model)."""
    x = images_uint8.to(model_device(model), non_blocking=True).float().div_(255.0)
    with _eval_mode(model):
        return model(x)


def postprocess(pred: torch.Tensor, geometry: Sequence[tuple[float, tuple[int, int]]],
                sizes: Sequence[tuple[int, int]], conf: float = 0.25, iou: float = 0.45,
                max_det: int = 300, multi_label: bool = False) -> list[Prediction]:
    """NMS, then boxes from letterboxed to original pixels, clipped to each (w, h) in `sizes`."""
    out = []
    for det, (scale, pad), wh in zip(non_max_suppression(pred, conf, iou, max_det, multi_label),
                                     geometry, sizes):
        det = det.cpu().numpy()
        boxes = boxes_from_letterbox(det[:, :4], scale, pad, clip_to=wh).astype(np.float32)
        out.append(Prediction(boxes, det[:, 4].copy(), det[:, 5].astype(np.int64)))
    return out


def predict_batch(model, images: Sequence[np.ndarray], img_size: int = 416, conf: float = 0.25,
                  iou: float = 0.45, max_det: int = 300, multi_label: bool = False
                  ) -> list[Prediction]:
    """Detect objects in uint8 RGB images of any sizes; boxes come back in their pixels.

    `model`: a YOLOv3 module (run in eval mode on its own device) or an `OnnxModel`.
    """
    if not len(images):
        return []
    batch, geometry = preprocess(images, img_size)
    pred = run_model(model, batch)
    sizes = [(im.shape[1], im.shape[0]) for im in images]
    return postprocess(pred, geometry, sizes, conf, iou, max_det, multi_label)


# ----------------------------------------------------------------------------- a VOC set
def _load_letterboxed(path: Path, img_size: int):
    img = read_image(path)
    boxed, scale, pad = letterbox(img, img_size)
    return boxed.transpose(2, 0, 1), (scale, pad), (img.shape[1], img.shape[0])


def _prefetched(items: Sequence, load: Callable, batch_size: int, threads: int = 2) -> Iterator:
    """Yield lists of `load(item)` per batch, loading the next batch while one is used."""
    batches = [items[i:i + batch_size] for i in range(0, len(items), batch_size)]
    with ThreadPoolExecutor(threads) as pool:
        pending = [pool.submit(load, it) for it in batches[0]] if batches else []
        for k in range(len(batches)):
            current = pending
            pending = ([pool.submit(load, it) for it in batches[k + 1]]
                       if k + 1 < len(batches) else [])
            yield [f.result() for f in current]


EVAL_BATCH = 8   # images per forward when running over a set (what validation uses too)


def predict_voc_set(model, voc_set: VocSet, img_size: int | None = None,
                    conf: float = EVAL_CONF, iou: float = EVAL_NMS_IOU, max_det: int = 300,
                    batch_size: int = EVAL_BATCH, device: str | torch.device | None = None,
                    multi_label: bool = True, classes: Sequence[str] | None = None,
                    paths: Sequence[str | os.PathLike] | None = None,
                    progress: bool = True) -> Detections:
    """Run a model over every image of a VOC set → Detections in annotation pixels.

    `model`: a checkpoint or ONNX path, a `Predictor`, or a module/ONNX model (then
    `classes` default to the set's and `img_size` to 416). Model classes are matched to the
    set's by name; detections of classes the set lacks are dropped (logged). `paths`: the
    image files, when the set's root cannot say (several roots merged); default
    `voc_set.image_path` of each image.
    """
    if isinstance(model, (str, os.PathLike)):
        model = load_predictor(model, device, img_size)
    if isinstance(model, Predictor):
        classes = classes or model.classes
        img_size = img_size or model.img_size
        model = model.model
    classes = list(classes) if classes is not None else list(voc_set.classes)
    img_size = check_img_size(img_size or 416)
    to_set = {k: voc_set.classes.index(c) for k, c in enumerate(classes) if c in voc_set.classes}
    if not to_set:
        raise InputError(f"{voc_set.root}: none of the model's classes ({', '.join(classes)}) "
                         f"is a class of the set ({', '.join(voc_set.classes)})")
    unknown = [c for c in classes if c not in voc_set.classes]
    if unknown:
        log.warning("the set has no class %s: those detections are dropped", ", ".join(unknown))
    class_map = np.full(len(classes), -1, np.int64)
    class_map[list(to_set)] = list(to_set.values())

    files = ([Path(f) for f in paths] if paths is not None
             else [voc_set.image_path(im) for im in voc_set.images])
    parts: list[tuple] = []
    index = 0
    with tqdm(total=len(files), desc="predict", unit="img", disable=not progress,
              leave=False) as bar:
        for loaded in _prefetched(files, lambda f: _load_letterboxed(f, img_size), batch_size):
            pred = run_model(model, torch.from_numpy(np.stack([x[0] for x in loaded])))
            found = postprocess(pred, [x[1] for x in loaded], [x[2] for x in loaded], conf,
                                iou, max_det, multi_label)
            for p, (_, _, wh) in zip(found, loaded):
                cls = class_map[p.classes]
                keep = cls >= 0
                boxes = image_to_annotation(p.boxes[keep], wh, voc_set.images[index],
                                            files[index])
                xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], 1)
                parts.append((np.full(len(xywh), index, np.int64), cls[keep], xywh,
                              p.scores[keep].astype(np.float64)))
                index += 1
            bar.update(len(loaded))
    if not parts:
        return Detections.empty()
    image, cls, boxes, score = (np.concatenate(c) for c in zip(*parts))
    return Detections(image=image, cls=cls, boxes=boxes.reshape(-1, 4), score=score)


# ----------------------------------------------------------------------------- drawing
def draw_predictions(rgb: np.ndarray, pred: Prediction, classes: Sequence[str]) -> np.ndarray:
    """A copy of the image with each box, its class and score drawn on it (synth.draw)."""
    out = rgb.copy()
    thick = line_width(out)
    for box, score, k in zip(pred.boxes, pred.scores, pred.classes):
        colour = class_colour(int(k))
        x, y = draw_box(out, box, colour, thick)
        name = classes[int(k)] if 0 <= k < len(classes) else str(int(k))
        draw_label(out, f"{name} {score:.2f}", x, y, colour, LABEL_SCALE * thick, thick)
    return out


# ----------------------------------------------------------------------------- sources
@dataclass
class Frame:
    """One decoded image of a source: its image id (file stem or stem_000123) and pixels."""

    image_id: str
    rgb: np.ndarray
    filename: str
    path: Path | None = None        # the image file (an image or folder source)


@dataclass
class Source:
    """Where frames come from: an image, a folder, a video file or a camera."""

    kind: str                       # "image" | "folder" | "video" | "camera"
    name: str                       # stem of the output video / description
    frames: Iterator[Frame]
    fps: float = 0.0                # video/camera only
    release: Callable[[], None] = lambda: None


def _image_frames(paths: list[Path]) -> Iterator[Frame]:
    for p in paths:
        yield Frame(p.stem, read_image(p), p.name, p)


def _video_frames(cap, stem: str, max_frames: int | None) -> Iterator[Frame]:
    i = 0
    while max_frames is None or i < max_frames:
        ok, bgr = cap.read()
        if not ok:
            return
        yield Frame(f"{stem}_{i:06d}", cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), f"{stem}_{i:06d}")
        i += 1


def open_source(source: str, max_frames: int | None = None) -> Source:
    """Open an image file, a folder of images (sorted), a video file or a camera index."""
    path = Path(source)
    if source.isdigit() and not path.exists():
        cap = cv2.VideoCapture(int(source))
        if not cap.isOpened():
            raise InputError(f"camera {source}: cannot be opened")
        return Source("camera", f"camera{source}", _video_frames(cap, f"camera{source}",
                                                                 max_frames),
                      fps=cap.get(cv2.CAP_PROP_FPS) or 30.0, release=cap.release)
    if path.is_dir():
        paths = sorted(p for p in path.iterdir()
                       if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not paths:
            raise InputError(f"{path}: no images in the folder ({', '.join(sorted(IMAGE_SUFFIXES))})")
        seen: dict[str, Path] = {}
        for p in paths:
            if p.stem in seen:
                raise InputError(f"{p}: same stem as {seen[p.stem].name} (image ids are stems)")
            seen[p.stem] = p
            image_size(p)  # a file that is no image fails now, before anything is written
        if max_frames is not None:
            paths = paths[:max_frames]
        return Source("folder", path.name, _image_frames(paths))
    if not path.exists():
        raise InputError(f"{path}: no such file, folder or camera index")
    if path.suffix.lower() in VIDEO_SUFFIXES:
        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            raise InputError(f"{path}: cannot open the video")
        return Source("video", path.stem, _video_frames(cap, path.stem, max_frames),
                      fps=cap.get(cv2.CAP_PROP_FPS) or 30.0, release=cap.release)
    image_size(path)
    return Source("image", path.stem, _image_frames([path]))


# ----------------------------------------------------------------------------- sinks
@contextlib.contextmanager
def video_writer(path: Path, fps: float) -> Iterator[Callable[[np.ndarray], None]]:
    """Yield `write(rgb)`; the mp4 (mp4v) appears at `path` only if the block completes."""
    with fsio.atomic_path(path) as tmp:
        # VideoWriter picks the container from the suffix, so the temp name ends in .mp4.
        video_tmp = tmp.with_name(tmp.name + ".mp4")
        writer = None

        def write(rgb: np.ndarray) -> None:
            nonlocal writer
            if writer is None:
                h, w = rgb.shape[:2]
                writer = cv2.VideoWriter(str(video_tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                         (w, h))
                if not writer.isOpened():
                    raise InputError(f"{path}: cannot write an mp4v video there")
            writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

        try:
            yield write
            if writer is not None:
                writer.release()
                os.replace(video_tmp, tmp)
        finally:
            if writer is not None:
                writer.release()
            video_tmp.unlink(missing_ok=True)


def _encode(rgb: np.ndarray, suffix: str) -> bytes:
    ext = ".png" if suffix.lower() == ".png" else ".jpg"
    ok, buf = cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError(f"{ext} encoding failed")
    return buf.tobytes()


# ----------------------------------------------------------------------------- the loop
STAGES = ("decode", "preprocess", "model", "nms", "draw", "write")


@dataclass
class PredictRun:
    """What `run_predict` did: frames, detections, output files and per-frame timings (ms)."""

    frames: int = 0
    detections: int = 0
    outputs: list[Path] = field(default_factory=list)
    times: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})
    interrupted: bool = False
    images: list[VocImage] = field(default_factory=list)  # the frames, in order
    found: Detections | None = None                        # their detections (image pixels)

    def benchmark_table(self, warmup: int, backend: str = "", device: str = "") -> str:
        """Median milliseconds per stage and FPS over the frames after the warm-up."""
        n = len(self.times["model"])
        if n <= warmup:
            return (f"benchmark: {n} frame(s), not more than the {warmup} warm-up frame(s): "
                    f"give more frames or a smaller --warmup")
        rows = {s: self.times[s][warmup:] for s in STAGES}
        total = [sum(v) for v in zip(*rows.values())]
        head = f"benchmark ({backend} on {device}, {n - warmup} frames after {warmup} warm-up)"
        # min beside median and p90: on a shared machine it shows what the code can do.
        lines = [head, f"{'stage':<12}{'median ms':>10}{'p90 ms':>10}{'min ms':>10}"]
        for s, v in list(rows.items()) + [("total", total)]:
            lines.append(f"{s:<12}{statistics.median(v):>10.2f}"
                         f"{float(np.percentile(v, 90)):>10.2f}{min(v):>10.2f}")
        med = statistics.median(total)
        model_only = statistics.median(rows["model"])
        lines.append(f"FPS {1000 / med:.1f} end to end (median frame), "
                     f"{1000 * len(total) / sum(total):.1f} mean; "
                     f"model alone {1000 / model_only:.1f}")
        return "\n".join(lines)


def run_predict(predictor: Predictor, source: Source, out_dir: str | os.PathLike,
                conf: float = 0.25, iou: float = 0.45, max_det: int = 300,
                multi_label: bool = False, progress: bool = True) -> PredictRun:
    """Detect on every frame of `source`; write annotated frames and `detections.json`.

    Frames of images go to OUT/<stem><suffix>; a video or camera to OUT/<name>.mp4. Every
    file appears complete or not at all; Ctrl-C stops a stream and keeps what was done.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a directory")
    if out_dir.is_dir():  # leftovers of a killed run (temp files and half-written videos)
        fsio.remove_stale_temps(out_dir)
        for p in out_dir.glob(".*.tmp.mp4"):
            p.unlink(missing_ok=True)
    model, classes, size = predictor.model, predictor.classes, predictor.img_size
    cuda = model_device(model).type == "cuda"
    run = PredictRun()
    images: list[VocImage] = []
    parts: list[tuple] = []
    with contextlib.ExitStack() as stack:
        stack.callback(source.release)
        write_video = (stack.enter_context(video_writer(out_dir / f"{source.name}.mp4",
                                                        source.fps))
                       if source.kind in ("video", "camera") else None)
        bar = stack.enter_context(tqdm(desc="predict", unit="frame", disable=not progress,
                                       leave=False))
        frames = iter(source.frames)
        try:
            while True:
                t0 = time.perf_counter()
                frame = next(frames, None)
                if frame is None:
                    break
                t1 = time.perf_counter()
                batch, geometry = preprocess([frame.rgb], size)
                t2 = time.perf_counter()
                pred = run_model(model, batch)
                if cuda:
                    torch.cuda.synchronize()
                t3 = time.perf_counter()
                h, w = frame.rgb.shape[:2]
                (p,) = postprocess(pred, geometry, [(w, h)], conf, iou, max_det, multi_label)
                t4 = time.perf_counter()
                drawn = draw_predictions(frame.rgb, p, classes)
                t5 = time.perf_counter()
                if write_video is not None:
                    write_video(drawn)
                else:
                    suffix = Path(frame.filename).suffix.lower()
                    target = out_dir / (frame.image_id + (suffix if suffix in (".jpg", ".jpeg",
                                                                               ".png") else ".jpg"))
                    fsio.write_bytes(target, _encode(drawn, target.suffix))
                    run.outputs.append(target)
                t6 = time.perf_counter()
                for s, a, b in zip(STAGES, (t0, t1, t2, t3, t4, t5), (t1, t2, t3, t4, t5, t6)):
                    run.times[s].append(1000 * (b - a))
                xywh = np.concatenate([p.boxes[:, :2], p.boxes[:, 2:] - p.boxes[:, :2]], 1)
                parts.append((np.full(len(p.scores), len(images), np.int64), p.classes,
                              xywh.astype(np.float64), p.scores.astype(np.float64)))
                images.append(VocImage(frame.image_id, frame.filename, w, h,
                                       path=None if frame.path is None else str(frame.path)))
                run.frames += 1
                run.detections += len(p.scores)
                bar.update(1)
        except KeyboardInterrupt:  # the way to stop a camera: keep what was done
            run.interrupted = True
        if run.frames == 0:
            raise InputError(f"{source.name}: no frames could be read")
    if write_video is not None:
        run.outputs.append(out_dir / f"{source.name}.mp4")
    dets = (Detections(*(np.concatenate(c) for c in zip(*parts))) if parts
            else Detections.empty())
    voc = VocSet(root=out_dir, classes=list(classes), images=images)
    write_detections(out_dir / "detections.json", dets, voc)
    run.outputs.append(out_dir / "detections.json")
    run.images, run.found = images, dets
    return run


def predict_source(source: str, model: str | os.PathLike | None = None,
                   onnx: str | os.PathLike | None = None, out: str | os.PathLike | None = None,
                   conf: float = 0.25, iou: float = 0.45, img_size: int | None = None,
                   max_det: int = 300, multi_label: bool = False, device: str | None = None,
                   threads: int | None = None, max_frames: int | None = None,
                   benchmark: bool = False, warmup: int = 5, save_labels: str | None = None,
                   review: bool = False) -> list[str]:
    """`pipeline predict`: check the options, load `model` (or `onnx`), detect on every frame
    of `source` into `out` (default ./predict-<source name>), optionally saving the detections
    as a set to correct and a review sheet (detector.labelling); returns the lines to print."""
    from .labelling import check_label_options, frame_certainty, prediction_set, save_labels as save
    from .labelling import write_review

    if (model is None) == (onnx is None):
        raise InputError("give exactly one of --model CKPT or --onnx FILE")
    if not 0 <= conf <= 1 or not 0 < iou <= 1:
        raise InputError(f"--conf {conf} / --iou {iou}: must be in [0, 1] / (0, 1]")
    if max_det < 1 or warmup < 0 or any(v is not None and v < 1 for v in (max_frames, threads)):
        raise InputError("--max-det, --max-frames and --threads must be >= 1, --warmup >= 0")
    if threads is not None and threads > MAX_THREADS:
        raise InputError(f"--threads {threads}: at most {MAX_THREADS}")
    if onnx is not None and Path(onnx).suffix.lower() != ".onnx":
        raise InputError(f"{onnx}: --onnx wants a .onnx file")
    predictor = load_predictor(onnx if onnx is not None else model, device, img_size, threads)
    src = open_source(source, max_frames)
    out = Path(out) if out is not None else Path(f"predict-{src.name}")
    try:
        check_label_options(save_labels, review, src.kind, out)
    except InputError:
        src.release()
        raise
    run = run_predict(predictor, src, out, conf=conf, iou=iou, max_det=max_det,
                      multi_label=multi_label)
    stopped = " (stopped by Ctrl-C)" if run.interrupted else ""
    lines = [f"{run.frames} frame(s), {run.detections} detections{stopped} → {out}"]
    if save_labels is not None or review:
        found = run.found if run.found is not None else Detections.empty()
        labelled = prediction_set(run.images, found, predictor.classes, out)
        if save_labels is not None:
            where = save(labelled, save_labels, out)
            lines.append(f"labels ({save_labels}) to correct and train on: {where}")
        if review:
            lines.append(f"review sheet, least certain first: "
                         f"{write_review(labelled, frame_certainty(run.frames, found), out)}")
    if benchmark:
        where = str(model_device(predictor.model)) if predictor.backend == "pytorch" else "cpu"
        if where == "cpu":
            where += f", {threads} thread(s)" if threads else ", default threads"
        lines.append(run.benchmark_table(warmup, f"{predictor.backend} {predictor.img_size}px",
                                         where))
    return lines
