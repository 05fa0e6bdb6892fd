"""The fast paths of the generator give what the plain computations give: the tiled floor
warp, the mirrored wall warp, the blur of a part, the mask's k-th pixel, the sensor noise per
channel, the room-light gain table, the per-roll lens map, one pixel's floor point, a paste's
per-pixel weights and colour gains, the atomic write, the pool's OpenCV threads."""
from __future__ import annotations

import math
import os
import stat

import cv2
import numpy as np
import pytest

from synth import fsio
from synth.camera import sample_camera
from synth.camera_file import CameraSpec, Jitter
from synth.effects import (CAMERA_STREAM, DEFAULT_CAMERA, NOISE_TILE, apply_camera,
                           blur_or_sharpen, draw_camera, field_noise, motion_blur,
                           resolution_loss, sensor_noise, tone, unit_noise)
from synth.generate import GenerateConfig, generate
from synth.lens import MAX_CANVAS, lens_map, project_points, undistort_pixels
from synth.maskpoints import MaskPoints
from synth.paste import blur_within, match_colour, times_planes
from synth.scene import gain_lut, periodic_crop, warp_reflected, warp_tiling


def _texture(h: int = 64, w: int = 96) -> np.ndarray:
    rng = np.random.default_rng(3)
    return cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 1.5)


