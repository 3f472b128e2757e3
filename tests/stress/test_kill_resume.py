"""The kill-and-resume stress run at a small scale (tests/stress/kill_resume.py --kills 21 is the full one)."""
import os

import pytest

from conftest import REPO, run_python

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("speed", [(), ("--cheap",)], ids=["steps-as-configured", "cheap-steps"])
def test_kills_during_a_step_a_checkpoint_write_and_an_evaluation_lose_nothing(tmp_path, speed):
    result = run_python(os.path.join(REPO, "tests/stress/kill_resume.py"), "--kills", "3", "--max-iter", "30",
                        *speed, "--output-dir", str(tmp_path), timeout=400)
    assert ("kills: 3 (1 during steps, 1 during checkpoint writes, 1 during evaluations), files that did not "
            "load: 0, failed resumes: 0, final model at iteration 29 (MAX_ITER 30): ok, metrics.json holds each "
            "iteration once: yes, temporary files left: 0") in result.stdout, result.stdout
