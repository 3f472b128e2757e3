"""A diverging run stops with the iteration and the last good checkpoint, which stays loadable."""
import os

import pytest
import torch

from conftest import REPO
from d2ext.config import load_config
from d2ext.engine import Trainer


def test_nan_loss_names_the_iteration_and_the_last_good_checkpoint(tmp_path):
    cfg = load_config(os.path.join(REPO, "configs/digits/classification/resnet18.yaml"),
                      ["MODEL.DEVICE", "cpu", "SOLVER.BASE_LR", 1e12, "SOLVER.WARMUP_ITERS", 0, "SOLVER.IMS_PER_BATCH", 8,
                       "SOLVER.MAX_ITER", 20, "SOLVER.CHECKPOINT_PERIOD", 1, "DATASETS.TEST", (),
                       "DATALOADER.NUM_WORKERS", 0, "OUTPUT_DIR", str(tmp_path)])
    trainer = Trainer(cfg)
    with pytest.raises(FloatingPointError, match=r"(?s)Training diverged at iteration (\d+).*last good checkpoint, left "
                                                 r"intact, is .*model_\d{7}.pth.*--resume"):
        trainer.train()
    last = (tmp_path / "last_checkpoint").read_text()
    assert torch.load(tmp_path / last, weights_only=True)["iteration"] < trainer.iter
