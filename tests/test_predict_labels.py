"""`pipeline predict --save-labels voc|yolo|coco` and `--review`: predictions as a set to correct
and train on, read back with the detections' boxes; the review sheet's order; bad input."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.evaluation.detections import Detections
from detector.labelling import frame_certainty, prediction_set, review_order, write_review
from synth.imageio import encode_png, read_image
from synth.layouts import detect_layout, read_dataset
from synth.preview import CAPTION_H, render_tile
from synth.voc import VocImage
from tests.helpers import (SHAPES, bright_box_set, make_checkpoint, one_error_line,
                           red_box_image, run_pipeline, run_synth)


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> Path:
    """An unlabelled folder of frames (the PNGs of the bright-box set)."""
    return bright_box_set(tmp_path_factory.mktemp("frames") / "voc") / "JPEGImages"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "fire.pt", fire=2)


def _predict(ckpt, frames, out, *extra):
    return run_pipeline("predict", "--model", ckpt, frames, "--out", out, "--conf", "0.5",
                        "--max-det", "4", "--device", "cpu", *extra)


def _detections(out: Path) -> dict[str, list[tuple[str, list[float]]]]:
    got: dict[str, list] = {}
    for d in json.loads((out / "detections.json").read_text()):
        got.setdefault(d["image_id"], []).append((d["category"], d["bbox"], d["score"]))
    return got


@pytest.mark.parametrize("fmt,tol", [("voc", 1.0), ("yolo", 0.01), ("coco", 0.01)])
def test_saved_labels_read_back_with_the_detections_boxes(ckpt, frames, tmp_path, fmt, tol):
    out = tmp_path / "out"
    r = _predict(ckpt, frames, out, "--save-labels", fmt)
    assert r.exit_code == 0, r.output
    labels = out / "labels"
    assert detect_layout(labels) == fmt
    got = read_dataset(labels)
    assert got.classes == SHAPES and sorted(im.stem for im in got.images) == ["a", "b"]
    dets = _detections(out)
    assert sum(len(v) for v in dets.values()) > 0
    for im in got.images:
        def key(item):
            return item[0], [round(v) for v in item[1]]

        want = sorted(((c, b) for c, b, _ in dets.get(im.stem, [])), key=key)
        have = sorted(((o.name, [o.bbox[0] - 1, o.bbox[1] - 1, o.bbox[2] - o.bbox[0] + 1,
                                 o.bbox[3] - o.bbox[1] + 1]) for o in im.objects), key=key)
        assert [c for c, _ in have] == [c for c, _ in want]
        for (_, a), (_, b) in zip(have, want):
            assert np.allclose(a, b, atol=tol), (a, b)
    extra = {"voc": "labels.txt", "yolo": "data.yaml", "coco": "annotations/instances_train.json"}
    assert (labels / extra[fmt]).is_file()
    assert not list(out.glob(".*.tmp"))


def test_saved_voc_labels_read_by_stats_and_train_one_epoch(ckpt, frames, tmp_path):
    out = tmp_path / "out"
    assert _predict(ckpt, frames, out, "--save-labels", "voc").exit_code == 0
    r = run_synth("stats", out / "labels")
    assert r.exit_code == 0 and "cable" in r.output, r.output
    r = run_pipeline("train", "--data", out / "labels", "--model", "yolov3-tiny", "--img-size",
                     "64", "--epochs", "1", "--workers", "0", "--device", "cpu", "--augment",
                     "none", "--batch-size", "2", "--run-dir", tmp_path / "run")
    assert r.exit_code == 0, r.output
    assert list((tmp_path / "run").rglob("*.pt"))


def test_review_sheet_orders_least_certain_first(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    stems = ["p", "q", "r", "s"]
    for k, stem in enumerate(stems):
        (frames / f"{stem}.png").write_bytes(encode_png(red_box_image(64 + 8 * k, 48, (5, 5, 30, 30))))
    images = [VocImage(s, f"{s}.png", 64 + 8 * k, 48, path=str(frames / f"{s}.png"))
              for k, s in enumerate(stems)]
    # p: 0.9 and 0.4 (lowest 0.4); q: none; r: 0.3; s: 0.95.
    dets = Detections(np.array([0, 0, 2, 3]), np.array([1, 2, 1, 0]),
                      np.array([[5.0, 5, 20, 20], [2, 2, 10, 10], [4, 4, 20, 20], [1, 1, 30, 30]]),
                      np.array([0.9, 0.4, 0.3, 0.95]))
    labelled = prediction_set(images, dets, SHAPES, tmp_path)
    certainty = frame_certainty(len(images), dets)
    assert certainty == [0.4, 1.0, 0.3, 0.95]
    assert [stems[i] for i in review_order(labelled, certainty)] == ["r", "p", "s", "q"]
    sheet_path = write_review(labelled, certainty, tmp_path / "out")
    rows = (tmp_path / "out" / "review.txt").read_text().splitlines()[1:]
    assert [row.split("\t")[0] for row in rows] == ["r", "p", "s", "q"]
    sheet = read_image(sheet_path)
    first = render_tile(labelled, labelled.images[2], 256, caption="r 0.30")
    assert sheet.shape == (256 + CAPTION_H, 4 * 256, 3)
    assert np.abs(sheet[:, :256].astype(int) - first.astype(int)).mean() < 4  # JPEG


def test_review_from_the_cli_and_bad_input(ckpt, frames, tmp_path):
    out = tmp_path / "out"
    r = _predict(ckpt, frames, out, "--review")
    assert r.exit_code == 0, r.output
    assert (out / "review.jpg").is_file() and not (out / "labels").exists()
    lows = {k: min(s for _, _, s in v) for k, v in _detections(out).items()}
    rows = [row.split("\t") for row in (out / "review.txt").read_text().splitlines()[1:]]
    assert [x[0] for x in rows] == sorted(lows, key=lambda k: (lows[k], k))
    # Bad input: one line, exit 2, nothing written.
    bad = tmp_path / "bad"
    r = _predict(ckpt, frames, bad, "--save-labels", "pascal")
    one_error_line(r)
    assert "--save-labels" in r.stderr and not bad.exists()
    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    for _ in range(3):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    r = _predict(ckpt, clip, bad, "--save-labels", "yolo")
    one_error_line(r)
    assert "folder of frames" in r.stderr and not bad.exists()
    # A second --save-labels into the same --out is refused before predicting, the set kept.
    assert _predict(ckpt, frames, out, "--save-labels", "voc").exit_code == 0
    before = (out / "detections.json").stat().st_mtime_ns
    r = _predict(ckpt, frames, out, "--save-labels", "coco")
    one_error_line(r)
    assert "labels" in r.stderr and detect_layout(out / "labels") == "voc"
    assert (out / "detections.json").stat().st_mtime_ns == before
