import detectron2
import torch

from conftest import run_python


def _row(out, key):
    return next(line for line in out.splitlines() if line.startswith(f"| {key} "))


def test_collect_env_reports_versions_c_ops_and_device():
    out = run_python("-m", "d2ext.collect_env").stdout
    assert torch.__version__ in _row(out, "torch")
    assert detectron2.__version__ in _row(out, "detectron2")
    try:
        from detectron2 import _C  # noqa: F401
        expected_c_ops = "present"
    except ImportError:
        expected_c_ops = "absent"
    assert expected_c_ops in _row(out, "detectron2._C")
    assert str(torch.cuda.is_available()) in _row(out, "CUDA available")
    assert ("cuda" if torch.cuda.is_available() else "cpu") in _row(out, "default device")
