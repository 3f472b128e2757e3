"""d2ext's config keys on top of detectron2's ``get_cfg()``."""
from detectron2.config import CfgNode as CN
from detectron2.config import get_cfg as get_detectron2_cfg
from detectron2.projects.deeplab import add_deeplab_config

__all__ = ["add_d2ext_config", "config_value", "get_cfg"]


def add_d2ext_config(cfg):
    """Add every d2ext key, with its default, to a detectron2 config (in place)."""
    # "auto": CUDA when torch sees a GPU, else CPU. Any torch device string ("cpu", "cuda:1") is kept.
    cfg.MODEL.DEVICE = "auto"

    # Mixed precision (d2ext.engine.mixed_precision): SOLVER.AMP.ENABLED autocasts training, TEST.AMP.ENABLED
    # evaluation and inference, on CUDA and on the CPU. PRECISION "auto": bfloat16 on a CPU with bf16
    # arithmetic (AVX512-BF16 or AMX; elsewhere fp32, said in the log) and on bf16-capable GPUs, else float16;
    # "bfloat16" or "float16" force one. A GradScaler runs only for float16; weights stay fp32.
    cfg.SOLVER.AMP.PRECISION = "auto"
    cfg.TEST.AMP = CN()
    cfg.TEST.AMP.ENABLED = False
    # Images per forward in evaluation and tools/demo.py (detectron2 evaluates one at a time). Images of
    # different sizes are padded to the largest, which can change predictions near their borders slightly.
    cfg.TEST.IMS_PER_BATCH = 8
    # Convolution weights and activations in channels_last (NHWC) memory format, faster for many CPU and
    # tensor-core convolutions; checkpoints are unaffected (state dicts are layout-free).
    cfg.MODEL.CHANNELS_LAST = False

    # Datasets declared in the config and registered in every process (see README, "Your own data"):
    #   DATASETS.REGISTER.<name>.TYPE: "coco" (JSON_FILE, IMAGE_ROOT, optional EVALUATOR_TYPE)
    # Relative paths are resolved against the working directory.
    cfg.DATASETS.REGISTER = CN(new_allowed=True)

    # Data-loading worker processes; -1: as many as suit the device (resolve_device): none on the CPU, where a
    # worker would take cores from the model's threads (the loader alone outruns training there:
    # benchmarks/data_loading.py), min(4, cores) beside a GPU.
    cfg.DATALOADER.NUM_WORKERS = -1

    # A training image (or mask) that cannot be read stops training with an error naming it (False), or is
    # skipped with a warning naming it and the count so far (True; detectron2's loader takes another record).
    cfg.DATALOADER.SKIP_UNREADABLE = False

    # Name in d2ext.data.MAPPER_REGISTRY of the dataset mapper used for training and testing.
    cfg.INPUT.DATASET_MAPPER = "DatasetMapper"

    # Torchvision architectures as detectron2 backbones (d2ext.modeling.backbone).
    cfg.MODEL.TORCHVISION = CN()
    # resnet18/34/50/101, vgg11, vgg11_bn, vgg16, vgg16_bn, alexnet, mobilenet_v3_small/large; must
    # belong to the family of MODEL.BACKBONE.NAME.
    cfg.MODEL.TORCHVISION.ARCH = "resnet50"
    # Stages the backbone returns: ResNet "stem", "res2".."res5"; VGG, AlexNet and MobileNet
    # "stage<k>" (stride 2**k; see the backbone's docstring).
    cfg.MODEL.TORCHVISION.OUT_FEATURES = ["res5"]
    # Normalisation of the batch-norm layers: "BN" (trained), "FrozenBN" (fixed statistics and
    # affine, for fine-tuning with small batches), "SyncBN" (BN synchronised across processes;
    # plain BN when a single process trains). MODEL.BACKBONE.FREEZE_AT freezes leading stages.
    cfg.MODEL.TORCHVISION.NORM = "BN"
    # ResNet output stride: 32 as for classification; 16 dilates res5 and 8 dilates res4 and res5
    # instead of striding them (torchvision's replace_stride_with_dilation), as DeepLab and FCN do.
    cfg.MODEL.TORCHVISION.OUTPUT_STRIDE = 32

    # Classification head of ImageClassifier: pooling, optional hidden layers, linear classifier.
    cfg.MODEL.CLS_HEAD = CN()
    cfg.MODEL.CLS_HEAD.NAME = "ClassificationHead"
    cfg.MODEL.CLS_HEAD.IN_FEATURE = "res5"
    cfg.MODEL.CLS_HEAD.NUM_CLASSES = 1000
    # Adaptive average pooling to RxR before flattening: 1 = global average pooling (ResNet,
    # MobileNet); VGG uses 7 and AlexNet 6.
    cfg.MODEL.CLS_HEAD.POOLER_RESOLUTION = 1
    # Widths of hidden fully connected layers (VGG and AlexNet: [4096, 4096]; MobileNetV3: [1024] or [1280]).
    cfg.MODEL.CLS_HEAD.HIDDEN_DIMS = []
    # Activation after each hidden layer: a torch.nn class name ("ReLU", "Hardswish").
    cfg.MODEL.CLS_HEAD.ACTIVATION = "ReLU"
    # Dropout probability before the classifier and after every hidden layer.
    cfg.MODEL.CLS_HEAD.DROPOUT = 0.0
    cfg.MODEL.CLS_HEAD.LABEL_SMOOTHING = 0.0

    # Classification input (ClassificationDatasetMapper): images are resized and cropped to one
    # fixed size, so a batch never needs padding (padding would change the pooled features).
    cfg.INPUT.CLS = CN()
    # Test: resize the shortest edge to RESIZE, then centre-crop CROP_SIZE x CROP_SIZE.
    cfg.INPUT.CLS.RESIZE = 256
    cfg.INPUT.CLS.CROP_SIZE = 224
    # Train: "RandomResizedCrop" (random area in TRAIN_SCALE, aspect ratio in TRAIN_RATIO, resized to
    # CROP_SIZE), "RandomCrop" (resize to RESIZE, random CROP_SIZE crop) or "CenterCrop" (as at test).
    # INPUT.RANDOM_FLIP ("horizontal", "vertical" or "none") applies after the crop.
    cfg.INPUT.CLS.TRAIN_CROP = "RandomResizedCrop"
    cfg.INPUT.CLS.TRAIN_SCALE = (0.08, 1.0)
    cfg.INPUT.CLS.TRAIN_RATIO = (3.0 / 4.0, 4.0 / 3.0)

    # Optimizer: "SGD" (detectron2's: SOLVER.MOMENTUM, NESTEROV) or "AdamW" (SOLVER.BETAS); both take
    # BASE_LR, WEIGHT_DECAY(_NORM, _BIAS), BIAS_LR_FACTOR and CLIP_GRADIENTS as detectron2 defines them.
    cfg.SOLVER.OPTIMIZER = "SGD"
    cfg.SOLVER.BETAS = (0.9, 0.999)
    # torch's fused optimizer kernels (one pass over all parameters, on CPU and CUDA): about 3x faster
    # optimizer steps on the CPU than the multi-tensor ones (ResNet-18: SGD 5.2 vs 14.8 ms, AdamW 8.1 vs
    # 26.3 ms). False: the multi-tensor ("foreach") implementation, as detectron2's SGD. float16 training
    # (SOLVER.AMP) is never fused: when GradScaler skips the first step, torch's fused SGD keeps momentum
    # buffers it allocated but never wrote, and detectron2's clipping wrapper cannot take the arguments
    # GradScaler passes to a fused step.
    cfg.SOLVER.FUSED_OPTIMIZER = True

    # Semantic segmentation. detectron2's DeepLab project adds MODEL.SEM_SEG_HEAD.{ASPP_CHANNELS,
    # ASPP_DILATIONS, ASPP_DROPOUT, LOSS_TYPE, USE_DEPTHWISE_SEPARABLE_CONV, ...},
    # INPUT.CROP.SINGLE_CATEGORY_MAX_AREA and SOLVER.POLY_LR_* (LR_SCHEDULER_NAME "WarmupPolyLR").
    add_deeplab_config(cfg)
    # "cross_entropy" (torchvision's loss) or "hard_pixel_mining" (the hardest 20% of the pixels).
    cfg.MODEL.SEM_SEG_HEAD.LOSS_TYPE = "cross_entropy"
    # A backbone stage for torchvision's auxiliary FCN head (e.g. "res4"), trained with weight
    # AUX_LOSS_WEIGHT and unused at inference; "" for none.
    cfg.MODEL.SEM_SEG_HEAD.AUX_IN_FEATURE = ""
    cfg.MODEL.SEM_SEG_HEAD.AUX_LOSS_WEIGHT = 0.5
    # Dropout before the classifier of FCNHead (and of the auxiliary head), as torchvision's 0.1.
    cfg.MODEL.SEM_SEG_HEAD.DROPOUT = 0.1
    # U-Net (UNetHead): output channels of each decoder level, from the deepest skip connection
    # (the second-deepest of SEM_SEG_HEAD.IN_FEATURES) to the shallowest.
    cfg.MODEL.SEM_SEG_HEAD.DECODER_CHANNELS = [256, 128, 64, 32]
    # The classic U-Net encoder (build_unet_encoder_backbone): two 3x3 conv-BN-ReLU per level, a 2x2
    # max-pool between levels; level k is stage "stage<k>" at stride 2**k. Channels per level;
    # [64, 128, 256, 512, 1024] is the original U-Net, smaller lists suit small data on a CPU.
    cfg.MODEL.UNET_ENCODER = CN()
    cfg.MODEL.UNET_ENCODER.CHANNELS = [64, 128, 256, 512, 1024]
    cfg.MODEL.UNET_ENCODER.NORM = "BN"

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

    # GANs (meta-architectures "DCGAN" and "CycleGAN", trained by d2ext's GANTrainer with one optimizer per
    # network group, see SOLVER.TRAINER). Images are scaled to [-1, 1]; their channel count follows
    # INPUT.FORMAT ("L": 1, "RGB"/"BGR": 3) and images of other channel counts are converted when read.
    cfg.MODEL.DCGAN = CN()
    cfg.MODEL.DCGAN.LATENT_DIM = 100  # nz: length of the generator's input noise vector
    cfg.MODEL.DCGAN.GENERATOR_CHANNELS = 64  # ngf: channels of the generator's last hidden layer
    cfg.MODEL.DCGAN.DISCRIMINATOR_CHANNELS = 64  # ndf: channels of the discriminator's first layer
    # Output size of the generator: 32, 64 or 128 (one up-/down-sampling block per factor of 2 above 4).
    cfg.MODEL.DCGAN.IMAGE_SIZE = 64

    cfg.MODEL.CYCLEGAN = CN()
    cfg.MODEL.CYCLEGAN.GENERATOR_CHANNELS = 64  # ngf of the ResNet generators
    cfg.MODEL.CYCLEGAN.GENERATOR_BLOCKS = 9  # residual blocks per generator (6 for 128 px, 9 for 256 px)
    cfg.MODEL.CYCLEGAN.DISCRIMINATOR_CHANNELS = 64  # ndf of the PatchGAN discriminators
    cfg.MODEL.CYCLEGAN.DISCRIMINATOR_LAYERS = 3  # strided conv layers of the PatchGAN (3: 70x70 patches)
    cfg.MODEL.CYCLEGAN.NORM = "InstanceNorm"  # "InstanceNorm" (the paper) or "BN"
    cfg.MODEL.CYCLEGAN.CYCLE_LOSS_WEIGHT = 10.0  # lambda of |G_BA(G_AB(a)) - a| and |G_AB(G_BA(b)) - b|
    # Weight of the identity loss |G_AB(b) - b|, relative to CYCLE_LOSS_WEIGHT (the paper's 0.5); 0: none.
    cfg.MODEL.CYCLEGAN.IDENTITY_LOSS_WEIGHT = 0.5
    # Discriminators see fakes drawn from a history of POOL_SIZE earlier fakes (half the time); 0: none.
    cfg.MODEL.CYCLEGAN.POOL_SIZE = 50

    # GAN input (INPUT.DATASET_MAPPER "GANDatasetMapper"): resize the shortest edge to RESIZE, then crop
    # IMAGE_SIZE x IMAGE_SIZE (random in training when RESIZE > IMAGE_SIZE, central at test), then
    # INPUT.RANDOM_FLIP in training.
    cfg.INPUT.GAN = CN()
    cfg.INPUT.GAN.RESIZE = 64
    cfg.INPUT.GAN.IMAGE_SIZE = 64

    # The trainer tools/train_net.py builds: "Trainer" (one loss, one optimizer: detectron2's
    # DefaultTrainer) or "GANTrainer" (one optimizer and LR schedule per network group of the model).
    cfg.SOLVER.TRAINER = "Trainer"

    # GAN evaluation (a dataset's evaluator_type "gan"): FID and KID of generated or translated images
    # against real ones, in the features of a d2ext ImageClassifier trained on the same data (fully
    # offline: no Inception weights). The real images are split in two halves with SEED: half 1 is the
    # reference, and half 2 against half 1 is reported as the floor ("fid_floor", "kid_floor").
    cfg.TEST.GAN = CN()
    # The classifier's weights (model_final.pth of a tools/train_net.py classification run) and config;
    # "" for CLASSIFIER_CONFIG: the config.yaml that training wrote next to the weights.
    cfg.TEST.GAN.CLASSIFIER_WEIGHTS = ""
    cfg.TEST.GAN.CLASSIFIER_CONFIG = ""
    # Generated samples per evaluation (DCGAN); 0: as many as half 2 of the real images, so that the
    # score and the floor compare equal sample counts.
    cfg.TEST.GAN.NUM_SAMPLES = 0
    cfg.TEST.GAN.SEED = 0
    cfg.TEST.GAN.KID_SUBSETS = 100
    cfg.TEST.GAN.KID_SUBSET_SIZE = 100
    # Images in the sample grid PNG written at each evaluation (OUTPUT_DIR/inference/<dataset>/).
    cfg.TEST.GAN.GRID_SIZE = 64


def get_cfg():
    """detectron2's default config with d2ext's keys added."""
    cfg = get_detectron2_cfg()
    add_d2ext_config(cfg)
    return cfg


def config_value(cfg, key):
    """The value of the dotted config `key` ("MODEL.RPN.IN_FEATURES") in `cfg`."""
    for part in key.split("."):
        cfg = cfg[part]
    return cfg
