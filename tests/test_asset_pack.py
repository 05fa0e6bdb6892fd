"""Facts about the committed demo asset pack in assets/ (read as committed, not regenerated)."""
from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from PIL import Image
from psd_tools import PSDImage

ASSETS = Path(__file__).resolve().parent.parent / "assets"
TARGETS = ["shoe", "sock", "cable", "poop", "bowl", "rag", "scale", "fan"]
DISTRACTORS = ["leaf", "paper", "toy"]


def layers(psd_path: Path) -> list[tuple[str, str, bool, np.ndarray]]:
    """(top-level group, layer name, visible, RGBA uint8) for every pixel layer in a PSD."""
    out = []
    psd = PSDImage.open(psd_path)
    for group in psd:
        assert group.kind == "group", f"{psd_path.name}: top-level {group.name!r} is not a group"
        for layer in group:
            assert layer.kind == "pixel", f"{psd_path.name}: {layer.name!r} is a {layer.kind}"
            rgba = np.asarray(layer.topil().convert("RGBA"))
            out.append((group.name, layer.name, layer.is_visible(), rgba))
    return out


@pytest.fixture(scope="module")
def catalog() -> dict:
    return yaml.safe_load((ASSETS / "classes.yaml").read_text())["classes"]


@pytest.fixture(scope="module")
def main_layers() -> dict[str, list]:
    return {cls: layers(ASSETS / "subjects" / f"{cls}.psd") for cls in TARGETS}


def thumb(rgba: np.ndarray, n: int = 48) -> np.ndarray:
    """RGBA over mid-grey, squeezed to n x n, as float: a crude look-alike signature."""
    a = rgba[..., 3:4] / 255.0
    rgb = rgba[..., :3] * a + 128 * (1 - a)
    return cv2.resize(rgb.astype(np.float32), (n, n), interpolation=cv2.INTER_AREA)


def difference(a: np.ndarray, b: np.ndarray) -> float:
    """How visibly two cut-outs differ; > 1 means clearly (by colour, outline or layout).

    The largest of: mean colour distance / 25, (1 - silhouette IoU) / 0.2, and the mean
    absolute difference of squeezed thumbnails / 8 (grey levels).
    """
    def mask(r):
        m = cv2.resize((r[..., 3] > 128).astype(np.float32), (64, 64), interpolation=cv2.INTER_AREA)
        return m > 0.5

    colour = [r[..., :3][r[..., 3] > 128].astype(np.float64).mean(0) for r in (a, b)]
    ma, mb = mask(a), mask(b)
    iou = (ma & mb).sum() / (ma | mb).sum()
    return max(np.linalg.norm(colour[0] - colour[1]) / 25, (1 - iou) / 0.2,
               float(np.abs(thumb(a) - thumb(b)).mean()) / 8)


def test_catalog_has_the_eight_classes_with_sane_ranges(catalog):
    assert set(TARGETS) <= set(catalog)
    for name, spec in catalog.items():
        lo, hi = spec["size_m"]
        assert 0.02 <= lo <= hi <= 2.0, name
        assert spec["pose"] in ("flat", "upright"), name
        ylo, yhi = spec["yaw_deg"]
        rlo, rhi = spec["roll_deg"]
        assert -180 <= ylo <= yhi <= 180 and -10 <= rlo <= rhi <= 10, name
        if spec["pose"] == "flat":
            assert (rlo, rhi) == (0, 0), name
        else:
            assert yhi - ylo < 180, f"{name}: an upright class needs a bounded yaw"
    assert catalog["fan"]["pose"] == "upright"
    assert all(catalog[c]["pose"] == "flat" for c in TARGETS if c != "fan")
    assert not any(catalog[c].get("distractor", False) for c in TARGETS)
    assert all(catalog[c]["distractor"] is True for c in DISTRACTORS)
    # physical plausibility: a bathroom scale is bigger than pet waste, a fan bigger than a shoe
    assert catalog["scale"]["size_m"][0] > catalog["poop"]["size_m"][1]
    assert catalog["fan"]["size_m"][1] > catalog["shoe"]["size_m"][1]


@pytest.mark.parametrize("cls", TARGETS)
def test_every_class_has_four_visible_cutout_variants(main_layers, cls):
    found = main_layers[cls]
    assert {g for g, *_ in found} == {cls}
    visible = [(name, rgba) for _, name, vis, rgba in found if vis]
    assert len(visible) >= 4
    for name, rgba in visible:
        assert name.startswith(f"{cls}_"), name
        alpha = rgba[..., 3]
        assert (alpha == 0).mean() > 0.01 and (alpha == 255).mean() > 0.02, name
        # soft anti-aliased edge, not a hard binary mask
        assert ((alpha > 0) & (alpha < 255)).sum() > 50, name
        assert 90 <= max(alpha.shape) <= 400, f"{name}: {alpha.shape}"
        # textured and shaded, not a flat blob: opaque pixels spread in brightness
        lum = rgba[..., :3].astype(np.float32).mean(-1)[alpha == 255]
        assert np.percentile(lum, 95) - np.percentile(lum, 5) > 20, name


@pytest.mark.parametrize("cls", TARGETS)
def test_variants_within_a_class_look_different(main_layers, cls):
    visible = [(name, rgba) for _, name, vis, rgba in main_layers[cls] if vis]
    for (n1, a), (n2, b) in itertools.combinations(visible, 2):
        assert difference(a, b) > 1, f"{n1} and {n2} look alike"


