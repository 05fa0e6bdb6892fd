"""The optimiser, the learning-rate schedule and the weight average of a training run.

The learning rate is a pure function of the position in training, counted in epochs
(`lr_factor`), so a resumed run continues on exactly the same schedule and a batch-size
change (freeze phase, --auto-batch) does not bend it.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn

from .config import TrainConfig


class ModelEMA:
    """Exponential moving average of weights (and BN statistics), decay ramping up to 0.9999."""

    def __init__(self, model: nn.Module, decay: float = 0.9999, tau: float = 2000.0):
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.decay, self.tau, self.updates = decay, tau, 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = self.decay * (1.0 - math.exp(-self.updates / self.tau))
        src = model.state_dict()
        for k, v in self.module.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(src[k].detach().to(v.dtype), alpha=1.0 - d)
            else:
                v.copy_(src[k])


def lr_factor(cfg: TrainConfig, t: float, warm_step: float) -> float:
    """Learning-rate multiplier at training position `t` (epochs, fractional).

    `warm_step` is one optimiser step in epochs: warm-up ramps linearly so that the first
    step already has a non-zero rate.
    """
    e = cfg.epochs
    if cfg.scheduler == "onecycle":  # its own warm-up: cosine up for 30%, then cosine down
        lo, end, peak = 1 / 25, 1 / 25 / 1e4, 0.3 * e
        if t < peak:
            return lo + (1 - lo) * (1 - math.cos(math.pi * t / peak)) / 2
        return end + (1 - end) * (1 + math.cos(math.pi * min(1.0, (t - peak) / (e - peak)))) / 2
    if cfg.scheduler == "cosine":
        period = cfg.t_max or e
        f = cfg.lr_final + (1 - cfg.lr_final) * (1 + math.cos(math.pi * min(t, period) / period)) / 2
    else:  # multistep: by whole epochs
        milestones = cfg.milestones or [0.8 * e, 0.9 * e]
        f = cfg.gamma ** sum(1 for m in milestones if math.floor(t) >= m)
    if cfg.warmup_epochs > 0 and t < cfg.warmup_epochs:
        f *= min(1.0, (t + warm_step) / cfg.warmup_epochs)
    return f


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """SGD (Nesterov) / Adam / AdamW; weight decay on conv weights only, not BN or biases."""
    decay, no_decay = [], []
    for p in model.parameters():
        (decay if p.ndim > 1 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    lr = cfg.lr
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(groups, lr=lr, momentum=cfg.momentum, nesterov=True)
    elif cfg.optimizer == "adam":
        opt = torch.optim.Adam(groups, lr=lr, betas=(cfg.momentum, 0.999))
    else:
        opt = torch.optim.AdamW(groups, lr=lr, betas=(cfg.momentum, 0.999))
    for g in opt.param_groups:
        g["initial_lr"] = lr
    return opt
