"""Training state that has to come back exactly: the random generators (saved in last.pt so a
resumed run draws the same) and an epoch's starting point (kept in host memory under
--auto-batch, so an epoch cut short by CUDA out-of-memory is redone from where it began, not
on top of the optimiser steps it had already taken)."""
from __future__ import annotations

import contextlib
import copy
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:  # the trainer holds the state; this module only names its type
    from .trainer import Trainer


def rng_state() -> dict:
    """Every random generator's state (saved in last.pt so a resumed run draws the same)."""
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
             "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        with contextlib.suppress(Exception):  # another GPU count: nothing sensible to restore
            torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def cpu_copy(obj: Any) -> Any:
    """A deep copy of nested dicts, lists and tuples with every tensor cloned into host memory
    (a copy on the GPU would need the memory that just ran out)."""
    if torch.is_tensor(obj):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: cpu_copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(cpu_copy(v) for v in obj)
    return copy.deepcopy(obj)


@dataclass
class EpochStart:
    """What an epoch's optimiser steps change, as it was when the epoch began."""

    model: dict
    optimizer: dict
    scaler: dict
    ema: dict | None
    ema_updates: int
    bn_forwards: int
    rng: dict

    @classmethod
    def of(cls, t: "Trainer") -> "EpochStart":
        ema = t.ema
        return cls(cpu_copy(t.model.state_dict()), cpu_copy(t.optimizer.state_dict()),
                   cpu_copy(t.scaler.state_dict()),
                   None if ema is None else cpu_copy(ema.module.state_dict()),
                   0 if ema is None else ema.updates, t.bn_forwards, cpu_copy(rng_state()))

    def restore(self, t: "Trainer") -> None:
        """Put the weights, BN statistics, optimiser, AMP scaler, EMA, BN warm-up count and
        random generators back as they were (load_state_dict copies onto their devices)."""
        t.optimizer.zero_grad(set_to_none=True)
        t.model.load_state_dict(self.model)
        # A copy: on the CPU the optimiser would adopt these very tensors and step them in
        # place, and a second out-of-memory in the same epoch would restore those.
        t.optimizer.load_state_dict(cpu_copy(self.optimizer))
        t.scaler.load_state_dict(self.scaler)
        if t.ema is not None and self.ema is not None:
            t.ema.module.load_state_dict(self.ema)
            t.ema.updates = self.ema_updates
        t.bn_forwards = self.bn_forwards
        set_rng_state(self.rng)
