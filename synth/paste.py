"""Pasting one subject into an image: mip level, warp, cast shadow, colour match, blend.

Subjects arrive as premultiplied RGBA mip pyramids and a homography from their level-0
pixels; warping premultiplied colour keeps transparent pixels from bleeding into edges.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .camera import Camera, apply_homography, cutout_corners, shadow_homography
from .poisson import clone_into

BLENDS = ("alpha", "feather", "poisson")
ALPHA_ON = 0.5  # a pixel belongs to an object where its alpha is at least this
POISSON_EDGE_PX = 4.0  # width of the gradient-domain seam of `poisson` blending
POISSON_ERODE_PX = 3  # the subject's own gradients guide it from this far inside its mask
REFLECTION_FADE = 0.5  # a reflection fades to 1/e over this share of its subject's height
MIRROR_Z = np.diag([1.0, 1.0, -1.0, 1.0])  # the floor as a mirror: Z -> -Z


def warp_roi(img: np.ndarray, H: np.ndarray, quad: np.ndarray, interp: int = cv2.INTER_LINEAR
              ) -> tuple[np.ndarray, int, int]:
    """Warp `img` by H into the integer box around `quad`; return (patch, x0, y0)."""
    x0 = int(math.floor(quad[:, 0].min())) - 1
    y0 = int(math.floor(quad[:, 1].min())) - 1
    x1 = int(math.ceil(quad[:, 0].max())) + 2
    y1 = int(math.ceil(quad[:, 1].max())) + 2
    T = np.array([[1.0, 0, -x0], [0, 1.0, -y0], [0, 0, 1.0]])
    patch = cv2.warpPerspective(img, T @ H, (x1 - x0, y1 - y0), flags=interp,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return patch, x0, y0


def level_for(H: np.ndarray, wh: tuple[int, int], n_levels: int) -> int:
    """Pyramid level that keeps the warp from minifying by more than 2x (avoids aliasing)."""
    quad = apply_homography(H, cutout_corners(wh))
    area = 0.5 * abs(np.dot(quad[:, 0], np.roll(quad[:, 1], 1)) -
                     np.dot(quad[:, 1], np.roll(quad[:, 0], 1)))
    scale = math.sqrt(max(area, 1e-6) / (wh[0] * wh[1]))
    return int(np.clip(math.floor(-math.log2(max(scale, 1e-6))), 0, n_levels - 1))


def times_planes(img: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """A (h, w, c) float32 image times a (h, w) float32 weight at each pixel (the weight
    merged into c planes: numpy's broadcast over a short last axis is ~10x slower)."""
    return cv2.multiply(img, cv2.merge([weight] * img.shape[2]))


def clip_box(x0: int, y0: int, shape: tuple[int, int], W: int, Hh: int):
    """Slices of a patch at (x0, y0) and of the image where they overlap (or None)."""
    ph, pw = shape
    ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x0 + pw, W), min(y0 + ph, Hh)
    if ix1 <= ix0 or iy1 <= iy0:
        return None
    return (slice(iy0 - y0, iy1 - y0), slice(ix0 - x0, ix1 - x0)), (slice(iy0, iy1), slice(ix0, ix1))


def cast_shadow(canvas: np.ndarray, plane: np.ndarray, alpha_level: np.ndarray, scale: float,
                camera: Camera, light: np.ndarray, strength: float, lift_m: float = 0.0) -> None:
    """Darken the floor under a subject's shadow (soft, in place); `lift_m` raises the plane
    (a lying subject's thickness, so that it casts a sliver of shade)."""
    h, w = alpha_level.shape[:2]
    plane = plane.copy()
    plane[2, 2] += lift_m
    S = np.diag([scale, scale, 1.0])  # level pixels -> level-0 pixels
    Hs = shadow_homography(camera, plane, light) @ S
    quad = apply_homography(Hs, cutout_corners((w, h)))
    if not np.all(np.isfinite(quad)):
        return
    span = max(np.ptp(quad[:, 0]), np.ptp(quad[:, 1]))
    if span > 10 * max(camera.width, camera.height):
        return
    sigma = 1.0 + 0.04 * span
    pad = int(3 * sigma) + 1
    W, Hh = camera.width, camera.height
    # Only the part near the image matters; a soft shadow can be rendered at low resolution.
    x0 = int(max(math.floor(quad[:, 0].min()) - pad, -pad))
    y0 = int(max(math.floor(quad[:, 1].min()) - pad, -pad))
    x1 = int(min(math.ceil(quad[:, 0].max()) + pad, W + pad))
    y1 = int(min(math.ceil(quad[:, 1].max()) + pad, Hh + pad))
    if x1 <= max(x0, 0) or y1 <= max(y0, 0) or x0 >= W or y0 >= Hh:
        return
    ds = max(1.0, sigma / 2.0)
    sw, sh = max(1, math.ceil((x1 - x0) / ds)), max(1, math.ceil((y1 - y0) / ds))
    T = np.array([[1.0 / ds, 0, -x0 / ds], [0, 1.0 / ds, -y0 / ds], [0, 0, 1.0]])
    small = cv2.warpPerspective(alpha_level, T @ Hs, (sw, sh), flags=cv2.INTER_LINEAR)
    small = cv2.GaussianBlur(small, (0, 0), sigma / ds)
    patch = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    sl = clip_box(x0, y0, patch.shape[:2], W, Hh)
    if sl is None:
        return
    ps, cs = sl
    # canvas * (1 - strength/255 * patch) + 0.5, rounded down: in place, in float32
    shade = patch[ps].astype(np.float32)
    shade *= strength / 255.0
    np.subtract(1.0, shade, out=shade)
    out = times_planes(canvas[cs].astype(np.float32), shade)
    out += 0.5
    canvas[cs] = out


