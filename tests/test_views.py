"""Views: the nearest capture elevation and azimuth are used, coverage warnings, manifest."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from synth.assets import Subject
from synth.catalog import ClassSpec, load_catalog
from synth.cli import main
from synth.compose import ComposeOptions, Library, compose, seen_elevations
from synth.generate import GenerateConfig, build_library, check_coverage
from synth.imageio import encode_png
from synth.scene import load_scene_bank
from synth.views import (MAX_TURN_DEG, choose_view, class_seen, coverage_gaps, index_views,
                         middle_elevation)
from tests.helpers import make_pack

SHOE = ClassSpec("shoe", (0.2, 0.3), "flat", (-180.0, 180.0), (0.0, 0.0), mirror=True)
SCALE = ClassSpec("scale", (0.2, 0.3), "flat", (-180.0, 180.0), (0.0, 0.0), mirror=False)


def _subject(obj: str, elev: float | None, az: float | None = None, cls: str = "shoe",
             pose: str | None = None, px: int = 40) -> Subject:
    rgba = np.zeros((px // 2, px, 4), np.uint8)
    rgba[..., 3] = 255
    name = f"{obj} [elev={elev} az={az}]"
    return Subject(cls, name, rgba, "mem", pose=pose, elev_deg=elev, az_deg=az, object=obj)


def _views(subjects, spec=SHOE):
    return index_views(subjects, {spec.name: spec})[spec.name]


@pytest.mark.parametrize("seen, expected", [(3.0, 0.0), (10.0, 15.0), (28.0, 15.0),
                                            (33.0, 45.0), (60.0, 45.0), (70.0, 90.0),
                                            (89.0, 90.0)])
def test_the_nearest_capture_elevation_is_used(seen, expected):
    cv = _views([_subject("a", e) for e in (90.0, 45.0, 15.0, 0.0)])
    rng = np.random.default_rng(0)
    got = {choose_view(cv, SHOE, seen, rng).capture_elev_deg for _ in range(20)}
    assert got == {expected}


def test_near_ties_are_drawn_at_random_and_objects_without_a_near_view_are_skipped():
    # object a has 90 and 20; object b has 90 and 24; object c only 90
    cv = _views([_subject("a", 90.0), _subject("a", 20.0), _subject("b", 90.0),
                 _subject("b", 24.0), _subject("c", 90.0)])
    rng = np.random.default_rng(1)
    picks = Counter((cv.objects[cv.object_of[ch.view]], ch.capture_elev_deg)
                    for ch in (choose_view(cv, SHOE, 21.0, rng) for _ in range(400)))
    assert set(picks) == {("a", 20.0), ("b", 24.0)}  # 24 is within 5° of the nearest (20)
    assert min(picks.values()) > 150
    # the naive paste (no elevation) takes any view of any object
    naive = {(cv.objects[cv.object_of[ch.view]]) for ch in
             (choose_view(cv, SHOE, None, rng) for _ in range(200))}
    assert naive == {"a", "b", "c"}


def test_the_nearest_azimuth_is_used_and_mirrors_stand_in_for_the_other_side():
    cv = _views([_subject("a", 90.0)] + [_subject("a", 15.0, az) for az in (0.0, 90.0, 180.0)])
    rng = np.random.default_rng(2)
    left = 0
    for _ in range(300):
        ch = choose_view(cv, SHOE, 12.0, rng)
        assert ch.capture_elev_deg == 15.0
        gap = abs((ch.view_az_deg - ch.capture_az_deg + 180) % 360 - 180)
        assert gap <= 45.0 + 1e-9 and abs(ch.turn_deg) == pytest.approx(gap)
        # an object turned counter-clockwise by yaw shows the camera its side at azimuth yaw
        assert ch.view_az_deg == pytest.approx(ch.yaw_deg)
        if ch.mirrored:  # a mirrored right side is the left side (front and back stay)
            assert ch.capture_az_deg == {0.0: 0.0, 90.0: -90.0, 180.0: 180.0}[cv.az_deg[ch.view]]
            left += ch.capture_az_deg == -90.0
    assert left > 40  # a quarter of the turns face the left side
    # a class that may not be mirrored never is, and its unphotographed side (270) is avoided
    cv2_ = _views([_subject("s", 15.0, az, cls="scale") for az in (0.0, 90.0, 180.0)], SCALE)
    seen = [choose_view(cv2_, SCALE, 15.0, rng) for _ in range(300)]
    assert not any(ch.mirrored for ch in seen)
    assert all(abs(ch.turn_deg) <= MAX_TURN_DEG for ch in seen)
    assert not any(-135.0 + 1e-9 < ch.view_az_deg < -45.0 - 1e-9 for ch in seen)


def test_views_without_azimuth_turn_within_the_side_view_range():
    cv = _views([_subject("a", 15.0), _subject("a", 90.0)])
    rng = np.random.default_rng(3)
    side = [choose_view(cv, SHOE, 10.0, rng) for _ in range(200)]
    assert all(abs(ch.turn_deg) <= 30.0 for ch in side)  # a side view is not turned around
    top = [choose_view(cv, SHOE, 80.0, rng) for _ in range(200)]
    assert max(abs(ch.turn_deg) for ch in top) > 150  # from above it turns freely


def test_object_scale_is_shared_by_its_views():
    # two views of one object: the 40 px-wide one and an 80 px-wide one; the size refers to 80
    cv = _views([_subject("a", 90.0, px=40), _subject("a", 0.0, px=80), _subject("b", 90.0, px=60)])
    assert cv.ref_px == [80, 60]


def _write_views_pack(root: Path) -> dict[str, Path]:
    """The tiny pack plus side views of `box` in an elev folder."""
    pack = make_pack(root, floor_value=128)
    side = np.zeros((30, 80, 4), np.uint8)
    side[..., :3] = (230, 20, 20)
    side[..., 3] = 255
    for e in (0, 15, 45):
        d = pack["assets"] / "box" / f"elev_{e}"
        d.mkdir(parents=True)
        (d / "box0.png").write_bytes(encode_png(side))
    return pack


@pytest.fixture(scope="module")
def views_pack(tmp_path_factory):
    return _write_views_pack(tmp_path_factory.mktemp("views"))


def test_coverage_warns_for_top_down_only_classes_and_not_when_side_views_exist(
        tiny_pack, views_pack, caplog):
    old = GenerateConfig(view="robot", out=Path("unused"), assets=[tiny_pack["assets"]],
                         backgrounds=tiny_pack["backgrounds"], classes=tiny_pack["classes"])
    lines = {line.split(":")[0]: line for line in check_coverage(old, build_library(old))}
    assert lines["box"].startswith("box: --view robot sees box at ")
    assert "nearest cut-out shot at 90° (100% of placements" in lines["box"]
    assert "photograph box from" in lines["box"]
    new = GenerateConfig(view="robot", out=Path("unused"), assets=[views_pack["assets"]],
                         backgrounds=views_pack["backgrounds"], classes=views_pack["classes"])
    assert "box" not in {line.split(":")[0] for line in check_coverage(new, build_library(new))}
    # from above, the standing poles (0°) are always far off; even top-down cut-outs are
    # more than 20° off where a wide lens sees the floor at 54-70° near the image's edges
    top = GenerateConfig(view="topdown", out=Path("unused"), assets=[tiny_pack["assets"]],
                         backgrounds=tiny_pack["backgrounds"], classes=tiny_pack["classes"])
    lines = {line.split(":")[0]: line for line in check_coverage(top, build_library(top))}
    assert "nearest cut-out shot at 0° (100% of placements" in lines["pole"]
    assert "photograph pole from " in lines["pole"]
    # the flat view has no perspective: nothing to compare
    flat = GenerateConfig(view="flat", out=Path("unused"), assets=[tiny_pack["assets"]],
                          backgrounds=tiny_pack["backgrounds"], classes=tiny_pack["classes"])
    assert check_coverage(flat, build_library(flat)) == []


def test_middle_elevation_by_hand():
    import math
    # lying view: its contact point, 0.1 m below a camera 1 m away
    assert middle_elevation(0.1, (0.0, 1.0), 90.0, 0.3) == pytest.approx(math.degrees(math.atan(0.1)))
    # a 0.6 m tall standing view: its middle 0.3 m up, above a 0.07 m camera: seen from below
    assert middle_elevation(0.07, (0.6, 0.8), 0.0, 0.6) == pytest.approx(
        math.degrees(math.atan2(0.07 - 0.3, 1.0)))
    # leaning at 40°: the middle 0.1 cos40 up and 0.1 sin40 farther
    assert middle_elevation(0.5, (0.0, 1.0), 40.0, 0.2) == pytest.approx(math.degrees(math.atan2(
        0.5 - 0.1 * math.cos(math.radians(40)), 1.0 + 0.1 * math.sin(math.radians(40)))))
    # from below (negative elevation): the plane leans towards the camera
    assert middle_elevation(0.0, (0.0, 1.0), -30.0, 0.2) == pytest.approx(math.degrees(math.atan2(
        -0.1 * math.cos(math.radians(30)), 1.0 - 0.1 * math.sin(math.radians(30)))))


def test_each_view_is_judged_from_where_its_middle_is_seen():
    import math
    # an 0.8 m tall object 0.6 m from a 7 cm camera; views 80 (0°), 60 (45°), 40 (90°) px high
    cv = _views([_subject("f", e, px=40) for e in (90.0, 45.0, 0.0)])
    cv.h_px[:] = [40, 60, 80]
    cv.ref_px[:] = [80]
    seen = class_seen(cv, np.array([0.07]), np.array([[0.0, 0.6]]), 0.8)[0]
    half45 = 0.3  # 60 px of 80 -> 0.6 m
    # the lying view's contact point is seen from atan(0.07 / 0.6) above, but the camera is
    # under the object's 0.8 m top: it cannot look onto it, so no higher than level
    expected = [0.0,
                math.degrees(math.atan2(0.07 - half45 * math.cos(math.radians(45)),
                                        0.6 + half45 * math.sin(math.radians(45)))),
                math.degrees(math.atan2(0.07 - 0.4, 0.6))]
    assert seen == pytest.approx(expected)
    mismatch = np.abs(seen - np.array([90.0, 45.0, 0.0]))
    ch = choose_view(cv, SHOE, seen, np.random.default_rng(0))
    assert ch.capture_elev_deg == [90.0, 45.0, 0.0][int(mismatch.argmin())] == 0.0


def _bowl_views():
    # a 0.3 m double bowl: its side view (0°) 40 px of 150 high -> 0.08 m tall; the 15° view
    # is taller (67 px) as it shows the inside too
    cv = _views([_subject("b", e, px=150) for e in (15.0, 0.0)])
    cv.h_px[:] = [67, 40]
    return cv


def test_a_camera_under_a_top_never_sees_a_view_from_above():
    import math
    # robot_s11_000001: a 0.08 m tall bowl 0.183 m from a 0.0787 m camera. Judged by the
    # middles alone the 15° view (its middle higher, so seen from lower) was nearer:
    cv = _bowl_views()
    middles = [middle_elevation(0.0787, (0.0, 0.183), e, h)
               for e, h in zip((15.0, 0.0), cv.heights_m(0.3))]
    assert abs(middles[0] - 15.0) < abs(middles[1] - 0.0)
    assert cv.tops_m(0.3) == pytest.approx([0.08, 0.08])
    seen = class_seen(cv, np.array([0.0787]), np.array([[0.0, 0.183]]), 0.3)[0]
    assert seen == pytest.approx([0.0, 0.0])  # the rim is above the camera: level at most
    rng = np.random.default_rng(0)
    assert {choose_view(cv, SHOE, seen, rng).capture_elev_deg for _ in range(20)} == {0.0}
    # from 0.3 m up, 0.5 m away, the middles are seen from above the rim's own elevation
    seen = class_seen(cv, np.array([0.3]), np.array([[0.3, 0.4]]), 0.3)[0]
    rim = math.degrees(math.atan2(0.3 - 0.08, 0.5))
    assert seen == pytest.approx([rim, rim])
    # an object with only a top view stands 0 m high: its contact point is all that counts
    flat = _views([_subject("r", 90.0)])
    assert flat.tops_m(0.3) == pytest.approx([0.0])
    assert class_seen(flat, np.array([0.1]), np.array([[0.0, 1.0]]), 0.3)[0] == pytest.approx(
        [math.degrees(math.atan(0.1))])


def test_coverage_gap_threshold_by_hand():
    cv = _views([_subject("a", 90.0), _subject("a", 45.0)])
    seen = np.repeat(np.array([10.0] * 24 + [50.0] * 76)[:, None], 2, axis=1)  # 24% 35° off
    assert coverage_gaps({"shoe": cv}, {"shoe": seen}) == []
    seen = np.repeat(np.array([10.0] * 26 + [50.0] * 74)[:, None], 2, axis=1)
    (gap,) = coverage_gaps({"shoe": cv}, {"shoe": seen})
    assert gap.share_far == pytest.approx(0.26) and gap.nearest_capture_deg == 45.0


def test_seen_elevations_lie_within_what_the_frame_shows():
    import math
    rng = np.random.default_rng(0)
    robot = seen_elevations(ComposeOptions(view="robot", pitch_deg=5.0, height_m=0.08,
                                           fov_deg=90.0), rng, 400)
    f = 320.0  # 640 px wide, 90°: the bottom row is atan(239.5 / 320) below the axis
    steepest = 5.0 + math.degrees(math.atan(239.5 / f))
    assert robot.max() <= steepest + 1e-6
    assert robot.min() >= math.degrees(math.atan(0.08 / 1.8)) - 1e-6  # no farther than 1.8 m
    top = seen_elevations(ComposeOptions(view="topdown", pitch_deg=90.0, fov_deg=60.0,
                                         height_m=0.8), rng, 400)
    corner = math.degrees(math.atan(math.hypot(319.5, 239.5) / (320 / math.tan(math.radians(30)))))
    assert top.min() >= 90.0 - corner - 1e-6 and top.max() <= 90.0
    assert np.median(robot) < 30 < 60 < np.median(top)
    assert seen_elevations(ComposeOptions(view="flat"), rng, 10).size == 0


def test_old_single_pose_catalog_renders_through_the_view_path(tiny_pack):
    cfg = GenerateConfig(view="robot", out=Path("unused"), assets=[tiny_pack["assets"]],
                         backgrounds=tiny_pack["backgrounds"], classes=tiny_pack["classes"])
    lib, bank = build_library(cfg), load_scene_bank(tiny_pack["backgrounds"])
    assert {c: sorted(set(v.elev_deg)) for c, v in lib.views.items()} == {
        "box": [90.0], "pole": [0.0], "leaf": [90.0]}
    recs = []
    for seed in range(12):
        comp = compose(lib, bank, ComposeOptions(view="robot"), np.random.default_rng(seed))
        recs += [p.record() for p in comp.objects]
    assert recs
    for r in recs:
        assert r["capture_elev_deg"] == {"box": 90.0, "pole": 0.0, "leaf": 90.0}[r["class"]]
        assert r["pose"] == {"box": "flat", "pole": "upright", "leaf": "flat"}[r["class"]]
        assert -90 < r["view_elev_deg"] < 90 and r["capture_az_deg"] is None
        if r["class"] != "pole":  # lying subjects are seen from above, standing ones maybe not
            assert r["view_elev_deg"] > 0


def test_robot_view_uses_side_views_and_records_both_angles(views_pack, tmp_path):
    out = tmp_path / "set"
    res = CliRunner().invoke(main, ["generate", "--view", "robot", "-n", "6", "--out", str(out),
                                    "--assets", str(views_pack["assets"]), "--backgrounds",
                                    str(views_pack["backgrounds"]), "--classes",
                                    str(views_pack["classes"]), "--workers", "1"])
    assert res.exit_code == 0, res.output
    objects = [o for line in (out / "manifest.jsonl").read_text().splitlines()
               for o in json.loads(line)["objects"]]
    boxes = [o for o in objects if o["class"] == "box"]
    assert boxes
    for o in objects:
        assert {"capture_elev_deg", "view_elev_deg", "capture_az_deg", "view_az_deg"} <= set(o)
    for o in boxes:  # seen from 5-45°: the 0/15/45° views, never the top-down photo
        nearest = min((0.0, 15.0, 45.0, 90.0), key=lambda e: abs(e - o["view_elev_deg"]))
        assert abs(o["capture_elev_deg"] - nearest) <= 5.0 + 1e-9


def test_strict_views_and_capture_elev_flags(views_pack, tmp_path, caplog):
    args = ["generate", "--view", "robot", "-n", "2", "--assets", str(views_pack["assets"]),
            "--backgrounds", str(views_pack["backgrounds"]), "--classes",
            str(views_pack["classes"]), "--workers", "1"]
    res = CliRunner().invoke(main, args + ["--out", str(tmp_path / "a"), "--capture-elev", "90,0",
                                           "--strict-views"])
    assert res.exit_code == 2 and not (tmp_path / "a").exists()
    line = res.output.strip().splitlines()[-1]
    # the 0.3-0.5 m poles, standing next to a 5-9 cm camera, are seen from below their middle
    assert line.startswith("error: --strict-views: pole: --view robot sees pole at -")
    assert "photograph pole from below" in line
    res = CliRunner().invoke(main, args + ["--out", str(tmp_path / "b"), "--capture-elev", "90,0"])
    assert res.exit_code == 0
    assert any(r.getMessage().startswith("warning: pole: --view robot") for r in caplog.records)
    objects = [o for line in (tmp_path / "b" / "manifest.jsonl").read_text().splitlines()
               for o in json.loads(line)["objects"] if o["class"] == "box"]
    assert objects and all(o["capture_elev_deg"] in (90.0, 0.0) for o in objects)
    # a class without views from there keeps its nearest (and is told so)
    caplog.clear()
    with caplog.at_level("INFO", logger="synth.generate"):
        res = CliRunner().invoke(main, args + ["--out", str(tmp_path / "c"), "--capture-elev",
                                               "30"])
    assert res.exit_code == 0
    assert any("pole has no views shot from 30°; using its nearest (0°)" in r.getMessage()
               for r in caplog.records)
    objects = [o for line in (tmp_path / "c" / "manifest.jsonl").read_text().splitlines()
               for o in json.loads(line)["objects"]]
    used = {o["capture_elev_deg"] for o in objects if o["class"] == "box"}
    assert used and used <= {45.0, 15.0}  # both kept (equally near 30), never 0 or 90
    res = CliRunner().invoke(main, args + ["--out", str(tmp_path / "d"), "--capture-elev", "x"])
    assert res.exit_code == 2 and "expected degrees" in res.output


def test_library_from_a_catalog_with_mirror(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("classes:\n  shoe: {size_m: [0.2, 0.3], pose: flat, mirror: true}\n")
    cat = load_catalog(p)
    lib = Library([_subject("a", 15.0, 90.0)], cat)
    rng = np.random.default_rng(5)
    mirrored = {choose_view(lib.views["shoe"], cat["shoe"], 15.0, rng).mirrored for _ in range(100)}
    assert mirrored == {True, False}


def test_a_side_view_faces_where_its_camera_stood_once_the_object_is_turned():
    # A 3-D oracle for the azimuth convention: object 1 m straight ahead, its front facing the
    # camera at yaw 0; azimuths run clockwise seen from above (90 = the object's right side,
    # which faces the camera's left). Turned counter-clockwise by yaw, the side photographed
    # from azimuth a faces Rz(yaw) Rz(-a) (0, -1, 0); the view's plane must face the same way.
    from synth.camera import subject_axes

    def rz(deg):
        a = np.radians(deg)
        return np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0, 0, 1.0]])

    cv = _views([_subject("s", 0.0, az, cls="scale") for az in (0.0, 90.0, 180.0)], SCALE)
    rng = np.random.default_rng(9)
    for _ in range(60):
        ch = choose_view(cv, SCALE, 0.0, rng)
        e_u, e_v = subject_axes(0.0, (0.0, 1.0), ch.turn_deg, 0.0)
        facing = -np.cross(e_u, e_v)
        side = rz(ch.yaw_deg) @ rz(-ch.capture_az_deg) @ np.array([0.0, -1.0, 0.0])
        assert facing == pytest.approx(side, abs=1e-9)


def test_a_view_that_shows_a_top_is_not_drawn_reaching_above_the_camera():
    import math
    # robot_s23_000006: a 0.18 m double bowl (rim 0.04 m) 0.10 m from a 0.06 m camera. The
    # camera is above the rim, but the 15° view from its side (0.082 m of cut-out, leaning
    # back 15°) would stand 0.079 m tall: its far rim above the horizon while its inside
    # shows. From its end (az 0) the 15° view stands 0.058 m, but the elevation is chosen
    # before the azimuth, so neither may be used.
    cv = _views([_subject("b", e, az, px=196) for e in (15.0, 0.0) for az in (0.0, 90.0)])
    cv.h_px[:] = [64, 88, 43, 43]
    size, cam, r = 0.1837, 0.06, 0.1023
    h = cv.heights_m(size)
    assert h[1] * math.cos(math.radians(15)) > cam > h[0] * math.cos(math.radians(15)) > h[2]
    seen = class_seen(cv, np.array([cam]), np.array([[0.0, r]]), size)[0]
    rim = math.degrees(math.atan2(cam - h[2], r))
    assert seen == pytest.approx([0.0, 0.0, rim, rim])  # 0°: its middle is seen from higher
    rng = np.random.default_rng(0)
    spec = SHOE  # any yaw: every azimuth is drawn
    assert {choose_view(cv, spec, seen, rng).capture_elev_deg for _ in range(40)} == {0.0}
    # farther from a higher camera the 15° views are seen from their middles, under the
    # rim's own elevation, and chosen
    seen = class_seen(cv, np.array([0.2]), np.array([[0.0, 0.6]]), size)[0]
    assert seen[1] == pytest.approx(middle_elevation(0.2, (0.0, 0.6), 15.0, h[1]))
    assert {choose_view(cv, spec, seen, rng).capture_elev_deg for _ in range(40)} == {15.0}
