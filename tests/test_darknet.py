"""Darknet .weights read/write and shape-matched partial loading."""
import logging

import numpy as np
import pytest
import torch

from detector.model.weights import LoadReport, load_weights, save_weights
from detector.model.model import build_model
from synth.errors import InputError


def _randomise(model, seed=0):
    """Random weights and BN statistics, so that a loading mistake changes the outputs."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            else:
                t.copy_(torch.randn(t.shape, generator=g) * (0.05 if t.dim() > 1 else 0.5))
    return model.eval()


def _outputs(model, size=96):
    with torch.no_grad():
        return model.eval()(torch.rand(1, 3, size, size, generator=torch.Generator()
                                       .manual_seed(1)))


@pytest.fixture(scope="module")
def tiny80(tmp_path_factory):
    model = _randomise(build_model("yolov3-tiny", 80))
    path = tmp_path_factory.mktemp("w") / "tiny80.weights"
    save_weights(model, path)
    return model, path


@pytest.fixture(scope="module")
def v3_80(tmp_path_factory):
    """A randomised 80-class yolov3, saved whole and as a darknet53.conv.74-style cut."""
    model = _randomise(build_model("yolov3", 80), seed=2)
    folder = tmp_path_factory.mktemp("v3")
    save_weights(model, folder / "yolov3.weights")
    save_weights(model, folder / "darknet53.conv.74", cutoff=74)
    return model, folder / "yolov3.weights", folder / "darknet53.conv.74"


def test_file_sizes_equal_the_published_darknet_files(tiny80, v3_80):
    # Official yolov3-tiny.weights is 35,434,956 bytes; yolov3.weights 248,007,048 and
    # darknet53.conv.74 162,482,580: the layer order and tensor shapes line up with darknet's.
    assert tiny80[1].stat().st_size == 35_434_956
    assert v3_80[1].stat().st_size == 248_007_048
    assert v3_80[2].stat().st_size == 162_482_580


def test_layout_follows_darknet_order(tiny80):
    model, path = tiny80
    raw = path.read_bytes()
    assert np.frombuffer(raw[:12], "<i4").tolist() == [0, 2, 0]  # major, minor, revision
    values = np.frombuffer(raw[20:], "<f4")  # after the int64 `seen`
    bn, conv = model.layers[0].bn, model.layers[0].conv
    expected = [bn.bias, bn.weight, bn.running_mean, bn.running_var, conv.weight]
    pos = 0
    for t in expected:  # layer 0: BN bias, scale, mean, variance, then the kernel
        n = t.numel()
        assert np.array_equal(values[pos:pos + n], t.detach().numpy().ravel())
        pos += n
    head = model.layers[22].conv  # the last layer: a linear conv, bias then kernel
    tail = values[-(head.weight.numel() + head.bias.numel()):]
    assert np.array_equal(tail[:255], head.bias.detach().numpy())
    assert np.array_equal(tail[255:], head.weight.detach().numpy().ravel())


def test_write_read_gives_identical_outputs(tiny80):
    model, path = tiny80
    fresh = build_model("yolov3-tiny", 80)
    report = load_weights(fresh, path)
    assert isinstance(report, LoadReport)
    assert len(report.loaded) == report.total == 59 and not report.reinitialised
    assert torch.equal(_outputs(model), _outputs(fresh))


def test_yolov3_round_trip(v3_80):
    model, path, _ = v3_80
    fresh = build_model("yolov3", 80)
    assert load_weights(fresh, path).summary().endswith("loaded 366/366 tensors")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 fresh.state_dict().values())
               if a.dtype.is_floating_point)


def test_old_header_with_int32_seen_reads(tiny80, tmp_path):
    raw = tiny80[1].read_bytes()
    old = np.array([0, 1, 0, 1234], "<i4").tobytes() + raw[20:]
    (tmp_path / "old.weights").write_bytes(old)
    fresh = build_model("yolov3-tiny", 80)
    report = load_weights(fresh, tmp_path / "old.weights")
    assert report.seen == 1234
    assert torch.equal(_outputs(tiny80[0]), _outputs(fresh))


def _backbone_equal(a, b, cutoff):
    keys = [k for k in a.state_dict() if int(k.split(".")[1]) < cutoff
            and not k.endswith("num_batches_tracked")]
    return keys and all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in keys)


@pytest.mark.parametrize("suffix", [".weights", ".pt"])
def test_80_class_weights_into_8_class_model(tiny80, tmp_path, caplog, suffix):
    model, path = tiny80
    if suffix == ".pt":
        path = tmp_path / "tiny80.pt"
        torch.save({"model": model.state_dict(), "model_name": "yolov3-tiny", "epoch": 3}, path)
    small = build_model("yolov3-tiny", 8)
    init_head = small.layers[15].conv.weight.clone()
    with caplog.at_level(logging.INFO, logger="detector.model.weights"):
        report = load_weights(small, path)
    assert report.head_reinitialised and report.file_classes == 80
    assert "head re-initialised for 8 classes (2 conv layers; file has 80)" in report.summary()
    assert "head re-initialised for 8 classes" in caplog.text
    assert len(report.loaded) == 55 and sorted(report.shape_mismatch) == [
        "layers.15.conv.bias", "layers.15.conv.weight", "layers.22.conv.bias",
        "layers.22.conv.weight"]
    # Every non-head layer equals the source; heads keep their fresh initialisation.
    for key, value in small.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        if key in report.shape_mismatch:
            assert not torch.equal(value, model.state_dict()[key][: len(value)])
        else:
            assert torch.equal(value, model.state_dict()[key])
    assert torch.equal(small.layers[15].conv.weight, init_head)
    _outputs(small)  # still runs


def test_yolov3_80_class_darknet_into_8_classes(v3_80):
    big, path, _ = v3_80
    small = build_model("yolov3", 8)
    report = load_weights(small, path)
    assert report.summary() == ("yolov3.weights: loaded 360/366 tensors; head re-initialised for "
                                "8 classes (3 conv layers; file has 80)")
    assert _backbone_equal(big, small, 81)


def test_backbone_only_cutoff_file(v3_80):
    model, _, path = v3_80
    target = build_model("yolov3", 8)
    head_before = target.layers[75].conv.weight.clone()
    report = load_weights(target, path)
    assert report.summary() == ("darknet53.conv.74: loaded 260/366 tensors; layers 75-105 not in "
                                "file, left initialised")
    assert report.file_classes is None and not report.head_reinitialised
    assert _backbone_equal(model, target, 74)
    assert torch.equal(target.layers[75].conv.weight, head_before)


def test_tiny_cutoff_into_other_class_count(tiny80, tmp_path):
    save_weights(tiny80[0], tmp_path / "tiny.conv.15", cutoff=15)
    target = build_model("yolov3-tiny", 3)
    report = load_weights(target, tmp_path / "tiny.conv.15")
    assert len(report.loaded) == 45 and "layers 15-22 not in file" in report.summary()
    assert _backbone_equal(tiny80[0], target, 15)


def test_wrong_model_weights_raise_one_line_input_error(tiny80, tmp_path):
    _, path = tiny80
    v3 = build_model("yolov3", 8)
    before = v3.layers[0].conv.weight.clone()
    with pytest.raises(InputError, match=r"tiny80\.weights: .*yolov3") as exc:
        load_weights(v3, path)
    assert "\n" not in str(exc.value)
    assert torch.equal(v3.layers[0].conv.weight, before)  # nothing half-loaded

    # A file cut inside a layer.
    (tmp_path / "cut.weights").write_bytes(path.read_bytes()[:1_000_002])
    with pytest.raises(InputError, match="cut.weights"):
        load_weights(build_model("yolov3-tiny", 80), tmp_path / "cut.weights")

    # Right size, but batch-norm variances where they cannot be (negative).
    raw = bytearray(path.read_bytes())
    var0 = 20 + 3 * 16 * 4  # layer 0: bias, scale, mean (16 each), then variance
    raw[var0:var0 + 4] = np.array([-1.0], "<f4").tobytes()
    (tmp_path / "bad.weights").write_bytes(bytes(raw))
    with pytest.raises(InputError, match="variance at layer 0"):
        load_weights(build_model("yolov3-tiny", 80), tmp_path / "bad.weights")

    (tmp_path / "header.weights").write_bytes(np.array([0, 2, 0, 0], "<i4").tobytes())
    with pytest.raises(InputError, match="too short"):  # int64 `seen` cut in half
        load_weights(build_model("yolov3-tiny", 80), tmp_path / "header.weights")
    (tmp_path / "empty.weights").write_bytes(b"")
    with pytest.raises(InputError, match="too short"):
        load_weights(build_model("yolov3-tiny", 80), tmp_path / "empty.weights")
    with pytest.raises(InputError, match="not found"):
        load_weights(build_model("yolov3-tiny", 80), tmp_path / "missing.weights")


def test_wrong_model_checkpoints_raise_input_error(tiny80, tmp_path):
    model = tiny80[0]
    torch.save(model.state_dict(), tmp_path / "plain.pt")  # no metadata: shapes decide
    with pytest.raises(InputError, match=r"plain\.pt: layers\.0\.conv\.weight has shape"):
        load_weights(build_model("yolov3", 8), tmp_path / "plain.pt")
    torch.save({"model": model.state_dict(), "model_name": "yolov3-tiny"}, tmp_path / "named.pt")
    with pytest.raises(InputError, match="a yolov3-tiny checkpoint cannot load into yolov3"):
        load_weights(build_model("yolov3", 8), tmp_path / "named.pt")
    (tmp_path / "junk.pt").write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(InputError, match="junk.pt: not a readable PyTorch checkpoint"):
        load_weights(build_model("yolov3-tiny", 8), tmp_path / "junk.pt")
    torch.save({"something": 1}, tmp_path / "nomodel.pt")
    with pytest.raises(InputError, match="no model weights"):
        load_weights(build_model("yolov3-tiny", 8), tmp_path / "nomodel.pt")


def test_checkpoint_wrappers_are_unwrapped(tiny80, tmp_path):
    model = tiny80[0]
    state = {"module._orig_mod." + k: v for k, v in model.state_dict().items()}
    torch.save({"model": state, "optimizer": {}, "rng": np.random.get_state()},
               tmp_path / "ddp.pt")  # numpy RNG state needs the full unpickler
    fresh = build_model("yolov3-tiny", 80)
    report = load_weights(fresh, tmp_path / "ddp.pt")
    assert len(report.loaded) == 59
    assert torch.equal(_outputs(model), _outputs(fresh))


def test_save_is_atomic_and_leaves_no_temp(tiny80, tmp_path):
    save_weights(tiny80[0], tmp_path / "a.weights")
    assert [p.name for p in tmp_path.iterdir()] == ["a.weights"]
