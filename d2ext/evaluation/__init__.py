from .build import EVALUATOR_REGISTRY, build_evaluator
