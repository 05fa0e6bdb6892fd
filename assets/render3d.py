"""A small deterministic renderer for the demo pack's multi-view subjects (numpy + OpenCV).

A subject is a list of parts: triangle meshes (built from parametric grids: sweeps, tubes,
surfaces of revolution, extrusions, displaced sheets) each with a material. `render_views`
photographs it with an orthographic camera from several capture elevations and azimuths at
one common scale (metres per pixel):

- rasterisation: every triangle's covered pixel centres are enumerated row span by row
  span (fully vectorised, no candidate is tested twice), and the nearest fragment per supersampled pixel wins
  through a packed (depth, triangle) key and `np.minimum.at` -- exact, hole-free, and the
  same bits on every run;
- deferred shading: barycentrics give each pixel its triangle's interpolated position,
  normal, tangents, texture coordinates and ambient occlusion; the part's material returns
  albedo, specular, mirror reflection, emission and a bump slope;
- light is fixed in the object's (world) frame: a key lamp from overhead-front-left with a
  shadow map (self-shadowing, soft by percentage-closer filtering), per-vertex ambient
  occlusion from depth maps in many directions (the floor blocks every direction below the
  horizon, so undersides and the foot of walls are darker), and a simple room environment
  for reflective materials.

Object frame: x = the object's right, y = its front, z = up; the floor is z = 0.
Camera at elevation `elev` (90 = from straight above, 0 = level with the floor) and azimuth
`az` (0 = looking at the front, 90 = at the right side, 180 = at the back). Image up is
world up projected (no roll); at 90 deg image up points to the object's back. A view from
below (negative `elev`, with an eye height) shows each height of the object from the
elevation at which a camera near the floor sees it (`render`, `below_profile`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

LIGHT = np.array([-0.38, 0.42, 0.82])            # overhead, from the front-left
LIGHT /= np.linalg.norm(LIGHT)
LIGHT_RGB = np.array([1.0, 0.985, 0.95])
AMBIENT_RGB = np.array([0.93, 0.96, 1.0])
WINDOW = np.array([0.9, 0.3, 0.35]) / np.linalg.norm([0.9, 0.3, 0.35])  # the room's window side
WINDOW_RGB = np.array([0.9, 0.96, 1.06])   # daylight: a little bluer than the lamp
BOUNCE_RGB = np.array([1.0, 0.93, 0.84])   # light the floor throws back up: warmer
MICRO_CELL_PX = 1.0   # surface micro-detail: lattice cell in output pixels


# ----------------------------------------------------------------------------- meshes
@dataclass
class Mesh:
    """Triangles with per-vertex position, normal, unit tangents, uv (metres) and extras."""
    P: np.ndarray                 # (N, 3)
    N: np.ndarray                 # (N, 3) unit normals
    T: np.ndarray                 # (M, 3) vertex indices
    UV: np.ndarray                # (N, 2) texture coordinates, metres of surface
    Tu: np.ndarray                # (N, 3) unit tangent along u
    Tv: np.ndarray                # (N, 3) unit tangent along v
    A: np.ndarray | None = None   # (N, k) extra attributes passed to the material

    def moved(self, R=None, t=(0.0, 0.0, 0.0)) -> "Mesh":
        """Rotated by R (3x3) then translated by t."""
        R = np.eye(3) if R is None else np.asarray(R, np.float64)
        return Mesh(self.P @ R.T + np.asarray(t, np.float64), self.N @ R.T, self.T, self.UV,
                    self.Tu @ R.T, self.Tv @ R.T, self.A)

    def warped(self, fn: Callable[[np.ndarray], np.ndarray], eps: float = 1e-4) -> "Mesh":
        """Positions mapped through fn (N,3)->(N,3); normals and tangents follow its Jacobian."""
        P2 = fn(self.P)
        J = np.stack([(fn(self.P + eps * e) - P2) / eps for e in np.eye(3)], -1)  # (N,3,3)
        Tu = _unit(np.einsum("nij,nj->ni", J, self.Tu))
        Tv = _unit(np.einsum("nij,nj->ni", J, self.Tv))
        # normals transform with the inverse transpose (cofactor matrix suffices up to scale)
        c = np.stack([np.cross(J[:, :, 1], J[:, :, 2]), np.cross(J[:, :, 2], J[:, :, 0]),
                      np.cross(J[:, :, 0], J[:, :, 1])], 1)               # rows = cofactors
        N = _unit(np.einsum("nji,nj->ni", c, self.N))
        return Mesh(P2, N, self.T, self.UV, Tu, Tv, self.A)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-30)


def _diff(P: np.ndarray, axis: int, wrap: bool) -> np.ndarray:
    if wrap:
        return (np.roll(P, -1, axis) - np.roll(P, 1, axis)) * 0.5
    return np.gradient(P, axis=axis)


def _arclen(P: np.ndarray, axis: int, wrap: bool) -> np.ndarray:
    """Cumulative distance along one grid axis (each line separately)."""
    d = np.linalg.norm(np.diff(P, axis=axis), axis=-1)
    s = np.cumsum(d, axis=axis)
    pad = [(0, 0)] * s.ndim
    pad[axis] = (1, 0)
    return np.pad(s, pad)


def grid_mesh(P: np.ndarray, wrap_u: bool = False, wrap_v: bool = False, flip: bool = False,
              uv: np.ndarray | None = None, attr: np.ndarray | None = None) -> Mesh:
    """Triangulate a (nu, nv, 3) grid of points; normal = du x dv (or its opposite if flip)."""
    P = np.asarray(P, np.float64)
    nu, nv = P.shape[:2]
    du, dv = _diff(P, 0, wrap_u), _diff(P, 1, wrap_v)
    n = np.cross(du, dv) * (-1.0 if flip else 1.0)
    ln = np.linalg.norm(n, axis=-1)
    bad = ln < 1e-12 * max(float(ln.max()), 1e-30)
    n = n / np.maximum(ln, 1e-30)[..., None]
    for _ in range(4):  # degenerate points (poles, collapsed rims): borrow the neighbours'
        if not bad.any():
            break
        acc = np.zeros_like(n)
        for a in (0, 1):
            for s in (-1, 1):
                acc += np.roll(n * ~bad[..., None], s, a)
        fix = bad & (np.linalg.norm(acc, axis=-1) > 1e-9)
        n[fix] = _unit(acc[fix])
        bad = bad & ~fix
    if uv is None:
        uv = np.stack([_arclen(P, 0, wrap_u), _arclen(P, 1, wrap_v)], -1)
    iu = np.arange(nu if wrap_u else nu - 1)
    iv = np.arange(nv if wrap_v else nv - 1)
    a = (iu[:, None] * nv + iv[None, :]).ravel()
    b = (((iu[:, None] + 1) % nu) * nv + iv[None, :]).ravel()
    c = (((iu[:, None] + 1) % nu) * nv + (iv[None, :] + 1) % nv).ravel()
    d = (iu[:, None] * nv + (iv[None, :] + 1) % nv).ravel()
    T = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    k = None if attr is None else np.asarray(attr, np.float64).reshape(nu * nv, -1)
    return Mesh(P.reshape(-1, 3), n.reshape(-1, 3), T.astype(np.int64), np.asarray(uv).reshape(-1, 2),
                _unit(du).reshape(-1, 3), _unit(dv).reshape(-1, 3), k)


def slab(P: np.ndarray, thickness: float, uv: np.ndarray | None = None,
         attr: np.ndarray | None = None) -> Mesh:
    """A sheet with a real thickness: the (nu, nv, 3) grid surface, a copy `thickness` below
    it along its normals, and the four edge strips joining them (cloth seen edge-on)."""
    top = grid_mesh(P, uv=uv, attr=attr)
    if np.mean(top.N[:, 2]) < 0:
        top = grid_mesh(P, flip=True, uv=uv, attr=attr)
    Q = P - top.N.reshape(P.shape) * thickness
    bottom = grid_mesh(Q, uv=uv, attr=attr)
    if np.mean(bottom.N[:, 2]) > 0:
        bottom = grid_mesh(Q, flip=True, uv=uv, attr=attr)
    parts = [top, bottom]
    ctr = P.reshape(-1, 3).mean(0)
    UV = top.UV.reshape(*P.shape[:2], 2)
    AT = None if attr is None else np.asarray(attr).reshape(*P.shape[:2], -1)
    for sl in ((0, slice(None)), (-1, slice(None)), (slice(None), 0), (slice(None), -1)):
        edge = np.stack([P[sl], Q[sl]], 1)                       # (n, 2, 3)
        e_uv = np.stack([UV[sl], UV[sl]], 1)
        e_at = None if AT is None else np.stack([AT[sl], AT[sl]], 1)
        m = grid_mesh(edge, uv=e_uv, attr=e_at)
        mid = len(edge) // 2
        if np.dot(m.N.reshape(edge.shape)[mid, 0], edge[mid, 0] - ctr) < 0:
            m = grid_mesh(edge, flip=True, uv=e_uv, attr=e_at)
        parts.append(m)
    return merge(parts)


def merge(meshes: list[Mesh]) -> Mesh:
    """One mesh from several (extra attributes padded with zeros to the widest)."""
    k = max((m.A.shape[1] for m in meshes if m.A is not None), default=0)
    off, Ts = 0, []
    for m in meshes:
        Ts.append(m.T + off)
        off += len(m.P)
    A = None
    if k:
        A = np.concatenate([np.pad(m.A, ((0, 0), (0, k - m.A.shape[1]))) if m.A is not None
                            else np.zeros((len(m.P), k)) for m in meshes])
    cat = lambda name: np.concatenate([getattr(m, name) for m in meshes])  # noqa: E731
    return Mesh(cat("P"), cat("N"), np.concatenate(Ts), cat("UV"), cat("Tu"), cat("Tv"), A)


# ----------------------------------------------------------------------------- builders
def frames(path: np.ndarray, up=(0.0, 0.0, 1.0)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tangent and a rotation-minimising normal/binormal along a 3-D polyline."""
    p = np.asarray(path, np.float64)
    t = _unit(np.gradient(p, axis=0))
    n = np.empty_like(t)
    u = np.asarray(up, np.float64)
    n0 = u - t[0] * (t[0] @ u)
    if np.linalg.norm(n0) < 1e-6:
        n0 = np.array([1.0, 0, 0]) - t[0] * t[0, 0]
    n[0] = _unit(n0)
    for i in range(1, len(p)):  # double reflection would be nicer; projection is enough here
        v = n[i - 1] - t[i] * (t[i] @ n[i - 1])
        n[i] = v / max(np.linalg.norm(v), 1e-12)
    b = np.cross(t, n)
    return t, n, b


