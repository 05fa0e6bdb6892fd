"""YOLOv3 and YOLOv3-tiny, layer for layer as darknet's yolov3.cfg and yolov3-tiny.cfg.

A model is an explicit list of layer definitions in cfg order (so `model.layers[i]` is the
cfg's layer i and darknet `.weights` load in that order) run by one small interpreter.

Outputs:
- train mode: `forward(x)` returns the raw head outputs, a list (one per YOLO head, cfg order:
  coarsest stride first) of tensors [B, A, H, W, 5 + C] holding (tx, ty, tw, th, objectness
  logit, class logits...).
- eval mode: `forward(x)` returns decoded predictions [B, N, 5 + C], N = sum of A*H*W over
  heads in the same order, each row (x1, y1, x2, y2, objectness, class probabilities...) with
  corners in input pixels and sigmoid scores (class probabilities are not multiplied by the
  objectness; a detection's score is obj * cls). No NMS.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import MODEL_NAMES
from .anchors import DEFAULT_MASKS, default_anchors, split_masks


# ---- layer definitions (one per cfg section) ---------------------------------------------

@dataclass(frozen=True)
class Conv:
    """[convolutional]: batch norm + leaky ReLU(0.1), or a linear conv with bias (heads)."""
    filters: int
    size: int
    stride: int = 1
    bn: bool = True


@dataclass(frozen=True)
class Shortcut:
    """[shortcut] from=-3: add the output of a previous layer (relative index)."""
    source: int


@dataclass(frozen=True)
class Route:
    """[route] layers=...: concatenate outputs of earlier layers (relative or absolute)."""
    sources: tuple[int, ...]


@dataclass(frozen=True)
class Upsample:
    """[upsample] stride=2: nearest neighbour."""
    stride: int = 2


@dataclass(frozen=True)
class MaxPool:
    """[maxpool] size, stride."""
    size: int
    stride: int


@dataclass(frozen=True)
class Yolo:
    """[yolo] mask=...: a detection head over the anchors in `mask`."""
    mask: tuple[int, ...]


LayerDef = Conv | Shortcut | Route | Upsample | MaxPool | Yolo


def darknet53_layers() -> list[LayerDef]:
    """Darknet-53 without its classifier: yolov3.cfg layers 0-74."""
    layers: list[LayerDef] = [Conv(32, 3)]
    for filters, blocks in ((64, 1), (128, 2), (256, 8), (512, 8), (1024, 4)):
        layers.append(Conv(filters, 3, stride=2))
        for _ in range(blocks):
            layers += [Conv(filters // 2, 1), Conv(filters, 3), Shortcut(-3)]
    return layers


def yolov3_layers(num_classes: int, masks: Sequence[Sequence[int]]) -> list[LayerDef]:
    """yolov3.cfg's 107 layers."""
    def out(m):
        return len(m) * (5 + num_classes)

    layers = darknet53_layers()  # 0-74; layer 36 is stride 8, 61 stride 16, 74 stride 32
    layers += [
        Conv(512, 1), Conv(1024, 3), Conv(512, 1), Conv(1024, 3), Conv(512, 1),  # 75-79
        Conv(1024, 3), Conv(out(masks[0]), 1, bn=False), Yolo(tuple(masks[0])),  # 80-82
        Route((-4,)), Conv(256, 1), Upsample(), Route((-1, 61)),  # 83-86
        Conv(256, 1), Conv(512, 3), Conv(256, 1), Conv(512, 3), Conv(256, 1),  # 87-91
        Conv(512, 3), Conv(out(masks[1]), 1, bn=False), Yolo(tuple(masks[1])),  # 92-94
        Route((-4,)), Conv(128, 1), Upsample(), Route((-1, 36)),  # 95-98
        Conv(128, 1), Conv(256, 3), Conv(128, 1), Conv(256, 3), Conv(128, 1),  # 99-103
        Conv(256, 3), Conv(out(masks[2]), 1, bn=False), Yolo(tuple(masks[2])),  # 104-106
    ]
    assert len(layers) == 107
    return layers


