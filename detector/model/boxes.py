"""Box helpers torchvision.ops lacks: boxes grouped per image and their batched IoU (the
loss's ignore threshold)."""
from __future__ import annotations

import torch


def batched_box_iou(a: torch.Tensor, b: torch.Tensor, b_valid: torch.Tensor | None = None
                    ) -> torch.Tensor:
    """IoU [B, N, G] of xyxy boxes a [B, N, 4] and b [B, G, 4] image by image; invalid b → 0."""
    lt = torch.max(a[:, :, None, :2], b[:, None, :, :2])
    rb = torch.min(a[:, :, None, 2:], b[:, None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[..., 2:] - a[..., :2]).clamp(min=0).prod(-1)
    area_b = (b[..., 2:] - b[..., :2]).clamp(min=0).prod(-1)
    iou = inter / (area_a[:, :, None] + area_b[:, None, :] - inter).clamp(min=1e-9)
    if b_valid is not None:
        iou = iou * b_valid[:, None, :]
    return iou


def pad_per_image(b: torch.Tensor, boxes: torch.Tensor, batch: int
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Group boxes by image: [B, G, 4] padded with zeros and a [B, G] validity mask."""
    counts = torch.bincount(b, minlength=batch) if len(b) else torch.zeros(batch, dtype=torch.long,
                                                                          device=boxes.device)
    g = int(counts.max()) if len(b) else 0
    padded = boxes.new_zeros(batch, max(g, 1), 4)
    valid = torch.zeros(batch, max(g, 1), dtype=torch.bool, device=boxes.device)
    if len(b):
        order = torch.argsort(b, stable=True)
        starts = torch.cumsum(counts, 0) - counts
        slot = torch.arange(len(b), device=b.device) - starts[b[order]]
        padded[b[order], slot] = boxes[order]
        valid[b[order], slot] = True
    return padded, valid
