"""`synth generate --match-stats`: planted targets recovered, stats matched, determinism,
bad input; `synth stats --compare` against a direct computation; synth/imagestats.py."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from synth.cli import main as synth_main
from synth.compose import compose
from synth.effects import CameraEffects, blur_or_sharpen, sensor_noise, tone
from synth.generate import GenerateConfig, build_library
from synth.recipe import config_from_options, load_recipe
from synth.imageio import encode_jpeg, encode_png, read_image
from synth.imagestats import folder_stats, noise_level
from synth.match import fit_to_folder
from synth.scene import load_scene_bank

from tests.helpers import make_pack

SIZE = (320, 240)
CAMERA = ["--height", "0.8", "--pitch", "90", "--fov", "65"]  # one camera: less content spread


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> dict[str, Path]:
    """The tiny pack with a floor of fine, smooth texture and grid lines (blur shows on it)."""
    p = make_pack(tmp_path_factory.mktemp("matchpack"))
    rng = np.random.default_rng(5)
    f = cv2.GaussianBlur(rng.standard_normal((256, 256)).astype(np.float32), (0, 0), 1.2)
    f = f / f.std() * 25 + 128
    floor = np.clip(np.stack([f, f * 0.9 + 10, f * 0.8 + 20], -1), 0, 255).astype(np.uint8)
    floor[::32] = 70
    floor[:, ::32] = 190
    (p["backgrounds"] / "floors" / "floor.png").write_bytes(encode_png(floor))
    return p


@pytest.fixture(scope="module")
def scene(pack):
    """(library, scene bank, compose options) of the runs below."""
    cfg = GenerateConfig(view="topdown", out=Path("unused"), assets=[pack["assets"]],
                         backgrounds=pack["backgrounds"], classes=pack["classes"], size=SIZE,
                         only=["box"], height_m=0.8, pitch_deg=90.0, fov_deg=65.0)
    return build_library(cfg), load_scene_bank(cfg.backgrounds), cfg.compose_options()


def _args(pack) -> list[str]:
    return ["--view", "topdown", "--assets", str(pack["assets"]), "--backgrounds",
            str(pack["backgrounds"]), "--classes", str(pack["classes"]), "--only", "box",
            "--size", f"{SIZE[0]}x{SIZE[1]}", "--workers", "1", *CAMERA]


def plant(folder: Path, scene, n: int, blur: float = 0.0, sharpen: float = 0.0,
          contrast: float = 1.0, noise: float = 0.0, quality: int = 95) -> Path:
    """Composites (seeds unlike any probe's) through a known camera, written as JPEGs."""
    lib, bank, opts = scene
    folder.mkdir(parents=True)
    for i in range(n):
        rgb = compose(lib, bank, opts, np.random.default_rng([4242, i])).rgb
        rgb = blur_or_sharpen(rgb, sharpen if sharpen else -blur)
        rgb = tone(rgb, (1.0, 1.0, 1.0), contrast, 1.0)
        unit = np.random.default_rng([4343, i]).standard_normal(rgb.shape, dtype=np.float32)
        rgb = sensor_noise(rgb, noise, unit)
        (folder / f"frame_{i:03d}.jpg").write_bytes(encode_jpeg(rgb, quality))
    return folder


def _centre(r: tuple[float, float]) -> float:
    return (r[0] + r[1]) / 2


# ----------------------------------------------------------------------------- the fit
@pytest.mark.parametrize("blur,noise,quality", [(1.2, 4.0, 80), (0.8, 3.0, 88)])
def test_fit_recovers_planted_blur_noise_and_jpeg(scene, tmp_path, blur, noise, quality):
    """Blur sigma within 0.3 px, noise std within 20%, JPEG quality within 5."""
    target = plant(tmp_path / "real", scene, 24, blur=blur, noise=noise, quality=quality)
    lib, bank, opts = scene
    fit = fit_to_folder(target, lib, bank, opts, seed=0)
    fx = fit.effects
    assert fit.off == []
    assert _centre(fx.sharpen) == pytest.approx(-blur, abs=0.3)
    assert _centre(fx.noise_std) == pytest.approx(noise, rel=0.2)
    assert _centre(fx.jpeg_quality) == pytest.approx(quality, abs=5)
    assert fx.downscale == (1.0, 1.0)  # not fitted
    for k in ("sharpness", "contrast"):
        assert fit.after[k] == pytest.approx(fit.target[k], rel=0.3)


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".synth" not in p.parts}


