"""Semantic segmentation data: masks of class ids, the sem_seg_folder dataset type, its mapper, the bundled datasets."""
from . import builtin  # noqa: F401  registers shapes_sem_seg_<split>
from .mapper import SemanticSegmentationDatasetMapper
from .masks import MASK_MODES, check_mask_ids, read_mask, read_mask_size
from .sem_seg_folder import distinct_colors, load_sem_seg_folder, register_sem_seg_folder
