"""The evaluation report: JSON schema, Markdown tables, self-contained HTML whose images decode."""
from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.detections import read_detections
from detector.evaluation import evaluate
from detector.metrics import COCO_STAT_NAMES
from detector.report import render_report, write_report
from synth.imageio import encode_jpeg
from synth.voc import VocImage, VocObject, read_voc_set, write_annotation, write_labels

CLASSES = ["shoe", "sock", "cable"]
COLOURS = {"shoe": (200, 60, 40), "sock": (40, 160, 60), "cable": (30, 30, 30)}


def make_voc_set(root: Path, n_images: int = 8, seed: int = 0) -> Path:
    """A small VOC set of coloured rectangles and a detections file beside it (returned)."""
    rng = np.random.default_rng(seed)
    write_labels(root, CLASSES)
    dets = []
    for i in range(n_images):
        w, h = 160, 120
        img = np.full((h, w, 3), 220, np.uint8)
        objects = []
        for j in range(int(rng.integers(1, 4))):
            name = CLASSES[int(rng.integers(0, len(CLASSES)))]
            bw, bh = int(rng.integers(12, 60)), int(rng.integers(12, 50))
            x0, y0 = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
            img[y0:y0 + bh, x0:x0 + bw] = COLOURS[name]
            objects.append(VocObject(name, (x0 + 1, y0 + 1, x0 + bw, y0 + bh),
                                     difficult=bool(j == 2)))
            # A good detection, sometimes a sloppy or mislabelled one, plus background.
            jitter = rng.normal(0, 2 if rng.random() < 0.7 else 12, 4)
            box = [max(0.0, x0 + jitter[0]), max(0.0, y0 + jitter[1]),
                   max(1.0, bw + jitter[2]), max(1.0, bh + jitter[3])]
            label = name if rng.random() < 0.8 else CLASSES[int(rng.integers(0, 3))]
            dets.append({"image_id": f"im{i:03d}", "category": label, "bbox": box,
                         "score": float(rng.uniform(0.3, 1.0))})
        for _ in range(3):
            dets.append({"image_id": f"im{i:03d}", "category": CLASSES[int(rng.integers(0, 3))],
                         "bbox": [float(rng.uniform(0, 100)), float(rng.uniform(0, 80)),
                                  20.0, 15.0], "score": float(rng.uniform(0.001, 0.5))})
        stem = f"im{i:03d}"
        (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
        (root / "JPEGImages" / f"{stem}.jpg").write_bytes(encode_jpeg(img))
        write_annotation(root / "Annotations" / f"{stem}.xml",
                         VocImage(stem, f"{stem}.jpg", w, h, 3, objects))
    path = root.parent / f"{root.name}_detections.json"
    path.write_text(json.dumps(dets))
    return path


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.tags, self.ids = [], [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(a.get("src", ""))
        if "id" in a:
            self.ids.add(a["id"])


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
    parser = _Collector()
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
    parser = _Collector()
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
