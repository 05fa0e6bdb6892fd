"""Dataset layouts: VOC, ultralytics YOLO and COCO read by one reader, written by `synth convert`."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from pycocotools.coco import COCO

from synth.layouts import dataset_splits, detect_layout, read_dataset
from tests.helpers import box, one_error_line, run_synth, write_voc_set

CLASSES = ["sock", "shoe", "cable"]  # not alphabetical: the order must survive


def sample_voc(root: Path, n: int = 6, seed: int = 0) -> Path:
    """A VOC set of n noise images of two sizes, 1-3 boxes each, some difficult, train/val."""
    rng = np.random.default_rng(seed)
    images = []
    for i in range(n):
        w, h = (96, 64) if i % 2 else (80, 100)
        objs = []
        for j in range(1 + i % 3):
            bw, bh = int(rng.integers(5, w // 2)), int(rng.integers(5, h // 2))
            x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
            objs.append(box(CLASSES[int(rng.integers(0, 3))], x, y, bw, bh,
                            difficult=bool(j == 1)))
        images.append((f"im{i}", rng.integers(0, 255, (h, w, 3), dtype=np.uint8), objs))
    stems = [f"im{i}" for i in range(n)]
    return write_voc_set(root, images, CLASSES, {"train": stems[:-2], "val": stems[-2:]})


def objects_of(voc_set) -> dict[str, list[tuple]]:
    """stem -> sorted (class, box, difficult) of a read set."""
    return {im.stem: sorted((o.name, tuple(o.bbox), o.difficult) for o in im.objects)
            for im in voc_set.images}


def assert_same_objects(a, b, tol: float) -> None:
    oa, ob = objects_of(a), objects_of(b)
    assert sorted(oa) == sorted(ob)
    for stem in oa:
        assert len(oa[stem]) == len(ob[stem]), stem
        for (na, ba, da), (nb, bb, db) in zip(oa[stem], ob[stem]):
            assert na == nb
            assert np.allclose(ba, bb, atol=tol), (stem, ba, bb)
            assert da == db


def convert(src: Path, to: str, out: Path, *extra) -> str:
    r = run_synth("convert", src, "--to", to, "--out", out, *extra)
    assert r.exit_code == 0, (r.output, r.stderr)
    return r.stderr


def test_voc_yolo_voc_round_trip(tmp_path, caplog):
    voc = sample_voc(tmp_path / "voc")
    convert(voc, "yolo", tmp_path / "yolo")
    err = caplog.text
    n_difficult = sum(o.difficult for im in read_dataset(voc).images for o in im.objects)
    assert n_difficult > 0
    assert f"{n_difficult} difficult object(s) left out" in err  # said, with a count
    assert detect_layout(tmp_path / "yolo") == "yolo"
    cfg = yaml.safe_load((tmp_path / "yolo" / "data.yaml").read_text())
    assert cfg["names"] == dict(enumerate(CLASSES)) and cfg["train"] == "images/train"
    assert Path(cfg["path"]) == (tmp_path / "yolo").resolve()
    assert sorted(p.name for p in (tmp_path / "yolo" / "labels" / "val").iterdir()) == \
        ["im4.txt", "im5.txt"]
    for lab in (tmp_path / "yolo" / "labels").rglob("*.txt"):
        for line in lab.read_text().splitlines():
            cls, *vals = line.split()
            assert 0 <= int(cls) < len(CLASSES) and len(vals) == 4
            assert all(0.0 <= float(v) <= 1.0 for v in vals)
    convert(tmp_path / "yolo" / "data.yaml", "voc", tmp_path / "back")  # a data.yaml path too
    a, b = read_dataset(voc), read_dataset(tmp_path / "back")
    assert b.classes == CLASSES
    for im in a.images:  # YOLO has no difficult flag: those objects were left out
        im.objects = [o for o in im.objects if not o.difficult]
    assert_same_objects(a, b, tol=1.0)
    assert b.splits["train"] == a.splits["train"] and b.splits["val"] == a.splits["val"]


def test_yolo_label_values_are_the_normalised_centre_and_size(tmp_path):
    voc = write_voc_set(tmp_path / "voc", [("a", np.zeros((50, 200, 3), np.uint8),
                                            [box("shoe", 10, 20, 40, 10)])], CLASSES)
    convert(voc, "yolo", tmp_path / "yolo")
    line = (tmp_path / "yolo" / "labels" / "train" / "a.txt").read_text().split()
    assert line[0] == "1"
    assert np.allclose([float(v) for v in line[1:]], [30 / 200, 25 / 50, 40 / 200, 10 / 50])


def test_voc_coco_voc_round_trip_keeps_difficult(tmp_path):
    voc = sample_voc(tmp_path / "voc", seed=3)
    convert(voc, "coco", tmp_path / "coco", "--copy")
    assert detect_layout(tmp_path / "coco") == "coco"
    assert dataset_splits(tmp_path / "coco") == ["train", "val"]
    a = read_dataset(voc)
    for split in ("train", "val"):
        gt = COCO(str(tmp_path / "coco" / "annotations" / f"instances_{split}.json"))
        stems = set(a.splits[split])
        n = sum(len(im.objects) for im in a.images if im.stem in stems)
        assert len(gt.getAnnIds()) == n
        assert [c["name"] for c in gt.loadCats(gt.getCatIds())] == CLASSES
        crowd = sum(gt.anns[k]["iscrowd"] for k in gt.getAnnIds())
        assert crowd == sum(o.difficult for im in a.images if im.stem in stems
                            for o in im.objects)
    assert not (tmp_path / "coco" / "images" / "train" / "im0.jpg").is_symlink()
    convert(tmp_path / "coco", "voc", tmp_path / "back")
    b = read_dataset(tmp_path / "back")
    assert b.classes == CLASSES
    assert_same_objects(a, b, tol=1e-6)


def test_images_are_linked_not_copied_by_default(tmp_path):
    voc = sample_voc(tmp_path / "voc", n=3)
    convert(voc, "coco", tmp_path / "coco")
    src, dst = voc / "JPEGImages" / "im0.jpg", tmp_path / "coco" / "images" / "train" / "im0.jpg"
    assert dst.samefile(src)


def test_convert_refuses_a_non_empty_out_and_leaves_nothing_behind(tmp_path):
    voc = sample_voc(tmp_path / "voc", n=3)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("mine")
    assert "not empty" in one_error_line(run_synth("convert", voc, "--to", "yolo",
                                                   "--out", tmp_path / "taken"))
    (voc / "Annotations" / "im1.xml").write_text("<annotation>")
    assert "im1.xml" in one_error_line(run_synth("convert", voc, "--to", "yolo",
                                                 "--out", tmp_path / "new"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken", "voc"]


def yolo_with_label(tmp_path: Path, line: str) -> Path:
    voc = sample_voc(tmp_path / "voc", n=4)
    convert(voc, "yolo", tmp_path / "yolo")
    (tmp_path / "yolo" / "labels" / "train" / "im0.txt").write_text(f"0 0.5 0.5 0.1 0.1\n{line}\n")
    return tmp_path / "yolo"


@pytest.mark.parametrize("line,problem", [("1 0.5 0.5 0.2", "(5 numbers), got 4"),
                                          ("3 0.5 0.5 0.2 0.2", "class index 3 out of range"),
                                          ("1 0.5 0.5 0.2 x", "not a number"),
                                          ("0 1.5 0.5 0.2 0.2", "not normalised"),
                                          # were OverflowError / ValueError from int(class)
                                          ("inf 0.5 0.5 0.2 0.2", "must be finite numbers"),
                                          ("nan 0.5 0.5 0.2 0.2", "must be finite numbers")])
def test_a_bad_yolo_label_line_names_the_file_and_line(tmp_path, line, problem):
    root = yolo_with_label(tmp_path, line)
    msg = one_error_line(run_synth("stats", root))
    assert f"{root / 'labels' / 'train' / 'im0.txt'}:2:" in msg and problem in msg


def test_yolo_polygon_lines_read_as_their_box(tmp_path):
    root = yolo_with_label(tmp_path, "2 0.1 0.2 0.5 0.2 0.5 0.6 0.1 0.6")
    im = next(i for i in read_dataset(root).images if i.stem == "im0")
    x = im.objects[1]
    assert x.name == "cable"
    assert np.allclose(x.bbox, (0.1 * im.width + 1, 0.2 * im.height + 1, 0.5 * im.width,
                                0.6 * im.height))


def test_coco_annotation_with_an_unknown_image_id_is_refused(tmp_path):
    convert(sample_voc(tmp_path / "voc", n=5), "coco", tmp_path / "coco")
    path = tmp_path / "coco" / "annotations" / "instances_train.json"
    doc = json.loads(path.read_text())
    doc["annotations"][1]["image_id"] = 99
    path.write_text(json.dumps(doc))
    msg = one_error_line(run_synth("convert", tmp_path / "coco", "--to", "voc",
                                   "--out", tmp_path / "v"))
    assert str(path) in msg and "annotations[1]" in msg and "image_id 99" in msg
    assert not (tmp_path / "v").exists()


def test_yolo_folders_read_webp_tif_and_upper_case_suffixes(tmp_path):
    """One rule for what an image file is: a YOLO folder of .webp, .tif and .JPG is all read."""
    convert(sample_voc(tmp_path / "voc", n=4), "yolo", tmp_path / "yolo")
    files = sorted((tmp_path / "yolo" / "images").glob("*/*.jpg"))
    before = read_dataset(tmp_path / "yolo").splits
    for p, suffix in zip(files, (".webp", ".tif", ".JPG")):
        Image.open(p).save(p.with_suffix(suffix))
        p.unlink()
    s = read_dataset(tmp_path / "yolo")
    assert s.splits == before and len(s.images) == len(files) == 4
    assert {Path(im.path).suffix for im in s.images} >= {".webp", ".tif", ".JPG"}


def test_coco_images_of_one_name_in_two_splits_are_refused(tmp_path):
    """images/train/X.jpg and images/val/X.jpg are two photos: reading them as one would give
    val the train photo's labels (and a converted set train images in val)."""
    convert(sample_voc(tmp_path / "voc", n=6), "coco", tmp_path / "coco")
    root = tmp_path / "coco"
    train = json.loads((root / "annotations" / "instances_train.json").read_text())
    path = root / "annotations" / "instances_val.json"
    val = json.loads(path.read_text())
    taken, renamed = train["images"][0]["file_name"], val["images"][0]["file_name"]
    (root / "images" / "val" / renamed).rename(root / "images" / "val" / taken)
    val["images"][0]["file_name"] = taken
    path.write_text(json.dumps(val))
    msg = one_error_line(run_synth("stats", root))
    assert str(path) in msg and repr(Path(taken).stem) in msg and "unique" in msg


