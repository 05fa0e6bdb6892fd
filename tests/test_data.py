"""Detector data: letterbox geometry, VOC reading and class merging, augmentation by colour oracle,
determinism across workers, EXIF/greyscale/CMYK images and bad input."""
from __future__ import annotations

import io
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

import detector.data.loader as D
from detector.data.augment import AugmentConfig, augment_config, mosaic
from detector.data.letterbox import boxes_from_letterbox, boxes_to_letterbox, letterbox
from detector.data.loader import (BatchSampler, SampleKey, YoloDataset, build_loader, collate,
                                  multi_scale_sizes)
from detector.data.sets import load_classes_file, read_sets, skipped_summary
from synth.errors import InputError
from synth.imageio import encode_jpeg, encode_png, orient_boxes
from synth.voc import VocObject, merge_classes
from tests.helpers import write_voc_set

BG = 100
COLOURS = {"red": (250, 10, 10), "green": (10, 250, 10), "blue": (10, 10, 250),
           "yellow": (250, 250, 10)}
# Geometry only where a test needs it: no colour change, no flip, no affine.
STILL = dict(scale=(1.0, 1.0), translate=0.0, degrees=0.0, shear=0.0, hue=0, saturation=0,
             value=0, brightness=0.0, contrast=0.0, flip=0.0, mosaic=0.0, mixup=0.0)


def voc_box(x0: int, y0: int, x1: int, y1: int) -> tuple[int, int, int, int]:
    """VOC (1-based inclusive) box of 0-based pixel rows/cols [x0, x1) x [y0, y1)."""
    return (x0 + 1, y0 + 1, x1, y1)


def squares_image(w: int, h: int, squares: list[tuple[str, tuple[int, int, int, int]]]
                  ) -> tuple[np.ndarray, list[VocObject]]:
    """Grey image with solid squares [x0, x1) x [y0, y1) of named colours; class = colour."""
    img = np.full((h, w, 3), BG, np.uint8)
    objects = []
    for name, (x0, y0, x1, y1) in squares:
        img[y0:y1, x0:x1] = COLOURS[name]
        objects.append(VocObject(name, voc_box(x0, y0, x1, y1)))
    return img, objects


@pytest.fixture(scope="module")
def squares_set(tmp_path_factory) -> Path:
    """12 PNG images (lossless: exact colours) of various sizes with coloured squares."""
    rng = np.random.default_rng(7)
    root = tmp_path_factory.mktemp("squares")
    items = []
    for i in range(12):
        w, h = [(640, 480), (480, 640), (500, 375), (300, 300)][i % 4]
        squares = []
        for k, name in enumerate(COLOURS):  # one square per colour, in its own band
            sw, sh = rng.integers(18, 70, 2)
            band = w // 4
            x0 = int(k * band + rng.integers(0, max(1, band - sw)))
            y0 = int(rng.integers(0, h - sh))
            squares.append((name, (x0, y0, x0 + int(sw), y0 + int(sh))))
        img, objects = squares_image(w, h, squares)
        items.append((f"im{i:02d}", encode_png(img), objects, (w, h)))
    return write_voc_set(root, items, list(COLOURS), suffix=".png")


def colour_mask(img: np.ndarray, name: str, tol: int = 40) -> np.ndarray:
    """Pixels within `tol` of a pure square colour (blended edge pixels excluded)."""
    return (np.abs(img.astype(int) - COLOURS[name]).max(-1) <= tol)


def hwc(image: torch.Tensor) -> np.ndarray:
    return image.numpy().transpose(1, 2, 0)


# ----------------------------------------------------------------------------- letterbox
@pytest.mark.parametrize("shape,size", [((480, 640), 416), ((640, 480), (320, 256)),
                                        ((333, 500), 416), ((300, 2000), 100),
                                        ((416, 416), 416), ((97, 61), 608)])
