"""Facts about the committed demo asset pack in assets/ (read as committed, not regenerated).

Every subject is a set of views of one 3-D object: PSD layers named
'<object> [elev=E]' or '<object> [elev=E az=A]' in the class's group, all at one scale.
"""
from __future__ import annotations

import importlib.util
import itertools
import re
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from psd_tools import PSDImage

ASSETS = Path(__file__).resolve().parent.parent / "assets"
TARGETS = ["shoe", "sock", "cable", "poop", "bowl", "rag", "scale", "fan"]
DISTRACTORS = ["leaf", "paper", "toy"]
ASYMMETRIC = ["shoe", "sock", "scale", "fan", "rag", "cable"]  # every object has azimuths
SIDED = ["shoe", "bowl", "scale", "fan", "sock", "rag", "poop"]  # need 90/45/15/0
BELOW = {"fan": (-20, -40)}  # tall classes a floor robot sees from below their middle
TAG = re.compile(r"^(?P<base>\S+) \[elev=(?P<elev>-?\d+)(?: az=(?P<az>\d+))?\]$")


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


def objects(found) -> dict[str, dict[tuple[int, int | None], np.ndarray]]:
    """{object: {(elev, az): RGBA}} of the visible layers; every name must carry a view tag."""
    out: dict[str, dict] = {}
    for _, name, vis, rgba in found:
        m = TAG.match(name)
        assert m, f"layer {name!r} has no [elev=E az=A] view tag"
        if not vis:
            continue
        key = (int(m["elev"]), None if m["az"] is None else int(m["az"]))
        views = out.setdefault(m["base"], {})
        assert key not in views, f"{name}: duplicate view"
        views[key] = rgba
    return out


def box(rgba: np.ndarray) -> tuple[int, int]:
    """(width, height) of the opaque part (alpha > 127)."""
    ys, xs = np.nonzero(rgba[..., 3] > 127)
    return int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def near(a: float, b: float, rel: float = 0.04, px: float = 3) -> bool:
    return abs(a - b) <= rel * max(a, b) + px


@pytest.fixture(scope="module")
def catalog() -> dict:
    return yaml.safe_load((ASSETS / "classes.yaml").read_text())["classes"]


@pytest.fixture(scope="module")
def main_layers() -> dict[str, list]:
    return {cls: layers(ASSETS / "subjects" / f"{cls}.psd") for cls in TARGETS}


@pytest.fixture(scope="module")
def main_objects(main_layers) -> dict[str, dict]:
    return {cls: objects(found) for cls, found in main_layers.items()}


@pytest.fixture(scope="module")
def held_objects() -> dict[str, dict]:
    return {cls: objects(layers(ASSETS / "heldout" / "subjects" / f"{cls}.psd")) for cls in TARGETS}


@pytest.fixture(scope="module")
def distractor_objects() -> dict[str, dict]:
    found = layers(ASSETS / "subjects" / "distractors.psd")
    return {cls: objects([f for f in found if f[0] == cls]) for cls in DISTRACTORS}


def front(views: dict) -> np.ndarray:
    """The object's 45 deg view from the front (or its only 45 deg view)."""
    return views.get((45, 0), views.get((45, None)))


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


# ----------------------------------------------------------------------------- catalog
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
    # mirror-symmetric classes may be flipped; a scale may not (its digits would read mirrored)
    assert {c for c, s in catalog.items() if s.get("mirror")} == set(catalog) - {"scale"}
    # physical plausibility: a bathroom scale is bigger than pet waste, a fan bigger than a shoe
    assert catalog["scale"]["size_m"][0] > catalog["poop"]["size_m"][1]
    assert catalog["fan"]["size_m"][1] > catalog["shoe"]["size_m"][1]


