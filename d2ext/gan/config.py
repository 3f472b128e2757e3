"""Config keys of the GANs: MODEL.DCGAN, MODEL.CYCLEGAN, INPUT.GAN and TEST.GAN."""
from detectron2.config import CfgNode as CN

from ..config import TASK_CONFIG_REGISTRY

__all__ = ["add_gan_config"]


@TASK_CONFIG_REGISTRY.register()
def add_gan_config(cfg):
    """Add the gan keys, with their defaults, to a config (in place)."""
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
