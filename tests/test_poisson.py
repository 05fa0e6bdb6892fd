"""The Poisson solver of the `poisson` blend, against a sparse direct solve and OpenCV."""
import cv2
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spl

from synth.paste import POISSON_EDGE_PX, poisson, times_planes
from synth.poisson import clone, clone_into, solve_poisson


def _laplacian(u: np.ndarray, free) -> np.ndarray:
    """The 5-point Laplacian of u with a ghost ring past its edges: -u past a held side,
    u past a free one."""
    g = np.pad(u.astype(np.float64), 1)
    (top, bottom), (left, right) = free
    g[0, 1:-1] = u[0] if top else -u[0]
    g[-1, 1:-1] = u[-1] if bottom else -u[-1]
    g[1:-1, 0] = u[:, 0] if left else -u[:, 0]
    g[1:-1, -1] = u[:, -1] if right else -u[:, -1]
    return g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * u


HELD = ((False, False), (False, False))


@pytest.mark.parametrize("shape,free", [
    ((2, 2), HELD), ((6, 10), HELD), ((40, 64), HELD), ((38, 126), HELD),
    ((7, 10), ((True, False), (False, False))),   # a subject at the canvas's top edge
    ((6, 9), ((False, False), (False, True))),    # ... at its right edge
    ((9, 11), ((True, False), (False, True))),    # ... in its top-right corner
    ((8, 13), ((False, False), (True, True))),    # ... spanning its whole (odd) width
])
def test_the_solver_meets_the_discrete_poisson_equation(shape, free):
    rhs = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    if all(all(side) for side in free):
        rhs -= rhs.mean()
    u = solve_poisson(rhs, free)
    assert u.shape == shape and u.dtype == np.float32
    assert np.abs(_laplacian(u, free) - rhs).max() < 1e-4 * max(1.0, np.abs(rhs).max())


def test_a_solver_free_all_round_takes_the_zero_mean_solution():
    rng = np.random.default_rng(4)
    rhs = rng.standard_normal((10, 12)).astype(np.float32)
    rhs -= rhs.mean()  # a field with no flux out has a divergence of zero sum
    free = ((True, True), (True, True))
    u = solve_poisson(rhs, free)
    assert abs(float(u.mean())) < 1e-5
    assert np.abs(_laplacian(u, free) - rhs).max() < 1e-4


