"""The pixels of a boolean mask as a list, without listing them.

Subjects are placed on a random pixel of a floor mask, `np.argwhere(mask)[k]` for a drawn k.
With a calibrated lens the mask is the whole footprint of the frame in its ideal canvas,
hundreds of thousands of pixels: listing them (and filtering the list by row) for every
image cost more than the placement itself. MaskPoints answers the same k-th pixel from the
mask's per-row counts, so the draws and the pixels drawn are the same.
"""
from __future__ import annotations

import math

import numpy as np


class MaskPoints:
    """`np.argwhere(mask)` (row-major (y, x) pairs) of the mask's rows from `first_row` on."""

    def __init__(self, mask: np.ndarray, first_row: int = 0,
                 row_starts: np.ndarray | None = None) -> None:
        self.mask = mask
        # row_starts[r]: how many pixels the rows above r hold (one more entry at the end)
        self.row_starts = row_starts if row_starts is not None else np.concatenate(
            [[0], np.cumsum(np.count_nonzero(mask, axis=1))])
        self.first_row = min(max(first_row, 0), mask.shape[0])
        self.offset = int(self.row_starts[self.first_row])

    def __len__(self) -> int:
        return int(self.row_starts[-1]) - self.offset

    def __getitem__(self, k: int) -> np.ndarray:
        """The k-th pixel, as np.argwhere lists it: array([y, x])."""
        if not 0 <= k < len(self):
            raise IndexError(k)
        i = self.offset + k
        y = int(np.searchsorted(self.row_starts, i, side="right")) - 1
        x = int(np.flatnonzero(self.mask[y])[i - int(self.row_starts[y])])
        return np.array([y, x])

    def below(self, row: float) -> "MaskPoints":
        """The pixels whose row is greater than `row` (what `pts[pts[:, 0] > row]` keeps)."""
        first = math.floor(row) + 1 if math.isfinite(row) else (0 if row < 0 else self.mask.shape[0])
        return MaskPoints(self.mask, max(first, self.first_row), self.row_starts)
