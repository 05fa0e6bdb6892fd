"""YOLOv3 detector: one subpackage per concern (docs/design.md, "Layout").

Torch side: model/ (network, anchors, loss, checkpoints, darknet weights, ONNX), data/ (VOC sets
to batches), training/ (settings, optimiser, run outputs, the trainer), predict.py (the one
inference path) and device.py. Torch-free: evaluation/ (metrics and reports), diagnosis/
(compare-real) and experiments/ (ablate, demo, the run log); they reach a model only through
evaluation.evaluate.model_detections and experiments.ablate.run's default trainer.

`import detector` stays torch-free; `build_model` imports torch on first use.
"""


def build_model(name: str, num_classes: int, anchors=None, masks=None):
    """Build `yolov3` or `yolov3-tiny` (see detector.model.model.build_model)."""
    from .model.model import build_model as build

    return build(name, num_classes, anchors, masks)
