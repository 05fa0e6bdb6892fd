"""Loading subjects from PSDs (built here with psd-tools or byte by byte): groups, masks, opacity,
clipping, view tags, colour modes, bit depths and damaged files."""
from __future__ import annotations

import logging
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from psd_tools import PSDImage
from psd_tools.api.layers import Group

from synth.assets import capture_elevation, format_summary, load_subjects, summarize_subjects
from synth.errors import InputError
from synth.imageio import encode_png
from tests.helpers import add_layer, load_one, new_psd, solid_rgba


# ------------------------------------------------------------------ a tiny independent PSD writer

def write_min_psd(path: Path, mode: int, depth: int, layers: list[dict],
                  size: tuple[int, int] = (16, 12)) -> None:
    """Write a version-1 PSD byte by byte (raw channel data), independent of psd-tools.

    layers: dicts with name, top, left, channels {channel id: HxW array in file encoding},
    and optionally opacity (0-255) and hidden.
    """
    w, h = size
    base_channels = {1: 1, 3: 3, 4: 4}[mode]
    fmt = {8: ">u1", 16: ">u2"}[depth]
    records, data = b"", b""
    for lay in layers:
        chans = lay["channels"]
        ch, cw = next(iter(chans.values())).shape if chans else (0, 0)
        top, left = lay.get("top", 0), lay.get("left", 0)
        rec = struct.pack(">iiiiH", top, left, top + ch, left + cw, len(chans))
        for cid, arr in chans.items():
            raw = np.ascontiguousarray(arr, dtype=fmt).tobytes()
            rec += struct.pack(">hI", cid, 2 + len(raw))
            data += struct.pack(">H", 0) + raw
        name = lay["name"].encode("latin-1")
        pascal = bytes([len(name)]) + name
        pascal += b"\0" * (-len(pascal) % 4)
        extra = struct.pack(">II", 0, 0) + pascal
        flags = 0x02 if lay.get("hidden") else 0x00
        rec += b"8BIMnorm" + struct.pack(">BBBB", lay.get("opacity", 255), 0, flags, 0)
        rec += struct.pack(">I", len(extra)) + extra
        records += rec
    layer_info = struct.pack(">h", len(layers)) + records + data
    layer_info += b"\0" * (len(layer_info) % 2)
    layer_block = struct.pack(">I", len(layer_info)) + layer_info + struct.pack(">I", 0)
    merged = struct.pack(">H", 0) + np.zeros((base_channels, h, w), fmt).tobytes()
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, base_channels, h, w, depth, mode)
    path.write_bytes(header + struct.pack(">II", 0, 0) + struct.pack(">I", len(layer_block))
                     + layer_block + merged)


def block(h, w, value) -> np.ndarray:
    return np.full((h, w), value)


# ------------------------------------------------------------------ PSD structure and naming

def test_groups_and_top_level_layers(tmp_path, catalog, psd_cache):
    psd = new_psd()
    shoe = Group.new(psd, name="shoe")
    add_layer(shoe, "runner", solid_rgba(10, 12, (200, 50, 0)), top=5, left=7)
    add_layer(shoe, "boot", solid_rgba(8, 6, (10, 20, 30)), top=1, left=1)
    nested = Group.new(shoe, name="sandal")  # a sub-group is one composited subject
    add_layer(nested, "sole", solid_rgba(4, 10, (0, 0, 255)), top=30, left=20)
    add_layer(nested, "strap", solid_rgba(6, 2, (0, 255, 0)), top=26, left=24)
    add_layer(psd, "sock_1", solid_rgba(7, 9, (1, 2, 3)), top=40, left=50)
    add_layer(psd, "Fan-2", solid_rgba(9, 3), top=2, left=40)
    add_layer(psd, "pet_waste_03", solid_rgba(3, 3), top=0, left=60)
    psd.save(tmp_path / "mixed.psd")

    subjects = load_subjects([tmp_path / "mixed.psd"], catalog, cache_dir=psd_cache)
    got = [(s.cls, s.name, s.rgba.shape[:2]) for s in subjects]
    assert got == [  # sorted by class, then name
        ("fan", "mixed.psd:Fan-2", (9, 3)),
        ("pet_waste", "mixed.psd:pet_waste_03", (3, 3)),
        ("shoe", "mixed.psd:shoe/boot", (8, 6)),
        ("shoe", "mixed.psd:shoe/runner", (10, 12)),
        ("shoe", "mixed.psd:shoe/sandal", (8, 10)),  # rows 26..33, cols 20..29
        ("sock", "mixed.psd:sock_1", (7, 9)),
    ]
    by = {s.name: s for s in subjects}
    assert by["mixed.psd:shoe/runner"].rgba.dtype == np.uint8
    assert (by["mixed.psd:shoe/runner"].rgba == solid_rgba(10, 12, (200, 50, 0))).all()
    sandal = by["mixed.psd:shoe/sandal"].rgba
    assert tuple(sandal[0, 4]) == (0, 255, 0, 255)      # strap pixel (row 26, col 24)
    assert tuple(sandal[0, 0]) == (0, 0, 0, 0)          # outside both layers
    assert tuple(sandal[6, 0]) == (0, 0, 255, 255)      # sole pixel (row 32, col 20)
    assert all(s.source == str(tmp_path / "mixed.psd") for s in subjects)


