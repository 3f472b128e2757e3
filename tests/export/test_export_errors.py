"""Bad input to export and to exported models: each stops with a message naming the model, file or package and what to do."""
import os
import sys

import pytest
import torch
from detectron2.modeling import build_model

from conftest import REPO, run_tool

import d2ext.export.exporter as exporter
from d2ext.checkpoint import SafeCheckpointer
from d2ext.config import load_config
from d2ext.export import ExportedModel, build_export_adapter, export_model
from d2ext.export.runtime import OnnxRuntimeGraphs

DIGITS = os.path.join(REPO, "configs/digits/classification/resnet18.yaml")


def digits(*opts):
    return load_config(DIGITS, ["MODEL.DEVICE", "cpu", *opts])


def inputs(count=2):
    return [{"image": torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)} for _ in range(count)]


@pytest.fixture(scope="module")
def classifier():
    torch.manual_seed(0)
    return build_model(digits()).eval()


@pytest.fixture(scope="module")
def onnx_export(classifier, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("onnx"))
    export_model(digits(), classifier, inputs(), folder, "onnx")
    return folder


def test_a_model_without_adapter_names_it_and_the_exportable_ones():
    cfg = load_config(os.path.join(REPO, "configs/shapes/detection/faster_rcnn_R_18_FPN.yaml"),
                      ["MODEL.META_ARCHITECTURE", "RetinaNet"])
    with pytest.raises(ValueError, match=r"'RetinaNet' cannot be exported: d2ext exports .*GeneralizedRCNN.*--backend pytorch"):
        build_export_adapter(cfg)


def test_an_unknown_format_is_refused(classifier, tmp_path):
    with pytest.raises(ValueError, match="--format 'tflite': choose one of torchscript, onnx"):
        export_model(digits(), classifier, inputs(), str(tmp_path), "tflite")


def test_another_config_than_the_exported_one_names_the_key_and_file(onnx_export):
    with pytest.raises(ValueError, match=r"export.json was exported with MODEL.CLS_HEAD.NUM_CLASSES = 10, but the config "
                                         r"gives 7.*config.yaml"):
        ExportedModel(digits("MODEL.CLS_HEAD.NUM_CLASSES", "7"), onnx_export, "onnxruntime")


def test_the_wrong_backend_for_the_format_says_which_runs_it(onnx_export):
    with pytest.raises(ValueError, match="this is a onnx export; run it with --backend onnxruntime"):
        ExportedModel(digits(), onnx_export, "torchscript")


def test_an_export_folder_given_to_pytorch_says_to_use_a_backend(onnx_export, classifier):
    with pytest.raises(ValueError, match="is a folder, an exported model: run it with --backend onnxruntime"):
        SafeCheckpointer(classifier).load(onnx_export)


def test_a_missing_onnxruntime_says_how_to_install_it(onnx_export, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what Python does when the package is absent
    with pytest.raises(ImportError, match=r'needs the package onnxruntime.*pip install -e "\.\[deploy\]"'):
        ExportedModel(digits(), onnx_export, "onnxruntime")


def test_a_missing_onnx_says_how_to_install_it(classifier, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'--format onnx needs the package onnx.*pip install -e "\.\[deploy\]"'):
        export_model(digits(), classifier, inputs(), str(tmp_path), "onnx")
    assert os.listdir(tmp_path) == []


def test_an_export_killed_midway_leaves_no_half_written_file_and_no_stale_export(classifier, onnx_export, tmp_path, monkeypatch):
    folder = str(tmp_path / "export")
    export_model(digits(), classifier, inputs(), folder, "torchscript")
    before = open(os.path.join(folder, "model.ts"), "rb").read()

    def killed(graph, example_inputs, path):
        with open(path, "wb") as f:
            f.write(b"half a model")
        raise KeyboardInterrupt  # as a kill during the write would

    monkeypatch.setattr(exporter, "_save_torchscript", killed)
    with pytest.raises(KeyboardInterrupt):
        export_model(digits(), classifier, inputs(), folder, "torchscript")
    assert sorted(os.listdir(folder)) == ["config.yaml", "model.ts"]  # no temporary file, no export.json
    assert open(os.path.join(folder, "model.ts"), "rb").read() == before
    with pytest.raises(FileNotFoundError, match="export.json: no such file.*interrupted export leaves none: export again"):
        ExportedModel(digits(), folder, "torchscript")


def test_an_export_beyond_the_tolerances_writes_no_manifest(classifier, tmp_path, monkeypatch):
    call = OnnxRuntimeGraphs.__call__
    monkeypatch.setattr(OnnxRuntimeGraphs, "__call__", lambda self, name, *t: tuple(o + 1e-3 for o in call(self, name, *t)))
    with pytest.raises(ValueError, match=r"gives pred_logits 0.001 away from the PyTorch model's \(tolerance 0.0001\); "
                                         "no export.json written"):
        export_model(digits(), classifier, inputs(), str(tmp_path), "onnx")
    assert "export.json" not in os.listdir(tmp_path)


def test_a_lower_rcnn_score_threshold_than_exported_needs_a_new_export(tmp_path):
    config = os.path.join(REPO, "configs/shapes/detection/faster_rcnn_R_18_FPN.yaml")
    cfg = load_config(config, ["MODEL.DEVICE", "cpu"])
    torch.manual_seed(0)
    export_model(cfg, build_model(cfg).eval(), [{"image": torch.zeros(3, 64, 80, dtype=torch.uint8)}], str(tmp_path), "torchscript")
    ExportedModel(load_config(config, ["MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.5"]), str(tmp_path), "torchscript")
    with pytest.raises(ValueError, match="exported with MODEL.ROI_HEADS.SCORE_THRESH_TEST = 0.05, but the config gives 0.01"):
        ExportedModel(load_config(config, ["MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.01"]), str(tmp_path), "torchscript")


def test_train_net_backend_needs_eval_only():
    result = run_tool("train_net.py", "--config-file", DIGITS, "--backend", "onnxruntime", check=False)
    assert result.returncode == 2 and "--backend onnxruntime runs an exported model, which does not train: add --eval-only" in result.stderr
