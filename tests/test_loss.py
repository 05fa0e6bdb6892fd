"""YOLOv3 loss: assignment, ignore threshold, difficult objects, box modes, smoothing, focal."""
import math

import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import box_iou

from detector.model.anchors import DEFAULT_ANCHORS, DEFAULT_MASKS
from detector.model.boxes import batched_box_iou, pad_per_image
from detector.model.loss import BOX_LOSSES, LossConfig, YoloLoss, class_targets
from detector.model.model import build_model

C = 3
SIZE = 128  # yolov3 heads at 128 px: 4x4 (stride 32), 8x8 (16), 16x16 (8)
# One box 60x45 centred at (70, 52.5). By hand: its best anchor is (62, 45) (IoU 0.968) =
# anchor 4 → head 1 (stride 16, mask 3,4,5), slot 1, cell x = 70 // 16 = 4, y = 52.5 // 16 = 3.
BOX = (40.0, 30.0, 100.0, 75.0)
HEAD, SLOT, GX, GY = 1, 1, 4, 3


def _loss(**cfg):
    return YoloLoss(torch.tensor(DEFAULT_ANCHORS["yolov3"], dtype=torch.float32),
                    DEFAULT_MASKS["yolov3"], (32, 16, 8), C, LossConfig(**cfg))


