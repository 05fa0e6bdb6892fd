"""detector.predict and `pipeline predict`: NMS, box geometry back to the original pixels,
folders, videos, a VOC set, `evaluate --model`, and bad input (one line, exit 2)."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from detector import build_model
from detector.evaluation.detections import read_detections
from detector.data.letterbox import boxes_from_letterbox, letterbox
from detector.predict import (Frame, Source, non_max_suppression, predict_batch,
                              predict_voc_set, run_predict, Predictor)
from synth.errors import InputError
from synth.imageio import encode_jpeg, read_image
from synth.voc import VocImage, VocObject, read_voc_set, write_annotation, write_labels
from tests.helpers import (IMG_SIZE, SHAPES as CLASSES, bright_box_set, make_checkpoint,
                           one_error_line, red_box_image, run_pipeline)

# ----------------------------------------------------------------------------- NMS
def _pred(rows):
    """[1, N, 5 + 2] from (x1, y1, x2, y2, obj, p0, p1) rows."""
    return torch.tensor([rows], dtype=torch.float32)


def test_nms_suppresses_same_class_overlaps_and_keeps_other_classes():
    pred = _pred([
        (0, 0, 10, 10, 0.9, 1.0, 0.0),      # A: class 0, score 0.9
        (1, 1, 11, 11, 0.8, 1.0, 0.0),      # B: IoU(A) = 81/119 = 0.68 → suppressed by A
        (1, 1, 11, 11, 0.7, 0.0, 1.0),      # C: same place as B but class 1 → kept
        (20, 20, 30, 30, 0.6, 1.0, 0.0),    # D: class 0, no overlap → kept
        (40, 40, 50, 50, 0.9, 0.1, 0.1),    # E: score 0.09 < conf → dropped
    ])
    (det,) = non_max_suppression(pred, conf=0.25, iou=0.45)
    got = [(r[:4].tolist(), round(float(r[4]), 4), int(r[5])) for r in det]
    assert got == [([0, 0, 10, 10], 0.9, 0), ([1, 1, 11, 11], 0.7, 1), ([20, 20, 30, 30], 0.6, 0)]
    # A looser IoU threshold (0.7 > 0.68) keeps B.
    (det,) = non_max_suppression(pred, conf=0.25, iou=0.7)
    assert len(det) == 4


def test_nms_multi_label_reports_a_box_once_per_class_above_conf():
    pred = _pred([(0, 0, 10, 10, 1.0, 0.9, 0.6)])
    (best,) = non_max_suppression(pred, conf=0.5)
    (multi,) = non_max_suppression(pred, conf=0.5, multi_label=True)
    assert best[:, 5].tolist() == [0]
    assert sorted(multi[:, 5].tolist()) == [0, 1]
    assert sorted(multi[:, 4].tolist()) == pytest.approx([0.6, 0.9])


def test_nms_max_det_and_empty():
    rows = [(30 * i, 0, 30 * i + 10, 10, 0.5 + i / 100, 1.0, 0.0) for i in range(10)]
    (det,) = non_max_suppression(_pred(rows), conf=0.1, max_det=3)
    assert det[:, 4].tolist() == pytest.approx([0.59, 0.58, 0.57])   # the 3 best, in order
    (none,) = non_max_suppression(_pred(rows), conf=0.99)
    assert none.shape == (0, 6)
    for multi in (False, True):
        (none,) = non_max_suppression(torch.zeros(1, 0, 7), multi_label=multi)
        assert none.shape == (0, 6)


# ----------------------------------------------------------------------------- geometry
class BrightBoxModel:
    """A stand-in network: reports the box of the input's bright-red pixels, class 1."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(len(x), 1, 5 + 3)
        for b, im in enumerate(x):
            mask = (im[0] > 0.8) & (im[1] < 0.2)
            ys, xs = torch.nonzero(mask, as_tuple=True)
            out[b, 0, :4] = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
            out[b, 0, 4], out[b, 0, 6] = 1.0, 1.0
        return out


@pytest.mark.parametrize("w,h,box", [(200, 120, (30, 50, 110, 90)),
                                     (90, 160, (10, 100, 40, 150)),
                                     (640, 200, (500, 10, 620, 190))])