def test_the_loader_reads_every_view_with_its_tag():
    """synth's loader sees each visible layer as one subject with its elevation and azimuth,
    groups the views of one object, and skips the hidden layer."""
    from synth.assets import load_subjects
    from synth.catalog import load_catalog

    cat = load_catalog(ASSETS / "classes.yaml")
    subs = load_subjects([ASSETS / "subjects" / "shoe.psd"], cat, use_cache=False)
    found = layers(ASSETS / "subjects" / "shoe.psd")
    visible = {n for _, n, vis, _ in found if vis}
    assert len(subs) == len(visible) and all(s.cls == "shoe" for s in subs)
    assert not any("draft" in s.name for s in subs)
    hidden = [n for _, n, vis, _ in found if not vis]
    assert hidden and all(n.startswith("shoe_draft") for n in hidden)
    for s in subs:
        m = TAG.match(s.name.rsplit("/", 1)[-1])
        assert m, s.name
        assert s.elev_deg == float(m["elev"]), s.name
        assert s.az_deg == (None if m["az"] is None else float(m["az"])), s.name
    assert len({s.object for s in subs}) == len({TAG.match(n)["base"] for n in visible})
    fans = load_subjects([ASSETS / "subjects" / "fan.psd"], cat, use_cache=False)
    assert {s.elev_deg for s in fans} == {90.0, 45.0, 15.0, 0.0, -20.0, -40.0}


# ----------------------------------------------------------------------------- views
@pytest.mark.parametrize("cls", TARGETS)
def test_every_class_has_objects_seen_from_every_side(main_objects, held_objects, cls):
    for pack, minimum in ((main_objects, 4), (held_objects, 2)):
        objs = pack[cls]
        assert len(objs) >= minimum, sorted(objs)
        for name, views in objs.items():
            assert name.startswith(f"{cls}_"), name
            elevs = {e for e, _ in views}
            assert (90, None) in views, f"{name}: no top-down view (90 deg views carry no az)"
            if cls in SIDED or cls == "cable":
                assert {90, 45, 15, 0} <= elevs, f"{name}: elevations {sorted(elevs)}"
            assert {e for e in elevs if e < 0} == set(BELOW.get(cls, ())), \
                f"{name}: views from below {sorted(e for e in elevs if e < 0)}"
            azs = {a for _, a in views if a is not None}
            if cls in ASYMMETRIC:
                assert azs, f"{name}: an asymmetric object needs azimuths"
            for e in elevs - {90}:
                at = {a for ee, a in views if ee == e}
                if azs:  # azimuths at every low elevation, not a mixture with untagged views
                    assert {0, 90, 180} <= at and None not in at, f"{name} at {e} deg: {sorted(at, key=str)}"
                else:
                    assert at == {None}, name
    # the rotation-symmetric things carry no azimuth
    assert not any(a for _, a in main_objects["bowl"]["bowl_steel"])
    assert not any(a for _, a in main_objects["poop"]["poop_coil"])


def test_distractors_have_views(distractor_objects, catalog):
    for cls in DISTRACTORS:
        objs = distractor_objects[cls]
        assert len(objs) >= 2 and all(n.startswith(f"{cls}_") for n in objs)
        for name, views in objs.items():
            elevs = {e for e, _ in views}
            assert {90, 15, 0} <= elevs, f"{name}: {sorted(elevs)}"
    assert {(e, a) for e, a in distractor_objects["toy"]["toy_car"]} >= {(0, 0), (0, 90), (0, 180)}
    assert set(distractor_objects) <= set(catalog)


@pytest.mark.parametrize("cls", TARGETS)
def test_every_view_is_an_antialiased_shaded_cutout(main_layers, main_objects, cls):
    for _, name, _, rgba in main_layers[cls]:
        alpha = rgba[..., 3]
        assert (alpha == 0).any(), f"{name}: no transparent pad"
        assert not rgba[..., :3][alpha == 0].any(), f"{name}: colour under zero alpha"
        soft = ((alpha > 0) & (alpha < 255)).sum()
        assert soft >= 0.15 * (alpha.shape[0] + alpha.shape[1]), f"{name}: hard-edged alpha"
        opaque = alpha == 255
        if opaque.sum() >= 400:  # textured and shaded, not a flat blob (dark things: relatively)
            lum = rgba[..., :3].astype(np.float32).mean(-1)[opaque]
            spread = np.percentile(lum, 95) - np.percentile(lum, 5)
            assert spread > min(20, 0.25 * np.median(lum)), f"{name}: brightness spread {spread:.0f}"
    for name, views in main_objects[cls].items():
        longest = max(max(r.shape[:2]) for r in views.values())
        assert 196 <= longest <= 260, f"{name}: largest view {longest} px"


