"""metrics.json: detectron2's JSONWriter appends; a resumed run cuts the killed run's lines past its checkpoint once."""
import json
import os

from detectron2.utils.events import EventStorage, JSONWriter

from conftest import REPO
from d2ext.config import load_config
from d2ext.engine import Trainer
from d2ext.engine.hooks import BoundedScalarHistories
from d2ext.utils.events import trim_metrics_file


def _log(path, start_iter, iterations):
    """Write `iterations` with detectron2's JSONWriter, as a run started at `start_iter` does."""
    writer = JSONWriter(str(path))
    with EventStorage(start_iter) as storage:
        for iteration in iterations:
            storage.iter = iteration
            storage.put_scalar("loss", float(iteration))
            writer.write()
    writer.close()


def _iterations(path):
    with open(path) as f:
        return [json.loads(line)["iteration"] for line in f]


def test_a_resumed_run_cuts_the_iterations_after_its_checkpoint(tmp_path):
    path = tmp_path / "metrics.json"
    _log(path, 0, [9, 19, 29, 39])
    with open(path, "a") as f:
        f.write('{"iteration": 49, "lo')  # a line a kill cut short

    # Resumed from the checkpoint after iteration 24: lines 29, 39 and the broken one are the killed run's.
    assert trim_metrics_file(str(path), 25) == 3
    assert _iterations(path) == [9, 19]
    _log(path, 25, [29, 39, 49])
    assert _iterations(path) == [9, 19, 29, 39, 49]
    assert trim_metrics_file(str(path), 50) == 0 and _iterations(path) == [9, 19, 29, 39, 49]
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_a_run_resumed_before_every_line_or_without_metrics_starts_afresh(tmp_path):
    path = tmp_path / "metrics.json"
    assert trim_metrics_file(str(path), 0) == 0 and not path.exists()
    _log(path, 0, [9, 19])
    assert trim_metrics_file(str(path), 0) == 2 and path.read_text() == ""


def test_the_trainers_scalar_histories_stay_bounded(tmp_path):
    cfg = load_config(os.path.join(REPO, "configs/digits/classification/resnet18.yaml"), [
        "MODEL.DEVICE", "cpu", "SOLVER.IMS_PER_BATCH", 4, "SOLVER.MAX_ITER", 7, "SOLVER.WARMUP_ITERS", 0,
        "DATALOADER.NUM_WORKERS", 0, "DATASETS.TEST", (), "OUTPUT_DIR", str(tmp_path)])
    trainer = Trainer(cfg)
    assert any(isinstance(h, BoundedScalarHistories) for h in trainer._hooks)
    trainer.register_hooks([BoundedScalarHistories(keep=3)])
    trainer.train()
    history = trainer.storage.history("total_loss")
    assert [iteration for _, iteration in history.values()] == [3, 4, 5, 6]  # cut to 3 after iteration 5, then one more
