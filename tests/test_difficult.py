"""Objects pasted but less than --min-visible visible (hidden behind nearer ones or cut by the
border) are kept as `difficult`: in the XML, the manifest, the COCO layout (iscrowd), left out
of YOLO labels (no such flag), counted by stats and drawn apart by preview."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from synth.cli import main as synth_main
from synth.compose import Placement, label_placements
from synth.generate import GenerateConfig, generate
from synth.layouts import convert, read_dataset
from synth.preview import CAPTION_H, contact_sheet
from synth.stats import dataset_stats
from synth.voc import VocObject, read_voc_set
from tests.helpers import box, one_error_line, write_voc


def _placement(distractor=False):
    return Placement(0, "s", "box", "flat", distractor, np.eye(3), 0.0, None, 0.0, 0.0, None, None)


def test_hidden_and_border_cut_objects_are_difficult_not_dropped():
    sq = lambda n: np.ones((n, n), np.float32)  # noqa: E731
    hidden = _placement()     # 10x10 at (0, 0): 9 of its 10 columns under `near`
    gone = _placement()       # 4x4 at (2, 2): wholly under `near`
    cut = _placement()        # 10x10 at (37, 0): 3 of 10 columns inside the 40 px canvas
    dis = _placement(True)    # a distractor cut as badly: never labelled, never difficult
    near = _placement()       # 9x20 at (0, 0)
    placed = [(hidden, (sq(10), 0, 0, 100)), (gone, (sq(4), 2, 2, 16)),
              (cut, (sq(10), 37, 0, 100)), (dis, (sq(10), 37, 15, 100)),
              (near, (np.ones((20, 9), np.float32), 0, 0, 180))]
    label_placements(placed, 40, 30, min_visible=0.25)
    assert hidden.visible == pytest.approx(0.1) and hidden.bbox == (10, 1, 10, 10)
    assert hidden.difficult and not hidden.labelled
    assert cut.visible == pytest.approx(0.3) and cut.truncated and cut.labelled
    assert not cut.difficult
    label_placements(placed, 40, 30, min_visible=0.5)
    assert cut.difficult and not cut.labelled and cut.bbox == (38, 1, 40, 10)
    assert gone.bbox is None and not gone.difficult and not gone.labelled
    assert not dis.difficult and not dis.labelled
    assert near.labelled and not near.difficult
    assert hidden.record()["difficult"] is True and near.record()["difficult"] is False


def _robot(pack, out, **kw):
    base = dict(view="robot", out=Path(out), n=16, assets=[pack["assets"]],
                backgrounds=pack["backgrounds"], classes=pack["classes"], size=(200, 150),
                objects=(4, 6), distractors=(0, 0), effects=False, workers=1, seed=2)
    base.update(kw)
    return GenerateConfig(**base)


@pytest.fixture(scope="module")
def robot_set(tiny_pack, tmp_path_factory):
    out = tmp_path_factory.mktemp("robot") / "set"
    generate(_robot(tiny_pack, out), progress=False)
    return out


def _records(root):
    return [json.loads(x) for x in (root / "manifest.jsonl").read_text().splitlines()]


def test_robot_view_set_marks_partly_hidden_objects_difficult(robot_set):
    voc = {im.stem: im for im in read_voc_set(robot_set).images}
    n_difficult = 0
    for rec in _records(robot_set):
        boxed = [o for o in rec["objects"] if o["bbox"] is not None]
        for o in boxed:
            assert o["difficult"] == (o["visible"] < 0.25) and o["labelled"] == (not o["difficult"])
        want = [(tuple(o["bbox"]), o["difficult"]) for o in boxed]
        got = [(tuple(int(v) for v in o.bbox), o.difficult) for o in voc[rec["image"]].objects]
        assert got == want  # every pasted object with a box is in the XML, in paste order
        n_difficult += sum(d for _, d in got)
    assert n_difficult >= 3, n_difficult
    xml = (robot_set / "Annotations").glob("*.xml")
    assert sum(p.read_text().count("<difficult>1</difficult>") for p in xml) == n_difficult


def test_min_visible_flag_and_its_range(tiny_pack, robot_set, tmp_path):
    common = ["generate", "--view", "robot", "--assets", tiny_pack["assets"], "--classes",
              tiny_pack["classes"], "--backgrounds", tiny_pack["backgrounds"], "-n", 16,
              "--size", "200x150", "--objects", "4-6", "--distractors", "0-0", "--no-effects",
              "--seed", 2, "--workers", 1]
    r = CliRunner().invoke(synth_main, [str(a) for a in common + ["--out", tmp_path / "h",
                                                                  "--min-visible", 0.6]])
    assert r.exit_code == 0, (r.output, r.stderr)

    def count(root):
        return sum(o.difficult for im in read_voc_set(root).images for o in im.objects)
    assert count(tmp_path / "h") > count(robot_set)
    for bad in ("1.5", "-0.1"):
        r = CliRunner().invoke(synth_main, [str(a) for a in common + ["--out", tmp_path / "b",
                                                                      "--min-visible", bad]])
        assert "--min-visible" in one_error_line(r) and not (tmp_path / "b").exists()


def test_coco_keeps_them_as_crowds_and_yolo_leaves_them_out(robot_set, tmp_path, caplog):
    voc = read_dataset(robot_set)
    n_diff = sum(o.difficult for im in voc.images for o in im.objects)
    n_all = sum(len(im.objects) for im in voc.images)
    convert(robot_set, "coco", tmp_path / "coco")
    coco = read_dataset(tmp_path / "coco")
    assert sum(o.difficult for im in coco.images for o in im.objects) == n_diff
    with caplog.at_level(logging.WARNING):
        convert(robot_set, "yolo", tmp_path / "yolo")
    yolo = read_dataset(tmp_path / "yolo")
    assert sum(len(im.objects) for im in yolo.images) == n_all - n_diff
    assert f"{n_diff} difficult object(s) left out" in caplog.text


def test_stats_count_difficult_apart(robot_set):
    s = dataset_stats(robot_set)["all"]
    n_diff = sum(o.difficult for im in read_voc_set(robot_set).images for o in im.objects)
    assert s["difficult"] == n_diff > 0
    assert sum(c["difficult"] for c in s["per_class"].values()) == n_diff


def test_preview_draws_difficult_grey_with_a_legend(tmp_path):
    from synth.draw import DIFFICULT_COLOUR, class_colour

    objects = [box("shoe", 10, 8, 20, 20), VocObject("shoe", (41, 9, 60, 28), difficult=True)]
    root = write_voc(tmp_path / "v", {"im": (64, 48, objects)}, classes=["shoe"],
                     color=(128, 128, 128))
    sheet = contact_sheet(root, n=1, cols=1, thumb=128)
    # shoe: columns 20 and 59 (scale 2), rows 32..71; the difficult one: column 80 and 119
    assert tuple(sheet[55, 20]) == class_colour(0)
    assert tuple(sheet[55, 80]) == DIFFICULT_COLOUR and tuple(sheet[55, 119]) == DIFFICULT_COLOUR
    assert sheet.shape[0] > 128 + CAPTION_H  # the legend strip below the tiles
    plain = write_voc(tmp_path / "p", {"im": (64, 48, objects[:1])}, classes=["shoe"])
    assert contact_sheet(plain, n=1, cols=1, thumb=128).shape[0] == 128 + CAPTION_H
