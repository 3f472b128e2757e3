"""Config keys of SSD: MODEL.SSD and INPUT.SSD."""
from detectron2.config import CfgNode as CN

from ..config import TASK_CONFIG_REGISTRY

__all__ = ["add_ssd_config"]


@TASK_CONFIG_REGISTRY.register()
def add_ssd_config(cfg):
    """Add the ssd keys, with their defaults, to a config (in place)."""
    # SSD (meta-architecture "SSD"): class scores and box deltas for default boxes on every level of an
    # SSD backbone, trained with hard negative mining. MODEL.BACKBONE.NAME "build_ssd_backbone" stacks
    # EXTRA_LAYERS on the IN_FEATURES of the BOTTOM_UP backbone; each of its outputs is one level.
    cfg.MODEL.SSD = CN()
    cfg.MODEL.SSD.NUM_CLASSES = 80
    # The fixed square input: every image is resized to IMAGE_SIZE x IMAGE_SIZE (SSD300: 300, SSD512:
    # 512, SSDLite320: 320) and the default boxes are laid out for it.
    cfg.MODEL.SSD.IMAGE_SIZE = 300
    # A BACKBONE_REGISTRY name: "build_ssd_vgg_bottom_up" (VGG up to fc7, as in the SSD paper),
    # "build_ssdlite_mobilenet_v3_bottom_up" (MobileNetV3 with its C4 expansion as a level), or any
    # detectron2 backbone such as "build_torchvision_resnet_backbone".
    cfg.MODEL.SSD.BOTTOM_UP = "build_ssd_vgg_bottom_up"
    # Bottom-up outputs that are SSD levels, finest first (VGG: conv4_3 = "stage3", fc7 = "stage4").
    cfg.MODEL.SSD.IN_FEATURES = ["stage3", "stage4"]
    # MobileNetV3 bottom-up: halve the channels of the last stage (torchvision's reduced_tail, which its
    # SSDLite320 COCO model uses).
    cfg.MODEL.SSD.REDUCED_TAIL = False
    # Initial scale of the learned L2 normalisation of the first level (20 for VGG's conv4_3); 0: none.
    cfg.MODEL.SSD.L2NORM_SCALE = 20.0
    # One extra level per entry, each computed from the previous level:
    # [middle channels, output channels, kernel, stride, padding] of a 1x1 conv followed by a kxk conv.
    cfg.MODEL.SSD.EXTRA_LAYERS = [[256, 512, 3, 2, 1], [128, 256, 3, 2, 1], [128, 256, 3, 1, 0], [128, 256, 3, 1, 0]]
    # Norm after each extra conv: "" (VGG SSD) or "BN" (SSDLite; helps training from scratch).
    cfg.MODEL.SSD.EXTRA_NORM = ""
    # SSDLite: the kxk conv of an extra layer is depthwise, followed by a 1x1 projection.
    cfg.MODEL.SSD.EXTRA_DEPTHWISE = False
    # Activation of the extra layers and of SSDLiteHead: a torch.nn class name ("ReLU", "ReLU6").
    cfg.MODEL.SSD.ACTIVATION = "ReLU"
    # "SSDHead" (a 3x3 conv per level for scores and one for deltas) or "SSDLiteHead" (depthwise 3x3
    # conv-BN-activation, then 1x1), from d2ext's SSD_HEAD_REGISTRY.
    cfg.MODEL.SSD.HEAD_NAME = "SSDHead"
    # Default boxes (MODEL.ANCHOR_GENERATOR.NAME "SSDDefaultBoxGenerator"): ANCHOR_GENERATOR.SIZES holds
    # [min size, max size] in input pixels per level and ASPECT_RATIOS the ratios r >= 1 per level
    # (each adds an r:1 and a 1:r box beside the two squares). STEPS: distance between box centres
    # per level in input pixels; [] for IMAGE_SIZE / the level's size. CLIP: box widths and heights
    # are clipped to the image.
    cfg.MODEL.SSD.STEPS = []
    cfg.MODEL.SSD.CLIP_DEFAULT_BOXES = True
    # Training: a default box matches the ground truth with which its IoU is the highest if that IoU
    # is >= IOU_THRESHOLD; every ground truth also matches its best default box.
    cfg.MODEL.SSD.IOU_THRESHOLD = 0.5
    # Hard negative mining: per image, the NEGATIVE_POSITIVE_RATIO x (positives) unmatched boxes with
    # the highest classification loss, and at least MIN_NEGATIVES, so that images without objects
    # train as background (0 gives torchvision's rule, under which they add no loss).
    cfg.MODEL.SSD.NEGATIVE_POSITIVE_RATIO = 3.0
    cfg.MODEL.SSD.MIN_NEGATIVES = 8
    cfg.MODEL.SSD.BBOX_REG_WEIGHTS = (10.0, 10.0, 5.0, 5.0)
    cfg.MODEL.SSD.SMOOTH_L1_BETA = 1.0
    # Inference: per class, the TOPK_CANDIDATES_TEST best boxes scoring above SCORE_THRESH_TEST, then
    # NMS per class; TEST.DETECTIONS_PER_IMAGE best detections are kept.
    cfg.MODEL.SSD.SCORE_THRESH_TEST = 0.01
    cfg.MODEL.SSD.TOPK_CANDIDATES_TEST = 400
    cfg.MODEL.SSD.NMS_THRESH_TEST = 0.45

    # SSD's training augmentation (INPUT.DATASET_MAPPER "SSDDatasetMapper"), in this order: photometric
    # distortion, zoom out (the image placed at a random spot of a canvas up to MAX_EXPAND_RATIO times
    # larger, filled with MODEL.PIXEL_MEAN), IoU-constrained random crop, resize to MODEL.SSD.IMAGE_SIZE,
    # INPUT.RANDOM_FLIP. At test time images are only resized.
    cfg.INPUT.SSD = CN()
    cfg.INPUT.SSD.PHOTOMETRIC_DISTORTION = True
    cfg.INPUT.SSD.EXPAND_PROB = 0.5
    cfg.INPUT.SSD.MAX_EXPAND_RATIO = 4.0
    # Crop: the whole image, or a patch (sides >= MIN_CROP_SIZE of the image's) whose IoU with every
    # box is >= one of MIN_IOUS (0 is added: any patch); boxes whose centre falls outside are dropped.
    cfg.INPUT.SSD.MIN_IOU_CROP = True
    cfg.INPUT.SSD.MIN_IOUS = (0.1, 0.3, 0.5, 0.7, 0.9)
    cfg.INPUT.SSD.MIN_CROP_SIZE = 0.3
