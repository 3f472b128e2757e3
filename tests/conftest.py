"""
Shared fixtures: a tiny `shapes` dataset in COCO format declared through the config, and helpers
that run the real command-line tools in subprocesses.
"""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile

import cv2
import pytest
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Generated datasets of the tests go to a temporary folder, not the checkout's ./datasets. This runs
# before d2ext is imported, which registers the built-in datasets under this root.
os.environ["D2EXT_DATASETS"] = tempfile.mkdtemp(prefix="d2ext-test-datasets-")
atexit.register(shutil.rmtree, os.environ["D2EXT_DATASETS"], ignore_errors=True)

from d2ext.data.shapes import ShapesSplitSpec, generate_split  # noqa: E402

TINY_TRAIN = ShapesSplitSpec(num_images=24, seed=10)
TINY_VAL = ShapesSplitSpec(num_images=8, seed=11)


def run_python(*args, check=True, timeout=600, env=None):
    """Run this interpreter with `args` in the repository root; fail the test on a non-zero exit."""
    cmd = [sys.executable, *args]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


def run_tool(script, *args, **kwargs):
    """Run ``tools/<script>`` with `args` (see run_python)."""
    return run_python(os.path.join(REPO, "tools", script), *args, **kwargs)


@pytest.fixture(scope="session")
def tiny_shapes(tmp_path_factory):
    """{"train": dir, "val": dir}: tiny shapes splits, each with images/ and instances.json."""
    root = tmp_path_factory.mktemp("tiny_shapes")
    splits = {"train": TINY_TRAIN, "val": TINY_VAL}
    for split, spec in splits.items():
        generate_split(str(root / split), spec, progress=False)
    return {split: str(root / split) for split in splits}


def randomise_batch_norm(model):
    """`model` with BN statistics and affine moved away from 0/1 (in place), so that a weight
    conversion that drops or mixes them up changes the outputs."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.8, 1.2)
            m.weight.data.uniform_(0.8, 1.2)
            m.bias.data.normal_(0, 0.1)
    return model


def normalised(image_uint8, cfg):
    """(1, 3, H, W) float input of torchvision for the (3, H, W) uint8 RGB image d2ext normalises itself."""
    mean = torch.tensor(cfg.MODEL.PIXEL_MEAN).view(3, 1, 1)
    std = torch.tensor(cfg.MODEL.PIXEL_STD).view(3, 1, 1)
    return ((image_uint8.float() - mean) / std)[None]


def write_images(root, images):
    """Write each (H, W) or (H, W, C) uint8 array of `images` as root/<index>.png; returns str(root)."""
    os.makedirs(root, exist_ok=True)
    for index, image in enumerate(images):
        cv2.imwrite(os.path.join(root, f"{index:03d}.png"), image)
    return str(root)


def write_config(path, base, body):
    """Write a config file at `path` whose _BASE_ is `base` (absolute) followed by the YAML `body`."""
    with open(path, "w") as f:
        f.write(f'_BASE_: "{base}"\n{body}')
    return str(path)


@pytest.fixture(scope="session")
def tiny_config_for(tiny_shapes, tmp_path_factory):
    """
    config_for(base) -> path of a config over the repo config `base` (relative to configs/) that
    trains a few iterations on the tiny splits, declared in DATASETS.REGISTER as tiny_train/tiny_val.
    """
    body = f"""
DATASETS:
  REGISTER:
    tiny_train: {{TYPE: coco, JSON_FILE: "{tiny_shapes['train']}/instances.json", IMAGE_ROOT: "{tiny_shapes['train']}/images"}}
    tiny_val: {{TYPE: coco, JSON_FILE: "{tiny_shapes['val']}/instances.json", IMAGE_ROOT: "{tiny_shapes['val']}/images"}}
  TRAIN: ("tiny_train",)
  TEST: ("tiny_val",)
SOLVER:
  IMS_PER_BATCH: 4
  MAX_ITER: 6
  WARMUP_ITERS: 2
  STEPS: ()
  CHECKPOINT_PERIOD: 3
"""
    config_dir = tmp_path_factory.mktemp("configs")

    def config_for(base):
        name = base.replace("/", "_")
        return write_config(config_dir / name, os.path.join(REPO, "configs", base), body)

    return config_for


@pytest.fixture(scope="session")
def tiny_config(tiny_config_for):
    """The demo detector (Faster R-CNN R18-FPN) on the tiny splits."""
    return tiny_config_for("shapes/detection/faster_rcnn_R_18_FPN.yaml")


def train_net(config, tmp_path_factory, name="train"):
    """Output dir (a new temporary folder) of a tools/train_net.py run with `config`."""
    output_dir = str(tmp_path_factory.mktemp(name))
    run_tool("train_net.py", "--config-file", config, "OUTPUT_DIR", output_dir)
    return output_dir


def evaluation_results(output_dir):
    """The evaluation_results.json that tools/train_net.py wrote in `output_dir`."""
    with open(os.path.join(output_dir, "evaluation_results.json")) as f:
        return json.load(f)


def assert_same_logits(actual, expected):
    """d2ext's logits equal the reference's within 1e-4, and are large enough for that to mean something."""
    assert expected.abs().max() > 0.5  # logits that are all ~0 would prove nothing
    torch.testing.assert_close(actual, expected, atol=1e-4, rtol=0)


@pytest.fixture(scope="session")
def trained(tiny_config, tmp_path_factory):
    """Output dir of a 6-iteration run of tools/train_net.py with `tiny_config`."""
    return train_net(tiny_config, tmp_path_factory)


@pytest.fixture(scope="session")
def digits_classifier(tmp_path_factory):
    """
    Weights of a digits ImageClassifier (ResNet-18, random weights: its features are enough to test the
    FID/KID machinery) saved as a training run saves them: model_final.pth with config.yaml beside it.
    """
    from detectron2.modeling import build_model

    from d2ext.checkpoint import SafeCheckpointer
    from d2ext.config import load_config

    output_dir = str(tmp_path_factory.mktemp("digits_classifier"))
    cfg = load_config(os.path.join(REPO, "configs/digits/classification/resnet18.yaml"), ["MODEL.DEVICE", "cpu"])
    torch.manual_seed(0)
    SafeCheckpointer(build_model(cfg), save_dir=output_dir).save("model_final")
    with open(os.path.join(output_dir, "config.yaml"), "w") as f:
        f.write(cfg.dump())
    return os.path.join(output_dir, "model_final.pth")