def test_letterbox_round_trip_and_geometry(shape, size):
    rng = np.random.default_rng(0)
    h, w = shape
    img = np.zeros((h, w, 3), np.uint8)
    out, scale, (px, py) = letterbox(img, size)
    ow, oh = (size, size) if isinstance(size, int) else size
    assert out.shape == (oh, ow, 3)
    assert scale == pytest.approx(min(ow / w, oh / h))
    assert isinstance(px, int) and isinstance(py, int)
    boxes = np.sort(rng.uniform(0, [w, h, w, h], (50, 4)).reshape(50, 2, 2), axis=1)
    boxes = boxes.transpose(0, 2, 1).reshape(50, 4)[:, [0, 1, 2, 3]]
    back = boxes_from_letterbox(boxes_to_letterbox(boxes, scale, (px, py)), scale, (px, py))
    np.testing.assert_allclose(back, boxes, atol=1e-6)
    # Torch tensors go through the same functions.
    t = torch.as_tensor(boxes)
    np.testing.assert_allclose(boxes_from_letterbox(boxes_to_letterbox(t, scale, (px, py)),
                                                    scale, (px, py)).numpy(), boxes, atol=1e-6)
    # The whole image maps onto the unpadded area, centred.
    full = boxes_to_letterbox(np.array([[0.0, 0, w, h]]), scale, (px, py))[0]
    assert full[0] >= 0 and full[1] >= 0 and full[2] <= ow + 1e-9 and full[3] <= oh + 1e-9
    assert min(full[0], ow - full[2]) >= -1e-9 and abs(full[0] - (ow - full[2])) <= 1
    assert abs(full[1] - (oh - full[3])) <= 1


@pytest.mark.parametrize("shape,size", [((480, 640), 416), ((333, 500), 416),
                                        ((1000, 1500), 100), ((375, 500), 1300),
                                        ((300, 2000), 250)])
def test_letterboxed_box_lands_on_its_pixels(shape, size):
    """A red rectangle's intensity centroid and extent after letterbox match its mapped box."""
    h, w = shape
    img = np.full((h, w, 3), BG, np.uint8)
    x0, y0, x1, y1 = w // 7, h // 5, w // 7 + w // 6, h // 5 + h // 3
    img[y0:y1, x0:x1] = (255, 0, 0)
    out, scale, pad = letterbox(img, size)
    box = boxes_to_letterbox(np.array([x0, y0, x1, y1], float), scale, pad)
    m = (out[..., 0].astype(float) - out[..., 1]) / 255.0  # 1 inside, 0 on grey/padding
    full = np.argwhere(m > 0.5)
    # Sub-pixel: a soft blob's centroid (hard edges alias under bilinear sampling) lands at
    # its mapped centre; a half-pixel convention slip would move it by (1 - scale) / 2.
    blob = cv2.GaussianBlur(img, (0, 0), 4.0 / min(scale, 1.0))
    soft, _, _ = letterbox(blob, size)
    m = (soft[..., 0].astype(float) - soft[..., 1]) / 255.0
    ys, xs = np.mgrid[:out.shape[0], :out.shape[1]]
    area = m.sum()
    assert area == pytest.approx((box[2] - box[0]) * (box[3] - box[1]), rel=0.02, abs=1.0)
    assert (m * (xs + 0.5)).sum() / area == pytest.approx((box[0] + box[2]) / 2, abs=0.03)
    assert (m * (ys + 0.5)).sum() / area == pytest.approx((box[1] + box[3]) / 2, abs=0.03)
    assert abs(full[:, 1].min() - box[0]) <= 1 and abs(full[:, 1].max() + 1 - box[2]) <= 1
    assert abs(full[:, 0].min() - box[1]) <= 1 and abs(full[:, 0].max() + 1 - box[3]) <= 1


def test_letterbox_clip_on_way_back():
    out = boxes_from_letterbox(np.array([[-10.0, 0, 500, 100]]), 0.5, (4, 0), clip_to=(640, 480))
    np.testing.assert_allclose(out, [[0, 0, 640, 200]])


