"""Overlays of predictions and ground truth with detectron2's Visualizer."""
from detectron2.utils.visualizer import ColorMode, Visualizer

__all__ = ["PREDICTION_DRAWERS", "GROUND_TRUTH_KEYS", "draw_predictions", "draw_ground_truth"]


def _draw_instances(visualizer, instances):
    return visualizer.draw_instance_predictions(instances.to("cpu"))


# Model output key -> drawer(visualizer, value) -> VisImage. Tasks with new output keys add theirs.
PREDICTION_DRAWERS = {"instances": _draw_instances}


def draw_predictions(rgb, predictions, metadata, scale=1.0):
    """
    Args:
        rgb: (H, W, 3) uint8 image in RGB.
        predictions: one output dict of a d2ext model in eval mode (keys such as "instances").
        metadata: the dataset's Metadata (class names and colours).
    Returns:
        (H', W', 3) uint8 RGB overlay.
    """
    drawable = [key for key in PREDICTION_DRAWERS if key in predictions]
    if not drawable:
        raise KeyError(f"no overlay for model outputs {sorted(predictions)}; known: {sorted(PREDICTION_DRAWERS)}")
    visualizer = Visualizer(rgb, metadata, scale=scale, instance_mode=ColorMode.IMAGE)
    for key in drawable:
        vis_image = PREDICTION_DRAWERS[key](visualizer, predictions[key])
    return vis_image.get_image()


# Keys of a dataset dict that Visualizer.draw_dataset_dict draws.
_DRAWABLE_KEYS = ("annotations", "sem_seg", "sem_seg_file_name", "pan_seg_file_name")

# A dataset's evaluator_type -> the dataset-dict keys its ground-truth overlay draws. A record may
# carry more (shapes records also name a semantic mask); detection overlays show the instances only.
GROUND_TRUTH_KEYS = {"coco": ("annotations",)}


def draw_ground_truth(rgb, dataset_dict, metadata, scale=1.0):
    """
    The ground truth of one dataset dict (detectron2 format) drawn over its (H, W, 3) uint8 RGB
    image: the keys that ``GROUND_TRUTH_KEYS[metadata.evaluator_type]`` names, or all it has.
    Returns the (H', W', 3) uint8 RGB overlay.
    """
    keys = GROUND_TRUTH_KEYS.get(metadata.get("evaluator_type"))
    if keys:
        dataset_dict = {k: v for k, v in dataset_dict.items() if k in keys or k not in _DRAWABLE_KEYS}
    return Visualizer(rgb, metadata, scale=scale).draw_dataset_dict(dataset_dict).get_image()

