"""Machine-readable predictions, one JSON file (and PNG masks) per image, dispatched by a table the tasks fill."""
import os

from detectron2.evaluation.coco_evaluation import instances_to_coco_json

from .file_io import atomic_write_json

__all__ = ["PREDICTION_WRITERS", "prediction_writer", "write_prediction_files"]

# Model output key ("instances", "scores", "sem_seg") -> fn(stem, predictions, metadata, top_k) -> dict of JSON
# fields for the image; it may also write files named `stem` + a suffix (e.g. a PNG mask).
PREDICTION_WRITERS = {}


def prediction_writer(output_key):
    """Decorator: register the prediction file writer of the model outputs under `output_key` in PREDICTION_WRITERS."""
    def register(write):
        PREDICTION_WRITERS[output_key] = write
        return write
    return register


@prediction_writer("instances")
def instance_results(stem, predictions, metadata, top_k):
    """
    "instances": detections in COCO's results format (detectron2's instances_to_coco_json: "bbox" XYWH in pixels
    of the original image, "score", "segmentation" as RLE for masks), "category_id" the dataset's own id where its
    metadata maps one (COCO), else the class index; plus "category_name".
    """
    to_dataset_id = {v: k for k, v in metadata.get("thing_dataset_id_to_contiguous_id", {}).items()}
    names = metadata.get("thing_classes", [])
    results = instances_to_coco_json(predictions["instances"].to("cpu"), None)
    for result in results:
        del result["image_id"]
        index = result["category_id"]
        result["category_id"] = to_dataset_id.get(index, index)
        result["category_name"] = names[index] if index < len(names) else str(index)
    return {"instances": results}


def write_prediction_files(stem, source, predictions, metadata, top_k=5):
    """
    Write ``<stem>.json``: {"file_name": source, ...the fields of each PREDICTION_WRITERS entry that knows one of
    the output keys}; returns its path. Every file is written atomically.
    """
    keys = [key for key in predictions if key in PREDICTION_WRITERS]
    if not keys:
        raise KeyError(f"no prediction file for model outputs {sorted(predictions)}; known: {sorted(PREDICTION_WRITERS)}")
    record = {"file_name": source}
    for key in keys:
        record.update(PREDICTION_WRITERS[key](stem, predictions, metadata, top_k))
    path = stem + ".json"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic_write_json(path, record)
    return path