# ----------------------------------------------------------------------------- classes, reading
def test_classes_merge_by_name_order_and_skips(tmp_path, caplog):
    img = encode_jpeg(np.full((60, 80, 3), 90, np.uint8))
    a = write_voc_set(tmp_path / "a", [("x", img, [VocObject("shoe", (1, 1, 10, 10)),
                                               VocObject("sock", (5, 5, 20, 20))], (80, 60))],
                 ["shoe", "sock"])
    b = write_voc_set(tmp_path / "b", [("y", img, [VocObject("cable", (1, 1, 10, 10)),
                                               VocObject("leaf", (2, 2, 9, 9)),
                                               VocObject("leaf", (3, 3, 9, 9)),
                                               VocObject("toy", (3, 3, 9, 9)),
                                               VocObject("sock", (4, 4, 9, 9))], (80, 60))],
                 ["sock", "cable", "leaf", "toy"])
    merged = read_sets([a, b])
    assert merged.classes == ["shoe", "sock", "cable", "leaf", "toy"]
    assert merged.skipped == {} and merged.num_objects == 7
    assert merge_classes([["b", "a"], ["c", "a"], ["b", "d"]]) == ["b", "a", "c", "d"]

    classes_file = tmp_path / "classes.txt"
    classes_file.write_text("# wanted\ncable\n\nshoe\nsock\n")
    with caplog.at_level(logging.WARNING, logger="detector.data.sets"):
        fixed = read_sets([a, b], classes=load_classes_file(classes_file))
    assert fixed.classes == ["cable", "shoe", "sock"]
    assert fixed.skipped == {"leaf": 2, "toy": 1}
    line = "skipped 3 objects of classes not in the list: leaf (2), toy (1)"
    assert fixed.skipped_summary() == line and line in caplog.text
    # Labels are indices into the fixed list, in file order.
    assert fixed.objects(0)[1].tolist() == [1, 2] and fixed.objects(1)[1].tolist() == [0, 2]
    ev = fixed.eval_set()
    assert ev.classes == fixed.classes
    assert [o.name for o in ev.images[1].objects] == ["cable", "sock"]
    assert skipped_summary({"a": 1}) == "skipped 1 object of classes not in the list: a (1)"


def test_classes_file_errors(tmp_path):
    with pytest.raises(InputError, match="no such classes file"):
        load_classes_file(tmp_path / "nope.txt")
    (tmp_path / "dup.txt").write_text("a\nb\na\n")
    with pytest.raises(InputError, match=r"dup\.txt: class names listed twice: a"):
        load_classes_file(tmp_path / "dup.txt")
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    with pytest.raises(InputError, match=r"empty\.txt"):
        load_classes_file(tmp_path / "empty.txt")


def test_default_splits(tmp_path):
    img = encode_jpeg(np.full((40, 40, 3), 90, np.uint8))
    items = [(s, img, [VocObject("a", (1, 1, 9, 9))], (40, 40)) for s in "pqrs"]
    with_splits = write_voc_set(tmp_path / "s", items, ["a"], {"train": ["p", "q", "r"], "val": ["s"]})
    no_splits = write_voc_set(tmp_path / "n", items, ["a"])
    assert list(read_sets([with_splits], role="train").stems) == ["p", "q", "r"]
    assert list(read_sets([with_splits], role="val").stems) == ["s"]
    assert len(read_sets([no_splits], role="val")) == 4
    both = read_sets([with_splits, no_splits])
    assert len(both) == 7 and both.set_index.tolist() == [0, 0, 0, 1, 1, 1, 1]


