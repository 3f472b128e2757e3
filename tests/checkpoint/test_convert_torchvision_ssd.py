"""torchvision's SSD300 VGG-16 and SSDLite320 MobileNetV3 weights in d2ext: same detections, backbone-only use."""
import os

import numpy as np
import pytest
import torch
import torchvision
from detectron2.modeling import build_model

from conftest import REPO
from d2ext.config import get_cfg
from d2ext.checkpoint import SafeCheckpointer, convert_torchvision
from d2ext.ssd.torchvision_weights import torchvision_ssd_labels
from d2ext.data.shapes import ShapesSplitSpec
from d2ext.data.shapes import render_scene

CONFIGS = {"ssd300_vgg16": "ssd300_vgg16", "ssdlite320_mobilenet_v3_large": "ssdlite320_mobilenet_v3"}


def coco_cfg(arch, *opts):
    cfg = get_cfg()
    cfg.merge_from_file(os.path.join(REPO, "configs", "COCO-Detection", f"{CONFIGS[arch]}.yaml"))
    cfg.merge_from_list(["MODEL.DEVICE", "cpu", *opts])
    return cfg


def scene(seed, height, width):
    """A (3, height, width) uint8 RGB shapes scene: structured like a photo, unlike noise."""
    image, _ = render_scene(np.random.default_rng(seed), ShapesSplitSpec(num_images=1, seed=0, image_size=max(height, width)))
    return torch.as_tensor(image[:height, :width]).permute(2, 0, 1).contiguous()


def random_torchvision_ssd(arch, num_classes):
    """
    torchvision's `arch` in eval mode with random weights, BN statistics measured on a few scenes (activations
    of unit scale: no ReLU6 saturation, no tied scores) and class logits within about +-3; with 91 classes, COCO's 11
    unused labels never score (as in torchvision's COCO model; d2ext's COCO classes leave them out).
    """
    torch.manual_seed(0)
    model = torchvision.models.get_model(arch, weights=None, weights_backbone=None, num_classes=num_classes)
    batch_norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for bn in batch_norms:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
        bn.weight.data.uniform_(0.8, 1.2)
        bn.bias.data.normal_(0, 0.1)
    unused = sorted(set(range(1, num_classes)) - set(torchvision_ssd_labels(num_classes)))
    predictors = [p if isinstance(p, torch.nn.Conv2d) else p[-1] for p in model.head.classification_head.module_list]
    with torch.no_grad():
        images, _ = model.transform([scene(seed, 300, 300) / 255 for seed in range(4)])
        model.head(list(model.backbone(images.tensors).values()))  # training mode: BN statistics
        model.eval()
        largest = model.head(list(model.backbone(images.tensors).values()))["cls_logits"].abs().max()
        for predictor in predictors:
            predictor.weight *= 3 / largest
            predictor.bias.view(-1, num_classes)[:, unused] = -100.0
    return model


def torchvision_detections(model, image):
    """torchvision's detections for a uint8 (3, H, W) RGB image, without the empty boxes detectron2 drops."""
    with torch.no_grad():
        output = model([image.float() / 255])[0]
    nonempty = (output["boxes"][:, 2:] > output["boxes"][:, :2]).all(dim=1)
    return {k: v[nonempty] for k, v in output.items()}


def sorted_detections(boxes, scores, labels):
    """The detections ordered by label then box, so that two lists that differ only in the order of (near-)tied scores compare equal."""
    order = sorted(range(len(scores)), key=lambda i: (int(labels[i]), *boxes[i].tolist()))
    return boxes[order], scores[order], labels[order]


def assert_same_detections(instances, torchvision_model, num_torchvision_classes, image):
    """d2ext's `instances` for `image` are torchvision's detections for it."""
    expected = torchvision_detections(torchvision_model, image)
    assert len(expected["scores"]) > 20 and expected["scores"].max() > 0.1  # far above uniform scores (1/81, 1/4)
    labels = torch.tensor(torchvision_ssd_labels(num_torchvision_classes))[instances.pred_classes]
    actual = sorted_detections(instances.pred_boxes.tensor, instances.scores, labels)
    boxes, scores, labels = sorted_detections(expected["boxes"], expected["scores"], expected["labels"])
    assert actual[2].tolist() == labels.tolist()
    torch.testing.assert_close(actual[0], boxes, atol=1e-2, rtol=1e-4)
    torch.testing.assert_close(actual[1], scores, atol=1e-4, rtol=0)


# ssd300 with torchvision's 91 COCO labels (converted to detectron2's 80 COCO classes), ssdlite with 3 classes + background
@pytest.mark.parametrize("arch,num_torchvision_classes", [("ssd300_vgg16", 91), ("ssdlite320_mobilenet_v3_large", 4)])
def test_converted_weights_give_torchvision_detections(arch, num_torchvision_classes):
    torchvision_model = random_torchvision_ssd(arch, num_torchvision_classes)
    cfg = coco_cfg(arch, "MODEL.SSD.NUM_CLASSES", len(torchvision_ssd_labels(num_torchvision_classes)))
    model = build_model(cfg)
    incompatible = SafeCheckpointer(model)._load_model(convert_torchvision(torchvision_model.state_dict(), arch))
    assert not incompatible.missing_keys and not incompatible.unexpected_keys and not incompatible.incorrect_shapes
    size = cfg.MODEL.SSD.IMAGE_SIZE
    # one batch with another size, not a multiple of 32: both resize each image to the model's input and
    # scale its boxes back
    images = [scene(10, size, size), scene(11, 200, 260)]
    with torch.no_grad():
        outputs = model.eval()([{"image": image} for image in images])
    for image, output in zip(images, outputs):
        assert_same_detections(output["instances"], torchvision_model, num_torchvision_classes, image)
