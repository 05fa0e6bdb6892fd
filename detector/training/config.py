"""Every setting of a training run, each with its default, help and choices, in one place.

`TrainConfig`'s fields are the one source of `pipeline train`'s flags (generated from them:
a field `warmup_epochs` is `--warmup-epochs`), of `pipeline train --config FILE` (a YAML
mapping of the same names; flags given on the command line win) and of `pipeline ablate
--train-option KEY=VALUE`. `check_config` validates a whole config. Torch-free: the CLI is
built from this module without loading torch.
"""
from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synth.cores import default_workers
from synth.errors import InputError
from synth.yamlio import read_yaml_mapping

from detector.evaluation import EVAL_CONF, EVAL_NMS_IOU
from detector.model import BOX_LOSSES, MAX_STRIDE, MODEL_NAMES

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("cosine", "multistep", "onecycle")
DEFAULT_LR = {"sgd": 0.01, "adam": 0.001, "adamw": 0.001}
# Settings a resumed run may change; everything else comes from the run's last.pt.
RESUME_OVERRIDES = ("epochs", "device", "workers", "note", "progress", "stop_after")


def setting(default: Any, help: str = "", *, choices: tuple[str, ...] | None = None,
            default_text: str | None = None, flag: bool = True):
    """A TrainConfig field: its default, its help line, its choices and, for a default that
    is worked out later (None), what it will be (`default_text`). `flag=False`: a library
    setting with no command-line flag."""
    meta = {"help": help, "choices": choices, "default_text": default_text, "flag": flag}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class TrainConfig:
    """Every setting of a training run (the flags of `pipeline train`)."""

    data: list[Path] = setting([], "Set(s) to train on: VOC, YOLO (folder or data.yaml) or "
                                         "COCO (repeat; class lists merged by name).")
    val: Path | None = setting(None, "Set (VOC, YOLO or COCO) to validate on.",
                               default_text="the --data sets' val split, if any")
    split: str | None = setting(None, "Training split of the --data sets.",
                                default_text="train if present, else every image no val or "
                                             "test split lists")
    val_split: str | None = setting(None, "Validation split.", default_text="val if present")
    classes: Path | None = setting(None, "Class list file (its order is the model's; other "
                                         "classes are skipped).")
    model: str = setting("yolov3", "Network.", choices=MODEL_NAMES)
    img_size: int = setting(416, f"Input size, a multiple of {MAX_STRIDE}.")
    epochs: int = setting(100, "Passes over the training images.")
    batch_size: int = setting(16, "Global batch (split over torchrun processes).")
    nominal_batch: int | None = setting(None, "Optimiser step every this many images "
                                              "(gradient accumulation).",
                                        default_text="--batch-size")
    device: str | None = setting(None, "cpu, cuda or cuda:K.", default_text="cuda if any")
    run_dir: Path | None = setting(None, "Run directory.",
                                   default_text="PROJECT/<data>-<model>[-N]")
    name: str | None = setting(None, "Run name: the run directory is PROJECT/NAME.")
    project: Path = setting(Path("runs"), "Parent of named runs; holds the experiment log "
                                          "index.csv.")
    weights: Path | None = setting(None, "Initial weights: darknet .weights (e.g. "
                                         "darknet53.conv.74) or a .pt; layers of other shapes "
                                         "(another class count) are re-initialised.")
    resume: Path | None = setting(None, "Continue the run in this directory from its last.pt.")
    augment: str = setting("default", "none: letterbox only (the 'overfit a few images' "
                                      "check).", choices=("default", "none"))
    mosaic: float = setting(1.0, "Probability of a 4-image mosaic.")
    mixup: float = setting(0.0, "Probability of mixing two samples.")
    close_mosaic: int = setting(0, "Switch mosaic/mixup off for the last N epochs.")
    multi_scale: bool = setting(False, "Input size drawn per batch, 0.75x-1.5x.")
    anchors: str = setting("default", "auto: k-means (IoU distance) on the training boxes.",
                           choices=("default", "auto"))
    optimizer: str = setting("sgd", "Optimiser.", choices=OPTIMIZERS)
    lr: float | None = setting(None, "Peak learning rate.",
                               default_text="0.01 for sgd, 0.001 for adam/adamw")
    momentum: float = setting(0.937, "SGD momentum / Adam beta1.")
    weight_decay: float = setting(5e-4, "On conv weights (not batch norm or biases).")
    scheduler: str = setting("cosine", "Learning-rate schedule.", choices=SCHEDULERS)
    t_max: float | None = setting(None, "Cosine period in epochs.", default_text="--epochs")
    milestones: list[float] | None = setting(None, "multistep: epochs where the lr is "
                                                   "multiplied by --gamma, e.g. 60,80.",
                                             default_text="80% and 90% of --epochs")
    gamma: float = setting(0.1, "multistep: the lr factor at each milestone.")
    lr_final: float = setting(0.01, "cosine/onecycle: the lr ends at --lr x this.")
    warmup_epochs: float = setting(3.0, "Linear warm-up of the lr, in epochs.")
    ema: bool = setting(True, "Keep an exponential moving average of the weights (saved and "
                              "validated).")
    amp: bool = setting(True, "Mixed precision in NHWC layout: bf16 (else fp16) on CUDA, bf16 on "
                              "CPUs with native bf16 (AVX512-BF16/AMX; ~3x faster there).")
    freeze_epochs: int = setting(0, "Train with the backbone frozen for the first N epochs.")
    freeze_batch_size: int | None = setting(None, "Batch while the backbone is frozen.",
                                            default_text="--batch-size")
    val_every: int = setting(1, "Validate every N epochs (and after the last).")
    conf: float = setting(EVAL_CONF, "Validation: lowest detection confidence kept (AP needs "
                                     "the whole precision-recall curve).")
    nms_iou: float = setting(EVAL_NMS_IOU, "Validation: NMS IoU threshold.")
    box_loss: str = setting("mse", "Box regression loss.", choices=BOX_LOSSES)
    label_smoothing: float = setting(0.0, "Class targets 1 - eps/2 and eps/2.")
    focal_gamma: float = setting(0.0, "> 0: focal BCE for objectness and classes.")
    workers: int = setting(default_workers(), "Loader processes.",
                           default_text="the cores this process may use")
    cache_images: bool = setting(False, "Decode every training image once into RAM (shared "
                                        "by the loader processes).")
    seed: int = setting(0, "Seed of initialisation, shuffling and augmentation.")
    auto_batch: bool = setting(False, "On CUDA out-of-memory halve the batch, double "
                                      "accumulation and redo the epoch from its start.")
    deterministic: bool = setting(False, "Deterministic algorithms (slower).")
    stop_after: int | None = setting(None, "Stop after this many epochs (continue later with "
                                           "--resume).")
    note: str = setting("", "Free text for the experiment log (index.csv).")
    progress: bool = setting(True, "Progress bars.", flag=False)

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