def tube(path, radius, sides: int = 12, squash=1.0, round_ends: bool = True,
         attr_along: bool = True, twist: float = 0.0, up=(0.0, 0.0, 1.0), lumps=None) -> Mesh:
    """A tube along a polyline; radius per point (scalar ok); `squash` scales the n axis;
    lumps(P) -> radius multiplier at the (undisplaced) surface points, for knobbly tubes.

    With round_ends the radius closes to zero over a hemisphere at both ends (a pair of
    factors makes each end's cap that much longer or blunter). u runs
    around, v along; attribute 0 is the fraction along the path.
    """
    p = np.asarray(path, np.float64)
    r = np.broadcast_to(np.asarray(radius, np.float64), (len(p),)).copy()
    sq = np.broadcast_to(np.asarray(squash, np.float64), (len(p),)).copy()
    frac = np.linspace(0, 1, len(p))
    if round_ends:
        c0, c1 = (1.0, 1.0) if round_ends is True else round_ends
        t0, _, _ = frames(p[:3], up)
        t1, _, _ = frames(p[-3:], up)
        k = 7
        a = np.linspace(0, np.pi / 2, k + 1)[1:]
        head = p[0] - t0[0] * (c0 * r[0] * np.sin(a))[::-1, None]
        tail = p[-1] + t1[-1] * (c1 * r[-1] * np.sin(a))[:, None]
        p = np.concatenate([head, p, tail])
        r = np.concatenate([r[0] * np.cos(a)[::-1], r, r[-1] * np.cos(a)])
        sq = np.concatenate([np.full(k, sq[0]), sq, np.full(k, sq[-1])])
        frac = np.concatenate([np.zeros(k), frac, np.ones(k)])
    t, n, b = frames(p, up)
    th = np.linspace(0, 2 * np.pi, sides, endpoint=False)[:, None] + twist * frac[None, :]
    P = p[None] + r[None, :, None] * (np.cos(th)[..., None] * n[None] * sq[None, :, None]
                                      + np.sin(th)[..., None] * b[None])
    if lumps is not None:
        P = p[None] + (P - p[None]) * lumps(P.reshape(-1, 3)).reshape(P.shape[:2])[..., None]
    attr = np.broadcast_to(frac[None, :, None], (sides, len(p), 1)) if attr_along else None
    return grid_mesh(P, wrap_u=True, attr=attr)


