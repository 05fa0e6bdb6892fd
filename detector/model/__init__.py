"""The network and its weights (torch): model (YOLOv3 / YOLOv3-tiny layer for layer as the
darknet cfgs), anchors, loss, boxes, checkpoint (the one torch.load), weights (darknet
.weights and .pt into a model) and export (ONNX).

Importing the package loads no torch: the names below are torch-free, so the training
settings (detector.training.config) offer them as choices without loading torch.
"""
from synth.errors import InputError

MODEL_NAMES = ("yolov3", "yolov3-tiny")
BOX_LOSSES = ("mse", "giou", "diou", "ciou")
MAX_STRIDE = 32   # of the coarsest head: an input size must be a multiple of it
MAX_IMG_SIZE = 8192


def check_img_size(size: int, stride: int = MAX_STRIDE) -> int:
    """An input size must be a positive multiple of the network's largest stride (and not
    so large that one input image cannot be held)."""
    if size <= 0 or size % stride:
        raise InputError(f"--img-size {size}: must be a positive multiple of {stride}")
    if size > MAX_IMG_SIZE:
        raise InputError(f"--img-size {size}: must be a positive multiple of {stride}, at most "
                         f"{MAX_IMG_SIZE}")
    return int(size)
