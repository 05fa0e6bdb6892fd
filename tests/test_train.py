"""Trainer: overfit, exact resume, kill -9 safe checkpoints, DDP on CPU, OOM (halving, rewinding
the epoch), bad input, run log."""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from detector.model.checkpoint import load_checkpoint
from detector.training.config import TrainConfig
from detector.training.optim import lr_factor
from detector.training.trainer import process_gpu, resume_config, train
from pipeline import main
from synth.generate import GenerateConfig, generate

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One intra-op thread: on a busy 2-core box two threads spin against other processes
    and a training step gets ~20x slower (measured: 2.4 s vs 0.1 s for tiny-128 batch 2)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def voc8(tmp_path_factory) -> Path:
    """8 top-down images, 320x240, 1-2 objects of 2 classes, no camera effects."""
    out = tmp_path_factory.mktemp("voc8") / "set"
    generate(GenerateConfig(view="topdown", out=out, n=8, size=(320, 240), objects=(1, 2),
                            distractors=(0, 0), only=["shoe", "bowl"], effects=False,
                            split={"train": 1.0}, seed=3), progress=False)
    return out


def small(voc: Path, tmp: Path, **kw) -> TrainConfig:
    """A seconds-long CPU config: tiny model, 64 px, no augmentation, no loader workers."""
    base = dict(data=[voc], val=voc, model="yolov3-tiny", img_size=64, epochs=2, batch_size=4,
                augment="none", optimizer="sgd", workers=0, project=tmp / "runs",
                progress=False, warmup_epochs=1.0, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


# ----------------------------------------------------------------------------- learning
def test_overfit_eight_images(voc8, tmp_path):
    """The 'overfit a handful of images first' check: mAP50 >= 0.9 on the training images."""
    t0 = time.perf_counter()
    r = train(small(voc8, tmp_path, img_size=128, epochs=60, batch_size=2, optimizer="adam",
                    lr=1e-3, val_every=60, name="overfit"))
    assert r.finished and r.epochs_done == 60
    assert r.map50 >= 0.9, (r.map50, r.per_class_ap50, time.perf_counter() - t0)
    assert set(r.per_class_ap50) == {"shoe", "bowl"}
    run = tmp_path / "runs" / "overfit"
    for name in ("config.yaml", "metrics.csv", "last.pt", "best.pt", "plots/loss.png",
                 "plots/lr.png", "plots/map.png"):
        assert (run / name).is_file(), name
    assert list((run / "events").glob("events.out.tfevents.*"))
    assert len((run / "metrics.csv").read_text().splitlines()) == 1 + 60
    best = load_checkpoint(run / "best.pt")
    assert best["classes"] == ["shoe", "bowl"] and best["epoch"] == 60


@pytest.mark.parametrize("native", [True, False])
def test_cpu_amp_is_bf16_channels_last_where_the_cpu_has_bf16(voc8, tmp_path, monkeypatch, native):
    """--amp on the CPU: bf16 autocast with NHWC weights where the CPU has bf16 instructions
    (forced here either way), plain fp32 where it would be emulated; the run learns either way."""
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    seen = []
    real_forward = torch.nn.Conv2d.forward

    def spy(self, x):
        y = real_forward(self, x)
        seen.append((y.dtype, self.weight.is_contiguous(memory_format=torch.channels_last)))
        return y

    monkeypatch.setattr(torch.nn.Conv2d, "forward", spy)
    r = train(small(voc8, tmp_path, img_size=64, epochs=1, batch_size=4, name=f"amp{native}"))
    assert r.finished and r.epochs_done == 1
    derived = yaml.safe_load((tmp_path / "runs" / f"amp{native}" / "config.yaml").read_text())
    assert derived["derived"]["amp"] == ("bfloat16" if native else "off")
    first = seen[0]   # the first convolution of the first training step
    assert first == ((torch.bfloat16, True) if native else (torch.float32, False))
    best = load_checkpoint(tmp_path / "runs" / f"amp{native}" / "best.pt")
    assert all(v.dtype in (torch.float32, torch.int64) for v in best["model"].values()
               if torch.is_tensor(v))   # weights stay fp32 in the checkpoint


def test_validation_map_is_what_evaluate_measures(voc8, tmp_path):
    """Training validation and `pipeline evaluate --model best.pt` run the same prediction
    path (detector.predict.predict_voc_set) and metrics on the same images: same mAP."""
    r = train(small(voc8, tmp_path, img_size=128, epochs=12, batch_size=2, optimizer="adam",
                    lr=1e-3, name="same"))
    best = tmp_path / "runs" / "same" / "best.pt"
    assert r.finished and r.map50 is not None and r.map50 > 0
    out = CliRunner().invoke(main, ["evaluate", "--data", str(voc8), "--model", str(best),
                                    "--out", str(tmp_path / "ev")])
    assert out.exit_code == 0, out.output
    report = json.loads((tmp_path / "ev" / "report.json").read_text())
    assert report["map50"] == pytest.approx(r.map50, abs=1e-12)
    assert report["map"] == pytest.approx(r.map, abs=1e-12)


def test_lr_schedules():
    cfg = TrainConfig(epochs=10, lr=0.1, warmup_epochs=0, scheduler="cosine", lr_final=0.01)
    assert lr_factor(cfg, 0, 0.1) == pytest.approx(1.0)
    assert lr_factor(cfg, 5, 0.1) == pytest.approx(0.505)  # half-way down the cosine
    assert lr_factor(cfg, 10, 0.1) == pytest.approx(0.01)
    warm = TrainConfig(epochs=10, warmup_epochs=2, scheduler="cosine")
    assert lr_factor(warm, 0, 0.5) == pytest.approx(0.25 * lr_factor(cfg, 0, 0.5), rel=1e-3)
    ms = TrainConfig(epochs=10, warmup_epochs=0, scheduler="multistep", milestones=[4, 8],
                     gamma=0.5)
    assert [lr_factor(ms, t, 0.1) for t in (3.9, 4.0, 7.5, 8.2)] == [1, 0.5, 0.5, 0.25]
    oc = TrainConfig(epochs=10, scheduler="onecycle")
    assert lr_factor(oc, 0, 0.1) == pytest.approx(1 / 25)
    assert lr_factor(oc, 3, 0.1) == pytest.approx(1.0)
    assert lr_factor(oc, 10, 0.1) == pytest.approx(1 / 25 / 1e4)


def test_freeze_epochs_keep_backbone(voc8, tmp_path):
    """--freeze-epochs: backbone weights and BN statistics untouched, head trained."""
    from detector.model.model import build_model

    torch.manual_seed(0)
    init = build_model("yolov3-tiny", 2)
    r = train(small(voc8, tmp_path, epochs=1, freeze_epochs=1, freeze_batch_size=8, ema=False,
                    name="freeze"))
    after = r.model.state_dict()
    cut = init.backbone_cutoff
    for k, v in init.state_dict().items():
        layer = int(k.split(".")[1])
        if layer < cut:
            assert torch.equal(v, after[k]), k
    head = f"layers.{init.head_conv_indices[0]}.conv.weight"
    assert not torch.equal(init.state_dict()[head], after[head])
    assert r.history[0]["frozen"] == 1 and r.history[0]["batch"] == 8


# ----------------------------------------------------------------------------- resume
def test_resume_continues_exactly(voc8, tmp_path):
    """2 epochs + --resume for 2 more == 4 epochs straight (weights, EMA, optimiser, log)."""
    torch.use_deterministic_algorithms(True)
    try:
        common = dict(epochs=4, batch_size=2, nominal_batch=4, optimizer="sgd", lr=0.01)
        train(small(voc8, tmp_path, name="full", **common))
        part = train(small(voc8, tmp_path, name="part", stop_after=2, **common))
        assert not part.finished and part.epochs_done == 2
        resumed = train(resume_config(tmp_path / "runs" / "part", {"progress": False}))
    finally:
        torch.use_deterministic_algorithms(False)
    assert resumed.finished and resumed.epochs_done == 4
    a = load_checkpoint(tmp_path / "runs" / "full" / "last.pt")
    b = load_checkpoint(tmp_path / "runs" / "part" / "last.pt")
    for key in ("model", "raw_model"):
        for k, v in a[key].items():
            assert torch.allclose(v.float(), b[key][k].float(), atol=1e-6, rtol=0), (key, k)
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    assert sa.keys() == sb.keys()
    for i in sa:
        assert torch.allclose(sa[i]["momentum_buffer"], sb[i]["momentum_buffer"], atol=1e-6)
    assert a["ema_updates"] == b["ema_updates"] == 8  # 4 epochs x 8 images / nominal 4
    assert [r["loss_total"] for r in a["metrics"]] == pytest.approx(
        [r["loss_total"] for r in b["metrics"]], abs=1e-6)
    assert len((tmp_path / "runs" / "part" / "metrics.csv").read_text().splitlines()) == 5


def test_resume_refuses_changed_settings(voc8, tmp_path):
    train(small(voc8, tmp_path, epochs=2, stop_after=1, name="r"))
    with pytest.raises(Exception, match="cannot change"):
        resume_config(tmp_path / "runs" / "r", {"lr": 0.5})


_SAVER = """
import sys, torch
from detector.model.checkpoint import save_checkpoint
path = sys.argv[1]
print("ready", flush=True)
k = 0
while True:
    k += 1
    w = torch.full((2_000_000,), float(k))
    save_checkpoint(path, {"model": {"w": w}, "step": k, "model_name": "yolov3-tiny",
                           "num_classes": 1, "classes": ["a"], "anchors": [[10.0, 14.0]], "masks": [[0]]})
"""


def test_kill9_during_checkpoint_save_never_corrupts(tmp_path):
    """SIGKILL at random moments of a save loop: last.pt is always a complete checkpoint."""
    path = tmp_path / "last.pt"
    rng = random.Random(0)
    last_step = 0
    for _ in range(4):
        p = subprocess.Popen([sys.executable, "-c", _SAVER, str(path)], cwd=REPO,
                             stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.6))
        p.send_signal(signal.SIGKILL)
        p.wait()
        if not path.exists():
            continue
        ckpt = load_checkpoint(path)  # InputError if torn
        step = ckpt["step"]
        assert torch.equal(ckpt["model"]["w"], torch.full((2_000_000,), float(step)))
        last_step = step
    assert last_step > 0, "no save completed in any attempt"


