"""`pipeline compare-real`: planted shifts become findings, matched classes stay silent.

Two small VOC sets are drawn with cv2 (textured rectangles on textured floors, so crops have
real pixel statistics) together with detections files that find exactly the objects we say.
Planted: real fans tall (synthetic ones wide), real shoes tiny, real bowls at the bottom of
the frame, real rags dark — each missed on real images; socks alike in both and found.
"""
from __future__ import annotations

import base64
import json
import re
import shutil
import sys
import types
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from detector.diagnosis.compare import ALL_CLASSES, Comparison, compare
from detector.evaluation.detections import detections_from_list, read_detections
from detector.diagnosis.suggest import read_manifest, suggest
from detector.diagnosis.shift import (ATTRIBUTES, RECALL_COLLAPSE, SYN_RARE, Region, find_region,
                            shift_score)
from pipeline import main
from synth.imageio import encode_jpeg
from synth.voc import VocObject, read_voc_set
from tests.helpers import pipeline_imports_torch, write_voc_set

CLASSES = ["fan", "sock", "shoe", "bowl", "rag"]
W, H = 320, 240


def _object(cls: str, domain: str, rng: np.random.Generator, planted: bool):
    """(w, h, y_center, grey level, found) of one object."""
    w, h = rng.integers(30, 50, 2)
    yc = rng.uniform(0.25, 0.7)
    level = rng.uniform(110, 200)
    found = True
    if cls == "fan":
        w, h = rng.integers(70, 95), rng.integers(35, 50)            # wide
        if domain == "real" and planted:
            w, h = h, w                                              # tall, missed
            found = False
    elif domain == "real" and planted and cls == "shoe":
        w, h = rng.integers(7, 12, 2)                                # tiny, missed
        found = False
    elif domain == "real" and planted and cls == "bowl":
        yc = rng.uniform(0.82, 0.9)                                  # bottom, missed
        found = False
    elif domain == "real" and planted and cls == "rag":
        level = rng.uniform(25, 45)                                  # dark, missed
        found = False
    return int(w), int(h), yc, level, found


