"""Training from scratch never silently overwrites an earlier run's checkpoints."""
import os

import pytest

from conftest import REPO, run_tool
from d2ext.engine.setup import check_output_dir


def test_checkpoints_of_an_earlier_run_stop_a_fresh_start(tmp_path):
    check_output_dir(str(tmp_path / "new"), resume=False, overwrite=False)  # absent: fine
    check_output_dir(str(tmp_path), resume=False, overwrite=False)  # empty: fine
    (tmp_path / "log.txt").write_text("")
    check_output_dir(str(tmp_path), resume=False, overwrite=False)  # no checkpoint: fine
    (tmp_path / "model_0000999.pth").write_bytes(b"")
    with pytest.raises(FileExistsError, match=rf"OUTPUT_DIR {tmp_path} already holds checkpoints \(model_0000999.pth\)"
                                              r".*--resume.*another directory.*--overwrite"):
        check_output_dir(str(tmp_path), resume=False, overwrite=False)
    check_output_dir(str(tmp_path), resume=True, overwrite=False)
    check_output_dir(str(tmp_path), resume=False, overwrite=True)


@pytest.mark.slow
def test_train_net_stops_before_touching_the_directory(tmp_path):
    (tmp_path / "last_checkpoint").write_text("model_final.pth")
    (tmp_path / "model_final.pth").write_bytes(b"earlier run")
    result = run_tool("train_net.py", "--config-file", os.path.join(REPO, "configs/digits/classification/resnet18.yaml"),
                      "OUTPUT_DIR", str(tmp_path), check=False)
    assert result.returncode != 0 and "--overwrite" in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["last_checkpoint", "model_final.pth"]
    assert (tmp_path / "model_final.pth").read_bytes() == b"earlier run"