def test_pose_tags_and_hidden_layer(main_layers):
    shoe = {name: vis for _, name, vis, _ in main_layers["shoe"]}
    upright = [n for n in shoe if "[upright]" in n]
    assert len(upright) == 1 and shoe[upright[0]]
    hidden = [n for n, vis in shoe.items() if not vis]
    assert hidden == ["shoe_draft"]
    # the side-view shoe is wider than tall and stands on its bottom edge
    rgba = next(r for _, n, _, r in main_layers["shoe"] if n == upright[0])
    h, w = rgba.shape[:2]
    assert w > 1.8 * h
    rows = np.nonzero((rgba[..., 3] > 128).any(1))[0]
    assert rows.max() >= h - 3
    for _, name, _, rgba in main_layers["fan"]:  # fans stand on their base too
        rows = np.nonzero((rgba[..., 3] > 128).any(1))[0]
        assert rows.max() >= rgba.shape[0] - 3, name


def test_distractors_psd(catalog):
    found = layers(ASSETS / "subjects" / "distractors.psd")
    for cls in DISTRACTORS:
        mine = [n for g, n, vis, _ in found if g == cls and vis]
        assert len(mine) >= 2 and all(n.startswith(f"{cls}_") for n in mine)
    assert {g for g, *_ in found} <= set(catalog)


@pytest.mark.parametrize("cls", TARGETS)
def test_heldout_variants_are_new(main_layers, cls):
    held = [(n, r) for g, n, vis, r in layers(ASSETS / "heldout" / "subjects" / f"{cls}.psd")
            if vis and g == cls]
    assert len(held) >= 2
    main = [(n, r) for _, n, _, r in main_layers[cls]]
    for name, rgba in held:
        assert name not in {n for n, _ in main}
        assert min(difference(rgba, r) for _, r in main) > 1, f"held-out {name} is like a main one"


def read_jpeg(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_floors_are_tileable_and_have_a_physical_scale():
    for folder, minimum in ((ASSETS / "floors", 6), (ASSETS / "heldout" / "floors", 2)):
        files = sorted(folder.glob("*.jpg"))
        assert len(files) >= minimum
        scale = yaml.safe_load((folder / "scale.yaml").read_text())
        assert set(scale) == {f.name for f in files}
        for f in files:
            assert 0.5 <= scale[f.name] <= 5.0, f.name
            img = read_jpeg(f).astype(np.float32)
            assert img.shape == (1024, 1024, 3), f.name
            assert img.std() > 3, f"{f.name} is blank"
            # seamless-ish: the wrap-around seam is no harsher than the steps inside the
            # texture (which include its own plank gaps and grout lines)
            for axis in (0, 1):
                steps = np.abs(np.diff(img, axis=axis)).mean(axis=(1 - axis, 2))
                seam = np.abs(img.take(0, axis) - img.take(-1, axis)).mean()
                assert seam <= 1.1 * steps.max() + 2, f"{f.name}: seam {seam:.1f} vs {steps.max():.1f}"
    names = {f.stem for f in (ASSETS / "floors").glob("*.jpg")}
    for kind in ("wood", "tiles", "carpet", "marble", "concrete", "laminate"):
        assert any(kind in n for n in names), kind


def test_backdrops():
    for folder, minimum in ((ASSETS / "backdrops", 3), (ASSETS / "heldout" / "backdrops", 1)):
        files = sorted(folder.glob("*.jpg"))
        assert len(files) >= minimum
        for f in files:
            img = read_jpeg(f)
            assert img.shape == (720, 1280, 3), f.name
            assert img.std() > 10, f.name
    held = read_jpeg(next((ASSETS / "heldout" / "backdrops").glob("*.jpg"))).astype(np.float32)
    for f in (ASSETS / "backdrops").glob("*.jpg"):
        assert np.abs(read_jpeg(f).astype(np.float32) - held).mean() > 20


def test_pack_size_budget():
    total = sum(p.stat().st_size for p in ASSETS.rglob("*") if p.is_file())
    assert total <= 15 * 1024 * 1024, f"{total / 2**20:.1f} MB"


def load_script():
    spec = importlib.util.spec_from_file_location("make_assets", ASSETS / "make_assets.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_assets"] = mod  # dataclasses look their module up
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.modules.pop("make_assets", None)
    return mod


def test_script_remakes_the_committed_files(tmp_path):
    """One small PSD, drawn twice: same bytes both times, same pixels as the committed file."""
    items = load_script().build_items()
    for rel in ("classes.yaml", "floors/scale.yaml", "heldout/floors/scale.yaml"):
        assert items[rel]() == (ASSETS / rel).read_bytes(), rel
    rel = "heldout/subjects/poop.psd"
    first, second = items[rel](), items[rel]()
    assert first == second
    committed = ASSETS / rel
    if first != committed.read_bytes():
        # other library versions may round differently: then pixels must still agree closely
        (tmp_path / "poop.psd").write_bytes(first)
        new = {n: r for _, n, _, r in layers(tmp_path / "poop.psd")}
        old = {n: r for _, n, _, r in layers(committed)}
        assert new.keys() == old.keys()
        for n in new:
            assert new[n].shape == old[n].shape, n
            assert np.abs(new[n].astype(int) - old[n].astype(int)).mean() < 1.0, n
