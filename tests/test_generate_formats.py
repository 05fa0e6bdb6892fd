"""`synth generate --format yolo|coco`: the layout read back, equal to `synth convert` of the VOC
set of the same seed, byte-reproducible, resumable and shardable; a bad value is one line."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from synth.cli import main as synth_main
from synth.generate import GenerateConfig, generate
from synth.layouts import convert, detect_layout, read_dataset
from synth.recipe import config_from_options, load_recipe


def _cfg(pack, out, **kw) -> GenerateConfig:
    base = dict(view="robot", out=Path(out), n=10, assets=[pack["assets"]],
                backgrounds=pack["backgrounds"], classes=pack["classes"], size=(320, 240),
                distractors=(0, 1), workers=1, split={"train": 0.7, "val": 0.3})
    base.update(kw)
    return GenerateConfig(**base)


def _files(root: Path) -> dict[str, str]:
    """sha256 of every file of a set outside .synth; data.yaml without its absolute `path`."""
    out = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file() or ".synth" in p.relative_to(root).parts:
            continue
        data = p.read_bytes()
        if p.name == "data.yaml":
            doc = yaml.safe_load(data)
            assert Path(doc.pop("path")) == root.resolve()
            data = json.dumps(doc, sort_keys=True).encode()
        out[str(p.relative_to(root))] = hashlib.sha256(data).hexdigest()
    return out


@pytest.fixture(scope="module")
def sets(tiny_pack, tmp_path_factory):
    """The same seed generated as VOC, YOLO and COCO."""
    base = tmp_path_factory.mktemp("formats")
    out = {}
    for fmt in ("voc", "yolo", "coco"):
        out[fmt] = base / fmt
        result = generate(_cfg(tiny_pack, out[fmt], format=fmt), progress=False)
        assert result.finalized and result.present == 10
    return out


@pytest.mark.parametrize("fmt", ["voc", "yolo", "coco"])
def test_each_format_reads_back_with_the_manifest_boxes(sets, fmt):
    root = sets[fmt]
    assert detect_layout(root) == fmt
    got = read_dataset(root)
    assert got.classes == ["box", "pole"]
    records = [json.loads(x) for x in (root / "manifest.jsonl").read_text().splitlines()]
    assert sorted(r["image"] for r in records) == sorted(im.stem for im in got.images)
    by_stem = {im.stem: im for im in got.images}
    n_boxes = 0
    for rec in records:
        want = [(o["class"], o["bbox"]) for o in rec["objects"] if o["labelled"]]
        have = [(o.name, o.bbox) for o in by_stem[rec["image"]].objects]
        assert [c for c, _ in have] == [c for c, _ in want]
        for (_, a), (_, b) in zip(have, want):
            assert max(abs(float(x) - float(y)) for x, y in zip(a, b)) <= 1e-3 * 320
        n_boxes += len(want)
        assert rec["image"] in got.splits[rec["split"]]
    assert n_boxes > 0
    assert {k: len(v) for k, v in got.splits.items()} == {"train": 7, "val": 3}


@pytest.mark.parametrize("fmt", ["yolo", "coco"])
def test_generate_format_equals_convert_of_the_voc_set(sets, fmt, tmp_path):
    converted = tmp_path / fmt
    convert(sets["voc"], fmt, converted)
    mine = _files(sets[fmt])
    theirs = _files(converted)
    assert set(mine) == set(theirs) | {"manifest.jsonl"}
    assert all(mine[k] == theirs[k] for k in theirs)
    assert not (sets[fmt] / "JPEGImages").exists() and not (sets[fmt] / "Annotations").exists()
    voc_images = _files(sets["voc"])
    assert mine["manifest.jsonl"] == voc_images["manifest.jsonl"]


@pytest.mark.parametrize("fmt", ["yolo", "coco"])
def test_bytes_fixed_by_seed_for_any_worker_count(tiny_pack, sets, fmt, tmp_path):
    out = tmp_path / "w2"
    generate(_cfg(tiny_pack, out, format=fmt, workers=2), progress=False)
    assert _files(out) == _files(sets[fmt])
    other = tmp_path / "seed1"
    generate(_cfg(tiny_pack, other, format=fmt, seed=1), progress=False)
    assert _files(other) != _files(sets[fmt])


@pytest.mark.parametrize("fmt", ["yolo", "coco"])
def test_shards_and_resume_into_one_folder(tiny_pack, sets, fmt, tmp_path):
    out = tmp_path / "shared"
    first = generate(_cfg(tiny_pack, out, format=fmt, shard=(1, 2)), progress=False)
    assert not first.finalized and first.present == 5
    assert len(read_dataset(out).images) == 5  # the partial set is a readable set
    last = generate(_cfg(tiny_pack, out, format=fmt, shard=(0, 2)), progress=False)
    assert last.finalized and _files(out) == _files(sets[fmt])
    # A rerun of the whole run (as after a kill) renders nothing and changes nothing.
    again = generate(_cfg(tiny_pack, out, format=fmt), progress=False)
    assert again.written == 0 and again.skipped == 10 and _files(out) == _files(sets[fmt])
    assert not list((out / ".synth").glob("*.tmp"))


def test_other_format_into_same_folder_refused(tiny_pack, sets):
    from synth.errors import InputError

    with pytest.raises(InputError, match="format"):
        generate(_cfg(tiny_pack, sets["yolo"], format="coco"), progress=False)


def test_format_in_a_recipe_and_bad_value_is_one_line(tiny_pack, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("view: robot\nformat: coco\n")
    assert config_from_options(load_recipe(recipe)).format == "coco"
    out = tmp_path / "o"
    res = CliRunner().invoke(synth_main, [
        "generate", "--view", "robot", "--format", "xml", "--assets", str(tiny_pack["assets"]),
        "--classes", str(tiny_pack["classes"]), "--backgrounds", str(tiny_pack["backgrounds"]),
        "--out", str(out), "-n", "2"])
    text = res.output.strip()
    assert res.exit_code == 2 and "--format" in text and len(text.splitlines()) == 1, text
    assert not out.exists()
