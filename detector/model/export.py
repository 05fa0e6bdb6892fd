"""ONNX: export a checkpoint's eval forward (decoded boxes, before NMS) and run it back.

The graph maps `images` float32 [B, 3, S, S] (RGB in [0, 1], letterboxed as detector.predict
does) to `predictions` float32 [B, N, 5+C]: x1, y1, x2, y2 in input pixels, objectness and
class probabilities (score = obj * cls), exactly what the PyTorch model returns in eval mode.
NMS stays outside the graph (detector.predict.non_max_suppression), so thresholds can change
without re-exporting. The file carries what inference needs in its metadata_props:
"classes" (JSON list), "img_size", "model_name", "num_classes", "anchors", "format".
"""
from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from synth.errors import InputError
from synth.fsio import atomic_path

from . import check_img_size
from .checkpoint import model_from_checkpoint

log = logging.getLogger(__name__)

FORMATS = ("onnx",)
OPSET = 17
OUTPUT_FORMAT = "x1,y1,x2,y2 (input px), obj, class probs...; score = obj * cls; no NMS"


def export_onnx(checkpoint: str | os.PathLike, out: str | os.PathLike,
                img_size: int | None = None, dynamic: bool = False, opset: int = OPSET
                ) -> float:
    """Export a checkpoint to ONNX (atomically); return the largest box difference between
    onnxruntime and PyTorch on a random input (a self-check; > 1e-3 is an error).

    Static: input [1, 3, S, S]. `dynamic`: batch, height and width are free (multiples of 32).
    """
    import onnx  # (~1 s to import: only when exporting)

    model, ckpt = model_from_checkpoint(checkpoint, "cpu")
    size = check_img_size(img_size if img_size is not None else int(ckpt.get("img_size", 416)))
    dummy = torch.zeros(1, 3, size, size)
    axes = None
    if dynamic:
        axes = {"images": {0: "batch", 2: "height", 3: "width"},
                "predictions": {0: "batch", 1: "boxes"}}
    out = Path(out)
    with atomic_path(out) as tmp:
        with warnings.catch_warnings():  # the legacy exporter's deprecation/folding chatter
            warnings.simplefilter("ignore")
            torch.onnx.export(model, dummy, str(tmp), dynamo=False, opset_version=opset,
                              input_names=["images"], output_names=["predictions"],
                              dynamic_axes=axes, do_constant_folding=True)
        proto = onnx.load(str(tmp))
        meta = {"classes": json.dumps(list(ckpt["classes"])), "img_size": str(size),
                "model_name": str(ckpt["model_name"]), "num_classes": str(ckpt["num_classes"]),
                "anchors": json.dumps(ckpt["anchors"]), "format": OUTPUT_FORMAT}
        del proto.metadata_props[:]
        for key, value in meta.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
        diff = parity(model, OnnxModel(tmp), size, batch=2 if dynamic else 1)
        if diff > 1e-3:
            raise RuntimeError(f"{out}: onnxruntime boxes differ from PyTorch by {diff:.2e} px")
    log.debug("exported %s → %s (%s, %dx%d, max box difference vs PyTorch %.1e px)",
             checkpoint, out, "dynamic" if dynamic else "static", size, size, diff)
    return diff


@torch.inference_mode()
def parity(model: torch.nn.Module, onnx_model: "OnnxModel", img_size: int, batch: int = 1,
           seed: int = 0) -> float:
    """Largest |box difference| (px) between PyTorch and onnxruntime on random images."""
    x = torch.rand(batch, 3, img_size, img_size, generator=torch.Generator().manual_seed(seed))
    ref = model.eval()(x)
    got = onnx_model(x)
    return float((ref[..., :4] - got[..., :4]).abs().max())


def export_checkpoint(checkpoint: str | os.PathLike, fmt: str = "onnx",
                      out: str | os.PathLike | None = None, img_size: int | None = None,
                      dynamic: bool = False) -> tuple[Path, float]:
    """`pipeline export`: check the format and the output (default: the checkpoint's name with
    .onnx), export; returns (the file written, export_onnx's self-check difference)."""
    if fmt.lower() not in FORMATS:
        raise InputError(f"--format {fmt}: unknown export format (known: {', '.join(FORMATS)})")
    checkpoint = Path(checkpoint)
    out = Path(out) if out is not None else checkpoint.with_suffix(".onnx")
    if out.resolve() == checkpoint.resolve():
        raise InputError(f"{out}: would overwrite the checkpoint; give --out")
    return out, export_onnx(checkpoint, out, img_size=img_size, dynamic=dynamic)


class OnnxModel:
    """An exported model run by onnxruntime: float [B, 3, S, S] tensor → decoded predictions.

    Attributes `classes`, `img_size` (export size), `dynamic` (any input size and batch).
    """

    def __init__(self, path: str | os.PathLike, device: str | torch.device | None = "cpu",
                 threads: int | None = None):
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: ONNX file not found")
        providers = ["CPUExecutionProvider"]
        if device is not None and torch.device(device).type == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise InputError(f"{path}: onnxruntime here has no CUDA provider; "
                                 f"use --device cpu")
            providers.insert(0, "CUDAExecutionProvider")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=providers)
        except Exception as exc:  # onnxruntime raises its own types for a bad file
            raise InputError(f"{path}: not a readable ONNX model "
                             f"({str(exc).splitlines()[0][:120]})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if "classes" not in meta or "img_size" not in meta:
            raise InputError(f"{path}: ONNX model lacks class names / img_size metadata "
                             f"(export it with `pipeline export`)")
        self.path = path
        self.classes: list[str] = json.loads(meta["classes"])
        self.img_size = int(meta["img_size"])
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.batch_fixed = inp.shape[0] if isinstance(inp.shape[0], int) else None
        self.dynamic = not all(isinstance(d, int) for d in inp.shape[2:])

    def check_size(self, img_size: int | None) -> int:
        """The input size to run at: the export size, or any multiple of 32 if dynamic."""
        if img_size is None or img_size == self.img_size:
            return self.img_size
        if not self.dynamic:
            raise InputError(f"{self.path}: exported for {self.img_size}x{self.img_size} "
                             f"(static); --img-size {img_size} needs `pipeline export --dynamic`")
        return check_img_size(img_size)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        arr = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
        if self.batch_fixed is not None and len(arr) != self.batch_fixed:
            outs = [self.session.run(None, {self.input_name: arr[i:i + 1]})[0]
                    for i in range(len(arr))]
            return torch.from_numpy(np.concatenate(outs))
        return torch.from_numpy(self.session.run(None, {self.input_name: arr})[0])
