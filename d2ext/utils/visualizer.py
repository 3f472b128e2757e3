"""Overlays of predictions and ground truth with detectron2's Visualizer."""
from detectron2.utils.visualizer import ColorMode, Visualizer

__all__ = ["PREDICTION_DRAWERS", "GROUND_TRUTH_DRAWERS", "draw_predictions", "draw_ground_truth"]


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


# Model output key -> drawer(visualizer, predictions, top_k) -> VisImage. Tasks with new output keys add theirs.
PREDICTION_DRAWERS = {"instances": _draw_instances, "scores": _draw_top_classes}


def draw_predictions(rgb, predictions, metadata, scale=1.0, top_k=3):
    """
    Args:
        rgb: (H, W, 3) uint8 image in RGB.
        predictions: one output dict of a d2ext model in eval mode (keys such as "instances", "scores").
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


def _draw_annotations(visualizer, record):
    # A shapes record also names a semantic mask; a detection overlay shows the instances only.
    drawn = ("sem_seg", "sem_seg_file_name", "pan_seg_file_name")
    return visualizer.draw_dataset_dict({k: v for k, v in record.items() if k not in drawn})


def _draw_label(visualizer, record):
    return _draw_caption(visualizer, [visualizer.metadata.thing_classes[record["label"]]])


# A dataset's evaluator_type -> drawer(visualizer, dataset dict) -> VisImage; other types draw
# whatever Visualizer.draw_dataset_dict finds in the record.
GROUND_TRUTH_DRAWERS = {"coco": _draw_annotations, "classification": _draw_label}


def draw_ground_truth(rgb, dataset_dict, metadata, scale=1.0):
    """The ground truth of one dataset dict drawn over its (H, W, 3) uint8 RGB image; returns the RGB overlay."""
    visualizer = Visualizer(rgb, metadata, scale=scale)
    draw = GROUND_TRUTH_DRAWERS.get(metadata.get("evaluator_type"), Visualizer.draw_dataset_dict)
    return draw(visualizer, dataset_dict).get_image()
