"""d2ext's config keys on top of detectron2's ``get_cfg()``."""
from detectron2.config import CfgNode as CN
from detectron2.config import get_cfg as get_detectron2_cfg

__all__ = ["add_d2ext_config", "get_cfg"]


def add_d2ext_config(cfg):
    """Add every d2ext key, with its default, to a detectron2 config (in place)."""
    # "auto": CUDA when torch sees a GPU, else CPU. Any torch device string ("cpu", "cuda:1") is kept.
    cfg.MODEL.DEVICE = "auto"

    # Datasets declared in the config and registered in every process (see README, "Your own data"):
    #   DATASETS.REGISTER.<name>.TYPE: "coco" (JSON_FILE, IMAGE_ROOT, optional EVALUATOR_TYPE)
    # Relative paths are resolved against the working directory.
    cfg.DATASETS.REGISTER = CN(new_allowed=True)

    # Name in d2ext.data.MAPPER_REGISTRY of the dataset mapper used for training and testing.
    cfg.INPUT.DATASET_MAPPER = "DatasetMapper"


def get_cfg():
    """detectron2's default config with d2ext's keys added."""
    cfg = get_detectron2_cfg()
    add_d2ext_config(cfg)
    return cfg
