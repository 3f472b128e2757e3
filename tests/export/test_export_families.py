"""Every exportable family, in both formats: the export gives the PyTorch model's outputs at other sizes and batches."""
import os

import pytest
import torch
from detectron2.modeling import build_model

from d2ext.config import load_config
from d2ext.export import (EXPORT_ADAPTERS, ExportedModel, build_export_adapter, compare_outputs,
                          differences_above_tolerance, export_model)

from conftest import REPO, randomise_batch_norm

BACKEND = {"onnx": "onnxruntime", "torchscript": "torchscript"}


def image(rows, cols, seed, channels=3, **fields):
    """A model input: a random (channels, rows, cols) uint8 image and `fields` (e.g. "height", "width", "domain")."""
    generator = torch.Generator().manual_seed(seed)
    return {"image": torch.randint(0, 256, (channels, rows, cols), generator=generator, dtype=torch.uint8), **fields}


# config, overrides, inputs that trace the export, inputs it is checked on (sizes not multiples of 32, mixed batches)
FAMILIES = {
    "classifier": ("configs/digits/classification/resnet18.yaml", [],
                   [image(32, 32, 0), image(32, 32, 1)], [image(32, 32, 2), image(45, 37, 3), image(32, 32, 4)]),
    "fcn": ("configs/shapes/semantic_segmentation/fcn_R_18_OS8.yaml", [],
            [image(96, 128, 0)], [image(97, 141, 1, height=120, width=150), image(173, 259, 2), image(97, 141, 3)]),
    "deeplabv3": ("configs/shapes/semantic_segmentation/deeplabv3_R_18_OS8.yaml", [],
                  [image(96, 128, 0)], [image(97, 141, 1), image(131, 97, 2)]),
    "unet": ("configs/shapes/semantic_segmentation/unet_light.yaml", [],
             [image(96, 128, 0)], [image(97, 141, 1), image(131, 97, 2), image(97, 141, 3)]),
    "ssd": ("configs/shapes/detection/ssd_R_18.yaml", [],
            [image(128, 128, 0)], [image(128, 128, 1, height=200, width=173), image(97, 141, 2), image(128, 128, 3)]),
    "faster_rcnn": ("configs/shapes/detection/faster_rcnn_R_18_FPN.yaml", [],
                    [image(128, 128, 0)], [image(128, 128, 1, height=200, width=173), image(117, 141, 2)]),
    "cascade_rcnn": ("configs/shapes/detection/cascade_rcnn_R_18_FPN.yaml", [],
                     [image(128, 128, 0)], [image(117, 141, 1, height=90, width=100), image(128, 128, 2)]),
    "mask_rcnn": ("configs/shapes/instance_segmentation/mask_rcnn_R_18_FPN.yaml", [],
                  [image(128, 128, 0)], [image(117, 141, 1, height=90, width=100), image(128, 128, 2)]),
    "dcgan": ("configs/digits/gan/dcgan.yaml", [], [{"seed": 0}, {"seed": 1}], [{"seed": s} for s in range(2, 7)]),
    "cyclegan": ("configs/shapes/gan/cyclegan_filled2outlined.yaml", [],
                 [image(64, 64, 0, domain="A")], [image(64, 64, 1, domain="B"), image(68, 92, 2, domain="A"), image(64, 64, 3)]),
}


def random_model(cfg):
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    randomise_batch_norm(model)
    return model


def test_every_meta_architecture_of_the_bundled_configs_has_an_adapter():
    archs = {load_config(os.path.join(REPO, config)).MODEL.META_ARCHITECTURE for config, *_ in FAMILIES.values()}
    assert archs <= set(EXPORT_ADAPTERS)


@pytest.mark.slow
@pytest.mark.parametrize("export_format", ["onnx", "torchscript"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_export_gives_the_pytorch_outputs(family, export_format, tmp_path):
    config, overrides, trace_inputs, check_inputs = FAMILIES[family]
    cfg = load_config(os.path.join(REPO, config), [*overrides, "MODEL.DEVICE", "cpu"])
    model = random_model(cfg)
    differences = export_model(cfg, model, trace_inputs, str(tmp_path), export_format)
    assert not differences_above_tolerance(differences)
    exported = ExportedModel(cfg, str(tmp_path), BACKEND[export_format])
    threads = torch.get_num_threads()
    with torch.no_grad():  # detectron2's R-CNNs pad a batch to its largest image: the reference runs image by image
        reference, outputs = [model([x])[0] for x in check_inputs], exported(check_inputs)
    assert torch.get_num_threads() == threads  # one torch thread only while ONNX Runtime runs
    differences = compare_outputs(reference, outputs)
    assert differences and not differences_above_tolerance(differences), differences
    assert sorted(os.listdir(tmp_path)) == sorted(["config.yaml", "export.json", *(
        name + (".onnx" if export_format == "onnx" else ".ts") for name in build_export_adapter(cfg).graphs(model))])
