"""The known third-party warnings that say nothing to a d2ext user, silenced at d2ext's entry points."""
import logging
import warnings

__all__ = ["KNOWN_LOG_WARNINGS", "KNOWN_WARNINGS", "silence_known_warnings"]

# (category, message regex) of Python warnings, each printed by a dependency with nothing for a d2ext user to do.
KNOWN_WARNINGS = (
    # detectron2 decorates functions with torch.jit.script, which torch deprecates (8 on import).
    (FutureWarning, r"`torch\.jit\.script` is deprecated"),
    # detectron2's anchor generator calls torch.meshgrid without indexing.
    (UserWarning, r"torch\.meshgrid: in an upcoming release, it will be required to pass the indexing argument"),
    # detectron2's AMPTrainer (float16 training on CUDA) uses torch.cuda.amp.
    (FutureWarning, r"`torch\.cuda\.amp\.autocast\(args\.\.\.\)` is deprecated"),
)
# (logger, message start) of log warnings: detectron2's RoI pooler asks torch.fx whether it is tracing, and its
# environment report (logged at every tool's start) imports torch's C++ extension builder, which says so on
# machines without a CUDA runtime.
KNOWN_LOG_WARNINGS = (("torch.fx._symbolic_trace", "is_fx_tracing will return true for both"),
                      ("torch.utils.cpp_extension", "No CUDA runtime is found"))


class _DropMessages(logging.Filter):
    def __init__(self, starts):
        super().__init__()
        self.starts = starts

    def filter(self, record):
        return not record.getMessage().startswith(self.starts)


def silence_known_warnings():
    """Ignore exactly KNOWN_WARNINGS (category and message) and KNOWN_LOG_WARNINGS; every other warning still shows."""
    for category, message in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    for logger_name, start in KNOWN_LOG_WARNINGS:
        logging.getLogger(logger_name).addFilter(_DropMessages(start))