@pytest.fixture(scope="module")
def matched(pack, scene, tmp_path_factory):
    """A sharp, contrasted, noisy second target and two sets generated to match it."""
    root = tmp_path_factory.mktemp("matched")
    target = plant(root / "real", scene, 24, sharpen=1.0, contrast=1.5, noise=2.0, quality=92)
    outs, results = [], []
    for name in ("a", "b"):
        out = root / name
        res = CliRunner().invoke(synth_main, ["generate", *_args(pack), "-n", "16", "--seed", "3",
                                              "--out", str(out), "--match-stats", str(target)])
        assert res.exit_code == 0, res.output
        outs.append(out)
        results.append(res.output)
    return target, outs, results


def test_generated_set_matches_the_target_sharpness_and_contrast(matched):
    target, (out, _), (output, _) = matched
    real, mine = folder_stats(target), folder_stats(out)
    for k in ("sharpness", "contrast"):
        assert mine.median(k) == pytest.approx(real.median(k), rel=0.3), k
    assert mine.median("brightness") == pytest.approx(real.median("brightness"), abs=15)
    text = (out / "effects.yaml").read_text()
    assert text.startswith("# synth generate --match-stats") and "\neffects:\n" in text
    assert "# sharpness" in text and "effects.yaml" in output  # the fit's table, its file


def test_same_seed_same_fit_same_bytes_and_the_effects_file_reproduces_it(pack, matched,
                                                                          tmp_path):
    _, (a, b), _ = matched
    assert (a / "effects.yaml").read_text() == (b / "effects.yaml").read_text()
    assert _digest(a) == _digest(b)
    fx = config_from_options(load_recipe(a / "effects.yaml") | {"view": "topdown"}).camera_effects
    assert isinstance(fx, CameraEffects) and fx.sharpen[0] > 0  # the target was sharpened
    # the kept file, passed back, makes the same images without fitting again
    c = tmp_path / "c"
    res = CliRunner().invoke(synth_main, ["generate", *_args(pack), "-n", "16", "--seed", "3",
                                          "--out", str(c), "--recipe", str(a / "effects.yaml")])
    assert res.exit_code == 0, res.output
    da, dc = _digest(a), _digest(c)
    assert {k: v for k, v in da.items() if k != "effects.yaml"} == \
        {k: v for k, v in dc.items() if k != "effects.yaml"}
    # ... and counts as the same settings: a resume into the first set renders nothing
    res = CliRunner().invoke(synth_main, ["generate", *_args(pack), "-n", "16", "--seed", "3",
                                          "--out", str(a), "--recipe", str(a / "effects.yaml")])
    assert res.exit_code == 0 and "0 rendered" in res.output, res.output


def _error_line(res) -> str:
    lines = [x for x in res.output.strip().splitlines() if x.startswith("error:")]
    assert res.exit_code == 2 and len(lines) == 1 and "Traceback" not in res.output, res.output
    return lines[0]