def revolve(r, z, sides: int = 96, attr=None) -> Mesh:
    """Surface of revolution about the z axis of the profile (r[i], z[i]), outward normals
    when the profile runs upwards on the outside."""
    r, z = np.asarray(r, np.float64), np.asarray(z, np.float64)
    th = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    P = np.stack([np.cos(th)[:, None] * r[None], np.sin(th)[:, None] * r[None],
                  np.broadcast_to(z[None], (sides, len(r)))], -1)
    at = None if attr is None else np.broadcast_to(np.asarray(attr, np.float64).reshape(1, len(r), -1),
                                                   (sides, len(r), np.asarray(attr).reshape(len(r), -1).shape[1]))
    return grid_mesh(P, wrap_u=True, attr=at)


def outline_sweep(outline, profile_d, profile_z, cap_top: bool = True, cap_bottom: bool = False,
                  rings: int = 10, attr_fn=None) -> Mesh:
    """An extruded closed outline (CCW seen from above, (n,2) points) whose edge follows a
    profile: offset d outward from the outline (metres, negative = inward) at height z,
    listed from the bottom face edge up to the top face edge. Caps close the top/bottom.
    """
    o = np.asarray(outline, np.float64)
    tang = _unit(np.roll(o, -1, 0) - np.roll(o, 1, 0))
    out = np.stack([tang[:, 1], -tang[:, 0]], 1)          # outward for a CCW outline
    d, z = np.asarray(profile_d, np.float64), np.asarray(profile_z, np.float64)
    xy = o[:, None, :] + out[:, None, :] * d[None, :, None]
    P = np.concatenate([xy, np.broadcast_to(z[None, :, None], (len(o), len(d), 1))], -1)
    parts = [grid_mesh(P, wrap_u=True, flip=False)]
    ctr = o.mean(0)
    for cap, idx, flip in ((cap_top, -1, False), (cap_bottom, 0, True)):
        if not cap:
            continue
        edge = xy[:, idx]
        s = np.linspace(1, 0, rings)[None, :, None]
        cxy = ctr + (edge[:, None, :] - ctr) * s
        C = np.concatenate([cxy, np.full((len(o), rings, 1), z[idx])], -1)
        m = grid_mesh(C, wrap_u=True, flip=flip, uv=cxy)
        m.N[:] = (0, 0, -1.0 if flip else 1.0)
        parts.append(m)
    mesh = merge(parts)
    if attr_fn is not None:
        mesh.A = attr_fn(mesh.P)
    return mesh


def rounded_rect(w: float, h: float, r: float, n: int = 160, squircle: float = 0.0) -> np.ndarray:
    """CCW outline of a w x h rectangle centred at 0 with corner radius r (points evenly spread)."""
    r = min(r, w / 2 - 1e-6, h / 2 - 1e-6)
    per = 2 * (w + h - 4 * r) + 2 * np.pi * r
    s = np.linspace(0, per, n, endpoint=False)
    hw, hh = w / 2 - r, h / 2 - r
    segs = [("l", 2 * hh), ("a", np.pi * r / 2), ("l", 2 * hw), ("a", np.pi * r / 2),
            ("l", 2 * hh), ("a", np.pi * r / 2), ("l", 2 * hw), ("a", np.pi * r / 2)]
    pts = np.zeros((n, 2))
    starts = [(hw + r, -hh), None, (hw, hh + r), None, (-hw - r, hh), None, (-hw, -hh - r), None]
    dirs = [(0, 1), None, (-1, 0), None, (0, -1), None, (1, 0), None]
    centres = [None, (hw, hh), None, (-hw, hh), None, (-hw, -hh), None, (hw, -hh)]
    a0 = [None, 0.0, None, np.pi / 2, None, np.pi, None, 3 * np.pi / 2]
    acc = 0.0
    for k, (kind, ln) in enumerate(segs):
        sel = (s >= acc) & (s < acc + ln)
        q = s[sel] - acc
        if kind == "l":
            pts[sel] = np.asarray(starts[k]) + np.asarray(dirs[k]) * q[:, None]
        else:
            a = a0[k] + q / max(r, 1e-9)
            pts[sel] = np.asarray(centres[k]) + r * np.stack([np.cos(a), np.sin(a)], 1)
        acc += ln
    return pts


