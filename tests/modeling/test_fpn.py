"""ResNet-FPN backbones whose ResNet ends before res5 (d2ext.modeling.backbone.fpn)."""
import pytest
import torch
import torch.nn.functional as F
from detectron2.layers import ShapeSpec
from detectron2.modeling import build_backbone
from detectron2.modeling.backbone.fpn import build_resnet_fpn_backbone

from d2ext.config import get_cfg

TO_RES4 = ["res2", "res3", "res4"]


def fpn_cfg(builder, in_features):
    """A ResNet-18 FPN config for `builder` (detectron2's ResNet or torchvision's) over `in_features`."""
    cfg = get_cfg()
    cfg.MODEL.BACKBONE.NAME = builder
    cfg.MODEL.RESNETS.DEPTH = 18
    cfg.MODEL.RESNETS.RES2_OUT_CHANNELS = 64
    cfg.MODEL.RESNETS.OUT_FEATURES = in_features
    cfg.MODEL.TORCHVISION.ARCH = "resnet18"
    cfg.MODEL.FPN.IN_FEATURES = in_features
    cfg.MODEL.FPN.OUT_CHANNELS = 64
    return cfg


@pytest.mark.parametrize("builder", ["build_resnet_fpn_to_last_stage_backbone", "build_torchvision_resnet_fpn_backbone"])
def test_fpn_ending_at_res4_gives_p2_to_p5_without_building_res5(builder):
    backbone = build_backbone(fpn_cfg(builder, TO_RES4)).eval()
    assert not [name for name in backbone.state_dict() if "res5" in name or "layer4" in name]
    with torch.no_grad():
        outputs = backbone(torch.rand(2, 3, 128, 128))
    assert list(outputs) == ["p2", "p3", "p4", "p5"]
    for name, spec in backbone.output_shape().items():
        assert outputs[name].shape == (2, 64, 128 // spec.stride, 128 // spec.stride), name
    assert [spec.stride for spec in backbone.output_shape().values()] == [4, 8, 16, 32]
    torch.testing.assert_close(outputs["p5"], F.max_pool2d(outputs["p4"], kernel_size=1, stride=2))


def test_full_depth_is_detectron2_resnet_fpn():
    cfg = fpn_cfg("build_resnet_fpn_to_last_stage_backbone", [*TO_RES4, "res5"])
    ours, stock = build_backbone(cfg).eval(), build_resnet_fpn_backbone(cfg, ShapeSpec(channels=3)).eval()
    stock.load_state_dict(ours.state_dict())  # strict: the same modules under the same names
    images = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        expected, actual = stock(images), ours(images)
    assert list(actual) == list(expected) == ["p2", "p3", "p4", "p5", "p6"]
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], atol=0, rtol=0)
