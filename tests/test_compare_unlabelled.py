"""`pipeline compare-real --real-unlabelled`: the real side as a folder of frames without labels.

Planted: frames darker and blurrier, and the detector firing on them 4x less often for shoe, its
few shoe boxes 3x smaller in area; every other class's detections drawn like the synthetic ones.
"""
from __future__ import annotations

import json
import re
import shutil
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from detector.diagnosis.compare import ALL_CLASSES
from detector.diagnosis.frames import read_frames
from detector.diagnosis.suggest import read_manifest
from detector.diagnosis.unlabelled import compare_unlabelled
from detector.evaluation.detections import detections_from_list, read_detections
from pipeline import main
from synth.imageio import encode_jpeg
from synth.voc import read_voc_set
from tests.compare_domains import CLASSES, make_domain, make_sets
from tests.helpers import HtmlCollector, pipeline_imports_torch


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    return make_sets(tmp_path_factory.mktemp("compare"))


def run(*args: str):
    return CliRunner().invoke(main, ["compare-real", *args])


def make_frames(base: Path, name: str, seed: int, planted: bool, n_images: int = 60) -> Path:
    """A folder of frames under two sub-folders (or, not planted, a VOC dir) and detections."""
    voc = base / f"{name}_voc"
    dets_path = make_domain(voc, "frame", n_images=n_images, seed=seed, planted_share=0.0)
    dets = json.loads(dets_path.read_text())
    if not planted:
        return voc
    frames = base / name
    for i, src in enumerate(sorted((voc / "JPEGImages").glob("*.jpg"))):
        img = cv2.imread(str(src))
        img = cv2.GaussianBlur((img * 0.55).astype(np.uint8), (0, 0), 2.0)
        dst = frames / ("run1" if i % 2 else "run2") / src.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(dst), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
    kept, shoes = [], 0
    for d in dets:
        if d["category"] == "shoe" and d["score"] >= 0.25:
            shoes += 1
            if shoes % 4:
                continue                      # 3 of 4 shoes go unseen
            x, y, w, h = d["bbox"]
            f = 1 / np.sqrt(3)                # a third of the area, same centre and aspect
            d = dict(d, bbox=[x + w * (1 - f) / 2, y + h * (1 - f) / 2, w * f, h * f])
        kept.append(d)
    (base / f"{name}_detections.json").write_text(json.dumps(kept))
    shutil.rmtree(voc)
    return frames


@pytest.fixture(scope="module")
def frames_sets(sets, tmp_path_factory):
    base = tmp_path_factory.mktemp("frames")
    planted = make_frames(base, "planted", seed=3, planted=True)
    alike = make_frames(base, "alike", seed=4, planted=False)
    return planted, base / "planted_detections.json", alike, base / "alike_voc_detections.json"


def _unlabelled(sets, frames: Path, dets: Path):
    syn, syn_dets = sets[0], sets[1]
    s = read_voc_set(syn)
    f = read_frames(frames, s.classes)
    return compare_unlabelled(s, read_detections(syn_dets, s), f, read_detections(dets, f),
                              conf=0.25, manifest=read_manifest(syn))


@pytest.fixture(scope="module")
def planted_unlabelled(sets, frames_sets):
    return _unlabelled(sets, frames_sets[0], frames_sets[1])


def test_unlabelled_darker_blurrier_frames_give_image_level_findings(planted_unlabelled):
    found = {f.attribute: f for f in planted_unlabelled.findings if f.cls == ALL_CLASSES}
    assert {"image_colour", "image_sharpness"} <= set(found)
    assert "less red" in found["image_colour"].evidence
    assert "less blue" in found["image_colour"].evidence
    assert "blurrier" in found["image_sharpness"].evidence
    assert found["image_sharpness"].suggestion.startswith("real images are blurrier: --blend")
    # label-derived statistics cannot be measured on frames without labels
    names = {d.name for d in planted_unlabelled.domain}
    assert "objects" not in names and "box_area" not in names and "sharpness" in names


