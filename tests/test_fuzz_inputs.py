"""Fuzzing every `synth` input path: valid seed files, mutated by hypothesis (truncated,
bit-flipped, spliced, emptied, non-UTF-8 or deleted files; YAML/JSON/XML nodes replaced by
wrong types, huge, negative or NaN numbers, removed or renamed keys; YOLO/split tokens
replaced), run through the click command in-process. Every run must exit 0 or 2, never with
a traceback, and leave nothing behind when it exits 2 (tests/fuzzing.py, `check_run`).

Generated inputs per command (derandomized, so every run draws the same ones):
    synth generate --recipe            60   recipe YAML
    synth generate --classes           40   class catalog
    synth generate --camera            40   camera.yaml
    synth calibrate --check            40   camera.yaml
    synth calibrate --intrinsics       50   OpenCV FileStorage and ROS camera_info files
    synth assets                       60   PNG cut-outs, photo + mask pairs, a PSD
    synth generate --assets            25   the same folder
    synth generate --backgrounds       30   floors (scale.yaml, gloss.yaml), backdrop, scene photo
    synth stats / split / preview / convert   40 each per layout (VOC, YOLO, COCO; split VOC
                                         only), flags (--ratio, --block, -n, --cols, --thumb)
                                         drawn too: 400 in all
The pipeline commands' inputs are fuzzed in tests/test_fuzz_pipeline.py.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from PIL import Image
from psd_tools import PSDImage
from psd_tools.api.layers import Group, PixelLayer

from synth.cli import main
from synth.imageio import encode_jpeg, encode_png
from synth.layouts import convert
from tests.fuzzing import check_run, describe_change, file_mutation, fuzz_settings, mutated_copy
from tests.fuzzing import yaml_text
from tests.helpers import box, make_pack, write_voc_set

RECIPE = {"view": "robot", "assets": ["subjects"], "backgrounds": "backgrounds",
          "classes": "classes.yaml", "n": 2, "size": "64x48", "objects": "1-2",
          "distractors": [0, 1], "blend": "alpha", "only": "box,pole",
          "split": {"train": 0.5, "val": 0.5}, "seed": 3, "workers": 1, "jpeg_quality": 90,
          "min_visible": 0.25, "effects": True, "shadows": True, "capture_elev": [90, 0],
          "height": 0.08, "pitch": 5, "fov": 90, "format": "voc", "out": "out"}
CAMERA = """\
image_size: [64, 48]
model: pinhole
fx: 40.0
fy: 40.0
cx: 31.5
cy: 23.5
dist: [-0.1, 0.01, 0.0, 0.0, 0.0]
height_m: 0.08
pitch_deg: 5.0
roll_deg: 1.0
jitter:
  height_m: 0.005
  pitch_deg: 1.0
  roll_deg: 0.5
"""
ROS = """\
image_width: 64
image_height: 48
camera_name: cam
camera_matrix:
  rows: 3
  cols: 3
  data: [40.0, 0.0, 31.5, 0.0, 40.0, 23.5, 0.0, 0.0, 1.0]
distortion_model: plumb_bob
distortion_coefficients:
  rows: 1
  cols: 5
  data: [-0.1, 0.01, 0.0, 0.0, 0.0]
