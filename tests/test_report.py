"""The evaluation report: JSON schema, Markdown tables, self-contained HTML whose images decode."""
from __future__ import annotations

import base64
import json

import cv2
import numpy as np
import pytest

from detector.evaluation.detections import read_detections
from detector.evaluation.evaluate import evaluate
from detector.evaluation.metrics import COCO_STAT_NAMES
from detector.evaluation.report import render_report, write_report
from synth.voc import read_voc_set
from tests.helpers import SHAPES as CLASSES, HtmlCollector, make_voc_set

@pytest.fixture(scope="module")
def evaluation(tmp_path_factory):
    root = tmp_path_factory.mktemp("report") / "voc"
    det_path = make_voc_set(root)
    voc_set = read_voc_set(root)
    return evaluate(voc_set, read_detections(det_path, voc_set))


@pytest.fixture(scope="module")
def files(evaluation):
    return render_report(evaluation, title="Test report", lines=["data: x"])


def test_json_has_the_design_schema(files, evaluation):
    rep = json.loads(files["report.json"])
    assert rep["map50"] == pytest.approx(evaluation.map50)
    assert rep["map"] == pytest.approx(evaluation.coco.stats[0])
    assert len(rep["coco_stats"]) == 12
    assert set(rep["per_class"]) == set(CLASSES)
    for row in rep["per_class"].values():
        assert {"ap50", "ap", "n_gt", "precision", "recall", "errors"} <= set(row)
        assert set(row["errors"]) == {"cls", "loc", "both", "dupe", "bkg", "miss"}
        assert all(isinstance(v, int) for v in row["errors"].values())
    m = np.array(rep["confusion"]["matrix"])
    assert m.shape == (len(CLASSES) + 1,) * 2


def test_html_parses_and_every_image_decodes(files):
    page = files["report.html"].decode("utf-8")
    parser = HtmlCollector()
    parser.feed(page)
    parser.close()
    assert parser.tags[0] == "html" and "table" in parser.tags and "errors" in parser.ids
    # Self-contained: every image is an inline data URI that decodes to pixels.
    assert len(parser.images) >= 4
    for src in parser.images:
        assert src.startswith("data:image/png;base64,") or src.startswith(
            "data:image/jpeg;base64,")
        pixels = cv2.imdecode(np.frombuffer(base64.b64decode(src.split(",", 1)[1]), np.uint8),
                              cv2.IMREAD_COLOR)
        assert pixels is not None and pixels.shape[0] > 20 and pixels.shape[1] > 20
    assert "http://" not in page and "https://" not in page


def test_markdown_has_tables_and_the_12_coco_names(files):
    md = files["report.md"].decode("utf-8")
    for name in COCO_STAT_NAMES:
        assert name in md
    for c in CLASSES:
        assert f"| {c} |" in md
    assert "| true \\ pred |" in md


def test_gallery_draws_objects_and_detections(evaluation, files):
    # The worst image is drawn with green objects and red detections.
    page = files["report.html"].decode("utf-8")
    parser = HtmlCollector()
    parser.feed(page)
    jpegs = [s for s in parser.images if s.startswith("data:image/jpeg")]
    assert jpegs, "gallery is empty"
    img = cv2.imdecode(np.frombuffer(base64.b64decode(jpegs[0].split(",", 1)[1]), np.uint8),
                       cv2.IMREAD_COLOR)
    b, g, r = (img[..., c].astype(int) for c in range(3))
    assert np.count_nonzero((g > 150) & (r < 90) & (b < 90)) > 20      # green lines
    assert np.count_nonzero((r > 170) & (g < 80) & (b < 80)) > 20      # red lines


def test_write_report_writes_every_file(tmp_path, evaluation):
    html_path = write_report(tmp_path / "out", evaluation)
    assert html_path.is_file()
    for rel in ("report.json", "report.md", "plots/pr_curves.png", "plots/confusion.png",
                "plots/errors.png"):
        data = (tmp_path / "out" / rel).read_bytes()
        assert data
        if rel.endswith(".png"):
            assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is not None
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_per_class_ap50_is_voc_ap_and_none_without_objects(evaluation):
    import dataclasses
    ap = evaluation.per_class_ap50()
    assert list(ap) == evaluation.classes
    for k, c in enumerate(evaluation.classes):
        assert ap[c] == pytest.approx(float(evaluation.voc.ap[k]))
    assert evaluation.ap50(None) is None
    # a class with no objects has no AP50 (not 0): mean APs must skip it
    empty = dataclasses.replace(evaluation.voc, npos=np.where(np.arange(len(CLASSES)) == 0, 0,
                                                             evaluation.voc.npos))
    ev = dataclasses.replace(evaluation, voc=empty)
    assert ev.ap50(0) is None and ev.per_class_ap50()[CLASSES[0]] is None
    assert ev.ap50(1) == pytest.approx(float(evaluation.voc.ap[1]))
