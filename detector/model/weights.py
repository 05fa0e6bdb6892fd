"""Darknet `.weights` read/write and shape-matched loading of `.weights` or `.pt` files
(a .pt is read by detector.model.checkpoint, like every torch file).

A darknet weights file is a header (major, minor, revision as int32, then `seen` as int64
when major*10+minor >= 2, else int32) followed by float32 values, conv layer by conv layer in
cfg order: with batch norm (bias, scale, running mean, running variance, conv weight),
without (conv bias, conv weight). Partial files (`darknet partial`, e.g. darknet53.conv.74)
simply end after the first N layers.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from synth.errors import InputError
from synth.fsio import atomic_path

from .checkpoint import read_torch_file, strip_wrappers
from .model import ConvBlock, YOLOv3

log = logging.getLogger(__name__)

_ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class LoadReport:
    """What a weights file put into a model."""
    source: str
    total: int  # tensors in the model (parameters + batch-norm running statistics)
    loaded: list[str] = field(default_factory=list)  # model keys copied from the file
    not_in_file: list[str] = field(default_factory=list)  # model keys the file lacks
    shape_mismatch: list[str] = field(default_factory=list)  # model keys of another shape there
    model_classes: int = 0
    file_classes: int | None = None
    head_layers: tuple[int, ...] = ()  # the model's head conv layer indices
    weighted_layers: tuple[int, ...] = ()  # indices of the model's layers that have weights
    seen: int | None = None  # darknet header's images-seen counter

    @property
    def reinitialised(self) -> list[str]:
        """Model keys that kept their initial values."""
        return self.not_in_file + self.shape_mismatch

    @property
    def head_reinitialised(self) -> bool:
        """True when a head conv kept its initial weights because of a different shape."""
        return any(_layer_of(k) in self.head_layers for k in self.shape_mismatch)

    def summary(self) -> str:
        """One line: e.g. 'x.weights: loaded 360/366 tensors; head re-initialised for 8 classes'."""
        parts = [f"{self.source}: loaded {len(self.loaded)}/{self.total} tensors"]
        if self.head_reinitialised:
            n = len({_layer_of(k) for k in self.shape_mismatch} & set(self.head_layers))
            was = f"; file has {self.file_classes}" if self.file_classes else ""
            parts.append(f"head re-initialised for {self.model_classes} classes "
                         f"({n} conv layer{'s' * (n != 1)}{was})")
        other = [k for k in self.shape_mismatch if _layer_of(k) not in self.head_layers]
        if other:
            parts.append(f"{len(other)} tensors of other shapes left initialised "
                         f"(layers {self._ranges(other)})")
        if self.not_in_file:
            parts.append(f"layers {self._ranges(self.not_in_file)} not in file, left initialised")
        return "; ".join(parts)

    def __str__(self) -> str:
        return self.summary()

    def _ranges(self, keys: list[str]) -> str:
        """'75-105' for keys of layers 75..105, runs spanning weight-less layers merged."""
        order = {layer: n for n, layer in enumerate(self.weighted_layers)}
        layers = sorted({_layer_of(k) for k in keys})
        runs: list[list[int]] = []
        for x in layers:
            if runs and order.get(x, -2) == order.get(runs[-1][-1], -9) + 1:
                runs[-1].append(x)
            else:
                runs.append([x])
        return ", ".join(f"{r[0]}" if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def load_weights(model: YOLOv3, path: str | Path) -> LoadReport:
    """Load a darknet `.weights` or a PyTorch `.pt` into `model`, tensor by matching shape.

    Tensors whose shape differs (a head for another class count) keep their initial values;
    a file that does not belong to this architecture raises InputError before anything is
    copied. Logs and returns the report.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: weights file not found")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == _ZIP_MAGIC or path.suffix in (".pt", ".pth"):
        report = _load_torch_file(model, path)
    else:
        report = _load_darknet(model, path)
    log.info(report.summary())
    return report