def make_domain(root: Path, domain: str, n_images: int = 36, seed: int = 0,
                planted_share: float = 0.8, floor: tuple[int, int, int] = (130, 130, 130),
                manifest: bool = False) -> Path:
    """A VOC set of one domain and its detections file (returned); optional manifest."""
    rng = np.random.default_rng(seed)
    dets, records, images = [], [], []
    for i in range(n_images):
        stem = f"{domain}{i:03d}"
        img = np.clip(np.array(floor)[None, None] + rng.normal(0, 14, (H, W, 1)), 0, 255)
        img = cv2.GaussianBlur(img.astype(np.uint8), (3, 3), 0)
        objects, manifest_objects = [], []
        # Each image holds one object of each of two or three classes, side by side.
        names = [CLASSES[(i + j) % len(CLASSES)] for j in range(3 if i % 2 else 2)]
        for j, cls in enumerate(names):
            w, h, yc, level, found = _object(cls, domain, rng, rng.random() < planted_share)
            slot = W // len(names)
            x0 = int(j * slot + rng.integers(0, max(1, slot - w)))
            x0 = min(x0, W - w)
            y0 = int(np.clip(yc * H - h / 2, 0, H - h))
            colour = np.array([level, level * 0.9, level * 0.8])
            patch = colour[None, None] + rng.normal(0, 10, (h, w, 1))
            img[y0:y0 + h, x0:x0 + w] = np.clip(patch, 0, 255).astype(np.uint8)
            objects.append(VocObject(cls, (x0 + 1, y0 + 1, x0 + w, y0 + h)))
            manifest_objects.append({"class": cls, "subject": f"{cls}.psd:{cls}/a",
                                     "pose": "flat", "distance_m": 0.8, "yaw_deg": 10.0,
                                     "roll_deg": 0.0, "size_m": 0.3,
                                     "bbox": [x0 + 1, y0 + 1, x0 + w, y0 + h], "visible": 1.0,
                                     "truncated": False, "blend": "alpha", "labelled": True})
            if found:
                jit = rng.normal(0, 1.0, 4)
                dets.append({"image_id": stem, "category": cls,
                             "bbox": [max(0.0, x0 + jit[0]), max(0.0, y0 + jit[1]),
                                      w + jit[2], h + jit[3]],
                             "score": float(rng.uniform(0.6, 0.95))})
        # A low-score false alarm per image keeps the PR curves honest.
        dets.append({"image_id": stem, "category": CLASSES[i % len(CLASSES)],
                     "bbox": [5.0, 5.0, 20.0, 20.0], "score": float(rng.uniform(0.01, 0.2))})
        images.append((stem, encode_jpeg(img, 92), objects, (W, H)))
        records.append({"image": stem, "seed": i, "view": "topdown",
                        "camera": {"height_m": 0.8, "pitch_deg": 88.0, "fov_deg": 65.0},
                        "background": "floors/grey.jpg", "split": "train",
                        "objects": manifest_objects})
    write_voc_set(root, images, CLASSES)
    if manifest:
        (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    path = root.parent / f"{root.name}_detections.json"
    path.write_text(json.dumps(dets))
    return path


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    base = tmp_path_factory.mktemp("compare")
    syn_dets = make_domain(base / "syn", "synthetic", seed=1, manifest=True)
    real_dets = make_domain(base / "real", "real", seed=2, floor=(150, 120, 90))
    return base / "syn", syn_dets, base / "real", real_dets


@pytest.fixture(scope="module")
def comparison(sets):
    syn, syn_dets, real, real_dets = sets
    s, r = read_voc_set(syn), read_voc_set(real)
    return compare(s, read_detections(syn_dets, s), r, read_detections(real_dets, r),
                   conf=0.25, manifest=read_manifest(syn))


def _finding(c, cls, attr):
    hits = [f for f in c.findings if f.cls == cls and f.attribute == attr]
    assert hits, f"no finding for {cls}/{attr}: {[(f.cls, f.attribute) for f in c.findings]}"
    return hits[0]


# ----------------------------------------------------------------------------- planted shifts
def test_tall_real_fans_give_an_aspect_finding_naming_the_upright_pose(comparison):
    f = _finding(comparison, "fan", "aspect")
    assert "pose: upright" in f.suggestion and "classes.yaml" in f.suggestion
    # The manifest says every synthetic fan was pasted flat: the suggestion quotes it.
    assert "all pasted with pose flat (manifest)" in f.suggestion
    r = f.region
    assert r.side == "high" and r.cut > 1.0          # real fans are taller than any synthetic
    assert r.recall <= RECALL_COLLAPSE and r.syn_share <= SYN_RARE
    assert f.evidence.startswith(f"recall {r.recall:.2f} on real fan objects with aspect ≥ ")
    assert comparison.gap["fan"] > 0.4


def test_socks_alike_in_both_domains_get_no_finding(comparison):
    assert not [f for f in comparison.findings if f.cls == "sock"]
    assert abs(comparison.gap["sock"]) < 0.05
    assert all(a.region is None for a in comparison.attributes["sock"].values())


@pytest.mark.parametrize("cls, attr, side", [("shoe", "rel_area", "low"),
                                             ("bowl", "y_center", "high"),
                                             ("rag", "brightness", "low")])
def test_other_planted_shifts(comparison, cls, attr, side):
    f = _finding(comparison, cls, attr)
    assert f.region.side == side and f.shift > 1
    assert f.region.n >= 10 and f.region.found == 0


def test_correlated_findings_are_marked_as_echoes(comparison):
    # Dark real rags also have sharper crop edges (dark patch on a mid-grey floor): that
    # finding holds the same missed objects as the brightness one and says so.
    rag = [f for f in comparison.findings if f.cls == "rag"]
    primary = [f for f in rag if f.overlaps is None]
    assert [f.attribute for f in primary] == ["brightness"]
    for f in rag:
        if f.overlaps:
            assert f.overlaps == "brightness" and "also in the brightness finding" in f.evidence
            assert len(f.missed_objects & primary[0].missed_objects) >= \
                0.8 * len(f.missed_objects)
    # Echoes come after every primary finding.
    flags = [f.overlaps is not None for f in comparison.findings if f.cls != ALL_CLASSES]
    assert flags == sorted(flags)


def test_suggestions_use_generator_terms(comparison):
    # Made with --view topdown (manifest): position and size shifts point to --view robot.
    assert _finding(comparison, "bowl", "y_center").suggestion.startswith(
        "--view robot: synthetic set was made with --view topdown (manifest: camera pitch 88°")
    assert "--view robot" in _finding(comparison, "shoe", "rel_area").suggestion
    assert "backgrounds and lighting like the real ones" in \
        _finding(comparison, "rag", "brightness").suggestion


def test_without_a_manifest_the_aspect_suggestion_still_names_the_pose(comparison):
    f = _finding(comparison, "fan", "aspect")
    text = suggest("aspect", f.region, "fan", None)
    assert "pose: upright for fan in classes.yaml" in text and "manifest" not in text


def _with_views(sets, tmp_path, seen: float, shot: float) -> Comparison:
    """The comparison again, its synthetic manifest saying every object was seen from `seen`
    degrees and rendered from a cut-out shot at `shot`."""
    syn, syn_dets, real, real_dets = sets
    copy = tmp_path / "syn"
    shutil.copytree(syn, copy)
    lines = []
    for line in (copy / "manifest.jsonl").read_text().splitlines():
        rec = json.loads(line)
        for o in rec["objects"]:
            o.update(view_elev_deg=seen + rec["seed"] % 7, capture_elev_deg=shot)
        lines.append(json.dumps(rec))
    (copy / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    s, r = read_voc_set(copy), read_voc_set(real)
    return compare(s, read_detections(syn_dets, s), r, read_detections(real_dets, r),
                   conf=0.25, manifest=read_manifest(copy))


def test_objects_rendered_far_from_their_capture_angle_give_a_view_angle_finding(sets, tmp_path):
    far = _with_views(sets, tmp_path / "far", seen=8.0, shot=90.0)
    views = {f.cls: f for f in far.findings if f.attribute == "view_angle"}
    # the classes whose real recall collapses (fan, shoe, bowl, rag), not the socks
    assert set(views) == {"fan", "shoe", "bowl", "rag"}
    f = views["shoe"]
    assert f.shift == pytest.approx((90 - np.median([8 + k for k in range(7)])) / 20, rel=0.1)
    assert f.suggestion.startswith("photograph shoe from 8–14° above the floor and add them as "
                                   "views ('[elev=10]' in the layer name, or an elev_10/ folder)")
    assert "cut-outs shot at a median 90°" in f.suggestion
    # the fan's tall real boxes: the aspect suggestion asks for side views, not a pose
    assert _finding(far, "fan", "aspect").suggestion.startswith("side views of fan")
    # the report renders it
    from detector.diagnosis.report import comparison_markdown, html_findings
    assert "view_angle" in html_findings(far) and "view_angle" in comparison_markdown(far, "t", [])
    # seen from about where they were shot: no such finding
    near = _with_views(sets, tmp_path / "near", seen=8.0, shot=15.0)
    assert not [f for f in near.findings if f.attribute == "view_angle"]


def test_per_class_table(comparison):
    rows = {r["class"]: r for r in comparison.rows}
    fan = rows["fan"]
    assert fan["dominant_real_error"] == "miss"
    assert fan["recall_synthetic"] == 1.0
    assert fan["recall_real"] < 0.4
    # Misses in the real set are the confusion matrix's background column.
    assert fan["missed_real"] == round(fan["n_real"] * (1 - fan["recall_real"]))
    assert rows["sock"]["recall_real"] == 1.0 and rows["sock"]["mistaken_for"] == {}


def test_image_level_colour_shift_is_a_finding(comparison):
    attrs = {f.attribute for f in comparison.findings if f.cls == ALL_CLASSES}
    # Real floor (150, 120, 90) vs synthetic grey 130: red up, blue down.
    assert "image_colour" in attrs
    assert "image_objects" not in attrs


def test_a_confidence_above_every_score_warns_instead_of_finding(sets, comparison):
    assert comparison.conf_warning() is None
    syn, syn_dets, real, real_dets = sets
    s, r = read_voc_set(syn), read_voc_set(real)
    high = compare(s, read_detections(syn_dets, s), r, read_detections(real_dets, r),
                   conf=0.99)
    assert not [f for f in high.findings if f.cls != ALL_CLASSES]
    assert "finds only 0% of the synthetic objects" in high.conf_warning()
    # Every detection scores below 0.95: the hint is a lower --conf, at the best-F1 point.
    assert "try --conf 0.6" in high.conf_warning()


# ----------------------------------------------------------------------------- the statistics
def test_shift_score_is_wasserstein_over_real_std():
    rng = np.random.default_rng(0)
    real = rng.normal(0.5, 0.1, 2000)
    syn = real + 0.2                               # a pure translation: W1 = 0.2
    score = shift_score(ATTRIBUTES["y_center"], syn, real)
    assert score == pytest.approx(0.2 / real.std(), rel=1e-9)
    # Log-scaled attributes: doubling every aspect ratio is a translation by 1 in log2.
    a = rng.uniform(0.5, 2, 500)
    assert shift_score(ATTRIBUTES["aspect"], 2 * a, a) == \
        pytest.approx(1 / np.log2(a).std(), rel=1e-9)


def test_find_region_is_silent_without_a_collapse():
    rng = np.random.default_rng(1)
    syn, real = rng.uniform(0.5, 2, 200), rng.uniform(0.5, 2, 100)
    a = ATTRIBUTES["aspect"]
    assert find_region(a, syn, real, np.ones(100, bool), 1.0) is None
    # Same distributions, random misses: no tail is both rare in synthetic data and lost.
    assert find_region(a, syn, real, rng.random(100) < 0.6, 1.0) is None
    # Tall real objects missed, but synthetic data covers them too: no finding either.
    found = real < 1.4
    assert find_region(a, syn, real, found, 1.0) is None
    # Once synthetic data stops at 1.2 the tail above it is the finding.
    r = find_region(a, np.minimum(syn, 1.2), real, found, 1.0)
    assert isinstance(r, Region) and r.side == "high" and 1.2 < r.cut <= 1.45
    assert r.found == 0 and r.n == int((real >= r.cut).sum())


def test_a_class_failing_everywhere_is_compared_with_its_synthetic_recall():
    rng = np.random.default_rng(2)
    a = ATTRIBUTES["aspect"]
    syn = rng.uniform(0.8, 2.0, 200)
    real = rng.uniform(0.2, 1.2, 100)          # mostly wider than anything synthetic
    found = rng.random(100) < 0.05             # and almost nothing found, anywhere
    # Against the other real objects the uncovered tail is no worse: silence...
    assert find_region(a, syn, real, found, 0.9) is None
    # ... against the synthetic recall it is the class's collapse.
    r = find_region(a, syn, real, found, 0.9, class_wide=True)
    assert r.side == "low" and r.class_wide and r.ref_recall == 0.9
    assert r.syn_share <= SYN_RARE and r.recall <= RECALL_COLLAPSE


def test_crop_statistics_match_a_direct_computation(comparison):
    syn = comparison.syn
    gt, im = syn.ev.gt, syn.ev.voc_set.images[3]
    from synth.imageio import read_image

    rgb = read_image(syn.ev.voc_set.image_path(im))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    lap = cv2.Laplacian(grey, cv2.CV_32F)
    for g in np.flatnonzero(gt.image == 3):
        x, y, w, h = gt.boxes[g].astype(int)
        crop = grey[y:y + h, x:x + w]
        assert syn.m.objects["brightness"][g] == pytest.approx(crop.mean(), rel=1e-6)
        assert syn.m.objects["contrast"][g] == pytest.approx(crop.std(), rel=1e-4)
        assert syn.m.objects["sharpness"][g] == pytest.approx(lap[y:y + h, x:x + w].var(),
                                                              rel=1e-4)
        assert syn.m.objects["aspect"][g] == pytest.approx(h / w)


# ----------------------------------------------------------------------------- the command
def run(*args: str):
    return CliRunner().invoke(main, ["compare-real", *args])


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs).get("src", ""))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def report(sets, tmp_path_factory):
    syn, syn_dets, real, real_dets = sets
    out = tmp_path_factory.mktemp("rep") / "report"
    r = run("--synthetic", str(syn), "--real", str(real), "--synthetic-detections",
            str(syn_dets), "--real-detections", str(real_dets), "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "fan · aspect: pose: upright" in r.output
    return out


def test_report_json_schema(report):
    rep = json.loads((report / "report.json").read_text())
    for domain in ("synthetic", "real"):
        d = rep[domain]
        assert {"map50", "map", "coco_stats", "per_class"} <= set(d)
        assert len(d["coco_stats"]) == 12
        assert {"ap50", "ap", "n_gt", "precision", "recall", "errors"} <= set(d["per_class"]["fan"])
    assert set(rep["gap"]) == set(CLASSES)
    assert rep["gap"]["fan"] == pytest.approx(rep["synthetic"]["per_class"]["fan"]["ap50"]
                                              - rep["real"]["per_class"]["fan"]["ap50"])
    keys = {"class", "attribute", "synthetic", "real", "shift", "evidence", "suggestion"}
    assert rep["findings"] and all(keys <= set(f) for f in rep["findings"])
    assert all(isinstance(f["shift"], float) for f in rep["findings"])
    assert {"rel_area", "aspect", "y_center", "brightness", "contrast", "sharpness",
            "truncated"} == set(rep["attributes"]["fan"])
    assert rep["per_class"]["fan"]["dominant_real_error"] == "miss"
    assert {"mean_r", "blockiness", "objects", "sharpness"} <= set(rep["domain"])
    assert rep["manifest"] is None or rep["manifest"]["views"] == {"topdown": 36}


def test_html_is_self_contained_and_leads_with_the_gap_table(report):
    page = (report / "report.html").read_text()
    p = _Collector()
    p.feed(page)
    assert p.images and all(s.startswith("data:image/") for s in p.images)
    for src in p.images:
        raw = base64.b64decode(src.split(",", 1)[1])
        assert cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED) is not None
    # The first screen: gap table, then findings, before any plot.
    first_img = page.index("<img")
    assert page.index("<table>") < page.index("Findings: why real images fail") < first_img
    assert page.index("pose: upright for fan") < first_img
    assert "src='http" not in page and 'src="http' not in page
    md = (report / "report.md").read_text()
    assert "## Findings" in md and "fan · aspect" in md and "### Per class" in md
    for name in ("plots/class_fan.png", "plots/real/pr_curves.png",
                 "plots/synthetic/confusion.png"):
        assert (report / name).is_file()