def test_hidden_layers_and_groups_are_skipped(tmp_path, catalog, psd_cache):
    psd = new_psd()
    shoe = Group.new(psd, name="shoe")
    add_layer(shoe, "seen", solid_rgba(5, 5))
    add_layer(shoe, "hidden", solid_rgba(5, 5)).visible = False
    ghost = Group.new(psd, name="sock")
    add_layer(ghost, "in hidden group", solid_rgba(5, 5))
    ghost.visible = False
    add_layer(psd, "fan_hidden", solid_rgba(5, 5)).visible = False
    add_layer(psd, "Background", solid_rgba(48, 64))  # Photoshop's background layer is not a subject
    psd.save(tmp_path / "h.psd")
    assert list(load_one(tmp_path / "h.psd", catalog, psd_cache)) == ["h.psd:shoe/seen"]


def test_layer_mask_is_honoured(tmp_path, catalog, psd_cache):
    psd = new_psd()
    layer = add_layer(psd, "shoe", solid_rgba(10, 12, (90, 100, 110)), top=3, left=4)
    mask = np.full((10, 12), 255, np.uint8)
    mask[:, :5] = 0          # hide the 5 left columns
    mask[:, 5] = 128         # and half-hide one
    layer.create_mask(Image.fromarray(mask))
    psd.save(tmp_path / "m.psd")
    rgba = load_one(tmp_path / "m.psd", catalog, psd_cache)["m.psd:shoe"].rgba
    assert rgba.shape == (10, 7, 4)  # cropped to the unmasked part
    assert (rgba[:, 0, 3] == 128).all() and (rgba[:, 1:, 3] == 255).all()
    assert (rgba[..., :3] == (90, 100, 110)).all()


def test_opacity_halves_alpha(tmp_path, catalog, psd_cache):
    psd = new_psd()
    rgba = solid_rgba(6, 6, (40, 80, 120))
    rgba[:3, :, 3] = 200
    layer = add_layer(psd, "sock", rgba)
    layer.opacity = 128
    psd.save(tmp_path / "o.psd")
    got = load_one(tmp_path / "o.psd", catalog, psd_cache)["o.psd:sock"].rgba
    expected = rgba[..., 3].astype(float) * 128 / 255
    np.testing.assert_allclose(got[..., 3].astype(float), expected, atol=1)
    assert (got[..., :3] == (40, 80, 120)).all()  # straight alpha: colour unchanged


def test_group_opacity_is_honoured_for_a_composited_sub_group(tmp_path, catalog, psd_cache):
    psd = new_psd()
    shoe = Group.new(psd, name="shoe")
    sub = Group.new(shoe, name="pair")
    add_layer(sub, "left", solid_rgba(4, 4))
    sub.opacity = 51
    psd.save(tmp_path / "g.psd")
    got = load_one(tmp_path / "g.psd", catalog, psd_cache)["g.psd:shoe/pair"].rgba
    assert (got[..., 3] == 51).all()


def test_clipped_layer_renders_with_its_base_not_alone(tmp_path, catalog, psd_cache):
    psd = new_psd()
    shoe = Group.new(psd, name="shoe")
    base = solid_rgba(6, 8, (200, 0, 0))
    base[:, :4, 3] = 0
    add_layer(shoe, "base", base, top=2, left=3)
    add_layer(shoe, "shade", solid_rgba(10, 20, (0, 255, 0))).clipping = True
    psd.save(tmp_path / "clip.psd")
    got = load_one(tmp_path / "clip.psd", catalog, psd_cache)
    assert list(got) == ["clip.psd:shoe/base"]
    assert (got["clip.psd:shoe/base"].rgba == solid_rgba(6, 4, (0, 255, 0))).all()


