"""Backgrounds folders (synth.scene): a bad floors/scale.yaml is one error line naming it."""
from __future__ import annotations

import shutil

import pytest

from synth.errors import InputError
from synth.scene import load_scene_bank


@pytest.mark.parametrize("text,problem", [
    ("floor.png: .nan\n", "floor.png: must cover a positive, finite number of metres, got nan"),
    ("floor.png: [1, 2]\n", "floor.png: must cover a positive, finite number of metres"),
    ("floor.png: 0\n", "floor.png: must cover a positive, finite number of metres, got 0"),
    ("floor.png: 1.5\n\x11", "not valid YAML"),
    ("- 1.5\n", "expected a mapping of floor file name to metres"),
])
def test_bad_scale_table_is_one_line_naming_it(tiny_pack, tmp_path, text, problem):
    """A NaN width was taken (`nan <= 0` is false) and a YAML error's text ran over several
    lines."""
    bg = tmp_path / "bg"
    shutil.copytree(tiny_pack["backgrounds"], bg)
    path = bg / "floors" / "scale.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_scene_bank(bg)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and problem in message and "\n" not in message


def test_a_good_scale_table_sets_the_floor_width(tiny_pack, tmp_path):
    bg = tmp_path / "bg"
    shutil.copytree(tiny_pack["backgrounds"], bg)
    (bg / "floors" / "scale.yaml").write_text("floor.png: 1.5\n")
    assert [f.width_m for f in load_scene_bank(bg).floors] == [1.5]
