"""A clear error when a detector's heads name backbone features that the backbone does not return."""
from detectron2.modeling import build_backbone

from ..config import config_value

__all__ = ["HEAD_FEATURE_KEYS", "check_head_features"]

# META_ARCHITECTURE -> the config keys listing the backbone features its heads read; the first head
# places anchors (MODEL.ANCHOR_GENERATOR.SIZES) on its features. New detectors add theirs.
HEAD_FEATURE_KEYS = {
    "GeneralizedRCNN": ("MODEL.RPN.IN_FEATURES", "MODEL.ROI_HEADS.IN_FEATURES"),
    "ProposalNetwork": ("MODEL.RPN.IN_FEATURES",),
    "RetinaNet": ("MODEL.RETINANET.IN_FEATURES",),
}


def check_head_features(cfg):
    """
    Raise ValueError naming the key, its value and the backbone's outputs when a head of
    MODEL.META_ARCHITECTURE reads a feature that MODEL.BACKBONE does not return (detectron2 stops with a
    bare KeyError), or when MODEL.ANCHOR_GENERATOR.SIZES has neither one entry nor one per anchor level.
    """
    keys = HEAD_FEATURE_KEYS.get(cfg.MODEL.META_ARCHITECTURE, ())
    if not keys:
        return
    available = list(build_backbone(cfg).output_shape())
    for key in keys:
        missing = [name for name in config_value(cfg, key) if name not in available]
        if missing:
            raise ValueError(
                f"{key} = {list(config_value(cfg, key))}, but MODEL.BACKBONE.NAME {cfg.MODEL.BACKBONE.NAME!r} returns "
                f"{available}, without {missing}. Set {key} to features it returns, or change the backbone's "
                "(MODEL.FPN.IN_FEATURES: res2..res5 give p2..p6, res2..res4 give p2..p5)."
            )
    levels, sizes = list(config_value(cfg, keys[0])), cfg.MODEL.ANCHOR_GENERATOR.SIZES
    if len(sizes) not in (1, len(levels)):
        raise ValueError(
            f"MODEL.ANCHOR_GENERATOR.SIZES = {[list(s) for s in sizes]} has {len(sizes)} entries for the {len(levels)} "
            f"levels of {keys[0]} = {levels}: give one list of sizes per level, or one list for all."
        )
