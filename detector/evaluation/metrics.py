"""Detection metrics on arrays: PASCAL VOC AP, the 12 COCO numbers, PR curves, confusion matrix.

Conventions (docs/design.md, "Metric conventions"):
- A VOC box (xmin, ymin, xmax, ymax), 1-based inclusive, is the continuous 0-based box
  (xmin-1, ymin-1, xmax, ymax), i.e. [x, y, w, h] = [xmin-1, ymin-1, xmax-xmin+1, ymax-ymin+1].
- IoU is computed from [x, y, w, h] exactly as pycocotools' bbIou does (no "+1").
- The COCO "area" of a ground-truth object is w*h of that box, and `difficult` objects are
  COCO crowds (iscrowd=1). pycocotools fed a ground-truth json built with exactly these
  boxes, areas and iscrowd flags (image ids in VOC-set order, ids from 1) gives the same 12
  numbers as `coco_evaluate`, to the last bit barring summation order.

Everything is vectorised over detections; the only Python loops run over classes, area
ranges, IoU thresholds, and the rank of a detection among the overlapping ones of its
(image, class) — the last is the one step of COCO's greedy matching that is sequential.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from synth.voc import VocSet

from .detections import Detections

# pycocotools' default bbox parameters (np.linspace, exactly as pycocotools builds them).
IOU_THRESHOLDS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
RECALL_THRESHOLDS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
MAX_DETS = (1, 10, 100)
AREA_RANGES = ((0 ** 2, 1e5 ** 2), (0 ** 2, 32 ** 2), (32 ** 2, 96 ** 2), (96 ** 2, 1e5 ** 2))
AREA_NAMES = ("all", "small", "medium", "large")

COCO_STAT_NAMES = (
    "AP @[IoU=0.50:0.95 | area=all | maxDets=100]",
    "AP @[IoU=0.50 | area=all | maxDets=100]",
    "AP @[IoU=0.75 | area=all | maxDets=100]",
    "AP @[IoU=0.50:0.95 | area=small | maxDets=100]",
    "AP @[IoU=0.50:0.95 | area=medium | maxDets=100]",
    "AP @[IoU=0.50:0.95 | area=large | maxDets=100]",
    "AR @[IoU=0.50:0.95 | area=all | maxDets=1]",
    "AR @[IoU=0.50:0.95 | area=all | maxDets=10]",
    "AR @[IoU=0.50:0.95 | area=all | maxDets=100]",
    "AR @[IoU=0.50:0.95 | area=small | maxDets=100]",
    "AR @[IoU=0.50:0.95 | area=medium | maxDets=100]",
    "AR @[IoU=0.50:0.95 | area=large | maxDets=100]",
)
COCO_STAT_KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl",
                  "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")

_PAIR_CHUNK = 250_000  # candidate pairs built at once: small arrays keep memory hot


# ----------------------------------------------------------------------------- ground truth
@dataclass
class GroundTruth:
    """The labelled objects of a VOC set as arrays, in image order then file order."""

    image: np.ndarray      # (g,) int64 index into the VOC set's images
    cls: np.ndarray        # (g,) int64 index into `classes`
    boxes: np.ndarray      # (g, 4) float64 [x, y, w, h], 0-based continuous
    difficult: np.ndarray  # (g,) bool
    classes: list[str]
    n_images: int

    def __len__(self) -> int:
        return len(self.cls)

    @property
    def area(self) -> np.ndarray:
        """COCO area of each object: w*h of its 0-based box."""
        return self.boxes[:, 2] * self.boxes[:, 3]


def ground_truth(voc_set: VocSet) -> GroundTruth:
    """Objects of a VOC set as arrays, boxes converted to 0-based [x, y, w, h]."""
    index = {c: k for k, c in enumerate(voc_set.classes)}
    rows = [(i, index[o.name], *o.bbox, o.difficult)
            for i, im in enumerate(voc_set.images) for o in im.objects]
    arr = np.array(rows, dtype=np.float64).reshape(-1, 7)
    x0, y0, x1, y1 = arr[:, 2], arr[:, 3], arr[:, 4], arr[:, 5]
    boxes = np.stack([x0 - 1, y0 - 1, x1 - x0 + 1, y1 - y0 + 1], axis=1)
    return GroundTruth(image=arr[:, 0].astype(np.int64), cls=arr[:, 1].astype(np.int64),
                       boxes=boxes, difficult=arr[:, 6].astype(bool),
                       classes=list(voc_set.classes), n_images=len(voc_set.images))


# ----------------------------------------------------------------------------- IoU and pairs
def box_intersection(d: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Intersection area of broadcastable [x, y, w, h] box arrays (0 where they do not overlap)."""
    w = np.minimum(d[..., 0] + d[..., 2], g[..., 0] + g[..., 2]) - np.maximum(d[..., 0], g[..., 0])
    h = np.minimum(d[..., 1] + d[..., 3], g[..., 1] + g[..., 3]) - np.maximum(d[..., 1], g[..., 1])
    return np.where((w > 0) & (h > 0), w * h, 0.0)