def match_colour(canvas: np.ndarray, cs, pm_rgba: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A premultiplied RGBA uint8 subject's colour scaled towards the light of the background
    around it: premultiplied RGB, float32."""
    local = np.asarray(cv2.mean(canvas[cs])[:3]) + 1e-3
    lum = float(local @ np.array([0.299, 0.587, 0.114]))
    tint = (local / local.mean()) ** 0.35
    gain = np.clip((lum / 120.0) ** 0.35, 0.7, 1.2) * rng.uniform(0.92, 1.08)
    rgb = cv2.cvtColor(pm_rgba, cv2.COLOR_RGBA2RGB).astype(np.float32)
    # float32 products, as numpy's uint8 * float32 makes them
    return cv2.multiply(rgb, tuple(float(v) for v in (tint * gain).astype(np.float32)))


def paste(canvas: np.ndarray, levels: list[np.ndarray], H0: np.ndarray, blend: str,
          rng: np.random.Generator, camera: Camera, plane: np.ndarray | None = None,
          light: np.ndarray | None = None, shadow_strength: float = 0.0, lift_m: float = 0.0
          ) -> tuple[np.ndarray, int, int, int] | None:
    """Paste one subject (premultiplied mip `levels`, warped by H0 from level-0 pixels) into
    the canvas, with its shadow when a light is given; return its unclipped alpha patch,
    the patch's position and its area (pixels of alpha >= ALPHA_ON), or None if unseen."""
    h0, w0 = levels[0].shape[:2]
    k = level_for(H0, (w0, h0), len(levels))
    src = levels[k]
    h, w = src.shape[:2]
    S = np.diag([w0 / w, h0 / h, 1.0])
    H = H0 @ S
    if light is not None and plane is not None:
        cast_shadow(canvas, plane, np.ascontiguousarray(src[..., 3]), w0 / w, camera, light,
                    shadow_strength, lift_m)
    quad = apply_homography(H, cutout_corners((w, h)))
    patch, x0, y0 = warp_roi(src, H, quad)
    alpha = np.divide(patch[..., 3], 255.0, dtype=np.float32)
    full_area = int(np.count_nonzero(alpha >= ALPHA_ON))
    sl = clip_box(x0, y0, patch.shape[:2], camera.width, camera.height)
    if sl is None or full_area == 0:
        return None
    ps, cs = sl
    a = alpha[ps]
    pm = match_colour(canvas, cs, patch[ps], rng)
    if blend == "poisson" and poisson(canvas, cs, pm, a):
        return alpha, x0, y0, full_area
    dst = canvas[cs].astype(np.float32)
    if blend == "feather":
        # Soften the edge inwards only, so no background-coloured fringe appears.
        soft = cv2.GaussianBlur(a, (0, 0), rng.uniform(0.6, 1.4))
        a_new = np.minimum(a, soft)
        ratio = np.divide(a_new, a, out=np.zeros_like(a), where=a > 1e-4)
        out = times_planes(pm, ratio)
        out += times_planes(dst, 1.0 - a_new)
    else:  # pm + dst * (1 - a)
        out = times_planes(dst, 1.0 - a)
        out += pm
    out += 0.5
    canvas[cs] = np.minimum(out, 255.0, out=out)  # out >= 0.5: the upper bound is the clip
    return alpha, x0, y0, full_area


def poisson(canvas: np.ndarray, cs, pm: np.ndarray, a: np.ndarray) -> bool:
    """Poisson-blend a subject into the canvas (synth/poisson.py); False if it is too thin
    to (nothing of it lies POISSON_ERODE_PX inside its mask)."""
    mask = (a >= ALPHA_ON).astype(np.uint8)
    # the subject's gradients guide the solve only inside the eroded mask, as in
    # cv2.seamlessClone: a band of floor gradients then carries the seam
    guide = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=POISSON_ERODE_PX)
    if not guide.any():
        return False
    # solved around the mask's own box (a third smaller than the patch's, on average)
    bx, by, bw, bh = cv2.boundingRect(mask)
    part = (slice(by, by + bh), slice(bx, bx + bw))
    box = (slice(cs[0].start + by, cs[0].start + by + bh),
           slice(cs[1].start + bx, cs[1].start + bx + bw))
    colour = cv2.divide(pm[part], cv2.merge([np.maximum(a[part], 1e-4)] * 3))
    src = canvas[box].astype(np.float32)
    cv2.copyTo(colour, (a[part] > 1e-4).astype(np.uint8), src)
    region, out = clone_into(canvas, box, src, guide[part])
    # Plain Poisson cloning drifts the whole subject towards the floor's colour (thin or
    # translucent subjects all but vanish). Keep the gradient-domain seam at the edge and
    # the subject's own colours inside: blend to the alpha paste over POISSON_EDGE_PX; and
    # keep the alpha paste on parts too thin to hold any guide (a cable, a fan's legs),
    # which the seam alone would fade to a quarter of their contrast.
    inner = np.minimum(cv2.distanceTransform(mask, cv2.DIST_L2, 3) / POISSON_EDGE_PX, 1.0)
    off_guide = cv2.distanceTransform(1 - guide, cv2.DIST_L2, 3)
    thin = np.clip((off_guide - (1.5 * POISSON_ERODE_PX)) / POISSON_EDGE_PX, 0.0, 1.0)
    inner = np.maximum(inner, thin)
    cloned = canvas[cs].astype(np.float32)
    plain = times_planes(cloned, 1.0 - a)
    plain += pm
    # the clone over the patch: the solved region where they overlap, the canvas elsewhere
    (y0, y1), (x0, x1) = ((max(r.start, c.start), min(r.stop, c.stop)) for r, c in zip(region, cs))
    cloned[y0 - cs[0].start:y1 - cs[0].start, x0 - cs[1].start:x1 - cs[1].start] = \
        out[y0 - region[0].start:y1 - region[0].start, x0 - region[1].start:x1 - region[1].start]
    mixed = times_planes(plain - cloned, inner)
    mixed += cloned
    canvas[region] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    canvas[cs] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    return True


