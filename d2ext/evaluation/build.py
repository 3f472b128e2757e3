"""Evaluator dispatch: the dataset's ``evaluator_type`` metadata names a builder in EVALUATOR_REGISTRY."""
import os

from detectron2.data import MetadataCatalog
from detectron2.data.datasets.coco import convert_to_coco_json
from detectron2.evaluation import COCOEvaluator
from detectron2.utils.registry import Registry

from .staged_outputs import StagedOutputs

__all__ = ["EVALUATOR_REGISTRY", "build_evaluator"]

EVALUATOR_REGISTRY = Registry("D2EXT_EVALUATOR")
EVALUATOR_REGISTRY.__doc__ = """
Evaluator builders keyed by a dataset's ``evaluator_type``: ``fn(cfg, dataset_name, output_dir)``
returns a detectron2 ``DatasetEvaluator``. Each task adds its types here, not in a chain of ifs.
"""


@EVALUATOR_REGISTRY.register()
def coco(cfg, dataset_name, output_dir):
    """detectron2's COCOEvaluator (box AP, and mask AP when the model predicts masks), its files written atomically."""
    metadata = MetadataCatalog.get(dataset_name)
    if output_dir and not hasattr(metadata, "json_file"):
        # COCOEvaluator would cache the ground truth in its output folder, here the staging one that evaluate() empties.
        metadata.json_file = os.path.join(output_dir, f"{dataset_name}_coco_format.json")
        convert_to_coco_json(dataset_name, metadata.json_file)
    # Without detectron2's _C, COCOEvaluator falls back to pycocotools' own COCOeval by itself.
    return StagedOutputs(lambda folder: COCOEvaluator(dataset_name, output_dir=folder,
                                                      max_dets_per_image=cfg.TEST.DETECTIONS_PER_IMAGE), output_dir)


def build_evaluator(cfg, dataset_name, output_dir):
    """The evaluator for `dataset_name`, chosen by its metadata's ``evaluator_type``."""
    evaluator_type = MetadataCatalog.get(dataset_name).get("evaluator_type")
    if evaluator_type not in EVALUATOR_REGISTRY:
        raise ValueError(
            f"dataset '{dataset_name}': metadata evaluator_type = {evaluator_type!r} has no evaluator; "
            f"known types: {sorted(k for k, _ in EVALUATOR_REGISTRY)}. Set EVALUATOR_TYPE in its "
            "DATASETS.REGISTER entry or register a builder in d2ext.evaluation.EVALUATOR_REGISTRY."
        )
    return EVALUATOR_REGISTRY.get(evaluator_type)(cfg, dataset_name, output_dir)
