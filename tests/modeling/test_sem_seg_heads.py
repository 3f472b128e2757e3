"""FCNHead, DeepLabHead, UNetHead under ExactSizeSemanticSegmentor; dilated ResNets; SyncBN in one process."""
import os

import pytest
import torch
import torchvision
from torch.nn import functional as F
from detectron2.modeling import build_model

from conftest import REPO
from d2ext.config import get_cfg
from d2ext.modeling.backbone import TorchvisionResNet

SHAPES_CONFIGS = {
    "fcn": "shapes/semantic_segmentation/fcn_R_18_OS8.yaml",
    "deeplab": "shapes/semantic_segmentation/deeplabv3_R_18_OS8.yaml",
    "unet": "shapes/semantic_segmentation/unet_light.yaml",
}


def segmenter(head, *opts):
    cfg = get_cfg()
    cfg.merge_from_file(os.path.join(REPO, "configs", SHAPES_CONFIGS[head]))
    cfg.merge_from_list(["MODEL.DEVICE", "cpu", *opts])
    torch.manual_seed(0)
    return build_model(cfg)


def batch(size=(64, 96), num_images=2, num_classes=4):
    return [{"image": torch.randint(0, 256, (3, *size), dtype=torch.uint8),
             "sem_seg": torch.randint(0, num_classes, size)} for _ in range(num_images)]


