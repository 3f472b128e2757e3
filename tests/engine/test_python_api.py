"""
A config built in Python, ``d2ext.get_cfg()`` + ``merge_from_file``, runs as it is in detectron2's own tools
(DefaultPredictor, build_model, build_detection_test_loader, DefaultTrainer) and in d2ext's (Predictor, trainers),
for every task family, on images whose sides are not multiples of 32.
"""
import json
import os

import numpy as np
import pytest
import torch
from detectron2.data import build_detection_test_loader
from detectron2.engine import DefaultPredictor, DefaultTrainer
from detectron2.modeling import build_model

import d2ext
from conftest import REPO, write_config
from d2ext.engine import trainer_class

pytestmark = pytest.mark.slow

IMAGE = np.random.default_rng(0).integers(0, 256, (173, 259, 3), dtype=np.uint8)  # BGR, H and W not multiples of 32
SEG_CLASSES = '["background", "circle", "square", "triangle"]'


@pytest.fixture(scope="module")
def config_files(tiny_config_for, tiny_shapes, tmp_path_factory):
    """family -> a config file: the bundled one, on the tiny shapes splits where the family trains on shapes."""
    seg_datasets = "\n".join(
        f'    tiny_seg_{split}: {{TYPE: sem_seg_folder, IMAGE_ROOT: "{d}/images", MASK_ROOT: "{d}/sem_seg", CLASSES: {SEG_CLASSES}}}'
        for split, d in tiny_shapes.items())
    segmenter = write_config(tmp_path_factory.mktemp("seg") / "unet.yaml",
                             os.path.join(REPO, "configs/shapes/semantic_segmentation/unet_light.yaml"),
                             f"DATASETS:\n  REGISTER:\n{seg_datasets}\n  TRAIN: (\"tiny_seg_train\",)\n  TEST: (\"tiny_seg_val\",)\n")
    return {"detector": tiny_config_for("shapes/detection/faster_rcnn_R_18_FPN.yaml"),
            "ssd": tiny_config_for("shapes/detection/ssd_R_18.yaml"),
            "segmenter": segmenter,
            "classifier": os.path.join(REPO, "configs/digits/classification/resnet18.yaml"),
            "cyclegan": os.path.join(REPO, "configs/shapes/gan/cyclegan_filled2outlined.yaml"),
            "dcgan": os.path.join(REPO, "configs/digits/gan/dcgan.yaml")}


def python_cfg(config_file, *opts):
    """The config of `config_file` with `opts`, as a user builds it in Python, its declared datasets registered."""
    cfg = d2ext.get_cfg()
    cfg.merge_from_file(config_file)
    cfg.merge_from_list(list(opts))
    d2ext.register_declared_datasets(cfg)
    return cfg


def test_a_python_config_holds_no_value_only_d2ext_understands(config_files):
    for config_file in config_files.values():
        cfg = python_cfg(config_file)
        torch.device(cfg.MODEL.DEVICE)  # a device torch knows
        assert cfg.DATALOADER.NUM_WORKERS >= 0


@pytest.mark.parametrize("family, output_key", [("detector", "instances"), ("segmenter", "sem_seg")])
def test_detectron2s_default_predictor_runs_a_python_config(config_files, family, output_key):
    outputs = DefaultPredictor(python_cfg(config_files[family]))(IMAGE)
    assert output_key in outputs
    if family == "segmenter":
        assert outputs["sem_seg"].shape == (4, *IMAGE.shape[:2])


@pytest.mark.parametrize("family, check", [
    ("detector", lambda out: out["instances"].image_size == IMAGE.shape[:2]),
    ("ssd", lambda out: out["instances"].image_size == IMAGE.shape[:2]),
    ("segmenter", lambda out: out["sem_seg"].shape == (4, *IMAGE.shape[:2])),
    ("classifier", lambda out: out["scores"].shape == (10,) and 0 <= int(out["pred_class"]) < 10),
    ("cyclegan", lambda out: out["translated"].shape == (3, 64, 64) and out["direction"] == "AB"),
])
def test_d2exts_predictor_runs_a_python_config(config_files, family, check):
    predictor = d2ext.Predictor(python_cfg(config_files[family]))
    outputs = predictor.predict_batch([IMAGE, IMAGE[:131, :97]])
    assert len(outputs) == 2 and check(outputs[0])


def test_d2exts_predictor_generates_from_seeds_with_a_python_config(config_files):
    predictor = d2ext.Predictor(python_cfg(config_files["dcgan"]))
    first, again = predictor.generate([0, 1]), predictor.generate([0])
    assert first[0]["generated"].shape == (1, 32, 32) and first[0]["generated"].dtype == torch.uint8
    assert torch.equal(first[0]["generated"], again[0]["generated"])


def test_detectron2s_builders_run_a_python_config(config_files):
    cfg = python_cfg(config_files["detector"])
    model = build_model(cfg).eval()
    batch = next(iter(build_detection_test_loader(cfg, "tiny_val")))
    with torch.no_grad():
        outputs = model(batch)
    assert outputs[0]["instances"].image_size == (batch[0]["height"], batch[0]["width"])


@pytest.mark.parametrize("family", ["detector", "segmenter"])
def test_detectron2s_default_trainer_trains_a_python_config(config_files, family, tmp_path):
    # DefaultTrainer knows detectron2's own LR schedules only; the segmenters' "WarmupPolyLR" needs d2ext's Trainer,
    # as it needs detectron2's DeepLab project's trainer there.
    cfg = python_cfg(config_files[family], "SOLVER.MAX_ITER", 2, "SOLVER.IMS_PER_BATCH", 2, "TEST.EVAL_PERIOD", 0,
                     "DATASETS.TEST", (), "OUTPUT_DIR", str(tmp_path), "SOLVER.LR_SCHEDULER_NAME", "WarmupMultiStepLR")
    trainer = DefaultTrainer(cfg)
    trainer.resume_or_load(resume=False)
    trainer.train()
    with open(tmp_path / "metrics.json") as f:
        assert [json.loads(line)["iteration"] for line in f] == [1]
    assert os.path.isfile(tmp_path / "model_final.pth")


@pytest.mark.parametrize("family", ["detector", "ssd", "segmenter", "classifier", "dcgan"])
def test_d2exts_trainer_trains_a_python_config(config_files, family, tmp_path):
    cfg = python_cfg(config_files[family], "SOLVER.MAX_ITER", 2, "SOLVER.IMS_PER_BATCH", 2, "DATASETS.TEST", (),
                     "OUTPUT_DIR", str(tmp_path))
    trainer = trainer_class(cfg)(cfg)
    trainer.resume_or_load(resume=False)
    trainer.train()
    assert trainer.iter == 2 and os.path.isfile(tmp_path / "model_final.pth")
