"""SSD: default boxes and losses as torchvision's, hard negative mining, images without objects, bad configs."""
import os

import pytest
import torch
import torchvision
from detectron2.modeling import build_model
from detectron2.structures import Boxes, Instances

from conftest import REPO
from d2ext.config import get_cfg
from d2ext.checkpoint import SafeCheckpointer, convert_torchvision
from d2ext.ssd.torchvision_weights import torchvision_ssd_labels


def ssd_cfg(config, *opts):
    cfg = get_cfg()
    cfg.merge_from_file(os.path.join(REPO, "configs", config))
    cfg.merge_from_list(["MODEL.DEVICE", "cpu", *opts])
    return cfg


def shapes_cfg(*opts):
    return ssd_cfg("shapes/detection/ssd_R_18.yaml", *opts)


@pytest.mark.parametrize("arch,config", [("ssd300_vgg16", "COCO-Detection/ssd300_vgg16.yaml"),
                                         ("ssdlite320_mobilenet_v3_large", "COCO-Detection/ssdlite320_mobilenet_v3.yaml")])
def test_default_boxes_are_torchvisions(arch, config):
    torchvision_model = torchvision.models.get_model(arch, weights=None, weights_backbone=None, num_classes=4).eval()
    model = build_model(ssd_cfg(config, "MODEL.SSD.NUM_CLASSES", 3)).eval()
    size = model.image_size
    with torch.no_grad():
        images, _ = torchvision_model.transform([torch.rand(3, size, size)])
        features = list(torchvision_model.backbone(images.tensors).values())
        expected = torchvision_model.anchor_generator(images, features)[0]
        levels = model.backbone(images.tensors)
        actual = Boxes.cat(model.anchor_generator([levels[f] for f in model.head_in_features])).tensor
    assert [f.shape[-2:] for f in features] == [levels[f].shape[-2:] for f in model.head_in_features]
    assert len(expected) == {"ssd300_vgg16": 8732, "ssdlite320_mobilenet_v3_large": 3234}[arch]
    torch.testing.assert_close(actual, expected, atol=1e-3, rtol=0)


def shapes_batch(size, num_boxes=(3, 1)):
    """
    Training inputs: `size` x `size` random images with `num_boxes[i]` random boxes each, plus in the first
    image a thin box that no default box overlaps with IoU >= 0.5 (only its best default box matches it).
    """
    generator = torch.Generator().manual_seed(0)
    batch = []
    for index, count in enumerate(num_boxes):
        xy = torch.rand(count, 2, generator=generator) * size * 0.6
        wh = (torch.rand(count, 2, generator=generator) * 0.3 + 0.1) * size
        boxes = torch.cat([xy, xy + wh], dim=1)
        if index == 0 and count > 0:
            boxes[0] = torch.tensor([0.113, 0.137, 0.131, 0.589]) * size
        instances = Instances((size, size), gt_boxes=Boxes(boxes),
                              gt_classes=torch.randint(0, 3, (count,), generator=generator))
        batch.append({"image": torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=generator),
                      "instances": instances})
    return batch


def test_training_losses_are_torchvisions():
    """Matching (IoU >= 0.5 plus each box's best default box), 3:1 hard negatives and smooth L1 as torchvision's SSD."""
    torch.manual_seed(0)
    arch = "ssdlite320_mobilenet_v3_large"
    torchvision_model = torchvision.models.get_model(arch, weights=None, weights_backbone=None, num_classes=4)
    model = build_model(ssd_cfg("COCO-Detection/ssdlite320_mobilenet_v3.yaml", "MODEL.SSD.NUM_CLASSES", 3,
                                "MODEL.SSD.MIN_NEGATIVES", 0))
    SafeCheckpointer(model)._load_model(convert_torchvision(torchvision_model.state_dict(), arch))
    batch = shapes_batch(320)
    labels = torch.tensor(torchvision_ssd_labels(4))
    images = [x["image"].float() / 255 for x in batch]
    targets = [{"boxes": x["instances"].gt_boxes.tensor, "labels": labels[x["instances"].gt_classes]} for x in batch]
    torch.manual_seed(1)
    expected = torchvision_model.train()(images, targets)
    torch.manual_seed(1)
    actual = model.train()(batch)
    torch.testing.assert_close(actual["loss_box_reg"], expected["bbox_regression"], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(actual["loss_cls"], expected["classification"], rtol=1e-4, atol=1e-5)


def test_hard_negatives_are_the_highest_loss_background_boxes():
    model = build_model(shapes_cfg("MODEL.SSD.MIN_NEGATIVES", 2))
    class_loss = torch.tensor([[0.1, 5.0, 0.3, 4.0, 0.2, 3.0, 9.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]])
    foreground = torch.tensor([[False, False, False, False, False, False, True], [False] * 7])
    negatives = model.hard_negatives(class_loss, foreground)
    # 1 positive: 3 negatives, the highest-loss background boxes (the positive's 9.0 is not one);
    # no positive: MIN_NEGATIVES of them
    assert negatives.tolist() == [[False, True, False, True, False, True, False], [False] * 5 + [True] * 2]


def test_images_without_objects_train_as_background():
    batch = shapes_batch(128, num_boxes=(0, 0))
    torch.manual_seed(0)
    losses = build_model(shapes_cfg()).train()(batch)
    assert losses["loss_box_reg"] == 0 and losses["loss_cls"] > 0
    losses["loss_cls"].backward()  # the background scores of the hardest default boxes get a gradient
    torch.manual_seed(0)
    assert build_model(shapes_cfg("MODEL.SSD.MIN_NEGATIVES", 0)).train()(batch)["loss_cls"] == 0  # torchvision's rule


def test_inference_resizes_any_image_and_returns_boxes_in_its_size():
    model = build_model(shapes_cfg()).eval()
    with torch.no_grad():
        instances = model([{"image": torch.randint(0, 256, (3, 90, 200), dtype=torch.uint8)}])[0]["instances"]
    assert instances.image_size == (90, 200) and len(instances) > 0
    boxes = instances.pred_boxes.tensor
    assert (boxes[:, 2] <= 200).all() and (boxes[:, 3] <= 90).all() and (boxes >= 0).all()
    assert (instances.pred_classes < 3).all()


def test_training_refuses_images_of_another_size():
    batch = shapes_batch(96)
    with pytest.raises(ValueError, match=r"SSD trains on 128x128 images \(MODEL.SSD.IMAGE_SIZE\), got \(96, 96\).*SSDDatasetMapper"):
        build_model(shapes_cfg()).train()(batch)


@pytest.mark.parametrize("opts,message", [
    (["MODEL.ANCHOR_GENERATOR.SIZES", [[16, 28], [28, 48]]],
     r"MODEL.ANCHOR_GENERATOR.SIZES describes 2 levels, but the backbone gives 4"),
    (["MODEL.ANCHOR_GENERATOR.SIZES", [[16], [28, 48], [48, 80], [80, 128]]], r"are not \[min size, max size\]"),
    (["MODEL.SSD.IN_FEATURES", ["res3", "res6"]], r"MODEL.SSD.IN_FEATURES: \['res6'\] are not outputs"),
    (["MODEL.SSD.EXTRA_LAYERS", [[128, 256, 3, 2]]], r"MODEL.SSD.EXTRA_LAYERS\[0\] = \[128, 256, 3, 2\]"),
    (["MODEL.SSD.STEPS", [8, 16]], r"MODEL.SSD.STEPS has 2 values for 4 levels"),
])
def test_bad_ssd_config_is_named(opts, message):
    with pytest.raises(ValueError, match=message):
        build_model(shapes_cfg(*opts))