# ----------------------------------------------------------------------------- DDP
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, voc: str, tmp: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    cwd = Path(tmp) / f"cwd{rank}"
    cwd.mkdir()
    os.chdir(cwd)  # anything a rank writes to a relative path lands here
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FutureWarning)
        r = train(TrainConfig(data=[Path(voc)], val=Path(voc), model="yolov3-tiny", img_size=64,
                              epochs=1, batch_size=4, augment="none", workers=0, progress=False,
                              device="cpu", project=Path("runs"), name="ddp", ema=False))
    future = [str(w.message) for w in caught if issubclass(w.category, FutureWarning)]
    torch.save({"state": r.model.state_dict(), "batch": r.batch_size, "future": future},
               Path(tmp) / f"w{rank}.pt")


@pytest.mark.parametrize("local_rank,local_world,gpus,want", [
    (0, 1, 1, (0, "nccl")), (1, 2, 2, (1, "nccl")), (3, 4, 8, (3, "nccl")),
    (0, 2, 1, (0, "gloo")), (1, 2, 1, (0, "gloo")),  # two processes on one GPU: nccl refuses
    (3, 4, 2, (1, "gloo"))])
def test_each_torchrun_process_gets_a_gpu_and_a_backend_that_accepts_it(local_rank, local_world,
                                                                         gpus, want):
    assert process_gpu(local_rank, local_world, gpus) == want


