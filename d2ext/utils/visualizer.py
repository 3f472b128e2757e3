"""Overlays of predictions and ground truth with detectron2's Visualizer, dispatched by tables the tasks fill."""
from detectron2.utils.visualizer import ColorMode, Visualizer

__all__ = ["GROUND_TRUTH_DRAWERS", "PREDICTION_DRAWERS", "draw_caption", "draw_ground_truth", "draw_predictions",
           "ground_truth_drawer", "prediction_drawer"]

# Model output key ("instances", "scores", "sem_seg") -> fn(visualizer, predictions, top_k) -> VisImage, where
# `predictions` is one output dict of a model in eval mode.
PREDICTION_DRAWERS = {}
# A dataset's evaluator_type -> fn(visualizer, dataset_dict) -> VisImage; other types draw what
# Visualizer.draw_dataset_dict finds in the record.
GROUND_TRUTH_DRAWERS = {}


def prediction_drawer(output_key):
    """Decorator: register the overlay of the model outputs under `output_key` in PREDICTION_DRAWERS."""
    def register(draw):
        PREDICTION_DRAWERS[output_key] = draw
        return draw
    return register


def ground_truth_drawer(*evaluator_types):
    """Decorator: register the ground-truth overlay of the datasets of `evaluator_types` in GROUND_TRUTH_DRAWERS."""
    def register(draw):
        GROUND_TRUTH_DRAWERS.update(dict.fromkeys(evaluator_types, draw))
        return draw
    return register


def draw_caption(visualizer, lines):
    """`lines` of text in the top-left corner, white on a dark box."""
    return visualizer.draw_text("\n".join(lines), (2, 2), color="w", horizontal_alignment="left")


@prediction_drawer("instances")
def draw_instances(visualizer, predictions, top_k):
    """Detectors' boxes (and masks), with class names and scores."""
    return visualizer.draw_instance_predictions(predictions["instances"].to("cpu"))


@ground_truth_drawer("coco")
def draw_annotations(visualizer, record):
    """The record's instances; a shapes record also names a semantic mask, which a detection overlay leaves out."""
    drawn = ("sem_seg", "sem_seg_file_name", "pan_seg_file_name")
    return visualizer.draw_dataset_dict({k: v for k, v in record.items() if k not in drawn})


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
    drawable = [key for key in predictions if key in PREDICTION_DRAWERS]
    if not drawable:
        raise KeyError(f"no overlay for model outputs {sorted(predictions)}; known: {sorted(PREDICTION_DRAWERS)}")
    visualizer = Visualizer(rgb, metadata, scale=scale, instance_mode=ColorMode.IMAGE)
    for key in drawable:
        vis_image = PREDICTION_DRAWERS[key](visualizer, predictions, top_k)
    return vis_image.get_image()


def draw_ground_truth(rgb, dataset_dict, metadata, scale=1.0):
    """The ground truth of one dataset dict drawn over its (H, W, 3) uint8 RGB image; returns the RGB overlay."""
    visualizer = Visualizer(rgb, metadata, scale=scale)
    draw = GROUND_TRUTH_DRAWERS.get(metadata.get("evaluator_type"), Visualizer.draw_dataset_dict)
    return draw(visualizer, dataset_dict).get_image()
