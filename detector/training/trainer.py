"""Training: `train(TrainConfig) -> TrainResult`, the library behind `pipeline train`.

One epoch = one pass over the training images (each rank its shard under DDP). The
optimiser steps once per nominal batch (gradient accumulation) on the schedule of
detector.training.optim. Validation runs the model over the validation set with
detector.predict.predict_voc_set and measures it with detector.evaluation.evaluate.evaluate,
exactly as `pipeline evaluate --model best.pt` does on the same images.

Run directory (docs/design.md): config.yaml, metrics.csv, last.pt (every epoch, everything
needed to continue), best.pt (the weights with the best validation mAP, or the last epoch's
when there is no validation set), plots/, events/ (TensorBoard), written by
detector.training.outputs; a finished run appends a row to `<runs>/index.csv`.
"""
from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from synth import fsio
from synth.errors import InputError
from synth.voc import VocSet

from detector.data.augment import augment_config
from detector.data.loader import YoloDataset, build_loader, images_to_float, multi_scale_sizes
from detector.data.sets import DetectionData, read_training_sets
from detector.device import amp_dtype, resolve_device
from detector.evaluation.evaluate import evaluate
from detector.model.anchors import auto_anchors
from detector.model.checkpoint import load_checkpoint, model_meta, save_checkpoint
from detector.model.loss import LossConfig, YoloLoss
from detector.model.model import YOLOv3, build_model
from detector.model.weights import load_weights
from detector.predict import predict_voc_set

from .config import RESUME_OVERRIDES, TrainConfig, check_config
from .optim import ModelEMA, build_optimizer, lr_factor
from .outputs import RunOutputs
from .state import EpochStart, rng_state, seed_everything, set_rng_state

log = logging.getLogger(__name__)


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
    gpu: int = 0  # this process's CUDA device under torchrun
    owns_group: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0


def process_gpu(local_rank: int, local_world: int, n_gpus: int) -> tuple[int, str]:
    """(GPU index, backend) of a torchrun process on a machine with `n_gpus`: one GPU each
    over nccl; when there are more processes than GPUs they share them round robin over
    gloo (nccl refuses two ranks on one GPU)."""
    if n_gpus < 1:
        raise InputError("--device cuda under torchrun: no GPU on this machine")
    return local_rank % n_gpus, ("nccl" if local_world <= n_gpus else "gloo")


