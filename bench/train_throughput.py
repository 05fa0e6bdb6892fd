"""Training throughput: images/s and peak memory, JPEGs on disk → real loader → train step.

For each configuration three figures are measured:
  loader   the training data loader alone (decode, mosaic, affine, colour, collate), img/s
  step     the training step alone on one batch already on the device (forward, loss,
           backward, optimiser, EMA; AMP on CUDA), img/s
  train    both together, as `pipeline train` runs them, img/s
and the slower of loader/step is named as the limit. Peak memory is the GPU's
max_memory_allocated on CUDA and the process's peak RSS on the CPU.

Defaults: YOLOv3-416 with AMP at batch 16/32/64 on CUDA (skipped with a message when there
is no CUDA) and yolov3-tiny at 128 and 320 px, batch 16, on the CPU in fp32 and then with AMP
(bf16 + channels_last, where the CPU has native bf16: `pipeline train`'s default there);
--compile adds each CPU configuration under torch.compile (its first step, compilation
included, is printed). On this 2-core box (yolov3-tiny-256, batch 16) compile changed train
img/s by -3% (bf16) to +2% (fp32) for 8-15 s of compilation, so the trainer does not use it.

    python bench/train_throughput.py                     # both parts, a generated set
    python bench/train_throughput.py --data data/topdown --skip-cpu --workers 16
    python bench/train_throughput.py --skip-cuda --compile --cpu-sizes 256 --steps 16
"""
from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detector.data.augment import augment_config  # noqa: E402
from detector.data.loader import YoloDataset, build_loader, images_to_float  # noqa: E402
from detector.data.sets import read_sets  # noqa: E402
from detector.device import amp_dtype  # noqa: E402
from detector.model.loss import YoloLoss  # noqa: E402
from detector.model.model import build_model  # noqa: E402
from detector.training.config import TrainConfig  # noqa: E402
from detector.training.optim import ModelEMA, build_optimizer  # noqa: E402
from detector.training.trainer import forward_backward  # noqa: E402
from synth.stats import format_table  # noqa: E402


