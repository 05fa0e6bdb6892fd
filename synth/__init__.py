"""synth: viewpoint-correct compositing of cut-out subjects into VOC datasets."""

__version__ = "0.1.0"