def setup_distributed(device: str) -> Dist:
    """Join the torchrun process group when WORLD_SIZE > 1 (nccl on CUDA, gloo on the CPU or
    when processes share a GPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    gpu, backend = 0, "gloo"
    if device.startswith("cuda"):
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
        gpu, backend = process_gpu(local, local_world, torch.cuda.device_count())
        torch.cuda.set_device(gpu)
    owns = False
    if not dist.is_initialized():
        dist.init_process_group(backend, init_method="env://")
        owns = True
    return Dist(rank, world, gpu, owns)


# ----------------------------------------------------------------------------- validation
@dataclass
class ValidationSet:
    """The validation images as a VOC set, and their files (several roots may be merged)."""

    voc: VocSet
    paths: list[str]

    @classmethod
    def of(cls, data: DetectionData) -> "ValidationSet":
        return cls(data.eval_set(), [str(p) for p in data.paths])


def validate(model: nn.Module, val: ValidationSet, img_size: int, conf: float, nms_iou: float,
             progress: bool = False) -> dict:
    """mAP50 (PASCAL VOC), mAP (COCO AP@[.5:.95]) and per-class AP50 of `model` on `val`:
    predict_voc_set + evaluate, the path of `pipeline evaluate --model`."""
    dets = predict_voc_set(model, val.voc, img_size=img_size, conf=conf, iou=nms_iou,
                           classes=val.voc.classes, paths=val.paths, progress=progress)
    ev = evaluate(val.voc, dets)
    return {"map50": float(ev.map50) if not math.isnan(ev.map50) else 0.0,
            "map": max(0.0, ev.map), "ap50": ev.per_class_ap50(), "detections": len(dets)}


# ----------------------------------------------------------------------------- the run
def new_run_dir(cfg: TrainConfig) -> Path:
    """--run-dir, or PROJECT/NAME, or PROJECT/<first data dir>-<model>[-N] not yet taken."""
    if cfg.run_dir is not None:
        return Path(cfg.run_dir)
    if cfg.name is not None:
        return Path(cfg.project) / cfg.name
    base = f"{Path(cfg.data[0]).resolve().name}-{cfg.model}"
    run, n = Path(cfg.project) / base, 2
    while run.exists():
        run, n = Path(cfg.project) / f"{base}-{n}", n + 1
    return run


def forward_backward(model: nn.Module, criterion: YoloLoss, images: torch.Tensor,
                      targets: torch.Tensor, scale: float, autocast: dict,
                      scaler: torch.amp.GradScaler, accumulate: int) -> dict[str, float]:
    """One micro-batch: forward, loss x scale / accumulate, backward. Returns loss parts."""
    with torch.autocast(**autocast):
        outputs = model(images)
    loss, parts = criterion(outputs, targets)
    scaler.scale(loss * (scale / accumulate)).backward()
    return parts


def largest_batch_that_fits(model, criterion, batch: int, size: int, device, autocast,
                             scaler) -> int:
    """Halve `batch` until one forward/backward of random images fits in GPU memory (0: none)."""
    b = batch // 2
    while b >= 1:
        try:
            x = torch.rand(b, 3, size, size, device=device)
            t = torch.tensor([[0, 0, 0, 0, size / 4, size / 4, 0]], dtype=torch.float32)
            forward_backward(model, criterion, x, t, 1.0, autocast, scaler, 1)
            model.zero_grad(set_to_none=True)
            return b
        except torch.cuda.OutOfMemoryError:
            model.zero_grad(set_to_none=True)
            free_cuda()
            b //= 2
    return 0


def free_cuda() -> None:
    """Release cached GPU memory after an out-of-memory step."""
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class _OOM(Exception):
    """An out-of-memory step, to be handled outside the except block (frees the traceback)."""


def set_frozen(model: YOLOv3, frozen: bool) -> None:
    """Freeze (or free) the layers darknet's partial backbone file covers."""
    for p in model.backbone_parameters():
        p.requires_grad_(not frozen)


def train_mode(model: YOLOv3, frozen: bool) -> None:
    """Train mode, except a frozen backbone's batch norm (its statistics stay too)."""
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
        return Trainer(cfg, d).run()
    finally:
        if d.owns_group and dist.is_initialized():
            dist.destroy_process_group()


