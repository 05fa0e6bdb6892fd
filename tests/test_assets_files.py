"""Loading subjects from PNG folders and photo+mask pairs: cropping, names, paths, --only, the
decode cache, the summary and the `synth assets` CLI."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from psd_tools.api.layers import Group

from synth import psd as psd_mod
from synth.assets import load_subjects, summarize_subjects
from synth.cli import main
from synth.errors import InputError
from synth.imageio import crop_to_alpha, encode_png
from tests.helpers import add_layer, load_one, new_psd, solid_rgba


# ------------------------------------------------------------------ cropping, PNGs, photos

def test_crop_to_alpha_box_exact(tmp_path, catalog, psd_cache):
    rgba = np.zeros((30, 40, 4), np.uint8)
    rgba[7:19, 11:33] = (10, 20, 30, 255)
    rgba[7, 11, 3] = 1                      # a faint corner still counts
    assert crop_to_alpha(rgba).shape == (12, 22, 4)
    assert (crop_to_alpha(rgba) == rgba[7:19, 11:33]).all()
    assert crop_to_alpha(np.zeros((4, 4, 4), np.uint8)) is None

    psd = new_psd()
    add_layer(psd, "sock", rgba, top=3, left=2)
    psd.save(tmp_path / "c.psd")
    assert (load_one(tmp_path / "c.psd", catalog, psd_cache)["c.psd:sock"].rgba
            == rgba[7:19, 11:33]).all()


def test_png_folders_and_photo_mask_pairs(tmp_path, catalog, psd_cache, caplog):
    root = tmp_path / "cutouts"
    (root / "shoe").mkdir(parents=True)
    (root / "misc").mkdir()
    png = np.zeros((20, 30, 4), np.uint8)
    png[5:15, 10:20] = (1, 2, 3, 255)
    (root / "shoe" / "a.png").write_bytes(encode_png(png))
    (root / "misc" / "sock_blue [upright].png").write_bytes(encode_png(png))
    photo = np.full((12, 16, 3), 77, np.uint8)
    photo[..., 0] = np.arange(16)
    Image.fromarray(photo).save(root / "shoe" / "robot.png")
    mask = np.zeros((12, 16), np.uint8)
    mask[2:6, 3:9] = 255
    mask[6, 3] = 100
    Image.fromarray(mask).save(root / "shoe" / "robot_mask.png")
    Image.fromarray(photo).save(root / "misc" / "fan_01.jpg", quality=100)
    Image.fromarray(mask).save(root / "misc" / "fan_01_mask.png")
    Image.fromarray(mask).save(root / "misc" / "orphan_mask.png")

    with caplog.at_level(logging.WARNING, logger="synth.assets"):
        subjects = load_subjects([root], catalog, cache_dir=psd_cache)
    assert any("orphan_mask.png" in r.getMessage() for r in caplog.records)
    by = {s.name: s for s in subjects}
    assert [(s.cls, s.name, s.pose) for s in subjects] == [
        ("fan", "misc/fan_01.jpg", None), ("shoe", "shoe/a.png", None),
        ("shoe", "shoe/robot.png", None), ("sock", "misc/sock_blue [upright].png", "upright")]
    assert (by["shoe/a.png"].rgba == png[5:15, 10:20]).all()
    robot = by["shoe/robot.png"].rgba
    assert robot.shape == (5, 6, 4)
    assert (robot[:4, :, 3] == 255).all() and robot[4, 0, 3] == 100 and robot[4, 1, 3] == 0
    assert (robot[:4, :, 0] == np.arange(3, 9)).all() and (robot[:4, :, 1] == 77).all()
    assert by["misc/fan_01.jpg"].rgba.shape == (5, 6, 4)

    # one file given directly finds its mask
    one = load_subjects([root / "shoe" / "robot.png"], catalog, cache_dir=psd_cache)
    assert [s.name for s in one] == ["shoe/robot.png"] and (one[0].rgba == robot).all()


def test_mask_size_mismatch_and_unknown_png_class(tmp_path, catalog, psd_cache):
    d = tmp_path / "shoe"
    d.mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(d / "x.png")
    Image.fromarray(np.zeros((5, 4), np.uint8)).save(d / "x_mask.png")
    with pytest.raises(InputError, match=r"x_mask.png: mask is 4x5 but its photo x.png is 4x4"):
        load_subjects([d], catalog, cache_dir=psd_cache)
    e = tmp_path / "stuff"
    e.mkdir()
    Image.fromarray(solid_rgba(4, 4)).save(e / "vase_1.png")
    with pytest.raises(InputError, match=r"vase_1.png: class 'vase' is not in the catalog"):
        load_subjects([e], catalog, cache_dir=psd_cache)


def test_non_ascii_paths(tmp_path, catalog, psd_cache):
    d = tmp_path / "données" / "chaussure"
    d.mkdir(parents=True)
    psd = new_psd()
    add_layer(Group.new(psd, name="shoe"), "éte", solid_rgba(4, 5))
    psd.save(d / "chaussure.psd")
    Image.fromarray(solid_rgba(3, 3)).save(d / "sock_été.png")
    subjects = load_subjects([tmp_path / "données"], catalog, cache_dir=psd_cache)
    assert [s.name for s in subjects] == ["chaussure.psd:shoe/éte", "chaussure/sock_été.png"]


def test_missing_paths_and_empty_dirs(tmp_path, catalog, psd_cache):
    with pytest.raises(InputError, match="nope: no such file or directory"):
        load_subjects([tmp_path / "nope"], catalog, cache_dir=psd_cache)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty: no subjects found"):
        load_subjects([tmp_path / "empty"], catalog, cache_dir=psd_cache)
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(InputError, match="notes.txt: not a subject file"):
        load_subjects([tmp_path / "notes.txt"], catalog, cache_dir=psd_cache)


def test_only_keeps_classes_plus_distractors_and_names_are_unique(tmp_path, catalog, psd_cache):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        psd = new_psd()
        add_layer(psd, "shoe", solid_rgba(4, 4))
        add_layer(psd, "sock", solid_rgba(4, 4))
        add_layer(psd, "plant_1", solid_rgba(4, 4))
        psd.save(tmp_path / sub / "pack.psd")
    subjects = load_subjects([tmp_path], catalog, only={"SOCK"}, cache_dir=psd_cache)
    assert [(s.cls, s.name) for s in subjects] == [
        ("plant", "pack.psd:plant_1"), ("plant", "pack.psd:plant_1#2"),
        ("sock", "pack.psd:sock"), ("sock", "pack.psd:sock#2")]
    with pytest.raises(InputError, match=r"--only: class 'rag' is not in the catalog \(known: "):
        load_subjects([tmp_path], catalog, only=["rag"], cache_dir=psd_cache)
    with pytest.raises(InputError, match="no subjects of class fan"):
        load_subjects([tmp_path], catalog, only=["fan"], cache_dir=psd_cache)


# ------------------------------------------------------------------ cache

def test_cache_hit_returns_equal_arrays_and_corrupt_cache_is_rebuilt(tmp_path, catalog, psd_cache,
                                                                    monkeypatch, caplog):
    psd = new_psd()
    g = Group.new(psd, name="shoe")
    rng = np.random.default_rng(0)
    for i in range(3):
        add_layer(g, f"v{i}", rng.integers(1, 256, (9, 11, 4), dtype=np.uint8), top=i, left=2 * i)
    psd.save(tmp_path / "p.psd")
    first = load_subjects([tmp_path / "p.psd"], catalog, cache_dir=psd_cache)
    files = list(psd_cache.glob("*.npz"))
    assert len(files) == 1 and not list(psd_cache.glob(".*.tmp"))

    calls = []
    real = psd_mod.decode_psd
    monkeypatch.setattr(psd_mod, "decode_psd", lambda *a: calls.append(a) or real(*a))
    second = load_subjects([tmp_path / "p.psd"], catalog, cache_dir=psd_cache)
    assert calls == []  # served from the cache
    assert [(s.cls, s.name, s.pose) for s in first] == [(s.cls, s.name, s.pose) for s in second]
    for a, b in zip(first, second):
        assert a.rgba.dtype == b.rgba.dtype and (a.rgba == b.rgba).all()

    files[0].write_bytes(files[0].read_bytes()[:100])  # damage the cache entry
    with caplog.at_level(logging.WARNING, logger="synth.psd"):
        third = load_subjects([tmp_path / "p.psd"], catalog, cache_dir=psd_cache)
    assert len(calls) == 1 and any("rebuilding" in r.getMessage() for r in caplog.records)
    for a, b in zip(first, third):
        assert (a.rgba == b.rgba).all()
    load_subjects([tmp_path / "p.psd"], catalog, cache_dir=psd_cache)
    assert len(calls) == 1  # the rebuilt entry is good again

    # the key is the content: an edited file misses, and the class is not cached
    psd.opacity = 255
    add_layer(psd, "sock", solid_rgba(3, 3))
    psd.save(tmp_path / "p.psd")
    assert len(load_subjects([tmp_path / "p.psd"], catalog, cache_dir=psd_cache)) == 4
    assert len(calls) == 2 and len(list(psd_cache.glob("*.npz"))) == 2


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOORSYNTH_CACHE", str(tmp_path / "c"))
    assert psd_mod.default_cache_dir() == tmp_path / "c" / "psd"
    monkeypatch.delenv("FLOORSYNTH_CACHE")
    assert psd_mod.default_cache_dir() == Path.home() / ".cache" / "floorsynth" / "psd"


# ------------------------------------------------------------------ summary and CLI

def test_summary_flags_problems(tmp_path, catalog, psd_cache):
    psd = new_psd()
    add_layer(psd, "shoe_tiny", solid_rgba(10, 15))  # longer side 15 < 16, opaque
    big = solid_rgba(20, 40)
    big[0, 0, 3] = 0
    add_layer(psd, "shoe_big [upright]", big, top=20)
    psd.save(tmp_path / "s.psd")
    rows = {r["class"]: r for r in summarize_subjects(
        load_subjects([tmp_path / "s.psd"], catalog, cache_dir=psd_cache), catalog)}
    shoe = rows["shoe"]
    assert shoe["count"] == 2 and shoe["min_px"] == 15 and shoe["max_px"] == 40
    assert shoe["pose"] == "flat x1, upright x1" and shoe["size_m"] == (0.22, 0.32)
    assert shoe["problems"] == ["s.psd:shoe_tiny: tiny (15x10 px)",
                                "s.psd:shoe_tiny: fully opaque (not cut out)"]
    assert rows["fan"]["count"] == 0 and rows["fan"]["problems"] == ["no subjects"]
    assert list(rows)[-1] == "plant"  # distractors last


def test_cli_lists_subjects_and_fails_cleanly(tmp_path, catalog_path, monkeypatch):
    monkeypatch.setenv("FLOORSYNTH_CACHE", str(tmp_path / "cache"))
    psd = new_psd()
    g = Group.new(psd, name="fan")
    add_layer(g, "tower", solid_rgba(40, 20))
    add_layer(g, "gone", solid_rgba(4, 4, alpha=0))
    psd.save(tmp_path / "fans.psd")
    runner = CliRunner()
    res = runner.invoke(main, ["assets", str(tmp_path / "fans.psd"), "--classes",
                               str(catalog_path)])
    assert res.exit_code == 0, res.output
    assert "fans.psd:fan/tower" in res.output and "upright" in res.output
    assert "fans.psd: layer 'fan/gone' is fully transparent" in res.output
    assert "fully opaque" in res.output and "shoe: no subjects" in res.output

    (tmp_path / "broken.psd").write_bytes((tmp_path / "fans.psd").read_bytes()[:300])
    res = runner.invoke(main, ["assets", str(tmp_path / "broken.psd"), "--classes",
                               str(catalog_path)])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {tmp_path / 'broken.psd'}: ")
    assert "Traceback" not in res.output

    res = runner.invoke(main, ["assets", str(tmp_path / "fans.psd"), "--classes",
                               str(tmp_path / "none.yaml")])
    assert res.exit_code == 2 and "none.yaml: no such class catalog" in res.output

    res = runner.invoke(main, ["assets", "--help"])
    assert res.exit_code == 0 and "[upright]" in res.output and "prefix" in res.output
