"""Semantic segmentation overlays: predicted and ground-truth classes painted in their colours, ignored pixels left."""
import numpy as np
import pytest
import torch
from detectron2.data import MetadataCatalog
from PIL import Image

from d2ext.data import DatasetError
from d2ext.utils.visualizer import draw_ground_truth, draw_predictions

HEIGHT, WIDTH = 40, 60
GREY = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
# Left third class 1 (red), middle third class 2 (green), right third class 0 or ignored.
IDS = np.zeros((HEIGHT, WIDTH), np.uint8)
IDS[:, :20], IDS[:, 20:40] = 1, 2


@pytest.fixture(scope="module")
def metadata():
    return MetadataCatalog.get("test_sem_seg_overlays").set(
        stuff_classes=["sky", "car", "tree"], stuff_colors=[[0, 0, 255], [255, 0, 0], [0, 255, 0]], ignore_label=255,
        evaluator_type="sem_seg")


def _mean_colours(overlay):
    """Mean RGB of the left, middle and right thirds, away from their borders and the class names at their centres."""
    return [overlay[3:12, x0 + 4:x0 + 16].reshape(-1, 3).mean(axis=0) for x0 in (0, 20, 40)]


def test_predicted_classes_are_painted_in_their_colours(metadata):
    logits = torch.nn.functional.one_hot(torch.as_tensor(IDS).long(), 3).permute(2, 0, 1).float()
    overlay = draw_predictions(GREY, {"sem_seg": logits}, metadata)
    assert overlay.shape == GREY.shape
    left, middle, right = _mean_colours(overlay)
    assert left[0] > 160 > max(left[1:]) and middle[1] > 160 > max(middle[[0, 2]]) and right[2] > 160 > max(right[:2])


def test_ground_truth_paints_classes_and_leaves_ignored_pixels(metadata, tmp_path):
    ids = np.where(IDS == 0, 255, IDS).astype(np.uint8)
    Image.fromarray(ids).save(tmp_path / "mask.png")
    overlay = draw_ground_truth(GREY, {"file_name": "image.png", "sem_seg_file_name": str(tmp_path / "mask.png")},
                                metadata)
    assert overlay.shape == GREY.shape
    left, middle, _ = _mean_colours(overlay)
    assert left[0] > 160 > max(left[1:]) and middle[1] > 160 > max(middle[[0, 2]])
    assert (overlay[3:12, 42:] == 128).all(), "ignored pixels were painted"


def test_ground_truth_with_ids_beyond_the_classes_names_the_mask(metadata, tmp_path):
    Image.fromarray(np.full((HEIGHT, WIDTH), 3, np.uint8)).save(tmp_path / "mask.png")
    with pytest.raises(DatasetError, match=r"mask\.png: mask ids \[3\]"):
        draw_ground_truth(GREY, {"sem_seg_file_name": str(tmp_path / "mask.png")}, metadata)
