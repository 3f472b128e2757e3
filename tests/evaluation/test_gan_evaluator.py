"""
The "gan" evaluator: FID/KID in a d2ext classifier's features, the real-vs-real floor, cycle L1, grids, and the
classifier and real features computed once per process and dataset.
"""
import os
import shutil

import cv2
import numpy as np
import pytest
import torch
from detectron2.data import DatasetCatalog
from detectron2.modeling import build_model

from conftest import REPO, write_images
from d2ext.checkpoint import SafeCheckpointer
from d2ext.config import load_config
from d2ext.data import build_mapper
from d2ext.evaluation import build_evaluator
from d2ext.gan import evaluation, real_features
from d2ext.gan.evaluation import ClassifierFeatures, GANEvaluator, real_halves

DCGAN_CONFIG = os.path.join(REPO, "configs/digits/gan/dcgan.yaml")


def gan_config(classifier_weights, *opts, config=DCGAN_CONFIG):
    return load_config(config, ["MODEL.DEVICE", "cpu", "TEST.GAN.CLASSIFIER_WEIGHTS", classifier_weights,
                                "TEST.GAN.KID_SUBSETS", 10, "TEST.GAN.KID_SUBSET_SIZE", 50, *opts])


def run_evaluator(evaluator, outputs, inputs=None):
    evaluator.reset()
    evaluator.process(inputs or [{}] * len(outputs), outputs)
    return evaluator.evaluate()["gan"]


def real_images(cfg, dataset_name):
    """domain ("" without domains) -> (N, C, H, W) uint8 real images of the dataset, read with the test mapper."""
    mapper, by_domain = build_mapper(cfg, is_train=False), {}
    for record in DatasetCatalog.get(dataset_name):
        by_domain.setdefault(record.get("domain", ""), []).append(mapper(record)["image"])
    return {domain: torch.stack(images) for domain, images in by_domain.items()}


class CountingMapper:
    """The test mapper of `cfg`, counting the images it reads."""

    def __init__(self, cfg):
        self.mapper, self.count = build_mapper(cfg, is_train=False), 0

    def __call__(self, record):
        self.count += 1
        return self.mapper(record)


def forget_this_process():
    """Drop the classifier, real features and floor scores this process keeps, as a new process starts without them."""
    evaluation._CLASSIFIER.clear()
    evaluation._FLOORS.clear()
    real_features._IN_MEMORY.clear()


@pytest.fixture
def own_classifier(digits_classifier, tmp_path):
    """A copy of the digits classifier in this test's folder: no process or file has its real features yet."""
    folder = tmp_path / "classifier"
    folder.mkdir()
    for name in ("model_final.pth", "config.yaml"):
        shutil.copy(os.path.join(os.path.dirname(digits_classifier), name), folder / name)
    return str(folder / "model_final.pth")


def test_real_halves_are_a_seeded_partition():
    half_1, half_2 = real_halves(11, seed=3)
    assert sorted([*half_1, *half_2]) == list(range(11)) and len(half_1) == 5
    assert np.array_equal(real_halves(11, seed=3)[0], half_1)
    assert not np.array_equal(real_halves(11, seed=4)[0], half_1)


def test_generating_half_2_scores_exactly_the_floor_and_noise_scores_far_above(digits_classifier, tmp_path):
    cfg = gan_config(digits_classifier)
    evaluator = build_evaluator(cfg, "digits_gan_test", str(tmp_path))
    real = real_images(cfg, "digits_gan_test")[""]
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
    real = real_images(cfg, "pairs")
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


def test_later_evaluations_reuse_the_classifier_and_the_real_features(own_classifier, tmp_path):
    cfg = gan_config(own_classifier)
    real = real_images(cfg, "digits_gan_test")[""]
    half_2 = [{"generated": image} for image in real[real_halves(len(real), cfg.TEST.GAN.SEED)[1]]]

    def evaluate():
        mapper = CountingMapper(cfg)
        evaluator = GANEvaluator(cfg, "digits_gan_test", str(tmp_path / "eval"), mapper)
        results = run_evaluator(evaluator, half_2)
        # Generating half 2 scores the floor: the reused real features are those of the images generated now.
        assert results["fid"] == pytest.approx(results["fid_floor"], rel=1e-6)
        return results, mapper.count, evaluator.features

    first, images_read, classifier = evaluate()
    assert images_read == len(real) == 359
    second, images_read, classifier_again = evaluate()
    assert classifier_again is classifier and images_read == 0
    assert second == first
    cache_file = tmp_path / "classifier" / "real_features" / "model_final.digits_gan_test.pt"
    assert cache_file.is_file()

    forget_this_process()  # a new process: the real features come from the file beside the classifier
    from_file, images_read, rebuilt = evaluate()
    assert rebuilt is not classifier and images_read == 0
    assert from_file == first

    forget_this_process()
    cache_file.write_bytes(cache_file.read_bytes()[:1000])  # a truncated file is recomputed, not trusted
    recomputed, images_read, _ = evaluate()
    assert recomputed == first and images_read == 359
    assert torch.load(cache_file, weights_only=True)["features"][""].shape == (359, 512)


