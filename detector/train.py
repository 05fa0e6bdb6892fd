"""Training: `train(TrainConfig) -> TrainResult`, the library behind `pipeline train`.

One epoch = one pass over the training images (each rank its shard under DDP). The
optimiser steps once per nominal batch (gradient accumulation). The learning rate is a pure
function of the position in training, counted in epochs (`lr_factor`), so a resumed run
continues on exactly the same schedule and a batch-size change (freeze phase, --auto-batch)
does not bend it.

Run directory (DESIGN.md): config.yaml, metrics.csv, last.pt (every epoch, everything
needed to continue), best.pt (the weights with the best validation mAP, or the last epoch's
when there is no validation set), plots/ (loss, lr, mAP), events/ (TensorBoard). Every
finished run appends a row to the experiment log `<runs>/index.csv` (detector.runlog).
"""
from __future__ import annotations

import copy
import contextlib
import dataclasses
import logging
import math
import os
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from synth import fsio
from synth.errors import InputError
from synth.voc import available_splits

from . import runlog
from .anchors import default_anchors, kmeans_anchors, mean_best_iou
from .augment import augment_config
from .checkpoint import load_checkpoint, model_meta, save_checkpoint
from .data import (DetectionData, YoloDataset, build_loader, images_to_float, load_classes_file,
                   multi_scale_sizes, read_sets)
from .detections import Detections
from .letterbox import boxes_from_letterbox
from .loss import BOX_LOSSES, LossConfig, YoloLoss
from .metrics import coco_evaluate, ground_truth, overlapping_pairs, voc_evaluate
from .model import MODEL_NAMES, YOLOv3, build_model

log = logging.getLogger(__name__)

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("cosine", "multistep", "onecycle")
DEFAULT_LR = {"sgd": 0.01, "adam": 0.001, "adamw": 0.001}
# Settings a resumed run may change; everything else comes from the run's last.pt.
RESUME_OVERRIDES = ("epochs", "device", "workers", "note", "progress", "stop_after")