"""
GLOSS = "floor.png: [0.0, 0.3]\n"
SCALE = "floor.png: 1.5\n"
GENERATE = ["generate", "--view", "robot", "-n", "1", "--size", "64x48", "--workers", "1",
            "--out", "out"]


def _pack(root: Path) -> Path:
    make_pack(root)
    (root / "classes.yaml").write_text(
        "classes:\n"
        "  box:  {size_m: [0.20, 0.30], pose: flat, yaw_deg: [-180, 180], roll_deg: [0, 0]}\n"
        "  pole: {size_m: [0.30, 0.50], pose: upright, yaw_deg: [-20, 20], "
        "roll_deg: [-3, 3], mirror: true}\n"
        "  leaf: {size_m: [0.05, 0.10], pose: flat, distractor: true}\n")
    return root


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, Path]:
    """One folder per input kind, each a valid input of its command."""
    base = tmp_path_factory.mktemp("seeds")
    out = {}
    out["recipe"] = _pack(base / "recipe")
    (out["recipe"] / "recipe.yaml").write_text(yaml_text(RECIPE))

    out["camera"] = _pack(base / "camera")
    (out["camera"] / "camera.yaml").write_text(CAMERA)
    frame = np.full((48, 64, 3), 120, np.uint8)
    frame[30:] = 60
    (out["camera"] / "frame.png").write_bytes(encode_png(frame))

    out["intrinsics"] = base / "intrinsics"
    out["intrinsics"].mkdir()
    (out["intrinsics"] / "ros.yaml").write_text(ROS)
    fs = cv2.FileStorage(str(out["intrinsics"] / "ocv.yaml"), cv2.FILE_STORAGE_WRITE)
    fs.write("image_width", 64)
    fs.write("image_height", 48)
    fs.write("camera_matrix", np.array([[40.0, 0, 31.5], [0, 40.0, 23.5], [0, 0, 1]]))
    fs.write("distortion_coefficients", np.array([[-0.1], [0.01], [0.0], [0.0], [0.0]]))
    fs.release()

    out["assets"] = _pack(base / "assets")
    subjects = out["assets"] / "subjects"
    photo = np.zeros((30, 40, 3), np.uint8)
    photo[..., 0] = 200
    mask = np.zeros((30, 40), np.uint8)
    mask[5:25, 5:35] = 255
    (subjects / "box" / "snap_elev30.jpg").write_bytes(encode_jpeg(photo))
    (subjects / "box" / "snap_elev30_mask.png").write_bytes(encode_png(mask))
    psd = PSDImage.new("RGBA", (48, 32))
    group = Group.new(psd, name="pole")
    rgba = np.zeros((20, 8, 4), np.uint8)
    rgba[..., 2] = rgba[..., 3] = 255
    PixelLayer.frompil(Image.fromarray(rgba), group, name="stick [elev=10 az=90]", top=4, left=8)
    psd.save(subjects / "poles.psd")

    out["backgrounds"] = _pack(base / "backgrounds")
    bg = out["backgrounds"] / "backgrounds"
    (bg / "floors" / "gloss.yaml").write_text(GLOSS)
    (bg / "floors" / "scale.yaml").write_text(SCALE)
    scene = np.full((48, 64, 3), 100, np.uint8)
    (bg / "scenes").mkdir()
    (bg / "scenes" / "room.jpg").write_bytes(encode_jpeg(scene))
    floor = np.zeros((48, 64, 3), np.uint8)
    floor[24:] = 255
    (bg / "scenes" / "room_floor.png").write_bytes(encode_png(floor))

    voc = base / "voc" / "set"
    images = []
    for i, (w, h) in enumerate([(48, 32), (40, 40), (32, 48)]):
        img = np.full((h, w, 3), 90 + 40 * i, np.uint8)
        images.append((f"im{i}", img, [box("shoe", 2, 3, 10, 8), box("sock", 5, 6, 20, 12,
                                                                    difficult=i == 1)]))
    write_voc_set(voc, images, ["shoe", "sock"], {"train": ["im0", "im1"], "val": ["im2"]})
    (voc / "manifest.jsonl").write_text("".join(
        f'{{"image": "im{i}", "camera": {{"height_m": 0.08, "pitch_deg": 5.0, "fov_deg": 90.0}},'
        f' "objects": [{{"class": "shoe"}}]}}\n' for i in range(3)))
    out["voc"] = voc.parent
    for layout in ("yolo", "coco"):
        convert(voc, layout, base / layout / "set", copy=True)
        out[layout] = base / layout
    return out


def files_of(root: Path, kinds: dict[str, str]) -> dict[str, str]:
    """{relative path: mutation kind} of every file under `root`, by suffix (or `kinds`)."""
    by_suffix = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".xml": "xml",
                 ".txt": "text", ".jsonl": "text"}
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            rel = p.relative_to(root).as_posix()
            out[rel] = kinds.get(rel, by_suffix.get(p.suffix, "binary"))
    return out


def _fuzz(seed: Path, mutation: tuple[str, bytes | None], args: list[str]) -> None:
    rel, data = mutation
    with mutated_copy(seed, rel, data) as root:
        check_run(main, args, root, lambda: describe_change(seed, rel, data))


# ----------------------------------------------------------------------------- generate inputs
RECIPE_FILES = {"recipe.yaml": "yaml"}


@given(data=st.data())
@example(data=None)  # the report: `pitch: [5, 10]` ended in a traceback
@fuzz_settings(60)
def test_generate_recipe(seeds, data):
    seed = seeds["recipe"]
    if data is None:
        mutation = ("recipe.yaml", yaml_text({**RECIPE, "pitch": [5, 10]}).encode())
    else:
        mutation = data.draw(file_mutation(seed, RECIPE_FILES))
    _fuzz(seed, mutation, ["generate", "--recipe", "recipe.yaml"])


@given(data=st.data())
@fuzz_settings(40)
def test_generate_catalog(seeds, data):
    seed = seeds["recipe"]
    mutation = data.draw(file_mutation(seed, {"classes.yaml": "yaml"}))
    _fuzz(seed, mutation, GENERATE + ["--assets", "subjects", "--backgrounds", "backgrounds",
                                      "--classes", "classes.yaml"])


CAMERA_ARGS = ["--assets", "subjects", "--backgrounds", "backgrounds", "--classes",
               "classes.yaml", "-n", "1", "--workers", "1", "--out", "out"]


@given(data=st.data())
@fuzz_settings(40)
def test_generate_camera_file(seeds, data):
    seed = seeds["camera"]
    mutation = data.draw(file_mutation(seed, {"camera.yaml": "yaml"}))
    _fuzz(seed, mutation, ["generate", "--camera", "camera.yaml", *CAMERA_ARGS])


@given(data=st.data())
@fuzz_settings(40)
def test_calibrate_check_camera_file(seeds, data):
    seed = seeds["camera"]
    mutation = data.draw(file_mutation(seed, {"camera.yaml": "yaml", "frame.png": "binary"}))
    _fuzz(seed, mutation, ["calibrate", "--check", "camera.yaml", "frame.png",
                           "--out", "overlay.png"])


@given(data=st.data(), name=st.sampled_from(["ros.yaml", "ocv.yaml"]))
@fuzz_settings(50)
def test_calibrate_intrinsics_files(seeds, data, name):
    seed = seeds["intrinsics"]
    mutation = data.draw(file_mutation(seed, {name: "yaml" if name == "ros.yaml" else "text"}))
    _fuzz(seed, mutation, ["calibrate", "--intrinsics", name, "--board", "9x6", "--square",
                           "0.025", "--height", "0.08", "--pitch", "5", "--out", "camera.yaml"])


@given(data=st.data())
@fuzz_settings(60)
def test_assets_listing(seeds, data):
    seed = seeds["assets"]
    kinds = {f"subjects/{k}": v for k, v in files_of(seed / "subjects", {}).items()}
    mutation = data.draw(file_mutation(seed, kinds | {"classes.yaml": "yaml"}))
    _fuzz(seed, mutation, ["assets", "subjects", "--classes", "classes.yaml"])


@given(data=st.data())
@fuzz_settings(25)
def test_generate_assets(seeds, data):
    seed = seeds["assets"]
    kinds = {f"subjects/{k}": v for k, v in files_of(seed / "subjects", {}).items()}
    mutation = data.draw(file_mutation(seed, kinds))
    _fuzz(seed, mutation, GENERATE + ["--assets", "subjects", "--backgrounds", "backgrounds",
                                      "--classes", "classes.yaml"])


@given(data=st.data())
@fuzz_settings(30)
def test_generate_backgrounds(seeds, data):
    seed = seeds["backgrounds"]
    kinds = {f"backgrounds/{k}": v for k, v in files_of(seed / "backgrounds", {}).items()}
    mutation = data.draw(file_mutation(seed, kinds))
    _fuzz(seed, mutation, GENERATE + ["--assets", "subjects", "--backgrounds", "backgrounds",
                                      "--classes", "classes.yaml"])


# ----------------------------------------------------------------------------- dataset commands
LAYOUTS = ["voc", "yolo", "coco"]
RATIOS = st.sampled_from(["0.5", "0.7", "nan", "inf", "-1", "0", "1", "1e308", "0.999999"])
COUNTS = st.sampled_from(["1", "2", "4", "0", "-3", "1000000000", "99999999999999999999"])


def _set_mutation(data, seeds, layout: str) -> tuple[Path, tuple[str, bytes | None]]:
    seed = seeds[layout]
    return seed, data.draw(file_mutation(seed, files_of(seed, {})))


@pytest.mark.parametrize("layout", LAYOUTS)
@given(data=st.data())
@fuzz_settings(40)
def test_stats(seeds, layout, data):
    seed, mutation = _set_mutation(data, seeds, layout)
    _fuzz(seed, mutation, ["stats", "set"] + data.draw(st.sampled_from([[], ["--json"]])))


@given(data=st.data())
@fuzz_settings(40)
def test_split(seeds, data):
    seed, mutation = _set_mutation(data, seeds, "voc")
    ratio = data.draw(st.one_of(st.just("0.5"), RATIOS))
    block = data.draw(st.one_of(st.just("1"), COUNTS))
    mode = data.draw(st.sampled_from(["--interval", "--random"]))
    _fuzz(seed, mutation, ["split", "set", "--ratio", ratio, mode, "--block", block])


@pytest.mark.parametrize("layout", LAYOUTS)
@given(data=st.data())
@fuzz_settings(40)
def test_preview(seeds, layout, data):
    seed, mutation = _set_mutation(data, seeds, layout)
    n, cols = data.draw(st.one_of(st.just("4"), COUNTS)), data.draw(st.one_of(st.just("2"), COUNTS))
    thumb = data.draw(st.sampled_from(["32", "16", "15", "100000000000", "-1"]))
    _fuzz(seed, mutation, ["preview", "set", "--out", "sheet.png", "-n", n, "--cols", cols,
                           "--thumb", thumb])


@pytest.mark.parametrize("layout", LAYOUTS)
@given(data=st.data())
@fuzz_settings(40)
def test_convert(seeds, layout, data):
    seed, mutation = _set_mutation(data, seeds, layout)
    to = data.draw(st.sampled_from([x for x in LAYOUTS if x != layout]))
    _fuzz(seed, mutation, ["convert", "set", "--to", to, "--out", "converted"])


SEED_RUNS = {
    "recipe": ("recipe", ["generate", "--recipe", "recipe.yaml"]),
    "catalog": ("recipe", GENERATE + ["--assets", "subjects", "--backgrounds", "backgrounds",
                                      "--classes", "classes.yaml"]),
    "camera": ("camera", ["generate", "--camera", "camera.yaml", *CAMERA_ARGS]),
    "check": ("camera", ["calibrate", "--check", "camera.yaml", "frame.png", "--out", "o.png"]),
    "ros": ("intrinsics", ["calibrate", "--intrinsics", "ros.yaml", "--board", "9x6", "--square",
                           "0.025", "--height", "0.08", "--pitch", "5", "--out", "c.yaml"]),
    "opencv": ("intrinsics", ["calibrate", "--intrinsics", "ocv.yaml", "--board", "9x6",
                              "--square", "0.025", "--height", "0.08", "--pitch", "5",
                              "--out", "c.yaml"]),
    "assets": ("assets", ["assets", "subjects", "--classes", "classes.yaml"]),
    "generate-assets": ("assets", GENERATE + ["--assets", "subjects", "--backgrounds",
                                              "backgrounds", "--classes", "classes.yaml"]),
    "backgrounds": ("backgrounds", GENERATE + ["--assets", "subjects", "--backgrounds",
                                               "backgrounds", "--classes", "classes.yaml"]),
    **{f"{cmd}-{layout}": (layout, args) for layout in LAYOUTS for cmd, args in (
        ("stats", ["stats", "set"]),
        ("preview", ["preview", "set", "--out", "sheet.png", "-n", "4", "--cols", "2",
                     "--thumb", "32"]),
        ("convert", ["convert", "set", "--to", "voc" if layout != "voc" else "coco",
                     "--out", "converted"]))},
    "split": ("voc", ["split", "set", "--ratio", "0.5", "--interval"]),
}


@pytest.mark.parametrize("name", sorted(SEED_RUNS))
def test_every_seed_is_a_valid_input(seeds, name):
    """The fuzzing starts from inputs the command accepts: a mutation, not the seed, is what
    any refusal is about."""
    seed, args = SEED_RUNS[name]
    with mutated_copy(seeds[seed]) as root:
        r = check_run(main, args, root)
    assert r.exit_code == 0, r.output
