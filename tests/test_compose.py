"""The compositor: boxes are tight boxes of visible alpha, occlusion, horizon, blending."""
from __future__ import annotations

import numpy as np
import pytest

from synth.assets import Subject
from synth.catalog import load_catalog
from synth.compose import ComposeOptions, Library, Placement, label_placements, compose
from synth.generate import GenerateConfig, build_library
from synth.scene import load_scene_bank
from tests.helpers import check_boxes_by_colour, segment


def _placement(cls="box", distractor=False):
    return Placement(0, "s", cls, "flat", distractor, np.eye(3), 0.0, None, 0.0, 0.0, None, None)


def testlabel_placements_occlusion_by_hand():
    W, H = 40, 30
    far_hidden = _placement()  # 6x6 at (5, 5), fully under the near square
    far_partly = _placement()  # 10x10 at (25, 5): its left 5 columns hidden
    near = _placement()        # 20x20 at (0, 0)
    truncated = _placement()   # 10x10 at (35, 20): half outside the image
    sq = lambda n: np.ones((n, n), np.float32)  # noqa: E731
    placed = [(far_hidden, (sq(6), 5, 5, 36)), (far_partly, (sq(10), 15, 5, 100)),
              (truncated, (sq(10), 35, 25, 100)), (near, (sq(20), 0, 0, 400))]
    label_placements(placed, W, H, min_visible=0.25)
    assert far_hidden.bbox is None and not far_hidden.labelled and far_hidden.visible == 0
    # far_partly covers columns 15..24, rows 5..14; near covers columns 0..19 -> visible 20..24
    assert far_partly.bbox == (21, 6, 25, 15) and far_partly.visible == pytest.approx(0.5)
    assert far_partly.labelled and not far_partly.truncated
    assert near.bbox == (1, 1, 20, 20) and near.visible == 1.0
    # truncated: columns 35..39 and rows 25..29 lie inside -> 25 of 100 pixels
    assert truncated.bbox == (36, 26, 40, 30) and truncated.truncated
    assert truncated.visible == pytest.approx(0.25) and truncated.labelled


def testlabel_placements_threshold_and_distractors():
    a, b = _placement(), _placement(distractor=True)
    sq = np.ones((10, 10), np.float32)
    label_placements([(a, (sq, 0, 0, 500)), (b, (sq, 20, 0, 100))], 40, 30, min_visible=0.25)
    assert a.visible == pytest.approx(0.2) and not a.labelled and a.bbox is not None
    assert b.visible == 1.0 and not b.labelled  # distractors are never labelled


@pytest.fixture(scope="module")
def grey_scene(grey_pack):
    cfg = GenerateConfig(view="topdown", out=grey_pack["assets"], assets=[grey_pack["assets"]],
                         backgrounds=grey_pack["backgrounds"], classes=grey_pack["classes"])
    return build_library(cfg), load_scene_bank(grey_pack["backgrounds"])


@pytest.mark.parametrize("view", ["topdown", "robot", "human", "flat"])
def test_boxes_are_tight_boxes_of_visible_alpha(grey_scene, view):
    lib, bank = grey_scene
    opts = ComposeOptions(view=view, objects=(2, 4), distractors=(0, 1), blend="alpha")
    comps = [compose(lib, bank, opts, np.random.default_rng(seed), shadows=False)
             for seed in range(25)]
    checked, tight = check_boxes_by_colour(lib, comps)
    assert checked >= 20 and tight >= 0.8 * checked


def test_nothing_stands_above_the_horizon(tiny_pack):
    cfg = GenerateConfig(view="robot", out=tiny_pack["assets"], assets=[tiny_pack["assets"]],
                         backgrounds=tiny_pack["backgrounds"], classes=tiny_pack["classes"])
    lib, bank = build_library(cfg), load_scene_bank(tiny_pack["backgrounds"])
    opts = ComposeOptions(view="robot", objects=(3, 4), distractors=(1, 2))
    n = 0
    for seed in range(30):
        comp = compose(lib, bank, opts, np.random.default_rng(seed))
        horizon = comp.camera.horizon_row()
        for p in comp.objects:
            if p.bbox is None or p.visible < 0.999:
                continue  # an occluded object's visible box may end above its contact point
            # VOC ymax is 1-based: the lowest object row is ymax - 1 (0-based)
            assert p.bbox[3] - 1 > horizon
            if p.pose == "flat":
                assert p.bbox[1] - 1 > horizon
            n += 1
    assert n > 40


