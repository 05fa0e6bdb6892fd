"""YOLOv3 loss: best-anchor assignment, objectness with an ignore threshold, class BCE, box loss.

Targets: a float tensor [M, 6] or [M, 7], one row per ground-truth box:
    (batch_index, class, x1, y1, x2, y2[, ignore])
with corners in input (letterboxed) pixels, continuous 0-based. `ignore` > 0 marks a
`difficult` object: it is neither a positive nor a negative (its anchor cell and any
prediction overlapping it above the ignore threshold are left out of the objectness loss).

Every box is assigned to the anchor with the best width/height IoU among all anchors the
heads use (across scales), in the grid cell holding its centre; `anchor_thresh` optionally
adds every other anchor at or above that IoU (AlexeyAB darknet's iou_thresh).

The loss is a batch mean: box = mean over positives, cls = mean over positives and classes,
obj = per head the mean over all cells (ignored cells count zero) times a per-stride balance
weight, summed over heads; total = box_gain*box + obj_gain*obj + cls_gain*cls.
Multiply by the batch size for darknet/YOLOv5-scale gradients (SGD recipes with lr 0.01).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import (complete_box_iou_loss, distance_box_iou_loss,
                             generalized_box_iou_loss, sigmoid_focal_loss)

from . import BOX_LOSSES
from .boxes import batched_box_iou, pad_per_image
from .model import MAX_LOG_WH, decode_boxes

_IOU_LOSS = {"giou": generalized_box_iou_loss, "diou": distance_box_iou_loss,
             "ciou": complete_box_iou_loss}


@dataclass
class LossConfig:
    """Loss settings (see module doc)."""
    # mse: darknet tx,ty,tw,th with its 2 - w*h scale (default: robust from step one) |
    # giou | diou | ciou: with exp-sized boxes their gradient fades for far-off sizes, so
    # they want a warm-up before full learning rates.
    box_loss: str = "mse"
    ignore_thresh: float = 0.5
    label_smoothing: float = 0.0  # class targets 1 - eps/2 and eps/2
    focal_gamma: float = 0.0  # > 0: focal BCE (no alpha) for objectness and classes
    anchor_thresh: float | None = None  # extra positive anchors with wh-IoU >= this
    box_gain: float = 0.05
    obj_gain: float = 1.0
    cls_gain: float = 0.5
    # Per-stride objectness weights: a fine grid has more cells, so a smaller per-cell mean.
    obj_balance: dict[int, float] = field(default_factory=lambda: {8: 4.0, 16: 1.0, 32: 0.4})


def class_targets(classes: torch.Tensor, num_classes: int, smoothing: float = 0.0) -> torch.Tensor:
    """One-hot [P, C] BCE targets with label smoothing: 1 - eps/2 for the class, eps/2 else."""
    t = torch.full((len(classes), num_classes), smoothing / 2, device=classes.device)
    t[torch.arange(len(classes), device=classes.device), classes.long()] = 1.0 - smoothing / 2
    return t


class YoloLoss(nn.Module):
    """YOLOv3 loss over the raw head outputs of `detector.model.model.YOLOv3` (train mode)."""

    def __init__(self, anchors: torch.Tensor, masks: Sequence[Sequence[int]],
                 strides: Sequence[int], num_classes: int, config: LossConfig | None = None):
        super().__init__()
        self.config = config or LossConfig()
        if self.config.box_loss not in BOX_LOSSES:
            raise ValueError(f"box_loss must be one of {BOX_LOSSES}, got {self.config.box_loss!r}")
        self.num_classes = num_classes
        self.strides = tuple(int(s) for s in strides)
        used = sorted({int(i) for m in masks for i in m})
        head_of, slot_of = [], []
        for k in used:
            h = next(h for h, m in enumerate(masks) if k in m)
            head_of.append(h)
            slot_of.append(list(masks[h]).index(k))
        anchors = torch.as_tensor(anchors, dtype=torch.float32)
        width = max(len(m) for m in masks)
        per_head = torch.zeros(len(masks), width, 2)
        for h, m in enumerate(masks):
            per_head[h, : len(m)] = anchors[list(m)]
        # Buffers, so that .to(device) moves them once.
        self.register_buffer("anchors", anchors[used].clone(), persistent=False)  # [K, 2] px
        self.register_buffer("head_of", torch.tensor(head_of), persistent=False)  # [K]
        self.register_buffer("slot_of", torch.tensor(slot_of), persistent=False)  # [K]
        self.register_buffer("head_anchors", per_head, persistent=False)  # [heads, A, 2] px

    @classmethod
    def from_model(cls, model, config: LossConfig | None = None) -> "YoloLoss":
        """The loss for `model`'s anchors, masks, strides and classes."""
        return cls(model.anchors.cpu(), model.masks, model.strides, model.num_classes, config)

    def forward(self, outputs: list[torch.Tensor], targets: torch.Tensor
                ) -> tuple[torch.Tensor, dict[str, float]]:
        """Total loss and its weighted parts {"box", "obj", "cls", "total"} as floats."""
        cfg = self.config
        device = outputs[0].device
        batch = outputs[0].shape[0]
        t = targets.to(device, torch.float32).reshape(-1, targets.shape[-1] if targets.numel()
                                                      else 6)
        wh = t[:, 4:6] - t[:, 2:4]
        t = t[(wh > 0).all(1)]
        ignored = t[:, 6] > 0 if t.shape[1] > 6 else torch.zeros(len(t), dtype=torch.bool,
                                                                 device=device)
        b, cls, boxes = t[:, 0].long(), t[:, 1].long(), t[:, 2:6]
        cxy, wh = (boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]
        gt_padded, gt_valid = pad_per_image(b, boxes, batch)

        anchors, head_of, slot_of = (x.to(device) for x in (self.anchors, self.head_of,
                                                            self.slot_of))
        iou = _wh_iou(wh, anchors)  # [M, K]
        assign = F.one_hot(iou.argmax(1), len(anchors)).bool() if len(t) else iou.bool()
        if cfg.anchor_thresh is not None:
            assign |= iou >= cfg.anchor_thresh
        m_idx, k_idx = assign.nonzero(as_tuple=True)

        zero = outputs[0].sum() * 0.0
        box_terms, cls_terms, obj = [], [], zero
        for h, p in enumerate(outputs):
            p = p.float()
            _, n_a, gh, gw, _ = p.shape
            stride = self.strides[h]
            head_anchors = self.head_anchors[h, :n_a].to(device)
            in_head = head_of[k_idx] == h
            m, a = m_idx[in_head], slot_of[k_idx[in_head]]
            gi = (cxy[m, 0] / stride).long().clamp(0, gw - 1)
            gj = (cxy[m, 1] / stride).long().clamp(0, gh - 1)

            # Objectness weights: 0 for predictions overlapping any ground truth (difficult
            # included) above the ignore threshold and for difficult objects' own cells.
            with torch.no_grad():
                pred = decode_boxes(p[..., :4], head_anchors, stride).view(batch, -1, 4)
                best = batched_box_iou(pred, gt_padded, gt_valid).amax(2) if len(t) else \
                    torch.zeros(pred.shape[:2], device=device)
                weight = (best <= cfg.ignore_thresh).float().view(batch, n_a, gh, gw)
                tobj = torch.zeros_like(weight)
                diff = ignored[m]
                weight[b[m][diff], a[diff], gj[diff], gi[diff]] = 0.0
                pos = ~diff
                m, a, gi, gj = m[pos], a[pos], gi[pos], gj[pos]
                weight[b[m], a, gj, gi] = 1.0
                tobj[b[m], a, gj, gi] = 1.0
            obj_bce = _bce(p[..., 4], tobj, cfg.focal_gamma)
            obj = obj + cfg.obj_balance.get(stride, 1.0) * (obj_bce * weight).mean()

            if len(m):
                ps = p[b[m], a, gj, gi]
                cell = torch.stack((gi, gj), 1).float()
                box_terms.append(self._box_loss(ps[:, :4], cxy[m] / stride - cell,
                                                wh[m] / stride, head_anchors[a] / stride,
                                                gw * gh))
                tc = class_targets(cls[m], self.num_classes, cfg.label_smoothing)
                cls_terms.append(_bce(ps[:, 5:], tc, cfg.focal_gamma).mean(1))

        box = torch.cat(box_terms).mean() if box_terms else zero
        cls_loss = torch.cat(cls_terms).mean() if cls_terms else zero
        parts = torch.stack((cfg.box_gain * box, cfg.obj_gain * obj, cfg.cls_gain * cls_loss))
        total = parts.sum()
        values = parts.detach().float().tolist()  # one device sync for all three
        return total, {"box": values[0], "obj": values[1], "cls": values[2],
                       "total": sum(values)}

    def _box_loss(self, pt: torch.Tensor, txy: torch.Tensor, twh: torch.Tensor,
                  anchor_wh: torch.Tensor, grid_area: int) -> torch.Tensor:
        """Per-positive box loss; positions relative to the cell, sizes in grid units."""
        if self.config.box_loss == "mse":
            target = torch.cat((txy, torch.log(twh / anchor_wh)), 1)
            pred = torch.cat((pt[:, :2].sigmoid(), pt[:, 2:4]), 1)
            # darknet's scale 2 - w*h (w, h as image fractions): small boxes weigh up to 2x.
            scale = 2.0 - twh[:, 0] * twh[:, 1] / grid_area
            return scale * ((pred - target) ** 2).sum(1)
        pxy = pt[:, :2].sigmoid()
        # Clamp the forward value only: a hard clamp would zero the gradient of a box that
        # blew up and leave it stuck there for good.
        twh_raw = pt[:, 2:4]
        twh_raw = twh_raw - (twh_raw - twh_raw.clamp(-MAX_LOG_WH, MAX_LOG_WH)).detach()
        pwh = twh_raw.exp() * anchor_wh
        pred = torch.cat((pxy - pwh / 2, pxy + pwh / 2), 1)
        target = torch.cat((txy - twh / 2, txy + twh / 2), 1)
        return _IOU_LOSS[self.config.box_loss](pred, target, reduction="none")


def _bce(logits: torch.Tensor, targets: torch.Tensor, gamma: float) -> torch.Tensor:
    """Element-wise BCE with logits, focal-weighted by (1 - p_t)^gamma when gamma > 0."""
    if gamma > 0:
        return sigmoid_focal_loss(logits, targets, alpha=-1, gamma=gamma, reduction="none")
    return F.binary_cross_entropy_with_logits(logits, targets, reduction="none")


def _wh_iou(wh: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    inter = torch.min(wh[:, None], anchors[None]).prod(2)
    return inter / (wh.prod(1)[:, None] + anchors.prod(1)[None] - inter)