# ----------------------------------------------------------------------------- the fields
@dataclass(frozen=True)
class Setting:
    """One field of TrainConfig as the CLI and the settings readers see it."""

    name: str
    type: type             # the value's type (of each item, for a list)
    many: bool             # a list
    optional: bool         # None allowed
    default: Any
    help: str
    choices: tuple[str, ...] | None
    default_text: str | None
    flag: bool

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


def _unpack(tp) -> tuple[type, bool, bool]:
    args = typing.get_args(tp)
    optional = type(None) in args
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = next(a for a in args if a is not type(None))
    if typing.get_origin(tp) is list:
        return typing.get_args(tp)[0], True, optional
    return tp, False, optional


def settings() -> dict[str, Setting]:
    """Every TrainConfig field as a Setting, in declaration order."""
    hints = typing.get_type_hints(TrainConfig)
    out = {}
    for f in dataclasses.fields(TrainConfig):
        tp, many, optional = _unpack(hints[f.name])
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        out[f.name] = Setting(f.name, tp, many, optional, default, f.metadata["help"],
                              f.metadata["choices"], f.metadata["default_text"],
                              f.metadata["flag"])
    return out


SETTINGS = settings()


def _one(s: Setting, value, where: str):
    ok = {bool: lambda v: isinstance(v, bool),
          int: lambda v: isinstance(v, int) and not isinstance(v, bool),
          float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          str: lambda v: isinstance(v, str),
          Path: lambda v: isinstance(v, (str, os.PathLike))}[s.type]
    if not ok(value):
        kind = {bool: "true or false", int: "a whole number", float: "a number", str: "text",
                Path: "a path"}[s.type]
        raise InputError(f"{where}: {s.name} must be {kind}, got {value!r}")
    return s.type(value)


def coerce_setting(name: str, value, where: str):
    """`value` as setting `name` holds it (Path for paths, float for numbers, a list for a
    list: `milestones` also as text "60,80"); InputError naming `where` if it cannot be."""
    s = SETTINGS[name]
    if value is None:
        if s.optional:
            return None
        raise InputError(f"{where}: {name} cannot be empty")
    if s.many:
        if isinstance(value, str):
            value = [v for v in value.replace(" ", "").split(",") if v] if s.type is float \
                else [value]
        if not isinstance(value, (list, tuple)):
            raise InputError(f"{where}: {name} must be a list, got {value!r}")
        if s.type is float:
            try:
                value = [float(v) if isinstance(v, str) else v for v in value]
            except ValueError:
                raise InputError(f"{where}: {name} {value!r}: expected numbers like "
                                 f"60,80") from None
        return [_one(s, v, where) for v in value]
    return _one(s, value, where)