def test_a_changed_classifier_checkpoint_recomputes_the_real_features(own_classifier, tmp_path):
    cfg = gan_config(own_classifier)
    noise = torch.randint(0, 256, (180, 1, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    samples = [{"generated": image} for image in noise]
    mapper = CountingMapper(cfg)
    before = GANEvaluator(cfg, "digits_gan_test", str(tmp_path), mapper)
    floor_before = run_evaluator(before, samples)["fid_floor"]

    classifier_cfg = load_config(os.path.join(os.path.dirname(own_classifier), "config.yaml"), ["MODEL.DEVICE", "cpu"])
    torch.manual_seed(1)
    SafeCheckpointer(build_model(classifier_cfg), save_dir=os.path.dirname(own_classifier)).save("model_final")
    after = GANEvaluator(cfg, "digits_gan_test", str(tmp_path), mapper)
    floor_after = run_evaluator(after, samples)["fid_floor"]
    assert after.features is not before.features
    assert mapper.count == 2 * 359
    assert floor_after != pytest.approx(floor_before)

    forget_this_process()  # the file beside the classifier holds the new checkpoint's features now
    assert run_evaluator(GANEvaluator(cfg, "digits_gan_test", str(tmp_path), mapper), samples)["fid_floor"] == floor_after
    assert mapper.count == 2 * 359


def test_a_changed_image_recomputes_the_real_features(own_classifier, tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (12, 32, 32), dtype=np.uint8)
    root = write_images(tmp_path / "images", images)
    cfg = gan_config(own_classifier, "DATASETS.REGISTER", {"few": {"TYPE": "images", "ROOT": root}}, "TEST.GAN.KID_SUBSET_SIZE", 6)
    samples = [{"generated": torch.from_numpy(image)[None]} for image in images[:6]]
    mapper = CountingMapper(cfg)
    run_evaluator(GANEvaluator(cfg, "few", str(tmp_path / "eval"), mapper), samples)
    cv2.imwrite(os.path.join(root, "003.png"), 255 - images[3])
    run_evaluator(GANEvaluator(cfg, "few", str(tmp_path / "eval"), mapper), samples)
    assert mapper.count == 2 * 12


def test_images_are_embedded_in_batches_of_test_ims_per_batch_and_later_only_the_samples(own_classifier, tmp_path):
    cfg = gan_config(own_classifier, "TEST.IMS_PER_BATCH", 50, "SOLVER.IMS_PER_BATCH", 7)
    samples = [{"generated": image} for image in torch.zeros(180, 1, 32, 32, dtype=torch.uint8)]
    evaluator = build_evaluator(cfg, "digits_gan_test", str(tmp_path))
    classifier = evaluator.features.classifier
    batch_sizes, classified = [], []  # images into the backbone; features into the class predictor (confidences)
    hooks = [classifier.backbone.register_forward_pre_hook(lambda _, args: batch_sizes.append(len(args[0]))),
             classifier.cls_head.predictor.register_forward_pre_hook(lambda _, args: classified.append(len(args[0])))]
    try:
        first = run_evaluator(evaluator, samples)
        assert batch_sizes == [50] * 7 + [9] + [50] * 3 + [30]  # the 359 real images, then the 180 samples
        assert sorted(classified) == [180, 180]  # the samples and half 2 of the real images
        batch_sizes.clear(), classified.clear()
        assert run_evaluator(build_evaluator(cfg, "digits_gan_test", str(tmp_path)), samples) == first
        assert batch_sizes == [50] * 3 + [30] and classified == [180]  # the floor and confidence_real are kept too
    finally:
        for hook in hooks:
            hook.remove()