def test_upright_subjects_stay_within_roll_bounds(grey_pack):
    import cv2
    import math
    cfg = GenerateConfig(view="robot", out=grey_pack["assets"], assets=[grey_pack["assets"]],
                         backgrounds=grey_pack["backgrounds"], classes=grey_pack["classes"],
                         only=["pole"])
    lib, bank = build_library(cfg), load_scene_bank(grey_pack["backgrounds"])
    opts = ComposeOptions(view="robot", objects=(1, 1), distractors=(0, 0), blend="alpha",
                          pitch_deg=5.0)
    measured = []
    for seed in range(60):
        comp = compose(lib, bank, opts, np.random.default_rng(seed), shadows=False)
        p = comp.objects[0] if comp.objects else None
        if p is None or not p.labelled:
            continue
        # only subjects near the image's centre column: perspective keeps their verticals vertical
        cx = 0.5 * (p.bbox[0] + p.bbox[2])
        if abs(cx - comp.camera.width / 2) > 80:
            continue
        colour = tuple(int(v) for v in lib.subjects[p.subject].rgba[0, 0, :3])
        mask = segment(comp.rgb)[colour].astype(np.float32)
        m = cv2.moments(mask)
        angle = 0.5 * math.degrees(math.atan2(2 * m["mu11"], m["mu20"] - m["mu02"]))
        measured.append(90.0 - abs(angle))
    assert len(measured) >= 3
    # roll is bounded by the catalog (3 deg); yaw and the tiny pitch add well under 1.5 deg
    assert max(measured) <= 3.0 + 1.5


def test_transparent_pixels_never_bleed(tmp_path):
    # A white subject whose fully transparent pixels hold pure red: a warp of straight
    # (non-premultiplied) alpha would leave a red fringe; premultiplied warping cannot.
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[16:48, 16:48] = 255
    catalog_file = tmp_path / "c.yaml"
    catalog_file.write_text("classes:\n  box: {size_m: [0.2, 0.3], pose: flat}\n")
    lib = Library([Subject("box", "red-fringe", rgba, "x", None)], load_catalog(catalog_file))
    bank_dir = tmp_path / "bg" / "floors"
    bank_dir.mkdir(parents=True)
    from synth.imageio import encode_png
    (bank_dir / "grey.png").write_bytes(encode_png(np.full((64, 64, 3), 100, np.uint8)))
    bank = load_scene_bank(tmp_path / "bg")
    for view in ("topdown", "robot", "flat"):
        for blend in ("alpha", "feather"):
            opts = ComposeOptions(view=view, objects=(3, 3), blend=blend)
            comp = compose(lib, bank, opts, np.random.default_rng(1), shadows=False)
            x = comp.rgb.astype(int)
            red_excess = x[..., 0] - np.maximum(x[..., 1], x[..., 2])
            assert red_excess.max() <= 12, (view, blend)


def test_every_blend_mode_pastes(tiny_pack):
    cfg = GenerateConfig(view="topdown", out=tiny_pack["assets"], assets=[tiny_pack["assets"]],
                         backgrounds=tiny_pack["backgrounds"], classes=tiny_pack["classes"])
    lib, bank = build_library(cfg), load_scene_bank(tiny_pack["backgrounds"])
    images = {}
    for blend in ("alpha", "feather", "poisson"):
        comp = compose(lib, bank, ComposeOptions(view="topdown", blend=blend),
                       np.random.default_rng(7), shadows=False)
        assert comp.objects and all(p.blend == blend for p in comp.objects)
        images[blend] = comp.rgb.astype(int)
    # same placements (same seed), different blending
    assert np.abs(images["alpha"] - images["feather"]).max() > 0
    assert np.abs(images["alpha"] - images["poisson"]).mean() > 0.1
    mixed = compose(lib, bank, ComposeOptions(view="topdown", blend="random", objects=(4, 4)),
                    np.random.default_rng(3))
    assert {p.blend for p in mixed.objects} <= {"alpha", "feather", "poisson"}


def test_a_turned_side_view_leans_along_the_line_of_sight(tmp_path):
    # Its unrolled down axis lies in the vertical plane through the camera and its contact
    # point, so the object's verticals stand upright however far round it is turned. The
    # demo pack has views shot from above and below, with azimuths.
    from synth.catalog import TOP_VIEW_DEG
    cfg = GenerateConfig(view="robot", out=tmp_path)
    lib, bank = build_library(cfg), load_scene_bank(cfg.backgrounds)
    opts = ComposeOptions(view="robot", objects=(3, 4), distractors=(1, 2))
    checked = turned = 0
    for seed in range(30):
        comp = compose(lib, bank, opts, np.random.default_rng(seed), shadows=False)
        for p in comp.objects:
            if p.plane is None or p.capture_elev_deg >= TOP_VIEW_DEG:
                continue
            h, w = lib.subjects[p.subject].rgba.shape[:2]
            anchor = p.plane @ np.array([(w - 1) / 2.0, h - 0.5, 1.0])
            b = anchor[:2] - comp.camera.centre[:2]
            across = np.array([b[1], -b[0], 0.0]) / np.hypot(*b)
            r = np.radians(p.roll_deg)
            e_u = p.plane[:3, 0] * (-1.0 if p.mirrored else 1.0)
            e_v = p.plane[:3, 1]
            down = np.cos(r) * e_v - np.sin(r) * e_u  # the roll undone
            right = np.cos(r) * e_u + np.sin(r) * e_v
            assert down @ across == pytest.approx(0.0, abs=1e-9 * np.linalg.norm(down))
            checked += 1
            leans = abs(down[2]) < 0.99 * np.linalg.norm(down)
            turned += leans and abs(right @ across) < 0.99 * np.linalg.norm(right)
    assert checked >= 20 and turned >= 5