@dataclass
class TrainConfig:
    """Every setting of a training run (the flags of `pipeline train`)."""

    data: list[Path] = field(default_factory=list)
    val: Path | None = None          # default: the --data sets' val split when they have one
    split: str | None = None         # training split (default: train if present, else all)
    val_split: str | None = None     # validation split (default: val if present, else all)
    classes: Path | None = None
    model: str = "yolov3"
    img_size: int = 416
    epochs: int = 100
    batch_size: int = 16             # global (all ranks together)
    nominal_batch: int | None = None  # optimiser step every nominal_batch images (default B)
    device: str | None = None        # default: cuda if available, else cpu
    run_dir: Path | None = None
    name: str | None = None
    project: Path = Path("runs")     # parent of runs named by --name (holds index.csv)
    weights: Path | None = None
    resume: Path | None = None
    augment: str = "default"
    mosaic: float = 1.0
    mixup: float = 0.0
    close_mosaic: int = 0            # last N epochs without mosaic/mixup
    multi_scale: bool = False
    anchors: str = "default"         # default | auto
    optimizer: str = "sgd"
    lr: float | None = None          # default per optimiser (DEFAULT_LR)
    momentum: float = 0.937
    weight_decay: float = 5e-4
    scheduler: str = "cosine"
    t_max: float | None = None       # cosine period in epochs (default: epochs)
    milestones: list[float] | None = None  # multistep epochs (default 80% and 90%)
    gamma: float = 0.1
    lr_final: float = 0.01           # cosine/onecycle end at lr * lr_final
    warmup_epochs: float = 3.0
    ema: bool = True
    amp: bool = True                 # CUDA only: bf16 where supported, else fp16 + GradScaler
    freeze_epochs: int = 0
    freeze_batch_size: int | None = None
    val_every: int = 1
    conf: float = 0.001              # validation confidence and NMS IoU
    nms_iou: float = 0.6
    box_loss: str = "mse"
    label_smoothing: float = 0.0
    focal_gamma: float = 0.0
    workers: int = 4
    seed: int = 0
    auto_batch: bool = False
    deterministic: bool = False
    stop_after: int | None = None    # stop (as if interrupted) after this many epochs
    note: str = ""
    progress: bool = True

    def to_dict(self) -> dict:
        """Plain types only (for config.yaml, checkpoints and the experiment log)."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Path):
                v = str(v)
            elif isinstance(v, list):
                v = [str(x) if isinstance(x, Path) else x for x in v]
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Inverse of to_dict (unknown keys ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        for k in ("val", "classes", "run_dir", "weights", "resume", "project"):
            if kw.get(k) is not None:
                kw[k] = Path(kw[k])
        kw["data"] = [Path(p) for p in kw.get("data", [])]
        return cls(**kw)


@dataclass
class TrainResult:
    """What a run produced."""

    run_dir: Path
    epochs_done: int
    finished: bool
    best_epoch: int | None
    map50: float | None              # of the best epoch
    map: float | None
    per_class_ap50: dict[str, float | None]
    history: list[dict]
    model: nn.Module                 # the trained (EMA) weights, in eval mode, on the CPU
    batch_size: int                  # final global batch (--auto-batch may halve it)
    accumulate: int


# ----------------------------------------------------------------------------- small parts
class ModelEMA:
    """Exponential moving average of weights (and BN statistics), decay ramping up to 0.9999."""

    def __init__(self, model: nn.Module, decay: float = 0.9999, tau: float = 2000.0):
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.decay, self.tau, self.updates = decay, tau, 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = self.decay * (1.0 - math.exp(-self.updates / self.tau))
        src = model.state_dict()
        for k, v in self.module.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(src[k].detach().to(v.dtype), alpha=1.0 - d)
            else:
                v.copy_(src[k])


def lr_factor(cfg: TrainConfig, t: float, warm_step: float) -> float:
    """Learning-rate multiplier at training position `t` (epochs, fractional).

    `warm_step` is one optimiser step in epochs: warm-up ramps linearly so that the first
    step already has a non-zero rate.
    """
    e = cfg.epochs
    if cfg.scheduler == "onecycle":  # its own warm-up: cosine up for 30%, then cosine down
        lo, end, peak = 1 / 25, 1 / 25 / 1e4, 0.3 * e
        if t < peak:
            return lo + (1 - lo) * (1 - math.cos(math.pi * t / peak)) / 2
        return end + (1 - end) * (1 + math.cos(math.pi * min(1.0, (t - peak) / (e - peak)))) / 2
    if cfg.scheduler == "cosine":
        period = cfg.t_max or e
        f = cfg.lr_final + (1 - cfg.lr_final) * (1 + math.cos(math.pi * min(t, period) / period)) / 2
    else:  # multistep: by whole epochs
        milestones = cfg.milestones or [0.8 * e, 0.9 * e]
        f = cfg.gamma ** sum(1 for m in milestones if math.floor(t) >= m)
    if cfg.warmup_epochs > 0 and t < cfg.warmup_epochs:
        f *= min(1.0, (t + warm_step) / cfg.warmup_epochs)
    return f


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """SGD (Nesterov) / Adam / AdamW; weight decay on conv weights only, not BN or biases."""
    decay, no_decay = [], []
    for p in model.parameters():
        (decay if p.ndim > 1 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    lr = cfg.lr
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(groups, lr=lr, momentum=cfg.momentum, nesterov=True)
    elif cfg.optimizer == "adam":
        opt = torch.optim.Adam(groups, lr=lr, betas=(cfg.momentum, 0.999))
    else:
        opt = torch.optim.AdamW(groups, lr=lr, betas=(cfg.momentum, 0.999))
    for g in opt.param_groups:
        g["initial_lr"] = lr
    return opt


def check_config(cfg: TrainConfig) -> TrainConfig:
    """Validate flags (InputError on a bad value or combination); fill derived defaults."""
    def bad(msg: str) -> None:
        raise InputError(msg)

    if not cfg.data:
        bad("--data: give at least one VOC set")
    if cfg.model not in MODEL_NAMES:
        bad(f"--model {cfg.model}: expected one of {', '.join(MODEL_NAMES)}")
    if cfg.img_size < 32 or cfg.img_size % 32:
        bad(f"--img-size {cfg.img_size}: must be a positive multiple of 32")
    if cfg.epochs < 1:
        bad(f"--epochs {cfg.epochs}: must be at least 1")
    if cfg.batch_size < 1:
        bad(f"--batch-size {cfg.batch_size}: must be at least 1")
    if cfg.nominal_batch is not None and cfg.nominal_batch < cfg.batch_size:
        bad(f"--nominal-batch {cfg.nominal_batch}: must be at least --batch-size "
            f"{cfg.batch_size}")
    if cfg.run_dir is not None and cfg.name is not None:
        bad("give --run-dir or --name, not both")
    if cfg.name is not None and (not cfg.name or "/" in cfg.name or cfg.name in (".", "..")):
        bad(f"--name {cfg.name!r}: must be a plain directory name")
    if cfg.weights is not None and cfg.resume is not None:
        bad("--weights and --resume exclude each other (a resumed run has its weights)")
    if cfg.augment not in ("default", "none"):
        bad(f"--augment {cfg.augment}: expected default or none")
    for flag, p in (("--mosaic", cfg.mosaic), ("--mixup", cfg.mixup)):
        if not 0.0 <= p <= 1.0:
            bad(f"{flag} {p}: a probability in [0, 1]")
    if cfg.augment == "none" and (cfg.mixup > 0 or cfg.multi_scale):
        bad("--augment none turns augmentation off: drop --mixup/--multi-scale")
    if cfg.close_mosaic < 0:
        bad(f"--close-mosaic {cfg.close_mosaic}: must be >= 0")
    if cfg.anchors not in ("default", "auto"):
        bad(f"--anchors {cfg.anchors}: expected default or auto")
    if cfg.optimizer not in OPTIMIZERS:
        bad(f"--optimizer {cfg.optimizer}: expected one of {', '.join(OPTIMIZERS)}")
    if cfg.scheduler not in SCHEDULERS:
        bad(f"--scheduler {cfg.scheduler}: expected one of {', '.join(SCHEDULERS)}")
    if cfg.lr is not None and not cfg.lr > 0:
        bad(f"--lr {cfg.lr}: must be positive")
    if cfg.t_max is not None and not cfg.t_max > 0:
        bad(f"--t-max {cfg.t_max}: must be positive")
    if cfg.scheduler != "multistep" and cfg.milestones:
        bad("--milestones needs --scheduler multistep")
    if cfg.scheduler != "cosine" and cfg.t_max is not None:
        bad("--t-max needs --scheduler cosine")
    if cfg.milestones and any(m <= 0 for m in cfg.milestones):
        bad(f"--milestones {cfg.milestones}: epochs must be positive")
    if not 0 <= cfg.freeze_epochs <= cfg.epochs:
        bad(f"--freeze-epochs {cfg.freeze_epochs}: must be between 0 and --epochs {cfg.epochs}")
    if cfg.freeze_batch_size is not None and cfg.freeze_epochs == 0:
        bad("--freeze-batch-size needs --freeze-epochs N")
    if cfg.freeze_batch_size is not None and cfg.freeze_batch_size < 1:
        bad(f"--freeze-batch-size {cfg.freeze_batch_size}: must be at least 1")
    if cfg.val_every < 1:
        bad(f"--val-every {cfg.val_every}: must be at least 1")
    if cfg.box_loss not in BOX_LOSSES:
        bad(f"--box-loss {cfg.box_loss}: expected one of {', '.join(BOX_LOSSES)}")
    if not 0.0 <= cfg.label_smoothing < 1.0:
        bad(f"--label-smoothing {cfg.label_smoothing}: must be in [0, 1)")
    if cfg.focal_gamma < 0:
        bad(f"--focal-gamma {cfg.focal_gamma}: must be >= 0")
    if cfg.workers < 0:
        bad(f"--workers {cfg.workers}: must be >= 0")
    if cfg.stop_after is not None and cfg.stop_after < 1:
        bad(f"--stop-after {cfg.stop_after}: must be at least 1")
    for flag, p in (("--data", d) for d in cfg.data):
        if not Path(p).is_dir():
            bad(f"{p}: {flag} is not a directory")
    if cfg.val is not None and not Path(cfg.val).is_dir():
        bad(f"{cfg.val}: --val is not a directory")
    if cfg.lr is None:
        cfg = dataclasses.replace(cfg, lr=DEFAULT_LR[cfg.optimizer])
    return cfg


def resume_config(run_dir: str | os.PathLike, overrides: dict | None = None) -> TrainConfig:
    """The config of the run in `run_dir` (from its last.pt), with `overrides` applied.

    Only RESUME_OVERRIDES may change: anything else would not continue the same run.
    """
    run_dir = Path(run_dir)
    last = run_dir / "last.pt"
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: --resume needs a run directory")
    if not last.is_file():
        raise InputError(f"{run_dir}: no last.pt to resume from")
    ckpt = load_checkpoint(last)
    if "config" not in ckpt or "epoch" not in ckpt:
        raise InputError(f"{last}: not a training checkpoint (no config/epoch to resume)")
    overrides = dict(overrides or {})
    extra = sorted(k for k in overrides if k not in RESUME_OVERRIDES)
    if extra:
        flags = ", ".join("--" + k.replace("_", "-") for k in extra)
        raise InputError(f"{run_dir}: --resume continues the run with its own settings; "
                         f"{flags} cannot change (only --epochs, --device, --workers, --note)")
    d = dict(ckpt["config"])
    d["stop_after"] = None  # the stop that ended the last session is not a setting of the run
    d.update(overrides)
    d["resume"] = str(run_dir)
    d["run_dir"] = str(run_dir)
    d["name"] = None
    d["weights"] = None
    return TrainConfig.from_dict(d)


# ----------------------------------------------------------------------------- distributed
@dataclass
class Dist:
    """This process's place in a (possibly single-process) run."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str) -> Dist:
    """Join the torchrun process group when WORLD_SIZE > 1 (nccl on CUDA, gloo on CPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    owns = False
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local)
        dist.init_process_group(backend, init_method="env://")
        owns = True
    return Dist(rank, world, local, owns)


def resolve_device(name: str | None, d: Dist) -> torch.device:
    """cpu / cuda / cuda:K (per-rank GPU under DDP); InputError when CUDA is asked but absent."""
    name = name or ("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if not re.fullmatch(r"cuda(:\d+)?", name):
        raise InputError(f"--device {name}: expected cpu, cuda or cuda:K")
    if not torch.cuda.is_available():
        raise InputError(f"--device {name}: CUDA is not available on this machine")
    if d.world > 1:
        return torch.device("cuda", d.local_rank)
    dev = torch.device(name)
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise InputError(f"--device {name}: only {torch.cuda.device_count()} GPU(s) here")
    return dev


# ----------------------------------------------------------------------------- validation
@torch.no_grad()
def predict_dataset(model: nn.Module, dataset: YoloDataset, device: torch.device,
                    batch_size: int = 16, workers: int = 0, conf: float = 0.001,
                    nms_iou: float = 0.6, progress: bool = False) -> Detections:
    """Detections of `model` on every image of `dataset` (letterbox only), in annotation pixels.

    Image indices follow `dataset.data.eval_set().images`. Unlike predict.predict_voc_set this
    goes through the training data loader: several VOC roots, loader workers, and the
    boxes mapped back with the same geometry the targets were made with.
    """
    from tqdm import tqdm

    from .predict import non_max_suppression

    data = dataset.data
    loader = build_loader(dataset, batch_size, workers=workers, shuffle=False)
    was_training = model.training
    model.eval()
    image, cls, boxes, score = [], [], [], []
    for imgs, _, infos in tqdm(loader, desc="val", leave=False, disable=not progress):
        pred = model(images_to_float(imgs, device))
        for found, info in zip(non_max_suppression(pred, conf, nms_iou, multi_label=True), infos):
            b, s, c = found[:, :4], found[:, 4], found[:, 5].long()
            i = info["index"]
            xyxy = boxes_from_letterbox(b.float().cpu().numpy().astype(np.float64),
                                        info["scale"], info["pad"], clip_to=info["size"])
            xyxy = data.to_annotation(xyxy, i)
            image.append(np.full(len(s), i, np.int64))
            cls.append(c.cpu().numpy().astype(np.int64))
            boxes.append(np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], 1))
            score.append(s.float().cpu().numpy().astype(np.float64))
    model.train(was_training)
    if not score:
        return Detections.empty()
    return Detections(np.concatenate(image), np.concatenate(cls),
                      np.concatenate(boxes).reshape(-1, 4), np.concatenate(score))


def validate(model: nn.Module, dataset: YoloDataset, device: torch.device, batch_size: int,
             workers: int = 0, conf: float = 0.001, nms_iou: float = 0.6,
             progress: bool = False) -> dict:
    """mAP50 (PASCAL VOC), mAP (COCO AP@[.5:.95]) and per-class AP50 via detector.metrics."""
    dets = predict_dataset(model, dataset, device, batch_size, workers, conf, nms_iou, progress)
    gt = ground_truth(dataset.data.eval_set())
    pairs = overlapping_pairs(gt, dets)
    voc = voc_evaluate(gt, dets, pairs)
    coco = coco_evaluate(gt, dets, pairs)
    per_class = {c: (None if math.isnan(a) else float(a)) for c, a in zip(gt.classes, voc.ap)}
    return {"map50": float(voc.map) if not math.isnan(voc.map) else 0.0,
            "map": max(0.0, float(coco.stats[0])), "ap50": per_class, "detections": len(dets)}


# ----------------------------------------------------------------------------- the run
def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
             "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        with contextlib.suppress(Exception):  # another GPU count: nothing sensible to restore
            torch.cuda.set_rng_state_all(state["cuda"])


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _new_run_dir(cfg: TrainConfig) -> Path:
    if cfg.run_dir is not None:
        return Path(cfg.run_dir)
    if cfg.name is not None:
        return Path(cfg.project) / cfg.name
    base = f"{Path(cfg.data[0]).resolve().name}-{cfg.model}"
    run, n = Path(cfg.project) / base, 2
    while run.exists():
        run, n = Path(cfg.project) / f"{base}-{n}", n + 1
    return run


def _read_data(cfg: TrainConfig) -> tuple[DetectionData, DetectionData | None]:
    classes = load_classes_file(cfg.classes) if cfg.classes is not None else None
    train_data = read_sets(cfg.data, role="train", split=cfg.split, classes=classes)
    if cfg.val is not None:
        val_data = read_sets([cfg.val], role="val", split=cfg.val_split,
                             classes=train_data.classes)
    else:
        split = cfg.val_split or "val"
        with_val = [d for d in cfg.data if split in available_splits(d)]
        if cfg.val_split and not with_val:
            raise InputError(f"--val-split {split}: none of the --data sets has "
                             f"ImageSets/Main/{split}.txt")
        val_data = read_sets(with_val, role="val", split=split, classes=train_data.classes) \
            if with_val else None
    if val_data is not None and not (~val_data.ignore).any():
        log.warning("validation set has no (non-difficult) objects: no mAP will be computed")
        val_data = None
    if val_data is None:
        log.warning("no validation set (--val DIR or a val split): best.pt will be the last "
                    "epoch's weights")
    return train_data, val_data


def _choose_anchors(cfg: TrainConfig, data: DetectionData, main: bool) -> np.ndarray | None:
    if cfg.anchors != "auto":
        return None
    wh = data.box_sizes() * cfg.img_size
    default = default_anchors(cfg.model)
    k = len(default)
    if len(wh) < k:
        raise InputError(f"{data.roots[0]}: --anchors auto needs at least {k} boxes, "
                         f"the training set has {len(wh)}")
    new = kmeans_anchors(data.box_sizes(), k, cfg.img_size, seed=cfg.seed)
    before, after = mean_best_iou(wh, default), mean_best_iou(wh, new)
    if main:
        log.info("anchors: mean best IoU %.3f with the defaults, %.3f with k-means %s",
                 before, after, ", ".join(f"{w:.0f}x{h:.0f}" for w, h in new))
    if after <= before:
        if main:
            log.info("anchors: keeping the defaults (k-means is no better)")
        return None
    return new


def _forward_backward(model: nn.Module, criterion: YoloLoss, images: torch.Tensor,
                      targets: torch.Tensor, scale: float, autocast: dict,
                      scaler: torch.amp.GradScaler, accumulate: int) -> dict[str, float]:
    """One micro-batch: forward, loss x scale / accumulate, backward. Returns loss parts."""
    with torch.autocast(**autocast):
        outputs = model(images)
    loss, parts = criterion(outputs, targets)
    scaler.scale(loss * (scale / accumulate)).backward()
    return parts


def _largest_batch_that_fits(model, criterion, batch: int, size: int, device, autocast,
                             scaler) -> int:
    """Halve `batch` until one forward/backward of random images fits in GPU memory (0: none)."""
    b = batch // 2
    while b >= 1:
        try:
            x = torch.rand(b, 3, size, size, device=device)
            t = torch.tensor([[0, 0, 0, 0, size / 4, size / 4, 0]], dtype=torch.float32)
            _forward_backward(model, criterion, x, t, 1.0, autocast, scaler, 1)
            model.zero_grad(set_to_none=True)
            return b
        except torch.cuda.OutOfMemoryError:
            model.zero_grad(set_to_none=True)
            _free_cuda()
            b //= 2
    return 0


def _free_cuda() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class _OOM(Exception):
    """An out-of-memory step, to be handled outside the except block (frees the traceback)."""


def _set_frozen(model: YOLOv3, frozen: bool) -> None:
    for p in model.backbone_parameters():
        p.requires_grad_(not frozen)


def _train_mode(model: YOLOv3, frozen: bool) -> None:
    model.train()
    if frozen:  # a frozen backbone keeps its BN statistics too
        for layer in model.layers[: model.backbone_cutoff]:
            layer.eval()


def train(cfg: TrainConfig) -> TrainResult:
    """Train a detector as `cfg` says; see the module doc for what lands in the run dir."""
    if cfg.resume is not None:
        # A direct library call with resume=DIR continues with that run's saved settings.
        if cfg.run_dir is None or Path(cfg.run_dir) != Path(cfg.resume):
            cfg = resume_config(cfg.resume, {k: getattr(cfg, k) for k in
                                             ("device", "workers", "progress", "stop_after")})
    cfg = check_config(cfg)
    d = setup_distributed(cfg.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    try:
        return _Trainer(cfg, d).run()
    finally:
        if d.owns_group and dist.is_initialized():
            dist.destroy_process_group()


class _Trainer:
    """The state of one training run (one instance per process)."""

    def __init__(self, cfg: TrainConfig, d: Dist):
        self.cfg, self.d = cfg, d
        self.device = resolve_device(cfg.device, d)
        if cfg.batch_size % d.world:
            raise InputError(f"--batch-size {cfg.batch_size}: must be a multiple of the "
                             f"{d.world} processes (the global batch is split over them)")
        if d.world > 1 and cfg.auto_batch:
            raise InputError("--auto-batch is single-process only; give a --batch-size that "
                             "fits under torchrun")
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        elif self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.run_dir = Path(cfg.resume) if cfg.resume is not None else _new_run_dir(cfg)
        if d.main and cfg.resume is None and (self.run_dir / "last.pt").exists():
            raise InputError(f"{self.run_dir}: already holds a run (last.pt); use --resume "
                             f"{self.run_dir} to continue it or choose another --name")

        _seed_everything(cfg.seed)
        self.train_data, self.val_data = _read_data(cfg)
        self.classes = self.train_data.classes
        if not (~self.train_data.ignore).any():
            raise InputError(f"{self.train_data.roots[0]}: the training set has no "
                             f"(non-difficult) objects to learn from")
        self.resume_ckpt = load_checkpoint(Path(cfg.resume) / "last.pt") if cfg.resume else None
        if self.resume_ckpt is not None:
            if list(self.resume_ckpt["classes"]) != list(self.classes):
                raise InputError(f"{cfg.resume}/last.pt: trained on classes "
                                 f"{self.resume_ckpt['classes']}, the data now gives "
                                 f"{self.classes}")
            anchors = self.resume_ckpt["anchors"]
            masks = self.resume_ckpt["masks"]
        else:
            anchors = _choose_anchors(cfg, self.train_data, d.main)
            masks = None
        self.model = build_model(cfg.model, len(self.classes), anchors=anchors, masks=masks)
        self.model.init_head_biases(cfg.img_size)
        if cfg.weights is not None:
            report = self.load_weights(cfg.weights)
            if d.main:
                log.info("%s", report.summary())
        self.model.to(self.device)
        self.criterion = YoloLoss.from_model(self.model, LossConfig(
            box_loss=cfg.box_loss, label_smoothing=cfg.label_smoothing,
            focal_gamma=cfg.focal_gamma)).to(self.device)
        self.optimizer = build_optimizer(self.model, cfg)
        self.ema = ModelEMA(self.model) if cfg.ema else None

        cuda = self.device.type == "cuda"
        self.amp_dtype = None
        if cfg.amp and cuda:
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.autocast = {"device_type": self.device.type, "enabled": self.amp_dtype is not None,
                         "dtype": self.amp_dtype or torch.float32}
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)

        self.batch_size = cfg.batch_size   # global; --auto-batch may halve it
        self.freeze_batch = cfg.freeze_batch_size or cfg.batch_size
        self.start_epoch, self.best_fitness, self.best_epoch = 0, None, None
        self.best_metrics: dict | None = None
        self.history: list[dict] = []
        self.ddp_model: nn.Module | None = None
        self.ddp_frozen: bool | None = None
        self.bns = [m for m in self.model.modules() if isinstance(m, nn.BatchNorm2d)]
        self.bn_momentum = {id(m): m.momentum for m in self.bns}
        self.bn_forwards = 0

        self.train_set = YoloDataset(self.train_data, cfg.img_size, augment=augment_config(
            cfg.augment, mosaic=cfg.mosaic, mixup=cfg.mixup,
            close_at=cfg.epochs - cfg.close_mosaic if cfg.close_mosaic else None), seed=cfg.seed)
        self.val_set = YoloDataset(self.val_data, cfg.img_size) if self.val_data else None
        self.sizes = multi_scale_sizes(cfg.img_size) if cfg.multi_scale else [cfg.img_size]
        if self.resume_ckpt is not None:
            self.restore(self.resume_ckpt)
        self.writer = None

    # --------------------------------------------------------------------- weights, resume
    def load_weights(self, path: Path):
        from .darknet import load_weights

        return load_weights(self.model, path)

    def restore(self, ckpt: dict) -> None:
        raw = ckpt.get("raw_model", ckpt["model"])
        self.model.load_state_dict(raw)
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.ema is not None and "ema_updates" in ckpt:
            self.ema.module.load_state_dict(ckpt["model"])
            self.ema.updates = int(ckpt["ema_updates"])
        if ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        self.start_epoch = int(ckpt["epoch"])
        self.best_fitness = ckpt.get("best_fitness")
        self.best_epoch = ckpt.get("best_epoch")
        self.best_metrics = ckpt.get("best_metrics")
        self.history = list(ckpt.get("metrics", []))
        self.bn_forwards = int(ckpt.get("bn_forwards", 0))
        self.batch_size = int(ckpt.get("batch_size", self.batch_size))
        self.freeze_batch = int(ckpt.get("freeze_batch_size", self.freeze_batch))
        _set_rng_state(ckpt["rng"])
        if self.d.main:
            log.info("resuming %s after epoch %d of %d", self.cfg.resume, self.start_epoch,
                     self.cfg.epochs)

    def payload(self, epoch: int, full: bool) -> dict:
        ema_on = self.ema is not None
        weights = (self.ema.module if ema_on else self.model).state_dict()
        p = model_meta(self.model, self.classes, self.cfg.img_size)
        p.update(model=weights, epoch=epoch, config=self.cfg.to_dict(), metrics=self.history,
                 best_fitness=self.best_fitness, best_epoch=self.best_epoch,
                 best_metrics=self.best_metrics)
        if full:
            p.update(optimizer=self.optimizer.state_dict(), scaler=self.scaler.state_dict(),
                     rng=_rng_state(), batch_size=self.batch_size,
                     freeze_batch_size=self.freeze_batch, bn_forwards=self.bn_forwards)
            if ema_on:
                p.update(raw_model=self.model.state_dict(), ema_updates=self.ema.updates)
        return p

    # --------------------------------------------------------------------- phases
    def phase(self, epoch: int) -> tuple[bool, int, int]:
        """(backbone frozen, global batch, accumulate) of `epoch`."""
        frozen = epoch < self.cfg.freeze_epochs
        batch = self.freeze_batch if frozen else self.batch_size
        nominal = self.cfg.nominal_batch or (self.cfg.freeze_batch_size if frozen and
                                             self.cfg.freeze_batch_size else
                                             self.cfg.batch_size)
        # --auto-batch halves `batch` but not the nominal batch: accumulation doubles.
        return frozen, batch, max(1, round(nominal / batch))

    def wrapped(self, frozen: bool) -> nn.Module:
        """The model to call: DDP-wrapped under torchrun (re-wrapped when freezing changes)."""
        if self.d.world == 1:
            return self.model
        if self.ddp_model is None or self.ddp_frozen != frozen:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.ddp_model = DDP(self.model, device_ids=ids, broadcast_buffers=True)
            self.ddp_frozen = frozen
        return self.ddp_model

    # --------------------------------------------------------------------- main loop
    def run(self) -> TrainResult:
        cfg, d = self.cfg, self.d
        if d.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            fsio.remove_stale_temps(self.run_dir)
            self.write_config()
            log.info("run %s: %s, %d classes, %d train images%s, %s, batch %d, %d epochs",
                     self.run_dir, cfg.model, len(self.classes), len(self.train_data),
                     f", {len(self.val_data)} val images" if self.val_data else "",
                     self.device, cfg.batch_size, cfg.epochs)
        end = cfg.epochs if cfg.stop_after is None else min(cfg.epochs, cfg.stop_after)
        try:
            epoch = self.start_epoch
            while epoch < end:
                try:
                    row = self.train_epoch(epoch)
                except _OOM:
                    continue  # batch halved: redo this epoch
                self.end_epoch(epoch, row)
                epoch += 1
        finally:
            self.restore_bn_momentum()
            if self.writer is not None:
                self.writer.close()
            if d.main and self.history:
                self.write_plots()
        done = max(self.start_epoch, end)
        finished = done >= cfg.epochs
        if d.main and finished and end > self.start_epoch:  # not for a no-op resume
            if self.val_set is None:
                save_checkpoint(self.run_dir / "best.pt", self.payload(done, full=False))
            self.log_run(done)
        if d.world > 1:
            dist.barrier()
        best = self.best_metrics or {}
        model = copy.deepcopy(self.ema.module if self.ema is not None else self.model)
        return TrainResult(run_dir=self.run_dir, epochs_done=done, finished=finished,
                           best_epoch=self.best_epoch, map50=best.get("map50"),
                           map=best.get("map"), per_class_ap50=best.get("ap50", {}),
                           history=self.history, model=model.cpu().eval(),
                           batch_size=self.batch_size, accumulate=self.phase(done - 1)[2])

    def train_epoch(self, epoch: int) -> dict:
        """One pass over the (shard of the) training set; returns the metrics row so far."""
        from tqdm import tqdm

        cfg, d = self.cfg, self.d
        frozen, batch, accumulate = self.phase(epoch)
        _set_frozen(self.model, frozen)
        _train_mode(self.model, frozen)
        model = self.wrapped(frozen)
        per_rank = batch // d.world
        loader = build_loader(self.train_set, per_rank, workers=cfg.workers, shuffle=True,
                              seed=cfg.seed, sizes=self.sizes, rank=d.rank, world_size=d.world,
                              drop_last=False)
        loader.set_epoch(epoch)
        n = len(loader)
        steps = math.ceil(n / accumulate)
        scale = per_rank * d.world  # loss is a batch mean: x batch for darknet-scale gradients
        sums = {"box": 0.0, "obj": 0.0, "cls": 0.0, "total": 0.0}
        seen, t0 = 0, time.perf_counter()
        bar = tqdm(loader, total=n, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                   disable=not (cfg.progress and d.main), dynamic_ncols=True)
        self.optimizer.zero_grad(set_to_none=True)
        lr = 0.0
        for i, (imgs, targets, _) in enumerate(bar):
            step = i // accumulate
            lr = cfg.lr * lr_factor(cfg, epoch + step / steps, 1.0 / steps)
            for g in self.optimizer.param_groups:
                g["lr"] = lr
            images = images_to_float(imgs, self.device)
            targets = targets.to(self.device)
            self.bn_warmup()
            last_micro = (i + 1) % accumulate == 0 or i + 1 == n
            sync = contextlib.nullcontext() if last_micro or d.world == 1 else model.no_sync()
            oom = False
            try:
                with sync:
                    parts = _forward_backward(model, self.criterion, images, targets, scale,
                                              self.autocast, self.scaler, accumulate)
            except torch.cuda.OutOfMemoryError:
                oom = True
            if oom:
                bar.close()
                self.handle_oom(batch, images.shape[-1], frozen)
                raise _OOM()
            if last_micro:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 10.0)
                self.scaler.step(self.optimizer)
                self.scaler.update()
                self.optimizer.zero_grad(set_to_none=True)
                if self.ema is not None:
                    self.ema.update(self.model)
            for k in sums:
                sums[k] += parts[k] * len(imgs)
            seen += len(imgs)
            bar.set_postfix(loss=f"{sums['total'] / seen:.4f}", lr=f"{lr:.2e}",
                            size=images.shape[-1])
        bar.close()
        dt = time.perf_counter() - t0
        if d.world > 1:  # average the logged losses over ranks (logging only)
            t = torch.tensor([sums[k] for k in sums] + [seen], dtype=torch.float64)
            dist.all_reduce(t)
            sums = dict(zip(sums, t[:-1].tolist()))
            seen = int(t[-1])
        row = {"epoch": epoch + 1, "lr": lr, "batch": batch, "accumulate": accumulate,
               "frozen": int(frozen), **{f"loss_{k}": v / max(seen, 1) for k, v in sums.items()},
               "images_per_s": seen / dt if dt > 0 else 0.0, "seconds": dt}
        return row

    def bn_warmup(self) -> None:
        """BN running statistics: a plain average over the first 1/momentum forwards.

        They start at mean 0 / variance 1, which are not data: with momentum 0.03 that guess
        still weighs 0.97^k after k steps (a first-layer variance of ~0.02 is doubled after
        120 steps), so eval-mode outputs lag train mode for hundreds of steps. Momentum
        max(1/k, m) removes the initial guess at once (like Adam's bias correction).
        """
        self.bn_forwards += 1
        for m in self.bns:
            base = self.bn_momentum[id(m)]
            if base is not None:
                m.momentum = max(base, 1.0 / self.bn_forwards)

    def restore_bn_momentum(self) -> None:
        for m in self.bns:
            m.momentum = self.bn_momentum[id(m)]

    def handle_oom(self, batch: int, size: int, frozen: bool) -> None:
        """--auto-batch: halve the batch and double accumulation; else InputError with the fit."""
        self.optimizer.zero_grad(set_to_none=True)
        _free_cuda()
        if not self.cfg.auto_batch or batch == 1:
            fit = _largest_batch_that_fits(self.model, self.criterion, batch, size, self.device,
                                           self.autocast, self.scaler)
            flag = "--freeze-batch-size" if frozen else "--batch-size"
            if fit == 0:
                raise InputError(f"out of GPU memory at {flag} {batch} (input {size}px): not "
                                 f"even batch 1 fits; try a smaller --img-size or model")
            raise InputError(f"out of GPU memory at {flag} {batch} (input {size}px); the "
                             f"largest batch that fit is {fit}: use {flag} {fit} with "
                             f"--nominal-batch {batch}, or --auto-batch")
        new = batch // 2
        if frozen:
            self.freeze_batch = new
        else:
            self.batch_size = new
        log.warning("out of GPU memory at batch %d (input %dpx): batch %d with %dx gradient "
                    "accumulation from here, redoing the epoch", batch, size, new,
                    self.phase(0 if frozen else self.cfg.freeze_epochs)[2])

    def end_epoch(self, epoch: int, row: dict) -> None:
        """Validate (rank 0), log, save last.pt/best.pt."""
        cfg, d = self.cfg, self.d
        done = epoch + 1
        validate_now = self.val_set is not None and (done % cfg.val_every == 0 or
                                                     done == cfg.epochs)
        if d.main:
            if validate_now:
                eval_model = self.ema.module if self.ema is not None else self.model
                m = validate(eval_model, self.val_set, self.device,
                             batch_size=max(1, self.batch_size // d.world),
                             workers=min(cfg.workers, 2), conf=cfg.conf, nms_iou=cfg.nms_iou,
                             progress=cfg.progress)
                row.update(map50=m["map50"], map=m["map"])
                fitness = (m["map"], m["map50"])
                improved = self.best_fitness is None or tuple(fitness) > tuple(self.best_fitness)
                if improved:
                    self.best_fitness, self.best_epoch = list(fitness), done
                    self.best_metrics = {k: m[k] for k in ("map50", "map", "ap50")}
            else:
                improved = False
            self.history.append(row)
            self.log_epoch(row)
            save_checkpoint(self.run_dir / "last.pt", self.payload(done, full=True))
            if improved:
                save_checkpoint(self.run_dir / "best.pt", self.payload(done, full=False))
        if d.world > 1:
            dist.barrier()

    # --------------------------------------------------------------------- outputs
    def write_config(self) -> None:
        import yaml

        info = {"classes": self.classes, "anchors": [[round(float(w), 2), round(float(h), 2)]
                                                     for w, h in self.model.anchors.tolist()],
                "masks": [list(m) for m in self.model.masks], "world_size": self.d.world,
                "device": str(self.device), "amp": str(self.amp_dtype).replace("torch.", "")
                if self.amp_dtype else "off", "train_images": len(self.train_data),
                "val_images": len(self.val_data) if self.val_data else 0}
        text = yaml.safe_dump({**self.cfg.to_dict(), "derived": info}, sort_keys=False)
        fsio.write_text(self.run_dir / "config.yaml", text)

    def log_epoch(self, row: dict) -> None:
        cols = ["epoch", "lr", "batch", "accumulate", "frozen", "loss_box", "loss_obj",
                "loss_cls", "loss_total", "map50", "map", "images_per_s", "seconds"]
        lines = [",".join(cols)]
        for r in self.history:
            lines.append(",".join("" if r.get(c) is None else (f"{r[c]:.6g}" if isinstance(
                r[c], float) else str(r[c])) for c in cols))
        fsio.write_text(self.run_dir / "metrics.csv", "\n".join(lines) + "\n")
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.run_dir / "events"))
        e = row["epoch"]
        for k in ("loss_box", "loss_obj", "loss_cls", "loss_total"):
            self.writer.add_scalar(f"train/{k[5:]}", row[k], e)
        self.writer.add_scalar("train/lr", row["lr"], e)
        self.writer.add_scalar("train/images_per_s", row["images_per_s"], e)
        if "map50" in row:
            self.writer.add_scalar("val/mAP50", row["map50"], e)
            self.writer.add_scalar("val/mAP", row["map"], e)
        self.writer.flush()
        val = f"  mAP50 {row['map50']:.4f}  mAP {row['map']:.4f}" if "map50" in row else ""
        log.info("epoch %d/%d  loss %.4f (box %.4f obj %.4f cls %.4f)  lr %.2e  %.1f img/s%s",
                 e, self.cfg.epochs, row["loss_total"], row["loss_box"], row["loss_obj"],
                 row["loss_cls"], row["lr"], row["images_per_s"], val)

    def write_plots(self) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        h = self.history
        ep = [r["epoch"] for r in h]
        plots = self.run_dir / "plots"
        plots.mkdir(exist_ok=True)

        def save(fig, name):
            fig.tight_layout()
            with fsio.atomic_path(plots / name) as tmp:
                fig.savefig(tmp, format="png", dpi=100)
            plt.close(fig)

        fig, ax = plt.subplots(figsize=(6, 4))
        for k in ("box", "obj", "cls", "total"):
            ax.plot(ep, [r[f"loss_{k}"] for r in h], label=k)
        ax.set(xlabel="epoch", ylabel="training loss", yscale="log", title="loss")
        ax.legend()
        save(fig, "loss.png")
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(ep, [r["lr"] for r in h])
        ax.set(xlabel="epoch", ylabel="learning rate (end of epoch)", title="lr")
        save(fig, "lr.png")
        vals = [r for r in h if "map50" in r]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot([r["epoch"] for r in vals], [r["map50"] for r in vals], "o-", label="mAP50")
        ax.plot([r["epoch"] for r in vals], [r["map"] for r in vals], "o-", label="mAP")
        ax.set(xlabel="epoch", ylabel="validation", ylim=(0, 1), title="mAP")
        ax.legend()
        save(fig, "map.png")

    def log_run(self, epochs: int) -> None:
        best = self.best_metrics or {}
        runlog.append_run(self.run_dir.parent / "index.csv", runlog.make_row(
            run=self.run_dir.name, run_dir=str(self.run_dir), config=self.cfg.to_dict(),
            epochs=epochs, map50=best.get("map50"), map=best.get("map"),
            ap50=best.get("ap50") or {}))