def test_difficult_objects_carry_ignore_flag_through_collate(tmp_path):
    img, objects = squares_image(200, 100, [("red", (10, 10, 40, 40)), ("blue", (50, 20, 90, 60))])
    objects[1].difficult = True
    root = write_voc_set(tmp_path / "d", [("a", encode_png(img), objects, (200, 100)),
                                     ("b", encode_png(img), objects[:1], (200, 100))],
                    list(COLOURS), suffix=".png")
    data = read_sets([root])
    assert data.ignore.tolist() == [False, True, False]
    ds = YoloDataset(data, 416)
    batch = [ds[0], ds[1]]
    images, targets, infos = collate(batch)
    assert images.shape == (2, 3, 416, 416) and images.dtype == torch.uint8
    assert targets.shape == (3, 7)
    assert targets[:, 0].tolist() == [0, 0, 1]           # batch index
    assert targets[:, 1].tolist() == [0, 2, 0]           # red, blue, red
    assert targets[:, 6].tolist() == [0, 1, 0]           # ignore = difficult
    assert [i["id"] for i in infos] == ["a", "b"]
    as_float = D.images_to_float(images)
    assert as_float.dtype == torch.float32 and as_float.max() <= 1.0
    assert torch.equal((as_float * 255).round().to(torch.uint8), images)


def test_augment_none_gives_exact_letterboxed_boxes(squares_set):
    data = read_sets([squares_set])
    ds = YoloDataset(data, 416, augment_config("none"))
    for i in range(4):
        image, targets, info = ds[i]
        w, h = info["size"]
        s = 416 / max(w, h)
        px, py = (416 - round(w * s)) // 2, (416 - round(h * s)) // 2
        assert info["scale"] == pytest.approx(s) and info["pad"] == (px, py)
        voc = np.array([o.bbox for o in data.eval_images[i].objects], float)
        expected = np.stack([(voc[:, 0] - 1) * s + px, (voc[:, 1] - 1) * s + py,
                             voc[:, 2] * s + px, voc[:, 3] * s + py], 1)
        np.testing.assert_allclose(targets[:, 1:5].numpy(), expected, atol=1e-4)
        # And the pixels are there: each square's pure colour lies inside its box.
        img = hwc(image)
        for (cls, x1, y1, x2, y2, _) in targets.numpy():
            ys, xs = np.nonzero(colour_mask(img, list(COLOURS)[int(cls)]))
            assert xs.min() >= x1 - 1 and xs.max() + 1 <= x2 + 1
            assert ys.min() >= y1 - 1 and ys.max() + 1 <= y2 + 1
        # Mapping back gives the annotation's 0-based boxes.
        back = data.to_annotation(boxes_from_letterbox(targets[:, 1:5].numpy(), info["scale"],
                                                       info["pad"]), i)
        np.testing.assert_allclose(back, voc - [1, 1, 0, 0], atol=1e-3)


def test_flip_moves_boxes_with_pixels(squares_set):
    data = read_sets([squares_set])
    plain = YoloDataset(data, 320, None)
    flipped = YoloDataset(data, 320, AugmentConfig(**{**STILL, "flip": 1.0}))
    for i in range(4):
        _, t0, _ = plain[i]
        image, t1, _ = flipped[i]
        np.testing.assert_allclose(t1[:, 1].numpy(), 320 - t0[:, 3].numpy(), atol=1e-3)
        np.testing.assert_allclose(t1[:, 3].numpy(), 320 - t0[:, 1].numpy(), atol=1e-3)
        np.testing.assert_allclose(t1[:, [2, 4]].numpy(), t0[:, [2, 4]].numpy(), atol=1e-3)
        img = hwc(image)
        for (cls, x1, y1, x2, y2, _) in t1.numpy():
            ys, xs = np.nonzero(colour_mask(img, list(COLOURS)[int(cls)]))
            assert abs(xs.min() - x1) <= 1 and abs(xs.max() + 1 - x2) <= 1