def ellipsoid(c, radii, nu: int = 48, nv: int = 24, power: float = 1.0, bump=None) -> Mesh:
    """A (super)ellipsoid; power > 1 makes it boxier. bump(P, n) -> radial scale (optional)."""
    th = np.linspace(0, 2 * np.pi, nu, endpoint=False)
    ph = np.linspace(-np.pi / 2, np.pi / 2, nv)
    ct, st = np.cos(th)[:, None], np.sin(th)[:, None]
    cp, sp = np.cos(ph)[None], np.sin(ph)[None]
    f = lambda x: np.sign(x) * np.abs(x) ** (1.0 / power)  # noqa: E731
    x, y, z = f(ct) * f(cp), f(st) * f(cp), np.broadcast_to(f(sp), (nu, nv))
    P = np.stack([x * radii[0], y * radii[1], z * radii[2]], -1)
    if bump is not None:
        P = P * bump(P.reshape(-1, 3)).reshape(P.shape[:2])[..., None]
    return grid_mesh(P + np.asarray(c, np.float64), wrap_u=True, flip=False)


# ----------------------------------------------------------------------------- materials
@dataclass
class Geom:
    """What a material sees for its pixels: object-frame position, normal, uv, extras."""
    pos: np.ndarray
    nrm: np.ndarray
    uv: np.ndarray
    attr: np.ndarray | None
    view: np.ndarray      # unit vector from the surface to the camera


@dataclass
class Material:
    """albedo: RGB or fn(Geom)->(K,3); bump: fn(Geom)->(K,2) slopes along (u, v) or (K,3) a
    world-space gradient of the relief (subtracted from the normal)."""
    albedo: object = (0.7, 0.7, 0.7)
    spec: object = 0.1          # float or fn(Geom)->(K,)
    shine: float = 30.0
    refl: object = 0.0          # mirror reflection weight, float or fn
    metal: bool = False         # reflection tinted by the albedo (steel, chrome)
    bump: Callable | None = None
    emit: Callable | None = None  # fn(Geom)->(K,3) light that ignores shading
    ambient: float = 1.0        # ambient multiplier (cavities may want less)
    two_sided: bool = False     # thin sheets: shade the side that faces the camera
    grain: float = 0.015        # albedo micro-variation (relative std) at the pixel scale
    rough: float = 0.02         # micro-roughness: normals jittered at the pixel scale (less on mirrors)

    def eval(self, g: Geom):
        k = len(g.pos)

        def val(v, shape):
            out = v(g) if callable(v) else v
            return np.broadcast_to(np.asarray(out, np.float64), shape)

        return (val(self.albedo, (k, 3)), val(self.spec, (k,)), val(self.refl, (k,)),
                self.bump(g) if self.bump else None, self.emit(g) if self.emit else None)


@dataclass
class Part:
    mesh: Mesh
    mat: Material


# ----------------------------------------------------------------------------- raster
def raster(xy: np.ndarray, z: np.ndarray, T: np.ndarray, W: int, H: int,
           depth_only: bool = False):
    """Nearest triangle per pixel centre. Returns (tri index per pixel or -1, zmin, zmax) or,
    with depth_only, the minimum depth per pixel (inf where empty)."""
    x = xy[:, 0][T]
    y = xy[:, 1][T]
    zz = z[T]
    area = (x[:, 1] - x[:, 0]) * (y[:, 2] - y[:, 0]) - (x[:, 2] - x[:, 0]) * (y[:, 1] - y[:, 0])
    i0 = np.maximum(np.ceil(x.min(1) - 0.5), 0).astype(np.int64)
    i1 = np.minimum(np.floor(x.max(1) - 0.5), W - 1).astype(np.int64)
    j0 = np.maximum(np.ceil(y.min(1) - 0.5), 0).astype(np.int64)
    j1 = np.minimum(np.floor(y.max(1) - 0.5), H - 1).astype(np.int64)
    ok = (np.abs(area) > 1e-12) & (i1 >= i0) & (j1 >= j0)
    ids = np.nonzero(ok)[0]
    zlo, zhi = float(z.min()), float(z.max())
    scale = (2 ** 31 - 2) / max(zhi - zlo, 1e-12)
    buf = np.full(W * H, np.inf if depth_only else np.iinfo(np.int64).max,
                  np.float64 if depth_only else np.int64)
    # barycentric weights are affine in the pixel centre: w_k = a_k x + b_k y + c_k
    inv = 1.0 / np.where(ok, area, 1.0)
    ea = np.stack([(y[:, 1] - y[:, 2]), (y[:, 2] - y[:, 0])], 1) * inv[:, None]
    eb = np.stack([(x[:, 2] - x[:, 1]), (x[:, 0] - x[:, 2])], 1) * inv[:, None]
    ec = np.stack([(x[:, 1] * y[:, 2] - x[:, 2] * y[:, 1]), (x[:, 2] * y[:, 0] - x[:, 0] * y[:, 2])],
                  1) * inv[:, None]
    A3 = np.concatenate([ea, -ea.sum(1, keepdims=True)], 1)
    B3 = np.concatenate([eb, -eb.sum(1, keepdims=True)], 1)
    C3 = np.concatenate([ec, 1 - ec.sum(1, keepdims=True)], 1)
    eps = 1e-9
    rows = j1 - j0 + 1
    # chunks of triangles holding about 2M covered (triangle, row) pairs
    cum = np.cumsum(np.where(ok, rows, 0)[ids])
    starts = np.searchsorted(cum, np.arange(0, cum[-1] if len(cum) else 0, 1 << 21), side="right")
    bounds = list(starts) + [len(ids)]
    for q0, q1 in zip(bounds[:-1], bounds[1:]):
        tt = ids[q0:q1]
        if not len(tt):
            continue
        nr = rows[tt]
        rt = np.repeat(tt, nr)                                  # triangle of each row span
        first = np.repeat(np.cumsum(nr) - nr, nr)
        jj = j0[rt] + (np.arange(len(rt)) - first)
        py = jj + 0.5
        a3, k3 = A3[rt], B3[rt] * py[:, None] + C3[rt] + eps    # w_k = a3 x + k3 >= 0
        with np.errstate(divide="ignore", invalid="ignore"):
            lim = -k3 / a3
        lo = np.max(np.where(a3 > 0, lim, -np.inf), 1)
        hi = np.min(np.where(a3 < 0, lim, np.inf), 1)
        dead = np.any((a3 == 0) & (k3 < 0), 1)
        i_lo = np.maximum(np.ceil(lo - 0.5), i0[rt])
        i_hi = np.minimum(np.floor(hi - 0.5), i1[rt])
        n = np.where(dead, 0, np.maximum(i_hi - i_lo + 1, 0)).astype(np.int64)
        keep = n > 0
        rt, jj, i_lo, n = rt[keep], jj[keep], i_lo[keep].astype(np.int64), n[keep]
        if not len(rt):
            continue
        ft = np.repeat(rt, n)
        fstart = np.repeat(np.cumsum(n) - n, n)
        fi = np.repeat(i_lo, n) + (np.arange(len(ft)) - fstart)
        fj = np.repeat(jj, n)
        px, pyf = fi + 0.5, fj + 0.5
        w0 = ea[ft, 0] * px + eb[ft, 0] * pyf + ec[ft, 0]
        w1 = ea[ft, 1] * px + eb[ft, 1] * pyf + ec[ft, 1]
        Z = zz[ft]
        depth = Z[:, 2] + w0 * (Z[:, 0] - Z[:, 2]) + w1 * (Z[:, 1] - Z[:, 2])
        pix = fj * W + fi
        if depth_only:
            np.minimum.at(buf, pix, depth)
        else:
            dq = np.clip(((depth - zlo) * scale).astype(np.int64), 0, 2 ** 31 - 1)
            np.minimum.at(buf, pix, (dq << 31) | ft)
    if depth_only:
        return buf.reshape(H, W)
    tri = np.where(buf == np.iinfo(np.int64).max, -1, buf & (2 ** 31 - 1))
    return tri.reshape(H, W)


