"""Evaluator dispatch: the dataset's ``evaluator_type`` metadata names a builder in EVALUATOR_REGISTRY."""
from detectron2.data import MetadataCatalog
from fvcore.common.registry import Registry

from .atomic_outputs import COCOEvaluator

__all__ = ["EVALUATOR_REGISTRY", "build_evaluator"]

EVALUATOR_REGISTRY = Registry("D2EXT_EVALUATOR")
EVALUATOR_REGISTRY.__doc__ = """
Evaluator builders keyed by a dataset's ``evaluator_type``: ``fn(cfg, dataset_name, output_dir)``
returns a detectron2 ``DatasetEvaluator``. Later tasks add their types here, not in a chain of ifs.
"""


@EVALUATOR_REGISTRY.register()
def coco(cfg, dataset_name, output_dir):
    """COCO box AP (and mask AP when the model predicts masks), via pycocotools."""
    # Without detectron2's _C, COCOEvaluator falls back to pycocotools' own COCOeval by itself.
    return COCOEvaluator(dataset_name, output_dir=output_dir, max_dets_per_image=cfg.TEST.DETECTIONS_PER_IMAGE)


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