def yolov3_tiny_layers(num_classes: int, masks: Sequence[Sequence[int]]) -> list[LayerDef]:
    """yolov3-tiny.cfg's 24 layers."""
    def out(m):
        return len(m) * (5 + num_classes)

    layers: list[LayerDef] = [
        Conv(16, 3), MaxPool(2, 2), Conv(32, 3), MaxPool(2, 2),  # 0-3
        Conv(64, 3), MaxPool(2, 2), Conv(128, 3), MaxPool(2, 2),  # 4-7
        Conv(256, 3), MaxPool(2, 2), Conv(512, 3), MaxPool(2, 1),  # 8-11
        Conv(1024, 3), Conv(256, 1), Conv(512, 3),  # 12-14
        Conv(out(masks[0]), 1, bn=False), Yolo(tuple(masks[0])),  # 15-16
        Route((-4,)), Conv(128, 1), Upsample(), Route((-1, 8)),  # 17-20
        Conv(256, 3), Conv(out(masks[1]), 1, bn=False), Yolo(tuple(masks[1])),  # 21-23
    ]
    assert len(layers) == 24
    return layers


# Layers covered by darknet's pretrained partial files (`darknet partial ... N`): layers[:N].
BACKBONE_CUTOFF = {"yolov3": 74, "yolov3-tiny": 15}  # darknet53.conv.74, yolov3-tiny.conv.15
LAYER_BUILDERS = {"yolov3": yolov3_layers, "yolov3-tiny": yolov3_tiny_layers}


# ---- modules -----------------------------------------------------------------------------

class ConvBlock(nn.Module):
    """Conv2d (+ BatchNorm2d + LeakyReLU(0.1)), 'same' padding as darknet's pad=1."""

    def __init__(self, in_channels: int, d: Conv):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, d.filters, d.size, d.stride, d.size // 2, bias=not d.bn)
        # momentum 0.03 as YOLOv5 (darknet's rolling average is 0.01).
        self.bn = nn.BatchNorm2d(d.filters, momentum=0.03) if d.bn else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.bn is not None:
            x = F.leaky_relu(self.bn(x), 0.1)
        return x


class ShortcutLayer(nn.Module):
    """Residual add of an earlier layer's output (absolute index)."""

    def __init__(self, source: int):
        super().__init__()
        self.source = source

    def forward(self, x: torch.Tensor, outputs: list) -> torch.Tensor:
        return x + outputs[self.source]


class RouteLayer(nn.Module):
    """Channel concatenation of earlier layers' outputs (absolute indices, cfg order)."""

    def __init__(self, sources: tuple[int, ...]):
        super().__init__()
        self.sources = sources

    def forward(self, x: torch.Tensor, outputs: list) -> torch.Tensor:
        if len(self.sources) == 1:
            return outputs[self.sources[0]]
        return torch.cat([outputs[i] for i in self.sources], 1)


class MaxPoolLayer(nn.Module):
    """Darknet max-pool: windows past the edge see only valid pixels.

    Darknet pads size-1 pixels at the bottom/right with -inf; for the tiny's size-2
    stride-1 pool this keeps 13x13 at 13x13. Repeating the last row and column gives exactly
    that max (the padded pixel repeats one already in its window). It is built from slices
    and concatenation, not `F.pad(mode="replicate")`: torch.compile (2.14) miscompiles that
    pad's backward, and slices export to ONNX as plainly.
    """

    def __init__(self, size: int, stride: int):
        super().__init__()
        self.size, self.stride = size, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            p = self.size - 1
            x = torch.cat([x, x[:, :, :, -1:].expand(-1, -1, -1, p)], 3)
            x = torch.cat([x, x[:, :, -1:, :].expand(-1, -1, p, -1)], 2)
            return F.max_pool2d(x, self.size, 1)
        return F.max_pool2d(x, self.size, self.stride, ceil_mode=True)


MAX_LOG_WH = math.log(1e3)  # cap on tw/th before exp: a wild prediction cannot overflow