def barycentric(xy: np.ndarray, T: np.ndarray, tri: np.ndarray, px: np.ndarray, py: np.ndarray):
    """Barycentric weights (K,3) of pixel centres (px, py) in their triangles."""
    X, Y = xy[:, 0][T[tri]], xy[:, 1][T[tri]]
    A = (X[:, 1] - X[:, 0]) * (Y[:, 2] - Y[:, 0]) - (X[:, 2] - X[:, 0]) * (Y[:, 1] - Y[:, 0])
    w0 = ((X[:, 1] - px) * (Y[:, 2] - py) - (X[:, 2] - px) * (Y[:, 1] - py)) / A
    w1 = ((X[:, 2] - px) * (Y[:, 0] - py) - (X[:, 0] - px) * (Y[:, 2] - py)) / A
    w = np.stack([w0, w1, 1 - w0 - w1], 1)
    return np.clip(w, 0, 1) / np.clip(w, 0, 1).sum(1, keepdims=True)


# ----------------------------------------------------------------------------- cameras
def basis(elev: float, az: float):
    """(right, up, forward) unit vectors of the camera in the object frame."""
    e, a = math.radians(elev), math.radians(az)
    to_cam = np.array([math.sin(a) * math.cos(e), math.cos(a) * math.cos(e), math.sin(e)])
    f = -to_cam
    if elev >= 89.999:  # continue the az series over the top: up -> the object's back
        right = np.array([-math.cos(a), math.sin(a), 0.0])
    else:
        right = _unit(np.cross(f, [0.0, 0.0, 1.0]))
    up = np.cross(right, f)
    return right, up, f


def light_basis(d: np.ndarray):
    """Two unit vectors perpendicular to a direction."""
    d = _unit(np.asarray(d, np.float64))
    a = np.array([1.0, 0, 0]) if abs(d[0]) < 0.9 else np.array([0, 1.0, 0])
    e1 = _unit(np.cross(d, a))
    return e1, np.cross(d, e1)


class DepthMap:
    """Orthographic depth map looking along -d (d points at the light): occlusion tests."""

    def __init__(self, P: np.ndarray, T: np.ndarray, d: np.ndarray, texel: float):
        self.d = _unit(np.asarray(d, np.float64))
        self.e1, self.e2 = light_basis(self.d)
        self.texel = texel
        q = self._coords(P)
        self.lo = q[:, :2].min(0) - 3 * texel
        self.W = int((q[:, 0].max() - self.lo[0]) / texel) + 4
        self.H = int((q[:, 1].max() - self.lo[1]) / texel) + 4
        xy = (q[:, :2] - self.lo) / texel
        self.depth = raster(xy, q[:, 2], T, self.W, self.H, depth_only=True)

    def _coords(self, P):
        return np.stack([P @ self.e1, P @ self.e2, -(P @ self.d)], 1)

    def lit(self, P: np.ndarray, bias: float, soft: float = 0.0, taps: int = 8) -> np.ndarray:
        """Share of the light each point sees; with `soft` (metres) the test is repeated over
        a small disc of offsets (percentage-closer filtering: a soft shadow edge)."""
        q = self._coords(P)
        fx, fy = (q[:, 0] - self.lo[0]) / self.texel - 0.5, (q[:, 1] - self.lo[1]) / self.texel - 0.5
        if soft <= 0:
            offs = np.zeros((1, 2))
        else:
            k = np.arange(taps) + 0.5
            r = np.sqrt(k / taps) * soft / self.texel
            a = k * math.pi * (3 - math.sqrt(5))
            offs = np.stack([r * np.cos(a), r * np.sin(a)], 1)
        acc = np.zeros(len(P))
        for ox, oy in offs:
            ix = np.clip(np.round(fx + ox).astype(np.int64), 0, self.W - 1)
            iy = np.clip(np.round(fy + oy).astype(np.int64), 0, self.H - 1)
            acc += q[:, 2] <= self.depth[iy, ix] + bias
        return acc / len(offs)


