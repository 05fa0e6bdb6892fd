"""`pipeline export --format onnx`: onnxruntime gives PyTorch's boxes (± 1e-3 px), the file
carries its class names and size, predict runs it, and bad input is one line."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from detector.model.checkpoint import model_from_checkpoint
from detector.model.export import OnnxModel, export_onnx
from detector.predict import load_predictor, predict_batch
from tests.helpers import (IMG_SIZE, SHAPES as CLASSES, bright_box_set, make_checkpoint,
                           one_error_line, run_pipeline)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    # Spread-out scores: with an untrained head they all sit near its prior (~0.01), and a
    # 1e-7 difference would decide which side of the threshold a box falls.
    return make_checkpoint(tmp_path_factory.mktemp("export") / "tiny.pt", lively=True)


@pytest.fixture(scope="module")
def static_onnx(ckpt) -> Path:
    out = ckpt.with_name("tiny.onnx")
    r = run_pipeline("export", "--model", str(ckpt), "--format", "onnx", "--out", str(out))
    assert r.exit_code == 0, r.stderr
    assert "max box difference" in r.output
    return out


def test_onnx_file_carries_classes_and_size(static_onnx):
    meta = {p.key: p.value for p in onnx.load(str(static_onnx)).metadata_props}
    assert json.loads(meta["classes"]) == CLASSES
    assert int(meta["img_size"]) == IMG_SIZE and meta["model_name"] == "yolov3-tiny"
    m = OnnxModel(static_onnx)
    assert m.classes == CLASSES and m.img_size == IMG_SIZE and not m.dynamic


def test_onnxruntime_gives_pytorch_boxes_on_two_images(ckpt, static_onnx):
    model, _ = model_from_checkpoint(ckpt)
    ort_model = OnnxModel(static_onnx)
    x = torch.rand(2, 3, IMG_SIZE, IMG_SIZE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = model(x)
    got = ort_model(x)   # a static batch-1 export runs the two one at a time
    assert got.shape == ref.shape == (2, 3 * (4 * 4 + 8 * 8), 5 + len(CLASSES))
    assert (got[..., :4] - ref[..., :4]).abs().max() <= 1e-3
    assert (got[..., 4:] - ref[..., 4:]).abs().max() <= 1e-4
    # After NMS, on real-shaped images: the same detections.
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (100, 150, 3), dtype=np.uint8),
            rng.integers(0, 255, (140, 60, 3), dtype=np.uint8)]
    a = predict_batch(model, imgs, IMG_SIZE, conf=0.02)
    b = predict_batch(ort_model, imgs, IMG_SIZE, conf=0.02)
    for pa, pb in zip(a, b):
        assert len(pa.boxes) > 0 and pa.classes.tolist() == pb.classes.tolist()
        assert np.abs(pa.boxes - pb.boxes).max() <= 1e-3


def test_dynamic_export_runs_other_sizes_and_batches(ckpt, tmp_path):
    out = tmp_path / "dyn.onnx"
    diff = export_onnx(ckpt, out, dynamic=True)
    assert diff <= 1e-3
    m = OnnxModel(out)
    assert m.dynamic and m.check_size(96) == 96
    model, _ = model_from_checkpoint(ckpt)
    x = torch.rand(3, 3, 96, 160, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = model(x)
    # 1e-3 px, plus float32's own rounding on the large boxes an untrained head emits
    tol = 1e-3 + 1e-5 * ref[..., :4].abs()
    assert ((m(x)[..., :4] - ref[..., :4]).abs() <= tol).all()


def test_predict_with_onnx_matches_pytorch_detections(ckpt, static_onnx, tmp_path):
    voc_root = bright_box_set(tmp_path / "voc")
    outs = {}
    for name, flag, path in (("pt", "--model", ckpt), ("onnx", "--onnx", static_onnx),
                             ("onnx_as_model", "--model", static_onnx)):
        out = tmp_path / name
        r = run_pipeline("predict", flag, str(path), str(voc_root / "JPEGImages"), "--out", str(out),
                   "--conf", "0.02", "--device", "cpu")
        assert r.exit_code == 0, r.stderr
        outs[name] = json.loads((out / "detections.json").read_text())
    assert len(outs["pt"]) > 0
    for name in ("onnx", "onnx_as_model"):
        assert len(outs[name]) == len(outs["pt"])
        for d, e in zip(outs["pt"], outs[name]):
            assert (d["image_id"], d["category"]) == (e["image_id"], e["category"])
            assert np.abs(np.subtract(d["bbox"], e["bbox"])).max() <= 2e-3  # rounded to 1e-3


def test_bad_export_and_onnx_input_is_one_line(ckpt, static_onnx, tmp_path):
    out = tmp_path / "x.onnx"
    assert "unknown export format" in one_error_line(
        run_pipeline("export", "--model", str(ckpt), "--format", "tflite", "--out", str(out)))
    assert "checkpoint not found" in one_error_line(
        run_pipeline("export", "--model", str(tmp_path / "none.pt"), "--out", str(out)))
    assert "multiple of 32" in one_error_line(
        run_pipeline("export", "--model", str(ckpt), "--img-size", "200", "--out", str(out)))
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    img = tmp_path / "i.png"
    import cv2

    cv2.imwrite(str(img), np.zeros((20, 30, 3), np.uint8))
    assert "not a readable ONNX model" in one_error_line(
        run_pipeline("predict", "--onnx", str(junk), str(img), "--out", str(tmp_path / "p")))
    assert "static" in one_error_line(
        run_pipeline("predict", "--onnx", str(static_onnx), "--img-size", "64", str(img),
               "--out", str(tmp_path / "p")))
    assert not (tmp_path / "p").exists()
    with pytest.raises(Exception):
        load_predictor(tmp_path / "missing.onnx")
