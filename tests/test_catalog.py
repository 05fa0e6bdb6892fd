"""Class catalog: strict validation with one-line errors, pose defaults, and the naming rule."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from synth.catalog import (DEFAULT_ASSETS, DEFAULT_CATALOG, ClassSpec, ViewTag, class_of,
                           load_catalog, match_class, name_prefix, parse_tags, parse_view_tags,
                           pose_ranges)
from synth.errors import InputError

GOOD = """\
classes:
  shoe: {size_m: [0.22, 0.32], pose: flat}
  fan:
    size_m: [0.3, 0.6]
    pose: upright
  sock: {size_m: [0.1, 0.3], pose: flat, yaw_deg: [-90, 90], roll_deg: [0, 0]}
  pet_waste: {size_m: [0.05, 0.12], pose: flat, distractor: true}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "classes.yaml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture
def catalog(tmp_path):
    return load_catalog(write(tmp_path, GOOD))


def test_defaults_depend_on_pose(catalog):
    assert catalog["shoe"] == ClassSpec("shoe", (0.22, 0.32), "flat", (-180.0, 180.0),
                                        (0.0, 0.0), False)
    assert catalog["fan"] == ClassSpec("fan", (0.3, 0.6), "upright", (-30.0, 30.0),
                                       (-3.0, 3.0), False)
    assert catalog["sock"].yaw_deg == (-90.0, 90.0)
    assert catalog["pet_waste"].distractor is True
    assert list(catalog) == ["shoe", "fan", "sock", "pet_waste"]


def test_default_paths_point_into_the_repo():
    repo = Path(__file__).resolve().parent.parent
    assert DEFAULT_CATALOG == repo / "assets" / "classes.yaml"
    assert DEFAULT_ASSETS == repo / "assets" / "subjects"


