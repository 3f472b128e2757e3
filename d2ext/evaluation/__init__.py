from .build import EVALUATOR_REGISTRY, build_evaluator
from .iteration import evaluated_iteration, evaluating_iteration
from .staged_outputs import StagedOutputs
