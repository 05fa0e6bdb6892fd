"""Fuzzing the `pipeline` commands' inputs the way tests/test_fuzz_inputs.py fuzzes `synth`'s:
detections files, the labelled set evaluated, checkpoints (their bytes, and their fields
replaced by wrong types: classes, anchors, masks, img_size, the state dict) and the images
and videos predicted on. Every run must exit 0 or 2, never with a traceback, and leave
nothing under its --out when it exits 2.

Generated inputs per command (derandomized):
    pipeline evaluate --detections     60   detections JSON (and --conf, --iou, --gallery)
    pipeline evaluate --data           30   the VOC set's XML, images, labels.txt, splits
    pipeline predict --model           40   checkpoint (.pt)
    pipeline evaluate --model          15   checkpoint (.pt)
    pipeline predict SOURCE            40   an image, a folder of images, an mp4 video
    pipeline predict flags             30   --conf --iou --img-size --max-det --threads ...
No model is trained: the checkpoint is an untrained yolov3-tiny at 64 px input.
"""
from __future__ import annotations

import functools
import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import main
from synth.imageio import encode_jpeg, encode_png
from tests.fuzzing import bad_values, byte_mutation, check_run, describe_change, file_mutation
from tests.fuzzing import fuzz_settings, mutated_copy
from tests.helpers import make_checkpoint, make_voc_set

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, Path]:
    """Folders of valid inputs: a VOC set with its detections, a checkpoint, frames, a clip."""
    base = tmp_path_factory.mktemp("pseeds")
    ckpt = make_checkpoint(base / "ckpt.pt", img_size=64)
    out = {}
    out["eval"] = base / "eval"
    dets = make_voc_set(out["eval"] / "set", n_images=3)
    dets.rename(out["eval"] / "dets.json")
    (out["eval"] / "ckpt.pt").symlink_to(ckpt)  # not mutated there: not copied per example

    out["ckpt"] = base / "ckpt"
    out["ckpt"].mkdir()
    (out["ckpt"] / "ckpt.pt").write_bytes(ckpt.read_bytes())
    make_voc_set(out["ckpt"] / "set", n_images=2)
    (out["ckpt"] / "im.png").write_bytes(encode_png(np.full((48, 64, 3), 90, np.uint8)))

    out["source"] = base / "source"
    frames = out["source"] / "frames"
    frames.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, suffix in enumerate([".jpg", ".png"]):
        img = rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)
        (frames / f"f{i}{suffix}").write_bytes(encode_jpeg(img) if suffix == ".jpg"
                                               else encode_png(img))
    writer = cv2.VideoWriter(str(out["source"] / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"),
                             10.0, (64, 48))
    for _ in range(3):
        writer.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    writer.release()
    (out["source"] / "ckpt.pt").symlink_to(ckpt)
    return out


def _fuzz(seed: Path, mutation: tuple[str, bytes | None], args: list, limit_s: float = 60):
    rel, data = mutation
    with mutated_copy(seed, rel, data) as root:
        check_run(main, args, root, lambda: describe_change(seed, rel, data), limit_s=limit_s)


def _files(root: Path, under: str) -> dict[str, str]:
    by_suffix = {".json": "json", ".xml": "xml", ".txt": "text"}
    return {p.relative_to(root).as_posix(): by_suffix.get(p.suffix, "binary")
            for p in sorted((root / under).rglob("*")) if p.is_file()}


NUMBERS = ("nan", "inf", "-inf", "-1", "0", "1", "0.5", "1e308", "99999999999999999999",
           "3200000000000", "1000000000", "64", "abc", "")


@st.composite
def flags(draw, names: tuple[str, ...]) -> list[str]:
    """Some of these numeric flags, each with a bad (or good) value."""
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=3))
    return [a for f in chosen for a in (f, draw(st.sampled_from(NUMBERS)))]


# ----------------------------------------------------------------------------- evaluate
EVALUATE = ["evaluate", "--data", "set", "--out", "report", "--gallery", "1"]