def _check_boxes_cover_squares(img: np.ndarray, targets: np.ndarray, size: int) -> None:
    """Boxes lie in the image and are tight on their colour; every coloured pixel is boxed."""
    boxes = targets[:, 1:5]
    assert (boxes >= -1e-3).all() and (boxes <= size + 1e-3).all()
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    for k, name in enumerate(COLOURS):
        mask = colour_mask(img, name)
        covered = np.zeros_like(mask)
        for x1, y1, x2, y2 in boxes[targets[:, 0] == k]:
            covered[max(0, int(np.floor(y1 - 1.5))):int(np.ceil(y2 + 1.5)),
                    max(0, int(np.floor(x1 - 1.5))):int(np.ceil(x2 + 1.5))] = True
            if x2 - x1 < 4 or y2 - y1 < 4:
                continue
            # Tight: its colour reaches (within 1.5 px) every edge of the box.
            r0, c0 = int(np.floor(y1)), int(np.floor(x1))
            ys, xs = np.nonzero(mask[r0:int(np.ceil(y2)), c0:int(np.ceil(x2))])
            assert len(xs), (name, (x1, y1, x2, y2))
            assert xs.min() + c0 <= x1 + 1.5 and xs.max() + 1 + c0 >= x2 - 1.5
            assert ys.min() + r0 <= y1 + 1.5 and ys.max() + 1 + r0 >= y2 - 1.5
        assert not (mask & ~covered).any(), f"{name} pixels outside every {name} box"


def test_mosaic_boxes_cover_their_objects(squares_set):
    data = read_sets([squares_set])
    cfg = AugmentConfig(**{**STILL, "mosaic": 1.0, "scale": (0.6, 1.4), "translate": 0.1,
                           "flip": 0.5, "min_visibility": 0.0, "min_size": 0.0})
    ds = YoloDataset(data, 416, cfg, seed=3)
    calls = []
    real = D.mosaic
    D.mosaic = lambda *a, **k: calls.append(1) or real(*a, **k)
    try:
        for i in range(8):
            image, targets, _ = ds[i]
            _check_boxes_cover_squares(hwc(image), targets.numpy(), 416)
    finally:
        D.mosaic = real
    assert len(calls) == 8


def test_mosaic_function_clips_to_tiles():
    a = np.full((100, 200, 3), 50, np.uint8)
    boxes = np.array([[0.0, 0, 200, 100], [150, 80, 200, 100], [0, 0, 10, 10]], np.float32)
    canvas, out, rows = mosaic([(a, boxes)] * 4, 200, (100, 150), min_visibility=0.2,
                               min_size=2.0)
    # Tile 0 (top-left) shows the image's right half at canvas [0, 100) x [50, 150).
    assert (canvas[50:150, 0:100] == 50).all() and (canvas[0:50, :] == 114).all()
    tile0 = out[rows[:, 0] == 0]
    np.testing.assert_allclose(tile0[0], [0, 50, 100, 150])      # the full-image box, clipped
    np.testing.assert_allclose(tile0[1], [50, 130, 100, 150])    # wholly visible corner box
    assert rows[rows[:, 0] == 0, 1].tolist() == [0, 1]           # the top-left box is gone
    # Tile 3 (bottom-right) shows the image's top-left 100x50 at [100, 200) x [150, 200).
    tile3 = out[rows[:, 0] == 3]
    np.testing.assert_allclose(tile3, [[100, 150, 200, 200], [100, 150, 110, 160]])


def test_mixup_blends_two_letterboxed_samples(squares_set):
    data = read_sets([squares_set])
    plain = YoloDataset(data, 320, None)
    mixed = YoloDataset(data, 320, AugmentConfig(**{**STILL, "mixup": 1.0}), seed=5)
    references = [plain[j] for j in range(len(plain))]
    for i in range(3):
        image, targets, _ = mixed[i]
        own = references[i][1]
        n = len(own)
        torch.testing.assert_close(targets[:n], own)
        partner = [j for j, (_, t, _) in enumerate(references)
                   if len(t) == len(targets) - n and torch.allclose(t, targets[n:])]
        assert partner, "the appended boxes are no other image's boxes"
        a = references[i][0].double().flatten()
        b = references[partner[0]][0].double().flatten()
        x = image.double().flatten()
        r = float(((x - b) @ (a - b)) / ((a - b) @ (a - b)))
        assert 0.3 < r < 0.7
        assert (x - (r * a + (1 - r) * b)).abs().max() <= 1.0


