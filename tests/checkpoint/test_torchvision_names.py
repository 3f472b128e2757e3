"""
MODEL.WEIGHTS torchvision://<weights enum>[?backbone]: the file in torchvision's cache (TORCH_HOME, filled here with
random weights), converted in memory as tools/convert_torchvision.py converts it; clear errors otherwise.
"""
import os

import pytest
import torch
import torchvision
from detectron2.modeling import build_model
from detectron2.structures import Boxes

from conftest import REPO, randomise_batch_norm
from d2ext.checkpoint import SafeCheckpointer, convert_torchvision
from d2ext.config import get_cfg


@pytest.fixture
def hub_checkpoints(tmp_path, monkeypatch):
    """The folder where torchvision caches its weights, under an empty TORCH_HOME."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return tmp_path / "torch_home" / "hub" / "checkpoints"


def file_name(weights_name):
    """The file name that the URL of torchvision's `weights_name` ends with."""
    return torchvision.models.get_weight(weights_name).url.rsplit("/", 1)[-1]


def cache(hub_checkpoints, weights_name, arch, **kwargs):
    """The state_dict of a random torchvision `arch` (BN away from 0/1), saved as torchvision caches `weights_name`."""
    torch.manual_seed(0)
    model = randomise_batch_norm(torchvision.models.get_model(arch, weights=None, **kwargs))
    hub_checkpoints.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), hub_checkpoints / file_name(weights_name))
    return model.state_dict()


def loaded_model(config_file, weights, seed):
    """The model of configs/`config_file`, initialised with `seed`, then loaded from `weights`."""
    cfg = get_cfg()
    cfg.merge_from_file(os.path.join(REPO, "configs", config_file))
    cfg.merge_from_list(["MODEL.DEVICE", "cpu"])
    torch.manual_seed(seed)
    model = build_model(cfg)
    SafeCheckpointer(model).load(weights)
    return model.eval()


def predictions(model, image):
    """The model's output for `image` as tensors: Instances and Boxes unpacked."""
    with torch.no_grad():
        output = model([{"image": image}])[0]
    if "instances" in output:
        output["instances"] = {k: v.tensor if isinstance(v, Boxes) else v for k, v in output["instances"].get_fields().items()}
    return output


@pytest.mark.parametrize("weights_name, arch, kwargs, config_file", [
    ("ResNet18_Weights.IMAGENET1K_V1", "resnet18", {}, "ImageNet/classification/resnet18.yaml"),
    ("DeepLabV3_ResNet50_Weights.DEFAULT", "deeplabv3_resnet50",
     {"weights_backbone": None, "num_classes": 21, "aux_loss": True}, "VOC/semantic_segmentation/deeplabv3_resnet50.yaml"),
    ("SSDLite320_MobileNet_V3_Large_Weights.DEFAULT", "ssdlite320_mobilenet_v3_large", {"weights_backbone": None},
     "COCO-Detection/ssdlite320_mobilenet_v3.yaml"),
], ids=["classifier", "segmenter", "ssd"])
def test_a_name_loads_as_the_converted_file(hub_checkpoints, tmp_path, weights_name, arch, kwargs, config_file):
    converted = tmp_path / "converted.pth"
    torch.save(convert_torchvision(cache(hub_checkpoints, weights_name, arch, **kwargs), arch), converted)
    # Different initialisations: a tensor that either load leaves out differs.
    by_name = loaded_model(config_file, f"torchvision://{weights_name}", seed=1)
    by_file = loaded_model(config_file, str(converted), seed=2)
    for key, tensor in by_file.state_dict().items():
        torch.testing.assert_close(by_name.state_dict()[key], tensor, atol=0, rtol=0, msg=key)
    image = torch.randint(0, 256, (3, 64, 80), dtype=torch.uint8)
    torch.testing.assert_close(predictions(by_name, image), predictions(by_file, image), atol=0, rtol=0)


def test_backbone_option_initialises_the_backbone_of_a_detector(hub_checkpoints):
    state_dict = cache(hub_checkpoints, "ResNet18_Weights.IMAGENET1K_V1", "resnet18")
    model = loaded_model("shapes/detection/faster_rcnn_tvR_18_FPN.yaml",
                         "torchvision://ResNet18_Weights.IMAGENET1K_V1?backbone", seed=1)
    backbone = model.backbone.bottom_up.state_dict()
    for name, tensor in state_dict.items():
        if not name.startswith("fc."):
            torch.testing.assert_close(backbone[name], tensor, atol=0, rtol=0, msg=name)


def test_a_missing_file_names_it_the_url_and_the_folder(hub_checkpoints):
    weights = torchvision.models.get_weight("ResNet18_Weights.IMAGENET1K_V1")
    with pytest.raises(FileNotFoundError) as error:
        SafeCheckpointer(torch.nn.Linear(1, 1)).load("torchvision://ResNet18_Weights.IMAGENET1K_V1")
    message = str(error.value)
    assert str(hub_checkpoints / file_name("ResNet18_Weights.IMAGENET1K_V1")) in message
    assert f"Download {weights.url} into {hub_checkpoints} " in message
    assert "get_weight('ResNet18_Weights.IMAGENET1K_V1').get_state_dict()" in message
    assert not hub_checkpoints.exists()  # nothing downloaded


CONVERTED_ENUMS = "'ResNet18_Weights', 'ResNet34_Weights'"  # part of the list of enums d2ext converts


@pytest.mark.parametrize("name, expected", [
    ("torchvision://ResNet18_Weights.IMAGENET1K_V9",
     "ResNet18_Weights has no entry 'IMAGENET1K_V9'; choose one of ['IMAGENET1K_V1', 'DEFAULT']"),
    ("torchvision://ResNet18_Weight.DEFAULT", CONVERTED_ENUMS),
    ("torchvision://RegNet_Y_400MF_Weights.DEFAULT", CONVERTED_ENUMS),
    ("torchvision://ResNet18_Weights.DEFAULT?backbone_only",
     "unknown option '?backbone_only'. Write torchvision://ResNet18_Weights.DEFAULT for the whole model, "
     "or torchvision://ResNet18_Weights.DEFAULT?backbone"),
], ids=["entry", "enum", "architecture", "option"])
def test_a_bad_name_says_what_to_write(hub_checkpoints, name, expected):
    with pytest.raises(ValueError) as error:
        SafeCheckpointer(torch.nn.Linear(1, 1)).load(name)
    assert str(error.value).startswith(f"MODEL.WEIGHTS {name!r}: ") and expected in str(error.value)