def test_missing_a_detections_file_is_one_line_exit_2(sets, tmp_path):
    syn, syn_dets, real, _ = sets
    r = run("--synthetic", str(syn), "--real", str(real), "--synthetic-detections",
            str(syn_dets), "--out", str(tmp_path / "rep"))
    assert r.exit_code == 2 and "both --synthetic-detections" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run("--synthetic", str(syn), "--real", str(real), "--model", "x.pt",
            "--synthetic-detections", str(syn_dets), "--out", str(tmp_path / "rep"))
    assert r.exit_code == 2 and "not both" in r.stderr
    assert not (tmp_path / "rep").exists()


@pytest.mark.parametrize("case", ["unknown image", "not a VOC set", "bad manifest"])
def test_bad_input_exit_2_nothing_written(sets, tmp_path, case):
    syn, syn_dets, real, real_dets = sets
    if case == "unknown image":
        items = json.loads(real_dets.read_text())
        items[4]["image_id"] = "nope"
        real_dets = tmp_path / "bad.json"
        real_dets.write_text(json.dumps(items))
        message = f"{real_dets}: detection #4: unknown image_id"
    elif case == "not a VOC set":
        real = tmp_path / "missing"
        message = "no such dataset folder"
    else:
        copy = tmp_path / "syn"
        import shutil

        shutil.copytree(syn, copy)
        with open(copy / "manifest.jsonl", "a") as fh:
            fh.write("{not json\n")
        syn, message = copy, "manifest.jsonl: line 37 is not a manifest record"
    r = run("--synthetic", str(syn), "--real", str(real), "--synthetic-detections",
            str(syn_dets), "--real-detections", str(real_dets), "--out", str(tmp_path / "rep"))
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], r.stderr
    assert not (tmp_path / "rep").exists()


