"""Which images train and which validate: a set without train.txt trains on the images its
held-out splits (val, test) do not list, and says so; a named split a set lacks is an error."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from detector.data.sets import read_sets, read_training_sets
from detector.experiments.ablate.views import training_set
from synth.errors import InputError
from synth.imageio import encode_jpeg
from synth.layouts import convert, read_dataset
from synth.voc import VocObject
from tests.helpers import write_voc_set

STEMS = [f"im{i}" for i in range(10)]


def voc(root, splits):
    img = encode_jpeg(np.full((40, 40, 3), 90, np.uint8))
    items = [(s, img, [VocObject("a", (1, 1, 9, 9))], (40, 40)) for s in STEMS]
    return write_voc_set(root, items, ["a"], splits)


def test_val_only_set_trains_on_the_other_images_and_says_so(tmp_path, caplog):
    root = voc(tmp_path / "s", {"val": STEMS[:3]})
    with caplog.at_level(logging.INFO):
        train, val = read_training_sets([root])
    assert list(train.stems) == STEMS[3:]   # total - val, not every image
    assert list(val.stems) == STEMS[:3]
    assert not set(train.stems) & set(val.stems)
    said = [r.getMessage() for r in caplog.records if "no train split" in r.getMessage()]
    assert said and "7 images not in val" in said[0], caplog.text


def test_test_and_named_val_split_are_held_out_too(tmp_path):
    root = voc(tmp_path / "s", {"val": STEMS[:2], "test": STEMS[2:4], "hold": STEMS[4:5]})
    assert list(read_sets([root], role="train").stems) == STEMS[4:]
    train, val = read_training_sets([root], val_split="hold")
    assert list(train.stems) == STEMS[5:] and list(val.stems) == STEMS[4:5]


def test_a_set_with_train_txt_or_without_splits_is_as_before(tmp_path):
    with_train = voc(tmp_path / "t", {"train": STEMS[:6], "val": STEMS[6:]})
    assert list(read_sets([with_train]).stems) == STEMS[:6]
    assert list(read_sets([voc(tmp_path / "n", None)]).stems) == STEMS


def test_every_image_held_out_is_an_error(tmp_path):
    root = voc(tmp_path / "s", {"val": STEMS[:5], "test": STEMS[5:]})
    with pytest.raises(InputError, match=r"no train split.*every image is in val, test"):
        read_sets([root])


def test_ablate_regime_of_a_val_only_set_leaves_val_out(tmp_path):
    root = voc(tmp_path / "s", {"val": STEMS[:3]})
    assert [im.stem for im in training_set(root).images] == STEMS[3:]


def test_convert_keeps_the_unlisted_images_as_train(tmp_path):
    root = voc(tmp_path / "s", {"val": STEMS[:3]})
    convert(root, "yolo", tmp_path / "y")
    s = read_dataset(tmp_path / "y")
    assert s.splits == {"train": STEMS[3:], "val": STEMS[:3]}


@pytest.mark.parametrize("flag", ["--split", "--val-split"])
@pytest.mark.parametrize("with_val", [False, True])
def test_naming_a_missing_split_is_an_error_naming_the_flag(tmp_path, flag, with_val):
    """(pipeline train turns it into one `error:` line, exit 2: tests/test_train.py)"""
    root = voc(tmp_path / "s", {"train": STEMS[:6], "val": STEMS[6:]})
    key = {"--split": "split", "--val-split": "val_split"}[flag]
    with pytest.raises(InputError, match=f"^{flag} nosuch: .*nosuch"):
        read_training_sets([root], val=root if with_val else None, **{key: "nosuch"})
