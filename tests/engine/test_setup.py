"""Config set-up: device and AMP follow the machine, config-declared datasets exist in spawned processes."""
import multiprocessing

import pytest
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog

from d2ext.config import get_cfg
from d2ext.engine import Trainer, load_config, resolve_device
from d2ext.engine.trainer import check_num_classes
from d2ext.evaluation import build_evaluator


def test_auto_device_follows_the_machine():
    cfg = get_cfg()
    assert cfg.MODEL.DEVICE == "auto"
    resolve_device(cfg)
    assert cfg.MODEL.DEVICE == ("cuda" if torch.cuda.is_available() else "cpu")
    cfg.MODEL.DEVICE = "cpu"
    resolve_device(cfg)
    assert cfg.MODEL.DEVICE == "cpu"


def test_automatic_worker_count_is_none_on_the_cpu():
    cfg = get_cfg()
    assert cfg.DATALOADER.NUM_WORKERS == -1
    cfg.MODEL.DEVICE = "cpu"
    resolve_device(cfg)
    assert cfg.DATALOADER.NUM_WORKERS == 0
    cfg.DATALOADER.NUM_WORKERS = 3  # an explicit count is kept
    resolve_device(cfg)
    assert cfg.DATALOADER.NUM_WORKERS == 3


def _dataset_size_in_child(args):
    config_file, name = args
    load_config(config_file)  # what train_net's main() does in each launch() worker
    return len(DatasetCatalog.get(name)), MetadataCatalog.get(name).thing_classes


def test_config_declared_datasets_exist_in_spawned_processes(tiny_config):
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.map(_dataset_size_in_child, [(tiny_config, "tiny_train"), (tiny_config, "tiny_val")])
    assert results == [(24, ["circle", "square", "triangle"]), (8, ["circle", "square", "triangle"])]


def test_evaluator_follows_evaluator_type(tiny_config, tmp_path):
    cfg = load_config(tiny_config)
    DatasetCatalog.get("tiny_val")
    assert type(build_evaluator(cfg, "tiny_val", str(tmp_path))).__name__ == "COCOEvaluator"
    MetadataCatalog.get("no_evaluator_set").set(evaluator_type="nonexistent")
    with pytest.raises(ValueError, match=r"dataset 'no_evaluator_set': metadata evaluator_type = 'nonexistent' has no evaluator; known types: \[.*'classification', 'coco'.*\]"):
        build_evaluator(cfg, "no_evaluator_set", str(tmp_path))


def test_class_count_that_disagrees_with_the_dataset_is_refused(tiny_config):
    cfg = load_config(tiny_config, ["MODEL.ROI_HEADS.NUM_CLASSES", "5", "DATALOADER.NUM_WORKERS", "0"])
    with pytest.raises(ValueError, match=r"MODEL.ROI_HEADS.NUM_CLASSES = 5, but dataset 'tiny_train' has 3 classes "
                                         r"\['circle', 'square', 'triangle'\]\. Set MODEL.ROI_HEADS.NUM_CLASSES 3"):
        Trainer.build_train_loader(cfg)
    check_num_classes(load_config(tiny_config), ["tiny_train"])  # the right count passes