def fibonacci_dirs(n: int) -> np.ndarray:
    """n well spread unit vectors over the whole sphere (fixed)."""
    i = np.arange(n) + 0.5
    z = 1 - 2 * i / n
    a = i * math.pi * (3 - math.sqrt(5))
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(a), r * np.sin(a), z], 1)


def vertex_ao(mesh: Mesh, n_dirs: int = 40, floor_bounce: float = 0.35,
              normals: np.ndarray | None = None) -> np.ndarray:
    """Per-vertex ambient light in [0, 1]: cosine-weighted share of the sphere that is open
    sky (directions above the horizon not blocked by the object); directions below the
    horizon see the floor, which returns `floor_bounce` of the light."""
    P, N = mesh.P, (mesh.N if normals is None else normals)
    ext = float(np.max(P.max(0) - P.min(0)))
    texel = ext / 150
    dirs = fibonacci_dirs(n_dirs)
    num = np.zeros(len(P))
    den = np.zeros(len(P))
    for d in dirs:
        w = np.clip(N @ d, 0, None)
        den += w
        if d[2] <= 0.02:
            num += w * floor_bounce
            continue
        dm = DepthMap(P, mesh.T, d, texel)
        vis = dm.lit(P + N * 1.5 * texel, bias=1.5 * texel)
        num += w * vis
    return num / np.maximum(den, 1e-9)


# ----------------------------------------------------------------------------- shading
def environment(R: np.ndarray) -> np.ndarray:
    """Radiance of a plain room seen in a mirror direction R (unit, object frame)."""
    z = R[:, 2]
    sky = 0.62 + 0.33 * np.sqrt(np.clip(z, 0, 1))
    floor = 0.38 + 0.06 * np.clip(-z, 0, 1)
    v = np.where(z >= 0, sky, floor + (sky - floor) * np.clip(1 + z * 12, 0, 1))
    lamp = np.exp(-(1 - np.clip(R @ LIGHT, -1, 1)) / 0.015) * 1.2
    win = np.exp(-(1 - np.clip(R @ _unit(np.array([0.9, 0.3, 0.35])), -1, 1)) / 0.05) * 0.35
    return (v + lamp + win)[:, None] * np.array([0.97, 0.98, 1.0])


_PERM = np.tile(np.random.default_rng(20240611).permutation(256), 2)
_LATTICE = np.random.default_rng(20240612).standard_normal(256)


def micro_noise(P: np.ndarray, cell: float) -> np.ndarray:
    """Smooth 3-D value noise (hashed lattice, smoothstep weights) of about unit std at
    object points P, lattice cell `cell` metres: fixed in the object's frame, so every view
    of an object shows the same speckle at the same place."""
    q = np.asarray(P, np.float64) / cell
    i = np.floor(q).astype(np.int64)
    f = q - i
    f = f * f * (3 - 2 * f)
    i &= 255
    out = np.zeros(len(q))
    for dx in (0, 1):
        hx = _PERM[i[:, 0] + dx]
        wx = f[:, 0] if dx else 1 - f[:, 0]
        for dy in (0, 1):
            hy = _PERM[hx + i[:, 1] + dy]
            wy = wx * (f[:, 1] if dy else 1 - f[:, 1])
            for dz in (0, 1):
                out += wy * (f[:, 2] if dz else 1 - f[:, 2]) * _LATTICE[_PERM[hy + i[:, 2] + dz]]
    return out * 1.5   # trilinear smoothstep interpolation leaves about 2/3 of the lattice's std


_MICRO_OFFSETS = np.array([[0.0, 0.0, 0.0], [17.3, 5.1, 9.7], [3.9, 23.3, 11.1], [29.1, 7.7, 19.9]])


@dataclass
class Prepared:
    mesh: Mesh
    part_of_tri: np.ndarray
    mats: list
    ao: np.ndarray
    shadow: DepthMap
    texel: float
    V: np.ndarray = None      # every per-vertex quantity side by side, for one gather per view
    soft: float = 0.0         # shadow penumbra radius, metres
    fine: tuple | None = None  # views from below: (T, P, V, part, face normal) split short in z


def prepare(parts: list[Part], n_ao: int = 40) -> Prepared:
    """Merge the parts and compute what every view shares (AO, the lamp's shadow map)."""
    mesh = merge([p.mesh for p in parts])
    part_of_tri = np.concatenate([np.full(len(p.mesh.T), i) for i, p in enumerate(parts)])
    # a thin sheet is seen from its upper side mostly: its occlusion is that side's
    two = np.concatenate([np.full(len(p.mesh.P), p.mat.two_sided) for p in parts])
    nao = np.where((two & (mesh.N[:, 2] < 0))[:, None], -mesh.N, mesh.N)
    ao = vertex_ao(mesh, n_ao, normals=nao)
    ext = float(np.max(mesh.P.max(0) - mesh.P.min(0)))
    texel = ext / 700
    shadow = DepthMap(mesh.P, mesh.T, LIGHT, texel)
    cols = [mesh.P, mesh.N, mesh.UV, mesh.Tu, mesh.Tv, ao[:, None]]
    if mesh.A is not None:
        cols.append(mesh.A)
    V = np.concatenate(cols, 1).astype(np.float32)
    return Prepared(mesh, part_of_tri, [p.mat for p in parts], ao, shadow, texel, V, ext * 0.012)


def view_extent(P: np.ndarray, elev: float, az: float) -> tuple[float, float]:
    right, up, _ = basis(elev, az)
    x, y = P @ right, P @ up
    return float(x.max() - x.min()), float(y.max() - y.min())


