"""Checkpoints are written to a temporary file and renamed: a failed save leaves the previous one intact."""
import os

import pytest
import torch
from torch import nn

from d2ext.checkpoint import SafeCheckpointer
from d2ext.utils.file_io import atomic_open


def test_a_save_that_fails_midway_leaves_the_previous_checkpoint_and_tag(tmp_path):
    model = nn.Linear(2, 2)
    checkpointer = SafeCheckpointer(model, save_dir=str(tmp_path))
    checkpointer.save("model_final")
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight.add_(1.0)
    with pytest.raises(Exception):  # the lambda cannot be pickled: torch.save fails after writing the weights
        checkpointer.save("model_final", broken=lambda: None)
    assert sorted(os.listdir(tmp_path)) == ["last_checkpoint", "model_final.pth"]  # no temporary file left
    assert (tmp_path / "last_checkpoint").read_text() == "model_final.pth"
    loaded = torch.load(tmp_path / "model_final.pth", weights_only=True)["model"]
    for key, value in saved.items():
        torch.testing.assert_close(loaded[key], value)


def test_atomic_open_replaces_only_on_success(tmp_path):
    path = tmp_path / "f.txt"
    with atomic_open(str(path), "w") as f:
        f.write("first")
    with pytest.raises(RuntimeError):
        with atomic_open(str(path), "w") as f:
            f.write("second, half")
            raise RuntimeError("killed")
    assert path.read_text() == "first" and os.listdir(tmp_path) == ["f.txt"]
