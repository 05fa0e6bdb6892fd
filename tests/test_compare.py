"""`pipeline compare-real` on labelled real images: planted shifts become findings, matched
classes stay silent (the domains are drawn in tests/compare_domains.py)."""
from __future__ import annotations

import base64
import json
import shutil
import sys
import types
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
from synth.voc import read_voc_set
from tests.compare_domains import CLASSES, make_sets
from tests.helpers import HtmlCollector, pipeline_imports_torch


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    return make_sets(tmp_path_factory.mktemp("compare"))


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
    # real shoes are smaller: a low camera sees them far ahead, a looking-down one from higher
    assert "--view robot" in _finding(comparison, "shoe", "rel_area").suggestion
    assert "raise --height (manifest: camera height" in \
        _finding(comparison, "shoe", "rel_area").suggestion
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
    p = HtmlCollector()
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