# ----------------------------------------------------------------------------- views from below
def split_tall(T: np.ndarray, V: np.ndarray, max_dz: float, zcol: int = 2):
    """Split every triangle edge that spans more than `max_dz` in column `zcol` of the
    per-vertex array V (z) at its midpoint, conformingly (both triangles of an edge share
    the new vertex: no cracks), until none does. Returns (T, V, parent triangle of each)."""
    parent = np.arange(len(T))
    while True:
        M = len(T)
        key = np.sort(np.stack([T[:, [0, 1]], T[:, [1, 2]], T[:, [2, 0]]], 1), -1)   # (M, 3, 2)
        long = np.abs(V[key[..., 0], zcol] - V[key[..., 1], zcol]) > max_dz
        if not long.any():
            return T, V, parent
        uk, inv = np.unique(key[long], axis=0, return_inverse=True)
        mid = np.full((M, 3), -1, np.int64)
        mid[long] = len(V) + inv.ravel()
        V = np.concatenate([V, (V[uk[:, 0]] + V[uk[:, 1]]) * 0.5])
        has = long.any(1)
        idx = (np.arange(3)[None] + np.argmax(long, 1)[:, None]) % 3   # edge 0 = a split one
        v, m = np.take_along_axis(T, idx, 1), np.take_along_axis(mid, idx, 1)
        out, par = [T[~has]], [parent[~has]]
        for c1 in (False, True):
            for c2 in (False, True):
                sel = has & ((m[:, 1] >= 0) == c1) & ((m[:, 2] >= 0) == c2)
                if not sel.any():
                    continue
                vv, mm = v[sel], m[sel]
                # the polygon v0 m0 v1 [m1] v2 [m2], fanned from m0
                poly = [vv[:, 1]] + ([mm[:, 1]] if c1 else []) + [vv[:, 2]] + ([mm[:, 2]] if c2 else []) \
                    + [vv[:, 0]]
                for a, b in zip(poly[:-1], poly[1:]):
                    out.append(np.stack([mm[:, 0], a, b], 1))
                    par.append(parent[sel])
        T, parent = np.concatenate(out), np.concatenate(par)


def below_profile(P: np.ndarray, elev: float, az: float, eye_height: float,
                  margin: float = 1.1) -> tuple[float, float]:
    """(hc, d) of a view from below (elev < 0): the slice of the object at height z is seen
    from elevation theta(z) = atan2(hc - z, d), what a camera hc above the floor and d in
    front of the object's axis sees at that height, looking up at it. d makes the middle of
    the bounding box seen from `elev`; hc is `eye_height`, unless the object reaches so far
    back that those slices would fold over (they would from a camera that close): then the
    camera steps back and down (not below the floor) until they do not."""
    zm = float(P[:, 2].min() + P[:, 2].max()) / 2
    tn = math.tan(math.radians(-elev))
    if elev >= 0 or zm <= eye_height:
        raise ValueError(f"no view from below at {elev} deg of an object whose middle is {zm:.3f} m up")
    a = math.radians(az)
    t = P @ np.array([math.sin(a), math.cos(a), 0.0])
    d = (zm - eye_height) / tn
    while True:
        hc = zm - d * tn
        if hc <= 0:
            return 0.0, zm / tn
        if np.all(margin * t + (d * d + (hc - P[:, 2]) ** 2) / d > 0):  # 1 - t theta'(z) > 0
            return hc, d
        d *= 1.02


def below_coords(P: np.ndarray, az: float, hc: float, d: float):
    """(t, image height, theta) of points in a view from below: t = distance towards the
    camera (horizontal); each height z seen orthographically from theta(z), the slices
    stacked so that the object's vertical axis stays continuous:
    height = integral_0^z cos(theta) - t sin(theta(z))."""
    a = math.radians(az)
    t = P @ np.array([math.sin(a), math.cos(a), 0.0])
    u = (P[:, 2] - hc) / d
    theta = -np.arctan(u)
    h = d * (np.arcsinh(u) - math.asinh(-hc / d)) + t * u / np.sqrt(1 + u * u)
    return t, h, theta