def test_letterbox_inverse_puts_the_box_back_on_the_original_pixels(w, h, box):
    img = red_box_image(w, h, box)
    boxed, scale, pad = letterbox(img, IMG_SIZE)
    assert boxed.shape == (IMG_SIZE, IMG_SIZE, 3)
    ys, xs = np.nonzero((boxed[..., 0] > 200) & (boxed[..., 1] < 50))
    found = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float64)
    back = boxes_from_letterbox(found, scale, pad, clip_to=(w, h))
    assert back == pytest.approx(box, abs=1.0 / scale + 0.5)   # one input pixel
    # The whole inference path (letterbox → model → NMS → inverse) agrees.
    (p,) = predict_batch(BrightBoxModel(), [img], img_size=IMG_SIZE)
    assert p.classes.tolist() == [1]
    assert p.boxes[0] == pytest.approx(box, abs=1.0 / scale + 0.5)


def test_predict_batch_restores_train_mode_and_handles_mixed_sizes():
    model = build_model("yolov3-tiny", 3).train()
    imgs = [np.zeros((60, 100, 3), np.uint8), np.zeros((90, 40, 3), np.uint8)]
    preds = predict_batch(model, imgs, img_size=64, conf=0.001)
    assert model.training  # put back as it was
    for p, im in zip(preds, imgs):
        assert len(p.boxes) > 0
        assert (p.boxes[:, [0, 2]] >= 0).all() and (p.boxes[:, [0, 2]] <= im.shape[1]).all()
        assert (p.boxes[:, [1, 3]] >= 0).all() and (p.boxes[:, [1, 3]] <= im.shape[0]).all()


# ----------------------------------------------------------------------------- a VOC set
@pytest.mark.parametrize("ann_scale", [1, 2])
def test_predict_voc_set_gives_boxes_in_annotation_pixels(tmp_path, ann_scale):
    voc = read_voc_set(bright_box_set(tmp_path / "voc", ann_scale))
    dets = predict_voc_set(BrightBoxModel(), voc, img_size=IMG_SIZE, batch_size=1,
                           progress=False)
    assert dets.image.tolist() == [0, 1] and dets.cls.tolist() == [1, 1]
    for k, im in enumerate(voc.images):
        x1, y1, x2, y2 = im.objects[0].bbox
        gt_xywh = [x1 - 1, y1 - 1, x2 - x1 + 1, y2 - y1 + 1]
        assert dets.boxes[k] == pytest.approx(gt_xywh, abs=2.0 * ann_scale)
    from detector.evaluation.evaluate import evaluate

    assert evaluate(voc, dets).map50 == pytest.approx(1.0)


def test_predict_voc_set_undoes_exif_for_sets_labelled_on_stored_pixels(tmp_path):
    """An EXIF-rotated JPEG whose <size> is the stored one (LabelImg): the model sees the
    displayed pixels, the detection must come back in the stored ones (detector.data's rule)."""
    from PIL import Image

    root = tmp_path / "voc"
    write_labels(root, CLASSES)
    (root / "JPEGImages").mkdir(parents=True)
    stored_box = (30, 50, 110, 90)
    exif = Image.Exif()
    exif[0x0112] = 6   # display = stored rotated 90° clockwise
    Image.fromarray(red_box_image(200, 120, stored_box)).save(
        root / "JPEGImages" / "r.jpg", quality=98, exif=exif)
    assert read_image(root / "JPEGImages" / "r.jpg").shape == (200, 120, 3)
    x1, y1, x2, y2 = stored_box
    write_annotation(root / "Annotations" / "r.xml",
                     VocImage("r", "r.jpg", 200, 120, 3, [VocObject("sock", (x1 + 1, y1 + 1,
                                                                              x2, y2))]))
    voc = read_voc_set(root)
    dets = predict_voc_set(BrightBoxModel(), voc, img_size=IMG_SIZE, progress=False)
    assert dets.boxes[0] == pytest.approx([x1, y1, x2 - x1, y2 - y1], abs=3.0)


def test_predict_voc_set_matches_classes_by_name(tmp_path):
    voc = read_voc_set(bright_box_set(tmp_path / "voc"))
    # The model's class 1 is "cable" in its own list: it must come out as the set's "cable".
    dets = predict_voc_set(BrightBoxModel(), voc, img_size=IMG_SIZE, progress=False,
                           classes=["sock", "cable", "rug"])
    assert [voc.classes[c] for c in dets.cls] == ["cable", "cable"]


# ----------------------------------------------------------------------------- CLI predict
@pytest.fixture(scope="module")
def firing_ckpt(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "fire.pt", fire=2)