@pytest.mark.parametrize("output_stride, dilate", [(16, [False, False, True]), (8, [False, True, True])])
def test_dilated_resnet50_is_torchvisions_replace_stride_with_dilation(output_stride, dilate):
    torch.manual_seed(0)
    reference = torchvision.models.resnet50(replace_stride_with_dilation=dilate).eval()
    backbone = TorchvisionResNet("resnet50", ["res3", "res4", "res5"], output_stride=output_stride).eval()
    backbone.load_state_dict({k: v for k, v in reference.state_dict().items() if not k.startswith("fc.")})
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        expected = torch.nn.Sequential(*list(reference.children())[:-2])(x)
        outputs = backbone(x)
    torch.testing.assert_close(outputs["res5"], expected, atol=0, rtol=0)
    strides = {name: shape.stride for name, shape in backbone.output_shape().items()}
    assert strides == {"res3": 8, "res4": min(16, output_stride), "res5": output_stride}
    assert outputs["res4"].shape[-2:] == (64 // strides["res4"], 96 // strides["res4"])


def test_basic_block_resnet_dilates_too():
    backbone = TorchvisionResNet("resnet18", ["res5"], output_stride=8)
    assert backbone(torch.rand(1, 3, 64, 64))["res5"].shape == (1, 512, 8, 8)
    with pytest.raises(ValueError, match="MODEL.TORCHVISION.OUTPUT_STRIDE = 4: choose one of"):
        TorchvisionResNet("resnet18", ["res5"], output_stride=4)


@pytest.mark.parametrize("head", sorted(SHAPES_CONFIGS))
def test_head_trains_and_predicts_logits_at_the_input_size(head):
    model = segmenter(head)
    losses = model(batch())
    assert set(losses) == {"loss_sem_seg"} and losses["loss_sem_seg"] > 0
    losses["loss_sem_seg"].backward()
    assert all(p.grad is not None for p in model.sem_seg_head.parameters())
    model.eval()
    with torch.no_grad():  # not a multiple of the backbone's stride, resized to another output size
        (output,) = model([{"image": torch.randint(0, 256, (3, 70, 90), dtype=torch.uint8), "height": 35, "width": 45}])
    assert output["sem_seg"].shape == (4, 35, 45)


@pytest.mark.parametrize("head", sorted(SHAPES_CONFIGS))
def test_an_images_prediction_does_not_depend_on_its_batch(head):
    model = segmenter(head).eval()
    images = [torch.randint(0, 256, (3, *size), dtype=torch.uint8) for size in [(70, 90), (45, 61), (70, 90)]]
    with torch.no_grad():
        in_batch = model([{"image": image} for image in images])
        for image, output in zip(images, in_batch):
            torch.testing.assert_close(output["sem_seg"], model([{"image": image}])[0]["sem_seg"], atol=1e-5, rtol=0)


def test_training_pads_a_batch_with_pixels_that_the_loss_ignores():
    model = segmenter("fcn")
    for module in model.modules():  # BN statistics and dropout of a batch would mix the images
        if isinstance(module, (torch.nn.BatchNorm2d, torch.nn.Dropout)):
            module.eval()
    scored = {"image": torch.randint(0, 256, (3, 70, 90), dtype=torch.uint8), "sem_seg": torch.randint(0, 4, (70, 90))}
    unscored = {"image": torch.randint(0, 256, (3, 45, 61), dtype=torch.uint8), "sem_seg": torch.full((45, 61), 255)}
    # padded to 70 x 90, the second image adds pixels to the batch but none to the loss
    torch.testing.assert_close(model([scored, unscored])["loss_sem_seg"], model([scored])["loss_sem_seg"])


def test_auxiliary_head_adds_a_weighted_training_loss_on_its_stage():
    model = segmenter("deeplab", "MODEL.TORCHVISION.OUT_FEATURES", ["res4", "res5"], "MODEL.SEM_SEG_HEAD.IN_FEATURES", ["res5"],
                      "MODEL.SEM_SEG_HEAD.AUX_IN_FEATURE", "res4",
                      "MODEL.SEM_SEG_HEAD.AUX_LOSS_WEIGHT", 0.4, "MODEL.SEM_SEG_HEAD.DROPOUT", 0.0)
    head = model.sem_seg_head
    features = model.backbone(torch.rand(2, 3, 62, 90))  # res4: 8 x 12, stride 8, rounded up
    targets = torch.randint(0, 4, (2, 62, 90))
    targets[:, :8] = 255  # ignored
    _, losses = head(features, targets)
    assert set(losses) == {"loss_sem_seg", "loss_sem_seg_aux"}
    aux_logits = F.interpolate(head.aux_classifier(features["res4"]), size=(62, 90), mode="bilinear", align_corners=False)
    torch.testing.assert_close(losses["loss_sem_seg_aux"], 0.4 * F.cross_entropy(aux_logits, targets, ignore_index=255))
    head.eval()
    logits, losses = head(features)  # at the stage's stride: the meta-architecture upsamples them
    assert logits.shape == (2, 4, 8, 12) and losses == {}


def test_syncbn_config_builds_plain_batch_norm_in_one_process():
    model = segmenter("deeplab", "MODEL.TORCHVISION.NORM", "SyncBN", "MODEL.SEM_SEG_HEAD.NORM", "SyncBN")
    assert not any(isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.sem_seg_head.modules())
    sum(model(batch()).values()).backward()  # SyncBatchNorm would need a process group here


def test_hard_pixel_mining_scores_the_hardest_pixels_only():
    images, losses = batch(), {}
    for loss_type in ("cross_entropy", "hard_pixel_mining"):
        model = segmenter("fcn", "MODEL.SEM_SEG_HEAD.LOSS_TYPE", loss_type)  # the same weights (seeded)
        torch.manual_seed(1)  # the same dropout
        losses[loss_type] = model(images)["loss_sem_seg"]
    losses["hard_pixel_mining"].backward()
    # the mean over the hardest 20% of the pixels is above the mean over all of them
    assert losses["hard_pixel_mining"] > 1.1 * losses["cross_entropy"], losses


@pytest.mark.parametrize("head, opts, message", [
    ("deeplab", ["MODEL.SEM_SEG_HEAD.IN_FEATURES", ["res4", "res5"], "MODEL.TORCHVISION.OUT_FEATURES", ["res4", "res5"]],
     r"IN_FEATURES = \['res4', 'res5'\]: DeepLabHead reads one backbone stage"),
    ("fcn", ["MODEL.SEM_SEG_HEAD.IN_FEATURES", ["res3"]], "stage 'res3' is not an output of the backbone"),
    ("unet", ["MODEL.SEM_SEG_HEAD.DECODER_CHANNELS", [64, 32]], "give one width per skip connection, 4 for IN_FEATURES"),
    ("fcn", ["MODEL.SEM_SEG_HEAD.LOSS_TYPE", "focal"], "LOSS_TYPE = 'focal': choose"),
])
def test_inconsistent_head_config_is_refused(head, opts, message):
    with pytest.raises(ValueError, match=message):
        segmenter(head, *opts)