def setting_name(key: str) -> str:
    """A setting's field name from how a user writes it (warmup-epochs, --warmup-epochs)."""
    return key.strip().lstrip("-").replace("-", "_")


def read_config_file(path: str | os.PathLike) -> dict:
    """`pipeline train --config FILE`: a YAML mapping of setting names to values."""
    raw = read_yaml_mapping(path, "training config")
    known = [n for n, s in SETTINGS.items() if s.flag]
    unknown = [k for k in raw if setting_name(str(k)) not in known]
    if unknown:
        raise InputError(f"{path}: {unknown[0]!r} is not a training setting (known: "
                         f"{', '.join(known)})")
    return {setting_name(str(k)): coerce_setting(setting_name(str(k)), v, str(path))
            for k, v in raw.items()}


# ----------------------------------------------------------------------------- validation
def check_config(cfg: TrainConfig) -> TrainConfig:
    """Validate settings (InputError on a bad value or combination); fill derived defaults."""
    def bad(msg: str) -> None:
        raise InputError(msg)

    if not cfg.data:
        bad("--data: give at least one dataset")
    for s in SETTINGS.values():
        v = getattr(cfg, s.name)
        if s.choices and v not in s.choices:
            bad(f"{s.option} {v}: expected one of {', '.join(s.choices)}")
    if cfg.img_size < MAX_STRIDE or cfg.img_size % MAX_STRIDE:
        bad(f"--img-size {cfg.img_size}: must be a positive multiple of {MAX_STRIDE}")
    for flag, v in (("--epochs", cfg.epochs), ("--batch-size", cfg.batch_size),
                    ("--val-every", cfg.val_every)):
        if v < 1:
            bad(f"{flag} {v}: must be at least 1")
    if cfg.nominal_batch is not None and cfg.nominal_batch < cfg.batch_size:
        bad(f"--nominal-batch {cfg.nominal_batch}: must be at least --batch-size "
            f"{cfg.batch_size}")
    if cfg.run_dir is not None and cfg.name is not None:
        bad("give --run-dir or --name, not both")
    if cfg.name is not None and (not cfg.name or "/" in cfg.name or cfg.name in (".", "..")):
        bad(f"--name {cfg.name!r}: must be a plain directory name")
    if cfg.weights is not None and cfg.resume is not None:
        bad("--weights and --resume exclude each other (a resumed run has its weights)")
    for flag, p in (("--mosaic", cfg.mosaic), ("--mixup", cfg.mixup)):
        if not 0.0 <= p <= 1.0:
            bad(f"{flag} {p}: a probability in [0, 1]")
    if cfg.augment == "none" and (cfg.mixup > 0 or cfg.multi_scale):
        bad("--augment none turns augmentation off: drop --mixup/--multi-scale")
    for flag, v in (("--close-mosaic", cfg.close_mosaic), ("--focal-gamma", cfg.focal_gamma),
                    ("--workers", cfg.workers)):
        if v < 0:
            bad(f"{flag} {v}: must be >= 0")
    for flag, v in (("--lr", cfg.lr), ("--t-max", cfg.t_max)):
        if v is not None and not v > 0:
            bad(f"{flag} {v}: must be positive")
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
    for flag, v in (("--freeze-batch-size", cfg.freeze_batch_size),
                    ("--stop-after", cfg.stop_after)):
        if v is not None and v < 1:
            bad(f"{flag} {v}: must be at least 1")
    if not 0.0 <= cfg.label_smoothing < 1.0:
        bad(f"--label-smoothing {cfg.label_smoothing}: must be in [0, 1)")
    if not 0.0 <= cfg.conf < 1.0 or not 0.0 < cfg.nms_iou <= 1.0:
        bad(f"--conf {cfg.conf} / --nms-iou {cfg.nms_iou}: must be in [0, 1) / (0, 1]")
    for d in cfg.data:
        if not Path(d).exists():
            bad(f"{d}: --data: no such dataset folder or data.yaml")
    if cfg.val is not None and not Path(cfg.val).exists():
        bad(f"{cfg.val}: --val: no such dataset folder or data.yaml")
    if cfg.lr is None:
        cfg = dataclasses.replace(cfg, lr=DEFAULT_LR[cfg.optimizer])
    return cfg
