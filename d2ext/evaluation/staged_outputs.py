"""Evaluation files that a kill never leaves half-written, for detectron2 evaluators that write in place."""
import os
import shutil
import tempfile

from detectron2.evaluation import DatasetEvaluator
from detectron2.utils import comm

__all__ = ["StagedOutputs"]

_STAGING_PREFIX = ".staging-"


def _fsync_file(path):
    with open(path, "rb") as f:
        os.fsync(f.fileno())


class StagedOutputs(DatasetEvaluator):
    """
    A detectron2 ``DatasetEvaluator`` whose files appear in `output_dir` only complete: ``make_evaluator(staging)``
    builds the evaluator with a hidden staging folder inside `output_dir` as its output folder (COCOEvaluator and
    SemSegEvaluator write in place there); after its ``evaluate``, each file is flushed to disk and renamed into
    `output_dir`. A kill during evaluation leaves the previous evaluation's files whole; the staging folders
    that kills leave are removed by the next evaluation.
    """

    def __init__(self, make_evaluator, output_dir):
        """
        Args:
            make_evaluator (callable): output folder (str or None) -> DatasetEvaluator.
            output_dir (str or None): where the files land; None: the evaluator writes nothing.
        """
        self.output_dir = output_dir
        self.staging = None
        if output_dir and comm.is_main_process():  # other processes write nothing
            os.makedirs(output_dir, exist_ok=True)
            self.staging = tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=output_dir)
        self.evaluator = make_evaluator(self.staging or output_dir)

    def reset(self):
        self.evaluator.reset()

    def process(self, inputs, outputs):
        self.evaluator.process(inputs, outputs)

    def evaluate(self):
        if not self.staging:
            return self.evaluator.evaluate()
        for name in os.listdir(self.output_dir):
            if name.startswith(_STAGING_PREFIX) and name != os.path.basename(self.staging):  # left by a kill
                shutil.rmtree(os.path.join(self.output_dir, name), ignore_errors=True)
        os.makedirs(self.staging, exist_ok=True)
        try:
            results = self.evaluator.evaluate()
            for name in sorted(os.listdir(self.staging)):
                _fsync_file(os.path.join(self.staging, name))
                os.replace(os.path.join(self.staging, name), os.path.join(self.output_dir, name))
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)
        return results
