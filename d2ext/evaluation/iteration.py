"""Which training iteration an evaluation is of: set by the trainer, read by evaluators and result files."""
import contextlib
import contextvars

__all__ = ["evaluated_iteration", "evaluating_iteration"]

_ITERATION = contextvars.ContextVar("d2ext_evaluated_iteration", default=None)


@contextlib.contextmanager
def evaluating_iteration(iteration):
    """Context of an evaluation during training, at `iteration` (the trainer's ``iter``)."""
    token = _ITERATION.set(iteration)
    try:
        yield
    finally:
        _ITERATION.reset(token)


def evaluated_iteration():
    """The training iteration being evaluated, or None outside training (``--eval-only``, the Python API)."""
    return _ITERATION.get()
