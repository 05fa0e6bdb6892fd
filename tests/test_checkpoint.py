"""Checkpoint files (detector.model.checkpoint): a field of the wrong type or value is one
error line naming the file and the field (exit 2), never a traceback from building the model."""
from __future__ import annotations

import numpy as np
import pytest

from synth.imageio import encode_png
from tests.helpers import make_checkpoint, one_error_line, run_pipeline

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckpt")
    path = make_checkpoint(root / "good.pt", img_size=64)
    (root / "im.png").write_bytes(encode_png(np.full((48, 64, 3), 90, np.uint8)))
    return root, torch.load(path, map_location="cpu", weights_only=False)


BAD = [
    ("model_name", 5, "model_name must be one of yolov3, yolov3-tiny, got 5"),
    ("classes", "abc", "classes must be a non-empty list of class names, got 'abc'"),
    ("num_classes", 10**12, "num_classes 1000000000000 does not match the 3 classes"),
    ("anchors", [[10, 14], None, [23, 27], [37, 58], [81, 82], [135, 169]],
     "anchors must be a list of [w, h] pairs of positive pixels"),
    ("masks", [[3, 4, "x"], [0, 1, 2]], "masks must be lists of anchor indices, one per head, "
                                        "got [[3, 4, 'x'], [0, 1, 2]]"),
    ("masks", [[0, 1, 2]], "yolov3-tiny: masks ((0, 1, 2),) do not fit 2 heads and 6 anchors"),
    ("img_size", "abc", "img_size must be a positive multiple of 32, got 'abc'"),
    ("model", None, "model must be a state dict of tensors"),
]


@pytest.mark.parametrize("key,value,problem", BAD, ids=[f"{k}-{p[:20]}" for k, _, p in BAD])
def test_a_bad_checkpoint_field_is_one_error_line(good, tmp_path, key, value, problem):
    """Each of these used to end in a TypeError, ValueError or RuntimeError traceback from
    build_model, int() or load_state_dict."""
    root, ckpt = good
    ckpt = dict(ckpt, **{key: value})
    path = tmp_path / "bad.pt"
    torch.save(ckpt, path)
    out = tmp_path / "pred"
    line = one_error_line(run_pipeline("predict", "--model", path, root / "im.png",
                                       "--out", out, "--device", "cpu"))
    assert line == f"error: {path}: {problem}", line
    assert not out.exists()