def test_unlabelled_fewer_smaller_shoe_detections_give_detection_findings(planted_unlabelled):
    c = planted_unlabelled
    shoe = {f.attribute: f for f in c.findings if f.cls == "shoe"}
    assert set(shoe) == {"detection_rate", "detection_rel_area"}
    rate = shoe["detection_rate"]
    m = re.match(r"the detector fires on real frames (\d+\.\d)x less often than on synthetic "
                 r"images for shoe \(0\.12 vs 0\.50 detections per image", rate.evidence)
    assert m and 3 < float(m.group(1)) < 6, rate.evidence
    assert "the real frames are unlabelled" in rate.evidence and rate.shift > 1
    assert "recall 1.00" in rate.synthetic and rate.real.startswith("0.12 per frame (7 in 60")
    area = shoe["detection_rel_area"]
    m = re.match(r"the few real shoe detections are (\d+\.\d)x smaller in the frame",
                 area.evidence)
    assert m and 2.5 < float(m.group(1)) < 4.5, area.evidence
    # made with --view topdown (manifest): both point to --view robot, quoting the manifest
    for f in (rate, area):
        assert f.suggestion.startswith("--view robot: synthetic set was made with --view "
                                       "topdown (manifest: camera pitch 88°")
    # every other class is detected alike: silence
    assert not [f for f in c.findings if f.cls not in ("shoe", ALL_CLASSES)]
    rows = {r["class"]: r for r in c.rows}
    assert rows["shoe"]["rate_ratio"] < 0.5 and 0.6 < rows["sock"]["rate_ratio"] < 1.6


def test_alike_unlabelled_domains_give_no_finding(sets, frames_sets):
    c = _unlabelled(sets, frames_sets[2], frames_sets[3])   # a VOC dir: its JPEGImages
    assert len(c.frames.images) == 60 and all(not im.objects for im in c.frames.images)
    assert c.findings == [], [(f.cls, f.attribute, f.evidence) for f in c.findings]


def test_frames_folder_rules(tmp_path):
    img = encode_jpeg(np.full((24, 32, 3), 90, np.uint8))
    for rel in ("a/x.jpg", "a/b/y.JPG", "z.png", "z_floor.png", ".hidden/w.jpg", "notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(img)
    f = read_frames(tmp_path, ["shoe"])
    assert [im.stem for im in f.images] == ["y", "x", "z"]          # sorted by path
    assert f.image_path(f.images[0]) == (tmp_path / "a/b/y.JPG").resolve()
    assert (f.images[0].width, f.images[0].height) == (32, 24)
    (tmp_path / "a" / "z.jpg").write_bytes(img)
    with pytest.raises(Exception, match="frame name 'z' also used by"):
        read_frames(tmp_path, ["shoe"])


@pytest.fixture(scope="module")
def unlabelled_report(sets, frames_sets, tmp_path_factory):
    syn, syn_dets = sets[0], sets[1]
    out = tmp_path_factory.mktemp("urep") / "report"
    r = run("--synthetic", str(syn), "--real-unlabelled", str(frames_sets[0]),
            "--synthetic-detections", str(syn_dets), "--real-detections", str(frames_sets[1]),
            "--out", str(out), "--gallery", "2")
    assert r.exit_code == 0, r.output
    assert "unlabelled (no AP)" in r.output and "shoe · detection_rate: --view robot" in r.output
    return out


def test_unlabelled_report_schema(unlabelled_report):
    rep = json.loads((unlabelled_report / "report.json").read_text())
    assert rep["unlabelled"] is True and rep["gap"] == {}
    assert {"map50", "map", "coco_stats", "per_class"} <= set(rep["synthetic"])
    real = rep["real"]
    assert real["labelled"] is False and real["map50"] is None and "no AP" in real["note"]
    assert real["n_images"] == 60 and real["per_class"]["shoe"]["detections"] >= 5
    keys = {"class", "attribute", "synthetic", "real", "shift", "evidence", "suggestion"}
    assert rep["findings"] and all(keys <= set(f) for f in rep["findings"])
    assert {(f["class"], f["attribute"]) for f in rep["findings"]} >= \
        {("shoe", "detection_rate"), ("shoe", "detection_rel_area"), ("*", "image_sharpness")}
    assert set(rep["detections"]["shoe"]) == {"score", "rel_area", "aspect", "y_center"}
    assert rep["real_unlabelled"] and rep["real_data"] is None


def test_unlabelled_report_says_so_first_and_is_self_contained(unlabelled_report):
    page = (unlabelled_report / "report.html").read_text()
    p = HtmlCollector()
    p.feed(page)
    assert p.images and all(s.startswith("data:image/") for s in p.images)
    assert page.index("Real side unlabelled") < page.index("<table>") < \
        page.index("Findings: what differs on real frames") < page.index("<img")
    assert "AP50 gap" not in page and "src='http" not in page
    md = (unlabelled_report / "report.md").read_text()
    assert "**Real side unlabelled.**" in md and "shoe · detection_rel_area" in md
    assert (unlabelled_report / "plots" / "detections_shoe.png").is_file()


@pytest.mark.parametrize("case", ["both", "neither", "real split", "unknown frame", "no frames"])
def test_unlabelled_bad_input_is_one_line_exit_2_nothing_written(sets, frames_sets, tmp_path,
                                                                 case):
    syn, syn_dets, real, _ = sets
    frames, dets = frames_sets[0], frames_sets[1]
    real_args = ["--real-unlabelled", str(frames)]
    if case == "both":
        real_args += ["--real", str(real)]
        message = "give either --real DIR (a labelled VOC set) or --real-unlabelled DIR"
    elif case == "neither":
        real_args = []
        message = "give --real DIR (a labelled VOC set) or --real-unlabelled DIR"
    elif case == "real split":
        real_args += ["--real-split", "val"]
        message = "--real-split selects a split of --real"
    elif case == "unknown frame":
        items = json.loads(dets.read_text())
        items[2]["image_id"] = "nope"
        dets = tmp_path / "bad.json"
        dets.write_text(json.dumps(items))
        message = f"{dets}: detection #2: unknown image_id 'nope'"
    else:
        (tmp_path / "empty").mkdir()
        real_args = ["--real-unlabelled", str(tmp_path / "empty")]
        message = "no frames (jpg, jpeg, png"
    r = run("--synthetic", str(syn), *real_args, "--synthetic-detections", str(syn_dets),
            "--real-detections", str(dets), "--out", str(tmp_path / "rep"))
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], r.stderr
    assert not (tmp_path / "rep").exists()


