"""
Every private detectron2, torch and torchvision API d2ext uses, each where no public one exists, in one place.
Checked against detectron2 a59f0563 (sal-detectron2 0.7.2), torch 2.14.1 and torchvision 0.29.1;
tests/test_private_apis.py fails when one of them disappears.

Besides the functions below, d2ext overrides these protected methods, as detectron2's own subclasses do:
fvcore ``Checkpointer._load_file``, ``_torch_load`` and ``_load_model`` (d2ext.checkpoint.SafeCheckpointer);
and it sets ``DefaultTrainer._trainer`` (d2ext.engine.Trainer.__init__: DefaultTrainer's methods read it).
"""
import threading

import pycocotools.coco
import torch
from detectron2.data.datasets import load_coco_json
from detectron2.data.datasets.builtin_meta import _get_coco_instances_meta

__all__ = ["coco_category_ids", "cpu_computes_bf16", "drop_oldest_history_values", "is_downsampling_inverted_residual",
           "load_parsed_coco_json", "next_batch", "record_eval_results", "write_step_metrics"]

_coco_class_lock = threading.Lock()


def cpu_computes_bf16():
    """True when this CPU has bf16 arithmetic (AVX512-BF16 or AMX); elsewhere torch emulates bf16, slower than fp32."""
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def coco_category_ids():
    """COCO's 80 category ids, in the order of detectron2's COCO datasets (their contiguous ids)."""
    return sorted(_get_coco_instances_meta()["thing_dataset_id_to_contiguous_id"])


def load_parsed_coco_json(dataset, json_file, image_root, dataset_name):
    """
    detectron2's ``load_coco_json(json_file, image_root, dataset_name)`` on `dataset`, the COCO dict already
    parsed from the local file `json_file`, which is not read again. load_coco_json takes only a path, from
    which it builds ``pycocotools.coco.COCO``, looked up when called: for the call, that name is a subclass
    that indexes `dataset` when given `json_file` (and reads any other file as COCO does).
    """
    coco_class = pycocotools.coco.COCO

    class ParsedCOCO(coco_class):
        def __init__(self, annotation_file=None):
            if annotation_file != json_file:
                super().__init__(annotation_file)
                return
            super().__init__()
            self.dataset = dataset
            self.createIndex()

    with _coco_class_lock:
        pycocotools.coco.COCO = ParsedCOCO
        try:
            return load_coco_json(json_file, image_root, dataset_name)
        finally:
            pycocotools.coco.COCO = coco_class


def is_downsampling_inverted_residual(block):
    """True for the blocks of a torchvision MobileNetV3 ``features`` that downsample (torchvision marks them ``_is_cn``)."""
    return getattr(block, "_is_cn", False)


def next_batch(trainer):
    """The next batch of a detectron2 SimpleTrainer's data loader (its lazily created iterator)."""
    return next(trainer._data_loader_iter)


def write_step_metrics(trainer, loss_dict, data_time):
    """
    What SimpleTrainer.run_step does with an iteration's losses: write them (every gather_metric_period
    iterations), from a background thread when the trainer's async_write_metrics is set.
    """
    if trainer.async_write_metrics:
        trainer.concurrent_executor.submit(trainer._write_metrics, loss_dict, data_time, iter=trainer.iter)
    else:
        trainer._write_metrics(loss_dict, data_time)


def drop_oldest_history_values(history, keep):
    """Keep the last `keep` values of an fvcore HistoryBuffer (``values()`` is its own list; its averages stay)."""
    del history.values()[:-keep]


def record_eval_results(trainer, results):
    """Keep a DefaultTrainer's latest evaluation results where DefaultTrainer.train() checks TEST.EXPECTED_RESULTS."""
    trainer._last_eval_results = results