def test_torchrun_on_cuda_without_a_gpu_is_an_input_error():
    from synth.errors import InputError

    with pytest.raises(InputError, match="no GPU"):
        process_gpu(0, 2, 0)


def test_ddp_two_cpu_processes(voc8, tmp_path):
    """gloo DDP: ranks hold identical weights after training; rank 0 alone writes the run."""
    torch.multiprocessing.spawn(_ddp_worker, args=(2, _free_port(), str(voc8), str(tmp_path)),
                                nprocs=2, join=True)
    w0 = torch.load(tmp_path / "w0.pt")
    w1 = torch.load(tmp_path / "w1.pt")
    assert w0["batch"] == w1["batch"] == 4
    assert w0["future"] == w1["future"] == []  # e.g. torch 2.14's on broadcast_buffers
    for k, v in w0["state"].items():
        if k.endswith(("running_mean", "running_var", "num_batches_tracked")):
            continue  # BN statistics are per rank (as in DDP without SyncBatchNorm)
        assert torch.equal(v, w1["state"][k]), k
    from detector.model.model import build_model

    torch.manual_seed(0)
    init = build_model("yolov3-tiny", 2).state_dict()
    assert any(not torch.equal(init[k], v) for k, v in w0["state"].items()
               if k.endswith("weight"))
    run = tmp_path / "cwd0" / "runs" / "ddp"
    assert (run / "last.pt").is_file() and (run / "best.pt").is_file()
    assert len((run / "metrics.csv").read_text().splitlines()) == 2  # header + 1 epoch
    index = (tmp_path / "cwd0" / "runs" / "index.csv").read_text().splitlines()
    assert len(index) == 2
    assert list((tmp_path / "cwd1").iterdir()) == []  # rank 1 wrote nothing


