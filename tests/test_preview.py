"""synth preview: sheet geometry, boxes drawn in their class colour where they belong, the CLI."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from synth.cli import main
from synth.errors import InputError
from synth.imageio import encode_jpeg, read_image
from synth.draw import class_colour
from synth.preview import CAPTION_H, contact_sheet
from synth.voc import VocObject, read_voc_set
from tests.helpers import box, write_voc

GREY = (128, 128, 128)


@pytest.fixture
def one_image(tmp_path: Path) -> Path:
    # 64x48 image in a 128 thumb: scale 2, no horizontal pad, 16 px pad above and below.
    return write_voc(tmp_path / "one", {"im": (64, 48, [
        box("shoe", 10, 8, 20, 20),                    # pixels x 10..29, y 8..27
        box("sock", 40, 30, 16, 10, truncated=True),   # pixels x 40..55, y 30..39
    ])}, classes=["cable", "shoe", "sock"], color=GREY)


def test_sheet_size_is_rows_by_cols_of_tiles(tmp_path: Path) -> None:
    root = write_voc(tmp_path / "five", {f"f{i}": (40, 30, []) for i in range(5)})
    sheet = contact_sheet(root, n=5, cols=2, thumb=64)
    assert sheet.shape == (3 * (64 + CAPTION_H), 2 * 64, 3) and sheet.dtype == np.uint8
    # fewer images than columns: the sheet is only as wide as it needs to be
    assert contact_sheet(root, n=3, cols=6, thumb=64).shape == (64 + CAPTION_H, 3 * 64, 3)


def test_box_edges_drawn_in_class_colour_at_scaled_position(one_image: Path) -> None:
    sheet = contact_sheet(one_image, n=1, cols=1, thumb=128)
    shoe = class_colour(1)  # index of "shoe" in labels.txt
    # continuous box x 10..30, y 8..28 scaled by 2 and shifted down by 16:
    # left edge column 20, right edge column 59, rows 32..71
    for y in (45, 55, 65):
        assert tuple(sheet[y, 20]) == shoe
        assert tuple(sheet[y, 59]) == shoe
    assert tuple(sheet[71, 40]) == shoe           # bottom edge
    inside = sheet[45:65, 26:54].reshape(-1, 3)   # the box's interior is the image
    assert np.abs(inside.astype(int) - GREY).max() <= 3
    assert tuple(sheet[45, 16]) != shoe           # left of the box


def test_truncated_box_is_dashed(one_image: Path) -> None:
    sheet = contact_sheet(one_image, n=1, cols=1, thumb=128)
    sock = class_colour(2)
    # sock: continuous x 40..56 -> 80..112 (bottom edge row 16 + 80 - 1 = 95)
    bottom = [tuple(p) == sock for p in sheet[95, 80:112]]
    assert any(bottom) and not all(bottom)


def test_colours_follow_class_index_not_order_of_appearance(tmp_path: Path) -> None:
    root = write_voc(tmp_path / "v", {"im": (64, 48, [box("sock", 10, 8, 20, 20)])},
                     classes=["cable", "shoe", "sock"], color=GREY)
    sheet = contact_sheet(root, n=1, cols=1, thumb=128)
    assert tuple(sheet[50, 20]) == class_colour(2)
    assert len({class_colour(i) for i in range(40)}) == 40


def test_seeded_sample_is_reproducible(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    root = write_voc(tmp_path / "v", {f"f{i}": (32, 32, []) for i in range(10)})
    for i in range(10):  # make images distinguishable
        img = np.full((32, 32, 3), int(rng.integers(0, 255)), np.uint8)
        (root / "JPEGImages" / f"f{i}.jpg").write_bytes(encode_jpeg(img))
    a = contact_sheet(root, n=3, thumb=32, seed=1)
    assert np.array_equal(a, contact_sheet(root, n=3, thumb=32, seed=1))
    first = contact_sheet(root, n=3, thumb=32, seed=None)
    assert any(not np.array_equal(contact_sheet(root, n=3, thumb=32, seed=s), first)
               for s in range(5))


def test_split_filter_and_voc_set_input(one_image: Path) -> None:
    write_voc(one_image, {"other": (64, 48, [])}, splits={"val": ["other"]}, color=(0, 0, 0))
    voc = read_voc_set(one_image)
    assert contact_sheet(voc, n=10, cols=10, thumb=64).shape[1] == 2 * 64
    only_val = contact_sheet(voc, n=10, cols=10, thumb=64, split="val")
    assert only_val.shape[1] == 64
    assert np.array_equal(only_val, contact_sheet(one_image, n=10, thumb=64, split="val"))


def test_missing_image_is_an_input_error(one_image: Path) -> None:
    (one_image / "JPEGImages" / "im.jpg").unlink()
    with pytest.raises(InputError, match="im"):
        contact_sheet(one_image)


def test_cli_writes_png(one_image: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["preview", str(one_image), "--thumb", "128"])
    assert res.exit_code == 0, res.output
    out = one_image / "preview.png"
    assert str(out) in res.stdout
    assert read_image(out).shape == (128 + CAPTION_H, 128, 3)
    assert not list(one_image.glob(".*.tmp"))
    custom = tmp_path / "sub" / "sheet.png"
    res = runner.invoke(main, ["preview", str(one_image), "--out", str(custom), "-n", "1",
                               "--cols", "1", "--thumb", "96"])
    assert res.exit_code == 0 and read_image(custom).shape == (96 + CAPTION_H, 96, 3)


def test_cli_bad_dir_one_line_exit_2(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["preview", str(tmp_path / "missing")])
    assert res.exit_code == 2
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1
    assert "missing" in res.stderr
    assert not (tmp_path / "missing").exists()


def test_label_has_filled_background_above_box(tmp_path: Path) -> None:
    root = write_voc(tmp_path / "v", {"im": (64, 48, [
        VocObject("shoe", (11, 30, 30, 40), difficult=True)])}, classes=["cable", "shoe"],
        color=GREY)
    sheet = contact_sheet(root, n=1, cols=1, thumb=128)
    top = 16 + 2 * 29  # the box's top edge row; the label sits on the rows just above it
    label = sheet[top - 10:top - 1, 22:40].reshape(-1, 3)
    assert np.all(label == class_colour(1), axis=1).mean() > 0.3
    above_label = sheet[top - 40:top - 30, 22:40].reshape(-1, 3)
    assert np.abs(above_label.astype(int) - GREY).max() <= 3


def test_sheet_too_large_is_one_error_line(one_image: Path, tmp_path: Path) -> None:
    """A huge --thumb used to end in numpy's ValueError 'array is too big' (a traceback)."""
    res = CliRunner().invoke(main, ["preview", str(one_image), "--out", str(tmp_path / "s.png"),
                                    "--thumb", "100000000000"])
    assert res.exit_code == 2, res.output
    assert res.stderr == ("error: --thumb 100000000000: the sheet would be 100000000000x"
                          "100000000020 pixels (at most 20000 a side): lower -n, --cols or "
                          "--thumb\n")
    assert not (tmp_path / "s.png").exists()


def test_box_far_outside_the_image_is_drawn_clipped(tmp_path: Path) -> None:
    """A COCO box whose corner lies at 1e15 px (no image size to check it against) used to
    crash OpenCV's rectangle (coordinates beyond int32)."""
    root = write_voc(tmp_path / "v", {"im": (64, 48, [])}, classes=["shoe"], color=GREY)
    voc = read_voc_set(root)
    voc.images[0].objects.append(VocObject("shoe", (11.0, 9.0, 1e15, 1e15)))
    voc.images[0].objects.append(VocObject("shoe", (-1e15, 9.0, 20.0, 30.0), truncated=True))
    sheet = contact_sheet(voc, n=1, cols=1, thumb=128)
    assert tuple(sheet[40, 20]) == class_colour(0)  # the left edge of the first box