def test_a_folder_of_no_known_layout_is_one_line(tmp_path):
    (tmp_path / "x").mkdir()
    assert "not a dataset" in one_error_line(run_synth("stats", tmp_path / "x"))


def test_yolo_split_lists_and_a_moved_set(tmp_path):
    convert(sample_voc(tmp_path / "voc", n=4), "yolo", tmp_path / "yolo")
    root = tmp_path / "yolo"
    (root / "train.txt").write_text("".join(f"./images/train/{p.name}\n"
                                            for p in sorted((root / "images" / "train").iterdir())))
    cfg = yaml.safe_load((root / "data.yaml").read_text())
    cfg.update(path="/nonexistent/place", train="train.txt")
    (root / "data.yaml").write_text(yaml.safe_dump(cfg))
    s = read_dataset(root)
    assert s.splits["train"] == ["im0", "im1"] and s.splits["val"] == ["im2", "im3"]
    assert s.root == root


def test_a_copied_yolo_set_reads_its_own_files_not_the_original(tmp_path, caplog):
    import shutil

    convert(sample_voc(tmp_path / "voc", n=4), "yolo", tmp_path / "yolo")
    shutil.copytree(tmp_path / "yolo", tmp_path / "copy")  # data.yaml's path: the original
    label = tmp_path / "copy" / "labels" / "train" / "im0.txt"
    label.write_text("")  # the copy is edited: im0 has no objects any more
    with caplog.at_level("WARNING"):
        s = read_dataset(tmp_path / "copy")
    assert s.root == tmp_path / "copy"
    assert [im.objects for im in s.images if im.stem == "im0"] == [[]]
    assert "another copy of this set" in caplog.text
    original = read_dataset(tmp_path / "yolo")
    assert [len(im.objects) > 0 for im in original.images if im.stem == "im0"] == [True]


