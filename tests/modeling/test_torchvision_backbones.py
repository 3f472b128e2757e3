"""torchvision backbones as detectron2 Backbones: stages, shapes, norms, freezing, FPN."""
import pytest
import torch
from detectron2.layers import FrozenBatchNorm2d
from detectron2.modeling import build_backbone
from torch import nn

from d2ext.config import get_cfg
from d2ext.modeling.backbone import SequentialFeaturesBackbone, TORCHVISION_ARCHS, TorchvisionResNet

ALL_STAGES = {
    "resnet": ["stem", "res2", "res3", "res4", "res5"],
    "vgg": [f"stage{k}" for k in range(6)],
    "alexnet": [f"stage{k}" for k in range(2, 6)],
    "mobilenet_v3": [f"stage{k}" for k in range(1, 6)],
}
BUILDERS = {
    "resnet": "build_torchvision_resnet_backbone",
    "vgg": "build_torchvision_vgg_backbone",
    "alexnet": "build_torchvision_alexnet_backbone",
    "mobilenet_v3": "build_torchvision_mobilenet_v3_backbone",
}


def backbone_cfg(arch, **overrides):
    family = TORCHVISION_ARCHS[arch]
    cfg = get_cfg()
    cfg.MODEL.BACKBONE.NAME = BUILDERS[family]
    cfg.MODEL.TORCHVISION.ARCH = arch
    cfg.MODEL.TORCHVISION.OUT_FEATURES = ALL_STAGES[family]
    cfg.merge_from_list([item for kv in overrides.items() for item in kv])
    return cfg


@pytest.mark.parametrize("arch", sorted(TORCHVISION_ARCHS))
def test_output_shape_describes_every_stage(arch):
    backbone = build_backbone(backbone_cfg(arch))
    size = 128
    with torch.no_grad():
        outputs = backbone(torch.rand(2, 3, size, size))
    shapes = backbone.output_shape()
    assert list(outputs) == list(shapes) == ALL_STAGES[TORCHVISION_ARCHS[arch]]
    strides = [shapes[name].stride for name in outputs]
    assert strides == sorted(strides) and strides[-1] == 32
    for name, feature in outputs.items():
        assert feature.shape[:2] == (2, shapes[name].channels), name
        # AlexNet's unpadded convolutions and pools round down: within one pixel of size / stride
        assert abs(feature.shape[-1] - size / shapes[name].stride) <= 1, name


def test_only_requested_stages_are_returned_and_computed():
    backbone = build_backbone(backbone_cfg("vgg16", **{"MODEL.TORCHVISION.OUT_FEATURES": ["stage3"]}))
    assert list(backbone(torch.rand(1, 3, 64, 64))) == ["stage3"]
    assert list(backbone.output_shape()) == ["stage3"]
    assert (backbone.output_shape()["stage3"].channels, backbone.output_shape()["stage3"].stride) == (512, 8)


@pytest.mark.parametrize("key, value, message", [
    ("MODEL.TORCHVISION.ARCH", "vgg16", "MODEL.TORCHVISION.ARCH = 'vgg16' is not a resnet"),
    ("MODEL.TORCHVISION.OUT_FEATURES", ["res6"], "MODEL.TORCHVISION.OUT_FEATURES: ['res6']"),
    ("MODEL.TORCHVISION.NORM", "GN", "MODEL.TORCHVISION.NORM = 'GN'"),
])
def test_bad_config_names_the_key(key, value, message):
    cfg = backbone_cfg("resnet18", **{key: value})
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        build_backbone(cfg)


def test_resnet_freeze_at_freezes_stem_and_res2():
    backbone = build_backbone(backbone_cfg("resnet18", **{"MODEL.BACKBONE.FREEZE_AT": 2}))
    assert isinstance(backbone, TorchvisionResNet)
    assert isinstance(backbone.bn1, FrozenBatchNorm2d) and isinstance(backbone.layer1[0].bn1, FrozenBatchNorm2d)
    assert not any(p.requires_grad for p in [*backbone.conv1.parameters(), *backbone.layer1.parameters()])
    assert all(p.requires_grad for p in backbone.layer2.parameters())
    assert isinstance(backbone.layer2[0].bn1, nn.BatchNorm2d)


def test_sequential_freeze_at_freezes_leading_stages():
    backbone = build_backbone(backbone_cfg("mobilenet_v3_small", **{"MODEL.BACKBONE.FREEZE_AT": 2}))
    assert isinstance(backbone, SequentialFeaturesBackbone)
    # stage1 = features[0] (stem), stage2 = features[1]
    assert not any(p.requires_grad for p in backbone.features[:2].parameters())
    assert all(p.requires_grad for p in backbone.features[2:].parameters())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in backbone.features[:2].modules())


def test_frozen_bn_and_single_process_sync_bn():
    frozen = build_backbone(backbone_cfg("resnet18", **{"MODEL.TORCHVISION.NORM": "FrozenBN"}))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in frozen.modules())
    # One process: SyncBN stays plain BN, so training runs without a process group.
    sync = build_backbone(backbone_cfg("resnet18", **{"MODEL.TORCHVISION.NORM": "SyncBN"}))
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in sync.modules())
    sync.train()
    sum(f.mean() for f in sync(torch.rand(2, 3, 64, 64)).values()).backward()


def test_fpn_over_torchvision_resnet():
    cfg = backbone_cfg("resnet18")
    cfg.MODEL.BACKBONE.NAME = "build_torchvision_resnet_fpn_backbone"
    cfg.MODEL.FPN.IN_FEATURES = ["res2", "res3", "res4", "res5"]
    backbone = build_backbone(cfg)
    assert isinstance(backbone.bottom_up, TorchvisionResNet)
    outputs = backbone(torch.rand(1, 3, 128, 128))
    assert {k: v.shape[-1] for k, v in outputs.items()} == {"p2": 32, "p3": 16, "p4": 8, "p5": 4, "p6": 2}
