"""torchvision's FCN and DeepLabV3 weights in d2ext: same logits at any size and in any batch; backbone-only; refusals."""
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
# Sizes are not multiples of the ResNets' strides (8, 32); two of one size: a batch that needs padding and grouping.
MIXED_SIZES = [(375, 500), (173, 259), (97, 141), (97, 141)]


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


def compare(torchvision_model, d2ext_model, cfg, sizes=((97, 131),)):
    """
    d2ext's logits for a batch of images of `sizes` are torchvision's for each image alone, and so are its
    classes, except where torchvision's two best logits tie within the tolerance (float differences, e.g. of
    DeepLabV3's folded pooling BN, can flip a pixel whose two best classes are that close).
    """
    images = [torch.randint(0, 256, (3, *size), dtype=torch.uint8) for size in sizes]
    with torch.no_grad():
        outputs = d2ext_model.eval()([{"image": image} for image in images])
        for image, output in zip(images, outputs):
            expected = torchvision_model(normalised(image, cfg))["out"][0]
            assert_same_logits(output["sem_seg"], expected)
            best_two = expected.topk(2, dim=0).values
            decided = best_two[0] - best_two[1] > 2e-4
            assert decided.float().mean() > 0.999
            assert torch.equal(output["sem_seg"].argmax(0)[decided], expected.argmax(0)[decided]), tuple(image.shape)


@pytest.mark.parametrize("arch", sorted(SEGMENTATION_ARCHS))
def test_converted_weights_give_torchvision_logits_at_any_size_in_a_mixed_batch(arch):
    torchvision_model = random_torchvision_segmenter(arch)
    cfg = voc_cfg(arch)
    model = build_model(cfg)
    incompatible = SafeCheckpointer(model)._load_model(convert_torchvision(torchvision_model.state_dict(), arch))
    assert not incompatible.missing_keys and not incompatible.unexpected_keys
    # the ResNet-101 models, the same code on a deeper backbone, at one size (they are slow on a CPU)
    compare(torchvision_model, model, cfg, MIXED_SIZES if arch.endswith("50") else [(97, 131)])


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