def decode_boxes(p: torch.Tensor, anchors: torch.Tensor, stride: int) -> torch.Tensor:
    """Raw (tx, ty, tw, th) [B, A, H, W, 4] → (x1, y1, x2, y2) input pixels, darknet's way.

    Centre = (sigmoid(txy) + cell) * stride, size = exp(twh) * anchor; `anchors` [A, 2] px.
    """
    _, a, h, w, _ = p.shape
    gy, gx = torch.meshgrid(torch.arange(h, device=p.device), torch.arange(w, device=p.device),
                            indexing="ij")
    grid = torch.stack((gx, gy), -1).to(p.dtype)  # [H, W, 2]
    xy = (p[..., :2].sigmoid() + grid) * stride
    wh = p[..., 2:4].clamp(max=MAX_LOG_WH).exp() * anchors.view(1, a, 1, 1, 2)
    return torch.cat((xy - wh / 2, xy + wh / 2), -1)


class YoloLayer(nn.Module):
    """A YOLO head: reshapes the preceding conv's output and decodes it in eval mode."""

    def __init__(self, anchors: torch.Tensor, stride: int, num_classes: int):
        super().__init__()
        self.register_buffer("anchors", anchors.clone().float(), persistent=False)  # [A, 2] px
        self.stride = stride
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        a = self.anchors.shape[0]
        return x.view(b, a, 5 + self.num_classes, h, w).permute(0, 1, 3, 4, 2).contiguous()

    def decode(self, p: torch.Tensor) -> torch.Tensor:
        """Raw [B, A, H, W, 5+C] → [B, A*H*W, 5+C] (x1, y1, x2, y2 px, obj, cls... probs)."""
        b, a, h, w, n = p.shape
        boxes = decode_boxes(p[..., :4], self.anchors.to(p.dtype), self.stride)
        return torch.cat((boxes, p[..., 4:].sigmoid()), -1).view(b, a * h * w, n)


