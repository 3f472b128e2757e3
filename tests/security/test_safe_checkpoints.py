"""Weights load without running code: .pkl through a data-only unpickler, .pth and .pyth with weights_only=True."""
import os
import pickle

import numpy as np
import pytest
import torch
from torch import nn

from conftest import REPO
from d2ext.checkpoint import SafeCheckpointer
from d2ext.config import load_config
from d2ext.engine import Predictor


class RunsCode:
    """Unpickling this runs `touch <marker>`: what a malicious checkpoint does."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def tiny_model():
    model = nn.Sequential(nn.Linear(2, 3))
    nn.init.zeros_(model[0].weight)
    return model


def test_detectron2_pkl_weights_load(tmp_path):
    weights = {"0.weight": np.arange(6, dtype=np.float32).reshape(3, 2), "0.bias": np.ones(3, dtype=np.float32)}
    with open(tmp_path / "w.pkl", "wb") as f:
        pickle.dump({"model": weights, "__author__": "test"}, f)
    model = tiny_model()
    SafeCheckpointer(model).load(str(tmp_path / "w.pkl"))
    torch.testing.assert_close(model[0].weight, torch.arange(6.0).view(3, 2))


def test_a_malicious_pkl_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump({"model": {"0.weight": RunsCode(marker)}, "__author__": "test"}, f)
    with pytest.raises(ValueError, match=r"evil.pkl: refused, it names the global posix.system"):
        SafeCheckpointer(tiny_model()).load(str(tmp_path / "evil.pkl"))
    assert not marker.exists()


def test_a_malicious_pth_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"model": {"0.weight": RunsCode(marker)}}, tmp_path / "evil.pth")
    with pytest.raises(ValueError, match=r"evil.pth: refused, torch.load\(weights_only=True\)"):
        SafeCheckpointer(tiny_model()).load(str(tmp_path / "evil.pth"))
    assert not marker.exists()


def test_a_malicious_pycls_pyth_is_refused_and_runs_nothing(tmp_path):
    """detectron2 reads .pyth (pycls) files with its own torch.load; it must not run what they name either."""
    marker = tmp_path / "pwned"
    torch.save({"model_state": {"0.weight": RunsCode(marker)}}, tmp_path / "evil.pyth")
    with pytest.raises(ValueError, match=r"evil.pyth: refused, torch.load\(weights_only=True\)"):
        SafeCheckpointer(tiny_model()).load(str(tmp_path / "evil.pyth"))
    assert not marker.exists()


def test_pycls_pyth_weights_load(tmp_path):
    source = nn.Sequential(nn.Linear(2, 3))
    torch.save({"model_state": source.state_dict()}, tmp_path / "w.pyth")
    model = tiny_model()
    SafeCheckpointer(model).load(str(tmp_path / "w.pyth"))
    torch.testing.assert_close(model[0].weight, source[0].weight)


def test_pth_state_dicts_load(tmp_path):
    source = nn.Sequential(nn.Linear(2, 3))
    torch.save({"model": source.state_dict()}, tmp_path / "w.pth")
    model = tiny_model()
    SafeCheckpointer(model).load(str(tmp_path / "w.pth"))
    torch.testing.assert_close(model[0].weight, source[0].weight)


def test_the_demo_predictor_refuses_a_malicious_pkl(tmp_path):
    marker = tmp_path / "pwned"
    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump({"model": {"backbone.stem.conv1.weight": RunsCode(marker)}, "__author__": "test"}, f)
    cfg = load_config(os.path.join(REPO, "configs/digits/classification/resnet18.yaml"),
                      ["MODEL.DEVICE", "cpu", "MODEL.WEIGHTS", str(tmp_path / "evil.pkl")])
    with pytest.raises(ValueError, match="evil.pkl: refused"):
        Predictor(cfg)
    assert not marker.exists()
