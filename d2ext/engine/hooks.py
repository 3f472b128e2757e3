"""Training hooks d2ext adds to detectron2's."""
from detectron2.engine import HookBase

from ..utils.private_apis import drop_oldest_history_values

__all__ = ["BoundedScalarHistories"]


class BoundedScalarHistories(HookBase):
    """
    Keeps each scalar's history in the trainer's EventStorage to its last `keep` values, trimmed every `keep`
    iterations, so that memory stays flat over long runs: detectron2 keeps up to a million values per scalar
    (about 500 MB for 11 scalars over 450k iterations). `keep` must cover the longest window a writer reads
    (detectron2's console printer: the median of the last 1000 iteration times for its ETA); global averages
    are kept by the history itself and are unchanged.
    """

    def __init__(self, keep=1000):
        self.keep = keep

    def after_step(self):
        if (self.trainer.iter + 1) % self.keep == 0:
            for history in self.trainer.storage.histories().values():
                drop_oldest_history_values(history, self.keep)
