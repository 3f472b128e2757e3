"""How detectron2's R-CNNs are exported: detectron2's TracingAdapter over GeneralizedRCNN.inference, as its own deploy tool."""
import torch
from detectron2.export import TracingAdapter
from detectron2.modeling.postprocessing import detector_postprocess
from detectron2.structures import Boxes, Instances

from ..export import ExportAdapter, Graph, register_export_adapter

SCORE_THRESHOLD_KEY = "MODEL.ROI_HEADS.SCORE_THRESH_TEST"


def _roi_inference(model, inputs):
    """As detectron2's tools/deploy/export_model.py: detections in the resized input, masks still per box (M x M)."""
    return [{"instances": model.inference(inputs, do_postprocess=False)[0]}]


@register_export_adapter("GeneralizedRCNN")
class GeneralizedRCNNExport(ExportAdapter):
    """
    Graph "model" (one image per call, through the legacy TorchScript-based ONNX exporter, for which detectron2
    made its R-CNNs traceable): "image" (3, H, W) float32 pixels in INPUT.FORMAT after the test-time resize ->
    "pred_boxes" (D, 4) XYXY in that image, "pred_classes" (D,), ["pred_masks" (D, 1, M, M) probabilities with
    MODEL.MASK_ON,] "scores" (D,), "image_size" (2,). Normalisation, padding, RPN, ROI heads, their thresholds and
    NMS are in the graph. Outside: detectron2's detector_postprocess (boxes rescaled to "height" x "width",
    masks pasted), and MODEL.ROI_HEADS.SCORE_THRESH_TEST when it is above the exported one (a higher threshold
    filters the exported detections exactly; a lower one needs a new export).
    """

    dynamo_onnx_export = False

    def __init__(self, cfg):
        super().__init__(cfg)
        fields = ["pred_boxes", "pred_classes", *(["pred_masks"] if cfg.MODEL.MASK_ON else []), "scores"]
        self.output_names = (*fields, "image_size")  # TracingAdapter flattens Instances' fields in sorted order
        self.score_threshold = cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST

    def graphs(self, model):
        example = [{"image": torch.zeros(3, 64, 64)}]  # only its structure is kept: any image size follows
        detections = {name: {0: "detections"} for name in self.output_names[:-1]}
        return {"model": Graph(TracingAdapter(model, example, _roi_inference), ("image",), self.output_names,
                               {"image": {1: "height", 2: "width"}, **detections})}

    def __call__(self, run, batched_inputs):
        results = []
        for x in batched_inputs:
            *fields, image_size = run("model", x["image"].float())
            size = tuple(int(s) for s in image_size)
            instances = Instances(size, **dict(zip(self.output_names, fields)))
            instances.pred_boxes = Boxes(instances.pred_boxes)
            instances = instances[instances.scores > self.score_threshold]
            results.append({"instances": detector_postprocess(instances, x.get("height", size[0]), x.get("width", size[1]))})
        return results

    def config_differences(self, exported_cfg, cfg):
        differences = super().config_differences(exported_cfg, cfg)
        exported, now = exported_cfg["MODEL"]["ROI_HEADS"]["SCORE_THRESH_TEST"], cfg["MODEL"]["ROI_HEADS"]["SCORE_THRESH_TEST"]
        if now < exported:
            differences.append((SCORE_THRESHOLD_KEY, exported, now))
        if exported_cfg["TEST"]["DETECTIONS_PER_IMAGE"] != cfg["TEST"]["DETECTIONS_PER_IMAGE"]:
            differences.append(("TEST.DETECTIONS_PER_IMAGE", exported_cfg["TEST"]["DETECTIONS_PER_IMAGE"],
                                cfg["TEST"]["DETECTIONS_PER_IMAGE"]))
        return differences