def _sparse_clone(src: np.ndarray, dst: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The same discrete problem, one channel, built pixel by pixel and solved directly."""
    h, w = mask.shape
    d = src.astype(np.float64) - dst
    idx = np.arange(h * w).reshape(h, w)
    rows, cols, vals, b = [], [], [], np.zeros(h * w)
    for i in range(h):
        for j in range(w):
            p = idx[i, j]
            rows.append(p), cols.append(p), vals.append(-4.0)
            for a, c in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)):
                inside = 0 <= a < h and 0 <= c < w
                rows.append(p), cols.append(idx[a, c] if inside else p)
                vals.append(1.0 if inside else -1.0)  # the ghost past the edge is -u
                # the step p -> q is guided when it leaves a masked pixel rightwards or downwards
                if inside and mask[(i, j) if (a, c) in ((i + 1, j), (i, j + 1)) else (a, c)]:
                    b[p] += d[a, c] - d[i, j]
    A = sp.csr_matrix((vals, (rows, cols)), shape=(h * w, h * w))
    return dst + spl.spsolve(A, b).reshape(h, w)


def test_clone_matches_a_sparse_direct_solve():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 255, (12, 16, 3)).astype(np.float32)
    dst = rng.uniform(0, 255, (12, 16, 3)).astype(np.float32)
    mask = rng.random((12, 16)) < 0.5
    out = clone(src, dst, mask)
    for c in range(3):
        assert np.abs(out[..., c] - _sparse_clone(src[..., c], dst[..., c], mask)).max() < 1e-3


def _textured(rng, shape, sigma):
    return cv2.GaussianBlur(rng.integers(0, 256, shape).astype(np.uint8), (0, 0), sigma)


def test_a_shifted_copy_or_an_empty_mask_gives_the_destination():
    rng = np.random.default_rng(2)
    dst = _textured(rng, (40, 50, 3), 2)
    mask = np.zeros((40, 50), bool)
    mask[8:30, 10:40] = True
    # the gradient domain: a constant offset of the source leaves no trace
    assert np.abs(clone(dst.astype(np.float32) + 37.0, dst, mask) - dst).max() < 1e-3
    src = _textured(rng, (40, 50, 3), 2)
    assert np.abs(clone(src, dst, np.zeros_like(mask)) - dst).max() < 1e-3
    assert np.abs(clone(src, dst, mask) - dst).max() > 5  # and a real source does


def test_clone_is_opencvs_normal_clone_within_a_level():
    # cv2.seamlessClone guides with the source inside the mask eroded by 3 px, and solves
    # on the mask's box; clone with the same guide (on a box 4 px larger) agrees closely
    rng = np.random.default_rng(1)
    dst = _textured(rng, (90, 110, 3), 3)
    src = _textured(rng, (90, 110, 3), 2) // 2 + 120  # brighter than the floor
    mask = np.zeros((90, 110), np.uint8)
    cv2.ellipse(mask, (55, 45), (35, 25), 20, 0, 360, 255, -1)
    x, y, w, h = cv2.boundingRect(mask)
    ref = cv2.seamlessClone(src[y:y + h, x:x + w].copy(), dst, mask[y:y + h, x:x + w].copy(),
                            (x + w // 2, y + h // 2), cv2.NORMAL_CLONE).astype(np.float32)
    guide = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=3) > 0
    out = clone(src, dst, guide)
    diff = np.abs(out - ref)
    assert diff.mean() < 1.0 and diff.max() < 8.0
    assert np.abs(ref - src)[guide].mean() > 20  # the blend moved the subject: not trivially equal


def test_a_subject_cut_by_the_canvas_edge_is_not_pinned_to_the_floor_there():
    canvas = np.full((60, 80, 3), 100, np.uint8)
    box = (slice(0, 20), slice(0, 30))  # the canvas's top-left corner
    src = np.full((20, 30, 3), 180.0, np.float32)
    region, out = clone_into(canvas, box, src, np.ones((20, 30), bool))
    assert region == (slice(0, 24), slice(0, 34))  # grown by 4 px, within the canvas
    assert out.shape == (24, 34, 3)
    # the subject's steps guide across its inner edges and the canvas's edges are free (no
    # flux): it keeps its own level right up to the corner (pinned there, it would fall to 100)
    assert np.abs(out[:20, :30] - 180.0).max() < 1.0
    assert np.abs(out[22:, :] - 100.0).max() < 40.0


def _alpha_paste(canvas, cs, pm, a):
    out = times_planes(canvas[cs].astype(np.float32), 1.0 - a)
    return out + pm


def _subject(shape, draw):
    a = np.zeros(shape, np.float32)
    draw(a)
    pm = np.zeros(shape + (3,), np.float32)
    pm[...] = (30.0, 30.0, 30.0)
    return pm * a[..., None], a


def test_poisson_keeps_a_thin_part_at_full_contrast_and_seams_a_thick_one():
    rng = np.random.default_rng(3)
    canvas = np.clip(_textured(rng, (120, 160, 3), 4).astype(int) // 4 + 170, 0, 255).astype(np.uint8)
    cs = (slice(20, 100), slice(20, 140))

    def draw(a):
        cv2.circle(a, (30, 40), 22, 1.0, -1)  # a thick blob...
        cv2.line(a, (52, 40), (115, 40), 1.0, 2)  # ...with a cable 2-3 px wide

    pm, a = _subject((80, 120), draw)
    plain = _alpha_paste(canvas, cs, pm, a)
    out = canvas.copy()
    assert poisson(out, cs, pm, a)
    got = out[cs].astype(np.float32)
    cable = a[:, 80:115] >= 0.5
    # the cable stays as dark as the alpha paste draws it (the seam alone would fade it)
    assert np.abs(got[:, 80:115][cable] - plain[:, 80:115][cable]).mean() < 6.0
    assert (canvas[cs][:, 80:115][cable].astype(float) - got[:, 80:115][cable]).mean() > 100
    # the blob's rim is gradient-blended: it moves towards the floor, its middle does not
    dist = cv2.distanceTransform((a >= 0.5).astype(np.uint8), cv2.DIST_L2, 3)
    rim = (dist > 0) & (dist < 2) & (np.arange(120)[None, :] < 52)
    middle = dist > POISSON_EDGE_PX + 1
    assert (got[rim] - plain[rim]).mean() > 10
    assert np.abs(got[middle] - plain[middle]).max() < 1.0


def test_poisson_declines_a_subject_too_thin_to_guide():
    canvas = np.full((50, 60, 3), 200, np.uint8)
    pm, a = _subject((30, 40), lambda a: cv2.line(a, (3, 15), (36, 15), 1.0, 3))
    out = canvas.copy()
    assert not poisson(out, (slice(10, 40), slice(10, 50)), pm, a)
    assert (out == canvas).all()  # nothing written: the caller alpha-pastes it instead
