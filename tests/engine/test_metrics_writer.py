"""metrics.json: rewritten atomically, and a resumed run drops the killed run's lines past its checkpoint."""
import json

from detectron2.utils.events import EventStorage

from d2ext.utils.events import MetricsJSONWriter


def _iterations(path):
    with open(path) as f:
        return [json.loads(line)["iteration"] for line in f]


def _log(storage, writer, iterations):
    for iteration in iterations:
        storage.iter = iteration
        storage.put_scalar("loss", float(iteration))
        writer.write()


def test_a_resumed_run_rewrites_the_iterations_after_its_checkpoint_once(tmp_path):
    path = tmp_path / "metrics.json"
    with EventStorage(0) as storage:
        _log(storage, MetricsJSONWriter(str(path), lambda: 0), [9, 19, 29, 39])
    with open(path, "a") as f:
        f.write('{"iteration": 49, "lo')  # a line a kill of another writer cut short
    assert _iterations_of_complete_lines(path) == [9, 19, 29, 39]

    # Resumed from the checkpoint after iteration 24: lines 29, 39 and the broken one are the killed run's.
    with EventStorage(25) as storage:
        writer = MetricsJSONWriter(str(path), lambda: 25)
        _log(storage, writer, [29, 39, 49])
        writer.close()
    assert _iterations(path) == [9, 19, 29, 39, 49]
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary file left


def _iterations_of_complete_lines(path):
    return [json.loads(line)["iteration"] for line in path.read_text().splitlines() if line.endswith("}")]
