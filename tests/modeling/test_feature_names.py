"""Heads that name features the backbone does not return stop with the key, its value and the backbone's outputs."""
import os
import re

import pytest

from conftest import REPO
from d2ext.config import load_config
from d2ext.engine import Trainer

FASTER_RCNN = os.path.join(REPO, "configs", "shapes", "detection", "faster_rcnn_R_18_FPN.yaml")


# The shapes Faster R-CNN's backbone ending at res4, so that its FPN returns p2..p5 (detectron2's usual p6 is not there).
TO_RES4 = ["MODEL.BACKBONE.NAME", "build_resnet_fpn_to_last_stage_backbone",
           "MODEL.RESNETS.OUT_FEATURES", "['res2', 'res3', 'res4']", "MODEL.FPN.IN_FEATURES", "['res2', 'res3', 'res4']",
           "MODEL.RPN.IN_FEATURES", "['p2', 'p3', 'p4', 'p5']", "MODEL.ANCHOR_GENERATOR.SIZES", "[[16], [32], [64], [128]]"]


def build(*opts):
    return Trainer.build_model(load_config(FASTER_RCNN, ["MODEL.DEVICE", "cpu", *TO_RES4, *opts]))


def test_rpn_level_beyond_the_backbone_names_key_value_and_outputs():
    with pytest.raises(ValueError, match=re.escape(
            "MODEL.RPN.IN_FEATURES = ['p2', 'p3', 'p4', 'p5', 'p6'], but MODEL.BACKBONE.NAME "
            "'build_resnet_fpn_to_last_stage_backbone' returns ['p2', 'p3', 'p4', 'p5'], without ['p6']")):
        build("MODEL.RPN.IN_FEATURES", "['p2', 'p3', 'p4', 'p5', 'p6']",
              "MODEL.ANCHOR_GENERATOR.SIZES", "[[16], [32], [64], [128], [256]]")


def test_roi_head_feature_beyond_the_backbone_is_named():
    with pytest.raises(ValueError, match=re.escape("MODEL.ROI_HEADS.IN_FEATURES = ['p2', 'res5']")):
        build("MODEL.ROI_HEADS.IN_FEATURES", "['p2', 'res5']")


def test_anchor_sizes_of_another_level_count_are_named():
    with pytest.raises(ValueError, match=re.escape(
            "MODEL.ANCHOR_GENERATOR.SIZES = [[16], [32], [64], [128], [256]] has 5 entries for the 4 levels "
            "of MODEL.RPN.IN_FEATURES = ['p2', 'p3', 'p4', 'p5']")):
        build("MODEL.ANCHOR_GENERATOR.SIZES", "[[16], [32], [64], [128], [256]]")


def test_full_resnet_with_p6_builds():
    model = build("MODEL.RESNETS.OUT_FEATURES", "['res2', 'res3', 'res4', 'res5']",
                  "MODEL.FPN.IN_FEATURES", "['res2', 'res3', 'res4', 'res5']",
                  "MODEL.RPN.IN_FEATURES", "['p2', 'p3', 'p4', 'p5', 'p6']",
                  "MODEL.ANCHOR_GENERATOR.SIZES", "[[16], [32], [64], [128], [256]]")
    assert list(model.backbone.output_shape()) == ["p2", "p3", "p4", "p5", "p6"]
