"""`synth generate`: shards started together into one --out, and `synth generate --check`."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from synth.check import check_set
from synth.generate import GenerateConfig, generate
from tests.helpers import ROOT, run_synth

N, SIZE = 12, (64, 48)


def _cfg(pack, out: Path, fmt: str = "voc") -> GenerateConfig:
    return GenerateConfig(view="robot", out=out, n=N, assets=[pack["assets"]],
                          backgrounds=pack["backgrounds"], classes=pack["classes"], size=SIZE,
                          workers=1, format=fmt)


def _digest(root: Path) -> dict[str, str]:
    """sha256 of every file of a set but its private state (and data.yaml's absolute path)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file() and ".synth" not in p.parts and p.name != "data.yaml"}


@pytest.fixture(scope="module")
def sets(tiny_pack, tmp_path_factory) -> dict[str, Path]:
    """One uninterrupted single-process run per layout."""
    base = tmp_path_factory.mktemp("whole")
    out = {}
    for fmt in ("voc", "yolo", "coco"):
        out[fmt] = base / fmt
        generate(_cfg(tiny_pack, out[fmt], fmt), progress=False)
    return out


def _shard_args(pack, out: Path, k: int, fmt: str) -> list[str]:
    return [sys.executable, "-m", "synth.cli", "generate", "--view", "robot", "-n", str(N),
            "--size", f"{SIZE[0]}x{SIZE[1]}", "--assets", str(pack["assets"]), "--backgrounds",
            str(pack["backgrounds"]), "--classes", str(pack["classes"]), "--workers", "1",
            "--format", fmt, "--shard", f"{k}/2", "--out", str(out)]


@pytest.mark.parametrize("fmt,repeats", [("voc", 2), ("yolo", 1)])
def test_two_shards_started_together_into_one_out_complete_the_set(tiny_pack, sets, tmp_path,
                                                                  fmt, repeats):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for rep in range(repeats):
        out = tmp_path / f"{fmt}{rep}"
        procs = [subprocess.Popen(_shard_args(tiny_pack, out, k, fmt), env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for k in (0, 1)]
        results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
        assert [rc for rc, _ in results] == [0, 0], [err[-300:] for _, err in results]
        # The last shard to finish gathered every image: the set equals one whole run's.
        assert _digest(out) == _digest(sets[fmt])
        lines = (out / "manifest.jsonl").read_text().splitlines()
        assert len(lines) == N
        check = check_set(out)
        assert check.problems == [] and check.images == N
        assert not list(out.rglob("*.tmp"))


def test_check_passes_every_layout_with_a_one_line_summary(sets):
    for fmt, root in sets.items():
        r = run_synth("generate", "--check", root)
        assert r.exit_code == 0, r.output
        assert len(r.output.strip().splitlines()) == 1
        assert f"{fmt} set OK: {N} images" in r.output


def _xml_box_far_right(xml: Path) -> None:
    text = xml.read_text()
    start = text.index("<xmax>") + len("<xmax>")
    xml.write_text(text[:start] + "999" + text[text.index("</xmax>", start):])


def test_check_names_each_planted_defect_and_exits_2(sets, tmp_path):
    root = tmp_path / "bad"
    shutil.copytree(sets["voc"], root)
    stems = [json.loads(x)["image"] for x in (root / "manifest.jsonl").read_text().splitlines()]
    (root / "Annotations" / f"{stems[0]}.xml").unlink()                     # missing XML
    manifest = root / "manifest.jsonl"
    manifest.write_text("".join(x + "\n" for x in manifest.read_text().splitlines()
                                if json.loads(x)["image"] != stems[1]))    # missing line
    _xml_box_far_right(root / "Annotations" / f"{stems[2]}.xml")          # box outside
    split_files = sorted((root / "ImageSets" / "Main").glob("*.txt"))
    for f in split_files:                                                 # in no split
        f.write_text("".join(s + "\n" for s in f.read_text().split() if s != stems[3]))
    r = run_synth("generate", "--check", root)
    assert r.exit_code == 2
    out = r.output
    assert f"{stems[0]}.jpg: no annotation" in out
    assert f"{stems[1]}.jpg: no line in" in out
    assert f"{stems[2]}.xml: " in out and "lies outside the 64x48 image" in out
    assert f"{stems[3]}.jpg: in no split" in out
    assert "error: " in r.stderr and "4 problem(s)" in r.stderr
    assert not any(s in out for s in stems[4:])  # nothing else is reported


def test_check_yolo_and_coco_defects(sets, tmp_path):
    yolo = tmp_path / "yolo"
    shutil.copytree(sets["yolo"], yolo)
    labels = sorted((yolo / "labels" / "train").glob("*.txt"))
    labels[0].unlink()
    labels[1].write_text("0 1.2 0.5 0.3 0.3\n")
    r = run_synth("generate", "--check", yolo)
    assert r.exit_code == 2
    assert f"{labels[0].stem}.jpg: no label file" in r.output
    assert f"{labels[1]}:1: box" in r.output and "not normalised" in r.output
    coco = tmp_path / "coco"
    shutil.copytree(sets["coco"], coco)
    ann = coco / "annotations" / "instances_val.json"
    doc = json.loads(ann.read_text())
    dropped = doc["images"].pop(0)
    ann.write_text(json.dumps(doc))
    r = run_synth("generate", "--check", coco)
    assert r.exit_code == 2
    assert f"{dropped['file_name']}: no annotation" in r.output


def test_check_is_exclusive_with_rendering(sets):
    r = run_synth("generate", "--check", sets["voc"], "--view", "robot", "-n", "3")
    assert r.exit_code == 2 and "--view" in r.stderr and "-n" in r.stderr
