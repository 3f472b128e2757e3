"""metrics.json: detectron2's JSONWriter appends; a resumed run cuts the killed run's lines past its checkpoint once."""
import json

from detectron2.utils.events import EventStorage, JSONWriter

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
