"""
Offline GAN evaluation (a dataset's ``evaluator_type`` "gan"): FID and KID of generated (DCGAN) or
translated (CycleGAN) images against real ones, in the features of a d2ext ImageClassifier trained on
the same data, computed by torchmetrics with that classifier as its feature extractor. The classifier is built
once per process, and the real images' features are computed once per dataset and classifier (real_features).
"""
import hashlib
import logging
import os

import numpy as np
import torch
import torch.nn.functional as F
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import DatasetEvaluator
from detectron2.modeling import build_model
from detectron2.utils import comm
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from ..checkpoint import SafeCheckpointer
from ..config import load_config
from ..data import build_mapper
from ..evaluation import EVALUATOR_REGISTRY, evaluated_iteration
from ..utils.file_io import atomic_write_image
from .real_features import cached_real_features, real_features_file
from .visualization import image_grid, translation_strips

__all__ = ["ClassifierFeatures", "GANEvaluator", "num_generated_samples", "real_halves"]

logger = logging.getLogger(__name__)

_GRAY_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R 601, as PIL's "L" conversion


def convert_format(images, source, target):
    """(N, C, H, W) uint8 images from INPUT.FORMAT `source` to `target` ("L", "RGB", "BGR"), as float."""
    images = images.float()
    if source == "L":
        images, source = images.expand(-1, 3, -1, -1), "RGB"
    if target == "L":
        weights = torch.tensor(_GRAY_WEIGHTS if source == "RGB" else _GRAY_WEIGHTS[::-1], device=images.device)
        return (images * weights.view(1, 3, 1, 1)).sum(1, keepdim=True)
    return images if source == target else images.flip(1)