@pytest.mark.parametrize("body, words", [
    ("  shoe: {pose: flat}", ["shoe", "missing size_m"]),
    ("  shoe: {size_m: [0.3, 0.2], pose: flat}", ["shoe", "size_m", "lo 0.3 > hi 0.2"]),
    ("  shoe: {size_m: [0, 0.2], pose: flat}", ["shoe", "size_m", "> 0"]),
    ("  shoe: {size_m: [-0.1, 0.2], pose: flat}", ["shoe", "size_m", "> 0"]),
    ("  shoe: {size_m: [0.1, 0.2, 0.3], pose: flat}", ["shoe", "size_m", "[lo, hi]"]),
    ("  shoe: {size_m: 0.2, pose: flat}", ["shoe", "size_m", "[lo, hi]"]),
    ("  shoe: {size_m: [a, 0.2], pose: flat}", ["shoe", "size_m"]),
    # an integer too large for a float escaped as OverflowError from math.isfinite
    ("  shoe: {size_m: [0.1, 1%s], pose: flat}" % ("0" * 400), ["shoe", "size_m", "[lo, hi]"]),
    ("  shoe: {size_m: [0.1, 0.2], pose: sideways}", ["shoe", "pose", "sideways"]),
    ("  shoe: {size_m: [0.1, 0.2]}", ["shoe", "missing pose"]),
    ("  shoe: {size_m: [0.1, 0.2], pose: flat, yaw_deg: [10]}", ["shoe", "yaw_deg"]),
    ("  shoe: {size_m: [0.1, 0.2], pose: flat, yaw_deg: [10, -10]}", ["yaw_deg", "lo 10 > hi -10"]),
    ("  shoe: {size_m: [0.1, 0.2], pose: flat, roll_deg: [-1, 1, 2]}", ["shoe", "roll_deg"]),
    ("  shoe: {size_m: [0.1, 0.2], pose: flat, roll_deg: [-100, 1]}", ["roll_deg", "[-90, 90]"]),
    ("  shoe: {size_m: [0.1, 0.2], pose: flat, distractor: maybe}", ["distractor"]),
    ("  shoe: {size_m: [0.1, 0.2], pose: flat, colour: red}", ["shoe", "unknown key", "colour"]),
    ("  shoe: [0.1, 0.2]", ["shoe", "mapping"]),
    ("  shoe: {size_m: [0.1, 0.2], pose: flat}\n  Shoe: {size_m: [0.1, 0.2], pose: flat}",
     ["differ only in case"]),
    ("  shoe: {size_m: [0.1, 0.2], pose: flat}\n  shoe: {size_m: [0.1, 0.3], pose: flat}",
     ["duplicate key 'shoe'"]),
    ("  shoe: {size_m: [0.1, 0.2], pose: flat, size_m: [0.1, 0.3]}", ["duplicate key 'size_m'"]),
    ("  sh[oe]: {size_m: [0.1, 0.2], pose: flat}", ["class name"]),
])
def test_bad_fields_give_one_line_naming_file_and_field(tmp_path, body, words):
    path = write(tmp_path, "classes:\n" + body + "\n")
    with pytest.raises(InputError) as info:
        load_catalog(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg
    for w in words:
        assert w in msg


@pytest.mark.parametrize("text, words", [
    ("classes: {shoe: {size_m: [0.1, 0.2], pose: flat}\n", ["not valid YAML", "line"]),
    ("- shoe\n- sock\n", ["classes"]),
    ("", ["classes"]),
    ("classes: {}\n", ["non-empty"]),
    ("classes: {shoe: {size_m: [0.1, 0.2], pose: flat}}\nversion: 2\n", ["unknown top-level",
                                                                         "version"]),
])
def test_bad_documents(tmp_path, text, words):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_catalog(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg
    for w in words:
        assert w in msg


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such class catalog"):
        load_catalog(tmp_path / "nope.yaml")


def test_parse_tags():
    assert parse_tags("boot [upright]") == ("boot", "upright")
    assert parse_tags("[FLAT]fan_2") == ("fan_2", "flat")
    assert parse_tags("fan [flat] [upright]") == ("fan", "upright")  # last tag wins
    assert parse_tags("plain name") == ("plain name", None)


@pytest.mark.parametrize("name, cls", [
    ("shoe", "shoe"), ("Shoe", "shoe"), ("shoe_runner", "shoe"), ("shoe-2", "shoe"),
    ("shoe 3", "shoe"), ("shoe.left", "shoe"), ("shoe7", "shoe"), ("fan [upright]", "fan"),
    ("[upright] fan_01", "fan"), ("pet_waste", "pet_waste"), ("pet_waste_03", "pet_waste"),
    ("pet_waste2", "pet_waste"), ("shoes", None), ("shoebox", None), ("sneaker_1", None),
    ("Layer 1", None), ("", None),
])
def test_naming_rule(catalog, name, cls):
    assert match_class(name, catalog) == cls


def test_class_of_lists_known_classes(catalog):
    assert class_of("sock_blue", catalog) == "sock"
    with pytest.raises(InputError) as info:
        class_of("sneaker_02", catalog, where="x.psd: layer 'sneaker_02'")
    assert str(info.value) == ("x.psd: layer 'sneaker_02': class 'sneaker' is not in the "
                               "catalog (known: fan, pet_waste, shoe, sock)")


def test_name_prefix():
    assert name_prefix("sneaker_02") == "sneaker"
    assert name_prefix("cable-long") == "cable"
    assert name_prefix("bowl.metal") == "bowl"
    assert name_prefix("rag2") == "rag"
    assert name_prefix("box [upright]") == "box"


def test_parse_view_tags():
    assert parse_view_tags("runner [elev=45 az=90]") == ("runner", ViewTag(None, 45.0, 90.0, None))
    assert parse_view_tags("[elev=15, az=-90] [size=0.3] boot") == (
        "boot", ViewTag(None, 15.0, -90.0, 0.3))
    assert parse_view_tags("x [az=270]")[1].az_deg == -90.0  # wrapped to (-180, 180]
    assert parse_view_tags("x [az=-180]")[1].az_deg == 180.0
    assert parse_view_tags("boot [upright]") == ("boot", ViewTag(pose="upright"))
    assert parse_view_tags("plain") == ("plain", ViewTag())
    assert not ViewTag().declared and ViewTag(az_deg=0.0).declared
    # parse_tags drops view tags too, so the class rule sees the bare name
    assert parse_tags("shoe_runner [elev=0 az=180]") == ("shoe_runner", None)


@pytest.mark.parametrize("name, message", [
    ("x [elev=95]", "elev= must lie in [-90, 90]"), ("x [elev=-91]", "elev= must lie in [-90, 90]"),
    ("x [elev=abc]", "elev= must be a number"), ("x [tilt=3]", "unknown view tag key 'tilt'"),
    ("x [size=0]", "size= must be positive"), ("x [az=nan]", "must be a finite number"),
])
def test_bad_view_tags(name, message):
    with pytest.raises(InputError, match=re.escape(message)):
        parse_view_tags(name)


def test_inner_tags_win_and_pose_and_elevation_replace_each_other():
    outer = ViewTag(elev_deg=45.0, az_deg=90.0, size_m=0.2)
    assert ViewTag(pose="upright").over(outer) == ViewTag("upright", None, 90.0, 0.2)
    assert ViewTag(elev_deg=15.0).over(ViewTag(pose="flat")) == ViewTag(None, 15.0, None, None)
    assert ViewTag(az_deg=0.0).over(outer) == ViewTag(None, 45.0, 0.0, 0.2)


def test_mirror_field(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("classes:\n  shoe: {size_m: [0.2, 0.3], pose: flat, mirror: true}\n"
                 "  scale: {size_m: [0.2, 0.3], pose: flat}\n")
    cat = load_catalog(p)
    assert cat["shoe"].mirror and not cat["scale"].mirror
    p.write_text("classes:\n  shoe: {size_m: [0.2, 0.3], pose: flat, mirror: 1}\n")
    with pytest.raises(InputError, match="mirror must be true or false"):
        load_catalog(p)


def test_pose_ranges_follow_the_capture_elevation():
    spec = ClassSpec("shoe", (0.2, 0.3), "flat", (-180.0, 180.0), (0.0, 0.0))
    assert pose_ranges(spec, 90.0) == ((-180.0, 180.0), (0.0, 0.0))
    assert pose_ranges(spec, 15.0) == ((-30.0, 30.0), (-3.0, 3.0))  # a side view stays a side view
    fan = ClassSpec("fan", (0.4, 1.0), "upright", (-35.0, 35.0), (-3.0, 3.0))
    assert pose_ranges(fan, 0.0) == ((-35.0, 35.0), (-3.0, 3.0))
    assert pose_ranges(fan, 90.0) == ((-180.0, 180.0), (0.0, 0.0))  # a fan seen from above
