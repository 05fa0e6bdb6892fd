"""Checkpoints: one self-describing file per model, written atomically.

A checkpoint is a dict saved with torch.save:
    "model"       state dict of the weights to use (the EMA weights when EMA is on)
    "model_name"  "yolov3" | "yolov3-tiny"
    "num_classes", "classes" (names, in order), "anchors" [[w, h], ...] px, "masks"
    "img_size"    training input size
and, for resuming, any of "epoch", "optimizer", "scheduler", "ema", "scaler", "rng",
"config", "best_map", "metrics". Evaluate and predict need nothing beside the file.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from synth.errors import InputError
from synth.fsio import atomic_path

REQUIRED = ("model", "model_name", "num_classes", "classes", "anchors", "masks")


def model_meta(model, classes: list[str], img_size: int) -> dict:
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


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a checkpoint; a missing, corrupt or foreign file raises InputError naming it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # torch raises many types for a damaged file
        raise InputError(f"{path}: not a readable checkpoint ({exc.__class__.__name__})") from None
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in REQUIRED):
        raise InputError(f"{path}: not a detector checkpoint (needs {', '.join(REQUIRED)})")
    return ckpt


def model_from_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu"):
    """Rebuild the model of a checkpoint in eval mode; returns (model, checkpoint dict)."""
    from .model import build_model

    ckpt = load_checkpoint(path)
    model = build_model(ckpt["model_name"], int(ckpt["num_classes"]), anchors=ckpt["anchors"],
                        masks=ckpt["masks"])
    state = ckpt["model"]
    if isinstance(state, torch.nn.Module):
        state = state.state_dict()
    state = {k.removeprefix("module.").removeprefix("_orig_mod."): v for k, v in state.items()}
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise InputError(f"{path}: weights do not fit {ckpt['model_name']} "
                         f"({str(exc).splitlines()[0]})") from None
    return model.to(device).eval(), ckpt
