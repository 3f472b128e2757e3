"""Classification predictions as JSON fields: the predicted class and the top classes with their scores."""
from ..utils.prediction_files import prediction_writer

__all__ = ["classification_results"]


@prediction_writer("scores")
def classification_results(stem, predictions, metadata, top_k):
    """"pred_class" (index), "class_name", and "top_k": the `top_k` best {"class", "name", "score"}, best first."""
    scores = predictions["scores"].cpu()
    names = metadata.get("thing_classes", [])
    top_scores, classes = scores.topk(min(top_k, len(scores)))
    name = lambda c: names[c] if c < len(names) else str(c)  # noqa: E731
    pred_class = int(scores.argmax())
    return {"pred_class": pred_class, "class_name": name(pred_class),
            "top_k": [{"class": c, "name": name(c), "score": s} for s, c in zip(top_scores.tolist(), classes.tolist())]}
