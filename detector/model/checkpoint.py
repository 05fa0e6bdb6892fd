"""Checkpoints: one self-describing file per model, written atomically; the one torch.load.

A checkpoint is a dict saved with torch.save:
    "model"       state dict of the weights to use (the EMA weights when EMA is on)
    "model_name"  "yolov3" | "yolov3-tiny"
    "num_classes", "classes" (names, in order), "anchors" [[w, h], ...] px, "masks"
    "img_size"    training input size
and, for resuming, any of "epoch", "optimizer", "scaler", "rng", "config", "metrics",
"best_fitness", "best_epoch", "best_metrics", "raw_model", "ema_updates". Evaluate and predict
need nothing beside the file. `read_torch_file` reads any .pt (a checkpoint of ours, or a
state dict from elsewhere for --weights).
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch

from synth.errors import InputError
from synth.fsio import atomic_path
from synth.values import is_finite, is_int, shown

from . import MAX_STRIDE, MODEL_NAMES
from .model import YOLOv3, build_model

REQUIRED = ("model", "model_name", "num_classes", "classes", "anchors", "masks")


def model_meta(model: YOLOv3, classes: list[str], img_size: int) -> dict:
    """The descriptive part of a checkpoint for `model`."""
    return {"model_name": model.name, "num_classes": model.num_classes, "classes": list(classes),
            "anchors": [[float(w), float(h)] for w, h in model.anchors.tolist()],
            "masks": [list(map(int, m)) for m in model.masks], "img_size": int(img_size)}


def save_checkpoint(path: str | os.PathLike, payload: dict) -> None:
    """Write a checkpoint atomically: a kill mid-save leaves the old file intact."""
    missing = [k for k in REQUIRED if k not in payload]
    if missing:
        raise ValueError(f"checkpoint lacks {missing}")
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
        with open(tmp, "rb") as f:  # flush to disk before the rename makes it visible
            os.fsync(f.fileno())


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def read_torch_file(path: str | os.PathLike, what: str = "checkpoint",
                    tensors_first: bool = False):
    """Whatever a .pt file holds, on the CPU; InputError naming the file if it is missing or
    unreadable (`what` it was meant to be goes into the message).

    Our checkpoints carry RNG states (numpy objects), so they are unpickled in full.
    `tensors_first` (a file from elsewhere) tries weights_only=True first and falls back to a
    full unpickle only for what that refuses: the user chose the file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {what} not found")
    try:
        if tensors_first:
            try:
                return torch.load(path, map_location="cpu", weights_only=True)
            except pickle.UnpicklingError:
                pass
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for a damaged file
        raise InputError(f"{path}: not a readable {what} ({_first_line(exc)})") from None


def check_meta(ckpt: dict, path: str | os.PathLike) -> None:
    """Refuse a checkpoint whose descriptive fields cannot describe a model: one line naming
    the file and the field."""
    def bad(field: str, problem: str) -> InputError:
        return InputError(f"{path}: {field} {problem}")

    if ckpt["model_name"] not in MODEL_NAMES:
        raise bad("model_name", f"must be one of {', '.join(MODEL_NAMES)}, "
                                f"got {shown(ckpt['model_name'])}")
    classes = ckpt["classes"]
    if not (isinstance(classes, (list, tuple)) and classes
            and all(isinstance(c, str) for c in classes)):
        raise bad("classes", f"must be a non-empty list of class names, got {shown(classes)}")
    if ckpt["num_classes"] != len(classes) or not is_int(ckpt["num_classes"]):
        raise bad("num_classes", f"{shown(ckpt['num_classes'])} does not match the "
                                 f"{len(classes)} classes")
    anchors = ckpt["anchors"]
    if torch.is_tensor(anchors):
        anchors = anchors.tolist()
    if not (isinstance(anchors, (list, tuple)) and anchors and all(
            isinstance(a, (list, tuple)) and len(a) == 2 and all(
                is_finite(v) and 0 < v < 1e6 for v in a) for a in anchors)):
        raise bad("anchors", "must be a list of [w, h] pairs of positive pixels")
    masks = ckpt["masks"]
    if not (isinstance(masks, (list, tuple)) and all(
            isinstance(m, (list, tuple)) and all(is_int(i) for i in m) for m in masks)):
        raise bad("masks", f"must be lists of anchor indices, one per head, got {shown(masks)}")
    size = ckpt.get("img_size", 416)
    if not (is_int(size) and size > 0 and size % MAX_STRIDE == 0):
        raise bad("img_size", f"must be a positive multiple of {MAX_STRIDE}, got {shown(size)}")
    state = ckpt["model"]
    if not (isinstance(state, torch.nn.Module) or isinstance(state, dict) and all(
            isinstance(k, str) and torch.is_tensor(v) for k, v in state.items())):
        raise bad("model", "must be a state dict of tensors")


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint; a missing, corrupt or foreign file, or one whose fields cannot
    describe a model, raises InputError naming it."""
    ckpt = read_torch_file(path)
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in REQUIRED):
        raise InputError(f"{path}: not a detector checkpoint (needs {', '.join(REQUIRED)})")
    check_meta(ckpt, path)
    return ckpt


def strip_wrappers(key: str) -> str:
    """A state-dict key without the prefixes DDP ("module.") and torch.compile add."""
    for prefix in ("module.", "_orig_mod."):
        while key.startswith(prefix):
            key = key[len(prefix):]
    return key


def model_from_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu"
                          ) -> tuple[YOLOv3, dict]:
    """Rebuild the model of a checkpoint in eval mode; returns (model, checkpoint dict)."""
    ckpt = load_checkpoint(path)
    try:
        model = build_model(ckpt["model_name"], ckpt["num_classes"], anchors=ckpt["anchors"],
                            masks=ckpt["masks"])
    except ValueError as exc:  # build_model's own check: masks that do not fit the heads
        raise InputError(f"{path}: {exc}") from None
    state = ckpt["model"]
    if isinstance(state, torch.nn.Module):
        state = state.state_dict()
    state = {strip_wrappers(k): v for k, v in state.items()}
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise InputError(f"{path}: weights do not fit {ckpt['model_name']} "
                         f"({str(exc).splitlines()[0]})") from None
    return model.to(device).eval(), ckpt
