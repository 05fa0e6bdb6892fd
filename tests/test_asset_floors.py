"""The demo pack's floors and backdrops: tileable, with a physical scale and a gloss,
photographic detail at several scales, backdrops the size the README says."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import yaml
from PIL import Image

ASSETS = Path(__file__).resolve().parent.parent / "assets"


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


def band_contrast(grey: np.ndarray) -> tuple[float, float, float]:
    """Std of the grey image's detail at three scales, grey levels: fine (what a 1 px blur
    removes), mid (2-6 px) and coarse (16-48 px)."""
    g = grey.astype(np.float32)
    b = {s: cv2.GaussianBlur(g, (0, 0), s) for s in (1.0, 2.0, 6.0, 16.0, 48.0)}
    return float((g - b[1.0]).std()), float((b[2.0] - b[6.0]).std()), float((b[16.0] - b[48.0]).std())


def test_floors_have_photographic_detail_at_several_scales():
    """Real floors are not smooth gradients: the textures carry detail at the pixel scale
    (grain, pores, fibres, specks, scratches), at a few pixels (tile speckle, wood figure,
    aggregate) and at tens of pixels (planks, tiles, light and dirt), and enough contrast.
    The thresholds sit below every floor of the pack (and above the smooth textures it had
    before: walnut and slate then held 2.6-2.8 grey levels of fine detail, grey std 9-12).
    Low oblique phone photos of real wood, tile and carpet floors hold a grey std of 31-41."""
    for f in sorted((ASSETS / "floors").glob("*.jpg")) + sorted((ASSETS / "heldout" / "floors").glob("*.jpg")):
        grey = cv2.cvtColor(read_jpeg(f), cv2.COLOR_RGB2GRAY)
        fine, mid, coarse = band_contrast(grey)
        assert fine >= 4.0, f"{f.name}: fine detail {fine:.2f} grey levels"
        assert mid >= 2.5, f"{f.name}: detail at 2-6 px {mid:.2f}"
        assert coarse >= 2.0, f"{f.name}: detail at 16-48 px {coarse:.2f}"
        assert grey.std() >= 15, f"{f.name}: grey std {grey.std():.1f}"


def test_floors_have_a_gloss():
    """floors/gloss.yaml gives every floor its gloss (a number or a range in [0, 1]): stone
    and glazed tiles shine, carpet does not, concrete little; synth reads it."""
    from synth.scene import load_scene_bank

    for root in (ASSETS, ASSETS / "heldout"):
        files = {f.name for f in (root / "floors").glob("*.jpg")}
        table = yaml.safe_load((root / "floors" / "gloss.yaml").read_text())
        assert set(table) == files
        ranges = {}
        for name, v in table.items():
            lo, hi = (v, v) if not isinstance(v, list) else v
            assert 0 <= lo <= hi <= 1, f"{name}: {v}"
            ranges[name] = (lo, hi)
        bank = load_scene_bank(root)
        assert {t.name.split("/")[-1]: t.gloss for t in bank.floors} == ranges
    main = yaml.safe_load((ASSETS / "floors" / "gloss.yaml").read_text())
    assert main["carpet.jpg"] == 0
    assert max(np.ravel(main["concrete.jpg"])) <= 0.1
    for shiny in ("marble.jpg", "tiles.jpg"):
        assert min(np.ravel(main[shiny])) > max(np.ravel(main["concrete.jpg"])), shiny
    for some in ("laminate.jpg", "wood_planks.jpg", "slate_tiles.jpg"):
        assert min(np.ravel(main[some])) > 0, some


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