def blur_within(img: np.ndarray, part: tuple[slice, slice], sigma: float) -> np.ndarray:
    """cv2.GaussianBlur(img, (0, 0), sigma)[part], blurring only `part` and the kernel's reach
    around it (the same pixels: the kernel is shorter than the margin)."""
    reach = math.ceil(4 * sigma) + 2  # OpenCV's 8-bit kernel reaches 3 sigma, others 4
    ys, xs = part
    h, w = img.shape[:2]
    y0, y1 = max(ys.start - reach, 0), min(ys.stop + reach, h)
    x0, x1 = max(xs.start - reach, 0), min(xs.stop + reach, w)
    out = cv2.GaussianBlur(img[y0:y1, x0:x1], (0, 0), sigma)
    return out[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]


def reflection_homography(camera: Camera, plane: np.ndarray) -> np.ndarray:
    """Homography from cut-out pixels to the image of the subject's reflection in the floor:
    its plane mirrored in Z = 0 (a plane again, so a homography again)."""
    return camera.P @ MIRROR_Z @ plane


def paste_reflection(canvas: np.ndarray, levels: list[np.ndarray], plane: np.ndarray,
                     camera: Camera, gloss: float, floor_top: int = 0) -> None:
    """Draw a subject's reflection on a glossy floor (in place, before any subject is pasted:
    a reflection never covers a subject, since a ray that meets the floor first does not
    reach what stands behind it). It is strongest at the contact line and fades with the
    height of what it mirrors; a less glossy floor blurs it more."""
    h0, w0 = levels[0].shape[:2]
    H0 = reflection_homography(camera, plane)
    corners = apply_homography(H0, cutout_corners((w0, h0)))
    if not np.all(np.isfinite(corners)):
        return
    k = level_for(H0, (w0, h0), len(levels))
    src = levels[k]
    h, w = src.shape[:2]
    # fade with the height above the contact line (the cut-out's bottom row)
    v = np.arange(h, dtype=np.float32)
    weight = np.exp(-(h - 0.5 - v) / (REFLECTION_FADE * h))
    faded = (src.reshape(h, -1).astype(np.float32) * weight[:, None]).astype(np.uint8)
    faded = faded.reshape(src.shape)
    H = H0 @ np.diag([w0 / w, h0 / h, 1.0])
    quad = apply_homography(H, cutout_corners((w, h)))
    span = max(np.ptp(quad[:, 0]), np.ptp(quad[:, 1]))
    if span > 4 * max(camera.width, camera.height):
        return
    patch, x0, y0 = warp_roi(faded, H, quad)
    sigma = 0.6 + 3.0 * (1.0 - gloss)
    sl = clip_box(x0, y0, patch.shape[:2], camera.width, camera.height)
    if sl is None:
        return
    ps, cs = sl
    p = blur_within(patch, ps, sigma).astype(np.float32) * (gloss / 255.0)
    rows = np.arange(cs[0].start, cs[0].stop)
    p[rows < floor_top] = 0.0  # only the floor mirrors; the wall above it does not
    planes = cv2.split(p)
    out = times_planes(canvas[cs].astype(np.float32), 1.0 - planes[3])
    out += cv2.merge(planes[:3]) * np.float32(255.0)
    out += 0.5
    canvas[cs] = np.clip(out, 0, 255).astype(np.uint8)
