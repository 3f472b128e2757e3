from .build import EVALUATOR_REGISTRY, build_evaluator
from .classification import ClassificationEvaluator
from .sem_seg import SemanticSegmentationEvaluator
from .gan import GANEvaluator
