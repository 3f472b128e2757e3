"""Overlays of classification: the top classes of a prediction, the label of a record."""
from ..utils.visualizer import draw_caption, ground_truth_drawer, prediction_drawer

__all__ = ["draw_label", "draw_top_classes"]


@prediction_drawer("scores")
def draw_top_classes(visualizer, predictions, top_k):
    """The `top_k` classes of a classifier's "scores" ((C,) probabilities), best first, with their percentages."""
    top_scores, classes = predictions["scores"].cpu().topk(min(top_k, len(predictions["scores"])))
    names = visualizer.metadata.get("thing_classes")
    return draw_caption(visualizer, [f"{names[c] if names else c} {100 * s:.1f}%"
                                     for s, c in zip(top_scores.tolist(), classes.tolist())])


@ground_truth_drawer("classification")
def draw_label(visualizer, record):
    """The record's class name."""
    return draw_caption(visualizer, [visualizer.metadata.thing_classes[record["label"]]])