def test_predict_folder_writes_annotated_images_and_valid_detections(tmp_path, firing_ckpt):
    voc_root = bright_box_set(tmp_path / "voc")
    out = tmp_path / "out"
    r = run_pipeline("predict", "--model", str(firing_ckpt), str(voc_root / "JPEGImages"),
               "--out", str(out), "--conf", "0.5", "--device", "cpu")
    assert r.exit_code == 0, r.stderr
    for stem in ("a", "b"):
        src = read_image(voc_root / "JPEGImages" / f"{stem}.png")
        drawn = read_image(out / f"{stem}.png")
        assert drawn.shape == src.shape and (drawn != src).any()  # boxes were drawn
    voc = read_voc_set(voc_root)
    dets = read_detections(out / "detections.json", voc)
    assert len(dets) > 0 and set(dets.image.tolist()) == {0, 1}
    assert set(voc.classes[c] for c in dets.cls) == {"cable"}      # the class set to fire
    assert (dets.score > 0.99).all()
    for k, im in enumerate(voc.images):   # inside the image
        b = dets.boxes[dets.image == k]
        assert (b[:, 0] + b[:, 2] <= im.width + 1e-3).all()
        assert (b[:, 1] + b[:, 3] <= im.height + 1e-3).all()
    assert not list(out.glob(".*.tmp"))


