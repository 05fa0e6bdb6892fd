"""synth split: exact interval/random membership, natural order, blocks, class-share warnings."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from synth.cli import main
from synth.errors import InputError
from synth.split import (class_shares, imbalanced_classes, interval_k, natural_key,
                         split_dataset, split_stems)
from synth.voc import read_split, read_voc_set, write_splits
from tests.helpers import box, write_voc


def frames(n: int) -> list[str]:
    return [f"img{i}" for i in range(1, n + 1)]


def balanced_set(root: Path, n: int) -> Path:
    """n images img1..imgN, each with one shoe and one sock."""
    return write_voc(root, {s: (32, 32, [box("shoe", 0, 0, 8, 8), box("sock", 10, 10, 8, 8)])
                            for s in frames(n)}, classes=["shoe", "sock"])


def test_interval_k() -> None:
    assert [interval_k(r) for r in (0.5, 0.75, 0.8, 0.85, 0.9, 0.95)] == [2, 4, 5, 7, 10, 20]
    assert interval_k(0.6) == 3  # 1/0.4 = 2.5 rounds half up


def test_interval_every_kth_in_natural_order() -> None:
    stems = frames(20)[::-1]  # input order must not matter
    s = split_stems(stems, 0.8, "interval")  # k = 5: positions 4, 9, 14, 19
    assert s["val"] == ["img5", "img10", "img15", "img20"]
    assert s["train"] == [x for x in frames(20) if x not in s["val"]]
    # R = 0.85 -> k = 7: positions 6, 13 of 20 frames
    assert split_stems(stems, 0.85, "interval")["val"] == ["img7", "img14"]


def test_natural_key() -> None:
    names = ["img10", "img2", "IMG1", "img1b", "a_10_2", "a_9_10"]
    assert sorted(names, key=natural_key) == ["a_9_10", "a_10_2", "IMG1", "img1b", "img2", "img10"]


def test_interval_blocks_keep_neighbours_together() -> None:
    s = split_stems(frames(20), 0.5, "interval", block=3)  # k = 2, blocks of 3
    # blocks: 1-3, 4-6, 7-9, 10-12, 13-15, 16-18, 19-20 -> odd-numbered blocks go to val
    assert s["val"] == ["img4", "img5", "img6", "img10", "img11", "img12", "img16", "img17", "img18"]
    assert len(s["train"]) == 11


def test_random_exact_count_and_seed() -> None:
    stems = frames(23)
    s = split_stems(stems, 0.8, "random", seed=3)
    assert len(s["val"]) == 5  # round(23 * 0.2) = round(4.6)
    assert sorted(s["train"] + s["val"], key=natural_key) == stems
    assert not set(s["train"]) & set(s["val"])
    assert s == split_stems(stems, 0.8, "random", seed=3)
    assert any(split_stems(stems, 0.8, "random", seed=k)["val"] != s["val"] for k in range(4, 8))
    assert len(split_stems(frames(100), 0.85, "random")["val"]) == 15
    assert len(split_stems(frames(10), 0.75, "random")["val"]) == 3  # 2.5 rounds half up


def test_random_blocks() -> None:
    s = split_stems(frames(20), 0.5, "random", seed=1, block=4)
    assert len(s["val"]) == 12  # round(5 blocks * 0.5) = 3 blocks, half up
    for i in range(0, 20, 4):  # each block lies wholly on one side
        blk = frames(20)[i:i + 4]
        assert set(blk) <= set(s["val"]) or set(blk) <= set(s["train"])


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.5, 1.5])
def test_ratio_out_of_range(ratio: float) -> None:
    with pytest.raises(InputError, match="ratio"):
        split_stems(frames(10), ratio, "random")


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="k=1"):
        split_stems(frames(10), 0.2, "interval")
    with pytest.raises(InputError, match="not a VOC directory"):
        split_dataset(tmp_path, 0.8, "interval")
    (tmp_path / "empty" / "Annotations").mkdir(parents=True)
    with pytest.raises(InputError, match="no annotated images"):
        split_dataset(tmp_path / "empty", 0.8, "interval")
    few = balanced_set(tmp_path / "few", 3)
    with pytest.raises(InputError, match="val empty"):
        split_dataset(few, 0.85, "interval")  # k = 7 > 3 images


def test_test_split_images_are_left_out(tmp_path: Path) -> None:
    root = balanced_set(tmp_path / "v", 12)
    write_splits(root, {"test": ["img1", "img2"]})
    s = split_dataset(root, 0.5, "interval")
    assert s["val"] == ["img4", "img6", "img8", "img10", "img12"]
    assert "img1" not in s["train"] + s["val"]


def test_class_shares_by_hand(tmp_path: Path) -> None:
    root = write_voc(tmp_path / "v", {
        "a": (32, 32, [box("shoe", 0, 0, 4, 4), box("shoe", 5, 5, 4, 4), box("sock", 9, 9, 4, 4)]),
        "b": (32, 32, [box("sock", 0, 0, 4, 4)]),
    }, classes=["shoe", "sock", "fan"])
    shares = class_shares(read_voc_set(root), {"train": ["a"], "val": ["b"]})
    assert shares["train"]["shoe"] == {"objects": 2, "share": pytest.approx(2 / 3)}
    assert shares["val"]["sock"] == {"objects": 1, "share": 1.0}
    assert shares["val"]["fan"] == {"objects": 0, "share": 0.0}


def test_imbalance_warning_and_tolerance(caplog: pytest.LogCaptureFixture) -> None:
    shares = {"train": {"a": {"objects": 50, "share": 0.50}, "b": {"objects": 50, "share": 0.50}},
              "val": {"a": {"objects": 46, "share": 0.46}, "b": {"objects": 54, "share": 0.54}}}
    with caplog.at_level(logging.WARNING, logger="synth.split"):
        assert imbalanced_classes(shares, tolerance=3.0) == ["a", "b"]
    assert len(caplog.records) == 2 and "imbalanced class a" in caplog.records[0].getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="synth.split"):
        assert imbalanced_classes(shares, tolerance=5.0) == []
    assert not caplog.records


def test_cli_planted_imbalance_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # k = 2 puts even-numbered frames in val; plant every sock in the even frames.
    root = write_voc(tmp_path / "v", {
        s: (32, 32, [box("sock" if i % 2 == 0 else "shoe", 0, 0, 8, 8), box("fan", 9, 9, 8, 8)])
        for i, s in enumerate(frames(10), start=1)}, classes=["shoe", "sock", "fan"])
    with caplog.at_level(logging.WARNING, logger="synth.split"):
        res = CliRunner().invoke(main, ["split", str(root), "--ratio", "0.5", "--interval"])
    assert res.exit_code == 0, res.output
    warned = {r.getMessage().split()[2].rstrip(":") for r in caplog.records}
    assert warned == {"shoe", "sock"}
    rows = {ln.split()[0]: ln for ln in res.stdout.splitlines() if ln.split()}
    assert rows["shoe"].split()[1:6] == ["5", "50.0%", "0", "0.0%", "-50.0"]
    assert rows["sock"].endswith("IMBALANCED") and not rows["fan"].endswith("IMBALANCED")
    assert read_split(root, "val") == ["img2", "img4", "img6", "img8", "img10"]
    assert read_split(root, "train") == ["img1", "img3", "img5", "img7", "img9"]


def test_cli_balanced_set_no_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = balanced_set(tmp_path / "v", 20)
    write_splits(root, {"trainval": ["stale"]})
    with caplog.at_level(logging.WARNING, logger="synth.split"):
        res = CliRunner().invoke(main, ["split", str(root), "--ratio", "0.85", "--random",
                                        "--seed", "4"])
    assert res.exit_code == 0, res.output
    assert not caplog.records and "IMBALANCED" not in res.stdout
    assert "agree within 3 points" in res.stdout
    val = read_split(root, "val")
    assert len(val) == 3 and val == split_stems(frames(20), 0.85, "random", seed=4)["val"]
    assert sorted(read_split(root, "trainval"), key=natural_key) == frames(20)
    assert not list((root / "ImageSets" / "Main").glob(".*.tmp"))


def test_cli_errors_exit_2_one_line(tmp_path: Path) -> None:
    root = balanced_set(tmp_path / "v", 10)
    runner = CliRunner()
    for args in (["--ratio", "1.2", "--random"], ["--ratio", "0.1", "--interval"]):
        res = runner.invoke(main, ["split", str(root)] + args)
        assert res.exit_code == 2 and res.stderr.startswith("error: ")
        assert res.stderr.count("\n") == 1
    assert not (root / "ImageSets").exists()
    res = runner.invoke(main, ["split", str(tmp_path / "nothing"), "--ratio", "0.8", "--random"])
    assert res.exit_code == 2 and "nothing" in res.stderr
