"""
Two machines on this one: two tools/train_net.py processes with --num-machines 2 and their own --machine-rank, one
process each (--num-gpus 1), over gloo on the CPU, sharing OUTPUT_DIR as machines share a network file system;
and --resume stopping with a message when each machine has an OUTPUT_DIR of its own.
"""
import os
import signal
import socket
import subprocess
import sys

import pytest
from detectron2.modeling import build_model

from conftest import REPO, evaluation_results
from d2ext.checkpoint import SafeCheckpointer
from d2ext.config import load_config

pytestmark = pytest.mark.slow

DIGITS_CLASSIFIER = os.path.join(REPO, "configs/digits/classification/resnet18.yaml")
NO_LOADER_WORKERS = ["DATALOADER.NUM_WORKERS", "0"]  # no worker processes to start: a shorter test


def free_port():
    """A TCP port free on this machine now, for machine 0's --dist-url."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_two_machines(output_dirs, *args):
    """
    Run ``tools/train_net.py <args: flags, then KEY VALUE pairs> OUTPUT_DIR output_dirs[rank]`` as machine 0 and
    machine 1 of one job; returns their exit codes and consoles.
    """
    dist_url = f"tcp://127.0.0.1:{free_port()}"
    consoles = [output_dirs[rank].parent / f"machine{rank}.out" for rank in (0, 1)]
    machines = []
    try:
        for rank, console in enumerate(consoles):
            with open(console, "w") as out:
                machines.append(subprocess.Popen(
                    [sys.executable, os.path.join(REPO, "tools", "train_net.py"), "--num-gpus", "1", "--num-machines", "2",
                     "--machine-rank", str(rank), "--dist-url", dist_url, *args, "OUTPUT_DIR", str(output_dirs[rank])],
                    cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
        return [machine.wait(timeout=240) for machine in machines], [console.read_text() for console in consoles]
    finally:
        for machine in machines:  # a machine left running: its launch() process and the training process it spawned
            if machine.poll() is None:
                os.killpg(machine.pid, signal.SIGKILL)


def train_on_two_machines(output_dir, *args):
    """run_two_machines with one OUTPUT_DIR, shared as on a network file system; fail when a machine exits non-zero."""
    for rank, (code, console) in enumerate(zip(*run_two_machines((output_dir, output_dir), *args))):
        if code != 0:
            pytest.fail(f"machine {rank} exited {code}:\n{console[-5000:]}")


def read(output_dir, name):
    """The text of the file `name` in `output_dir`."""
    with open(os.path.join(output_dir, name)) as f:
        return f.read()


def assert_ranks_0_and_1_of_2_trained_and_rank_0_saved(output_dir):
    logs = [read(output_dir, "log.txt"), read(output_dir, "log.txt.rank1")]
    for rank, log in enumerate(logs):
        assert f"Rank of current process: {rank}. World size: 2" in log
    assert "Saving checkpoint to" in logs[0] and "Saving checkpoint to" not in logs[1]
    assert read(output_dir, "last_checkpoint").strip() == "model_final.pth"
    return logs


def test_a_detector_trains_on_two_machines(tiny_config, tmp_path):
    output_dir = tmp_path / "output"
    output_dir.mkdir()
    train_on_two_machines(output_dir, "--config-file", tiny_config, "SOLVER.MAX_ITER", "2", *NO_LOADER_WORKERS)
    assert_ranks_0_and_1_of_2_trained_and_rank_0_saved(output_dir)
    assert "bbox" in evaluation_results(str(output_dir))["results"]["tiny_val"]


def test_a_classifier_trains_and_resumes_on_two_machines(tmp_path):
    output_dir = tmp_path / "output"
    output_dir.mkdir()
    classifier = ["--config-file", DIGITS_CLASSIFIER, "SOLVER.IMS_PER_BATCH", "8", "SOLVER.WARMUP_ITERS", "0",
                  "SOLVER.CHECKPOINT_PERIOD", "2", "DATASETS.TEST", "()", *NO_LOADER_WORKERS]
    train_on_two_machines(output_dir, *classifier, "SOLVER.MAX_ITER", "2")
    assert_ranks_0_and_1_of_2_trained_and_rank_0_saved(output_dir)
    train_on_two_machines(output_dir, "--resume", *classifier, "SOLVER.MAX_ITER", "4")
    for log in assert_ranks_0_and_1_of_2_trained_and_rank_0_saved(output_dir):
        assert f"Loading from {output_dir}/model_final.pth" in log
        assert "Starting training from iteration 2" in log
    assert os.path.isfile(output_dir / "model_0000003.pth")


def test_resuming_without_a_shared_output_dir_stops_every_machine(tmp_path):
    machine_dirs = (tmp_path / "machine0" / "output", tmp_path / "machine1" / "output")
    for output_dir in machine_dirs:
        output_dir.mkdir(parents=True)
    cfg = load_config(DIGITS_CLASSIFIER, ["MODEL.DEVICE", "cpu"])
    SafeCheckpointer(build_model(cfg), save_dir=str(machine_dirs[0])).save("model_final")  # as rank 0 saves it
    codes, consoles = run_two_machines(machine_dirs, "--resume", "--config-file", DIGITS_CLASSIFIER, *NO_LOADER_WORKERS)
    for code, console in zip(codes, consoles):
        assert code != 0
        assert "--resume: the processes see different last checkpoints" in console
        assert "(process rank: checkpoint) {0: 'model_final.pth', 1: None}" in console
