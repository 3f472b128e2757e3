"""GANs through tools/train_net.py: GANTrainer's optimizers, schedules, checkpoints, resume, processes, evaluation."""
import os
import re

import cv2
import numpy as np
import pytest
import torch

from conftest import REPO, evaluation_results, run_python, run_tool, write_config, write_images
from d2ext.config import load_config
from d2ext.engine import trainer_class
from d2ext.gan import GANTrainer

pytestmark = pytest.mark.slow

DCGAN_CONFIG = os.path.join(REPO, "configs/digits/gan/dcgan.yaml")
CYCLEGAN_CONFIG = os.path.join(REPO, "configs/shapes/gan/cyclegan_filled2outlined.yaml")
TINY_DCGAN = ["MODEL.DCGAN.GENERATOR_CHANNELS", "8", "MODEL.DCGAN.DISCRIMINATOR_CHANNELS", "8",
              "SOLVER.IMS_PER_BATCH", "16", "DATALOADER.NUM_WORKERS", "0"]


def tiny_dcgan_run(classifier, output_dir, max_iter=4):
    return ["--config-file", DCGAN_CONFIG, *TINY_DCGAN, "SOLVER.MAX_ITER", str(max_iter), "SOLVER.CHECKPOINT_PERIOD", "2",
            "TEST.EVAL_PERIOD", "0", "DATASETS.TEST", "('digits_gan_test',)", "TEST.GAN.CLASSIFIER_WEIGHTS", classifier,
            "TEST.GAN.NUM_SAMPLES", "40", "TEST.GAN.KID_SUBSET_SIZE", "20", "TEST.GAN.KID_SUBSETS", "5",
            "OUTPUT_DIR", str(output_dir)]


