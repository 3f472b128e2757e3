"""How ImageClassifier is exported: its logits are the graph; stacking and softmax stay in classify()."""
from ..export import ImageModelExport, register_export_adapter
from .modeling.classifier import classify


@register_export_adapter("ImageClassifier")
class ImageClassifierExport(ImageModelExport):
    """Graph "model": "images" (N, C, H, W) after the test-time resize and crop -> "logits" (N, num_classes)."""

    inference = staticmethod(classify)