def test_mosaic_and_mixup_together_stay_inside(squares_set):
    data = read_sets([squares_set])
    cfg = AugmentConfig(mosaic=1.0, mixup=1.0, degrees=5.0, shear=3.0)
    ds = YoloDataset(data, 320, cfg, seed=1)
    for i in range(6):
        image, targets, _ = ds[i]
        assert image.shape == (3, 320, 320)
        b = targets[:, 1:5]
        assert len(b) and (b >= 0).all() and (b <= 320).all()
        assert ((b[:, 2:] - b[:, :2]) >= cfg.min_size - 1e-4).all()


def test_close_at_switches_mosaic_and_mixup_off(squares_set, monkeypatch):
    data = read_sets([squares_set])
    ds = YoloDataset(data, 256, AugmentConfig(mosaic=1.0, mixup=1.0, close_at=2), seed=0)
    calls = {"mosaic": 0, "mixup": 0}
    for name in calls:
        real = getattr(D, name)
        monkeypatch.setattr(D, name, lambda *a, _r=real, _n=name, **k:
                            calls.__setitem__(_n, calls[_n] + 1) or _r(*a, **k))
    ds[SampleKey(0, 1, 256)]
    assert calls == {"mosaic": 2, "mixup": 1}
    ds[SampleKey(0, 2, 256)]
    ds.set_epoch(5)
    ds[0]
    assert calls == {"mosaic": 2, "mixup": 1}


# ----------------------------------------------------------------------------- determinism
def _epoch_batches(ds, workers: int, epoch: int):
    loader = build_loader(ds, batch_size=4, workers=workers, shuffle=True, seed=11,
                          sizes=[256, 320])
    loader.set_epoch(epoch)
    return [(im.clone(), t.clone(), [i["index"] for i in info]) for im, t, info in loader]


def test_same_seed_same_batches_whatever_the_workers(squares_set):
    data = read_sets([squares_set])
    ds = YoloDataset(data, 320, AugmentConfig(mosaic=0.5, mixup=0.3), seed=11)
    one = _epoch_batches(ds, 0, epoch=3)
    two = _epoch_batches(ds, 2, epoch=3)
    assert len(one) == len(two) == 3
    for (i1, t1, x1), (i2, t2, x2) in zip(one, two):
        assert x1 == x2 and i1.shape[-1] in (256, 320)
        assert torch.equal(i1, i2) and torch.equal(t1, t2)
    other = _epoch_batches(ds, 0, epoch=4)
    assert any(a[2] != b[2] or not torch.equal(a[1], b[1]) for a, b in zip(one, other))


def test_batch_sampler_sizes_and_ranks():
    sizes = multi_scale_sizes(416)
    assert sizes[0] == 320 and sizes[-1] == 608 and all(s % 32 == 0 for s in sizes)
    s = BatchSampler(10, 3, shuffle=True, seed=1, sizes=sizes)
    s.set_epoch(2)
    batches = list(s)
    assert len(batches) == len(s) == 4 and sorted(k.index for b in batches for k in b) == \
        list(range(10))
    assert all(len({k.size for k in b}) == 1 and b[0].epoch == 2 for b in batches)
    assert batches == list(s)  # same epoch, same keys
    ranks = [list(BatchSampler(10, 2, seed=1, sizes=sizes, rank=r, world_size=3))
             for r in range(3)]
    assert len({len(r) for r in ranks}) == 1
    assert {k.index for r in ranks for b in r for k in b} == set(range(10))
    assert [b[0].size for b in ranks[0]] == [b[0].size for b in ranks[2]]


def test_cached_images_give_the_same_samples(squares_set):
    data = read_sets([squares_set])
    plain = YoloDataset(data, 256, None)
    cached = YoloDataset(data, 256, None)
    assert cached.cache_images(progress=False) > 0
    for i in range(4):
        a, ta, _ = plain[i]
        b, tb, _ = cached[i]
        torch.testing.assert_close(ta, tb, atol=1e-3, rtol=0)
        assert (a.int() - b.int()).abs().float().mean() < 2.0