def _floor_homography(angle: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    A = np.array([[scale * c, -scale * s, shift[0]], [scale * s, scale * c, shift[1]], [0, 0, 1.0]])
    A[2, :2] = (2e-4, 5e-4)  # a little perspective
    return A


def test_periodic_crop_is_the_tiling_at_any_offset():
    tex = _texture(5, 7)
    tiling = np.tile(tex, (6, 6, 1))
    for x0, y0 in ((0, 0), (3, 2), (-9, -4), (20, 13), (-1, 11)):
        got = periodic_crop(tex, x0, y0, 17, 12)
        want = tiling[y0 % 5:y0 % 5 + 12, x0 % 7:x0 % 7 + 17]
        assert np.array_equal(got, want)


@pytest.mark.parametrize("angle,scale", [(0.3, 0.8), (2.0, 1.7), (-1.1, 0.45)])
def test_the_tiled_warp_is_opencvs_wrapped_warp(angle, scale):
    tex = _texture()
    H = _floor_homography(angle, scale, (30.0, -20.0))
    want = cv2.warpPerspective(tex, H, (160, 120), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_WRAP)
    got = warp_tiling(tex, H, (160, 120))
    diff = np.abs(got.astype(int) - want)
    assert diff.max() <= 1 and np.count_nonzero(diff) < 0.01 * diff.size


def test_the_tiled_warp_does_not_drift_far_from_the_textures_origin():
    # The same floor shifted by whole texture periods is the same picture. OpenCV's own
    # wrapped warp loses precision there (a few per cent of pixels change by a grey level).
    tex = _texture()
    H = _floor_homography(0.7, 0.9, (10.0, 5.0))
    far = H @ np.array([[1.0, 0, 96 * 300], [0, 1.0, -64 * 400], [0, 0, 1]])
    near = warp_tiling(tex, H, (160, 120))
    assert np.count_nonzero(warp_tiling(tex, far, (160, 120)) != near) <= 0.001 * near.size


def test_the_tiled_warp_falls_back_on_the_horizon():
    # The output-to-source map's third row 1 - 0.02 y reaches 0 at row 50: the output's lower
    # rows lie beyond the floor's horizon, so no source window exists and OpenCV's own wrapped
    # warp must run (a window-based warp could not be equal: it would have no window).
    tex = _texture()
    inverse = np.array([[2.0, 0.3, 5.0], [-0.2, 1.5, 3.0], [0.0, -0.02, 1.0]])
    H = np.linalg.inv(inverse)
    want = cv2.warpPerspective(tex, H, (80, 80), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    assert np.array_equal(warp_tiling(tex, H, (80, 80)), want)
    assert np.count_nonzero(want) > 0.5 * want.size  # the wrapped floor, not an empty output


@pytest.mark.parametrize("scale,shift", [(1.2, (10.0, 8.0)), (1.6, (-30.0, 5.0)),
                                         (2.5, (-20.0, -10.0))])
def test_the_mirrored_warp_is_opencvs_reflected_warp(scale, shift):
    # A wall wider and taller than its backdrop (its taps fall outside on every side), one
    # outside it on three sides, and one wholly inside it.
    tex = _texture()
    H = _floor_homography(0.0, scale, shift)
    want = cv2.warpPerspective(tex, H, (160, 120), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
    diff = np.abs(warp_reflected(tex, H, (160, 120)).astype(int) - want)
    assert diff.max() <= 1 and np.count_nonzero(diff) <= 0.001 * diff.size


def test_the_mirrored_warp_leaves_a_backdrop_mirrored_more_than_once_to_opencv():
    tex = _texture()
    H = _floor_homography(0.0, 0.3, (-150.0, -60.0))  # sees 5x the backdrop's width
    want = cv2.warpPerspective(tex, H, (160, 120), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
    assert np.array_equal(warp_reflected(tex, H, (160, 120)), want)


@pytest.mark.parametrize("seed", range(4))
def test_the_gain_table_gives_cv2_multiplys_bytes(seed):
    rng = np.random.default_rng(seed)
    img = np.tile(np.arange(256, dtype=np.uint8)[:, None, None], (1, 7, 3))  # every value
    img[:, 1:] = rng.integers(0, 256, (256, 6, 3), dtype=np.uint8)
    for _ in range(200):
        gain = rng.uniform(0.6, 1.3, size=3)  # the draw's range and beyond (saturation)
        want = cv2.multiply(img, (*gain.tolist(), 0.0), dtype=cv2.CV_8U)
        assert np.array_equal(cv2.LUT(img, gain_lut(gain)), want)


@pytest.mark.parametrize("sigma", [0.6, 1.7, 3.6])
def test_blurring_within_a_part_is_the_part_of_the_whole_blur(sigma):
    rng = np.random.default_rng(int(sigma * 10))
    img = rng.integers(0, 256, (90, 70, 4), dtype=np.uint8)
    whole = cv2.GaussianBlur(img, (0, 0), sigma)
    for part in ((slice(0, 90), slice(0, 70)), (slice(30, 61), slice(5, 50)), (slice(0, 12), slice(60, 70))):
        assert np.array_equal(blur_within(img, part, sigma), whole[part])


@pytest.mark.parametrize("row", [-30.0, -0.5, 0.0, 3.0, 3.5, 7.99, 11.0, 40.0, -math.inf])
def test_mask_points_list_the_pixels_argwhere_lists(row):
    mask = np.random.default_rng(5).random((12, 9)) < 0.3
    mask[4] = False  # an empty row
    pts = np.argwhere(mask)
    want = pts[pts[:, 0] > row]
    got = MaskPoints(mask).below(row)
    assert len(got) == len(want)
    assert [got[k].tolist() for k in range(len(got))] == want.tolist()
    with pytest.raises(IndexError):
        got[len(got)]


def test_mask_points_below_twice_keep_the_lower_rows():
    mask = np.ones((6, 4), bool)
    assert MaskPoints(mask).below(3.2).below(1.0)[0].tolist() == [4, 0]


def _field_noise_as_before(rgb: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """The window of the fixed field, flipped and channel-permuted as one array, added."""
    h, w = rgb.shape[:2]
    field = unit_noise().transpose(1, 2, 0)
    y, x = int(rng.integers(NOISE_TILE - h + 1)), int(rng.integers(NOISE_TILE - w + 1))
    flips = rng.integers(2, size=2)
    win = field[y:y + h, x:x + w][::-1 if flips[0] else 1, ::-1 if flips[1] else 1]
    return sensor_noise(rgb, std, win[..., rng.permutation(3)])


@pytest.mark.parametrize("view", ["topdown", "robot", "human"])
def test_one_pixels_floor_point_is_pixel_to_floors_to_the_bit(view):
    for seed in range(10):
        camera = sample_camera(view, np.random.default_rng(seed), 640, 480)
        uv = np.random.default_rng(seed).uniform(-100, 740, (200, 2))
        uv[:20, 1] = camera.horizon_row() - np.arange(20)  # at and above the horizon: NaN
        got = np.array([camera.floor_point(u, v) for u, v in uv.tolist()])
        assert np.array_equal(got, camera.pixel_to_floor(uv), equal_nan=True)


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 1, 3), (1, 9, 4), (33, 47, 3), (20, 30, 4)])
def test_times_planes_is_numpys_product_with_the_weight_broadcast(shape):
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    img = (rng.random(shape) * 300).astype(np.float32)
    weight = rng.random(shape[:2]).astype(np.float32)[::-1]  # a view with negative strides
    assert np.array_equal(times_planes(img, weight), img * weight[..., None])


def test_match_colour_scales_the_premultiplied_colour_as_float32():
    rng = np.random.default_rng(5)
    canvas = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (30, 41, 4), dtype=np.uint8)
    cs = (slice(10, 40), slice(20, 61))
    got = match_colour(canvas, cs, rgba, np.random.default_rng(9))
    # the colour gains by hand, then numpy's uint8 * float32 products
    local = np.asarray(cv2.mean(canvas[cs])[:3]) + 1e-3
    tint = (local / local.mean()) ** 0.35
    lum = float(local @ np.array([0.299, 0.587, 0.114]))
    gain = np.clip((lum / 120.0) ** 0.35, 0.7, 1.2) * np.random.default_rng(9).uniform(0.92, 1.08)
    assert got.dtype == np.float32
    assert np.array_equal(got, rgba[..., :3] * (tint * gain).astype(np.float32))


@pytest.mark.parametrize("seed", range(8))
def test_field_noise_adds_the_drawn_window_of_the_field(seed):
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    rgb[:8] = 0  # saturation at both ends
    rgb[8:16] = 255
    std = float(rng.uniform(0.5, 40.0))
    assert np.array_equal(field_noise(rgb, std, np.random.default_rng(seed + 100)),
                          _field_noise_as_before(rgb, std, np.random.default_rng(seed + 100)))


@pytest.mark.parametrize("seed", [1, 7, 12345])
def test_apply_camera_is_its_effects_one_after_another(seed):
    rgb = cv2.GaussianBlur(np.random.default_rng(seed).integers(0, 256, (48, 64, 3), np.uint8),
                           (0, 0), 2.0)
    rng = np.random.default_rng([seed, CAMERA_STREAM])
    d = draw_camera(DEFAULT_CAMERA, rng)
    out = motion_blur(blur_or_sharpen(resolution_loss(rgb, d.downscale), d.sharpen),
                      d.motion_px, d.motion_deg)
    out = _field_noise_as_before(tone(out, d.gains, d.contrast, d.gamma), d.noise_std, rng)
    got, quality = apply_camera(DEFAULT_CAMERA, rgb, seed)
    assert np.array_equal(got, out) and quality == d.jpeg_quality


SPEC = CameraSpec((96, 72), 52.0, 52.5, 48.3, 35.6, 0.07, -6.0, 1.5, "pinhole",
                  (-0.28, 0.08, 0.0005, -0.0003, -0.01), Jitter(0.005, 1.5, 1.0))


def _plain_lens_map(spec: CameraSpec, roll_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """The lens map computed over the whole frame, as it was before the fast path."""
    W, H = spec.image_size
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    pix = np.column_stack([xs.ravel(), ys.ravel()])
    rays = np.column_stack([undistort_pixels(spec, pix), np.ones(W * H)])
    rays[np.abs(project_points(spec, rays) - pix).max(axis=1) > 0.05] = np.nan  # no ray
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    sr, cr = math.sin(math.radians(roll_deg)), math.cos(math.radians(roll_deg))
    rx, ry, z = cr * rays[:, 0] - sr * rays[:, 1], sr * rays[:, 0] + cr * rays[:, 1], rays[:, 2]
    u, v = spec.fx * rx / z + spec.cx, spec.fy * ry / z + spec.cy
    lim_x, lim_y = (MAX_CANVAS - 1) / 2 * W, (MAX_CANVAS - 1) / 2 * H
    with np.errstate(invalid="ignore"):
        ok = (z > 1e-6) & (u > -lim_x) & (u < W - 1 + lim_x) & (v > -lim_y) & (v < H - 1 + lim_y)
    dx, dy = -(math.floor(min(u[ok].min(), 0.0)) - 2), -(math.floor(min(v[ok].min(), 0.0)) - 2)
    return (np.where(ok, u + dx, -10.0).astype(np.float32).reshape(H, W),
            np.where(ok, v + dy, -10.0).astype(np.float32).reshape(H, W))


# a fisheye of ~190°: its outer rays fall outside the canvas (the slower, clipped path)
WIDE_FISHEYE = CameraSpec((96, 72), 30.0, 30.0, 48.0, 36.0, 0.07, -6.0, 1.5, "fisheye",
                          (0.02, -0.01, 0.002, -0.0005))


@pytest.mark.parametrize("spec,roll", [(SPEC, 0.7), (SPEC, 2.5), (WIDE_FISHEYE, 1.2)],
                         ids=["pinhole-0.7", "pinhole-2.5", "fisheye-clipped"])
def test_the_lens_map_of_each_roll_is_the_whole_frame_computation(spec, roll):
    lens = lens_map(spec, roll)
    want_x, want_y = _plain_lens_map(spec, roll)
    # the fast path's rays are refined only where they still move: at most a rounding apart
    assert np.abs(lens.map_x - want_x).max() <= 1e-4 and np.abs(lens.map_y - want_y).max() <= 1e-4
    assert np.array_equal(lens.map_x < -5, want_x < -5)


def test_write_bytes_makes_the_folder_and_leaves_the_usual_mode(tmp_path):
    path = tmp_path / "new" / "a.bin"
    fsio.write_bytes(path, b"abc")
    umask = os.umask(0)
    os.umask(umask)
    assert path.read_bytes() == b"abc"
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    fsio.write_bytes(path, b"de")  # replaces
    assert path.read_bytes() == b"de" and sorted(p.name for p in path.parent.iterdir()) == ["a.bin"]


def test_a_failed_write_leaves_neither_a_temp_file_nor_a_changed_file(tmp_path):
    path = tmp_path / "a.txt"
    fsio.write_bytes(path, b"old")
    with pytest.raises(TypeError):
        fsio.write_bytes(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_pool_run_leaves_opencvs_threads_as_they_were(tiny_pack, tmp_path):
    before = cv2.getNumThreads()
    cfg = GenerateConfig(view="topdown", out=tmp_path / "set", n=4, workers=2, size=(96, 72),
                         assets=[tiny_pack["assets"]], backgrounds=tiny_pack["backgrounds"],
                         classes=tiny_pack["classes"])
    assert generate(cfg, progress=False).present == 4
    assert cv2.getNumThreads() == before