def test_model_path_runs_predict_on_both_sets(sets, tmp_path, monkeypatch):
    syn, syn_dets, real, real_dets = sets
    calls = []

    def predict_voc_set(ckpt, voc_set, conf=0.25, **kw):
        calls.append((Path(voc_set.root).name, conf))
        return detections_from_list(json.loads((syn_dets if voc_set.root == syn
                                                else real_dets).read_text()), voc_set)

    fake = types.ModuleType("detector.predict")
    fake.predict_voc_set = predict_voc_set
    monkeypatch.setitem(sys.modules, "detector.predict", fake)
    r = run("--synthetic", str(syn), "--real", str(real), "--model", str(tmp_path / "best.pt"),
            "--out", str(tmp_path / "rep"), "--gallery", "1")
    assert r.exit_code == 0, r.output
    assert calls == [("syn", 0.001), ("real", 0.001)]
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert rep["model"] == str(tmp_path / "best.pt")
    assert any(f["class"] == "fan" and f["attribute"] == "aspect" for f in rep["findings"])
    assert len(json.loads((tmp_path / "rep" / "real_detections.json").read_text())) == \
        len(json.loads(real_dets.read_text()))


def test_detections_path_never_imports_torch(sets, tmp_path):
    syn, syn_dets, real, real_dets = sets
    argv = ["compare-real", "--synthetic", str(syn), "--real", str(real),
            "--synthetic-detections", str(syn_dets), "--real-detections", str(real_dets),
            "--out", str(tmp_path / "rep"), "--gallery", "1"]
    assert not pipeline_imports_torch(argv)
    assert (tmp_path / "rep" / "report.html").is_file()


# ----------------------------------------------------------------------------- unlabelled frames
# The real side as a folder of frames without labels. Planted: frames darker and blurrier,
# and the detector firing on them 4x less often for shoe, its few shoe boxes 3x smaller in
# area; every other class's detections drawn like the synthetic ones.
from detector.diagnosis.frames import read_frames  # noqa: E402
from detector.diagnosis.unlabelled import compare_unlabelled  # noqa: E402


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
    p = _Collector()
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
