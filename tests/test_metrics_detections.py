"""Reading the detections file: fast columns, slow error scan, background parse."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from detector.evaluation import jsoncolumns
from detector.evaluation.detections import (BackgroundParse, detections_from_list, detections_to_list,
                                 read_detections, write_detections)
from detector.evaluation.jsoncolumns import spare_core
from synth.errors import InputError
from synth.voc import VocImage, VocSet

VOC = VocSet(root=None, classes=["shoe", "sock"],
             images=[VocImage("000005", "000005.jpg", 100, 100), VocImage("b", "b.jpg", 50, 50)])
ITEMS = [{"image_id": "000005", "category": "sock", "bbox": [1, 2.5, 3, 4], "score": 0.5},
         {"image_id": "b", "category": "shoe", "bbox": [0, 0, 0, 0], "score": 1},
         {"image_id": "000005", "category": "shoe", "bbox": [10, 20, 30, 40], "score": 0.25}]


def test_arrays_follow_the_file():
    d = detections_from_list(ITEMS, VOC)
    assert d.image.tolist() == [0, 1, 0] and d.cls.tolist() == [1, 0, 0]
    np.testing.assert_array_equal(d.boxes, [[1, 2.5, 3, 4], [0, 0, 0, 0], [10, 20, 30, 40]])
    assert d.score.tolist() == [0.5, 1.0, 0.25]
    assert d.by_score().tolist() == [1, 0, 2]


def test_round_trip_through_the_file(tmp_path):
    d = detections_from_list(ITEMS, VOC)
    write_detections(tmp_path / "d.json", d, VOC)
    again = read_detections(tmp_path / "d.json", VOC)
    for a, b in ((d.image, again.image), (d.cls, again.cls), (d.boxes, again.boxes),
                 (d.score, again.score)):
        np.testing.assert_array_equal(a, b)
    assert detections_to_list(again, VOC)[0]["image_id"] == "000005"


def test_numeric_image_ids_find_zero_padded_stems():
    items = [dict(ITEMS[0], image_id=5)]
    assert detections_from_list(items, VOC).image.tolist() == [0]


def test_background_parse_equals_in_process(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps(ITEMS * 50))
    pending = BackgroundParse(path)
    a = read_detections(path, VOC, pending)
    b = read_detections(path, VOC)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    np.testing.assert_array_equal(a.image, b.image)
    assert len(a) == 150


def test_background_parse_reports_bad_files_like_in_process(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('{"not": "a list"}')
    with pytest.raises(InputError, match="expected a JSON list"):
        read_detections(path, VOC, BackgroundParse(path))
    # A malformed entry: the child hands back nothing, the slow scan names the entry.
    path.write_text(json.dumps(ITEMS[:2] + [{"image_id": "b", "category": "shoe"}]))
    with pytest.raises(InputError, match=r"detection #2: missing key 'bbox'"):
        read_detections(path, VOC, BackgroundParse(path))
    with pytest.raises(InputError, match="no such detections file"):
        read_detections(tmp_path / "missing.json", VOC, BackgroundParse(tmp_path / "missing.json"))


def test_background_parse_only_where_a_core_is_free(monkeypatch):
    # On a busy machine the child only competes with the parent (measured: +0.35 s wall).
    for cores, load, now, free in ((2, 0.4, None, True), (2, 1.5, None, False),
                                   (16, 9.0, None, True), (1, 0.0, None, False),
                                   (2, 1.9, 0.0, True),   # the load of a command just ended
                                   (2, 1.9, 2.0, False), (2, 0.2, 3.0, True)):
        monkeypatch.setattr(jsoncolumns, "default_workers", lambda: cores)
        monkeypatch.setattr(jsoncolumns.os, "getloadavg", lambda: (load, load, load))
        monkeypatch.setattr(jsoncolumns, "running_now", lambda: now)
        assert spare_core() is free, (cores, load, now)


def test_running_now_reads_this_machines_run_queue():
    now = jsoncolumns.running_now()
    if not Path("/proc/loadavg").is_file():
        assert now is None
    else:
        assert now is not None and now >= 0.0


def test_cancel_stops_the_child(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps(ITEMS * 20000))
    pending = BackgroundParse(path)
    pending.cancel()
    assert not pending.running
    # After a cancel the file is simply parsed here.
    assert len(read_detections(path, VOC, pending)) == 60000


@pytest.mark.parametrize("entry, message", [
    ({"image_id": "zz", "category": "shoe", "bbox": [0, 0, 1, 1], "score": 1}, "unknown image_id 'zz'"),
    ({"image_id": "b", "category": 3, "bbox": [0, 0, 1, 1], "score": 1}, "unknown category 3"),
    ({"image_id": "b", "category": "shoe", "bbox": [0, 0, 1], "score": 1}, "bbox must be 4"),
    ({"image_id": "b", "category": "shoe", "bbox": [0, 0, 1, "x"], "score": 1}, "bbox must be 4"),
    ({"image_id": "b", "category": "shoe", "bbox": [0, 0, 1, 1], "score": None}, "score must be"),
    ({"image_id": "b", "category": "shoe", "bbox": [0, 0, 1, 1], "score": float("nan")},
     "score must be a finite number"),
    ({"image_id": "b", "category": "shoe", "bbox": [0, 1, 1, -1], "score": 1}, "negative width"),
    ({"image_id": ["b"], "category": "shoe", "bbox": [0, 0, 1, 1], "score": 1}, "unknown image_id"),
    ("not a dict", "is not an object"),
    # integers too large for a float escaped as OverflowError
    ({"image_id": "b", "category": "shoe", "bbox": [0, 0, 1, 10**400], "score": 1},
     "bbox has a NaN or infinite value"),
    ({"image_id": "b", "category": "shoe", "bbox": [0, 0, 1, 1], "score": -10**400},
     "score must be a finite number"),
])
def test_bad_entries_name_the_entry(entry, message):
    with pytest.raises(InputError, match="detection #3") as err:
        detections_from_list(ITEMS + [entry], VOC, source="f.json")
    assert message in str(err.value) and str(err.value).startswith("f.json: ")
    assert "\n" not in str(err.value)


def test_empty_list_is_valid():
    assert len(detections_from_list([], VOC)) == 0