def test_tags_override_pose(tmp_path, catalog, psd_cache):
    psd = new_psd()
    shoe = Group.new(psd, name="shoe")
    add_layer(shoe, "boot [upright]", solid_rgba(4, 4))
    add_layer(shoe, "runner", solid_rgba(4, 4))
    fan = Group.new(psd, name="[flat] fan")
    add_layer(fan, "lying", solid_rgba(4, 4))
    add_layer(fan, "standing[upright]", solid_rgba(4, 4))
    add_layer(psd, "sock_7 [upright]", solid_rgba(4, 4))
    psd.save(tmp_path / "t.psd")
    poses = {n: s.pose for n, s in load_one(tmp_path / "t.psd", catalog, psd_cache).items()}
    assert poses == {"t.psd:shoe/boot [upright]": "upright", "t.psd:shoe/runner": None,
                     "t.psd:[flat] fan/lying": "flat",
                     "t.psd:[flat] fan/standing[upright]": "upright",
                     "t.psd:sock_7 [upright]": "upright"}
    (tmp_path / "t.psd").rename(tmp_path / "shoes [upright].psd")
    poses = {n: s.pose for n, s in
             load_one(tmp_path / "shoes [upright].psd", catalog, psd_cache).items()}
    assert poses["shoes [upright].psd:shoe/runner"] == "upright"  # file tag, innermost wins
    assert poses["shoes [upright].psd:[flat] fan/lying"] == "flat"


def _views(subjects, catalog):
    """name -> (object, capture elevation, azimuth, size)"""
    return {s.name: (s.object.rsplit("/", 1)[-1], capture_elevation(s, catalog), s.az_deg, s.size_m)
            for s in subjects}


def test_psd_view_tags_on_layers_groups_and_object_sub_groups(tmp_path, catalog, psd_cache):
    psd = new_psd()
    shoe = Group.new(psd, name="shoe")
    add_layer(shoe, "runner [elev=90]", solid_rgba(4, 8))
    add_layer(shoe, "runner [elev=15 az=90]", solid_rgba(4, 8))
    add_layer(shoe, "boot [upright]", solid_rgba(4, 4))
    obj = Group.new(shoe, name="derby [size=0.3]")  # a sub-group holding one object's views
    add_layer(obj, "[elev=45 az=0]", solid_rgba(6, 6))
    add_layer(obj, "[elev=45 az=180]", solid_rgba(6, 6))
    comp = Group.new(shoe, name="two parts")  # no view tags inside: one composited subject
    add_layer(comp, "a", solid_rgba(4, 4))
    add_layer(comp, "b", solid_rgba(4, 4), left=4)
    fan = Group.new(psd, name="fan [elev=30]")
    add_layer(fan, "tower", solid_rgba(8, 2))
    add_layer(fan, "box [az=90]", solid_rgba(8, 8))
    psd.save(tmp_path / "v.psd")
    got = _views(load_subjects([tmp_path / "v.psd"], catalog, cache_dir=psd_cache), catalog)
    assert got == {
        "v.psd:shoe/runner [elev=90]": ("runner", 90.0, None, None),
        "v.psd:shoe/runner [elev=15 az=90]": ("runner", 15.0, 90.0, None),
        "v.psd:shoe/boot [upright]": ("boot", 0.0, None, None),
        "v.psd:shoe/derby [size=0.3]/[elev=45 az=0]": ("derby", 45.0, 0.0, 0.3),
        "v.psd:shoe/derby [size=0.3]/[elev=45 az=180]": ("derby", 45.0, 180.0, 0.3),
        "v.psd:shoe/two parts": ("two parts", 90.0, None, None),
        "v.psd:fan [elev=30]/tower": ("tower", 30.0, None, None),
        "v.psd:fan [elev=30]/box [az=90]": ("box", 30.0, 90.0, None),
    }
    subjects = load_subjects([tmp_path / "v.psd"], catalog, cache_dir=psd_cache)
    objects = {s.name: s.object for s in subjects}
    assert objects["v.psd:shoe/runner [elev=90]"] == objects["v.psd:shoe/runner [elev=15 az=90]"]
    assert objects["v.psd:shoe/runner [elev=90]"] != objects["v.psd:shoe/boot [upright]"]
    two = next(s for s in subjects if s.name == "v.psd:shoe/two parts")
    assert two.rgba.shape[:2] == (4, 8)