def test_convert_losing_a_race_for_its_out_is_one_line_and_leaves_the_winners_set(tmp_path,
                                                                                  monkeypatch):
    import synth.layouts

    voc, out = sample_voc(tmp_path / "voc", n=3), tmp_path / "out"
    write = synth.layouts.write_dataset

    def write_then_lose(tmp, *args, **kwargs):
        write(tmp, *args, **kwargs)
        out.mkdir()  # a concurrent `synth convert ... out` finishes first
        (out / "data.yaml").write_text("theirs")

    monkeypatch.setattr(synth.layouts, "write_dataset", write_then_lose)
    line = one_error_line(run_synth("convert", voc, "--to", "yolo", "--out", out))
    assert "was written by another run meanwhile" in line
    assert sorted(p.name for p in out.iterdir()) == ["data.yaml"]
    assert (out / "data.yaml").read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


# ----------------------------------------------------------------------------- every command
def test_evaluate_reads_all_three_layouts(tmp_path):
    from tests.helpers import make_voc_set, run_pipeline

    dets = make_voc_set(tmp_path / "voc", n_images=8)
    (tmp_path / "voc" / "ImageSets" / "Main").mkdir(parents=True)
    (tmp_path / "voc" / "ImageSets" / "Main" / "train.txt").write_text(
        "".join(f"im{i:03d}\n" for i in range(8)))
    convert(tmp_path / "voc", "coco", tmp_path / "coco")
    convert(tmp_path / "voc", "yolo", tmp_path / "yolo")
    reports = {}
    for name, data in (("voc", tmp_path / "voc"), ("coco", tmp_path / "coco"),
                       ("yolo", tmp_path / "yolo" / "data.yaml")):
        r = run_pipeline("evaluate", "--data", data, "--detections", dets, "--out",
                         tmp_path / f"ev_{name}")
        assert r.exit_code == 0, (name, r.output, r.stderr)
        reports[name] = json.loads((tmp_path / f"ev_{name}" / "report.json").read_text())
    assert reports["coco"]["map50"] == pytest.approx(reports["voc"]["map50"], abs=1e-12)
    assert reports["coco"]["coco_stats"] == pytest.approx(reports["voc"]["coco_stats"], abs=1e-12)
    n_difficult = sum(o.difficult for im in read_dataset(tmp_path / "voc").images
                      for o in im.objects)
    n_gt = {k: sum(c["n_gt"] for c in r["per_class"].values()) for k, r in reports.items()}
    # YOLO leaves the difficult objects out; the others count alike in all three
    assert n_difficult > 0 and n_gt["coco"] == n_gt["voc"] == n_gt["yolo"]


