"""torchvision weights in d2ext: same logits, fine-tuning to other classes, backbone-only checkpoints."""
import logging
import os

import pytest
import torch
import torchvision
from detectron2.modeling import build_model

from conftest import REPO, assert_same_logits, normalised, randomise_batch_norm, run_tool
from d2ext.config import get_cfg
from d2ext.checkpoint import SafeCheckpointer, convert_torchvision
from d2ext.modeling.backbone import TORCHVISION_ARCHS

NUM_CLASSES = 10


def model_cfg(config_file, *opts):
    cfg = get_cfg()
    cfg.merge_from_file(os.path.join(REPO, "configs", config_file))
    cfg.merge_from_list(["MODEL.DEVICE", "cpu", *opts])
    return cfg


def imagenet_cfg(arch, *opts):
    return model_cfg(f"ImageNet/classification/{arch}.yaml", "MODEL.CLS_HEAD.NUM_CLASSES", str(NUM_CLASSES), *opts)


def random_torchvision_model(arch, num_classes=NUM_CLASSES):
    """A torchvision `arch` in eval mode with random weights, BN statistics away from 0/1, and logits of unit scale."""
    torch.manual_seed(0)
    model = randomise_batch_norm(torchvision.models.get_model(arch, weights=None, num_classes=num_classes).eval())
    predictor = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        predictor.weight /= model(torch.rand(4, 3, 96, 96)).std()
    return model


def compare(torchvision_model, d2ext_model, cfg):
    """d2ext's logits for a batch of two sizes, not multiples of 32, are torchvision's for each image alone."""
    images = [torch.randint(0, 256, (3, *size), dtype=torch.uint8) for size in [(97, 131), (75, 101)]]
    with torch.no_grad():
        outputs = d2ext_model.eval()([{"image": image} for image in images])
        for image, output in zip(images, outputs):
            assert_same_logits(output["pred_logits"], torchvision_model(normalised(image, cfg))[0])


@pytest.mark.parametrize("arch", sorted(TORCHVISION_ARCHS))
def test_converted_weights_give_torchvision_logits(arch):
    torchvision_model = random_torchvision_model(arch)
    cfg = imagenet_cfg(arch)
    model = build_model(cfg)
    SafeCheckpointer(model)._load_model(convert_torchvision(torchvision_model.state_dict(), arch))
    compare(torchvision_model, model, cfg)


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory):
    """(torchvision model, path of its saved state_dict)."""
    model = random_torchvision_model("resnet18")
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(model.state_dict(), path)
    return model, str(path)


def test_convert_tool_output_loads_through_model_weights(resnet18_file, tmp_path):
    torchvision_model, state_dict_file = resnet18_file
    converted = str(tmp_path / "resnet18_d2ext.pth")
    run_tool("convert_torchvision.py", "--arch", "resnet18", state_dict_file, converted)
    cfg = imagenet_cfg("resnet18", "MODEL.WEIGHTS", converted)
    model = build_model(cfg)
    SafeCheckpointer(model).load(cfg.MODEL.WEIGHTS)  # torch.load(weights_only=True) under torch >= 2.6
    compare(torchvision_model, model, cfg)


def test_convert_tool_refuses_another_architecture(resnet18_file, tmp_path):
    _, state_dict_file = resnet18_file
    result = run_tool("convert_torchvision.py", "--arch", "resnet50", state_dict_file, str(tmp_path / "out.pth"), check=False)
    assert result.returncode != 0
    assert f"{state_dict_file}: not a torchvision resnet50 state_dict" in result.stderr
    assert not (tmp_path / "out.pth").exists()


def test_fine_tuning_to_other_classes_reinitialises_the_head_and_says_so(resnet18_file, caplog):
    torchvision_model, _ = resnet18_file
    model = build_model(imagenet_cfg("resnet18", "MODEL.CLS_HEAD.NUM_CLASSES", "3"))
    initial_predictor = model.cls_head.predictor.weight.detach().clone()
    with caplog.at_level(logging.WARNING):
        SafeCheckpointer(model)._load_model(convert_torchvision(torchvision_model.state_dict(), "resnet18"))
    assert "Re-initialised ['cls_head.predictor']" in caplog.text
    torch.testing.assert_close(model.cls_head.predictor.weight, initial_predictor, atol=0, rtol=0)
    torch.testing.assert_close(model.backbone.layer4[1].conv2.weight, torchvision_model.layer4[1].conv2.weight)


@pytest.fixture(scope="module")
def backbone_file(resnet18_file, tmp_path_factory):
    """`tools/convert_torchvision.py --backbone-only` output for `resnet18_file`."""
    path = str(tmp_path_factory.mktemp("weights") / "resnet18_backbone.pth")
    run_tool("convert_torchvision.py", "--arch", "resnet18", "--backbone-only", resnet18_file[1], path)
    return path


@pytest.mark.parametrize("config_file, opts", [
    ("shapes/detection/faster_rcnn_tvR_18_FPN.yaml", []),
    ("shapes/detection/faster_rcnn_tvR_18_FPN.yaml", ["MODEL.META_ARCHITECTURE", "SemanticSegmentor",
                                                       "MODEL.SEM_SEG_HEAD.NUM_CLASSES", 4]),
    ("ImageNet/classification/resnet18.yaml", []),
], ids=["detector", "segmenter", "classifier"])
def test_backbone_only_checkpoint_initialises_any_model_with_that_backbone(resnet18_file, backbone_file, config_file, opts):
    torchvision_model, _ = resnet18_file
    model = build_model(model_cfg(config_file, *opts))
    SafeCheckpointer(model).load(backbone_file)
    backbone = getattr(model.backbone, "bottom_up", model.backbone)
    for name, tensor in torchvision_model.state_dict().items():
        if not name.startswith("fc."):
            torch.testing.assert_close(backbone.state_dict()[name], tensor, atol=0, rtol=0, msg=name)


def test_backbone_only_checkpoint_needs_that_backbone(resnet18_file):
    torchvision_model, _ = resnet18_file
    checkpoint = convert_torchvision(torchvision_model.state_dict(), "resnet18", backbone_only=True)
    model = build_model(imagenet_cfg("resnet50"))
    with pytest.raises(ValueError, match="a backbone-only resnet18 checkpoint needs a model with exactly one torchvision resnet18 backbone"):
        SafeCheckpointer(model)._load_model(checkpoint)
