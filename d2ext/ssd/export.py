"""How SSD is exported: scores and decoded boxes of every default box are the graph; detect() keeps NMS and rescaling."""
from ..export import ImageModelExport, register_export_adapter
from .modeling.ssd import SSDDetectionSelection, detect


@register_export_adapter("SSD")
class SSDExport(ImageModelExport):
    """
    Graph "model": "images" (N, 3, H, W) -> "scores" (N, R, num_classes), "boxes" (N, R, 4) XYXY in the
    MODEL.SSD.IMAGE_SIZE square: normalisation, resize, backbone, head, softmax and box decoding. The choice
    of detections (thresholds, top-k, NMS per class) and the rescaling to the image stay outside, so their
    MODEL.SSD.*_TEST keys may differ from the exported config.
    """

    method = "scores_and_boxes"
    output_names = ("scores", "boxes")
    inference = staticmethod(detect)
    runtime_keys = ("MODEL.SSD.TOPK_CANDIDATES_TEST", "MODEL.SSD.NMS_THRESH_TEST")  # and SCORE_THRESH_TEST

    def inference_args(self):
        return (SSDDetectionSelection.from_config(self.cfg),)
