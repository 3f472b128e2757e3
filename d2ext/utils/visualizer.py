"""Overlays of predictions and ground truth with detectron2's Visualizer."""
import math

import numpy as np
from detectron2.data.detection_utils import convert_image_to_rgb
from detectron2.utils.visualizer import ColorMode, Visualizer

from ..data.masks import check_mask_ids, read_mask

__all__ = ["PREDICTION_DRAWERS", "GROUND_TRUTH_DRAWERS", "draw_predictions", "draw_ground_truth", "image_grid",
           "translation_strips"]

# Opacity of semantic segmentation overlays: the image stays visible under the classes.
_SEM_SEG_ALPHA = 0.5


def _draw_caption(visualizer, lines):
    """`lines` of text in the top-left corner, white on a dark box."""
    return visualizer.draw_text("\n".join(lines), (2, 2), color="w", horizontal_alignment="left")


def _draw_instances(visualizer, predictions, top_k):
    return visualizer.draw_instance_predictions(predictions["instances"].to("cpu"))


def _draw_top_classes(visualizer, predictions, top_k):
    scores, classes = predictions["scores"].cpu().topk(min(top_k, len(predictions["scores"])))
    names = visualizer.metadata.get("thing_classes")
    return _draw_caption(visualizer, [f"{names[c] if names else c} {100 * s:.1f}%"
                                      for s, c in zip(scores.tolist(), classes.tolist())])


def _draw_sem_seg(visualizer, predictions, top_k):
    # predictions["sem_seg"]: (K, H, W) class scores; each pixel is drawn in the colour of its best class.
    return visualizer.draw_sem_seg(predictions["sem_seg"].argmax(dim=0).cpu(), alpha=_SEM_SEG_ALPHA)


# Model output key -> drawer(visualizer, predictions, top_k) -> VisImage. Tasks with new output keys add theirs.
PREDICTION_DRAWERS = {"instances": _draw_instances, "scores": _draw_top_classes, "sem_seg": _draw_sem_seg}


def draw_predictions(rgb, predictions, metadata, scale=1.0, top_k=3):
    """
    Args:
        rgb: (H, W, 3) uint8 image in RGB.
        predictions: one output dict of a d2ext model in eval mode (keys such as "instances", "scores",
            "sem_seg").
        metadata: the dataset's Metadata (class names and colours).
        top_k: how many classes a classification overlay lists, best first, with their scores.
    Returns:
        (H', W', 3) uint8 RGB overlay.
    """
    drawable = [key for key in PREDICTION_DRAWERS if key in predictions]
    if not drawable:
        raise KeyError(f"no overlay for model outputs {sorted(predictions)}; known: {sorted(PREDICTION_DRAWERS)}")
    visualizer = Visualizer(rgb, metadata, scale=scale, instance_mode=ColorMode.IMAGE)
    for key in drawable:
        vis_image = PREDICTION_DRAWERS[key](visualizer, predictions, top_k)
    return vis_image.get_image()


def image_grid(images, image_format, num_columns=None, padding=2):
    """
    Args:
        images: sequence of (C, H, W) uint8 tensors of one size, in INPUT.FORMAT `image_format` ("L", "RGB", "BGR").
        num_columns: images per row; default: the smallest count that gives a square or wider grid.
    Returns:
        (H', W', 3) uint8 RGB: the images in rows, separated by `padding` white pixels.
    """
    num_columns = num_columns or math.ceil(math.sqrt(len(images)))
    num_rows = math.ceil(len(images) / num_columns)
    height, width = images[0].shape[-2:]
    grid = np.full((num_rows * (height + padding) + padding, num_columns * (width + padding) + padding, 3), 255, np.uint8)
    for index, image in enumerate(images):
        y, x = padding + (index // num_columns) * (height + padding), padding + (index % num_columns) * (width + padding)
        grid[y:y + height, x:x + width] = convert_image_to_rgb(image.permute(1, 2, 0).cpu().numpy(), image_format)
    return grid


def translation_strips(sources, outputs, image_format):
    """
    CycleGAN strips, one row per image: source | translated | reconstructed (A -> B -> A or B -> A -> B).
    `sources`: (C, H, W) uint8 tensors; `outputs`: the model's output dicts for them. Returns (H', W', 3) uint8 RGB.
    """
    return image_grid([image for source, output in zip(sources, outputs)
                       for image in (source, output["translated"], output["reconstructed"])], image_format, num_columns=3)


def _draw_annotations(visualizer, record):
    # A shapes record also names a semantic mask; a detection overlay shows the instances only.
    drawn = ("sem_seg", "sem_seg_file_name", "pan_seg_file_name")
    return visualizer.draw_dataset_dict({k: v for k, v in record.items() if k not in drawn})


def _draw_label(visualizer, record):
    return _draw_caption(visualizer, [visualizer.metadata.thing_classes[record["label"]]])


def _draw_sem_seg_mask(visualizer, record):
    metadata, file_name = visualizer.metadata, record["sem_seg_file_name"]
    mask = read_mask(file_name)
    check_mask_ids(mask, len(metadata.stuff_classes), metadata.ignore_label, file_name)
    # draw_sem_seg paints the ids below len(stuff_classes) only, so ignore_label pixels are left as they are.
    return visualizer.draw_sem_seg(mask, alpha=_SEM_SEG_ALPHA)


# A dataset's evaluator_type -> drawer(visualizer, dataset dict) -> VisImage; other types draw
# whatever Visualizer.draw_dataset_dict finds in the record.
GROUND_TRUTH_DRAWERS = {"coco": _draw_annotations, "classification": _draw_label, "sem_seg": _draw_sem_seg_mask,
                        "cityscapes_sem_seg": _draw_sem_seg_mask}


def draw_ground_truth(rgb, dataset_dict, metadata, scale=1.0):
    """The ground truth of one dataset dict drawn over its (H, W, 3) uint8 RGB image; returns the RGB overlay."""
    visualizer = Visualizer(rgb, metadata, scale=scale)
    draw = GROUND_TRUTH_DRAWERS.get(metadata.get("evaluator_type"), Visualizer.draw_dataset_dict)
    return draw(visualizer, dataset_dict).get_image()
