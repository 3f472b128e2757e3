"""How ExactSizeSemanticSegmentor is exported: its logits at input size are the graph; resizing stays in segment()."""
from ..export import ImageModelExport, register_export_adapter
from .modeling.exact_size_segmentor import segment


@register_export_adapter("ExactSizeSemanticSegmentor")
class SemanticSegmentorExport(ImageModelExport):
    """
    Graph "model": "images" (N, C, H, W) -> "logits" (N, K, H, W): normalisation, padding to the backbone's size
    divisibility, backbone, head, upsampling and crop.
    """

    inference = staticmethod(segment)