@pytest.fixture(scope="module")
def dcgan_run(digits_classifier, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("dcgan")
    run_tool("train_net.py", *tiny_dcgan_run(digits_classifier, output_dir), "TEST.EVAL_PERIOD", "2")
    return output_dir


def test_dcgan_trains_checkpoints_and_evaluates_through_train_net(dcgan_run, digits_classifier):
    checkpoint = torch.load(dcgan_run / "model_final.pth", weights_only=True)
    assert {k.split(".")[0] for k in checkpoint["model"]} == {"generator", "discriminator"}
    trainer_state = checkpoint["trainer"]
    assert trainer_state["iteration"] == 3
    assert set(trainer_state["_trainer"]["optimizer"]) == {"discriminator", "generator"}
    assert all(state["state"] for state in trainer_state["_trainer"]["optimizer"].values())  # Adam moments of both
    assert set(trainer_state["hooks"]["LRSchedulers"]) == {"discriminator", "generator"}

    results = evaluation_results(dcgan_run)["results"]["digits_gan_test"]["gan"]
    assert {"fid", "fid_floor", "kid", "kid_floor", "confidence", "confidence_real"} <= set(results)
    assert all(np.isfinite(v) for v in results.values())
    grid = cv2.imread(str(dcgan_run / "inference" / "digits_gan_test" / "samples_iter0000004.png"))
    assert grid.shape == (2 + 6 * 34, 2 + 7 * 34, 3)  # 40 samples of 32 px in 6 rows of 7, 2 px apart
    log = (dcgan_run / "log.txt").read_text()
    assert "lr/generator" in (dcgan_run / "metrics.json").read_text() and "loss_D_real" in log
    # Two evaluations (after iterations 2 and 4): the classifier is loaded and the real images are embedded once.
    assert (dcgan_run / "inference" / "digits_gan_test" / "samples_iter0000002.png").is_file()
    assert log.count(f"[Checkpointer] Loading from {digits_classifier} ...") == 1
    assert len(re.findall(r"(Computed|Loaded) the features of 359 real images", log)) == 1


def test_dcgan_eval_only_and_demo_generate_the_same_images(dcgan_run, digits_classifier, tmp_path):
    weights = str(dcgan_run / "model_final.pth")
    run_tool("train_net.py", "--eval-only", *tiny_dcgan_run(digits_classifier, tmp_path / "eval"), "MODEL.WEIGHTS", weights)
    # A new process: the real features come from the file the training run kept beside the classifier.
    assert "Loaded the features of 359 real images" in (tmp_path / "eval" / "log.txt").read_text()
    assert (evaluation_results(dcgan_run)["results"] == evaluation_results(tmp_path / "eval")["results"])
    run_tool("demo.py", "--config-file", DCGAN_CONFIG, "--seeds", "0", "1", "2", "--output", str(tmp_path / "demo"),
             *TINY_DCGAN, "MODEL.WEIGHTS", weights)
    grid = cv2.imread(str(tmp_path / "demo" / "samples.png"))
    assert grid.shape == (2 + 2 * 34, 2 + 2 * 34, 3)


def gan_trainer_config(output_dir, max_iter, *opts):
    return load_config(DCGAN_CONFIG, ["MODEL.DEVICE", "cpu", *TINY_DCGAN, "SOLVER.MAX_ITER", max_iter,
                                      "SOLVER.CHECKPOINT_PERIOD", 2, "SOLVER.STEPS", (2,), "DATASETS.TEST", (),
                                      "OUTPUT_DIR", str(output_dir), *opts])


def test_resume_restores_every_model_optimizer_and_schedule(tmp_path):
    torch.manual_seed(0)
    first = GANTrainer(gan_trainer_config(tmp_path, 4))
    first.train()
    resumed = GANTrainer(gan_trainer_config(tmp_path, 6))
    resumed.resume_or_load(resume=True)
    assert resumed.start_iter == 4
    for name, optimizer in first._trainer.optimizer.items():
        saved, loaded = optimizer.state_dict(), resumed._trainer.optimizer[name].state_dict()
        assert saved["param_groups"][0]["lr"] == pytest.approx(2e-5)  # after the step at iteration 2
        assert loaded["param_groups"][0]["lr"] == saved["param_groups"][0]["lr"]
        for state, state_loaded in zip(saved["state"].values(), loaded["state"].values()):
            torch.testing.assert_close(state_loaded["exp_avg"], state["exp_avg"])
        assert resumed.scheduler[name].last_epoch == first.scheduler[name].last_epoch == 4
    for (key, value), loaded in zip(first.model.state_dict().items(), resumed.model.state_dict().values()):
        torch.testing.assert_close(loaded, value, msg=key)
    resumed.train()
    assert resumed.iter == 6  # detectron2's loop leaves iter at MAX_ITER


def test_two_processes_keep_identical_weights(tmp_path):
    worker = os.path.join(REPO, "tests/engine/gan_launch_worker.py")
    run_python(worker, "--num-gpus", "2", "--config-file", DCGAN_CONFIG, *TINY_DCGAN, "MODEL.DEVICE", "cpu",
               "SOLVER.MAX_ITER", "3", "DATASETS.TEST", "()", "OUTPUT_DIR", str(tmp_path), timeout=300)
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pth", weights_only=True) for r in (0, 1))
    for name in rank0:  # different seeds and data per process: only rank 0's start and averaged gradients agree
        torch.testing.assert_close(rank1[name], rank0[name], msg=name)


def test_cyclegan_trains_and_evaluates_per_direction(tmp_path, digits_classifier):
    rng = np.random.default_rng(0)
    root_a = write_images(tmp_path / "a", rng.integers(0, 100, (8, 32, 32, 3), dtype=np.uint8))
    # Domain B mixes 1- and 4-channel images: converted to RGB when read, and counted in the log.
    root_b = write_images(tmp_path / "b", [*rng.integers(150, 256, (5, 32, 32), dtype=np.uint8),
                                           *rng.integers(150, 256, (3, 32, 32, 4), dtype=np.uint8)])
    output_dir = tmp_path / "out"
    config = write_config(tmp_path / "pairs.yaml", CYCLEGAN_CONFIG, f"""
DATASETS:
  REGISTER:
    pairs: {{TYPE: unpaired, ROOT_A: "{root_a}", ROOT_B: "{root_b}"}}
  TRAIN: ("pairs",)
  TEST: ("pairs",)
""")
    tiny = ["INPUT.GAN.RESIZE", "32", "INPUT.GAN.IMAGE_SIZE", "32", "MODEL.CYCLEGAN.GENERATOR_CHANNELS", "8",
            "MODEL.CYCLEGAN.GENERATOR_BLOCKS", "1", "MODEL.CYCLEGAN.DISCRIMINATOR_CHANNELS", "8"]
    run_tool("train_net.py", "--config-file", config, *tiny, "SOLVER.IMS_PER_BATCH", "2", "SOLVER.MAX_ITER", "3",
             "DATALOADER.NUM_WORKERS", "0", "TEST.GAN.CLASSIFIER_WEIGHTS", digits_classifier,
             "TEST.GAN.KID_SUBSET_SIZE", "4", "TEST.GAN.KID_SUBSETS", "5", "OUTPUT_DIR", str(output_dir))
    results = evaluation_results(output_dir)["results"]["pairs"]["gan"]
    for direction in ("AB", "BA"):
        assert {f"fid_{direction}", f"fid_floor_{direction}", f"cycle_l1_{direction}"} <= set(results)
        assert 0 < results[f"cycle_l1_{direction}"] < 1
    checkpoint = torch.load(output_dir / "model_final.pth", weights_only=True)
    assert set(checkpoint["trainer"]["_trainer"]["optimizer"]) == {"discriminators", "generators"}
    log = (output_dir / "log.txt").read_text()
    assert "5 of 16 images have 1 channel, 3 have 4 (alpha dropped)" in log, log[-3000:]
    assert (output_dir / "inference" / "pairs" / "samples_iter0000003.png").is_file()

    run_tool("demo.py", "--config-file", config, "--domain", "B", "--input", root_b, "--output", str(tmp_path / "strips"),
             *tiny, "MODEL.WEIGHTS", str(output_dir / "model_final.pth"))
    strips = sorted(os.listdir(tmp_path / "strips"))
    assert len(strips) == 8 and cv2.imread(str(tmp_path / "strips" / strips[0])).shape == (2 + 34, 2 + 3 * 34, 3)


@pytest.mark.parametrize("config, trainer", [(DCGAN_CONFIG, "Trainer"), ("configs/digits/classification/resnet18.yaml", "GANTrainer")])
def test_a_trainer_that_cannot_train_the_model_is_refused(config, trainer):
    cfg = load_config(os.path.join(REPO, config), ["SOLVER.TRAINER", trainer])
    with pytest.raises(ValueError, match=f"SOLVER.TRAINER = '{trainer}' cannot train .* set SOLVER.TRAINER to"):
        trainer_class(cfg)
