"""Configs are read with a safe YAML loader only: a Python tag is refused and runs nothing."""
import os

import pytest

from conftest import REPO, run_tool
from d2ext.config import load_config

BASE = os.path.join(REPO, "configs/digits/classification/resnet18.yaml")


def malicious_config(path, marker, base=BASE):
    """A config that, read by yaml.unsafe_load, would create `marker` (os.system through a python tag)."""
    path.write_text(f'_BASE_: "{base}"\nOUTPUT_DIR: !!python/object/apply:os.system ["touch {marker}"]\n')
    return str(path)


def test_a_python_tag_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    config = malicious_config(tmp_path / "evil.yaml", marker)
    with pytest.raises(ValueError, match=r"evil.yaml, line 2: refused.*yaml.safe_load"):
        load_config(config)
    assert not marker.exists()


def test_a_python_tag_in_a_base_config_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    base = malicious_config(tmp_path / "evil_base.yaml", marker)
    child = tmp_path / "child.yaml"
    child.write_text(f'_BASE_: "{base}"\nSEED: 1\n')
    with pytest.raises(ValueError, match=r"evil_base.yaml, line 2: refused.*child.yaml"):
        load_config(str(child))
    assert not marker.exists()


@pytest.mark.slow
def test_train_net_refuses_it_before_anything_runs(tmp_path):
    marker = tmp_path / "pwned"
    config = malicious_config(tmp_path / "evil.yaml", marker)
    result = run_tool("train_net.py", "--config-file", config, check=False)
    assert result.returncode != 0 and "refused" in result.stderr and not marker.exists()


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.yaml: no such file"):
        load_config(str(tmp_path / "nope.yaml"))
