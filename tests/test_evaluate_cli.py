"""`pipeline evaluate`: end to end, bad input (one line, exit 2, nothing written), no torch."""
from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from detector.evaluation.detections import detections_from_list
from pipeline import main
from tests.helpers import make_voc_set, pipeline_imports, pipeline_imports_torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli") / "voc"
    return root, make_voc_set(root, n_images=5)


def run(*args: str):
    return CliRunner().invoke(main, ["evaluate", *args])


def test_writes_the_report(tmp_path, data):
    voc, dets = data
    r = run("--data", str(voc), "--detections", str(dets), "--out", str(tmp_path / "rep"),
            "--voc07", "--conf", "0.4")
    assert r.exit_code == 0, r.output
    assert "mAP50" in r.output
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert rep["ap_rule"] == "VOC2007 11-point" and rep["conf"] == 0.4
    assert rep["detections"] == str(dets)
    for name in ("report.md", "report.html", "plots/pr_curves.png"):
        assert (tmp_path / "rep" / name).is_file()


def test_split_limits_the_images(tmp_path, data):
    voc, dets = data
    main_dir = voc / "ImageSets" / "Main"
    main_dir.mkdir(parents=True, exist_ok=True)
    (main_dir / "val.txt").write_text("im000\nim001\n")
    # im002.. are not in the split, so detections on them name unknown images.
    r = run("--data", str(voc), "--detections", str(dets), "--split", "val",
            "--out", str(tmp_path / "rep"))
    assert r.exit_code == 2 and "unknown image_id" in r.stderr
    subset = [d for d in json.loads(dets.read_text()) if d["image_id"] in ("im000", "im001")]
    (tmp_path / "d.json").write_text(json.dumps(subset))
    r = run("--data", str(voc), "--detections", str(tmp_path / "d.json"), "--split", "val",
            "--out", str(tmp_path / "rep"))
    assert r.exit_code == 0, r.stderr
    assert json.loads((tmp_path / "rep" / "report.json").read_text())["n_images"] == 2


def test_empty_detections_are_valid_and_score_zero(tmp_path, data):
    voc, _ = data
    (tmp_path / "d.json").write_text("[]")
    r = run("--data", str(voc), "--detections", str(tmp_path / "d.json"),
            "--out", str(tmp_path / "rep"))
    assert r.exit_code == 0, r.stderr
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert rep["map50"] == 0 and rep["map"] == 0
    assert all(v in (0, -1) for v in rep["coco_stats"])


def _bad_detections(dets: Path, tmp_path: Path, mutate) -> Path:
    items = json.loads(dets.read_text())
    text = mutate(items)
    path = tmp_path / "bad.json"
    path.write_text(text if isinstance(text, str) else json.dumps(items))
    return path


BAD = {
    "unknown image": (lambda d: d[3].update(image_id="nope"), "unknown image_id"),
    "unknown class": (lambda d: d[2].update(category="unicorn"), "unknown category"),
    "nan box": (lambda d: d[1].update(bbox=[float("nan"), 1, 2, 3]), "NaN"),   # json writes NaN
    "infinite score": (lambda d: d[1].update(score=float("inf")), "finite number"),
    "negative size": (lambda d: d[1].update(bbox=[1, 2, -3, 4]), "negative width"),
    "mixed forms": (lambda d: d[2].update(category_id=d[2].pop("category")),
                    "missing key 'category'"),
    "short bbox": (lambda d: d[0].update(bbox=[1, 2, 3]), "bbox must be 4 numbers"),
    "missing score": (lambda d: d[4].pop("score"), "missing key 'score'"),
    "string score": (lambda d: d[4].update(score="high"), "score must be a finite number"),
    "not a list": (lambda d: json.dumps({"detections": d}), "expected a JSON list"),
    "not json": (lambda d: "[{]", "not valid JSON"),
    "entry not an object": (lambda d: json.dumps(d + [3]), "is not an object"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_detections_one_line_exit_2_nothing_written(tmp_path, data, case):
    voc, dets = data
    mutate, message = BAD[case]
    bad = _bad_detections(dets, tmp_path, mutate)
    r = run("--data", str(voc), "--detections", str(bad), "--out", str(tmp_path / "rep"))
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], r.stderr
    assert str(bad) in lines[0]
    assert not (tmp_path / "rep").exists()


def test_bad_voc_sets(tmp_path, data):
    _, dets = data
    # Not a VOC directory.
    r = run("--data", str(tmp_path / "missing"), "--detections", str(dets),
            "--out", str(tmp_path / "rep"))
    assert r.exit_code == 2 and "no such dataset folder" in r.stderr
    # XML that does not parse.
    voc = tmp_path / "broken"
    make_voc_set(voc, n_images=2)
    (voc / "Annotations" / "im001.xml").write_text("<annotation><size>")
    r = run("--data", str(voc), "--detections", str(tmp_path / "broken_detections.json"),
            "--out", str(tmp_path / "rep"))
    assert r.exit_code == 2 and "im001.xml" in r.stderr and "does not parse" in r.stderr
    # A set with no objects at all.
    empty = tmp_path / "empty"
    make_voc_set(empty, n_images=2)
    for p in (empty / "Annotations").glob("*.xml"):
        text = p.read_text()
        p.write_text(text[:text.index("  <object>")] + "</annotation>\n")
    (tmp_path / "none.json").write_text("[]")
    r = run("--data", str(empty), "--detections", str(tmp_path / "none.json"),
            "--out", str(tmp_path / "rep"))
    assert r.exit_code == 2 and "no objects" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "rep").exists()