def test_a_yolo_set_trains_with_pipeline_train(tmp_path):
    from detector.model.checkpoint import load_checkpoint
    from tests.helpers import run_pipeline

    convert(sample_voc(tmp_path / "voc", n=6), "yolo", tmp_path / "yolo")
    r = run_pipeline("train", "--data", tmp_path / "yolo" / "data.yaml", "--model", "yolov3-tiny",
                     "--img-size", 64, "--epochs", 1, "--batch-size", 4, "--augment", "none",
                     "--workers", 0, "--device", "cpu", "--warmup-epochs", 1,
                     "--run-dir", tmp_path / "run")
    assert r.exit_code == 0, (r.output, r.stderr, r.exception)
    ckpt = load_checkpoint(tmp_path / "run" / "best.pt")
    assert ckpt["classes"] == CLASSES and ckpt["epoch"] == 1
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 2  # one epoch, validated on data.yaml's val split


def test_ablate_takes_a_yolo_data_yaml_as_a_regime_and_a_coco_test(tmp_path):
    from detector.experiments.ablate.spec import parse_regime, parse_test
    from detector.experiments.ablate.views import training_set

    voc = sample_voc(tmp_path / "voc", n=6)
    convert(voc, "yolo", tmp_path / "yolo")
    convert(voc, "coco", tmp_path / "coco")
    reg = parse_regime(f"y={tmp_path / 'yolo' / 'data.yaml'}")
    assert reg.kind == "dir"
    assert [im.stem for im in training_set(reg.path).images] == [f"im{i}" for i in range(4)]
    assert parse_test(f"c={tmp_path / 'coco'}:val").split == "val"
    assert "no split 'test'" in str(pytest.raises(Exception, parse_test,
                                                  f"c={tmp_path / 'coco'}:test").value)


