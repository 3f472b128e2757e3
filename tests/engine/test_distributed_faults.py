"""When one process of a launch() job dies, the job ends with a clear error in bounded time, not a hang."""
import os
import time

import pytest

from conftest import REPO, run_python

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("config", ["configs/digits/classification/resnet18.yaml", "configs/digits/gan/dcgan.yaml"])
def test_a_killed_process_ends_the_job(config, tmp_path):
    start = time.perf_counter()
    result = run_python(os.path.join(REPO, "tests/engine/fault_launch_worker.py"), "--num-gpus", "2",
                        "--config-file", os.path.join(REPO, config), "MODEL.DEVICE", "cpu", "SOLVER.IMS_PER_BATCH", "8",
                        "SOLVER.MAX_ITER", "1000", "DATASETS.TEST", "()", "DATALOADER.NUM_WORKERS", "0",
                        "OUTPUT_DIR", str(tmp_path), check=False, timeout=240)
    elapsed = time.perf_counter() - start
    assert result.returncode != 0
    assert "process 1 terminated with signal SIGKILL" in result.stderr, result.stderr[-2000:]
    assert elapsed < 120  # rank 0 does not wait for the dead rank's gradients until a timeout
