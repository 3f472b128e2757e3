"""Config set-up: device and workers follow the machine, config-declared datasets exist in spawned processes."""
import multiprocessing
import os

import pytest
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog

from d2ext.config import get_cfg, load_config
from d2ext.engine import Trainer
from d2ext.engine.trainer import check_num_classes
from d2ext.evaluation import build_evaluator


MACHINE_DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def test_get_cfg_holds_this_machines_device_and_workers():
    cfg = get_cfg()
    assert cfg.MODEL.DEVICE == MACHINE_DEVICE
    assert cfg.DATALOADER.NUM_WORKERS == (0 if MACHINE_DEVICE == "cpu" else min(4, len(os.sched_getaffinity(0))))


def test_auto_in_a_file_or_an_override_is_resolved_as_it_is_merged(tmp_path):
    config = tmp_path / "auto.yaml"
    config.write_text("MODEL:\n  DEVICE: auto\nDATALOADER:\n  NUM_WORKERS: -1\n")
    cfg = get_cfg()
    cfg.merge_from_list(["MODEL.DEVICE", "cpu", "DATALOADER.NUM_WORKERS", 3])
    assert (cfg.MODEL.DEVICE, cfg.DATALOADER.NUM_WORKERS) == ("cpu", 3)  # explicit values are kept
    cfg.merge_from_file(str(config))
    assert (cfg.MODEL.DEVICE, cfg.DATALOADER.NUM_WORKERS) == (MACHINE_DEVICE, get_cfg().DATALOADER.NUM_WORKERS)
    cfg.merge_from_list(["MODEL.DEVICE", "cpu", "DATALOADER.NUM_WORKERS", -1])
    assert (cfg.MODEL.DEVICE, cfg.DATALOADER.NUM_WORKERS) == ("cpu", 0)
    cfg.merge_from_list(["MODEL.DEVICE", "auto"])
    assert cfg.MODEL.DEVICE == MACHINE_DEVICE


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
    assert type(build_evaluator(cfg, "tiny_val", str(tmp_path)).evaluator).__name__ == "COCOEvaluator"
    MetadataCatalog.get("no_evaluator_set").set(evaluator_type="nonexistent")
    with pytest.raises(ValueError, match=r"dataset 'no_evaluator_set': metadata evaluator_type = 'nonexistent' has no evaluator; known types: \[.*'classification', 'coco'.*\]"):
        build_evaluator(cfg, "no_evaluator_set", str(tmp_path))


def test_class_count_that_disagrees_with_the_dataset_is_refused(tiny_config):
    cfg = load_config(tiny_config, ["MODEL.ROI_HEADS.NUM_CLASSES", "5", "DATALOADER.NUM_WORKERS", "0"])
    with pytest.raises(ValueError, match=r"MODEL.ROI_HEADS.NUM_CLASSES = 5, but dataset 'tiny_train' has 3 classes "
                                         r"\['circle', 'square', 'triangle'\]\. Set MODEL.ROI_HEADS.NUM_CLASSES 3"):
        Trainer.build_train_loader(cfg)
    check_num_classes(load_config(tiny_config), ["tiny_train"])  # the right count passes
