"""Box helpers torchvision.ops lacks: batched (per-image) IoU for the loss's ignore threshold."""
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