def save_weights(model: YOLOv3, path: str | Path, cutoff: int | None = None,
                 seen: int = 0) -> None:
    """Write `model` (its layers[:cutoff], default all) as a darknet `.weights` file, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(np.array([0, 2, 0], dtype="<i4").tobytes())
        f.write(np.array([seen], dtype="<i8").tobytes())
        for _, block in conv_layers(model, cutoff):
            for t in _darknet_order(block):
                f.write(t.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4")
                        .tobytes())


def conv_layers(model: YOLOv3, cutoff: int | None = None) -> list[tuple[int, ConvBlock]]:
    """(layer index, block) of every conv layer before `cutoff`, in cfg order."""
    return [(i, m) for i, m in enumerate(model.layers)
            if isinstance(m, ConvBlock) and (cutoff is None or i < cutoff)]


def model_keys(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's weight tensors by state-dict key (no `num_batches_tracked` counters)."""
    return {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


# ---- darknet ----------------------------------------------------------------------------

def _darknet_order(block: ConvBlock) -> list[torch.Tensor]:
    if block.bn is not None:
        bn = block.bn
        return [bn.bias, bn.weight, bn.running_mean, bn.running_var, block.conv.weight]
    return [block.conv.bias, block.conv.weight]


def _darknet_keys(i: int, block: ConvBlock) -> list[str]:
    if block.bn is not None:
        return [f"layers.{i}.bn.{n}" for n in ("bias", "weight", "running_mean", "running_var")] \
            + [f"layers.{i}.conv.weight"]
    return [f"layers.{i}.conv.bias", f"layers.{i}.conv.weight"]


def _file_shapes(i: int, block: ConvBlock, model: YOLOv3, classes: int) -> list[tuple]:
    """Tensor shapes of conv layer i in a file made for `classes` classes."""
    shapes = [tuple(t.shape) for t in _darknet_order(block)]
    if i in model.head_conv_indices:
        head = model.heads[model.head_conv_indices.index(i)]
        out = len(head.anchors) * (5 + classes)
        shapes = [(out,), (out, *shapes[1][1:])]
    return shapes


def _layout(model: YOLOv3, classes: int) -> list[tuple[int, ConvBlock, list[tuple]]]:
    return [(i, b, _file_shapes(i, b, model, classes)) for i, b in conv_layers(model)]


def _n_values(shapes: list[tuple]) -> int:
    return sum(int(np.prod(s)) for s in shapes)


def _read_darknet(path: Path) -> tuple[np.ndarray, int]:
    data = path.read_bytes()
    if len(data) < 16:
        raise InputError(f"{path}: {len(data)} bytes is too short for a darknet weights file")
    major, minor, _revision = (int(v) for v in np.frombuffer(data[:12], dtype="<i4"))
    if not (0 <= major < 1000 and 0 <= minor < 1000):
        raise InputError(f"{path}: not a darknet weights file (header version {major}.{minor})")
    header = 20 if major * 10 + minor >= 2 else 16  # `seen` is int64 from version 0.2 on
    if len(data) < header:
        raise InputError(f"{path}: {len(data)} bytes is too short for a darknet weights file")
    seen = int(np.frombuffer(data[12:header], dtype="<i8" if header == 20 else "<i4")[0])
    body = data[header:]
    if len(body) % 4:
        raise InputError(f"{path}: not a darknet weights file (body is not whole float32s)")
    return np.frombuffer(body, dtype="<f4"), seen


def _match_layout(model: YOLOv3, n: int, path: Path):
    """Find how `n` floats split over the model's convs: (layout, class count of the file)."""
    layout = _layout(model, model.num_classes)
    total, ends = 0, []
    for _, _, shapes in layout:
        total += _n_values(shapes)
        ends.append(total)
    if n in ends:  # the model's own class count, whole or cut at a layer boundary
        return layout[: ends.index(n) + 1], model.num_classes
    # A whole file for another class count C: the head convs hold A * (5 + C) filters, so
    # n = (values outside the heads) + (5 + C) * sum over heads of A * (fan_in + 1).
    fixed = sum(_n_values(s) for i, _, s in layout if i not in model.head_conv_indices)
    slot = sum(len(head.anchors) * (int(np.prod(model.layers[i].conv.weight.shape[1:])) + 1)
               for i, head in zip(model.head_conv_indices, model.heads))
    if n > fixed and (n - fixed) % slot == 0 and (n - fixed) // slot > 5:
        classes = (n - fixed) // slot - 5
        return _layout(model, classes), classes
    raise InputError(
        f"{path}: {n} weight values fit neither a {model.name} ({total} values for "
        f"{model.num_classes} classes, or another class count) nor a cut at a layer "
        f"boundary — weights of another model?")


def _load_darknet(model: YOLOv3, path: Path) -> LoadReport:
    values, seen = _read_darknet(path)
    layout, classes = _match_layout(model, len(values), path)
    arrays: dict[str, np.ndarray] = {}
    pos = 0
    for i, block, shapes in layout:
        for key, shape in zip(_darknet_keys(i, block), shapes):
            size = int(np.prod(shape))
            arrays[key] = values[pos: pos + size].reshape(shape)
            pos += size
        if block.bn is not None:
            var = arrays[f"layers.{i}.bn.running_var"]
            if not (np.isfinite(var).all() and (var >= 0).all()):
                raise InputError(f"{path}: negative or non-finite batch-norm variance at layer "
                                 f"{i} — not {model.name} weights")
    has_head = any(i in model.head_conv_indices for i, _, _ in layout)
    return _copy_matching(model, arrays, path, classes if has_head else None, seen)


# ---- PyTorch checkpoints ----------------------------------------------------------------

def _load_torch_file(model: YOLOv3, path: Path) -> LoadReport:
    obj = read_torch_file(path, "PyTorch checkpoint", tensors_first=True)
    name = obj.get("model_name") if isinstance(obj, dict) else None
    if isinstance(name, str) and name != model.name:
        raise InputError(f"{path}: a {name} checkpoint cannot load into {model.name}")
    state = _state_dict_of(obj, path)
    state = {strip_wrappers(k): v for k, v in state.items() if torch.is_tensor(v)
             and not k.endswith("num_batches_tracked")}
    own = model_keys(model)
    for k, v in state.items():
        if k in own and v.shape != own[k].shape and _layer_of(k) not in model.head_conv_indices:
            raise InputError(f"{path}: {k} has shape {tuple(v.shape)}, {model.name} needs "
                             f"{tuple(own[k].shape)} — weights of another model?")
    if not any(k in own for k in state):
        raise InputError(f"{path}: no tensor of this checkpoint belongs to a {model.name}")
    classes = None
    i = model.head_conv_indices[0]
    bias = state.get(f"layers.{i}.conv.bias")
    if bias is not None:
        classes = bias.shape[0] // len(model.heads[0].anchors) - 5
    return _copy_matching(model, {k: v for k, v in state.items()}, path, classes, None)


def _state_dict_of(obj, path: Path) -> dict:
    if isinstance(obj, nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ("model", "state_dict"):
            if key in obj:
                inner = obj[key]
                return inner.state_dict() if isinstance(inner, nn.Module) else dict(inner)
        if obj and all(torch.is_tensor(v) for v in obj.values()):
            return obj
    raise InputError(f"{path}: no model weights in this checkpoint (expected a state dict or "
                     f"a dict with 'model')")


# ---- shared ------------------------------------------------------------------------------

def _copy_matching(model: YOLOv3, arrays: dict, path: Path, file_classes: int | None,
                   seen: int | None) -> LoadReport:
    own = model_keys(model)
    report = LoadReport(source=path.name, total=len(own), model_classes=model.num_classes,
                        file_classes=file_classes, head_layers=model.head_conv_indices, seen=seen,
                        weighted_layers=tuple(sorted({_layer_of(k) for k in own})))
    with torch.no_grad():
        for key, target in own.items():
            if key not in arrays:
                report.not_in_file.append(key)
                continue
            src = arrays[key]
            src = torch.from_numpy(np.array(src)) if isinstance(src, np.ndarray) else src
            if tuple(src.shape) != tuple(target.shape):
                report.shape_mismatch.append(key)
                continue
            target.copy_(src.to(target.dtype))
            report.loaded.append(key)
    return report


def _layer_of(key: str) -> int:
    parts = key.split(".")
    return int(parts[1]) if len(parts) > 1 and parts[0] == "layers" and parts[1].isdigit() else -1