# ----------------------------------------------------------------------------- OOM
def _oom_above(limit: int):
    from detector.training import trainer as train_mod

    real = train_mod.forward_backward

    def fake(model, criterion, images, *args, **kw):
        if images.shape[0] > limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(model, criterion, images, *args, **kw)
    return fake


def test_oom_auto_batch_halves_and_accumulates(voc8, tmp_path, monkeypatch):
    import detector.training.trainer as train_mod

    monkeypatch.setattr(train_mod, "forward_backward", _oom_above(2))
    r = train(small(voc8, tmp_path, epochs=1, batch_size=8, auto_batch=True, name="oom"))
    assert r.finished and r.batch_size == 2 and r.accumulate == 4
    assert r.history[0]["batch"] == 2 and r.history[0]["accumulate"] == 4


def _state_of(trainer) -> dict:
    """Copies of everything an optimiser step changes: weights and buffers, optimiser, EMA."""
    opt = trainer.optimizer.state_dict()
    return {"model": {k: v.clone() for k, v in trainer.model.state_dict().items()},
            "optim": {i: {k: v.clone() if torch.is_tensor(v) else v for k, v in st.items()}
                      for i, st in opt["state"].items()},
            "ema": {k: v.clone() for k, v in trainer.ema.module.state_dict().items()},
            "ema_updates": trainer.ema.updates, "bn_forwards": trainer.bn_forwards}


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return torch.equal(a, b) if torch.is_tensor(a) else a == b