class YOLOv3(nn.Module):
    """A darknet YOLO network built from a list of layer definitions (see module doc)."""

    def __init__(self, name: str, defs: list[LayerDef], num_classes: int, anchors: torch.Tensor,
                 masks: Sequence[Sequence[int]], backbone_cutoff: int, in_channels: int = 3):
        super().__init__()
        self.name = name
        self.num_classes = num_classes
        self.defs = list(defs)
        self.masks = tuple(tuple(m) for m in masks)
        self.backbone_cutoff = backbone_cutoff
        self.register_buffer("anchors", anchors.clone().float(), persistent=False)  # [K, 2] px

        layers, channels, scales, saved = [], [], [], set()
        c, s = in_channels, 1
        for i, d in enumerate(defs):
            if isinstance(d, Conv):
                layers.append(ConvBlock(c, d))
                c, s = d.filters, s * d.stride
            elif isinstance(d, Shortcut):
                src = i + d.source
                assert channels[src] == c and scales[src] == s, f"shortcut {i}: shape mismatch"
                saved.add(src)
                layers.append(ShortcutLayer(src))
            elif isinstance(d, Route):
                srcs = tuple(i + r if r < 0 else r for r in d.sources)
                assert len({scales[j] for j in srcs}) == 1, f"route {i}: scale mismatch"
                saved.update(srcs)
                layers.append(RouteLayer(srcs))
                c, s = sum(channels[j] for j in srcs), scales[srcs[0]]
            elif isinstance(d, Upsample):
                layers.append(nn.Upsample(scale_factor=d.stride, mode="nearest"))
                s //= d.stride
            elif isinstance(d, MaxPool):
                layers.append(MaxPoolLayer(d.size, d.stride))
                s *= d.stride
            elif isinstance(d, Yolo):
                assert c == len(d.mask) * (5 + num_classes), f"yolo {i}: head has {c} channels"
                layers.append(YoloLayer(self.anchors[list(d.mask)], s, num_classes))
            else:
                raise TypeError(f"layer {i}: unknown definition {d!r}")
            channels.append(c)
            scales.append(s)
        self.layers = nn.ModuleList(layers)
        self._saved = frozenset(saved)
        self.heads = [m for m in layers if isinstance(m, YoloLayer)]
        self.strides = tuple(h.stride for h in self.heads)
        self.head_conv_indices = tuple(i - 1 for i, d in enumerate(defs) if isinstance(d, Yolo))
        self.init_head_biases()

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        """Raw head outputs in train mode, decoded [B, N, 5+C] predictions in eval mode."""
        raw = self.forward_raw(x)
        return raw if self.training else self.decode(raw)

    def forward_raw(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Run the network; return each head's raw [B, A, H, W, 5+C] tensor."""
        outputs: list[torch.Tensor | None] = []
        heads = []
        for i, layer in enumerate(self.layers):
            if isinstance(layer, (ShortcutLayer, RouteLayer)):
                x = layer(x, outputs)
            elif isinstance(layer, YoloLayer):
                heads.append(layer(x))
            else:
                x = layer(x)
            outputs.append(x if i in self._saved else None)
        return heads

    def decode(self, raw: list[torch.Tensor]) -> torch.Tensor:
        """Decode raw head outputs into float32 [B, N, 5+C] (x1, y1, x2, y2 px, obj, cls probs).

        Always float32: under bf16 autocast pixel coordinates would be rounded to ~2 px.
        """
        return torch.cat([h.decode(p.float()) for h, p in zip(self.heads, raw)], 1)

    def backbone_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of the layers darknet's partial backbone file covers (for freezing)."""
        for layer in self.layers[: self.backbone_cutoff]:
            yield from layer.parameters()

    @torch.no_grad()
    def init_head_biases(self, img_size: int = 416) -> None:
        """Prior biases on the head convs: ~8 objects per image, class probability ~0.6/C.

        Without this every one of the ~10k cells starts at objectness 0.5 and the first
        steps are spent learning "almost everything is background" (YOLOv5 does the same).
        """
        for idx, head in zip(self.head_conv_indices, self.heads):
            bias = self.layers[idx].conv.bias.view(len(head.anchors), 5 + self.num_classes)
            bias[:, 4] = math.log(8 / (img_size / head.stride) ** 2)
            bias[:, 5:] = math.log(0.6 / max(self.num_classes - 0.99, 1e-2))

    def extra_repr(self) -> str:
        return f"name={self.name}, num_classes={self.num_classes}, strides={self.strides}"


def build_model(name: str, num_classes: int, anchors=None, masks=None) -> YOLOv3:
    """Build `yolov3` or `yolov3-tiny` for `num_classes` classes.

    `anchors`: [K, 2] (w, h) input pixels, default darknet's. `masks`: anchor indices per head
    (coarsest first); default the cfg's when `anchors` is None, otherwise an even split of the
    area-sorted anchors, largest to the coarsest head (for tiny that is 3,4,5 / 0,1,2 rather
    than the cfg's 1,2,3, which would leave a k-means anchor unused).
    """
    if name not in LAYER_BUILDERS:
        raise ValueError(f"unknown model {name!r}; expected one of {MODEL_NAMES}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    n_heads = len(DEFAULT_MASKS[name])
    if anchors is None:
        anchor_arr = default_anchors(name)
        masks = DEFAULT_MASKS[name] if masks is None else masks
    else:
        anchor_arr = np.asarray(anchors.cpu() if torch.is_tensor(anchors) else anchors,
                                dtype=np.float64).reshape(-1, 2)
        if masks is None:
            anchor_arr = anchor_arr[np.argsort(anchor_arr.prod(1), kind="stable")]
            masks = split_masks(len(anchor_arr), n_heads)
    masks = tuple(tuple(int(i) for i in m) for m in masks)
    if len(masks) != n_heads or any(not 0 <= i < len(anchor_arr) for m in masks for i in m):
        raise ValueError(f"{name}: masks {masks} do not fit {n_heads} heads and "
                         f"{len(anchor_arr)} anchors")
    defs = LAYER_BUILDERS[name](num_classes, masks)
    return YOLOv3(name, defs, num_classes, torch.tensor(anchor_arr, dtype=torch.float32), masks,
                  BACKBONE_CUTOFF[name])


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