def test_loader_workers_default_to_the_usable_cores():
    import os

    from detector.training.config import TrainConfig

    assert TrainConfig().workers == len(os.sched_getaffinity(0))


# ----------------------------------------------------------------------------- COCO results
def coco_fixture(tmp_path: Path, seed: int) -> tuple[Path, Path, int]:
    """A COCO set (integer boxes, some crowd) and standard results for its train split with
    numeric ids, a third of the boxes poking out of the image; (set, results, n outside)."""
    rng = np.random.default_rng(seed)
    images = []
    for i in range(8):
        w, h = int(rng.integers(60, 200)), int(rng.integers(60, 200))
        objs = [box(CLASSES[int(rng.integers(0, 3))], int(rng.integers(0, w // 2)),
                    int(rng.integers(0, h // 2)), int(rng.integers(4, w // 2)),
                    int(rng.integers(4, h // 2)), difficult=bool(rng.random() < 0.15))
                for _ in range(int(rng.integers(0, 5)))]
        images.append((f"f{i}", np.zeros((h, w, 3), np.uint8), objs))
    voc = write_voc_set(tmp_path / f"voc{seed}", images, CLASSES,
                        {"train": [f"f{i}" for i in range(8)]})
    coco = tmp_path / f"coco{seed}"
    convert(voc, "coco", coco)
    gt = json.loads((coco / "annotations" / "instances_train.json").read_text())
    results, outside = [], 0
    for im in gt["images"]:
        for a in [a for a in gt["annotations"] if a["image_id"] == im["id"]] + [None] * 3:
            x, y, bw, bh = a["bbox"] if a else rng.uniform(0, 60, 4)
            x, y = x + rng.normal(0, 4), y + rng.normal(0, 4)
            if rng.random() < 0.33:
                x -= rng.uniform(0, 15) if rng.random() < 0.5 else -im["width"] + rng.uniform(0, 20)
            bw, bh = max(1.0, bw + rng.normal(0, 4)), max(1.0, bh + rng.normal(0, 4))
            outside += x < 0 or y < 0 or x + bw > im["width"] or y + bh > im["height"]
            cat = a["category_id"] if a and rng.random() < 0.8 else int(rng.integers(1, 4))
            results.append({"image_id": im["id"], "category_id": cat,
                            "bbox": [float(x), float(y), float(bw), float(bh)],
                            "score": float(rng.uniform(0.01, 1))})
    res = tmp_path / f"results{seed}.json"
    res.write_text(json.dumps(results))
    return coco, res, int(outside)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_standard_coco_results_give_pycocotools_stats(tmp_path, seed):
    import contextlib
    import io

    from pycocotools.cocoeval import COCOeval
    from tests.helpers import run_pipeline

    coco, res, outside = coco_fixture(tmp_path, seed)
    assert outside > 0
    r = run_pipeline("evaluate", "--data", coco, "--split", "train", "--detections", res,
                     "--out", tmp_path / "ev")
    assert r.exit_code == 0, (r.output, r.stderr)
    report = json.loads((tmp_path / "ev" / "report.json").read_text())
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(coco / "annotations" / "instances_train.json"))
        ev = COCOeval(gt, gt.loadRes(str(res)), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert np.allclose(report["coco_stats"], ev.stats, atol=1e-6, rtol=0)
    assert report["boxes_outside_image"] == outside


def test_a_malformed_standard_result_is_refused_by_index(tmp_path):
    from tests.helpers import run_pipeline

    coco, res, _ = coco_fixture(tmp_path, 5)
    items = json.loads(res.read_text())
    items[3]["image_id"] = 999
    res.write_text(json.dumps(items))
    msg = one_error_line(run_pipeline("evaluate", "--data", coco, "--split", "train",
                                      "--detections", res, "--out", tmp_path / "ev"))
    assert "detection #3" in msg and "999" in msg
    assert not (tmp_path / "ev").exists()


@pytest.mark.parametrize("where,key,value,problem", [
    ("annotations", "image_id", {"a": 1}, "annotations[0] (id 1): image_id must be a whole "
                                          "number or a string, got {'a': 1}"),
    ("annotations", "category_id", [1], "annotations[0] (id 1): category_id must be a whole "
                                        "number or a string, got [1]"),
    ("images", "id", [1], "images[0]: id must be a whole number or a string, got [1]"),
    ("images", "width", "abc", "images[0]: width must be a whole number of pixels, got 'abc'"),
    ("images", "file_name", None, "images[0]: file_name must be a string, got None"),
    ("categories", "id", "x", "categories[0]: id must be a whole number, got 'x'"),
    ("annotations", "bbox", [2.0, 3.0, 1e308, 1e308], "annotations[0] (id 1): bbox [2.0, 3.0, "
                                                     "1e+308, 1e+308] lies outside the 80x100"),
])
def test_a_coco_field_of_the_wrong_type_names_file_and_field(tmp_path, where, key, value,
                                                            problem):
    """Unhashable ids, a text width or mixed category id types used to end in a TypeError or
    ValueError traceback; a box reaching 1e308 px was taken as it was."""
    convert(sample_voc(tmp_path / "voc", n=5), "coco", tmp_path / "coco")
    path = tmp_path / "coco" / "annotations" / "instances_train.json"
    doc = json.loads(path.read_text())
    doc[where][0][key] = value
    path.write_text(json.dumps(doc))
    msg = one_error_line(run_synth("stats", tmp_path / "coco"))
    assert msg.startswith(f"error: {path}: {problem}"), msg


@pytest.mark.parametrize("name", ["labels.txt", "ImageSets/Main/train.txt"])
def test_a_voc_text_file_that_is_not_utf8_is_one_error_line(tmp_path, name):
    """labels.txt or a split file with a non-UTF-8 byte used to escape as UnicodeDecodeError."""
    voc = sample_voc(tmp_path / "voc", n=4)
    path = voc / name
    path.write_bytes(path.read_bytes() + b"im\xff\xfe\n")
    msg = one_error_line(run_synth("stats", voc))
    assert msg.startswith(f"error: {path}: cannot read"), msg


@pytest.mark.parametrize("tag,value,problem", [
    ("width", "-inf", "<width> must be a whole number of pixels, got '-inf'"),
    ("height", "nan", "<height> must be a whole number of pixels, got 'nan'"),
    ("depth", "abc", "<depth> is not a number: 'abc'"),
])
def test_a_voc_size_that_is_no_pixel_count_is_one_error_line(tmp_path, tag, value, problem):
    """<width>-inf</width> used to escape as OverflowError, <depth>abc</depth> as ValueError."""
    voc = sample_voc(tmp_path / "voc", n=4)
    path = voc / "Annotations" / "im2.xml"
    text = path.read_text()
    path.write_text(text.replace(f"<{tag}>", f"<{tag}>{value}<!--", 1)
                    .replace(f"</{tag}>", f"--></{tag}>", 1))
    msg = one_error_line(run_synth("stats", voc))
    assert msg == f"error: {path}: {problem}", msg


def test_an_infinite_voc_flag_reads_as_unset(tmp_path):
    """<difficult>inf</difficult> used to escape as OverflowError; junk in a flag is unset."""
    voc = sample_voc(tmp_path / "voc", n=4)
    path = voc / "Annotations" / "im2.xml"
    path.write_text(path.read_text().replace("<difficult>0</difficult>",
                                             "<difficult>inf</difficult>"))
    r = run_synth("stats", voc, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["all"]["difficult"] == json.loads(
        run_synth("stats", sample_voc(tmp_path / "v2", n=4), "--json").stdout)["all"]["difficult"]
