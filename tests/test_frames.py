"""A labelled set of the team's own frames as backgrounds: its objects stay labelled and no
pasted subject covers them."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from synth.cli import main
from synth.compose import FRAME_OVERLAP, ComposeOptions, compose, overlaps_frame_objects
from synth.generate import GenerateConfig, build_library
from synth.scene import load_scene_bank
from synth.voc import VocObject, read_voc_set
from tests.helpers import write_voc_set


def _frames(root: Path, size=(640, 480), scale: int = 1) -> Path:
    """Three frames of a 'box' class: two with labelled boxes, one empty."""
    W, H = size[0] * scale, size[1] * scale
    rng = np.random.default_rng(0)
    images = []
    objects = {"f0": [(100, 200, 260, 330), (400, 60, 520, 140)], "f1": [(300, 250, 420, 470)],
               "f2": []}
    for stem, boxes in objects.items():
        img = (rng.random((H, W, 3)) * 30 + 110).astype(np.uint8)
        voc = []
        for x0, y0, x1, y1 in boxes:
            b = (x0 * scale + 1, y0 * scale + 1, x1 * scale, y1 * scale)
            img[b[1] - 1:b[3], b[0] - 1:b[2]] = (20, 20, 230)
            voc.append(VocObject("box", b, difficult=(stem == "f1")))
        images.append((stem, img, voc))
    return write_voc_set(root, images, ["box"])


@pytest.mark.parametrize("view", ["topdown", "flat"])
def test_subjects_keep_off_the_frame_objects_which_stay_labelled(grey_pack, tmp_path, view):
    frames = _frames(tmp_path / "frames")
    cfg = GenerateConfig(view=view, out=Path("unused"), assets=[grey_pack["assets"]],
                         backgrounds=frames, classes=grey_pack["classes"])
    lib, bank = build_library(cfg), load_scene_bank(frames)
    assert sorted(p.name for p in bank.photos) == ["frames/f0.jpg", "frames/f1.jpg", "frames/f2.jpg"]
    opts = ComposeOptions(view=view, objects=(3, 4), blend="alpha")
    seen = set()
    for seed in range(20):
        comp = compose(lib, bank, opts, np.random.default_rng(seed), shadows=False)
        seen.add(comp.background)
        expected = {"frames/f0.jpg": [(101, 201, 260, 330), (401, 61, 520, 140)],
                    "frames/f1.jpg": [(301, 251, 420, 470)], "frames/f2.jpg": []}[comp.background]
        assert [tuple(o.bbox) for o in comp.frame_objects] == expected  # same size: unmoved
        assert all(o.difficult == (comp.background == "frames/f1.jpg") for o in comp.frame_objects)
        for p in comp.objects:
            if p.bbox is None:
                continue
            x0, y0, x1, y1 = p.bbox
            for fx0, fy0, fx1, fy1 in expected:
                iw = min(x1, fx1) - max(x0, fx0) + 1
                ih = min(y1, fy1) - max(y0, fy0) + 1
                if iw > 0 and ih > 0:
                    smaller = min((x1 - x0 + 1) * (y1 - y0 + 1), (fx1 - fx0 + 1) * (fy1 - fy0 + 1))
                    assert iw * ih <= FRAME_OVERLAP * smaller + 2 * (iw + ih), (p.bbox, expected)
    assert len(seen) == 3


def test_frames_scaled_to_the_output_move_their_boxes(grey_pack, tmp_path):
    frames = _frames(tmp_path / "frames", scale=2)  # 1280x960 frames into 640x480 images
    cfg = GenerateConfig(view="topdown", out=Path("unused"), assets=[grey_pack["assets"]],
                         backgrounds=frames, classes=grey_pack["classes"])
    lib, bank = build_library(cfg), load_scene_bank(frames)
    opts = ComposeOptions(view="topdown", objects=(1, 1), blend="alpha")
    n = 0
    for seed in range(8):
        comp = compose(lib, bank, opts, np.random.default_rng(seed), shadows=False)
        if comp.background == "frames/f1.jpg":
            assert [tuple(o.bbox) for o in comp.frame_objects] == [(301, 251, 420, 470)]
            n += 1
    assert n


def test_overlap_rule_by_hand():
    frame = [(100.0, 100.0, 200.0, 200.0)]
    assert not overlaps_frame_objects((0, 0, 99, 99), frame)
    assert not overlaps_frame_objects((195, 100, 300, 200), frame)  # 5 x 100 of 10 000: 5%
    assert overlaps_frame_objects((190, 100, 300, 200), frame)      # 10%
    assert overlaps_frame_objects((120, 120, 130, 130), frame)      # all of the small subject


def test_generate_writes_the_frame_objects_into_voc_and_manifest(grey_pack, tmp_path):
    frames = _frames(tmp_path / "frames")
    out = tmp_path / "set"
    r = CliRunner().invoke(main, ["generate", "--view", "topdown", "-n", "6", "--out", str(out),
                                  "--assets", str(grey_pack["assets"]), "--backgrounds",
                                  str(frames), "--classes", str(grey_pack["classes"]),
                                  "--workers", "1"])
    assert r.exit_code == 0, r.output
    voc = read_voc_set(out)
    records = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    n_frame = 0
    for rec in records:
        frame = [o for o in rec["objects"] if o.get("source") == "frame"]
        n_frame += len(frame)
        im = next(i for i in voc.images if i.stem == rec["image"])
        boxes = {tuple(o.bbox) for o in im.objects if o.name == "box"}
        assert {tuple(o["bbox"]) for o in frame} <= boxes
        assert rec["background"].startswith("frames/")
    assert n_frame >= 3


def test_crop_moves_clips_and_drops_boxes_by_hand():
    from synth.scene import crop_objects
    A = np.array([[0.5, 0.0, -10.0], [0.0, 0.5, -20.0]])  # half size, then 10, 20 px cut off
    objs = [VocObject("box", (21, 41, 60, 80)),    # -> continuous (0, 0)-(20, 20): whole
            VocObject("box", (1, 41, 40, 80)),     # -> (-10, 0)-(10, 20): half cut, truncated
            VocObject("box", (1, 1, 16, 30)),      # -> (-10, -20)-(-2, -5): gone
            VocObject("box", (1, 41, 25, 80))]     # -> (-10, 0)-(2.5, 20): 20% left: dropped
    out = crop_objects(objs, A, (100, 100))
    assert [(o.bbox, o.truncated) for o in out] == [((1, 1, 20, 20), False), ((1, 1, 10, 20), True)]