def test_model_or_detections_exactly_one(tmp_path, data):
    voc, dets = data
    r = run("--data", str(voc), "--out", str(tmp_path / "rep"))
    assert r.exit_code == 2 and "exactly one of --model" in r.stderr
    r = run("--data", str(voc), "--detections", str(dets), "--model", "x.pt",
            "--out", str(tmp_path / "rep"))
    assert r.exit_code == 2 and "exactly one of --model" in r.stderr


def test_model_without_the_inference_module_is_one_clear_line(tmp_path, data, monkeypatch):
    voc, _ = data
    monkeypatch.setitem(sys.modules, "detector.predict", None)   # import fails
    r = run("--data", str(voc), "--model", str(tmp_path / "best.pt"),
            "--out", str(tmp_path / "rep"))
    assert r.exit_code == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "--model needs" in r.stderr
    assert not (tmp_path / "rep").exists()


def test_model_path_runs_predict_at_low_confidence(tmp_path, data, monkeypatch):
    voc, dets = data
    calls = {}

    def predict_voc_set(ckpt, voc_set, conf=0.25, **kw):
        calls["conf"] = conf
        return detections_from_list(json.loads(dets.read_text()), voc_set)

    fake = types.ModuleType("detector.predict")
    fake.predict_voc_set = predict_voc_set
    monkeypatch.setitem(sys.modules, "detector.predict", fake)
    r = run("--data", str(voc), "--model", str(tmp_path / "best.pt"),
            "--out", str(tmp_path / "rep"))
    assert r.exit_code == 0, r.stderr
    assert calls["conf"] == 0.001
    written = json.loads((tmp_path / "rep" / "detections.json").read_text())
    assert len(written) == len(json.loads(dets.read_text()))


def test_detections_path_never_imports_torch(tmp_path, data):
    voc, dets = data
    assert not pipeline_imports_torch(["evaluate", "--data", str(voc), "--detections",
                                       str(dets), "--out", str(tmp_path / "rep")])
    assert (tmp_path / "rep" / "report.html").is_file()


def test_detections_path_never_imports_matplotlib(tmp_path, data):
    # Its import alone cost more than every metric (issue #12): the plots are drawn with PIL.
    voc, dets = data
    assert not pipeline_imports(["evaluate", "--data", str(voc), "--detections", str(dets),
                                 "--out", str(tmp_path / "rep")], "matplotlib")
    assert (tmp_path / "rep" / "plots" / "confusion.png").is_file()


def test_real_process_prints_exactly_one_line_on_bad_input(tmp_path, data):
    voc, dets = data
    bad = _bad_detections(dets, tmp_path, BAD["unknown class"][0])
    out = subprocess.run([sys.executable, "-m", "pipeline", "evaluate", "--data", str(voc),
                          "--detections", str(bad), "--out", str(tmp_path / "rep")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and out.stderr.startswith(f"error: {bad}: detection #2")
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert not (tmp_path / "rep").exists()
