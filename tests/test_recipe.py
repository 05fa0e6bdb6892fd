"""`synth generate --recipe`: a recipe's values of the wrong type or out of range are one
`error:` line naming the file and the key (exit 2), never a traceback."""
from __future__ import annotations

import pytest

from synth.errors import InputError
from synth.generate import generate
from synth.recipe import config_from_options, load_recipe
from tests.helpers import one_error_line, run_synth


def test_recipe_pitch_list_is_one_error_line(tmp_path):
    """The issue's report: `pitch: [5, 10]` ended in a Python traceback (exit 1)."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("view: robot\npitch: [5, 10]\n")
    line = one_error_line(run_synth("generate", "--recipe", recipe))
    assert line == f"error: {recipe}: pitch: expected a number, got [5, 10]"
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("text,message", [
    ("out: [1, 2]", "out: expected a path, got [1, 2]"),
    ("classes: 5", "classes: expected a path, got 5"),
    ("assets: [subjects, {a: 1}]", "assets: expected a path or a list of paths"),
    ("only: 281474976710655", "only: expected class names"),
    ("capture_elev: [90, {a: 1}]", "capture_elev: expected degrees"),
    ("split: {train: 0.5, val: {a: 1}}", "split: expected NAME=RATIO"),
    ("distractors: [null, 1]", "distractors: expected MIN-MAX"),
    ("objects: {a: 1}", "objects: expected MIN-MAX"),
    ("size: [64, x]", "size: expected WxH"),
    ("n: [2]", "n: expected a whole number, got [2]"),
    ("seed: 2.5", "seed: expected a whole number, got 2.5"),
    ("height: .nan", "height: expected a finite number, got nan"),
    ("pitch: 1%s" % ("0" * 400), "pitch: expected a finite number, got 1000"),
    ("fov: abc", "fov: expected a number, got 'abc'"),
    ("shadows: 3", "shadows: expected true or false, got 3"),
    ("blend: [alpha]", "blend: expected a word, got ['alpha']"),
    ("shard: {a: 1}", "shard: expected K/N"),
])
def test_recipe_value_of_the_wrong_type_names_file_and_key(tmp_path, text, message):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"view: robot\n{text}\n")
    with pytest.raises(InputError) as err:
        config_from_options(load_recipe(recipe))
    assert str(err.value).startswith(f"{recipe}: {message}")


@pytest.mark.parametrize("opts,message", [
    ({"objects": "2102088204914"}, "--objects: at most 1000 subjects per image"),
    ({"distractors": [0, 10**30]}, "--distractors: at most 1000 subjects per image"),
    ({"n": 10**12}, "-n: at most 100000000 images"),
    ({"size": "100000x48"}, "--size: 100000x48 is too large"),
    ({"height": float("inf")}, "--height: must be a positive, finite number of metres"),
    ({"seed": -1}, "--seed: must be a whole number >= 0"),
    ({"workers": 10**9}, "--workers: at most 1024"),
    ({"jpeg_quality": 0}, "--jpeg-quality: must lie in [1, 100]"),
    ({"min_visible": float("nan")}, "--min-visible: must lie in [0, 1]"),
])
def test_out_of_range_values_are_refused_before_rendering(tmp_path, opts, message):
    """Huge values used to hang (10**12 subjects per image) or crash deep in the renderer."""
    cfg = config_from_options({"view": "robot", "out": str(tmp_path / "out"), **opts})
    with pytest.raises(InputError) as err:
        generate(cfg, progress=False)
    assert str(err.value).startswith(message)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args", [["--view", "robot", "--height", "5"],
                                  ["--view", "robot", "--height", "50", "--pitch", "-45"]])
def test_a_camera_that_sees_no_floor_within_reach_is_one_error_line(tiny_pack, tmp_path, args):
    """A robot-view camera 5 m up sees no floor within the view's 1.8 m: the floor sampler's
    empty row range ended in numpy's 'high - low < 0' (a traceback)."""
    out = tmp_path / "out"
    line = one_error_line(run_synth("generate", *args, "-n", "1", "--size", "64x48",
                                    "--workers", "1", "--assets", tiny_pack["assets"],
                                    "--backgrounds", tiny_pack["backgrounds"],
                                    "--classes", tiny_pack["classes"], "--out", out))
    assert line.startswith(f"error: {' '.join(args)}: the camera sees no floor nearer than "
                           "1.8 m"), line
    assert not out.exists()