def test_bad_match_stats_input_is_one_line_exit_2_nothing_written(pack, tmp_path):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("no images here")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "ok.png").write_bytes(encode_png(np.full((64, 64, 3), 100, np.uint8)))
    (broken / "bad.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    cases = [(tmp_path / "missing", "no such folder"), (empty, "no images"),
             (broken, "bad.jpg")]
    for folder, needle in cases:
        out = tmp_path / f"out-{folder.name}"
        res = CliRunner().invoke(synth_main, ["generate", *_args(pack), "-n", "2",
                                              "--out", str(out), "--match-stats", str(folder)])
        line = _error_line(res)
        assert line.startswith("error: --match-stats") and needle in line, line
        assert not out.exists()
    res = CliRunner().invoke(synth_main, ["generate", *_args(pack), "-n", "2", "--no-effects",
                                          "--out", str(tmp_path / "o"), "--match-stats",
                                          str(broken)])
    assert "--no-effects" in _error_line(res)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("effects:\n  sharpen: [0.5, 0.2]\n")
    res = CliRunner().invoke(synth_main, ["generate", *_args(pack), "-n", "2", "--recipe",
                                          str(recipe), "--out", str(tmp_path / "o")])
    assert "r.yaml: effects: sharpen" in _error_line(res)
    recipe.write_text("effects:\n  blurr: 1\n")
    res = CliRunner().invoke(synth_main, ["generate", *_args(pack), "-n", "2", "--recipe",
                                          str(recipe), "--out", str(tmp_path / "o")])
    assert "unknown effect 'blurr'" in _error_line(res)
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------- the statistics
def _direct(rgb: np.ndarray) -> dict[str, float]:
    """The statistics by their definitions, in numpy (no OpenCV filters)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
    p = np.pad(grey, 1, mode="reflect")  # OpenCV's default border (reflect-101)
    lap = p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * grey
    ratios = []
    for d in (np.abs(np.diff(grey, axis=1)), np.abs(np.diff(grey, axis=0)).T):
        on = (np.arange(d.shape[1]) % 8) == 7
        ratios.append(d[:, on].mean() / d[:, ~on].mean())
    g = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])

    def conv(k: np.ndarray) -> np.ndarray:  # the inner pixels only
        h, w = g.shape
        return sum(k[i, j] * g[i:h - 2 + i, j:w - 2 + j] for i in range(3) for j in range(3))

    resid = np.abs(conv(np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]])))[::2, ::2].ravel()
    sob = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    edges = (np.abs(conv(sob)) + np.abs(conv(sob.T)))[::2, ::2].ravel()
    cut = np.sort(edges)[int(0.9 * (edges.size - 1))]
    return {"brightness": grey.mean(), "contrast": grey.std(), "mean_r": rgb[..., 0].mean(),
            "mean_g": rgb[..., 1].mean(), "mean_b": rgb[..., 2].mean(), "sharpness": lap.var(),
            "noise": np.sqrt(np.pi / 2) / 6 * resid[edges <= cut].mean(),
            "blockiness": float(np.mean(ratios)), "width": rgb.shape[1], "height": rgb.shape[0]}


def test_stats_compare_matches_a_direct_computation(tmp_path):
    rng = np.random.default_rng(1)
    a, b = tmp_path / "set" / "JPEGImages", tmp_path / "real" / "sub"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    (tmp_path / "set" / "Annotations").mkdir()
    for i in range(3):
        img = cv2.GaussianBlur((rng.random((48, 64, 3)) * 255).astype(np.uint8), (0, 0), 1 + i)
        (a / f"a{i}.png").write_bytes(encode_png(img))
    for i in range(4):
        img = (rng.random((40, 56, 3)) * 60 + 40 * i).astype(np.uint8)
        (b / f"b{i}.jpg").write_bytes(encode_jpeg(img, 70))
    (b / "b0_mask.png").write_bytes(encode_png(np.zeros((40, 56, 3), np.uint8)))  # not a frame
    res = CliRunner().invoke(synth_main, ["stats", str(tmp_path / "set"), "--compare",
                                          str(tmp_path / "real"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["set"]["images"] == 3 and out["real"]["images"] == 4
    for side, folder in (("set", a), ("real", b)):
        rows = [_direct(read_image(p)) for p in sorted(folder.glob("*.*")) if "_mask" not in p.name]
        for k, v in out[side]["stats"].items():
            vals = np.array([r[k] for r in rows])
            want = np.percentile(vals, [25, 50, 75])
            assert [v["p25"], v["median"], v["p75"]] == pytest.approx(want, rel=1e-4, abs=1e-6), k
    for k, r in out["ratio"].items():
        assert r == pytest.approx(out["set"]["stats"][k]["median"]
                                  / out["real"]["stats"][k]["median"])
    res = CliRunner().invoke(synth_main, ["stats", str(tmp_path / "set"), "--compare",
                                          str(tmp_path / "real")])
    assert res.exit_code == 0, res.output
    row = next(x for x in res.output.splitlines() if x.startswith("sharpness"))
    assert f"{out['set']['stats']['sharpness']['median']:.4g}" in row
    res = CliRunner().invoke(synth_main, ["stats", str(tmp_path / "set"), "--compare",
                                          str(tmp_path / "nowhere")])
    assert _error_line(res).startswith("error: --compare")


def test_noise_level_reads_white_noise_std():
    rng = np.random.default_rng(2)
    for s in (1.0, 3.0, 8.0):
        img = np.clip(np.rint(128 + s * rng.standard_normal((240, 320, 3))), 0, 255)
        grey_std = s * np.sqrt(0.299 ** 2 + 0.587 ** 2 + 0.114 ** 2)
        assert noise_level(img.astype(np.uint8)) == pytest.approx(grey_std, rel=0.06)