def box_iou(d: np.ndarray, g: np.ndarray, crowd: np.ndarray | bool = False) -> np.ndarray:
    """IoU of broadcastable [x, y, w, h] box arrays, as pycocotools computes it.

    For a crowd ground truth the union is the detection's own area (pycocotools' rule).
    For the matrix of every d against every g: box_iou(d[:, None], g[None]).
    """
    inter = box_intersection(d, g)
    da = d[..., 2] * d[..., 3]
    union = np.where(crowd, da, da + g[..., 2] * g[..., 3] - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(inter > 0, inter / union, 0.0)


@dataclass
class Pairs:
    """Every (detection, object) pair of the same image whose boxes overlap, any classes."""

    det: np.ndarray    # (p,) detection index
    gt: np.ndarray     # (p,) ground-truth index
    inter: np.ndarray  # (p,) intersection area
    iou: np.ndarray    # (p,) plain IoU (no crowd rule)

    def subset(self, mask: np.ndarray) -> "Pairs":
        """The pairs selected by a mask."""
        return Pairs(self.det[mask], self.gt[mask], self.inter[mask], self.iou[mask])


def _group_pairs(d_key: np.ndarray, g_key: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield chunks of all (detection, object) index pairs that share a key."""
    g_order = np.argsort(g_key, kind="stable")
    g_sorted = g_key[g_order]
    lo = np.searchsorted(g_sorted, d_key, side="left")
    count = np.searchsorted(g_sorted, d_key, side="right") - lo
    ends = np.cumsum(count)
    start = 0
    while start < len(d_key):
        # As many detections as fit in one chunk (at least one).
        stop = max(int(np.searchsorted(ends, (ends[start - 1] if start else 0) + _PAIR_CHUNK,
                                       side="right")), start + 1)
        cnt = count[start:stop]
        total = int(cnt.sum())
        if total:
            det = np.repeat(np.arange(start, stop), cnt)
            offset = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            yield det, g_order[np.repeat(lo[start:stop], cnt) + offset]
        start = stop


def overlapping_pairs(gt: GroundTruth, dets: Detections) -> Pairs:
    """All overlapping (detection, object) pairs within images, with their IoU."""
    parts = []
    for det, g in _group_pairs(dets.image, gt.image):
        db, gb = dets.boxes[det], gt.boxes[g]
        inter = box_intersection(db, gb)
        keep = inter > 0
        det, g, inter, db, gb = det[keep], g[keep], inter[keep], db[keep], gb[keep]
        da = db[:, 2] * db[:, 3]
        parts.append((det, g, inter, inter / (da + gb[:, 2] * gb[:, 3] - inter)))
    if not parts:
        e = np.zeros(0)
        return Pairs(e.astype(np.int64), e.astype(np.int64), e, e)
    return Pairs(*(np.concatenate(p) for p in zip(*parts)))


def _first_per_group(keys: np.ndarray) -> np.ndarray:
    """Mask of the first element of each run of equal keys in a sorted array."""
    first = np.ones(len(keys), bool)
    first[1:] = keys[1:] != keys[:-1]
    return first


def _rank_in_group(sorted_keys: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal keys of a sorted array."""
    n = len(sorted_keys)
    starts = np.flatnonzero(_first_per_group(sorted_keys))
    return np.arange(n) - np.repeat(starts, np.diff(np.append(starts, n)))


def _count_before(flags: np.ndarray, first: np.ndarray) -> np.ndarray:
    """How many earlier elements of the same run have a flag set, along the last axis.

    Runs start where `first` is True.
    """
    c = np.cumsum(flags, axis=-1, dtype=np.int32) - flags   # int32: half the memory traffic
    starts = np.flatnonzero(first)
    return c - c[..., starts][..., np.cumsum(first) - 1]


def _compact(keys: np.ndarray) -> np.ndarray:
    """Small non-negative integer keys as int16 when they fit (numpy radix-sorts those)."""
    return keys.astype(np.int16) if len(keys) and keys.max() < 2 ** 15 else keys


def stable_order(primary: np.ndarray, by_score: np.ndarray) -> np.ndarray:
    """Indices sorted by `primary`, then by score descending, then by input order.

    `by_score` is the score order (Detections.by_score()).
    """
    return by_score[np.argsort(_compact(primary[by_score]), kind="stable")]


def best_per_detection(det: np.ndarray, iou: np.ndarray, gt: np.ndarray, n: int
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Each detection's highest IoU over the given pairs and its object (-1 if none).

    Ties go to the first pair of the detection (pairs come in file order of the objects).
    """
    best, arg = np.zeros(n), np.full(n, -1, np.int64)
    if len(det) == 0:
        return best, arg
    if (det[1:] < det[:-1]).any():
        o = np.argsort(det, kind="stable")
        det, iou, gt = det[o], iou[o], gt[o]
    first = _first_per_group(det)
    seg = np.cumsum(first) - 1
    top = np.maximum.reduceat(iou, np.flatnonzero(first))
    cand = np.flatnonzero(iou == top[seg])
    pick = cand[_first_per_group(seg[cand])]
    best[det[pick]] = iou[pick]
    arg[det[pick]] = gt[pick]
    return best, arg


# ----------------------------------------------------------------------------- COCO
@dataclass
class CocoResult:
    """pycocotools' accumulated arrays and its 12 summary numbers."""

    precision: np.ndarray  # (T, R, K, A, M); -1 where a class has no ground truth
    recall: np.ndarray     # (T, K, A, M); -1 likewise
    stats: np.ndarray      # (12,) in pycocotools' order (COCO_STAT_NAMES)

    def class_ap(self, iou: float | None = None, area: str = "all") -> np.ndarray:
        """Per-class AP at maxDets=100 averaged over IoU thresholds (or at one); NaN if no GT."""
        p = self.precision[:, :, :, AREA_NAMES.index(area), -1]
        if iou is not None:
            p = p[np.flatnonzero(np.isclose(IOU_THRESHOLDS, iou))]
        valid = p > -1
        n = valid.sum(axis=(0, 1))
        with np.errstate(invalid="ignore"):
            return np.where(n > 0, np.where(valid, p, 0).sum(axis=(0, 1)) / np.maximum(n, 1),
                            np.nan)


@dataclass
class _Matches:
    """Sparse result of COCO matching: one row per (area range, IoU threshold, detection) hit."""

    area: np.ndarray     # index into AREA_RANGES
    thr: np.ndarray      # index into IOU_THRESHOLDS
    det: np.ndarray      # detection index
    ignored: np.ndarray  # the object it took is ignored in that area range (crowd / area)


def _coco_match(gt: GroundTruth, dets: Detections, pairs: Pairs, group: np.ndarray,
                rank: np.ndarray, kept: np.ndarray, gt_ignore: np.ndarray) -> _Matches:
    """pycocotools' greedy matching for every area range and IoU threshold at once.

    A detection takes, among the free objects of its class with IoU >= t, the one with the
    highest IoU (the last in file order on ties); objects pycocotools ignores (crowd or
    area out of range) only when no regular object qualifies. Crowds are never used up.
    Only detections overlapping some object by IoU >= 0.5 can match, so only those are
    walked: in score-rank order, all (image, class) groups side by side.
    """
    A = len(AREA_RANGES)
    taken = np.zeros((A, len(IOU_THRESHOLDS), len(gt)), bool)
    crowd = gt.difficult
    same = (dets.cls[pairs.det] == gt.cls[pairs.gt]) & kept[pairs.det]
    p = pairs.subset(same)
    da = dets.boxes[p.det, 2] * dets.boxes[p.det, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(crowd[p.gt], p.inter / da, p.iou)
    cand = iou >= IOU_THRESHOLDS[0]
    p_det, p_gt, iou = p.det[cand], p.gt[cand], iou[cand]
    hits: list[tuple[np.ndarray, ...]] = []
    if len(p_det):
        # Rank of each candidate detection among the candidates of its (image, class) group.
        o = np.lexsort((p_gt, rank[p_det], group[p_det]))
        p_det, p_gt, iou = p_det[o], p_gt[o], iou[o]
        new_det = _first_per_group(p_det)
        cand_rank = _rank_in_group(group[p_det[new_det]])[np.cumsum(new_det) - 1]

        # Preference among a detection's candidates as one integer per area range:
        # regular before ignored, then higher IoU, then later in file order.
        keys = np.empty((A, len(p_det)), np.int64)
        by_key = np.empty((A, len(p_det)), np.int64)
        for a in range(A):
            by_key[a] = np.lexsort((p_gt, iou, ~gt_ignore[a, p_gt]))
            keys[a, by_key[a]] = np.arange(len(p_det))

        thr = np.minimum(IOU_THRESHOLDS, 1 - 1e-10)[:, None]
        step = np.argsort(cand_rank, kind="stable")
        bounds = np.searchsorted(cand_rank[step], np.arange(cand_rank.max() + 2))
        for r in range(len(bounds) - 1):
            sl = step[bounds[r]:bounds[r + 1]]
            g = p_gt[sl]
            ok = (iou[sl] >= thr)[None] & (crowd[g] | ~taken[:, :, g])
            key = np.where(ok, keys[:, None, sl], -1)
            seg = np.flatnonzero(_first_per_group(p_det[sl]))
            best = np.maximum.reduceat(key, seg, axis=2)
            a_i, t_i, j = np.nonzero(best >= 0)
            g_hit = p_gt[by_key[a_i, best[a_i, t_i, j]]]
            taken[a_i, t_i, g_hit] = True
            hits.append((a_i, t_i, p_det[sl][seg][j], gt_ignore[a_i, g_hit]))
    if not hits:
        e = np.zeros(0, np.int64)
        return _Matches(e, e, e, e.astype(bool))
    return _Matches(*(np.concatenate(h) for h in zip(*hits)))


def _first_integer_at_least(r: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Smallest integer k >= 0 with k / n >= r in float64 (what searchsorted on tp/n finds)."""
    k = np.maximum(np.ceil(r * n) - 1, 0)   # never above the answer, at most 2 below it
    for _ in range(3):
        k = np.where(k / n >= r, k, k + 1)
    return k


def coco_evaluate(gt: GroundTruth, dets: Detections, pairs: Pairs | None = None) -> CocoResult:
    """pycocotools' bbox evaluate + accumulate + summarize, vectorised (difficult = crowd)."""
    K, T, R = len(gt.classes), len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS)
    A, M, n = len(AREA_RANGES), len(MAX_DETS), len(dets)
    if pairs is None:
        pairs = overlapping_pairs(gt, dets)
    lo = np.array([a[0] for a in AREA_RANGES], float)[:, None]
    hi = np.array([a[1] for a in AREA_RANGES], float)[:, None]
    gt_area = gt.area[None]
    gt_ignore = gt.difficult[None] | (gt_area < lo) | (gt_area > hi)          # (A, g)
    npig = np.stack([np.bincount(gt.cls[~gt_ignore[a]], minlength=K) for a in range(A)])

    # Per (image, class): score order, ties in file order; keep the best maxDets[-1].
    group = dets.image * K + dets.cls
    order = stable_order(group, dets.by_score())
    rank = np.empty(n, np.int64)
    rank[order] = _rank_in_group(group[order])
    kept = rank < MAX_DETS[-1]
    hits = _coco_match(gt, dets, pairs, group, rank, kept, gt_ignore)

    # pycocotools accumulates, per class, all images' detections by score (ties: image
    # order, then rank) and reads precision at the first index reaching each recall
    # threshold. That index is always a true positive, and the running precision only
    # peaks at true positives, so only matched detections need walking; the false
    # positives before each one are counted from positions in the class's sequence.
    seq = order[kept[order]]                            # by image, class, rank
    seq = seq[np.argsort(-dets.score[seq], kind="stable")]
    seq = seq[np.argsort(_compact(dets.cls[seq]), kind="stable")]
    where = np.empty(n, np.int64)
    where[seq] = np.arange(len(seq))
    class_first = _first_per_group(dets.cls[seq])
    inside = rank[seq][None] < np.array(MAX_DETS)[:, None]                  # (M, s)
    pos = _count_before(inside, class_first)                                # (M, s)
    d_area = dets.boxes[:, 2] * dets.boxes[:, 3]
    out_of_area = (d_area[None] < lo) | (d_area[None] > hi)                  # (A, n)
    out_before = _count_before(out_of_area[:, None, seq] & inside[None], class_first)

    # Matched detections by (area, threshold), then sequence position; then one block
    # per maxDets: segments (area, threshold, maxDets, class) come out contiguous.
    sp = where[hits.det]
    o = np.argsort(sp)
    o = o[np.argsort(_compact(hits.area * T + hits.thr)[o], kind="stable")]
    a_h, t_h, d_h, ign_h, sp_h = (x[o] for x in (hits.area, hits.thr, hits.det, hits.ignored, sp))
    rows = [np.flatnonzero(rank[d_h] < max_det) for max_det in MAX_DETS]
    m_i = np.repeat(np.arange(M), [len(r) for r in rows])
    rows = np.concatenate(rows)
    a_i, t_i, d_i, ign, s_i = a_h[rows], t_h[rows], d_h[rows], ign_h[rows], sp_h[rows]
    k_i = dets.cls[d_i]
    seg_key = ((a_i * T + t_i) * M + m_i) * K + k_i
    start = _first_per_group(seg_key)
    matched_before = _count_before(np.ones(len(d_i), bool), start)
    out_matched_before = _count_before(out_of_area[a_i, d_i], start)
    fp = pos[m_i, s_i] - matched_before - (out_before[a_i, m_i, s_i] - out_matched_before)
    tp_rows = ~ign
    tp = _count_before(tp_rows, start) + 1
    # Keep the true positives only, with their running precision.
    seg_key, tp, fp = seg_key[tp_rows], tp[tp_rows].astype(float), fp[tp_rows].astype(float)
    a_i, t_i, m_i, k_i = a_i[tp_rows], t_i[tp_rows], m_i[tp_rows], k_i[tp_rows]
    pr = tp / (fp + tp + np.spacing(1))

    # Fill pycocotools' arrays: classes without objects in an area range stay -1.
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    has_gt = (npig > 0).T                                                   # (K, A)
    precision[:, :, has_gt, :] = 0
    recall[:, has_gt, :] = 0
    first_tp = np.flatnonzero(_first_per_group(seg_key))
    if len(first_tp):
        n_tp = np.diff(np.append(first_tp, len(seg_key)))
        sa, st, sm, sk = a_i[first_tp], t_i[first_tp], m_i[first_tp], k_i[first_tp]
        npig_s = npig[sa, sk].astype(float)
        live = npig_s > 0
        recall[st[live], sk[live], sa[live], sm[live]] = n_tp[live] / npig_s[live]
        # The j-th true positive (0-based) is the first to reach each recall threshold.
        need = _first_integer_at_least(RECALL_THRESHOLDS[None], np.maximum(npig_s, 1)[:, None])
        j = np.maximum(need, 1).astype(np.int64) - 1                         # (S, R)
        reached = live[:, None] & (j < n_tp[:, None])
        # Precision there is the max over all later true positives of the segment: maxima
        # of the stretches between consecutive thresholds' indices, then a running max
        # from the end. (Empty stretches give their first element, which the next
        # stretch contains anyway.)
        idx = first_tp[:, None] + np.minimum(j, n_tp[:, None] - 1)
        stretch = np.maximum.reduceat(pr, idx.ravel()).reshape(idx.shape)
        env = np.maximum.accumulate(stretch[:, ::-1], axis=1)[:, ::-1]
        q = np.where(reached, env, 0.0)
        sel = live
        precision[st[sel, None], np.arange(R)[None], sk[sel, None], sa[sel, None],
                  sm[sel, None]] = q[sel]
    return CocoResult(precision=precision, recall=recall, stats=_summarize(precision, recall))


def _summarize(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """pycocotools' summarize(): the 12 numbers (-1 where nothing is defined)."""
    def one(ap: bool, iou: float | None = None, area: str = "all", max_dets: int = 100) -> float:
        a, m = AREA_NAMES.index(area), MAX_DETS.index(max_dets)
        s = precision[..., a, m] if ap else recall[..., a, m]
        if iou is not None:
            s = s[np.where(iou == IOU_THRESHOLDS)[0]]
        s = s[s > -1]
        return float(np.mean(s)) if s.size else -1.0

    return np.array([one(True), one(True, .5), one(True, .75), one(True, area="small"),
                     one(True, area="medium"), one(True, area="large"),
                     one(False, max_dets=1), one(False, max_dets=10), one(False),
                     one(False, area="small"), one(False, area="medium"),
                     one(False, area="large")])


# ----------------------------------------------------------------------------- PASCAL VOC
def average_precision(recall: np.ndarray, precision: np.ndarray, use_07: bool = False) -> float:
    """VOC AP of one PR sequence: all-point (VOC2010+) or 11-point (VOC2007)."""
    if use_07:
        points = [precision[recall >= t].max() if (recall >= t).any() else 0.0
                  for t in np.linspace(0, 1, 11)]
        return float(np.mean(points))
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


@dataclass
class PRCurve:
    """One class's detections in score order with running precision and recall."""

    score: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    n_gt: int

    def best_f1(self) -> dict:
        """Precision, recall, F1 and the confidence threshold where F1 is highest."""
        if len(self.score) == 0 or self.n_gt == 0:
            return {"conf": None, "precision": 0.0, "recall": 0.0, "f1": 0.0}
        # Only the last detection of a run of equal scores is a reachable threshold.
        last = np.append(self.score[1:] != self.score[:-1], True)
        p, r = self.precision[last], self.recall[last]
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
        i = int(np.argmax(f1))
        return {"conf": float(self.score[last][i]), "precision": float(p[i]),
                "recall": float(r[i]), "f1": float(f1[i])}


def pr_curves(cls: np.ndarray, score: np.ndarray, tp: np.ndarray, fp: np.ndarray,
              npos: np.ndarray, order: np.ndarray | None = None) -> list[PRCurve]:
    """Per-class PR sequences from per-detection TP/FP flags (neither = ignored).

    `order` may pass the detections already sorted by class, then score descending.
    """
    if order is None:
        order = stable_order(cls, np.argsort(-score, kind="stable"))
    bounds = np.searchsorted(cls[order], np.arange(len(npos) + 1))
    curves = []
    for k in range(len(npos)):
        o = order[bounds[k]:bounds[k + 1]]
        tpc, fpc = np.cumsum(tp[o], dtype=float), np.cumsum(fp[o], dtype=float)
        rec = tpc / npos[k] if npos[k] > 0 else np.zeros_like(tpc)
        prec = tpc / np.maximum(tpc + fpc, np.finfo(np.float64).eps)
        curves.append(PRCurve(score=score[o], precision=prec, recall=rec, n_gt=int(npos[k])))
    return curves


def class_ap(cls: np.ndarray, score: np.ndarray, tp: np.ndarray, fp: np.ndarray,
             npos: np.ndarray, use_07: bool = False, order: np.ndarray | None = None
             ) -> np.ndarray:
    """Per-class VOC AP from per-detection TP/FP flags; NaN for classes without objects."""
    return np.array([average_precision(c.recall, c.precision, use_07) if c.n_gt > 0 else np.nan
                     for c in pr_curves(cls, score, tp, fp, npos, order)])


@dataclass
class VocResult:
    """PASCAL VOC matching at one IoU threshold and the per-class AP it gives."""

    ap: np.ndarray        # (K,) NaN for classes without (non-difficult) objects
    npos: np.ndarray      # (K,) non-difficult objects per class
    tp: np.ndarray        # (n,) bool per detection
    fp: np.ndarray        # (n,) bool; a detection on a difficult object is neither
    best_gt: np.ndarray   # (n,) highest-IoU object of the detection's class, -1 if none
    best_iou: np.ndarray  # (n,) its IoU (0 if none)
    order: np.ndarray     # (n,) detections sorted by class, then score descending
    curves: list[PRCurve]

    @property
    def map(self) -> float:
        """Mean AP over the classes that have objects."""
        valid = self.npos > 0
        return float(np.mean(self.ap[valid])) if valid.any() else float("nan")


def voc_evaluate(gt: GroundTruth, dets: Detections, pairs: Pairs | None = None,
                 iou_threshold: float = 0.5, use_07: bool = False) -> VocResult:
    """PASCAL VOC (2010+ devkit rule) matching and AP; `use_07` for the 11-point AP."""
    n, K = len(dets), len(gt.classes)
    if pairs is None:
        pairs = overlapping_pairs(gt, dets)
    p = pairs.subset(dets.cls[pairs.det] == gt.cls[pairs.gt])
    # Each detection's best object of its class: highest IoU, first in file order on ties.
    best_iou, best_gt = best_per_detection(p.det, p.iou, p.gt, n)

    hit = best_iou >= iou_threshold
    on_difficult = hit & gt.difficult[np.maximum(best_gt, 0)] if len(gt) else np.zeros(n, bool)
    claims = hit & ~on_difficult
    order = stable_order(dets.cls, dets.by_score())
    claimers = order[claims[order]]
    _, first_claim = np.unique(best_gt[claimers], return_index=True)
    tp = np.zeros(n, bool)
    tp[claimers[first_claim]] = True
    fp = ~tp & ~on_difficult
    npos = np.bincount(gt.cls[~gt.difficult], minlength=K)
    curves = pr_curves(dets.cls, dets.score, tp, fp, npos, order)
    ap = np.array([average_precision(c.recall, c.precision, use_07) if c.n_gt > 0 else np.nan
                   for c in curves])
    return VocResult(ap=ap, npos=npos, tp=tp, fp=fp, best_gt=best_gt, best_iou=best_iou,
                     order=order, curves=curves)


# ----------------------------------------------------------------------------- confusion
def confusion_matrix(gt: GroundTruth, dets: Detections, pairs: Pairs | None = None,
                     conf: float = 0.25, iou_threshold: float = 0.5) -> np.ndarray:
    """(K+1, K+1) counts: rows true class, columns predicted class; index K is background.

    Detections with score >= conf are matched to objects of any class one-to-one, highest
    IoU first, among pairs with IoU >= iou_threshold. Row K counts detections that match
    nothing (false alarms), column K objects that nothing matches (misses). Pairs with a
    difficult object are dropped, and an unmatched difficult object is no miss.
    """
    K = len(gt.classes)
    if pairs is None:
        pairs = overlapping_pairs(gt, dets)
    active = dets.score >= conf
    p = pairs.subset(active[pairs.det] & (pairs.iou >= iou_threshold))
    o = np.argsort(-p.iou, kind="stable")
    d, g = p.det[o], p.gt[o]
    _, i = np.unique(d, return_index=True)
    i = np.sort(i)                     # each detection's best pair, still by IoU
    d, g = d[i], g[i]
    _, i = np.unique(g, return_index=True)
    d, g = d[i], g[i]                  # each object keeps its best detection
    counted = ~gt.difficult[g]
    matrix = np.zeros((K + 1, K + 1), np.int64)
    np.add.at(matrix, (gt.cls[g[counted]], dets.cls[d[counted]]), 1)
    unmatched_det = active.copy()
    unmatched_det[d] = False
    np.add.at(matrix[K], dets.cls[unmatched_det], 1)
    unmatched_gt = ~gt.difficult
    unmatched_gt[g] = False
    np.add.at(matrix[:, K], gt.cls[unmatched_gt], 1)
    return matrix


# ----------------------------------------------------------------------------- COCO export
def coco_ground_truth_json(gt: GroundTruth) -> dict:
    """The COCO ground-truth dict that makes pycocotools agree with `coco_evaluate`.

    Image ids are 1 + the VOC-set index, category ids 1 + the class index, annotation ids
    count from 1 in file order; area = w*h; iscrowd = difficult.
    """
    return {
        "images": [{"id": i + 1} for i in range(gt.n_images)],
        "categories": [{"id": k + 1, "name": c} for k, c in enumerate(gt.classes)],
        "annotations": [{"id": j + 1, "image_id": i + 1, "category_id": c + 1,
                         "bbox": b, "area": b[2] * b[3], "iscrowd": int(d)}
                        for j, (i, c, b, d) in enumerate(zip(gt.image.tolist(), gt.cls.tolist(),
                                                             gt.boxes.tolist(),
                                                             gt.difficult.tolist()))],
    }


def coco_results_json(dets: Detections) -> list[dict]:
    """The detections as pycocotools results (numeric ids as in `coco_ground_truth_json`)."""
    return [{"image_id": i + 1, "category_id": c + 1, "bbox": b, "score": s}
            for i, c, b, s in zip(dets.image.tolist(), dets.cls.tolist(), dets.boxes.tolist(),
                                  dets.score.tolist())]