def test_box_sizes_are_fractions_of_the_long_side(squares_set):
    data = read_sets([squares_set])
    wh = data.box_sizes()
    first = np.array([o.bbox for o in data.eval_images[0].objects], float)
    np.testing.assert_allclose(wh[:4], (first[:, 2:] - first[:, :2] + 1) / 640, atol=1e-6)


# ----------------------------------------------------------------------------- image kinds
def _pil_bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orient_boxes_matches_pil_exif_transpose(orientation):
    from PIL import ImageOps
    w, h = 40, 24
    arr = np.zeros((h, w), np.uint8)
    arr[3:9, 5:17] = 255  # box (5, 3, 17, 9)
    img = Image.fromarray(arr)
    img.getexif()[0x0112] = orientation  # exif_transpose reads this cached EXIF
    shown = np.asarray(ImageOps.exif_transpose(img))
    ys, xs = np.nonzero(shown)
    box = orient_boxes(np.array([[5.0, 3, 17, 9]]), orientation, w, h)[0]
    assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_exif_rotated_greyscale_and_cmyk_images(tmp_path, caplog):
    # Displayed (after EXIF) 60 wide x 100 high with a red block; stored rotated by 90°.
    shown, objects = squares_image(60, 100, [("red", (10, 60, 30, 90))])
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(shown, k=1)))  # CCW: orientation 6
    exif = stored.getexif()
    exif[0x0112] = 6
    rotated = _pil_bytes(stored, "JPEG", quality=95, exif=exif)
    grey = Image.fromarray(np.full((50, 70), 80, np.uint8))
    grey_png, grey_jpg = _pil_bytes(grey, "PNG"), _pil_bytes(grey, "JPEG")
    cmyk = _pil_bytes(Image.new("CMYK", (70, 50), (0, 255, 255, 0)), "JPEG")
    # "raw": the same file labelled on the stored pixels (LabelImg ignores EXIF).
    raw_objects = [VocObject("red", voc_box(60, 30, 90, 50))]  # block in stored coords
    root = tmp_path / "kinds"
    items = [("rot", rotated, objects, (60, 100)), ("raw", rotated, raw_objects, (100, 60)),
             ("gpng", grey_png, [VocObject("blue", (2, 2, 20, 20))], (70, 50)),
             ("gjpg", grey_jpg, [VocObject("blue", (2, 2, 20, 20))], (70, 50)),
             ("cmyk", cmyk, [VocObject("blue", (2, 2, 20, 20))], (70, 50))]
    write_voc_set(root, items, list(COLOURS))
    (root / "JPEGImages" / "gpng.jpg").rename(root / "JPEGImages" / "gpng.png")
    with caplog.at_level(logging.WARNING, logger="detector.data.sets"):
        data = read_sets([root])
    assert "1 image(s) carry an EXIF rotation" in caplog.text and "raw.jpg" in caplog.text
    at = {str(stem): i for i, stem in enumerate(data.stems)}
    assert data.img_size[[at["rot"], at["raw"]]].tolist() == [[60, 100]] * 2
    assert data.img_size[[at["gpng"], at["gjpg"], at["cmyk"]]].tolist() == [[70, 50]] * 3
    ds = YoloDataset(data, 200, None)
    for i in (at["rot"], at["raw"]):  # both conventions give boxes on the red pixels
        image, targets, info = ds[i]
        img = hwc(image)
        ys, xs = np.nonzero(colour_mask(img, "red", tol=60))
        x1, y1, x2, y2 = targets[0, 1:5].tolist()
        assert abs(xs.min() - x1) <= 1 and abs(xs.max() + 1 - x2) <= 1
        assert abs(ys.min() - y1) <= 1 and abs(ys.max() + 1 - y2) <= 1
    raw_back = data.to_annotation(data.objects(at["raw"])[0], at["raw"])
    np.testing.assert_allclose(raw_back, [[60, 30, 90, 50]], atol=1e-4)
    for stem in ("gpng", "gjpg", "cmyk"):
        image, _, _ = ds[at[stem]]
        assert image.shape == (3, 200, 200)
    grey = hwc(ds[at["gpng"]][0])[100, 100]
    assert grey.tolist() == [80, 80, 80]
    red = hwc(ds[at["cmyk"]][0])[100, 100]  # CMYK (0, 255, 255, 0) is pure red
    assert red[0] > 200 and red[1] < 60 and red[2] < 60


