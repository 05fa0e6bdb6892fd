"""YOLOv3 detector: model, weights, loss, training, inference and metrics.

`import detector` stays torch-free (the metrics path needs no torch); `build_model` imports
torch on first use.
"""


def build_model(name: str, num_classes: int, anchors=None, masks=None):
    """Build `yolov3` or `yolov3-tiny` (see detector.model.build_model)."""
    from .model import build_model as _build

    return _build(name, num_classes, anchors, masks)