@pytest.mark.parametrize("ooms, batch", [({4}, 2), ({4, 7}, 1)])
def test_oom_mid_epoch_rewinds_to_the_epoch_start(voc8, tmp_path, monkeypatch, caplog, ooms,
                                                   batch):
    """An OOM after some optimiser steps of an epoch (epoch 2's 2nd micro-batch; then, at
    batch 2, its 3rd, after a step again): every retry at the halved batch starts from the
    epoch's starting weights, optimiser, EMA and BN-warm-up state (not from a copy the steps
    of an earlier retry changed), and the run's log and metrics.csv say so."""
    import logging

    import detector.training.trainer as train_mod

    real, calls = train_mod.forward_backward, []

    def oom_on_calls(model, criterion, images, *args, **kw):
        calls.append(images.shape[0])
        if len(calls) in ooms:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(model, criterion, images, *args, **kw)

    starts = []
    real_epoch = train_mod.Trainer.train_epoch

    def recording(self, epoch):
        starts.append((epoch, _state_of(self)))
        return real_epoch(self, epoch)

    monkeypatch.setattr(train_mod, "forward_backward", oom_on_calls)
    monkeypatch.setattr(train_mod.Trainer, "train_epoch", recording)
    with caplog.at_level(logging.WARNING):
        r = train(small(voc8, tmp_path, epochs=2, batch_size=4, auto_batch=True, name="rew"))
    assert calls[:4] == [4, 4, 4, 4] and calls[-8 // batch:] == [batch] * (8 // batch)
    assert [e for e, _ in starts] == [0] + [1] * (1 + len(ooms))
    first = starts[1][1]
    assert first["optim"] and first["ema_updates"] == 2   # a state worth restoring
    for _, retry in starts[2:]:
        assert _same(first, retry)                        # the aborted steps were undone
    assert r.finished and r.history[1]["batch"] == batch
    assert r.history[1]["accumulate"] == 4 // batch
    assert "batch 4 (input 64px) after 1 of 2 optimiser steps of epoch 2" in caplog.text
    assert caplog.text.count("restored the weights, optimiser") == len(ooms)
    rows = (tmp_path / "runs" / "rew" / "metrics.csv").read_text().splitlines()
    head = rows[0].split(",")
    assert [row.split(",")[head.index("oom_retries")] for row in rows[1:]] == \
        ["0", str(len(ooms))]


def test_oom_without_auto_batch_names_the_batch_that_fits(voc8, tmp_path, monkeypatch):
    import detector.training.trainer as train_mod
    from synth.errors import InputError

    monkeypatch.setattr(train_mod, "forward_backward", _oom_above(2))
    with pytest.raises(InputError, match=r"batch-size 8 .*largest batch that fit is 2"):
        train(small(voc8, tmp_path, epochs=1, batch_size=8, name="oom2"))


# ----------------------------------------------------------------------------- CLI
def _cli(*args):
    return CliRunner().invoke(main, list(map(str, args)))


def _copy(voc: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(voc, dst)
    return dst


def _edit_first_xml(voc: Path, old: str, new: str) -> Path:
    xml = sorted((voc / "Annotations").glob("*.xml"))[0]
    text = xml.read_text()
    assert old in text
    xml.write_text(text.replace(old, new, 1))
    return xml


def _assert_one_line_error(r, *needles):
    assert r.exit_code == 2, (r.exit_code, r.output, r.exception)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])


