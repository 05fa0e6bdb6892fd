"""VOC data to batches: `YoloDataset` (letterboxed, optionally augmented samples), the
seeded `BatchSampler` and `build_loader`.

- `difficult` objects are kept with ignore = 1: the loss neither rewards nor penalises them.
- Each sample is fully determined by (seed, epoch, index, size), whatever the number of
  workers: the batch sampler hands those keys to the workers.

Batches: `collate` gives (images uint8 [B, 3, S, S], targets float32 [M, 7] rows
(batch_index, class, x1, y1, x2, y2, ignore) in input pixels, infos list of dicts); images
stay uint8 until the GPU (4x less copying); `images_to_float` makes them float in [0, 1].
"""
from __future__ import annotations

import logging
import math
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, NamedTuple, Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm import tqdm

from synth.cores import default_workers
from synth.errors import InputError
from synth.imageio import read_image

from .augment import AugmentConfig, Augmenter, mixup, mosaic
from .letterbox import boxes_to_letterbox, letterbox
from .sets import DetectionData

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- the dataset
class SampleKey(NamedTuple):
    """What a worker needs to make one sample reproducibly."""

    index: int
    epoch: int
    size: int


class YoloDataset(Dataset):
    """Samples (image uint8 [3, S, S], targets float32 [N, 6], info) from a DetectionData.

    targets rows: (class, x1, y1, x2, y2, ignore) in input pixels; info: {"index", "id",
    "root", "size": (w, h) of the real image, "scale", "pad"} where scale/pad are the
    letterbox (None for augmented samples). `augment=None` is letterbox only (evaluation,
    and the "overfit 10 images" check). Indexing takes an int (uses `set_epoch`'s epoch
    and `img_size`) or a SampleKey.
    """

    def __init__(self, data: DetectionData, img_size: int = 416,
                 augment: AugmentConfig | None = None, seed: int = 0):
        if len(data) == 0:
            raise InputError(f"{data.roots[0] if data.roots else '?'}: no images to load")
        self.data = data
        self.img_size = int(img_size)
        self.augment = augment
        self.seed = int(seed) & 0xFFFFFFFF
        self.epoch = 0
        self._aug = Augmenter(augment) if augment is not None else None
        self._cache: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # buf, offsets, hw

    def __len__(self) -> int:
        return len(self.data)

    def set_epoch(self, epoch: int) -> None:
        """Epoch used by integer indexing (loaders pass it in the SampleKey instead)."""
        self.epoch = int(epoch)

    def __getitem__(self, key: int | SampleKey | tuple) -> tuple[torch.Tensor, torch.Tensor, dict]:
        index, epoch, size = (key if isinstance(key, tuple)
                              else SampleKey(int(key), self.epoch, self.img_size))
        index = int(index)
        if self._aug is None:
            img, boxes, meta, scale, pad = self._letterboxed(index, size)
        else:
            rng = np.random.default_rng((self.seed, int(epoch), index))
            img, boxes, meta = self._augmented(index, int(epoch), size, rng)
            scale, pad = None, None
        targets = np.concatenate([meta[:, :1], boxes, meta[:, 1:]], 1).astype(np.float32)
        image = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        w, h = (int(v) for v in self.data.img_size[index])
        info = {"index": index, "id": str(self.data.stems[index]),
                "root": str(self.data.roots[self.data.set_index[index]]), "size": (w, h),
                "scale": scale, "pad": pad}
        return image, torch.from_numpy(targets).reshape(-1, 6), info

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(RGB image, boxes [k, 4] float32 in its pixels, meta [k, 2] (class, ignore))."""
        boxes, labels, ignore = self.data.objects(index)
        ew, eh = (int(v) for v in self.data.img_size[index])
        if self._cache is not None:
            buf, offsets, hw = self._cache
            h, w = (int(v) for v in hw[index])
            img = buf[offsets[index]:offsets[index + 1]].reshape(h, w, 3)
        else:
            img = read_image(str(self.data.paths[index]))
            h, w = img.shape[:2]
        if (w, h) != (ew, eh):  # a cached (shrunk) image, or an unchecked set's <size> is off
            boxes = boxes * np.array([w / ew, h / eh, w / ew, h / eh], np.float32)
        meta = np.stack([labels, ignore], 1).astype(np.float32).reshape(-1, 2)
        return img, boxes.astype(np.float32).reshape(-1, 4), meta

    def cache_images(self, max_side: int | None = None, threads: int = 8,
                     progress: bool = True) -> int:
        """Decode every image once into RAM, shrunk to a longer side of at most `max_side`
        (default `img_size`; pass the largest multi-scale size). Returns the bytes used.

        One flat buffer, filled before the loader forks its workers, so they share it; it
        removes JPEG decoding (most of a mosaic sample's cost) from every epoch after this.
        """
        side = int(max_side or self.img_size)
        sizes = self.data.img_size.astype(np.float64)
        shrink = np.minimum(1.0, side / sizes.max(1))
        hw = np.maximum(1, np.round(sizes[:, ::-1] * shrink[:, None])).astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(hw[:, 0] * hw[:, 1] * 3)])
        buf = np.empty(int(offsets[-1]), np.uint8)
        log.info("caching %d images in RAM (%.2f GB, longer side <= %d)", len(self),
                 buf.nbytes / 1e9, side)

        def fill(i: int) -> None:
            img = read_image(str(self.data.paths[i]))
            h, w = (int(v) for v in hw[i])
            if img.shape[:2] != (h, w):
                small = w < img.shape[1] / 2 or h < img.shape[0] / 2
                img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if small
                                 else cv2.INTER_LINEAR)
            buf[offsets[i]:offsets[i + 1]] = img.reshape(-1)

        with ThreadPoolExecutor(max(1, threads)) as pool:
            list(tqdm(pool.map(fill, range(len(self))), total=len(self), disable=not progress,
                      desc="cache", unit="img"))
        buf.flags.writeable = False  # samples only ever read it (a write would be a bug)
        self._cache = (buf, offsets, hw)
        return buf.nbytes

    def _letterboxed(self, index: int, size: int):
        img, boxes, meta = self.load(index)
        img, scale, pad = letterbox(img, size)
        return img, boxes_to_letterbox(boxes, scale, pad).astype(np.float32), meta, scale, pad

    def _augmented(self, index: int, epoch: int, size: int, rng: np.random.Generator):
        cfg = self.augment
        mixing = cfg.mosaic_on(epoch)
        img, boxes, meta = self._geometric(index, size, rng, mixing)
        if mixing and cfg.mixup > 0 and rng.random() < cfg.mixup:
            other = int(rng.integers(len(self)))
            img2, boxes2, meta2 = self._geometric(other, size, rng, mixing)
            img = mixup(img, img2, float(rng.beta(32.0, 32.0)))
            boxes, meta = np.concatenate([boxes, boxes2]), np.concatenate([meta, meta2])
        img, boxes, rows = self._aug.colour_flip(img, boxes, np.arange(len(boxes)), rng)
        return img, boxes, meta[rows]

    def _geometric(self, index: int, size: int, rng: np.random.Generator, mixing: bool):
        """Mosaic or letterbox, then the random affine."""
        cfg = self.augment
        if mixing and cfg.mosaic > 0 and rng.random() < cfg.mosaic:
            picks = [index] + [int(i) for i in rng.integers(len(self), size=3)]
            loaded = [self.load(i) for i in picks]
            center = tuple(int(v) for v in rng.integers(size // 4, 3 * size // 4 + 1, size=2))
            img, boxes, rows = mosaic([(im, b) for im, b, _ in loaded], size, center,
                                      cfg.min_visibility, cfg.min_size)
            meta = (np.stack([loaded[t][2][r] for t, r in rows]) if len(rows)
                    else np.zeros((0, 2), np.float32))
        else:
            img, boxes, meta, _, _ = self._letterboxed(index, size)
        img, boxes, rows = self._aug.affine(img, boxes, np.arange(len(boxes)), rng)
        return img, boxes, meta[rows].reshape(-1, 2)


def collate(batch: list[tuple[torch.Tensor, torch.Tensor, dict]]
            ) -> tuple[torch.Tensor, torch.Tensor, list[dict]]:
    """Stack samples: images [B, 3, S, S] uint8, targets [M, 7] (batch_index, class, x1, y1,
    x2, y2, ignore), infos."""
    images, targets, infos = zip(*batch)
    rows = [torch.cat([torch.full((len(t), 1), float(i)), t], 1) for i, t in enumerate(targets)]
    return torch.stack(images), torch.cat(rows).reshape(-1, 7), list(infos)


def images_to_float(images: torch.Tensor, device: torch.device | str | None = None,
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 [B, 3, S, S] batch → float in [0, 1] on `device` (copy first, convert there)."""
    if device is not None:
        images = images.to(device, non_blocking=True)
    return images.to(dtype).div_(255.0)


# ----------------------------------------------------------------------------- sampling, loader
def multi_scale_sizes(img_size: int, step: int = 32) -> list[int]:
    """Input sizes for --multi-scale: multiples of `step` from 0.75x to 1.5x (416: 320..608)."""
    lo = max(step, math.ceil(0.75 * img_size / step) * step)
    hi = max(lo, math.floor(1.5 * img_size / step) * step)
    return list(range(lo, hi + 1, step))


class BatchSampler(Sampler[list[SampleKey]]):
    """Batches of SampleKeys: order and per-batch input size fixed by (seed, epoch).

    Shuffles like DistributedSampler when world_size > 1 (the order is padded to a multiple
    of world_size and rank r takes every world_size-th index from r), so every rank sees the
    same number of batches and the same input size at each step.
    """

    def __init__(self, n: int, batch_size: int, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False, sizes: Sequence[int] = (416,), rank: int = 0,
                 world_size: int = 1):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.n, self.batch_size, self.shuffle = n, batch_size, shuffle
        self.seed, self.drop_last = int(seed) & 0xFFFFFFFF, drop_last
        self.sizes, self.rank, self.world_size = [int(s) for s in sizes], rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle (and re-draw sizes) for `epoch`."""
        self.epoch = int(epoch)

    def _indices(self) -> np.ndarray:
        if self.shuffle:
            order = np.random.default_rng((self.seed, self.epoch, 0)).permutation(self.n)
        else:
            order = np.arange(self.n)
        if self.world_size > 1:
            total = math.ceil(self.n / self.world_size) * self.world_size
            order = np.resize(order, total)[self.rank::self.world_size]
        return order

    def __iter__(self) -> Iterator[list[SampleKey]]:
        order = self._indices()
        size_rng = np.random.default_rng((self.seed, self.epoch, 1))
        for b in range(len(self)):
            chunk = order[b * self.batch_size:(b + 1) * self.batch_size]
            size = self.sizes[int(size_rng.integers(len(self.sizes)))] if len(self.sizes) > 1 \
                else self.sizes[0]
            yield [SampleKey(int(i), self.epoch, size) for i in chunk]

    def __len__(self) -> int:
        per_rank = math.ceil(self.n / self.world_size) if self.world_size > 1 else self.n
        return per_rank // self.batch_size if self.drop_last else \
            math.ceil(per_rank / self.batch_size)


class Loader(DataLoader):
    """A DataLoader over a BatchSampler, with `set_epoch` for shuffling and augmentation."""

    def set_epoch(self, epoch: int) -> None:
        """Call before iterating each epoch (works with persistent workers)."""
        self.batch_sampler.set_epoch(epoch)
        self.dataset.set_epoch(epoch)

    def _get_iterator(self):
        if self.num_workers == 0:
            return super()._get_iterator()
        # Workers fork here. They must inherit a single-threaded OpenCV: the parallelism is
        # the workers, and calling cv2.setNumThreads inside a forked child whose parent had
        # live OpenCV pool threads can deadlock (seen with the pthreads backend).
        threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            return super()._get_iterator()
        finally:
            cv2.setNumThreads(threads)


def seed_worker(worker_id: int) -> None:
    """Seed a loader worker's global RNGs from torch's per-worker seed."""
    # Third-party code drawing from global RNGs gets distinct per-worker streams (our own
    # augmentation never does: it is seeded per sample). torch already runs workers with
    # one thread; cv2 gets one thread from Loader._get_iterator (see there).
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def build_loader(dataset: YoloDataset, batch_size: int, workers: int | None = None,
                 shuffle: bool = True,
                 seed: int = 0, pin_memory: bool = True, drop_last: bool = False,
                 sizes: Sequence[int] | None = None, rank: int = 0, world_size: int = 1,
                 prefetch_factor: int = 4) -> Loader:
    """A Loader: BatchSampler keys → worker processes → `collate`.

    `sizes` lists the input sizes to draw one per batch (multi-scale); default the
    dataset's img_size. Workers are persistent (default: the usable cores); pinned memory
    only where CUDA exists.
    """
    workers = default_workers() if workers is None else workers
    sampler = BatchSampler(len(dataset), batch_size, shuffle=shuffle, seed=seed,
                           drop_last=drop_last, sizes=sizes or (dataset.img_size,), rank=rank,
                           world_size=world_size)
    extra = {}
    if workers > 0:
        extra = dict(persistent_workers=True, prefetch_factor=prefetch_factor,
                     worker_init_fn=seed_worker)
    return Loader(dataset, batch_sampler=sampler, num_workers=workers, collate_fn=collate,
                  pin_memory=pin_memory and torch.cuda.is_available(), **extra)