@given(data=st.data())
@fuzz_settings(60)
def test_evaluate_detections_file(seeds, data):
    seed = seeds["eval"]
    mutation = data.draw(file_mutation(seed, {"dets.json": "json"}))
    extra = data.draw(st.one_of(st.just([]), flags(("--conf", "--iou", "--gallery"))))
    _fuzz(seed, mutation, EVALUATE + ["--detections", "dets.json"] + extra)


@given(data=st.data())
@fuzz_settings(30)
def test_evaluate_labelled_set(seeds, data):
    seed = seeds["eval"]
    mutation = data.draw(file_mutation(seed, _files(seed, "set")))
    _fuzz(seed, mutation, EVALUATE + ["--detections", "dets.json"])


# ----------------------------------------------------------------------------- checkpoints
@functools.lru_cache(maxsize=1)
def _loaded(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


@st.composite
def checkpoint_mutation(draw, path: Path) -> bytes:
    """A checkpoint's bytes mutated, or one of its fields (or one weight tensor) replaced by a
    wrong value, then saved again."""
    if draw(st.booleans()):
        return draw(byte_mutation(path.read_bytes()))
    ckpt = dict(_loaded(path))  # fields are replaced, never changed in place
    key = draw(st.sampled_from(sorted(ckpt)))
    if key == "model" and draw(st.booleans()):
        ckpt["model"] = dict(ckpt["model"])
        name = draw(st.sampled_from(sorted(ckpt["model"])))
        shape = ckpt["model"][name].shape
        ckpt["model"][name] = draw(st.sampled_from([
            None, torch.zeros(3), torch.full(shape, float("nan")),
            torch.full(shape, 1e30), torch.zeros(shape, dtype=torch.int64)]))
    elif isinstance(ckpt[key], list) and ckpt[key] and draw(st.booleans()):
        ckpt[key] = list(ckpt[key])
        ckpt[key][draw(st.integers(0, len(ckpt[key]) - 1))] = draw(bad_values())
    elif draw(st.integers(0, 4)) == 0:
        del ckpt[key]
    else:
        ckpt[key] = draw(bad_values())
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    return buf.getvalue()


@given(data=st.data())
@fuzz_settings(40)
def test_predict_checkpoint(seeds, data):
    seed = seeds["ckpt"]
    mutation = ("ckpt.pt", data.draw(checkpoint_mutation(seed / "ckpt.pt")))
    _fuzz(seed, mutation, ["predict", "--model", "ckpt.pt", "im.png", "--out", "pred",
                           "--device", "cpu"])


PREDICT_FLAGS = ("--conf", "--iou", "--img-size", "--max-det", "--threads", "--max-frames",
                 "--warmup")


@given(extra=flags(PREDICT_FLAGS))
@fuzz_settings(30)
def test_predict_flags(seeds, extra):
    seed = seeds["source"]
    with mutated_copy(seed) as root:
        check_run(main, ["predict", "--model", "ckpt.pt", "frames", "--out", "pred",
                         "--device", "cpu", "--benchmark", *extra], root)


@given(data=st.data())
@fuzz_settings(15)
def test_evaluate_checkpoint(seeds, data):
    seed = seeds["ckpt"]
    mutation = ("ckpt.pt", data.draw(checkpoint_mutation(seed / "ckpt.pt")))
    _fuzz(seed, mutation, ["evaluate", "--data", "set", "--model", "ckpt.pt", "--out", "report",
                           "--gallery", "0"])


# ----------------------------------------------------------------------------- sources
@given(data=st.data())
@fuzz_settings(40)
def test_predict_source(seeds, data):
    seed = seeds["source"]
    files = {"frames/f0.jpg": "binary", "frames/f1.png": "binary", "clip.mp4": "binary"}
    rel, new = data.draw(file_mutation(seed, files))
    source = data.draw(st.sampled_from(["frames", rel if new is not None else "clip.mp4"]))
    _fuzz(seed, (rel, new), ["predict", "--model", "ckpt.pt", source, "--out", "pred",
                             "--device", "cpu"])