def test_real_size_differs_from_annotation(tmp_path, caplog):
    big, _ = squares_image(200, 100, [("green", (40, 20, 80, 60))])
    small_objects = [VocObject("green", voc_box(20, 10, 40, 30))]  # labelled at half size
    root = write_voc_set(tmp_path / "m", [("a", encode_png(big), small_objects, (100, 50)),
                                     ("b", encode_png(big), small_objects, (100, 50))],
                    list(COLOURS), suffix=".png")
    with caplog.at_level(logging.WARNING, logger="detector.data.sets"):
        data = read_sets([root])
    assert caplog.text.count("differ in size") == 1 and "2 image(s)" in caplog.text
    np.testing.assert_allclose(data.objects(0)[0], [[40, 20, 80, 60]])
    np.testing.assert_allclose(data.to_annotation(data.objects(0)[0], 0), [[20, 10, 40, 30]])
    # Unchecked sets fix it at load time instead.
    unchecked = read_sets([root], check_images=False)
    _, targets, info = YoloDataset(unchecked, 200, None)[0]
    np.testing.assert_allclose(targets[0, 1:5].numpy(), [40, 70, 80, 110], atol=1e-4)


# ----------------------------------------------------------------------------- bad input
def test_bad_input_names_the_file(tmp_path):
    img = encode_jpeg(np.full((40, 40, 3), 90, np.uint8))
    ok = [VocObject("a", (1, 1, 9, 9))]
    root = write_voc_set(tmp_path / "s", [("p", img, ok, (40, 40)), ("q", img, ok, (40, 40))], ["a"])
    with pytest.raises(InputError, match=r"ImageSets/Main/train\.txt: split file not found"):
        read_sets([root], split="train")
    (root / "JPEGImages" / "q.jpg").unlink()
    with pytest.raises(InputError, match=r"q\.jpg: image file missing for annotation q\.xml"):
        read_sets([root])

    bad = write_voc_set(tmp_path / "z", [("z", img, [VocObject("a", (20, 5, 10, 9))], (40, 40))],
                   ["a"])
    with pytest.raises(InputError, match=r"Annotations/z\.xml: object 'a' has an empty box"):
        read_sets([bad])
    unknown = write_voc_set(tmp_path / "u", [("u", img, [VocObject("dog", (1, 1, 9, 9))], (40, 40))],
                       ["a"])
    with pytest.raises(InputError, match=r"u\.xml: class 'dog' is not in .*labels\.txt"):
        read_sets([unknown])
    broken = write_voc_set(tmp_path / "b", [("b", b"not a jpeg", ok, (40, 40))], ["a"])
    with pytest.raises(InputError, match=r"b\.jpg: cannot read image"):
        read_sets([broken])
    # A box that passes the XML check but is degenerate after conversion (unknown <size>).
    inf = write_voc_set(tmp_path / "i", [("i", img, [VocObject("a", (1, 1, 9, 9))], (0, 0))], ["a"])
    xml = inf / "Annotations" / "i.xml"
    xml.write_text(xml.read_text().replace("<xmax>9</xmax>", "<xmax>nan</xmax>"))
    with pytest.raises(InputError, match=r"i\.xml: object 'a' has"):
        read_sets([inf])
    with pytest.raises(InputError, match="no dataset given"):
        read_sets([])


def test_augment_config_names():
    assert augment_config("none") is None
    assert augment_config("default", mosaic=0.0).mosaic == 0.0
    with pytest.raises(ValueError):
        augment_config("heavy")
