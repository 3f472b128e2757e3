"""tools/demo.py and tools/visualize_data.py write non-empty overlays for images, folders and videos."""
import os

import cv2
import numpy as np
import pytest

from conftest import run_tool

pytestmark = pytest.mark.slow


def _assert_overlays(folder, count, size=None):
    files = sorted(os.listdir(folder))
    assert len(files) == count and all(f.endswith(".png") for f in files)
    for f in files:
        image = cv2.imread(os.path.join(folder, f))
        assert image is not None and image.std() > 0
        if size:
            assert image.shape[:2] == size
    return files


def test_ground_truth_overlays_draw_boxes_over_the_image(tiny_config, tiny_shapes, tmp_path):
    run_tool("visualize_data.py", "--config-file", tiny_config, "--dataset", "tiny_val", "--num-images", "3",
             "--scale", "1", "--output-dir", str(tmp_path))
    files = _assert_overlays(tmp_path, 3, size=(128, 128))
    original = cv2.imread(os.path.join(tiny_shapes["val"], "images", files[0]))
    assert np.abs(cv2.imread(str(tmp_path / files[0])).astype(int) - original).sum() > 0, "nothing was drawn"


@pytest.fixture(scope="module")
def weights(trained):
    return os.path.join(trained, "model_final.pth")


def test_demo_on_images_folder_and_video(tiny_config, tiny_shapes, weights, tmp_path):
    images = os.path.join(tiny_shapes["val"], "images")
    video = str(tmp_path / "clip.mp4")
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"mp4v"), 5, (128, 128))
    for name in sorted(os.listdir(images))[:3]:
        writer.write(cv2.imread(os.path.join(images, name)))
    writer.release()
    out = tmp_path / "out"
    result = run_tool("demo.py", "--config-file", tiny_config, "--input", images, video, "--output", str(out),
                      "--confidence-threshold", "0.0", "MODEL.WEIGHTS", weights)
    assert "Wrote 11 overlays" in result.stderr + result.stdout
    _assert_overlays(out / "clip", 3)
    assert len([f for f in os.listdir(out) if f.endswith(".png")]) == 8


def test_demo_names_a_missing_input(tiny_config, weights, tmp_path):
    result = run_tool("demo.py", "--config-file", tiny_config, "--input", str(tmp_path / "nope.png"),
                      "--output", str(tmp_path), "MODEL.WEIGHTS", weights, check=False)
    assert result.returncode != 0 and "nope.png: no such file or folder" in result.stderr