def _background(batch=1):
    """Raw outputs predicting nothing: confident background, vanishing boxes."""
    outs = []
    for s in (32, 16, 8):
        p = torch.zeros(batch, 3, SIZE // s, SIZE // s, 5 + C)
        p[..., 2:4] = -20.0  # exp(-20) * anchor: boxes of no area, IoU 0 with everything
        p[..., 4:] = -20.0
        outs.append(p)
    return outs


def _set_box(p, slot, gx, gy, box, anchor, stride):
    """Write raw (tx, ty, tw, th) that decode exactly to `box` in cell (gx, gy)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    w, h = box[2] - box[0], box[3] - box[1]
    p[0, slot, gy, gx, 0] = torch.logit(torch.tensor(cx / stride - gx))
    p[0, slot, gy, gx, 1] = torch.logit(torch.tensor(cy / stride - gy))
    p[0, slot, gy, gx, 2] = math.log(w / anchor[0])
    p[0, slot, gy, gx, 3] = math.log(h / anchor[1])


def _perfect(cls=1):
    outs = _background()
    p = outs[HEAD]
    _set_box(p, SLOT, GX, GY, BOX, (62, 45), 16)
    p[0, SLOT, GY, GX, 4] = 20.0
    p[0, SLOT, GY, GX, 5 + cls] = 20.0
    return outs


def _targets(cls=1, difficult=None):
    row = [0.0, float(cls), *BOX] + ([] if difficult is None else [float(difficult)])
    return torch.tensor([row])


@pytest.mark.parametrize("mode", BOX_LOSSES)
def test_perfect_prediction_gives_near_zero_loss(mode):
    total, parts = _loss(box_loss=mode)(_perfect(), _targets())
    assert parts["box"] < 1e-6 and parts["obj"] < 1e-6 and parts["cls"] < 1e-6
    assert total.item() == pytest.approx(parts["total"], abs=1e-9)


def test_mse_box_loss_by_hand():
    outs = _perfect()
    outs[HEAD][0, SLOT, GY, GX, 2] += 0.5  # tw off by 0.5
    _, parts = _loss(box_loss="mse", box_gain=1.0)(outs, _targets())
    scale = 2 - (60 * 45) / (SIZE * SIZE)  # darknet's 2 - w*h with w, h as image fractions
    assert parts["box"] == pytest.approx(scale * 0.25, rel=1e-5)


def test_iou_box_loss_by_hand():
    outs = _perfect()
    outs[HEAD][0, SLOT, GY, GX, 2] += math.log(0.5)  # half as wide, same centre
    _, parts = _loss(box_loss="giou", box_gain=1.0)(outs, _targets())
    assert parts["box"] == pytest.approx(1 - 0.5, rel=1e-5)  # IoU 0.5, enclosing box = GT


def _ignore_case(thresh):
    """A second prediction (another anchor) covering 60% of the GT, confident but unassigned."""
    outs = _perfect()
    x1, y1, x2, y2 = BOX
    cx, w = (x1 + x2) / 2, (x2 - x1) * 0.6
    _set_box(outs[HEAD], 0, GX, GY, (cx - w / 2, y1, cx + w / 2, y2), (30, 61), 16)
    outs[HEAD][0, 0, GY, GX, 4] = 5.0
    return _loss(ignore_thresh=thresh)(outs, _targets())[1]["obj"]


def test_ignore_threshold():
    # IoU of the second prediction with the GT is 0.6: ignored below, a negative above.
    penalty = F.softplus(torch.tensor(5.0)).item() / (3 * 8 * 8)  # BCE(5, 0), mean over cells
    assert _ignore_case(0.5) < 1e-6
    assert _ignore_case(0.7) == pytest.approx(penalty, rel=1e-4)  # head balance 1.0 at stride 16


def test_difficult_objects_are_neither_positive_nor_negative():
    outs = _background()
    outs[HEAD][0, SLOT, GY, GX, 4] = 5.0  # a confident (but boxless) detection in its cell
    penalty = F.softplus(torch.tensor(5.0)).item() / (3 * 8 * 8)
    loss = _loss()
    _, none = loss(outs, torch.zeros(0, 6))
    _, diff = loss(outs, _targets(difficult=1))
    _, normal = loss(outs, _targets(difficult=0))
    assert none["obj"] == pytest.approx(penalty, rel=1e-4)  # no object: a false positive
    assert diff["obj"] < 1e-6 and diff["box"] == 0 and diff["cls"] == 0  # ignored cell
    assert normal["box"] > 0.1 and normal["cls"] > 0.1  # an ordinary target is a positive


def test_predictions_overlapping_difficult_objects_are_not_negatives():
    outs = _perfect()  # a perfect box on the difficult object's cell and anchor ...
    _set_box(outs[0], 2, 2, 1, BOX, (373, 326), 32)  # ... and one from the coarse head
    outs[0][0, 2, 1, 2, 4] = 5.0
    _, parts = _loss()(outs, _targets(difficult=1))
    assert parts["obj"] < 1e-6


def test_anchor_thresh_adds_positives():
    # wh-IoU of the 60x45 box with anchors (30, 61) and (59, 119) is 0.42 and 0.38.
    outs = _perfect()
    for slot, anchor in ((0, (30, 61)), (2, (59, 119))):
        _set_box(outs[HEAD], slot, GX, GY, BOX, anchor, 16)
        outs[HEAD][0, slot, GY, GX, 4] = 20.0
        outs[HEAD][0, slot, GY, GX, 5 + 1] = 20.0
    _, single = _loss(ignore_thresh=1.0)(outs, _targets())
    _, multi = _loss(ignore_thresh=1.0, anchor_thresh=0.35)(outs, _targets())
    assert single["obj"] > 0.1  # two confident extra detections counted as negatives
    assert multi["obj"] < 1e-6 and multi["box"] < 1e-6


def test_label_smoothing_targets_and_loss():
    t = class_targets(torch.tensor([1, 0]), 3, smoothing=0.2)
    assert torch.allclose(t, torch.tensor([[0.1, 0.9, 0.1], [0.9, 0.1, 0.1]]))
    assert torch.equal(class_targets(torch.tensor([2]), 3), torch.tensor([[0.0, 0.0, 1.0]]))
    # Logits +-20 against targets 0.9 / 0.1: BCE = softplus(20) - 20 * 0.9 = 2.0 per class.
    _, parts = _loss(label_smoothing=0.2, cls_gain=1.0)(_perfect(), _targets())
    assert parts["cls"] == pytest.approx(2.0, rel=1e-5)


def test_focal_gamma_scales_by_one_minus_pt():
    outs = _background()
    outs[HEAD][0, SLOT, GY, GX, 4] = 1.0
    _, plain = _loss()(outs, torch.zeros(0, 6))
    _, focal = _loss(focal_gamma=2.0)(outs, torch.zeros(0, 6))
    p = torch.sigmoid(torch.tensor(1.0)).item()  # target 0: 1 - p_t = p
    assert focal["obj"] == pytest.approx(plain["obj"] * p**2, rel=1e-3)


@pytest.mark.parametrize("mode", BOX_LOSSES)
def test_each_box_loss_runs_with_finite_gradients(mode):
    torch.manual_seed(0)
    model = build_model("yolov3-tiny", 4).train()
    crit = YoloLoss.from_model(model, LossConfig(box_loss=mode, focal_gamma=1.5,
                                                 label_smoothing=0.1))
    targets = torch.tensor([[0, 1, 10, 12, 50, 60, 0], [1, 3, 0, 0, 64, 64, 0],
                            [1, 2, 30, 30, 34, 31, 1], [0, 0, 5, 40, 9, 44, 0.0]])
    total, parts = crit(model(torch.rand(2, 3, 64, 64)), targets)
    total.backward()
    assert set(parts) == {"box", "obj", "cls", "total"} and math.isfinite(parts["total"])
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    assert parts["box"] > 0 and parts["cls"] > 0


def test_no_targets_and_degenerate_boxes():
    model = build_model("yolov3-tiny", 2).train()
    crit = YoloLoss.from_model(model)
    total, parts = crit(model(torch.rand(1, 3, 64, 64)), torch.tensor([[0, 1, 5, 5, 5, 9.0]]))
    total.backward()
    assert parts["box"] == 0 and parts["cls"] == 0 and parts["obj"] > 0


def test_pad_per_image_and_batched_iou_match_torchvision():
    torch.manual_seed(0)
    b = torch.tensor([2, 0, 2, 2, 0])
    xy = torch.rand(5, 2) * 50
    boxes = torch.cat((xy, xy + torch.rand(5, 2) * 30 + 1), 1)
    padded, valid = pad_per_image(b, boxes, 4)
    assert padded.shape == (4, 3, 4) and valid.sum(1).tolist() == [2, 0, 3, 0]
    assert torch.equal(padded[2, :3], boxes[b == 2]) and torch.equal(padded[0, :2], boxes[b == 0])
    pxy = torch.rand(4, 7, 2) * 50
    pred = torch.cat((pxy, pxy + 20), 2)
    iou = batched_box_iou(pred, padded, valid)
    for i in range(4):
        n = int(valid[i].sum())
        assert torch.allclose(iou[i, :, :n], box_iou(pred[i], padded[i, :n]), atol=1e-6)
        assert (iou[i, :, n:] == 0).all()


def test_overfit_two_images():
    torch.manual_seed(0)
    model = build_model("yolov3-tiny", 3).train()
    crit = YoloLoss.from_model(model)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.rand(2, 3, 128, 128)
    targets = torch.tensor([[0, 0, 10, 20, 60, 70], [0, 1, 70, 30, 120, 60],
                            [1, 2, 5, 5, 40, 100], [1, 0, 50, 60, 90, 120.0]])
    losses = []
    for _ in range(60):
        total, _ = crit(model(x), targets)
        opt.zero_grad()
        total.backward()
        opt.step()
        losses.append(total.item())
    assert losses[-1] < losses[0] / 20