def test_bad_view_tag_names_the_layer(tmp_path, catalog, psd_cache):
    psd = new_psd()
    shoe = Group.new(psd, name="shoe")
    add_layer(shoe, "runner [elev=120]", solid_rgba(4, 8))
    psd.save(tmp_path / "bad.psd")
    with pytest.raises(InputError) as info:
        load_subjects([tmp_path / "bad.psd"], catalog, cache_dir=psd_cache)
    assert str(info.value).startswith(f"{tmp_path / 'bad.psd'}: layer 'runner [elev=120]': ")
    assert "elev= must lie in [-90, 90]" in str(info.value)


def test_png_view_folders_suffixes_and_photo_mask_views(tmp_path, catalog, psd_cache):
    root = tmp_path / "cutouts"
    png = np.zeros((10, 10, 4), np.uint8)
    png[2:8, 2:8] = (9, 9, 9, 255)
    for rel in ("shoe/elev_90/runner.png", "shoe/elev_15_az_90/runner.png",
                "shoe/elev-0-az-180/runner.png", "shoe/boot_elev45_az-90.png", "fan/elev_-20/tall.png",
                "shoe/boot_elev45.png", "misc/sock_blue_elev30.png", "fan/elev_10/tower [az=0].png"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(encode_png(png))
    photo = np.full((10, 10, 3), 50, np.uint8)
    mask = np.zeros((10, 10), np.uint8)
    mask[3:7, 3:7] = 255
    Image.fromarray(photo).save(root / "shoe" / "robot_elev5.png")
    Image.fromarray(mask).save(root / "shoe" / "robot_elev5_mask.png")
    got = _views(load_subjects([root], catalog, cache_dir=psd_cache), catalog)
    assert got == {
        "shoe/elev_90/runner.png": ("runner", 90.0, None, None),
        "shoe/elev_15_az_90/runner.png": ("runner", 15.0, 90.0, None),
        "shoe/elev-0-az-180/runner.png": ("runner", 0.0, 180.0, None),  # -180 = 180,
        "shoe/boot_elev45_az-90.png": ("boot", 45.0, -90.0, None),
        "shoe/boot_elev45.png": ("boot", 45.0, None, None),
        "misc/sock_blue_elev30.png": ("sock_blue", 30.0, None, None),
        "fan/elev_10/tower [az=0].png": ("tower", 10.0, 0.0, None),
        "fan/elev_-20/tall.png": ("tall", -20.0, None, None),
        "shoe/robot_elev5.png": ("robot", 5.0, None, None),
    }
    subjects = {s.name: s for s in load_subjects([root], catalog, cache_dir=psd_cache)}
    assert subjects["shoe/elev_90/runner.png"].cls == "shoe"  # the class folder is above elev_90
    assert subjects["fan/elev_10/tower [az=0].png"].cls == "fan"
    assert (subjects["shoe/elev_90/runner.png"].object
            == subjects["shoe/elev_15_az_90/runner.png"].object)
    assert subjects["shoe/robot_elev5.png"].rgba.shape[:2] == (4, 4)  # the mask was paired


def test_summary_lists_capture_elevations_and_azimuths(tmp_path, catalog, psd_cache):
    psd = new_psd()
    shoe = Group.new(psd, name="shoe")
    for name in ("a [elev=90]", "a [elev=15 az=0]", "a [elev=15 az=90]", "b [elev=15 az=90]", "c"):
        add_layer(shoe, name, solid_rgba(4, 8, alpha=200))
    psd.save(tmp_path / "s.psd")
    rows = {r["class"]: r for r in summarize_subjects(
        load_subjects([tmp_path / "s.psd"], catalog, cache_dir=psd_cache), catalog)}
    assert rows["shoe"]["count"] == 5 and rows["shoe"]["objects"] == 3
    assert rows["shoe"]["views"] == [
        {"elev_deg": 90.0, "az_deg": [], "views": 2, "objects": 2},
        {"elev_deg": 15.0, "az_deg": [0.0, 90.0], "views": 3, "objects": 2}]
    text = format_summary(list(rows.values()))
    assert "90°: 2 (2), 15° az 0/90: 3 (2)" in text
    assert "a  " in text and "3 views: 90°, 15° az 0/90" in text


def test_transparent_and_empty_layers_warn_and_are_skipped(tmp_path, catalog, psd_cache, caplog):
    psd = new_psd()
    add_layer(psd, "shoe_ok", solid_rgba(4, 4))
    add_layer(psd, "shoe_clear", solid_rgba(4, 4, alpha=0))
    psd.save(tmp_path / "e.psd")
    with caplog.at_level(logging.WARNING, logger="synth.psd"):
        names = list(load_one(tmp_path / "e.psd", catalog, psd_cache))
    assert names == ["e.psd:shoe_ok"]
    assert any("e.psd" in r.getMessage() and "'shoe_clear'" in r.getMessage()
               and "transparent" in r.getMessage() for r in caplog.records)

    # a zero-size layer (no pixels at all), written byte by byte
    path = tmp_path / "zero.psd"
    write_min_psd(path, 3, 8, [
        {"name": "sock_a", "top": 2, "left": 2,
         "channels": {i: block(3, 4, 50) for i in (-1, 0, 1, 2)}},
        {"name": "sock_empty", "channels": {i: np.zeros((0, 0)) for i in (-1, 0, 1, 2)}},
    ])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="synth.psd"):
        names = list(load_one(path, catalog, psd_cache))
    assert names == ["zero.psd:sock_a"]
    assert any("zero.psd" in r.getMessage() and "'sock_empty'" in r.getMessage()
               and "empty" in r.getMessage() for r in caplog.records)
    # the warning is repeated when the decode comes from the cache
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="synth.psd"):
        load_one(path, catalog, psd_cache)
    assert any("'sock_empty'" in r.getMessage() for r in caplog.records)