def render(prep: Prepared, elev: float, az: float, ppm: float, ss: int,
           ambient: float = 0.62, key: float = 0.5,
           eye_height: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One supersampled view: (rgb float (H,W,3), alpha (H,W)) at ppm*ss pixels per metre.

    Orthographic, unless `eye_height` is given for a view from below (elev < 0): then each
    height of the object is seen from the elevation at which a camera `eye_height` above
    the floor, standing where it sees the middle of the object from `elev`, sees that height
    (below_profile): the head from below, the base from level or a little above, so the
    lowest row is still the nearest floor contact. Horizontally it stays orthographic at
    the same scale (a view is as wide as the orthographic views at its azimuth)."""
    m = prep.mesh
    right, up, f = basis(elev, az)
    s = ppm * ss
    below = eye_height is not None and elev < 0
    if not below:
        T, Vx, part_of_tri = m.T, prep.V, prep.part_of_tri
        x, y = m.P @ right * s, -(m.P @ up) * s
        zbuf = m.P @ f
    else:
        if prep.fine is None:   # short triangle edges in z: the projection bends along z
            T, V64, parent = split_tall(m.T, np.concatenate([m.P, prep.V.astype(np.float64)], 1),
                                        max_dz=0.01)
            Pf = V64[:, :3]
            ng = np.cross(Pf[T[:, 1]] - Pf[T[:, 0]], Pf[T[:, 2]] - Pf[T[:, 0]])
            ng *= np.where(np.sum(ng * V64[T, 3:6].sum(1), 1) < 0, -1.0, 1.0)[:, None]  # outwards
            prep.fine = (T, Pf, V64[:, 3:].astype(np.float32), prep.part_of_tri[parent], ng)
        T, Pf, Vx, part_of_tri, face_n = prep.fine
        hc, dv = below_profile(Pf, elev, az, eye_height)
        tt, hh, _ = below_coords(Pf, az, hc, dv)
        x, y = Pf @ right * s, -hh * s
        zbuf = -tt                  # farther along every line of sight = less towards the camera
    margin = 2 * ss
    x0, y0 = math.floor(x.min()) - margin, math.floor(y.min()) - margin
    W = int(math.ceil((x.max() - x0 + margin) / ss)) * ss
    H = int(math.ceil((y.max() - y0 + margin) / ss)) * ss
    xy = np.stack([x - x0, y - y0], 1)
    tri = raster(xy, zbuf, T, W, H)
    pix = np.nonzero(tri.ravel() >= 0)[0]
    t = tri.ravel()[pix]
    py, px = np.divmod(pix, W)
    w = barycentric(xy, T, t, px + 0.5, py + 0.5).astype(np.float32)
    vi = T[t]
    G = Vx[vi[:, 0]] * w[:, :1] + Vx[vi[:, 1]] * w[:, 1:2] + Vx[vi[:, 2]] * w[:, 2:3]
    P = G[:, 0:3]
    N = _unit(G[:, 3:6])
    two = np.array([mt.two_sided for mt in prep.mats])[part_of_tri[t]]
    if not below:
        V = np.broadcast_to(-f, P.shape)
        back = two & ((N @ -f) < 0)
    else:
        # per pixel, towards the camera along the line of sight: the slice's elevation theta,
        # its horizontal part stretched by 1 - t theta'(z) (the bend of the sight lines); an
        # open shell seen from inside (a triangle showing its back: a badge seen from behind)
        # is lit on the side that faces us, like a thin sheet
        a = math.radians(az)
        u = (P[:, 2].astype(np.float64) - hc) / dv
        c, sn = 1 / np.sqrt(1 + u * u), -u / np.sqrt(1 + u * u)
        tp = P.astype(np.float64) @ np.array([math.sin(a), math.cos(a), 0.0])
        horiz = c * (1 + tp * c * c / dv)
        V = _unit(np.stack([horiz * math.sin(a), horiz * math.cos(a), sn], 1))
        back = (two | (np.sum(face_n[t] * V, 1) < 0)) & (np.sum(N * V, 1) < 0)
    N[back] = -N[back]                       # thin sheets: light the side that faces us
    uv, Tu, Tv = G[:, 6:8], _unit(G[:, 8:11]), _unit(G[:, 11:14])
    ao = G[:, 14]
    attr = G[:, 15:] if m.A is not None else None
    part = part_of_tri[t]
    rgb = np.zeros((len(pix), 3))
    for k, mat in enumerate(prep.mats):
        sel = np.nonzero(part == k)[0]
        if not len(sel):
            continue
        g = Geom(P[sel], N[sel], uv[sel], None if attr is None else attr[sel], V[sel])
        alb, spec, refl, bump, emit = mat.eval(g)
        n = N[sel]
        if not below:
            facing = lambda nn: nn @ -f  # noqa: E731
        else:
            facing = lambda nn, vv=V[sel]: np.sum(nn * vv, 1)  # noqa: E731
        if bump is not None:
            if bump.shape[1] == 3:   # a world-space surface gradient
                n = _unit(n - bump)
            else:                    # slopes along the surface's u and v
                n = _unit(n - bump[:, :1] * Tu[sel] - bump[:, 1:2] * Tv[sel])
            n = np.where((facing(n) < 0)[:, None], N[sel], n)
        # the pixel-scale life of a real surface: albedo that varies a little (fibres, pigment,
        # dirt) and normals that are never perfectly smooth (micro-roughness breaks up the
        # highlights); fixed in the object's frame, so all views agree
        cell = MICRO_CELL_PX / ppm
        Pm = P[sel].astype(np.float64) + _MICRO_OFFSETS[0] + 0.37 * k
        if mat.grain:
            alb = np.clip(alb * (1 + mat.grain * micro_noise(Pm, cell))[:, None], 0, 1)
        if mat.rough:
            jit = np.stack([micro_noise(Pm + o, 1.5 * cell) for o in _MICRO_OFFSETS[1:]], 1)
            jit -= np.sum(jit * n, 1, keepdims=True) * n
            n2 = _unit(n + (mat.rough * (1 - 0.85 * np.clip(refl, 0, 1)))[:, None] * jit)
            n = np.where((facing(n2) < 0)[:, None], n, n2)
        lit = prep.shadow.lit(P[sel] + n * 2.0 * prep.texel, bias=2.0 * prep.texel, soft=prep.soft)
        ndl = np.clip(n @ LIGHT, 0, None)
        diff = key * ndl * lit
        # ambient light of a room, not a uniform dome: brighter from above, more from the
        # window side (bluer), a warm bounce from the floor below
        amb = ambient * mat.ambient * ao[sel]
        sky = (0.74 + 0.18 * n[:, 2])[:, None] * AMBIENT_RGB
        win = 0.2 * np.clip(n @ WINDOW, 0, None)[:, None] * WINDOW_RGB
        bounce = 0.1 * np.clip(-n[:, 2], 0, None)[:, None] * BOUNCE_RGB
        col = alb * (diff[:, None] * LIGHT_RGB + amb[:, None] * (sky + win + bounce))
        if not below:
            nh = n @ _unit(LIGHT - f)
        else:
            nh = np.sum(n * _unit(LIGHT[None] + V[sel]), 1)
        col = col + (spec * np.clip(nh, 0, None) ** mat.shine * lit * (ndl > 0))[:, None] * LIGHT_RGB
        if np.any(refl > 0):
            cosv = np.clip(facing(n), 0, 1)
            if not below:
                R = f - 2 * (n @ f)[:, None] * n
            else:
                d = -V[sel]
                R = d - 2 * np.sum(n * d, 1)[:, None] * n
            fres = refl + (1 - refl) * (1 - cosv) ** 5 * (refl > 0) * (0.2 if mat.metal else 1.0)
            env = environment(R) * (0.35 + 0.65 * ao[sel])[:, None]
            env = env * (alb if mat.metal else 1.0)
            col = col * (1 - fres[:, None]) + env * fres[:, None]
        if emit is not None:
            col = col + emit
        rgb[sel] = col
    img = np.zeros((H * W, 3))
    img[pix] = rgb
    alpha = np.zeros(H * W)
    alpha[pix] = 1.0
    return img.reshape(H, W, 3), alpha.reshape(H, W)
