"""Evaluation files that a kill never leaves half-written, for detectron2 evaluators that write in place."""
import os
import shutil
import tempfile

from detectron2.evaluation import COCOEvaluator as _DetectronCOCOEvaluator
from detectron2.utils import comm

__all__ = ["AtomicOutputs", "COCOEvaluator"]

_STAGING_PREFIX = ".staging-"


def _fsync_file(path):
    with open(path, "rb") as f:
        os.fsync(f.fileno())


class AtomicOutputs:
    """
    Mixin for a detectron2 ``DatasetEvaluator`` whose ``evaluate`` writes files under ``self._output_dir``
    in place (COCOEvaluator, SemSegEvaluator): they are written to a hidden staging folder inside it,
    then each is flushed to disk and renamed into place. A kill during evaluation leaves the previous
    evaluation's files whole; the staging folder it leaves is removed by the next evaluation.
    """

    def evaluate(self, *args, **kwargs):
        output_dir = self._output_dir
        if not output_dir or not comm.is_main_process():  # other processes write nothing
            return super().evaluate(*args, **kwargs)
        os.makedirs(output_dir, exist_ok=True)
        for name in os.listdir(output_dir):
            if name.startswith(_STAGING_PREFIX):
                shutil.rmtree(os.path.join(output_dir, name), ignore_errors=True)
        staging = tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=output_dir)
        self._output_dir = staging
        try:
            results = super().evaluate(*args, **kwargs)
            for name in sorted(os.listdir(staging)):
                _fsync_file(os.path.join(staging, name))
                os.replace(os.path.join(staging, name), os.path.join(output_dir, name))
        finally:
            self._output_dir = output_dir
            shutil.rmtree(staging, ignore_errors=True)
        return results


class COCOEvaluator(AtomicOutputs, _DetectronCOCOEvaluator):
    """detectron2's COCOEvaluator; its ``instances_predictions.pth`` and results JSON are written atomically."""