class ClassifierFeatures(nn.Module):
    """
    A trained d2ext ImageClassifier as a feature extractor: (N, C, H, W) uint8 images in INPUT.FORMAT
    `image_format` -> (N, D) float features, the input of the classifier's last linear layer. Images are
    converted to the classifier's format and resized (bilinear) to its test crop, INPUT.CLS.CROP_SIZE.
    ``probabilities(features)`` gives the classifier's (N, num_classes) class probabilities for such features.
    ``digest``: sha256 (hex) of what the features depend on: the weights file, the classifier's config, `image_format`.
    """

    def __init__(self, classifier_cfg, weights, image_format):
        super().__init__()
        self.classifier = build_model(classifier_cfg).eval()
        SafeCheckpointer(self.classifier).load(weights)
        self.source_format, self.classifier_format = image_format, classifier_cfg.INPUT.FORMAT
        self.size = classifier_cfg.INPUT.CLS.CROP_SIZE
        digest = hashlib.sha256(f"{classifier_cfg.dump()}\0{image_format}\0".encode())
        with open(weights, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        self.digest = digest.hexdigest()

    @torch.no_grad()
    def forward(self, images):
        model = self.classifier
        x = convert_format(images.to(model.device), self.source_format, self.classifier_format)
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        features = model.backbone((x - model.pixel_mean) / model.pixel_std)[model.in_feature]
        return model.cls_head.layers(model.cls_head.pool(features).flatten(1))

    @torch.no_grad()
    def probabilities(self, features):
        return self.classifier.cls_head.predictor(features).softmax(1)


class _GivenFeatures(nn.Module):
    """torchmetrics' feature extractor for features extracted beforehand: (N, D) in, the same out."""

    def __init__(self, num_features):
        super().__init__()
        self.num_features = num_features  # torchmetrics' FID reads it instead of probing with a dummy image

    def forward(self, features):
        return features


def real_halves(num_images, seed):
    """Indices (half 1, half 2) of a seeded random split of `num_images` real images; half 1 is the reference."""
    order = np.random.default_rng(seed).permutation(num_images)
    return order[: num_images // 2], order[num_images // 2:]


def num_generated_samples(cfg, dataset_name):
    """Samples a DCGAN evaluation generates: TEST.GAN.NUM_SAMPLES, or as many as half 2 of the real images."""
    num_real = len(DatasetCatalog.get(dataset_name))
    return cfg.TEST.GAN.NUM_SAMPLES or len(real_halves(num_real, cfg.TEST.GAN.SEED)[1])


_CLASSIFIER_CFG = {}  # (config file, its mtime, device) -> the classifier's config last read in this process
_CLASSIFIER = {}  # what the ClassifierFeatures last built in this process was built from -> it
_FLOORS = {}  # (dataset, direction) -> (the real features, KID settings, their floor scores), see GANEvaluator._floor


def _classifier_cfg(config_file, device):
    """The classifier's (frozen) config from `config_file` on `device`, read once per process while the file is unchanged."""
    key = (os.path.abspath(config_file), os.stat(config_file).st_mtime_ns, device)
    if key not in _CLASSIFIER_CFG:
        _CLASSIFIER_CFG.clear()
        _CLASSIFIER_CFG[key] = load_config(config_file, ["MODEL.DEVICE", device, "MODEL.WEIGHTS", ""])
    return _CLASSIFIER_CFG[key]


def _classifier_features(classifier_cfg, weights, image_format):
    """ClassifierFeatures(...), built once per process while the weights file (path, size, mtime) and the configs hold."""
    stat = os.stat(weights)
    key = (os.path.abspath(weights), stat.st_size, stat.st_mtime_ns, classifier_cfg.dump(), image_format)
    if key not in _CLASSIFIER:
        _CLASSIFIER.clear()  # a changed checkpoint replaces its predecessor rather than keeping both in memory
        _CLASSIFIER[key] = ClassifierFeatures(classifier_cfg, weights, image_format)
    return _CLASSIFIER[key]


def load_classifier_features(cfg, dataset_name):
    """The ClassifierFeatures of TEST.GAN.CLASSIFIER_WEIGHTS (built once per process), with a clear error when there is none."""
    weights = cfg.TEST.GAN.CLASSIFIER_WEIGHTS
    how = ("Train one on the same data, e.g. python tools/train_net.py --config-file "
           "configs/digits/classification/resnet18.yaml, and set TEST.GAN.CLASSIFIER_WEIGHTS to its "
           "model_final.pth (see docs/gan.md).")
    if not weights:
        raise ValueError(f"dataset '{dataset_name}' is evaluated with the 'gan' evaluator, which measures FID and "
                         "KID in the features of a d2ext ImageClassifier, but TEST.GAN.CLASSIFIER_WEIGHTS is empty. " + how)
    if not os.path.isfile(weights):
        raise FileNotFoundError(f"TEST.GAN.CLASSIFIER_WEIGHTS = {weights}: no such file. " + how)
    config_file = cfg.TEST.GAN.CLASSIFIER_CONFIG or os.path.join(os.path.dirname(weights), "config.yaml")
    if not os.path.isfile(config_file):
        raise FileNotFoundError(f"TEST.GAN.CLASSIFIER_CONFIG: {config_file} does not exist. Set TEST.GAN.CLASSIFIER_CONFIG "
                                "to the config file the classifier was trained with.")
    classifier_cfg = _classifier_cfg(config_file, cfg.MODEL.DEVICE)
    if classifier_cfg.MODEL.META_ARCHITECTURE != "ImageClassifier":
        raise ValueError(f"TEST.GAN.CLASSIFIER_CONFIG = {config_file} builds a {classifier_cfg.MODEL.META_ARCHITECTURE}; "
                         "the 'gan' evaluator needs an ImageClassifier. " + how)
    classes = MetadataCatalog.get(classifier_cfg.DATASETS.TRAIN[0]).get("thing_classes") if classifier_cfg.DATASETS.TRAIN else None
    return _classifier_features(classifier_cfg, weights, cfg.INPUT.FORMAT), classes


def _merge_ranks(per_rank):
    """[{key: list of (C, H, W)} per process] -> {key: (N, C, H, W)} in rank order."""
    return {key: torch.stack([x for part in per_rank for x in part.get(key, [])]) for key in per_rank[0]}


class GANEvaluator(DatasetEvaluator):
    """
    Collects the model's "generated" images (DCGAN), or its "translated" and "reconstructed" images per
    "direction" (CycleGAN, with the source "image" of each input), then reports against the real images of
    the dataset, read with the test mapper and split in two seeded halves (half 1 is the reference):

    * ``fid``, ``kid``: generated images vs half 1; ``fid_floor``, ``kid_floor``: half 2 vs half 1;
    * ``confidence``: the classifier's mean top probability on the generated images; ``confidence_real`` on half 2;
    * CycleGAN, per direction ``AB``/``BA`` (keys ``fid_AB``, ...): the same against the target domain, and
      ``cycle_l1_AB``: mean |reconstructed - source| in [0, 1] pixel units; ``target_rate_AB``: the share of
      translations the classifier assigns to the target domain when its classes are the domain names.

    A grid of TEST.GAN.GRID_SIZE samples (or A -> B -> A strips) is written to ``output_dir`` at every evaluation.
    """

    def __init__(self, cfg, dataset_name, output_dir, mapper):
        self.cfg, self.dataset_name, self.output_dir, self.mapper = cfg, dataset_name, output_dir, mapper
        self.features, self.classifier_classes = load_classifier_features(cfg, dataset_name)
        self.metadata = MetadataCatalog.get(dataset_name)

    def reset(self):
        self._fakes = {}  # direction ("" for DCGAN) -> list of (C, H, W) uint8
        self._sources = {}  # direction -> list of source images (CycleGAN)
        self._reconstructed = {}

    def process(self, inputs, outputs):
        for inp, out in zip(inputs, outputs):
            direction = out.get("direction", "")
            self._fakes.setdefault(direction, []).append((out["generated"] if "generated" in out else out["translated"]).cpu())
            if direction:
                self._sources.setdefault(direction, []).append(inp["image"].cpu())
                self._reconstructed.setdefault(direction, []).append(out["reconstructed"].cpu())

    def _features(self, images):
        """(N, C, H, W) uint8 images -> (N, D) classifier features, extracted in batches of TEST.IMS_PER_BATCH."""
        return torch.cat([self.features(batch) for batch in torch.split(images, max(1, self.cfg.TEST.IMS_PER_BATCH))])

    def _embed_real_images(self, records):
        """domain ("" without domains) -> (N, D) features of the records' images, read with the test mapper a batch at a time."""
        by_domain, batch_size = {}, max(1, self.cfg.TEST.IMS_PER_BATCH)
        for record in records:
            by_domain.setdefault(record.get("domain", ""), []).append(record)
        return {domain: torch.cat([self.features(torch.stack([self.mapper(r)["image"] for r in group[i: i + batch_size]]))
                                   for i in range(0, len(group), batch_size)])
                for domain, group in by_domain.items()}

    def _real_features(self):
        """domain -> (N, D) CPU features of the dataset's real images: computed once per dataset and classifier."""
        device = self.features.classifier.device
        autocast = torch.get_autocast_dtype(device.type) if torch.is_autocast_enabled(device.type) else None
        depends_on = {"dataset": self.dataset_name, "classifier": self.features.digest, "input": self.cfg.INPUT.dump(),
                      "device": device.type, "autocast": str(autocast)}
        return cached_real_features(real_features_file(self.cfg.TEST.GAN.CLASSIFIER_WEIGHTS, self.dataset_name),
                                    DatasetCatalog.get(self.dataset_name), depends_on, self._embed_real_images)

    def _fid_and_kid(self, reference, samples, kid_subset_size):
        """FID and KID of the (N, D) features `samples` against the (M, D) features `reference`."""
        given = _GivenFeatures(reference.shape[1])
        device = reference.device  # the metrics' sums and feature lists live beside the features
        fid = FrechetInceptionDistance(feature=given).to(device)
        kid = KernelInceptionDistance(feature=given, subsets=self.cfg.TEST.GAN.KID_SUBSETS, subset_size=kid_subset_size).to(device)
        for metric in (fid, kid):
            metric.update(reference, real=True)
            metric.update(samples, real=False)
        with torch.random.fork_rng():  # KID draws its subsets from torch's global RNG: seeded, training's left alone
            torch.manual_seed(self.cfg.TEST.GAN.SEED)
            kid_value = kid.compute()[0].item()
        return fid.compute().item(), kid_value

    def _floor(self, direction, real, half_1, half_2, kid_subset_size):
        """
        fid_floor, kid_floor (half 2 against half 1 of the (N, D) CPU features `real`) and confidence_real: computed
        once per process for the same features (the same tensor from cached_real_features) and KID settings.
        """
        settings = (self.cfg.TEST.GAN.SEED, self.cfg.TEST.GAN.KID_SUBSETS, kid_subset_size)
        kept = _FLOORS.get((self.dataset_name, direction))
        if kept is None or kept[0] is not real or kept[1] != settings:
            device = self.features.classifier.device
            real_half_2 = real[torch.as_tensor(half_2)].to(device)
            fid, kid = self._fid_and_kid(real[torch.as_tensor(half_1)].to(device), real_half_2, kid_subset_size)
            confidence = 100 * self.features.probabilities(real_half_2).max(1).values.mean().item()
            kept = _FLOORS[(self.dataset_name, direction)] = (real, settings, {"fid_floor": fid, "kid_floor": kid,
                                                                               "confidence_real": confidence})
        return kept[2]

    def evaluate(self):
        fakes = comm.gather(self._fakes)
        sources, reconstructed = comm.gather(self._sources), comm.gather(self._reconstructed)
        if not comm.is_main_process():
            return {}
        fakes, sources, reconstructed = _merge_ranks(fakes), _merge_ranks(sources), _merge_ranks(reconstructed)
        real_by_domain = self._real_features()
        results = {}
        for direction, generated in fakes.items():
            real = real_by_domain[direction[1:]] if direction else real_by_domain[""]
            half_1, half_2 = real_halves(len(real), self.cfg.TEST.GAN.SEED)
            generated = generated[: self.cfg.TEST.GAN.NUM_SAMPLES or len(half_2)]
            kid_subset_size = min(self.cfg.TEST.GAN.KID_SUBSET_SIZE, len(half_1), len(generated), len(half_2))
            floor = self._floor(direction, real, half_1, half_2, kid_subset_size)
            # Each image passes through the classifier once; FID, KID and the confidence share its features.
            generated_features = self._features(generated)
            fid, kid = self._fid_and_kid(real[torch.as_tensor(half_1)].to(generated_features.device), generated_features,
                                         kid_subset_size)
            probabilities = self.features.probabilities(generated_features).cpu()
            scores = {"fid_floor": floor["fid_floor"], "kid_floor": floor["kid_floor"], "fid": fid, "kid": kid,
                      "confidence": 100 * probabilities.max(1).values.mean().item(), "confidence_real": floor["confidence_real"]}
            if direction:
                scores["cycle_l1"] = (reconstructed[direction].float() - sources[direction].float()).abs().mean().item() / 255
                target_name = self.metadata.get("domain_names", {}).get(direction[1])
                if self.classifier_classes and target_name in self.classifier_classes:
                    hits = probabilities.argmax(1) == self.classifier_classes.index(target_name)
                    scores["target_rate"] = 100 * hits.float().mean().item()
            results.update({(f"{k}_{direction}" if direction else k): v for k, v in scores.items()})
            logger.info(f"{self.dataset_name} {direction or 'samples'}: {len(generated)} generated vs "
                        f"{len(half_1)} real (floor: {len(half_2)} real): " + ", ".join(f"{k} {v:.4g}" for k, v in scores.items()))
        self._write_grid(fakes, sources, reconstructed)
        return {"gan": results}

    def _write_grid(self, fakes, sources, reconstructed):
        iteration = evaluated_iteration()  # the trainer's iteration during training (MAX_ITER after it), else None
        name = "samples.png" if iteration is None else f"samples_iter{min(iteration + 1, self.cfg.SOLVER.MAX_ITER):07d}.png"
        count, image_format = self.cfg.TEST.GAN.GRID_SIZE, self.cfg.INPUT.FORMAT
        if "" in fakes:
            grid = image_grid(fakes[""][:count], image_format)
        else:  # one block of strips per direction, side by side
            blocks = [translation_strips(sources[d][: count // 4], [{"translated": t, "reconstructed": r} for t, r in
                      zip(fakes[d][: count // 4], reconstructed[d][: count // 4])], image_format) for d in sorted(fakes)]
            height = max(b.shape[0] for b in blocks)
            grid = np.concatenate([np.pad(b, ((0, height - b.shape[0]), (0, 0), (0, 0)), constant_values=255) for b in blocks], 1)
        path = os.path.join(self.output_dir, name)
        atomic_write_image(path, grid)
        logger.info(f"Wrote {path}")


@EVALUATOR_REGISTRY.register()
def gan(cfg, dataset_name, output_dir):
    """FID/KID in the features of the classifier TEST.GAN.CLASSIFIER_WEIGHTS (see GANEvaluator)."""
    return GANEvaluator(cfg, dataset_name, output_dir, build_mapper(cfg, is_train=False))
