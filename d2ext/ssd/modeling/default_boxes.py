"""SSD's default boxes as a detectron2 anchor generator (ANCHOR_GENERATOR_REGISTRY "SSDDefaultBoxGenerator")."""
import math

import torch
from detectron2.config import configurable
from detectron2.modeling.anchor_generator import ANCHOR_GENERATOR_REGISTRY, DefaultAnchorGenerator

__all__ = ["SSDDefaultBoxGenerator"]


@ANCHOR_GENERATOR_REGISTRY.register()
class SSDDefaultBoxGenerator(DefaultAnchorGenerator):
    """
    The default boxes of the SSD paper (section 2.2) on a fixed image_size x image_size input. On level k
    with sizes [min_k, max_k] (pixels) and ratios r: a min_k square, a sqrt(min_k * max_k) square, and for each r
    a (min_k * sqrt(r)) x (min_k / sqrt(r)) box and its transpose, in this order (torchvision's), centred
    at (i + offset) * step. Widths and heights are clipped to the image when `clip`.

    forward(list of (N, C, H_k, W_k)) -> list of Boxes, (H_k * W_k * A_k, 4) XYXY per level, location-major.
    """

    @configurable
    def __init__(self, *, sizes, aspect_ratios, image_size, steps=(), clip=True, offset=0.5):
        """
        Args:
            sizes (list[list[float]]): [min size, max size] per level, in input pixels.
            aspect_ratios (list[list[float]]): ratios >= 1 per level (or one list for all levels).
            image_size (int): side of the square input.
            steps (list[float]): distance between box centres per level; empty for image_size / the level's width.
            clip (bool): clip widths and heights to image_size.
            offset (float): centre of the first box, in steps.
        """
        bad = [s for s in sizes if len(s) != 2 or not 0 < s[0] <= s[1]]
        if bad:
            raise ValueError(f"MODEL.ANCHOR_GENERATOR.SIZES: {bad} are not [min size, max size] with 0 < min <= max; "
                             "SSDDefaultBoxGenerator takes one such pair per level.")
        if steps and len(steps) != len(sizes):
            raise ValueError(f"MODEL.SSD.STEPS has {len(steps)} values for {len(sizes)} levels (MODEL.ANCHOR_GENERATOR.SIZES).")
        # generate_cell_anchors, called by DefaultAnchorGenerator.__init__, reads these.
        self.image_size, self.clip, self.steps = image_size, clip, list(steps)
        super().__init__(sizes=sizes, aspect_ratios=aspect_ratios, strides=self.steps or [None] * len(sizes), offset=offset)

    @classmethod
    def from_config(cls, cfg, input_shape):
        return {"sizes": cfg.MODEL.ANCHOR_GENERATOR.SIZES, "aspect_ratios": cfg.MODEL.ANCHOR_GENERATOR.ASPECT_RATIOS,
                "image_size": cfg.MODEL.SSD.IMAGE_SIZE, "steps": cfg.MODEL.SSD.STEPS,
                "clip": cfg.MODEL.SSD.CLIP_DEFAULT_BOXES, "offset": cfg.MODEL.ANCHOR_GENERATOR.OFFSET}

    def generate_cell_anchors(self, sizes, aspect_ratios):
        """(2 + 2 * len(aspect_ratios), 4) XYXY boxes centred at 0 for one level's [min size, max size]."""
        min_size, max_size = sizes
        squares = [(min_size, min_size), (math.sqrt(min_size * max_size),) * 2]
        rectangles = [wh for r in aspect_ratios for wh in ((min_size * math.sqrt(r), min_size / math.sqrt(r)),
                                                           (min_size / math.sqrt(r), min_size * math.sqrt(r)))]
        wh = torch.tensor(squares + rectangles, dtype=torch.float64)
        if self.clip:
            wh = wh.clamp(max=self.image_size)
        return torch.cat([-wh / 2, wh / 2], dim=1)

    def forward(self, features):
        """list of (N, C, H_k, W_k) -> list of Boxes, one per level."""
        if not self.steps:  # the levels' sizes are known only now
            self.strides = [self.image_size / x.shape[-1] for x in features]
        return super().forward(features)
