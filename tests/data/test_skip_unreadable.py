"""An unreadable training image stops training naming it, or with DATALOADER.SKIP_UNREADABLE is skipped and reported."""
import os

import numpy as np
import pytest

from conftest import REPO, write_images
from d2ext.data import DatasetError, build_mapper
from d2ext.config import load_config
from d2ext.engine import Trainer


@pytest.fixture
def folder_with_a_truncated_image(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        write_images(tmp_path / "train" / name, rng.integers(0, 256, (4, 16, 16, 3), dtype=np.uint8))
    truncated = tmp_path / "train" / "b" / "001.png"
    truncated.write_bytes(truncated.read_bytes()[:60])
    return str(tmp_path / "train"), str(truncated)


def config(root, output_dir, skip):
    name = "bad_" + os.path.basename(os.path.dirname(root))  # one dataset name per test folder
    return load_config(os.path.join(REPO, "configs/digits/classification/resnet18.yaml"), [
        "MODEL.DEVICE", "cpu", "DATASETS.REGISTER", {name: {"TYPE": "image_folder", "ROOT": root}},
        "DATASETS.TRAIN", (name,), "DATASETS.TEST", (), "MODEL.CLS_HEAD.NUM_CLASSES", 2,
        "INPUT.CLS.RESIZE", 16, "INPUT.CLS.CROP_SIZE", 16, "SOLVER.IMS_PER_BATCH", 4, "SOLVER.MAX_ITER", 6,
        "SOLVER.WARMUP_ITERS", 0, "DATALOADER.NUM_WORKERS", 0, "DATALOADER.SKIP_UNREADABLE", skip,
        "OUTPUT_DIR", output_dir])


def test_by_default_the_first_unreadable_image_stops_with_its_name(folder_with_a_truncated_image, tmp_path):
    root, truncated = folder_with_a_truncated_image
    mapper = build_mapper(config(root, str(tmp_path / "out"), False), is_train=True)
    with pytest.raises(DatasetError, match=f"{truncated}: cannot read this image"):
        mapper({"file_name": truncated, "label": 1})


def test_skipping_reports_each_skipped_image_and_training_finishes(folder_with_a_truncated_image, tmp_path, caplog):
    root, truncated = folder_with_a_truncated_image
    cfg = config(root, str(tmp_path / "out"), True)
    assert build_mapper(cfg, is_train=True)({"file_name": truncated, "label": 1}) is None
    test_mapper = build_mapper(cfg, is_train=False)  # evaluation never skips: it stops naming the file
    with pytest.raises(DatasetError, match=f"{truncated}: cannot read this image"):
        test_mapper({"file_name": truncated, "label": 1})
    with caplog.at_level("WARNING", logger="d2ext"):
        trainer = Trainer(cfg)
        trainer.train()
    assert trainer.iter == 6
    assert "Skipped a training record (1 so far" in caplog.text and truncated in caplog.text