class Trainer:
    """The state of one training run (one instance per process)."""

    def __init__(self, cfg: TrainConfig, d: Dist):
        self.cfg, self.d = cfg, d
        self.device = resolve_device(cfg.device, d.gpu if d.world > 1 else None)
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
        self.run_dir = Path(cfg.resume) if cfg.resume is not None else new_run_dir(cfg)
        if d.main and cfg.resume is None and (self.run_dir / "last.pt").exists():
            raise InputError(f"{self.run_dir}: already holds a run (last.pt); use --resume "
                             f"{self.run_dir} to continue it or choose another --name")

        seed_everything(cfg.seed)
        self.train_data, self.val_data = read_training_sets(cfg.data, cfg.val, cfg.split,
                                                            cfg.val_split, cfg.classes)
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
            anchors = (auto_anchors(self.train_data.box_sizes(), cfg.model, cfg.img_size,
                                    cfg.seed, str(self.train_data.roots[0]), quiet=not d.main)
                       if cfg.anchors == "auto" else None)
            masks = None
        self.model = build_model(cfg.model, len(self.classes), anchors=anchors, masks=masks)
        self.model.init_head_biases(cfg.img_size)
        if cfg.weights is not None:
            load_weights(self.model, cfg.weights)   # logs what it loaded
        self.model.to(self.device)
        self.amp_dtype = amp_dtype(self.device) if cfg.amp else None
        # oneDNN and cuDNN run reduced-precision convolutions fastest on NHWC tensors.
        self.memory_format = (torch.channels_last if self.amp_dtype is not None
                              else torch.contiguous_format)
        self.model.to(memory_format=self.memory_format)
        self.criterion = YoloLoss.from_model(self.model, LossConfig(
            box_loss=cfg.box_loss, label_smoothing=cfg.label_smoothing,
            focal_gamma=cfg.focal_gamma)).to(self.device)
        self.optimizer = build_optimizer(self.model, cfg)
        self.ema = ModelEMA(self.model) if cfg.ema else None

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
        self.val_set = ValidationSet.of(self.val_data) if self.val_data else None
        self.sizes = multi_scale_sizes(cfg.img_size) if cfg.multi_scale else [cfg.img_size]
        if cfg.cache_images:  # before the loader forks its workers, so they share it
            self.train_set.cache_images(max(self.sizes), progress=cfg.progress and d.main)
        if self.resume_ckpt is not None:
            self.restore(self.resume_ckpt)
        self.outputs = RunOutputs(self.run_dir, cfg) if d.main else None
        self.loader = None   # built by the first epoch, rebuilt when the batch changes

    # --------------------------------------------------------------------- resume, checkpoints
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
        set_rng_state(ckpt["rng"])
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
                     rng=rng_state(), batch_size=self.batch_size,
                     freeze_batch_size=self.freeze_batch, bn_forwards=self.bn_forwards)
            if ema_on:
                p.update(raw_model=self.model.state_dict(), ema_updates=self.ema.updates)
        return p

    def derived(self) -> dict:
        """What the run worked out from its settings and data (config.yaml's `derived`)."""
        return {"classes": self.classes,
                "anchors": [[round(float(w), 2), round(float(h), 2)]
                            for w, h in self.model.anchors.tolist()],
                "masks": [list(m) for m in self.model.masks], "world_size": self.d.world,
                "device": str(self.device),
                "amp": str(self.amp_dtype).replace("torch.", "") if self.amp_dtype else "off",
                "train_images": len(self.train_data),
                "val_images": len(self.val_data) if self.val_data else 0}

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
            ids = [self.device.index] if self.device.type == "cuda" else None
            # batch-norm buffers follow rank 0 at each forward: DDP's default (torch 2.14
            # warns when broadcast_buffers is passed at all)
            self.ddp_model = DistributedDataParallel(self.model, device_ids=ids)
            self.ddp_frozen = frozen
        return self.ddp_model

    # --------------------------------------------------------------------- main loop
    def run(self) -> TrainResult:
        cfg, d = self.cfg, self.d
        if d.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            fsio.remove_stale_temps(self.run_dir)
            self.outputs.write_config(self.derived())
            log.info("run %s: %s, %d classes, %d train images%s, %s, batch %d, %d epochs",
                     self.run_dir, cfg.model, len(self.classes), len(self.train_data),
                     f", {len(self.val_data)} val images" if self.val_data else "",
                     self.device, cfg.batch_size, cfg.epochs)
        end = cfg.epochs if cfg.stop_after is None else min(cfg.epochs, cfg.stop_after)
        try:
            epoch, retries = self.start_epoch, 0
            while epoch < end:
                if cfg.auto_batch and not retries:
                    start = EpochStart.of(self)
                try:
                    row = self.train_epoch(epoch)
                except _OOM as oom:  # batch halved: redo this epoch from where it began
                    start.restore(self)
                    retries += 1
                    log.warning("%s; restored the weights, optimiser, EMA and AMP state the "
                                "epoch began with and redo it", oom)
                    continue
                row["oom_retries"], retries = retries, 0
                self.end_epoch(epoch, row)
                epoch += 1
        finally:
            self.restore_bn_momentum()
            if d.main:
                self.outputs.close()
                if self.history:
                    self.outputs.write_plots(self.history)
        done = max(self.start_epoch, end)
        finished = done >= cfg.epochs
        # A no-op resume logs only a run killed before its row was written.
        if d.main and finished and (end > self.start_epoch or not self.outputs.logged()):
            self.outputs.log_run(done, self.best_metrics or {})
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
        cfg, d = self.cfg, self.d
        frozen, batch, accumulate = self.phase(epoch)
        set_frozen(self.model, frozen)
        train_mode(self.model, frozen)
        model = self.wrapped(frozen)
        per_rank = batch // d.world
        if self.loader is None or self.loader.batch_sampler.batch_size != per_rank:
            # Kept across epochs so its persistent workers fork once (keys carry the epoch).
            self.loader = build_loader(self.train_set, per_rank, workers=cfg.workers,
                                       shuffle=True, seed=cfg.seed, sizes=self.sizes,
                                       rank=d.rank, world_size=d.world, drop_last=False)
        loader = self.loader
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
            images = images_to_float(imgs, self.device).contiguous(memory_format=self.memory_format)
            targets = targets.to(self.device)
            self.bn_warmup()
            last_micro = (i + 1) % accumulate == 0 or i + 1 == n
            sync = contextlib.nullcontext() if last_micro or d.world == 1 else model.no_sync()
            oom = False
            try:
                with sync:
                    parts = forward_backward(model, self.criterion, images, targets, scale,
                                              self.autocast, self.scaler, accumulate)
            except torch.cuda.OutOfMemoryError:
                oom = True
            if oom:
                bar.close()
                new, acc = self.handle_oom(batch, images.shape[-1], frozen)
                raise _OOM(f"out of GPU memory at batch {batch} (input {images.shape[-1]}px) "
                           f"after {step} of {steps} optimiser steps of epoch {epoch + 1}: "
                           f"batch {new} with {acc}x gradient accumulation from here")
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

    def handle_oom(self, batch: int, size: int, frozen: bool) -> tuple[int, int]:
        """--auto-batch: halve the batch and double accumulation (returns both); else
        InputError with the batch that fits."""
        self.optimizer.zero_grad(set_to_none=True)
        free_cuda()
        if not self.cfg.auto_batch or batch == 1:
            fit = largest_batch_that_fits(self.model, self.criterion, batch, size, self.device,
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
        return new, self.phase(0 if frozen else self.cfg.freeze_epochs)[2]

    def end_epoch(self, epoch: int, row: dict) -> None:
        """Validate (rank 0), log, save last.pt/best.pt."""
        cfg, d = self.cfg, self.d
        done = epoch + 1
        validate_now = self.val_set is not None and (done % cfg.val_every == 0 or
                                                     done == cfg.epochs)
        if d.main:
            if validate_now:
                eval_model = self.ema.module if self.ema is not None else self.model
                m = validate(eval_model, self.val_set, cfg.img_size, cfg.conf, cfg.nms_iou,
                             cfg.progress)
                row.update(map50=m["map50"], map=m["map"])
                fitness = (m["map"], m["map50"])
                improved = self.best_fitness is None or tuple(fitness) > tuple(self.best_fitness)
                if improved:
                    self.best_fitness, self.best_epoch = list(fitness), done
                    self.best_metrics = {k: m[k] for k in ("map50", "map", "ap50")}
            else:
                improved = False
            self.history.append(row)
            self.outputs.log_epoch(self.history)
            # last.pt marks the epoch done, so it is written last: a run killed before it
            # redoes the epoch (rewriting best.pt) instead of resuming without its best.pt.
            if improved or (self.val_set is None and done == cfg.epochs):
                save_checkpoint(self.run_dir / "best.pt", self.payload(done, full=False))
            save_checkpoint(self.run_dir / "last.pt", self.payload(done, full=True))
        if d.world > 1:
            dist.barrier()
