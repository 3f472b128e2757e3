"""`import d2ext` and the tools print no third-party warning; exactly the known ones are silenced."""
import os
import re

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
def test_the_tools_print_no_warning(tiny_config, tiny_shapes, tmp_path):
    runs = [("demo.py", "--config-file", tiny_config, "--input", os.path.join(tiny_shapes["val"], "images"),
             "--output", str(tmp_path / "demo")),  # the R-CNN's anchors call torch.meshgrid in detectron2
            ("train_net.py", "--config-file", tiny_config, "--eval-only", "OUTPUT_DIR", str(tmp_path / "eval")),
            *(("export_model.py", "--config-file", tiny_config, "--format", export_format, "--output",
               str(tmp_path / export_format), "--check-images", "2") for export_format in ("onnx", "torchscript")),
            ("demo.py", "--config-file", tiny_config, "--input", os.path.join(tiny_shapes["val"], "images"), "--output",
             str(tmp_path / "demo_ts"), "--backend", "torchscript", "MODEL.WEIGHTS", str(tmp_path / "torchscript"))]
    for tool, *args in runs:  # train_net logs detectron2's environment report, which imports torch's cpp_extension
        stderr = run_python(os.path.join("tools", tool), *args).stderr  # export_model: the tracer's, the exporter's
        assert "Warning" not in stderr, stderr
        assert not re.search(r"^[WE]\d{4} ", stderr, re.M), stderr  # torch's own log warnings
