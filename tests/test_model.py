"""YOLOv3 / YOLOv3-tiny structure: parameter counts, shapes, decoding, darknet layer details."""
import math

import pytest
import torch
import torch.nn.functional as F

import detector
from detector.model.model import Conv, MaxPoolLayer, build_model, count_parameters

# Published trainable parameter counts (80 classes) and the same nets with 8 classes.
PARAMS = {("yolov3", 80): 61_949_149, ("yolov3-tiny", 80): 8_852_366,
          ("yolov3", 8): 61_561_429, ("yolov3-tiny", 8): 8_686_046}


@pytest.mark.parametrize("name,classes", list(PARAMS))
def test_trainable_parameter_counts(name, classes):
    with torch.device("meta"):  # counts need no memory or init time
        model = build_model(name, classes)
    assert count_parameters(model) == PARAMS[name, classes]


def test_package_level_build_model_is_lazy_and_equivalent():
    model = detector.build_model("yolov3-tiny", 8)
    assert model.name == "yolov3-tiny" and model.num_classes == 8
    assert count_parameters(model) == PARAMS["yolov3-tiny", 8]


def test_layer_count_and_attributes_mirror_the_cfgs():
    with torch.device("meta"):
        v3 = build_model("yolov3", 80)
        tiny = build_model("yolov3-tiny", 80)
    assert len(v3.layers) == 107 and len(tiny.layers) == 24
    assert v3.strides == (32, 16, 8) and tiny.strides == (32, 16)
    assert v3.masks == ((6, 7, 8), (3, 4, 5), (0, 1, 2))
    assert tiny.masks == ((3, 4, 5), (1, 2, 3))
    assert v3.head_conv_indices == (81, 93, 105) and tiny.head_conv_indices == (15, 22)
    assert sum(isinstance(d, Conv) for d in v3.defs) == 75
    assert sum(isinstance(d, Conv) for d in tiny.defs) == 13


def test_anchor_values_and_head_anchors():
    tiny = build_model("yolov3-tiny", 3)
    assert tiny.anchors.tolist() == [[10, 14], [23, 27], [37, 58], [81, 82], [135, 169],
                                     [344, 319]]
    assert tiny.heads[1].anchors.tolist() == [[23, 27], [37, 58], [81, 82]]
    v3 = build_model("yolov3", 3)
    assert v3.heads[0].anchors.tolist() == [[116, 90], [156, 198], [373, 326]]
    assert v3.heads[2].anchors.tolist() == [[10, 13], [16, 30], [33, 23]]


def test_backbone_is_what_darknet53_conv74_covers():
    with torch.device("meta"):
        model = build_model("yolov3", 8)
    # darknet53.conv.74 holds 40,620,640 floats: parameters + BN running mean/var (2 per BN
    # channel). The backbone parameters plus their BN buffers must be exactly that.
    params = sum(p.numel() for p in model.backbone_parameters())
    buffers = sum(2 * layer.bn.num_features for layer in model.layers[:74] if hasattr(layer, "bn"))
    assert params + buffers == 40_620_640


@pytest.mark.parametrize("name,size", [("yolov3-tiny", 416), ("yolov3-tiny", 320),
                                       ("yolov3", 416), ("yolov3", 320)])
