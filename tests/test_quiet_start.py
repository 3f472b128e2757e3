"""`import d2ext` and the tools print no third-party warning; exactly the known ones are silenced."""
import os

import pytest

from conftest import run_python


def test_import_prints_nothing():
    result = run_python("-c", "import d2ext")
    assert result.stderr == "" and result.stdout == ""


def test_only_the_known_warnings_are_silenced():
    result = run_python("-c", (
        "import warnings, d2ext\n"
        "warnings.warn('`torch.jit.script` is deprecated. Please switch to `torch.compile`.', FutureWarning)\n"
        "warnings.warn('something else is deprecated', FutureWarning)\n"
        "warnings.warn('`torch.jit.script` is deprecated', UserWarning)\n"))
    assert result.stderr.count("Warning: ") == 2, result.stderr
    assert "FutureWarning: something else is deprecated" in result.stderr
    assert "UserWarning: `torch.jit.script` is deprecated" in result.stderr


@pytest.mark.slow
def test_a_detector_demo_prints_no_warning(tiny_config, tiny_shapes, tmp_path):
    result = run_python(os.path.join("tools", "demo.py"), "--config-file", tiny_config, "--input",
                        os.path.join(tiny_shapes["val"], "images"), "--output", str(tmp_path))
    assert "Warning" not in result.stderr, result.stderr  # the R-CNN's anchors call torch.meshgrid in detectron2
