"""synth stats: counts, COCO size buckets and quantiles checked against hand computation."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from synth.cli import main
from synth.errors import InputError
from synth.stats import dataset_stats, format_stats, format_table
from synth.voc import write_splits
from tests.helpers import box, write_voc


@pytest.fixture
def handmade(tmp_path: Path) -> Path:
    return write_voc(tmp_path / "voc", {
        "a": (200, 100, [box("shoe", 0, 0, 20, 20), box("sock", 100, 10, 50, 50, truncated=True)]),
        "b": (200, 200, [box("shoe", 10, 10, 100, 100, difficult=True),
                         box("shoe", 150, 0, 20, 40)]),
        "c": (64, 64, []),
    }, classes=["shoe", "sock", "cable"], splits={"train": ["a", "c"], "val": ["b"]})


def test_counts_and_coco_buckets(handmade: Path) -> None:
    s = dataset_stats(handmade)
    assert list(s) == ["all", "train", "val"]
    a = s["all"]
    assert (a["images"], a["objects"], a["empty_images"]) == (3, 4, 1)
    assert (a["truncated"], a["difficult"]) == (1, 1)
    # 20x20=400 small, 50x50=2500 medium, 100x100=10000 large, 20x40=800 small
    assert a["sizes"] == {"small": 2, "medium": 1, "large": 1}
    assert a["objects_per_image"] == {"mean": pytest.approx(4 / 3), "max": 2}
    shoe, sock, cable = (a["per_class"][c] for c in ("shoe", "sock", "cable"))
    assert (shoe["objects"], shoe["images"], shoe["difficult"], shoe["truncated"]) == (3, 2, 1, 0)
    assert shoe["sizes"] == {"small": 2, "medium": 0, "large": 1}
    assert shoe["share"] == pytest.approx(0.75)
    assert (sock["objects"], sock["truncated"], sock["sizes"]["medium"]) == (1, 1, 1)
    assert cable["objects"] == 0 and cable["aspect_hw"] is None
    assert s["train"]["images"] == 2 and s["train"]["objects"] == 2
    assert s["train"]["per_class"]["shoe"]["objects"] == 1
    assert s["val"]["images"] == 1 and s["val"]["objects"] == 2
    assert s["val"]["sizes"] == {"small": 1, "medium": 0, "large": 1}


def test_quantiles_by_hand(handmade: Path) -> None:
    s = dataset_stats(handmade)["all"]
    # shoe h/w = [1, 1, 2]; linear interpolation at position 2q in the sorted list
    assert s["per_class"]["shoe"]["aspect_hw"] == pytest.approx(
        {"p5": 1.0, "p25": 1.0, "p50": 1.0, "p75": 1.5, "p95": 1.9})
    # relative areas: 400/20000, 2500/20000, 10000/40000, 800/40000 = .02 .125 .25 .02
    # sorted [.02, .02, .125, .25], position 3q
    rel = s["relative_area"]
    assert rel["p50"] == pytest.approx((0.02 + 0.125) / 2)
    assert rel["p5"] == pytest.approx(0.02)
    assert rel["p95"] == pytest.approx(0.125 + 0.85 * 0.125)


def test_size_bucket_boundaries_use_inclusive_pixel_width(tmp_path: Path) -> None:
    # VOC xmin=1..xmax=32 is 32 pixels wide: 32x32 = 1024 is medium (COCO: small < 32^2).
    root = write_voc(tmp_path / "v", {"x": (300, 300, [
        box("a", 0, 0, 32, 32), box("a", 0, 40, 31, 33), box("a", 0, 80, 96, 96),
        box("a", 100, 0, 95, 97)])})
    assert dataset_stats(root)["all"]["sizes"] == {"small": 1, "medium": 2, "large": 1}


def test_split_listing_unknown_image_is_an_input_error(handmade: Path) -> None:
    write_splits(handmade, {"test": ["zzz"]})
    with pytest.raises(InputError, match="test.txt.*zzz"):
        dataset_stats(handmade)


def test_cli_json_and_text(handmade: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["stats", str(handmade), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == json.loads(json.dumps(dataset_stats(handmade)))
    res = runner.invoke(main, ["stats", str(handmade)])
    assert res.exit_code == 0
    assert res.stdout.strip() == format_stats(dataset_stats(handmade))
    shoe_row = next(ln for ln in res.stdout.splitlines() if ln.startswith("shoe"))
    assert shoe_row.split()[:3] == ["shoe", "3", "75.0%"]


def test_cli_bad_dir_one_line_exit_2(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["stats", str(tmp_path / "nope")])
    assert res.exit_code == 2
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("error: ")
    assert "nope" in res.stderr


def test_format_table_aligns_columns() -> None:
    text = format_table(["name", "n"], [["a", 1], ["longer", 100]])
    lines = text.splitlines()
    assert lines == ["name      n", "------  ---", "a         1", "longer  100"]