def test_unlabelled_model_path_runs_predict_on_the_frames(sets, frames_sets, tmp_path,
                                                          monkeypatch):
    syn, syn_dets = sets[0], sets[1]
    frames, dets = frames_sets[0], frames_sets[1]
    calls = []

    def predict_voc_set(ckpt, voc_set, conf=0.25, **kw):
        calls.append((Path(voc_set.root).name, len(voc_set.images), conf))
        return detections_from_list(json.loads((syn_dets if voc_set.root == syn
                                                else dets).read_text()), voc_set)

    fake = types.ModuleType("detector.predict")
    fake.predict_voc_set = predict_voc_set
    monkeypatch.setitem(sys.modules, "detector.predict", fake)
    r = run("--synthetic", str(syn), "--real-unlabelled", str(frames), "--model",
            str(tmp_path / "best.pt"), "--out", str(tmp_path / "rep"), "--gallery", "0")
    assert r.exit_code == 0, r.output
    assert calls == [("syn", 36, 0.001), ("planted", 60, 0.001)]
    written = json.loads((tmp_path / "rep" / "real_detections.json").read_text())
    assert len(written) == len(json.loads(dets.read_text()))
    assert {d["image_id"] for d in written} <= {p.stem for p in frames.rglob("*.jpg")}


def test_unlabelled_detections_path_never_imports_torch(sets, frames_sets, tmp_path):
    syn, syn_dets = sets[0], sets[1]
    argv = ["compare-real", "--synthetic", str(syn), "--real-unlabelled", str(frames_sets[0]),
            "--synthetic-detections", str(syn_dets), "--real-detections", str(frames_sets[1]),
            "--out", str(tmp_path / "rep"), "--gallery", "1"]
    assert not pipeline_imports_torch(argv)
    assert (tmp_path / "rep" / "report.html").is_file()


def test_frame_statistics_sample_a_large_folder_evenly(frames_sets):
    from detector.diagnosis.unlabelled import LABEL_FREE_STATS, frame_statistics

    f = read_frames(frames_sets[0], CLASSES)
    stats = frame_statistics(f, limit=7)
    assert set(stats) == set(LABEL_FREE_STATS) and all(len(v) == 7 for v in stats.values())