def test_bad_input_exits_2_with_one_line(voc8, tmp_path):
    base = ["train", "--model", "yolov3-tiny", "--img-size", "64", "--epochs", "1",
            "--workers", "0", "--device", "cpu", "--augment", "none"]

    r = _cli(*base, "--data", voc8, "--split", "trainval", "--run-dir", tmp_path / "a")
    _assert_one_line_error(r, "--split trainval", "trainval.txt", "not found")

    no_img = _copy(voc8, tmp_path / "noimg")
    victim = sorted((no_img / "JPEGImages").glob("*.jpg"))[0]
    victim.unlink()
    r = _cli(*base, "--data", no_img, "--run-dir", tmp_path / "b")
    _assert_one_line_error(r, victim.stem, "missing")

    bad_cls = _copy(voc8, tmp_path / "badcls")
    xml = _edit_first_xml(bad_cls, "<name>", "<name>unicorn")
    r = _cli(*base, "--data", bad_cls, "--run-dir", tmp_path / "c")
    _assert_one_line_error(r, xml.name, "not in")

    zero = _copy(voc8, tmp_path / "zero")
    import re

    xml = sorted((zero / "Annotations").glob("*.xml"))[0]
    text = xml.read_text()
    xmin = re.search(r"<xmin>(\d+)</xmin>", text).group(1)
    xml.write_text(re.sub(r"<xmax>\d+</xmax>", f"<xmax>{int(xmin) - 1}</xmax>", text, count=1))
    r = _cli(*base, "--data", zero, "--run-dir", tmp_path / "d")
    _assert_one_line_error(r, xml.name, "empty box")

    # A yolov3-tiny checkpoint given as --weights for a yolov3.
    train(small(voc8, tmp_path, epochs=1, name="tinyrun"))
    r = _cli(*base[:2], "yolov3", *base[3:], "--data", voc8, "--run-dir", tmp_path / "e",
             "--weights", tmp_path / "runs" / "tinyrun" / "best.pt")
    _assert_one_line_error(r, "best.pt", "yolov3-tiny")

    (tmp_path / "empty_run").mkdir()
    r = _cli("train", "--resume", tmp_path / "empty_run")
    _assert_one_line_error(r, "empty_run", "last.pt")

    r = _cli(*base, "--data", voc8, "--scheduler", "multistep", "--t-max", "5")
    _assert_one_line_error(r, "--t-max")
    r = _cli(*base, "--data", voc8, "--name", "x", "--run-dir", tmp_path / "f")
    _assert_one_line_error(r, "--run-dir")
    r = _cli("train", "--resume", tmp_path / "runs" / "tinyrun", "--lr", "0.5")
    _assert_one_line_error(r, "--lr", "cannot change")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_bad_input_real_process_no_traceback(tmp_path):
    """The installed entry point: exit code 2, one line, no traceback."""
    p = subprocess.run([sys.executable, "-m", "pipeline", "train", "--data",
                        str(tmp_path / "nope")], cwd=REPO, capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [f"error: {tmp_path / 'nope'}: --data: no such "
                                             f"dataset folder or data.yaml"]


def test_run_log_and_pipeline_runs(voc8, tmp_path):
    train(small(voc8, tmp_path, epochs=1, name="first", note="baseline"))
    r = _cli("train", "--data", voc8, "--val", voc8, "--model", "yolov3-tiny", "--img-size", 64,
             "--epochs", 1, "--batch-size", 4, "--augment", "none", "--workers", 0,
             "--device", "cpu", "--warmup-epochs", 1, "--run-dir", tmp_path / "runs" / "second",
             "--lr", 0.02, "--note", "higher lr")
    assert r.exit_code == 0, (r.output, r.exception)
    assert "finished" in r.output and str(tmp_path / "runs" / "second") in r.output
    import csv

    rows = list(csv.DictReader((tmp_path / "runs" / "index.csv").open()))
    assert [r["run"] for r in rows] == ["first", "second"]
    assert rows[1]["note"] == "higher lr" and rows[1]["model"] == "yolov3-tiny"
    assert rows[0]["map50"] != "" and "shoe" in rows[0]["ap50"]
    r = _cli("runs", tmp_path / "runs")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert "second" in lines[2] and "first" in lines[3]  # newest first, after the header
    r = _cli("runs", tmp_path / "runs", "--compare", "first", "second")
    assert r.exit_code == 0, r.output
    assert any(ln.split()[:3] == ["lr", "0.01", "0.02"] for ln in r.output.splitlines())
    assert "AP50 shoe" in r.output and "AP50 bowl" in r.output
    r = _cli("runs", tmp_path / "nothing")
    assert r.exit_code == 2


def test_config_file_gives_the_settings_and_flags_win(voc8, tmp_path, monkeypatch):
    """`pipeline train --config FILE`: the YAML's settings by their names; flags win."""
    import detector.training.trainer as trainer
    from types import SimpleNamespace

    seen = {}

    def fake_train(cfg):
        seen["cfg"] = cfg
        return SimpleNamespace(map50=None, map=None, best_epoch=None, finished=True,
                               epochs_done=cfg.epochs, run_dir=tmp_path / "run")

    monkeypatch.setattr(trainer, "train", fake_train)
    cfg_file = tmp_path / "train.yaml"
    cfg_file.write_text(f"data: [{voc8}]\nimg-size: 96\nepochs: 7\nscheduler: multistep\n"
                        f"milestones: [3, 5]\nema: false\n")
    r = _cli("train", "--config", cfg_file, "--epochs", 3)
    assert r.exit_code == 0, r.output
    cfg = seen["cfg"]
    assert (cfg.data, cfg.img_size, cfg.epochs, cfg.milestones, cfg.ema) == \
        ([voc8], 96, 3, [3.0, 5.0], False)
    assert cfg.model == TrainConfig().model          # the rest at TrainConfig's defaults
    (tmp_path / "bad.yaml").write_text("img_sise: 96\n")
    r = _cli("train", "--config", tmp_path / "bad.yaml")
    assert r.exit_code == 2 and "'img_sise' is not a training setting" in r.stderr