def make_set(out: Path, n: int) -> Path:
    """A generated top-down VOC set of n 640x480 JPEGs (the embedded demo assets)."""
    from synth.cores import default_workers
    from synth.generate import GenerateConfig, generate

    generate(GenerateConfig(view="topdown", out=out, n=n, size=(640, 480),
                            workers=default_workers(), split={"train": 1.0}), progress=False)
    return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(data_dir: Path, model_name: str, size: int, batch: int, device: torch.device,
          workers: int, steps: int, warmup: int, amp: bool, compile_model: bool = False) -> dict:
    data = read_sets([data_dir], role="train")
    dataset = YoloDataset(data, size, augment=augment_config("default"), seed=0)
    loader = build_loader(dataset, batch, workers=workers, shuffle=True, seed=0, drop_last=True)
    n_batches = len(loader)
    if n_batches < 1:
        raise SystemExit(f"{data_dir}: fewer images ({len(data)}) than batch {batch}")

    def batches():
        epoch = 0
        while True:
            loader.set_epoch(epoch)
            yield from loader
            epoch += 1

    # loader alone
    it = batches()
    for _ in range(min(warmup, 2)):
        next(it)
    t0 = time.perf_counter()
    for _ in range(steps):
        imgs, targets, _ = next(it)
    loader_ips = steps * batch / (time.perf_counter() - t0)

    dtype = amp_dtype(device) if amp else None
    layout = torch.channels_last if dtype is not None else torch.contiguous_format  # as trainer
    model = build_model(model_name, len(data.classes)).to(device).train()
    model.to(memory_format=layout)
    crit = YoloLoss.from_model(model).to(device)
    opt = build_optimizer(model, TrainConfig(optimizer="sgd", lr=0.01))
    ema = ModelEMA(model)
    net = torch.compile(model) if compile_model else model  # EMA and optimiser keep `model`
    autocast = {"device_type": device.type, "enabled": dtype is not None,
                "dtype": dtype or torch.float32}
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.cuda.reset_peak_memory_stats(device)

    def step(images, t):
        forward_backward(net, crit, images, t, float(batch), autocast, scaler, 1)
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
        ema.update(model)

    # step alone: one batch on the device, repeated
    images, t = images_to_float(imgs, device).contiguous(memory_format=layout), targets.to(device)
    t0 = time.perf_counter()
    step(images, t)  # the first step pays torch.compile's compilation (and cuDNN's search)
    _sync(device)
    first_s = time.perf_counter() - t0
    for _ in range(warmup):
        step(images, t)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step(images, t)
    _sync(device)
    step_ips = steps * batch / (time.perf_counter() - t0)

    # both, as training runs them
    for _ in range(2):
        imgs, targets, _ = next(it)
        step(images_to_float(imgs, device).contiguous(memory_format=layout), targets.to(device))
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        imgs, targets, _ = next(it)
        step(images_to_float(imgs, device).contiguous(memory_format=layout), targets.to(device))
    _sync(device)
    train_ips = steps * batch / (time.perf_counter() - t0)

    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**30
        where = f"{peak:.1f} GiB GPU"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        where = f"{peak:.1f} GiB RSS"
    it.close()
    loader = None  # noqa: F841  (releases the loader workers)
    return {"model": f"{model_name}-{size}", "device": str(device),
            "amp": str(dtype).replace("torch.", "") if dtype else "off", "batch": batch,
            "compile": "on" if compile_model else "off", "first": first_s,
            "loader": loader_ips, "step": step_ips, "train": train_ips, "peak": where,
            "limit": "loader" if loader_ips < step_ips else "model"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="VOC set [default: generate one]")
    ap.add_argument("--images", type=int, default=64, help="images to generate (no --data)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--steps", type=int, default=10, help="timed batches per measurement")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--cuda-model", default="yolov3")
    ap.add_argument("--cuda-size", type=int, default=416)
    ap.add_argument("--cuda-batches", default="16,32,64")
    ap.add_argument("--cpu-model", default="yolov3-tiny")
    ap.add_argument("--cpu-sizes", default="128,320")
    ap.add_argument("--cpu-batch", type=int, default=16)
    ap.add_argument("--no-amp", action="store_true")
    ap.add_argument("--compile", action="store_true",
                    help="also measure each CPU configuration under torch.compile")
    ap.add_argument("--skip-cpu", action="store_true")
    ap.add_argument("--skip-cuda", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            t0 = time.perf_counter()
            data = make_set(Path(tmp) / "set", args.images)
            print(f"generated {args.images} 640x480 images in {time.perf_counter() - t0:.0f}s")
        rows = []
        if not args.skip_cuda:
            if torch.cuda.is_available():
                print(f"CUDA: {torch.cuda.get_device_name()}, {args.workers} loader workers")
                for b in (int(v) for v in args.cuda_batches.split(",")):
                    try:
                        rows.append(bench(data, args.cuda_model, args.cuda_size, b,
                                          torch.device("cuda"), args.workers, args.steps,
                                          args.warmup, not args.no_amp))
                    except torch.cuda.OutOfMemoryError:
                        print(f"batch {b}: out of GPU memory")
                    torch.cuda.empty_cache()
            else:
                print("CUDA part skipped: no CUDA device here")
        if not args.skip_cpu:
            print(f"CPU: {torch.get_num_threads()} torch threads, {args.workers} loader workers")
            for size in (int(v) for v in args.cpu_sizes.split(",")):
                for amp in ([False] if args.no_amp else [False, True]):  # fp32 is the reference
                    for comp in ([False, True] if args.compile else [False]):
                        rows.append(bench(data, args.cpu_model, size, args.cpu_batch,
                                          torch.device("cpu"), args.workers, args.steps,
                                          args.warmup, amp, comp))
    table = [[r["model"], r["device"], r["amp"], r["compile"], r["batch"], f"{r['loader']:.1f}",
              f"{r['first']:.1f}", f"{r['step']:.1f}", f"{r['train']:.1f}", r["peak"], r["limit"]]
             for r in rows]
    print(format_table(["model", "device", "amp", "compile", "batch", "loader img/s",
                        "first step s", "step img/s", "train img/s", "peak memory", "limit"],
                       table, align="llllrrrrrrl"))


if __name__ == "__main__":
    main()
