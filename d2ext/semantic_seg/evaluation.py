"""Semantic segmentation metrics: detectron2's mIoU evaluator on checked masks, its results also as JSON."""
import os
from functools import partial

from detectron2.data import MetadataCatalog
from detectron2.evaluation import SemSegEvaluator
from detectron2.utils import comm

from ..evaluation import EVALUATOR_REGISTRY, StagedOutputs
from ..utils.file_io import atomic_write_json
from .data.masks import check_mask_ids, read_mask

__all__ = ["SemanticSegmentationEvaluator"]


def _read_checked_mask(file_name, dtype, num_classes, ignore_label):
    """The (H, W) class ids of the mask `file_name` as `dtype`; DatasetError on an id outside the classes."""
    mask = read_mask(file_name)
    check_mask_ids(mask, num_classes, ignore_label, file_name)
    return mask.astype(dtype)


class SemanticSegmentationEvaluator(SemSegEvaluator):
    """
    detectron2's SemSegEvaluator over a dataset whose metadata has ``stuff_classes`` (K names) and
    ``ignore_label``: results in percent under "sem_seg" (mIoU, fwIoU, mACC, pACC, IoU-<class>,
    ACC-<class>, and boundary IoU per class). Its ground truth masks are read as stored (a palette PNG
    gives its indices) and an id outside 0..K-1 other than ``ignore_label`` raises a DatasetError naming
    the mask, where detectron2 would count it in the wrong cell. With an `output_dir`, the main process
    also writes the results to ``sem_seg_evaluation.json``. The "sem_seg" evaluator builder wraps it in
    StagedOutputs, so that every file it writes appears only complete.
    """

    def __init__(self, dataset_name, distributed=True, output_dir=None):
        """
        Args:
            dataset_name (str): a dataset whose records have "file_name" and "sem_seg_file_name".
            distributed (bool): gather the images of all processes and evaluate them in the main process.
            output_dir (str or None): where to write sem_seg_evaluation.json and detectron2's files.
        """
        metadata = MetadataCatalog.get(dataset_name)
        loading_fn = partial(_read_checked_mask, num_classes=len(metadata.stuff_classes),
                             ignore_label=metadata.ignore_label)
        super().__init__(dataset_name, distributed=distributed, output_dir=output_dir, sem_seg_loading_fn=loading_fn)
        self.results_dir = output_dir

    def evaluate(self):
        """{"sem_seg": {metric: percentage}} (None in the other processes of a distributed evaluation)."""
        results = super().evaluate()
        if results and self.results_dir and comm.is_main_process():
            atomic_write_json(os.path.join(self.results_dir, "sem_seg_evaluation.json"), results)
        return results


@EVALUATOR_REGISTRY.register()
def sem_seg(cfg, dataset_name, output_dir):
    """mIoU, pixel accuracy and per-class IoU and accuracy (SemanticSegmentationEvaluator), its files written atomically."""
    return StagedOutputs(lambda folder: SemanticSegmentationEvaluator(dataset_name, output_dir=folder), output_dir)


@EVALUATOR_REGISTRY.register()
def cityscapes_sem_seg(cfg, dataset_name, output_dir):
    """
    detectron2's built-in Cityscapes semantic splits: the same mIoU evaluator on their trainId masks
    (19 classes, 255 ignored), so cityscapesscripts is not needed.
    """
    return sem_seg(cfg, dataset_name, output_dir)
