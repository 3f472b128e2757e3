"""torchvision's FCN and DeepLabV3 weights in d2ext: same logits, backbone-only use, refusal of other models."""
import os

import pytest
import torch
import torchvision
from detectron2.modeling import build_model

from conftest import REPO, assert_same_logits, normalised, randomise_batch_norm, run_tool
from d2ext.config import get_cfg
from d2ext.checkpoint import SafeCheckpointer, convert_torchvision
from d2ext.semantic_seg.torchvision_weights import SEGMENTATION_ARCHS

NUM_CLASSES = 21


def voc_cfg(arch, *opts):
    cfg = get_cfg()
    cfg.merge_from_file(os.path.join(REPO, "configs", "VOC", "semantic_segmentation", f"{arch}.yaml"))
    cfg.merge_from_list(["MODEL.DEVICE", "cpu", *opts])
    return cfg


def random_torchvision_segmenter(arch, aux_loss=True):
    """torchvision's `arch` in eval mode, random weights, BN away from 0/1, logits of unit scale."""
    torch.manual_seed(0)
    model = torchvision.models.get_model(arch, weights=None, weights_backbone=None, num_classes=NUM_CLASSES,
                                         aux_loss=aux_loss).eval()
    randomise_batch_norm(model)
    with torch.no_grad():
        model.classifier[4].weight /= model(torch.rand(2, 3, 64, 64))["out"].std()
    return model


def compare(torchvision_model, d2ext_model, cfg):
    # 96 x 128 is a multiple of 32, d2ext's padding, so both see the same pixels.
    image = torch.randint(0, 256, (3, 96, 128), dtype=torch.uint8)
    with torch.no_grad():
        expected = torchvision_model(normalised(image, cfg))["out"][0]
        actual = d2ext_model.eval()([{"image": image}])[0]["sem_seg"]
    assert_same_logits(actual, expected)


@pytest.mark.parametrize("arch", sorted(SEGMENTATION_ARCHS))
def test_converted_weights_give_torchvision_logits(arch):
    torchvision_model = random_torchvision_segmenter(arch)
    cfg = voc_cfg(arch)
    model = build_model(cfg)
    incompatible = SafeCheckpointer(model)._load_model(convert_torchvision(torchvision_model.state_dict(), arch))
    assert not incompatible.missing_keys and not incompatible.unexpected_keys
    compare(torchvision_model, model, cfg)


def test_convert_tool_without_aux_head_loads_through_model_weights(tmp_path):
    torchvision_model = random_torchvision_segmenter("deeplabv3_resnet50", aux_loss=False)
    state_dict_file, converted = str(tmp_path / "dlv3.pth"), str(tmp_path / "dlv3_d2ext.pth")
    torch.save(torchvision_model.state_dict(), state_dict_file)
    run_tool("convert_torchvision.py", "--arch", "deeplabv3_resnet50", state_dict_file, converted)
    cfg = voc_cfg("deeplabv3_resnet50", "MODEL.WEIGHTS", converted, "MODEL.SEM_SEG_HEAD.AUX_IN_FEATURE", "")
    model = build_model(cfg)
    SafeCheckpointer(model).load(cfg.MODEL.WEIGHTS)  # torch.load(weights_only=True)
    compare(torchvision_model, model, cfg)


def test_convert_tool_refuses_a_model_of_another_architecture(tmp_path):
    state_dict_file = str(tmp_path / "fcn.pth")
    torch.save(random_torchvision_segmenter("fcn_resnet50").state_dict(), state_dict_file)
    result = run_tool("convert_torchvision.py", "--arch", "deeplabv3_resnet50", state_dict_file,
                      str(tmp_path / "out.pth"), check=False)
    assert result.returncode != 0
    assert f"{state_dict_file}: not a torchvision deeplabv3_resnet50 state_dict" in result.stderr
    assert not (tmp_path / "out.pth").exists()


def test_backbone_only_segmentation_checkpoint_initialises_a_resnet_of_any_output_stride():
    torchvision_model = random_torchvision_segmenter("fcn_resnet50", aux_loss=False)
    checkpoint = convert_torchvision(torchvision_model.state_dict(), "fcn_resnet50", backbone_only=True)
    model = build_model(voc_cfg("deeplabv3_resnet50", "MODEL.TORCHVISION.OUTPUT_STRIDE", 16))
    SafeCheckpointer(model)._load_model(checkpoint)
    for name, tensor in torchvision_model.backbone.state_dict().items():
        torch.testing.assert_close(model.backbone.state_dict()[name], tensor, atol=0, rtol=0, msg=name)
