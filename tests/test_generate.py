"""`synth generate`: byte reproducibility, shards, kill -9 + resume, bad input, CLI."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from synth.cli import main as synth_main
from synth.errors import InputError
from synth.generate import RENDER_VERSION, GenerateConfig, generate, split_assignment
from synth.imageio import read_image
from synth.voc import read_annotation, read_split, read_voc_set


def _cfg(pack, out, **kw) -> GenerateConfig:
    base = dict(view="robot", out=Path(out), n=12, assets=[pack["assets"]],
                backgrounds=pack["backgrounds"], classes=pack["classes"], size=(320, 240),
                distractors=(0, 1), workers=1)
    base.update(kw)
    return GenerateConfig(**base)


def _digest(root: Path) -> dict[str, str]:
    """sha256 of every file of a set, except the run's private state."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".synth" not in p.parts}


@pytest.fixture(scope="module")
def reference(tiny_pack, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "set"
    generate(_cfg(tiny_pack, out), progress=False)
    return out


def test_layout_and_manifest(reference):
    files = _digest(reference)
    assert {"labels.txt", "manifest.jsonl", "ImageSets/Main/train.txt", "ImageSets/Main/val.txt"} <= set(files)
    voc = read_voc_set(reference, check_images=True)
    assert len(voc.images) == 12 and voc.classes == ["box", "pole"]
    lines = [json.loads(x) for x in (reference / "manifest.jsonl").read_text().splitlines()]
    assert [r["image"] for r in lines] == [im.stem for im in voc.images]
    keys = {"image", "seed", "view", "camera", "background", "objects"}
    obj_keys = {"class", "subject", "pose", "distance_m", "yaw_deg", "roll_deg", "size_m", "bbox",
                "visible", "truncated", "blend", "labelled", "difficult"}
    for rec, im in zip(lines, voc.images):
        assert keys <= set(rec) and set(rec["camera"]) == {"height_m", "pitch_deg", "fov_deg"}
        assert all(obj_keys <= set(o) for o in rec["objects"])
        labelled = [o for o in rec["objects"] if o["labelled"] or o["difficult"]]
        assert [(tuple(o["bbox"]), o["difficult"]) for o in labelled] == \
            [(tuple(int(v) for v in o.bbox), o.difficult) for o in im.objects]
        assert all(o["class"] != "leaf" for o in labelled)  # distractors never labelled
    train, val = read_split(reference, "train"), read_split(reference, "val")
    assert len(train) == 10 and len(val) == 2 and not set(train) & set(val)


def test_split_assignment_exact_counts():
    names = split_assignment(101, {"train": 0.7, "val": 0.2, "test": 0.1}, seed=3)
    assert [names.count(k) for k in ("train", "val", "test")] == [71, 20, 10]
    assert names == split_assignment(101, {"train": 0.7, "val": 0.2, "test": 0.1}, seed=3)


def test_seed_fixes_every_byte_for_any_worker_count(tiny_pack, reference, tmp_path):
    out = tmp_path / "w2"
    generate(_cfg(tiny_pack, out, workers=2), progress=False)
    assert _digest(out) == _digest(reference)
    other = tmp_path / "seed1"
    generate(_cfg(tiny_pack, other, seed=1), progress=False)
    assert _digest(other) != _digest(reference)


def test_shards_together_equal_the_whole(tiny_pack, reference, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    r0 = generate(_cfg(tiny_pack, a, shard=(0, 2)), progress=False)
    r1 = generate(_cfg(tiny_pack, b, shard=(1, 2)), progress=False)
    assert not r0.finalized and r0.present == 6 and r1.present == 6
    ref = _digest(reference)
    da, db = _digest(a), _digest(b)
    images = {k for k in ref if k.startswith(("JPEGImages", "Annotations"))}
    assert {k for k in da if k in images} | {k for k in db if k in images} == images
    assert not ({k for k in da if k in images} & {k for k in db if k in images})
    assert all(ref[k] == (da.get(k) or db.get(k)) for k in images)
    lines = sorted((a / "manifest.jsonl").read_text().splitlines() +
                   (b / "manifest.jsonl").read_text().splitlines())
    assert lines == sorted((reference / "manifest.jsonl").read_text().splitlines())
    # Shards writing into one directory: the last one to finish completes the set.
    c = tmp_path / "c"
    generate(_cfg(tiny_pack, c, shard=(1, 2)), progress=False)
    assert generate(_cfg(tiny_pack, c, shard=(0, 2)), progress=False).finalized
    assert _digest(c) == ref


def test_kill_9_then_resume_equals_uninterrupted(tiny_pack, tmp_path):
    n = 60
    out = tmp_path / "killed"
    args = [sys.executable, "-m", "synth.cli", "generate", "--view", "robot", "-n", str(n),
            "--assets", str(tiny_pack["assets"]), "--backgrounds", str(tiny_pack["backgrounds"]),
            "--classes", str(tiny_pack["classes"]), "--size", "320x240", "--workers", "2",
            "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=env)
    deadline = time.time() + 60
    ann = out / "Annotations"
    while time.time() < deadline and (not ann.is_dir() or len(list(ann.glob("*.xml"))) < 8):
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = list(ann.glob("*.xml"))
    assert 8 <= len(done) < n, "the run was not interrupted mid-way"
    # Nothing partial sits under a final name: every final file is whole.
    for p in (out / "JPEGImages").glob("*.jpg"):
        assert read_image(p).shape == (240, 320, 3)
    for p in done:
        read_annotation(p)
    assert not (out / "manifest.jsonl").exists()
    # Rerun the same command: it resumes and the result equals an uninterrupted run.
    assert subprocess.run(args, env=env, capture_output=True).returncode == 0
    whole = tmp_path / "whole"
    generate(_cfg(tiny_pack, whole, n=n, size=(320, 240)), progress=False)
    assert _digest(out) == _digest(whole)
    assert not [p for p in out.rglob("*.tmp")]


def test_rerun_of_finished_set_renders_nothing(tiny_pack, reference):
    before = _digest(reference)
    result = generate(_cfg(tiny_pack, reference), progress=False)
    assert result.written == 0 and result.skipped == 12 and _digest(reference) == before


def test_other_settings_into_same_dir_refused(tiny_pack, reference):
    runner = CliRunner()
    res = runner.invoke(synth_main, ["generate", "--view", "robot", "-n", "12", "--seed", "5",
                                     "--assets", str(tiny_pack["assets"]), "--backgrounds",
                                     str(tiny_pack["backgrounds"]), "--classes",
                                     str(tiny_pack["classes"]), "--size", "320x240",
                                     "--out", str(reference)])
    assert res.exit_code == 2 and "seed" in res.output and len(res.output.strip().splitlines()) == 1


def test_set_made_by_older_renderer_is_refused_not_resumed(tiny_pack, tmp_path):
    out = tmp_path / "old"
    generate(_cfg(tiny_pack, out, n=6), progress=False)
    config = out / ".synth" / "config.json"
    fingerprint = json.loads(config.read_text())
    assert fingerprint["render_version"] == RENDER_VERSION
    # Half-made by this code: resumes (one image missing is rendered again).
    (out / "manifest.jsonl").unlink()
    next(iter(sorted((out / "Annotations").glob("*.xml")))).unlink()
    assert generate(_cfg(tiny_pack, out, n=6), progress=False).written == 1
    # Half-made by code from before render versions (no key) or by another version: refused.
    for old in (None, RENDER_VERSION - 1):
        d = {k: v for k, v in fingerprint.items() if k != "render_version"}
        if old is not None:
            d["render_version"] = old
        config.write_text(json.dumps(d))
        before = _digest(out)
        with pytest.raises(InputError, match=f"another version of synth generate .*version {old or 1}, "
                                             f"this one {RENDER_VERSION}"):
            generate(_cfg(tiny_pack, out, n=6), progress=False)
        assert _digest(out) == before


def _scene_args(pack) -> list[str]:
    """--classes and --backgrounds of a test pack."""
    return ["--classes", str(pack["classes"]), "--backgrounds", str(pack["backgrounds"])]


def _invoke(args):
    res = CliRunner().invoke(synth_main, ["generate", *args])
    return res.exit_code, res.output.strip()


@pytest.mark.parametrize("content,needle", [
    (b"8BPS\x00\x01garbage", "corrupt.psd"),
    (b"", "corrupt.psd"),
])
def test_corrupt_psd_is_one_line_exit_2_nothing_written(tiny_pack, tmp_path, content, needle):
    bad = tmp_path / "corrupt.psd"
    bad.write_bytes(content)
    out = tmp_path / "out"
    code, text = _invoke(["--view", "topdown", "--assets", str(bad), *_scene_args(tiny_pack),
                          "--out", str(out), "-n", "2"])
    assert code == 2 and needle in text and len(text.splitlines()) == 1
    assert not out.exists()


def test_unknown_class_and_unreadable_background(tiny_pack, tmp_path):
    folder = tmp_path / "subjects" / "toaster"
    folder.mkdir(parents=True)
    from synth.imageio import encode_png
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[5:15, 5:15] = 255
    (folder / "t.png").write_bytes(encode_png(rgba))
    out = tmp_path / "out"
    code, text = _invoke(["--view", "topdown", "--assets", str(tmp_path / "subjects"), *_scene_args(tiny_pack),
                          "--out", str(out), "-n", "2"])
    assert code == 2 and "toaster" in text and "box" in text and not out.exists()
    bg = tmp_path / "bg"
    (bg / "floors").mkdir(parents=True)
    (bg / "floors" / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    code, text = _invoke(["--view", "topdown", "--assets", str(tiny_pack["assets"]), "--classes",
                          str(tiny_pack["classes"]), "--backgrounds", str(bg), "--out", str(out),
                          "-n", "2"])
    assert code == 2 and "broken.jpg" in text and len(text.splitlines()) == 1 and not out.exists()


def test_bad_flags_are_one_line(tiny_pack, tmp_path):
    common = ["--assets", str(tiny_pack["assets"]), "--classes", str(tiny_pack["classes"]),
              "--backgrounds", str(tiny_pack["backgrounds"]), "--out", str(tmp_path / "o")]
    for args, needle in ([["--view", "robot", "--objects", "4-2"], "--objects"],
                         [["--view", "robot", "--size", "640by480"], "--size"],
                         [["--view", "robot", "--shard", "2/2"], "--shard"],
                         [["--view", "robot", "--split", "train"], "--split"],
                         [["--view", "robot", "--only", "sock"], "sock"],
                         [[], "--view"]):
        code, text = _invoke(args + common)
        assert code == 2 and needle in text and len(text.splitlines()) == 1, (args, text)
    assert not (tmp_path / "o").exists()


def test_recipe_and_non_ascii_paths(tiny_pack, tmp_path):
    folder = tmp_path / "données" / "jeu été"
    folder.mkdir(parents=True)
    recipe = folder / "recette.yaml"
    recipe.write_text(f"view: topdown\nn: 3\nsize: 160x120\nobjects: 1-2\nout: sortie\n"
                      f"assets: [{tiny_pack['assets']}]\nclasses: {tiny_pack['classes']}\n"
                      f"backgrounds: {tiny_pack['backgrounds']}\nseed: 4\n", encoding="utf-8")
    code, text = _invoke(["--recipe", str(recipe), "-n", "4"])  # the flag wins over the recipe
    assert code == 0, text
    voc = read_voc_set(folder / "sortie", check_images=True)
    assert len(voc.images) == 4 and voc.images[0].width == 160
    assert all(im.stem.startswith("topdown_s4_") for im in voc.images)
    bad = folder / "bad.yaml"
    bad.write_text("view: topdown\nfrobnicate: 3\n")
    code, text = _invoke(["--recipe", str(bad)])
    assert code == 2 and "frobnicate" in text


def test_psd_without_visible_subject_is_one_line_exit_2(tiny_pack, tmp_path):
    from PIL import Image
    from psd_tools import PSDImage
    from psd_tools.api.layers import PixelLayer

    psd = PSDImage.new("RGBA", (32, 32))
    layer = PixelLayer.frompil(Image.new("RGBA", (16, 16), (200, 10, 10, 255)), psd, "box_1")
    psd.append(layer)
    layer.visible = False
    empty = PixelLayer.frompil(Image.new("RGBA", (16, 16), (0, 0, 0, 0)), psd, "box_2")
    psd.append(empty)
    path = tmp_path / "hidden.psd"
    psd.save(path)
    out = tmp_path / "out"
    code, text = _invoke(["--view", "robot", "--assets", str(path), *_scene_args(tiny_pack),
                          "--out", str(out), "-n", "2"])
    assert code == 2 and "hidden.psd" in text and len(text.splitlines()) == 1
    assert not out.exists()


def test_floor_mask_bounds_where_subjects_stand(tiny_pack, tmp_path):
    from synth.compose import ComposeOptions, compose
    from synth.generate import build_library
    from synth.imageio import encode_jpeg, encode_png
    from synth.scene import load_scene_bank

    photo = np.full((480, 640, 3), 120, np.uint8)
    mask = np.zeros((480, 640), np.uint8)
    mask[300:, :320] = 255  # subjects may stand only in the bottom-left quarter
    (tmp_path / "scenes").mkdir()
    (tmp_path / "scenes" / "kitchen.jpg").write_bytes(encode_jpeg(photo))
    (tmp_path / "scenes" / "kitchen_floor.png").write_bytes(encode_png(np.dstack([mask] * 3)))
    bank = load_scene_bank(tmp_path)
    assert len(bank.photos) == 1 and not bank.floors
    lib = build_library(_cfg(tiny_pack, tmp_path / "unused"))
    n = 0
    for seed in range(10):
        comp = compose(lib, bank, ComposeOptions(view="robot", objects=(2, 3)),
                       np.random.default_rng(seed))
        assert comp.background == "scenes/kitchen.jpg"
        for p in comp.objects:
            u, v = comp.camera.project(np.array([[*p.floor_xy, 0.0]]))[0]
            assert 300 <= round(v) < 480 and 0 <= round(u) < 320
            n += 1
    assert n >= 10


def test_synth_never_imports_torch():
    code = ("import sys, synth.cli, synth.generate, synth.effects, synth.preview, synth.stats; "
            "import numpy as np; from synth.effects import DEFAULT_CAMERA, apply_camera; "
            "apply_camera(DEFAULT_CAMERA, np.zeros((8, 8, 3), np.uint8), 1); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_view_and_blend_choices_are_the_library_lists():
    """synth/cli.py spells the choices out (its imports stay light); they must not drift."""
    import click

    from synth.camera import PRESETS
    from synth.cli import main as synth_main
    from synth.paste import BLENDS

    params = {p.name: p for p in synth_main.commands["generate"].params}
    assert isinstance(params["view"].type, click.Choice)
    assert list(params["view"].type.choices) == list(PRESETS)
    assert list(params["blend"].type.choices) == [*BLENDS, "random"]