def test_no_visible_subject_is_an_error(tmp_path, catalog, psd_cache):
    psd = new_psd()
    add_layer(psd, "shoe", solid_rgba(4, 4)).visible = False
    add_layer(psd, "sock", solid_rgba(4, 4, alpha=0))
    psd.save(tmp_path / "none.psd")
    with pytest.raises(InputError) as info:
        load_subjects([tmp_path / "none.psd"], catalog, cache_dir=psd_cache)
    assert str(info.value).startswith(f"{tmp_path / 'none.psd'}: no visible subject")

    PSDImage.new("RGBA", (8, 8)).save(tmp_path / "layerless.psd")
    with pytest.raises(InputError, match="layerless.psd: no visible subject"):
        load_subjects([tmp_path / "layerless.psd"], catalog, cache_dir=psd_cache)


@pytest.mark.parametrize("damage", ["truncated", "last-byte", "garbage", "empty", "bad-header"])
def test_corrupt_psd_names_the_file(tmp_path, catalog, psd_cache, damage):
    psd = new_psd()
    add_layer(psd, "shoe", solid_rgba(20, 20))
    psd.save(tmp_path / "good.psd")
    data = (tmp_path / "good.psd").read_bytes()
    bad = {"truncated": data[: len(data) // 2], "last-byte": data[:-1],
           "garbage": bytes(range(256)) * 10, "empty": b"",
           "bad-header": data[:26] + b"\xff" * 40 + data[66:]}[damage]
    path = tmp_path / "bad.psd"
    path.write_bytes(bad)
    with pytest.raises(InputError) as info:
        load_subjects([path], catalog, cache_dir=psd_cache)
    msg = str(info.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg


def test_unknown_class_lists_known_classes(tmp_path, catalog, psd_cache):
    psd = new_psd()
    add_layer(psd, "sneaker_2", solid_rgba(4, 4))
    psd.save(tmp_path / "u.psd")
    with pytest.raises(InputError) as info:
        load_subjects([tmp_path / "u.psd"], catalog, cache_dir=psd_cache)
    assert str(info.value) == (f"{tmp_path / 'u.psd'}: layer 'sneaker_2': class 'sneaker' is "
                               "not in the catalog (known: fan, pet_waste, plant, shoe, sock)")
    psd = new_psd()
    add_layer(Group.new(psd, name="sneakers"), "a", solid_rgba(4, 4))
    psd.save(tmp_path / "g.psd")
    with pytest.raises(InputError, match=r"g.psd: group 'sneakers': class 'sneakers' is not in "
                                         r"the catalog \(known: fan, pet_waste, plant, shoe"):
        load_subjects([tmp_path / "g.psd"], catalog, cache_dir=psd_cache)


# ------------------------------------------------------------------ colour modes and depths

def test_cmyk_psd_hand_computed_colours(tmp_path, catalog, psd_cache):
    """PSD stores CMYK as 255 - ink; no ICC profile: R = (1-C)(1-K) etc."""
    ink = {"C": 0, "M": 255, "Y": 255, "K": 0}                       # pure red
    ink2 = {"C": 0, "M": 0, "Y": 0, "K": 128}                         # 50 % grey
    a = {i: block(2, 3, 255 - ink[c]) for i, c in enumerate("CMYK")}
    b = {i: block(2, 3, 255 - ink2[c]) for i, c in enumerate("CMYK")}
    alpha = block(2, 3, 255)
    alpha[0, 0] = 0
    write_min_psd(tmp_path / "cmyk.psd", 4, 8, [
        {"name": "shoe_red", "channels": {**a, -1: alpha}},
        {"name": "shoe_grey", "top": 5, "left": 5, "channels": {**b, -1: block(2, 3, 255)}},
    ])
    got = load_one(tmp_path / "cmyk.psd", catalog, psd_cache)
    red = got["cmyk.psd:shoe_red"].rgba
    assert red.dtype == np.uint8 and red.shape == (2, 3, 4)
    assert tuple(red[1, 1]) == (255, 0, 0, 255)
    assert tuple(red[0, 0]) == (0, 0, 0, 0)  # transparent corner keeps alpha 0
    assert tuple(got["cmyk.psd:shoe_grey"].rgba[0, 0]) == (127, 127, 127, 255)


def test_greyscale_16bit_psd(tmp_path, catalog, psd_cache):
    grey = block(3, 4, 0x8080)           # 32896 / 65535 * 255 = 128.0
    grey[0] = 0xFFFF
    alpha = block(3, 4, 0xFFFF)
    alpha[2] = 0x8000                    # 32768 / 65535 * 255 = 127.5 -> 128 (or 127)
    write_min_psd(tmp_path / "grey16.psd", 1, 16,
                  [{"name": "sock", "channels": {0: grey, -1: alpha}}])
    rgba = load_one(tmp_path / "grey16.psd", catalog, psd_cache)["grey16.psd:sock"].rgba
    assert rgba.dtype == np.uint8 and rgba.shape == (3, 4, 4)
    assert (rgba[0, :, :3] == 255).all() and (rgba[1, :, :3] == 128).all()
    assert (rgba[:2, :, 3] == 255).all() and np.isin(rgba[2, :, 3], (127, 128)).all()


def test_rgb_16bit_psd_with_opacity(tmp_path, catalog, psd_cache):
    chans = {0: block(2, 2, 0xFFFF), 1: block(2, 2, 0x3333), 2: block(2, 2, 0), -1:
             block(2, 2, 0xFFFF)}
    write_min_psd(tmp_path / "rgb16.psd", 3, 16,
                  [{"name": "fan", "opacity": 102, "channels": chans}])
    rgba = load_one(tmp_path / "rgb16.psd", catalog, psd_cache)["rgb16.psd:fan"].rgba
    assert (rgba == (255, 51, 0, 102)).all()


@pytest.mark.parametrize("mode, depth", [("L", 8), ("RGB", 16), ("RGB", 32), ("CMYK", 16),
                                         ("L", 32)])
def test_psd_tools_written_modes_round_trip(tmp_path, catalog, psd_cache, mode, depth):
    psd = new_psd(mode=mode, depth=depth)
    rgba = solid_rgba(5, 6, (200, 200, 200) if mode == "L" else (200, 100, 50))
    rgba[0, 0, 3] = 0
    add_layer(psd, "shoe", rgba, top=1, left=2)
    psd.save(tmp_path / "x.psd")
    got = load_one(tmp_path / "x.psd", catalog, psd_cache)["x.psd:shoe"].rgba
    assert got.dtype == np.uint8 and got.shape == (5, 6, 4)
    assert np.abs(got[1:, 1:].astype(int) - rgba[1:, 1:]).max() <= 1
    assert got[0, 0, 3] == 0