def _write_video(path: Path, n: int, size=(96, 64), fps=10.0) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    rng = np.random.default_rng(0)
    for _ in range(n):
        writer.write(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    writer.release()


def _count_frames(path: Path) -> tuple[int, tuple[int, int]]:
    cap = cv2.VideoCapture(str(path))
    n, shape = 0, None
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        n, shape = n + 1, frame.shape[:2]
    cap.release()
    return n, shape


def test_predict_video_writes_a_video_with_the_same_frames(tmp_path, firing_ckpt):
    clip = tmp_path / "clip.mp4"
    _write_video(clip, 12)
    out = tmp_path / "out"
    r = run_pipeline("predict", "--model", str(firing_ckpt), str(clip), "--out", str(out),
               "--conf", "0.5", "--benchmark", "--warmup", "2")
    assert r.exit_code == 0, r.stderr
    assert _count_frames(out / "clip.mp4") == (12, (64, 96))
    ids = {d["image_id"] for d in json.loads((out / "detections.json").read_text())}
    assert ids == {f"clip_{i:06d}" for i in range(12)}
    for stage in ("decode", "preprocess", "model", "nms", "draw", "FPS"):
        assert stage in r.output
    assert "10 frames after 2 warm-up" in r.output
    assert sorted(p.name for p in out.iterdir()) == ["clip.mp4", "detections.json"]


def test_max_frames_and_ctrl_c_keep_a_complete_video(tmp_path, firing_ckpt):
    clip = tmp_path / "clip.mp4"
    _write_video(clip, 8)
    r = run_pipeline("predict", "--model", str(firing_ckpt), str(clip), "--out", str(tmp_path / "o"),
               "--max-frames", "3")
    assert r.exit_code == 0, r.stderr
    assert _count_frames(tmp_path / "o" / "clip.mp4")[0] == 3

    def frames():  # a camera stream the user stops after 4 frames
        for i in range(4):
            yield Frame(f"cam_{i:06d}", np.zeros((48, 64, 3), np.uint8), f"cam_{i:06d}")
        raise KeyboardInterrupt

    from detector.predict import load_predictor

    pred = load_predictor(firing_ckpt, "cpu")
    run = run_predict(pred, Source("camera", "cam", frames(), fps=5.0), tmp_path / "cam",
                      progress=False)
    assert run.interrupted and run.frames == 4
    assert _count_frames(tmp_path / "cam" / "cam.mp4") == (4, (48, 64))
    assert len(json.loads((tmp_path / "cam" / "detections.json").read_text())) > 0
    assert sorted(p.name for p in (tmp_path / "cam").iterdir()) == ["cam.mp4", "detections.json"]

    def broken():  # a stream that fails: no video, no detections file, no temp files
        yield Frame("x_000000", np.zeros((48, 64, 3), np.uint8), "x_000000")
        raise InputError("clip.mp4: frame 1 is corrupt")

    with pytest.raises(InputError):
        run_predict(pred, Source("video", "x", broken(), fps=5.0), tmp_path / "x",
                    progress=False)
    assert list((tmp_path / "x").iterdir()) == []


# ----------------------------------------------------------------------------- evaluate --model
def test_evaluate_model_runs_end_to_end(tmp_path, firing_ckpt):
    voc_root = bright_box_set(tmp_path / "voc")
    ckpt = make_checkpoint(tmp_path / "plain.pt")
    out = tmp_path / "rep"
    r = run_pipeline("evaluate", "--data", str(voc_root), "--model", str(ckpt), "--out", str(out))
    assert r.exit_code == 0, r.stderr
    report = json.loads((out / "report.json").read_text())
    assert 0.0 <= report["map50"] <= 1.0 and len(report["coco_stats"]) == 12
    assert set(report["per_class"]) >= {"sock"}
    dets = read_detections(out / "detections.json", read_voc_set(voc_root))
    assert len(dets) > 0 and dets.score.min() >= 0.001   # the low-confidence run


# ----------------------------------------------------------------------------- bad input
def test_bad_input_is_one_line_and_exit_2(tmp_path, firing_ckpt):
    img = tmp_path / "ok.jpg"
    img.write_bytes(encode_jpeg(np.zeros((32, 48, 3), np.uint8)))
    bad_ckpt = tmp_path / "bad.pt"
    bad_ckpt.write_bytes(b"not a checkpoint at all")
    bad_img = tmp_path / "bad.jpg"
    bad_img.write_bytes(b"\xff\xd8 garbage")
    bad_video = tmp_path / "bad.mp4"
    bad_video.write_bytes(b"garbage" * 10)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    out = tmp_path / "out"
    m = str(firing_ckpt)
    cases = {
        "checkpoint not found": ("--model", str(tmp_path / "missing.pt"), str(img)),
        "not a readable checkpoint": ("--model", str(bad_ckpt), str(img)),
        "cannot read image": ("--model", m, str(bad_img)),
        "no images in the folder": ("--model", m, str(empty)),
        "cannot open the video": ("--model", m, str(bad_video)),
        "no such file": ("--model", m, str(tmp_path / "nothing.jpg")),
        "multiple of 32": ("--model", m, "--img-size", "100", str(img)),
        "exactly one of": (str(img),),
        "wants a .onnx": ("--onnx", m, str(img)),
    }
    for expected, args in cases.items():
        line = one_error_line(run_pipeline("predict", *args, "--out", str(out)))
        assert expected in line, (expected, line)
        assert not out.exists(), expected   # nothing half-written
    # A folder with one corrupt image fails before writing anything.
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.jpg").write_bytes(img.read_bytes())
    (mixed / "b.jpg").write_bytes(bad_img.read_bytes())
    assert "b.jpg" in one_error_line(run_pipeline("predict", "--model", m, str(mixed), "--out",
                                            str(out)))
    assert not out.exists()
    # evaluate --model with a checkpoint that is not one
    voc_root = bright_box_set(tmp_path / "voc")
    line = one_error_line(run_pipeline("evaluate", "--data", str(voc_root), "--model", str(bad_ckpt),
                                 "--out", str(out)))
    assert "bad.pt" in line and not out.exists()


def test_model_with_no_class_of_the_set_is_an_input_error(tmp_path):
    voc_root = bright_box_set(tmp_path / "voc")
    ckpt = make_checkpoint(tmp_path / "other.pt", classes=["rug", "fan"])
    line = one_error_line(run_pipeline("evaluate", "--data", str(voc_root), "--model", str(ckpt),
                                 "--out", str(tmp_path / "rep")))
    assert "none of the model's classes" in line


def test_predictor_dataclass_is_accepted_by_predict_voc_set(tmp_path):
    voc = read_voc_set(bright_box_set(tmp_path / "voc"))
    p = Predictor(BrightBoxModel(), ["shoe", "sock", "cable"], IMG_SIZE, "fake", "pytorch")
    dets = predict_voc_set(p, voc, progress=False)
    assert [voc.classes[c] for c in dets.cls] == ["sock", "sock"]


@pytest.mark.parametrize("flag,value,problem", [
    ("--img-size", "3200000000000", "--img-size 3200000000000: must be a positive multiple of "
                                    "32, at most 8192"),
    ("--threads", "1000000000", "--threads 1000000000: at most 1024"),
])
def test_huge_flags_are_one_line_and_exit_2(tmp_path, firing_ckpt, flag, value, problem):
    """A huge --img-size ended in numpy's 'array is too big'; --threads 1000000000 made
    libgomp abort the whole process trying to allocate 216 GB."""
    img = tmp_path / "ok.jpg"
    img.write_bytes(encode_jpeg(np.zeros((32, 48, 3), np.uint8)))
    out = tmp_path / "out"
    line = one_error_line(run_pipeline("predict", "--model", firing_ckpt, img, flag, value,
                                       "--out", out, "--device", "cpu"))
    assert line == f"error: {problem}", line
    assert not out.exists()