def test_output_shapes_train_and_eval(name, size):
    if name == "yolov3":  # shapes only: meta tensors skip the (slow on CPU) arithmetic
        with torch.device("meta"):
            model = build_model(name, 8)
        x = torch.empty(2, 3, size, size, device="meta")
    else:
        model = build_model(name, 8)
        x = torch.rand(2, 3, size, size)
    cells = [size // s for s in model.strides]
    model.train()
    raw = model(x)
    assert [tuple(r.shape) for r in raw] == [(2, 3, c, c, 13) for c in cells]
    model.eval()
    with torch.no_grad():
        out = model(x)
    assert tuple(out.shape) == (2, sum(3 * c * c for c in cells), 13)


def test_eval_decoding_matches_darknet_formula():
    torch.manual_seed(0)
    model = build_model("yolov3-tiny", 2).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        raw = model.forward_raw(x)
        out = model(x)
    # Second head (stride 16, 4x4 cells), anchor slot 2 (= anchor 3: 81x82), cell (x=1, y=3).
    p = raw[1][0, 2, 3, 1]
    cx = (torch.sigmoid(p[0]) + 1) * 16
    cy = (torch.sigmoid(p[1]) + 3) * 16
    w, h = math.exp(p[2]) * 81, math.exp(p[3]) * 82
    row = 3 * 2 * 2 + 2 * 16 + 3 * 4 + 1  # first head has 3 x 2 x 2 rows
    expected = torch.tensor([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2,
                             torch.sigmoid(p[4]), torch.sigmoid(p[5]), torch.sigmoid(p[6])])
    assert torch.allclose(out[0, row], expected, atol=1e-4)


def test_tiny_stride1_maxpool_keeps_13x13_and_pads_like_darknet():
    pool = MaxPoolLayer(2, 1)
    x = -torch.arange(1.0, 170.0).view(1, 1, 13, 13)  # all negative: zero padding would show
    y = pool(x)
    assert y.shape == (1, 1, 13, 13)
    # Darknet pads bottom/right with -inf: the last column/row is the max of valid pixels only.
    assert y[0, 0, 12, 12] == x[0, 0, 12, 12]
    assert y[0, 0, 0, 12] == torch.max(x[0, 0, 0:2, 12])
    assert y[0, 0, 5, 5] == torch.max(x[0, 0, 5:7, 5:7])


def test_tiny_stride1_maxpool_matches_minus_inf_padding_forward_and_backward():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 7, 9, requires_grad=True)
    ref = x.detach().clone().requires_grad_(True)
    g = torch.randn(2, 3, 7, 9)
    (MaxPoolLayer(2, 1)(x) * g).sum().backward()
    oracle = F.max_pool2d(F.pad(ref, (0, 1, 0, 1), value=-math.inf), 2, 1)  # darknet's padding
    (oracle * g).sum().backward()
    assert torch.equal(MaxPoolLayer(2, 1)(x), oracle)
    assert torch.equal(x.grad, ref.grad)


def test_tiny_stride1_maxpool_backward_survives_torch_compile():
    # torch 2.14's inductor miscompiled F.pad(mode="replicate")'s backward on channels-last input
    x = torch.randn(2, 4, 6, 6).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    ref = x.detach().clone().requires_grad_(True)
    pool = MaxPoolLayer(2, 1)
    torch.compile(pool)(x).square().sum().backward()
    pool(ref).square().sum().backward()
    assert torch.allclose(x.grad, ref.grad)


def test_prior_bias_initialisation():
    model = build_model("yolov3", 8)
    bias = model.layers[105].conv.bias.view(3, 13)  # stride 8 head
    assert torch.allclose(bias[:, 4], torch.tensor(math.log(8 / 52**2)))
    assert torch.allclose(bias[:, 5:], torch.tensor(math.log(0.6 / 7.01)))


def test_custom_anchors_split_over_heads_largest_first():
    anchors = [[100, 100], [5, 5], [50, 40], [20, 20], [200, 150], [10, 12]]
    model = build_model("yolov3-tiny", 2, anchors=anchors)
    assert model.masks == ((3, 4, 5), (0, 1, 2))
    assert model.heads[0].anchors.tolist() == [[50, 40], [100, 100], [200, 150]]
    assert build_model("yolov3", 2, anchors=anchors).masks == ((4, 5), (2, 3), (0, 1))
    with pytest.raises(ValueError):
        build_model("yolov3", 2, anchors=anchors[:5])  # 5 anchors do not split over 3 heads


def test_gradients_flow_everywhere():
    model = build_model("yolov3-tiny", 2).train()
    raw = model(torch.rand(2, 3, 64, 64))
    sum(r.square().mean() for r in raw).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_eval_forward_exports_to_onnx_and_matches(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = build_model("yolov3-tiny", 3).eval()
    path = tmp_path / "tiny.onnx"
    torch.onnx.export(model, (torch.rand(1, 3, 128, 128),), str(path), input_names=["images"],
                      output_names=["pred"], opset_version=17, dynamo=False,
                      dynamic_axes={"images": {0: "b", 2: "h", 3: "w"}, "pred": {0: "b", 1: "n"}})
    session = ort.InferenceSession(str(path))
    x = torch.rand(2, 3, 160, 96)  # another size and batch than at export
    with torch.no_grad():
        expected = model(x).numpy()
    got = session.run(None, {"images": x.numpy()})[0]
    assert got.shape == expected.shape
    assert abs(got - expected).max() < 1e-3
