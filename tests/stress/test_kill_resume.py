"""The kill-and-resume stress run at a small scale (tests/stress/kill_resume.py --kills 20 is the full one)."""
import os

import pytest

from conftest import REPO, run_python

pytestmark = pytest.mark.slow


def test_three_random_kills_leave_loadable_checkpoints_and_the_run_finishes(tmp_path):
    result = run_python(os.path.join(REPO, "tests/stress/kill_resume.py"), "--kills", "3", "--max-iter", "30",
                        "--output-dir", str(tmp_path), timeout=400)
    assert "kills: 3, checkpoints that did not load: 0, failed resumes: 0" in result.stdout, result.stdout
