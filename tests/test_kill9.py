"""Kill -9 anywhere in `pipeline evaluate`, `compare-real`, `ablate`, `synth convert` and while
`synth generate` gathers its index files: the rerun's outputs equal an uninterrupted run's, and
no file under a final name is ever partial.

The process is killed by FLOORSYNTH_KILL_AT_RENAME (synth.fsio): SIGKILL just before it gives
one chosen output its final name, so every state between two renames can be reached on
purpose. The killed runs are real processes; the final rerun and the reference, one
uninterrupted run of the same command line, run in this process, each from its own working
directory so that relative paths match. Left out of the byte comparison, as timing: the `made YYYY-MM-DD HH:MM` line of
report.md/.html; metrics.csv's `images_per_s` and `seconds`, ablate.json's `trained.seconds`,
index.csv's `date` and the TensorBoard events/ (wall-clock logs; a resumed run opens a second
file); checkpoints and .npz files are compared by their arrays (zip entries carry times). Not
timing but left out too: a run directory's config.yaml says `resume: DIR` when the session
that wrote it was a resume.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from pipeline import main as pipeline_main
from synth.cli import main as synth_main
from synth.fsio import KILL_ENV
from synth.imageio import read_image
from tests.helpers import ROOT, make_voc_set

MADE = re.compile(rb"made \d{4}-\d\d-\d\d \d\d:\d\d")
SYNTH_COMMANDS = ("convert", "generate")


def _killed(cwd: Path, argv: list[str], kill: str) -> None:
    """The command in a fresh process, killed at `kill` (see synth.fsio)."""
    cwd.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT), **{KILL_ENV: kill})
    cli = "synth.cli" if argv[0] in SYNTH_COMMANDS else "pipeline"
    r = subprocess.run([sys.executable, "-m", cli, *argv], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == -signal.SIGKILL, (kill, r.returncode, r.stderr[-500:])


def _in_process(cwd: Path, argv: list[str], monkeypatch) -> None:
    """The command run to its end in this process (a rerun, or the uninterrupted run)."""
    cwd.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(cwd)
    monkeypatch.delenv(KILL_ENV, raising=False)
    r = CliRunner().invoke(synth_main if argv[0] in SYNTH_COMMANDS else pipeline_main, argv)
    assert r.exit_code == 0, (r.output, r.exception)


def assert_whole(root: Path) -> None:
    """Every file under a final name is complete (no temp file counts)."""
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name.endswith(".tmp") or "events" in p.parts:
            continue
        data = p.read_bytes()
        if p.suffix == ".json":
            json.loads(data)
        elif p.suffix in (".png", ".jpg"):
            read_image(p)
        elif p.suffix == ".html":
            assert data.endswith(b"</html>\n"), p
        elif p.suffix in (".md", ".csv", ".txt", ".yaml"):
            assert data.endswith(b"\n") or not data, p
        elif p.suffix in (".pt", ".npz"):
            _arrays(p)


def _arrays(p: Path) -> dict[str, str]:
    """{name: digest of dtype, shape and bytes} of an .npz's arrays or a checkpoint's weights."""
    if p.suffix == ".npz":
        with np.load(p) as z:
            arrays = {k: z[k] for k in z.files}
    else:
        import torch

        ckpt = torch.load(p, map_location="cpu", weights_only=False)
        arrays = {k: v.numpy() for k, v in ckpt["model"].items()}
    return {k: hashlib.sha256(f"{a.dtype}{a.shape}".encode() + a.tobytes()).hexdigest()
            for k, a in arrays.items()}


def _csv_without(data: bytes, columns: set[str]) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in columns}
            for row in csv.DictReader(io.StringIO(data.decode()))]


def outputs(root: Path) -> dict[str, object]:
    """What a run wrote, timing fields left out (see the module's docstring)."""
    out: dict[str, object] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if not p.is_file() or {"events", ".synth"} & set(p.parts) or p.suffix == ".lock":
            continue
        data = p.read_bytes()
        if p.suffix in (".pt", ".npz"):
            out[rel] = _arrays(p)
        elif p.name == "metrics.csv":
            out[rel] = _csv_without(data, {"images_per_s", "seconds"})
        elif p.name == "index.csv":
            out[rel] = _csv_without(data, {"date"})
        elif p.name == "ablate.json":
            rec = json.loads(data)
            rec.get("trained", {}).pop("seconds", None)
            out[rel] = rec
        elif p.name == "data.yaml":  # its `path` is where the set lies
            out[rel] = {k: v for k, v in yaml.safe_load(data).items() if k != "path"}
        elif p.name == "config.yaml" and "runs" in p.parts:
            out[rel] = {k: v for k, v in yaml.safe_load(data).items() if k != "resume"}
        else:
            out[rel] = MADE.sub(b"made -", data)
    return out


def _same_after_kills(tmp_path: Path, argv: list[str], kills: list[str], out: str,
                      monkeypatch) -> Path:
    """Kill a run at each point in turn (each a rerun of the last), finish it, compare."""
    work = tmp_path / "killed"
    for point in kills:
        _killed(work, argv, point)
        assert_whole(work / out)
    _in_process(work, argv, monkeypatch)
    _in_process(tmp_path / "whole", argv, monkeypatch)
    got, want = outputs(work / out), outputs(tmp_path / "whole" / out)
    assert sorted(got) == sorted(want)
    for k in want:
        assert got[k] == want[k], k
    assert not list((work / out).rglob("*.tmp"))
    return work


def test_evaluate_killed_then_rerun(tmp_path, monkeypatch):
    dets = make_voc_set(tmp_path / "set")
    argv = ["evaluate", "--data", str(tmp_path / "set"), "--detections", str(dets),
            "--out", "rep"]
    # Before the first output is final, then with all but report.json final.
    _same_after_kills(tmp_path, argv, ["1", "report.json"], "rep", monkeypatch)


def test_compare_real_killed_then_rerun(tmp_path, monkeypatch):
    syn_dets = make_voc_set(tmp_path / "syn", seed=1)
    real_dets = make_voc_set(tmp_path / "real", seed=2)
    argv = ["compare-real", "--synthetic", str(tmp_path / "syn"), "--synthetic-detections",
            str(syn_dets), "--real", str(tmp_path / "real"), "--real-detections",
            str(real_dets), "--out", "cmp"]
    _same_after_kills(tmp_path, argv, ["report.json"], "cmp", monkeypatch)  # all else final


@pytest.mark.parametrize("fmt,kills", [("voc", ["labels.txt", "manifest.jsonl"]),
                                       ("yolo", ["labels", "manifest.jsonl"])])
def test_generate_killed_while_gathering_then_rerun(tiny_pack, tmp_path, monkeypatch, fmt,
                                                    kills):
    argv = ["generate", "--view", "robot", "-n", "6", "--size", "64x48", "--workers", "1",
            "--assets", str(tiny_pack["assets"]), "--backgrounds", str(tiny_pack["backgrounds"]),
            "--classes", str(tiny_pack["classes"]), "--format", fmt, "--out", "set"]
    # YOLO: images/ already replaced, labels/ not yet; then all but manifest.jsonl final.
    _same_after_kills(tmp_path, argv, kills, "set", monkeypatch)


def test_convert_killed_then_rerun(tmp_path, monkeypatch):
    make_voc_set(tmp_path / "src")
    argv = ["convert", str(tmp_path / "src"), "--to", "coco", "--out", "dst"]
    # Inside the staged copy, then just before the staged copy takes the name dst.
    for point in ("instances_train.json", "dst"):
        _killed(tmp_path / "killed", argv, point)
        assert not (tmp_path / "killed" / "dst").exists()
    work = _same_after_kills(tmp_path, argv, [], "dst", monkeypatch)
    assert [p.name for p in work.iterdir()] == ["dst"]  # the killed runs' staging is gone


def test_ablate_killed_before_the_last_checkpoint_then_rerun(tmp_path, monkeypatch):
    make_voc_set(tmp_path / "train", 6, seed=1)
    make_voc_set(tmp_path / "test", 4, seed=2)
    argv = ["ablate", "--regime", f"a={tmp_path / 'train'}", "--test", f"t={tmp_path / 'test'}",
            "--epochs", "2", "--img-size", "64", "--batch-size", "4", "--workers", "0",
            "--seeds", "0", "--boot", "100", "--device", "cpu", "--out", "ab"]
    # Just before the last epoch's best.pt: the rerun resumes from epoch 1's last.pt.
    _same_after_kills(tmp_path, argv, ["best.pt"], "ab", monkeypatch)

    # Killed after the last checkpoint, before the run's row of the experiment log: the
    # rerun's resume has nothing to train but still logs the run, once.
    from detector.experiments.runlog import read_runs
    from detector.training.trainer import resume_config, train

    run = tmp_path / "whole" / "ab" / "runs" / "a-s0"
    (run.parent / "index.csv").unlink()
    for _ in range(2):
        assert train(resume_config(run, {"progress": False})).finished
    assert [r["run"] for r in read_runs(run.parent / "index.csv")] == ["a-s0"]
