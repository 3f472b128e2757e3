"""The "gan" evaluator: FID/KID in a d2ext classifier's features, the real-vs-real floor, cycle L1, grids."""
import os

import numpy as np
import pytest
import torch

from conftest import REPO, write_images
from d2ext.config import load_config
from d2ext.evaluation import build_evaluator
from d2ext.gan.evaluation import ClassifierFeatures, real_halves

DCGAN_CONFIG = os.path.join(REPO, "configs/digits/gan/dcgan.yaml")


def gan_config(classifier_weights, *opts, config=DCGAN_CONFIG):
    return load_config(config, ["MODEL.DEVICE", "cpu", "TEST.GAN.CLASSIFIER_WEIGHTS", classifier_weights,
                                "TEST.GAN.KID_SUBSETS", 10, "TEST.GAN.KID_SUBSET_SIZE", 50, *opts])


def run_evaluator(evaluator, outputs, inputs=None):
    evaluator.reset()
    evaluator.process(inputs or [{}] * len(outputs), outputs)
    return evaluator.evaluate()["gan"]


def test_real_halves_are_a_seeded_partition():
    half_1, half_2 = real_halves(11, seed=3)
    assert sorted([*half_1, *half_2]) == list(range(11)) and len(half_1) == 5
    assert np.array_equal(real_halves(11, seed=3)[0], half_1)
    assert not np.array_equal(real_halves(11, seed=4)[0], half_1)


def test_generating_half_2_scores_exactly_the_floor_and_noise_scores_far_above(digits_classifier, tmp_path):
    cfg = gan_config(digits_classifier)
    evaluator = build_evaluator(cfg, "digits_gan_test", str(tmp_path))
    evaluator.reset()
    real = evaluator._real_images()[""]
    assert real.shape[1:] == (1, 32, 32) and real.dtype == torch.uint8  # INPUT.FORMAT "L", INPUT.GAN sizes
    half_2 = real[real_halves(len(real), cfg.TEST.GAN.SEED)[1]]

    same = run_evaluator(evaluator, [{"generated": image} for image in half_2])
    assert same["fid"] == pytest.approx(same["fid_floor"], rel=1e-6)
    assert same["kid"] == pytest.approx(same["kid_floor"], rel=1e-6, abs=1e-9)
    assert same["confidence"] == pytest.approx(same["confidence_real"])
    assert os.path.isfile(tmp_path / "samples.png")

    noise = torch.randint(0, 256, half_2.shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    far = run_evaluator(evaluator, [{"generated": image} for image in noise])
    assert far["fid"] > 10 * same["fid_floor"] and far["kid"] > 10 * max(same["kid_floor"], 1e-3)
    assert far["fid_floor"] == same["fid_floor"]  # the reference and floor do not depend on the samples


def test_sample_count_is_fixed_by_the_config(digits_classifier, tmp_path, caplog):
    cfg = gan_config(digits_classifier, "TEST.GAN.NUM_SAMPLES", 60)
    evaluator = build_evaluator(cfg, "digits_gan_test", str(tmp_path))
    images = torch.randint(0, 256, (100, 1, 32, 32), dtype=torch.uint8)
    with caplog.at_level("INFO", logger="d2ext"):
        run_evaluator(evaluator, [{"generated": image} for image in images])
    assert "60 generated vs 179 real (floor: 180 real)" in caplog.text


def test_classifier_features_convert_the_image_format(digits_classifier):
    cfg = gan_config(digits_classifier)
    classifier_cfg = load_config(os.path.join(os.path.dirname(digits_classifier), "config.yaml"), ["MODEL.DEVICE", "cpu"])
    gray = torch.randint(0, 256, (4, 1, 16, 16), dtype=torch.uint8)
    from_gray = ClassifierFeatures(classifier_cfg, digits_classifier, "L")(gray)
    from_bgr = ClassifierFeatures(classifier_cfg, digits_classifier, "BGR")(gray.expand(-1, 3, -1, -1))
    assert from_gray.shape == (4, 512)
    torch.testing.assert_close(from_gray, from_bgr)
    assert cfg.INPUT.FORMAT == "L" and classifier_cfg.INPUT.FORMAT == "RGB"


def test_translation_scores_per_direction_with_cycle_l1(digits_classifier, tmp_path):
    rng = np.random.default_rng(0)
    dark = rng.integers(0, 100, (20, 32, 32), dtype=np.uint8)
    light = rng.integers(150, 256, (24, 32, 32), dtype=np.uint8)
    root_a, root_b = write_images(tmp_path / "a", dark), write_images(tmp_path / "b", light)
    cfg = gan_config(digits_classifier, "DATASETS.REGISTER", {"pairs": {"TYPE": "unpaired", "ROOT_A": root_a, "ROOT_B": root_b}})
    evaluator = build_evaluator(cfg, "pairs", str(tmp_path / "eval"))
    evaluator.reset()
    real = evaluator._real_images()
    # A perfect translator: every A image becomes a B image and back exactly.
    inputs = [{"image": image, "domain": "A"} for image in real["A"]] + [{"image": image, "domain": "B"} for image in real["B"]]
    outputs = ([{"translated": real["B"][i], "reconstructed": image, "direction": "AB"} for i, image in enumerate(real["A"])]
               + [{"translated": real["A"][i % 20], "reconstructed": image, "direction": "BA"} for i, image in enumerate(real["B"])])
    results = run_evaluator(evaluator, outputs, inputs)
    assert results["cycle_l1_AB"] == 0 and results["cycle_l1_BA"] == 0
    for direction in ("AB", "BA"):
        assert {f"fid_{direction}", f"fid_floor_{direction}", f"kid_{direction}", f"confidence_{direction}"} <= set(results)
    # Translating A -> "A" (the identity) is far from B.
    identity = [{**output, "translated": inp["image"]} for inp, output in zip(inputs, outputs)]
    assert run_evaluator(evaluator, identity, inputs)["fid_AB"] > 2 * results["fid_AB"]
    assert os.path.isfile(tmp_path / "eval" / "samples.png")


def test_missing_classifier_says_how_to_make_one(tmp_path):
    cfg = gan_config("")
    with pytest.raises(ValueError, match=r"TEST.GAN.CLASSIFIER_WEIGHTS is empty.*train_net.py"):
        build_evaluator(cfg, "digits_gan_test", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no such file"):
        build_evaluator(gan_config(str(tmp_path / "missing.pth")), "digits_gan_test", str(tmp_path))