def fine_detail(rgba: np.ndarray) -> float | None:
    """Mean absolute pixel-scale detail (grey minus its 1 px Gaussian blur) inside a cut-out
    (its opaque part less a 2 px rim, so the silhouette does not count), in percent of the
    surface's median grey; None when fewer than 200 px are inside."""
    inner = cv2.erode((rgba[..., 3] == 255).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if inner.sum() < 200:
        return None
    g = cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    hp = g - cv2.GaussianBlur(g, (0, 0), 1.0)
    return float(np.abs(hp[inner]).mean() / max(float(np.median(g[inner])), 8.0) * 100)


def test_cutouts_are_not_perfectly_smooth(main_layers, distractor_objects):
    """Every surface carries some pixel-scale life (albedo grain, micro-roughness, weave,
    leather, pores): no view's interior is a CG-smooth gradient. The renderer's smoothest
    views (a tower fan's plastic, a toy's) had 0.3-0.6 % before the micro-detail; a real
    photo's surfaces are never that smooth."""
    views = [(name, rgba) for found in main_layers.values() for _, name, vis, rgba in found if vis]
    views += [(name, rgba) for objs in distractor_objects.values() for name, v in objs.items()
              for rgba in v.values()]
    for name, rgba in views:
        d = fine_detail(rgba)
        if d is not None:
            assert d >= 0.7, f"{name}: pixel-scale detail {d:.2f} % of its grey"


def check_one_scale(name: str, views: dict) -> None:
    """An orthographic camera's horizontal image axis does not change with elevation, so all
    views at one azimuth are equally wide, the side view is as wide as the top view is long,
    and the front view as wide as the top view."""
    w90, h90 = box(views[(90, None)])
    for az in {a for _, a in views} - {None} or {None}:
        widths = {e: box(r)[0] for (e, a), r in views.items() if a == az and e != 90}
        for e, w in widths.items():
            assert near(w, widths[0]), f"{name}: {e} deg az={az} is {w} px wide, 0 deg {widths[0]}"
        along = h90 if az in (90, 270) else w90
        assert near(widths[0], along), f"{name} az={az}: {widths[0]} px wide, top view {along}"
        # the 45 deg view's height is bounded by the top view's depth and the side view's height
        h0, h45 = box(views[(0, az)])[1], box(views[(45, az)])[1]
        depth = w90 if az in (90, 270) else h90
        assert h45 <= 0.7072 * (depth + h0) * 1.03 + 3, f"{name} az={az}"
        assert h45 >= 0.7071 * max(depth, h0) * 0.97 - 3 or h45 >= min(depth, h0), f"{name} az={az}"


@pytest.mark.parametrize("cls", TARGETS)
def test_views_of_one_object_share_one_scale(main_objects, held_objects, cls):
    for pack in (main_objects, held_objects):
        for name, views in pack[cls].items():
            check_one_scale(name, views)


def test_views_show_the_object_as_it_stands(main_objects):
    for name, v in main_objects["shoe"].items():
        w90, h90 = box(v[(90, None)])
        assert h90 > 2.2 * w90, f"{name}: from above a shoe is long and narrow (toe down)"
        w, h = box(v[(0, 90)])
        assert w > 1.7 * h, f"{name}: from the side a shoe is much wider than tall"
        # seen lower from the toe, the same shoe looks shorter (not so from the back: a high
        # heel near the camera hides the far toe's rise)
        for az in (0,):
            assert box(v[(0, az)])[1] < box(v[(15, az)])[1] < box(v[(45, az)])[1], name
    for name, v in main_objects["bowl"].items():
        if name == "bowl_double":
            continue
        top = v[(90, None)]
        w, h = box(top)
        assert near(w, h, 0.02, 1), f"{name}: a bowl from above is round ({w}x{h})"
        fill = (top[..., 3] > 127).sum() / (w * h)
        assert abs(fill - np.pi / 4) < 0.03, f"{name}: disc fill {fill:.3f}"
        side = v[(0, None)]
        w0, h0 = box(side)
        assert w0 > 2 * h0, f"{name}: from the side a bowl is wider than tall"
        rows = (side[..., 3] > 127).sum(1)
        ys = np.nonzero(rows)[0]
        upper, lower = rows[ys[0]:ys[0] + len(ys) // 3].max(), rows[ys[-1] - 2:ys[-1] + 1].max()
        assert upper > lower, f"{name}: the rim (top) is the widest part of a side view"
        assert box(v[(0, None)])[1] < box(v[(45, None)])[1] < h, name
    for name, v in main_objects["fan"].items():
        side = v[(0, 0)]
        w, h = box(side)
        assert h > w, f"{name}: a fan seen from the front is taller than wide ({w}x{h})"
        a = side[..., 3] > 127
        ys = np.nonzero(a.any(1))[0]
        bottom = a[ys[-1] - max(len(ys) // 25, 2):ys[-1] + 1]
        cx = np.nonzero(bottom.any(0))[0].mean()
        xs = np.nonzero(a.any(0))[0]
        assert abs(cx - (xs[0] + xs[-1]) / 2) < 0.15 * w, f"{name}: it stands on its base"
        w90, h90 = box(v[(90, None)])
        assert max(w90, h90) < h, f"{name}: from above a fan is smaller than from the front"
    for name, v in main_objects["scale"].items():
        w, h = box(v[(0, 0)])
        assert h < 0.25 * w, f"{name}: a scale is a thin slab ({w}x{h})"
    for cls in ("rag", "sock", "scale"):
        for name, v in main_objects[cls].items():
            for az in (0, 90):
                d = box(v[(90, None)])[1 if az == 0 else 0]
                assert box(v[(0, az)])[1] < box(v[(45, az)])[1] < d * 1.02 + 2, f"{name} az={az}"


def bottom_span(rgba: np.ndarray) -> tuple[float, int]:
    """(middle, width) of the opaque part of a cut-out's lowest rows: what it stands on."""
    a = rgba[..., 3] > 127
    ys = np.nonzero(a.any(1))[0]
    xs = np.nonzero(a[ys[-1] - max(len(ys) // 25, 2):ys[-1] + 1].any(0))[0]
    return (xs[0] + xs[-1]) / 2, int(xs[-1] - xs[0] + 1)


def head_height(rgba: np.ndarray) -> int:
    """Rows of the upper half of a cut-out at least 0.6 of its widest row there (a fan's
    guard seen from the front: the rounder it looks, the taller this is). Row widths are
    taken as a running median over 5 rows: a wire guard's rows alias (a ring wire lying
    along one row makes it a few px wider than its neighbours), and one such row must not
    set the threshold."""
    a = rgba[..., 3] > 127
    ys = np.nonzero(a.any(1))[0]
    w = a[ys[0]:ys[0] + len(ys) // 2].sum(1).astype(np.float64)
    w = np.array([np.median(w[max(i - 2, 0):i + 3]) for i in range(len(w))])
    rows = np.nonzero(w > 0.6 * w.max())[0]
    return int(rows[-1] - rows[0] + 1)


def test_fans_are_also_seen_from_below(main_objects, held_objects):
    """A floor robot sees a fan's middle from below: every fan has views from -20 and -40
    deg at azimuths 0/90/180, at the scale of its other views (as wide as its 0 deg view),
    standing on its bottom rows as the 0 deg view does (its base, not its underside)."""
    for pack in (main_objects, held_objects):
        for name, v in pack["fan"].items():
            for az in (0, 90, 180):
                w0, h0 = box(v[(0, az)])
                mid0, span0 = bottom_span(v[(0, az)])
                for e in BELOW["fan"]:
                    assert (e, az) in v, f"{name}: no [elev={e} az={az}] view"
                    w, h = box(v[(e, az)])
                    assert near(w, w0, 0.01, 1), f"{name} [elev={e} az={az}]: {w} px wide, 0 deg {w0}"
                    assert 0.7 * h0 < h < 1.3 * h0, f"{name} [elev={e} az={az}]: {h} px tall, 0 deg {h0}"
                    mid, span = bottom_span(v[(e, az)])
                    xs = np.nonzero((v[(e, az)][..., 3] > 127).any(0))[0]
                    assert abs(mid - (xs[0] + xs[-1]) / 2) < 0.15 * w, f"{name} [elev={e} az={az}]: not on its base"
                    assert near(span, span0, 0.15, 3), \
                        f"{name} [elev={e} az={az}]: stands on {span} px, the 0 deg view on {span0}"
            if not name.startswith("fan_pedestal"):
                continue
            # an upright pole with a round head: from below the height shrinks a little (the
            # head and its motor seen from under them, the base about level) and the guard
            # foreshortens, the more the lower the camera
            for az in (0, 90, 180):
                h0, h20, h40 = (box(v[(e, az)])[1] for e in (0, -20, -40))
                assert 0.85 * h0 < h20 < 1.02 * h0, f"{name} az={az}: -20 deg {h20} px tall, 0 deg {h0}"
                assert 0.75 * h0 < h40 < h20, f"{name} az={az}: -40 deg {h40} px tall, -20 deg {h20}"
            assert head_height(v[(0, 0)]) > head_height(v[(-20, 0)]) > head_height(v[(-40, 0)]), name


def test_views_from_below_show_undersides_and_stand_on_their_front_edge():
    """The views from below as the script renders them, on a colour-coded stand (a disc
    base, a pole, a disc head): from -20/-40 deg the head's underside shows and its top
    does not, the base's top shows (seen from a little above, as a camera near the floor
    sees it) and the lowest rows are the base's front edge; from 45 deg the head's top."""
    ma = load_script()
    r3 = ma.r3
    RED, BLUE, GREEN, MAGENTA, GREY = ((0.9, 0.1, 0.1), (0.1, 0.15, 0.9), (0.1, 0.8, 0.1),
                                      (0.8, 0.1, 0.8), (0.5, 0.5, 0.5))

    def coded(g):  # by position: the head's upper/lower half, the base's top/front/back
        x, y, z = g.pos.T
        out = np.empty((len(z), 3))
        out[:] = np.where((y > 0)[:, None], GREEN, MAGENTA)
        out[(z > 0.029) & (np.hypot(x, y) < 0.148)] = BLUE
        out[z > 0.6] = np.where((z[z > 0.6] > 0.62)[:, None], BLUE, RED)
        return out

    mat = r3.Material(coded, spec=0.0)
    parts = [r3.Part(r3.revolve([0.15, 0.15, 0.001], [0.0, 0.03, 0.03], sides=64), mat),
             r3.Part(r3.tube([[0, 0, 0.03], [0, 0, 0.6]], 0.012, sides=16, round_ends=False),
                     r3.Material(GREY, spec=0.0)),
             r3.Part(r3.ellipsoid((0, 0, 0.62), (0.14, 0.14, 0.02), nu=48, nv=16), mat)]
    views = dict(ma.render_views(parts, ((45, 0), (0, 0), (-20, 0), (-40, 0))))

    def share(rgba, colour, rows):
        c = rgba[rows][..., :3].astype(float)
        a = rgba[rows][..., 3] > 200
        col = np.asarray(colour)
        ref = (c / np.maximum(c.sum(-1, keepdims=True), 1)) @ (col / col.sum())
        hit = ref > 0.8 * (col / col.sum()) @ (col / col.sum())
        return (hit & a).sum() / max(a.sum(), 1)

    w0 = box(views[(0, 0)])[0]
    for e in (-20, -40):
        v = views[(e, 0)]
        assert near(box(v)[0], w0, 0.01, 1), f"{e} deg: not at the 0 deg view's scale"
        ys = np.nonzero((v[..., 3] > 127).any(1))[0]
        upper, lower = slice(ys[0], ys[0] + len(ys) // 4), slice(ys[-1] - len(ys) // 8, ys[-1] + 1)
        assert share(v, RED, upper) > 0.3 and share(v, BLUE, upper) < 0.02, f"{e} deg: head not from below"
        assert share(v, BLUE, lower) > 0.05 and share(v, RED, lower) < 0.02, f"{e} deg: base not from above"
        bottom = slice(ys[-1] - 1, ys[-1] + 1)
        assert share(v, GREEN, bottom) > 0.5 and share(v, MAGENTA, bottom) < 0.05, \
            f"{e} deg: the lowest rows are not the base's front edge"
    v = views[(45, 0)]
    ys = np.nonzero((v[..., 3] > 127).any(1))[0]
    upper = slice(ys[0], ys[0] + len(ys) // 4)
    assert share(v, BLUE, upper) > 0.3 and share(v, RED, upper) < 0.02, "45 deg: head not from above"


def test_front_back_and_side_differ_for_asymmetric_objects(main_objects):
    for cls in ("shoe", "fan", "scale"):
        for name, v in main_objects[cls].items():
            if name == "fan_box":  # a box fan's grilles are alike front and back
                continue
            assert difference(v[(15, 0)], v[(15, 180)]) > 0.6, f"{name}: front looks like back"
            assert difference(v[(15, 0)], v[(15, 90)]) > 0.6, f"{name}: front looks like side"


@pytest.mark.parametrize("cls", TARGETS)
def test_objects_within_a_class_look_different(main_objects, cls):
    fronts = [(name, front(v)) for name, v in main_objects[cls].items()]
    for (n1, a), (n2, b) in itertools.combinations(fronts, 2):
        assert difference(a, b) > 1, f"{n1} and {n2} look alike"


@pytest.mark.parametrize("cls", TARGETS)
def test_heldout_objects_are_new(main_objects, held_objects, cls):
    main = main_objects[cls]
    for name, views in held_objects[cls].items():
        assert name not in main
        assert min(difference(front(views), front(v)) for v in main.values()) > 1, \
            f"held-out {name} is like a main one"


# ----------------------------------------------------------------------------- files
def test_psd_layers_read_back_whole_through_the_compositor():
    """The generator renders each layer with psd_tools.composite: every layer, on the small
    document canvas or off it, must come back exactly as stored; the stored composite is
    just the cover view."""
    from psd_tools.composite import composite

    path = ASSETS / "subjects" / "shoe.psd"
    psd = PSDImage.open(path)
    inside = outside = 0
    for layer in psd.descendants():
        if layer.kind != "pixel" or not layer.is_visible():  # hidden layers are skipped
            continue
        rgba = np.asarray(layer.topil().convert("RGBA"))
        color, _, alpha = composite(layer)
        a = np.round(alpha[..., 0] * 255).astype(np.uint8)
        assert a.shape == rgba.shape[:2] and np.array_equal(a, rgba[..., 3]), layer.name
        c = np.round(color * 255).astype(np.uint8)
        assert np.array_equal(c[a > 0], rgba[..., :3][a > 0]), layer.name
        left, top, right, bottom = layer.bbox
        if right <= psd.width and bottom <= psd.height and left >= 0 and top >= 0:
            inside += 1
        else:
            outside += 1
    assert inside >= 1 and outside >= 40
    assert psd.width * psd.height <= 260 * 260


def test_pack_size_budget():
    """The generated pack within 15 MiB; the licensed real photos (not generated, remade from
    their source by make_realphotos.py) within their own 2 MB."""
    files = [p for p in ASSETS.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    real = sum(p.stat().st_size for p in files if "realphotos" in p.parts)
    total = sum(p.stat().st_size for p in files) - real
    assert total <= 15 * 1024 * 1024, f"{total / 2**20:.1f} MiB"
    assert 0 < real <= 2 * 1000 * 1000, f"real photos: {real / 1e6:.2f} MB"


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
    for rel in ("classes.yaml", "floors/scale.yaml", "heldout/floors/scale.yaml", "floors/gloss.yaml",
                "heldout/floors/gloss.yaml"):
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
