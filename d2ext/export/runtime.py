"""Running an exported model: its graphs on ONNX Runtime or TorchScript, behind the meta-architecture's interface."""
import contextlib
import json
import os
import warnings

import torch
import yaml
from torch import nn

from .adapter import build_export_adapter

__all__ = ["BACKENDS", "BACKEND_FORMATS", "FORMAT_BACKENDS", "MANIFEST", "ExportedModel", "import_onnxruntime", "read_manifest"]

MANIFEST = "export.json"
BACKEND_FORMATS = {"torchscript": "torchscript", "onnxruntime": "onnx"}  # --backend -> the export --format it runs
FORMAT_BACKENDS = {export_format: backend for backend, export_format in BACKEND_FORMATS.items()}
BACKENDS = ("pytorch", *BACKEND_FORMATS)
DEPLOY_EXTRA = 'pip install -e ".[deploy]"'


def import_onnxruntime():
    try:
        import onnxruntime
    except ImportError as e:
        raise ImportError(f"--backend onnxruntime needs the package onnxruntime, which is not installed: {DEPLOY_EXTRA} "
                          "(or pip install onnxruntime).") from e
    return onnxruntime


def read_manifest(folder):
    """The export.json of an export folder (written last by export_model, so an interrupted export has none)."""
    path = os.path.join(folder, MANIFEST)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file. MODEL.WEIGHTS must name a folder written by tools/export_model.py "
                                "(an interrupted export leaves none: export again).")
    with open(path) as f:
        return json.load(f)


class OnnxRuntimeGraphs:
    """
    graph name -> an onnxruntime.InferenceSession of <folder>/<file>; called as run(name, *tensors) -> tuple of
    tensors. ONNX Runtime has its own thread pool: torch's pre- and post-processing around it runs on one thread
    (``owns_threads``), since torch's OpenMP workers, woken by it, spin on the cores ONNX Runtime computes on
    (measured: ResNet-18 at 224 px, batch 1, 2 cores: 31-35 ms a call, 19-20 ms with one torch thread).
    """

    owns_threads = True

    def __init__(self, folder, files, device):
        ort = import_onnxruntime()
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.sessions = {name: ort.InferenceSession(os.path.join(folder, file), providers=providers)
                         for name, file in files.items()}

    def __call__(self, name, *tensors):
        session = self.sessions[name]
        feeds = {node.name: tensor.detach().cpu().contiguous().numpy() for node, tensor in zip(session.get_inputs(), tensors)}
        return tuple(torch.from_numpy(output) for output in session.run(None, feeds))


class TorchScriptGraphs:
    """graph name -> torch.jit.load(<folder>/<file>); called as run(name, *tensors) -> tuple of tensors."""

    owns_threads = False

    def __init__(self, folder, files, device):
        self.device = device
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*torch\.jit\.load` is deprecated")  # docs/deploy.md
            self.modules = {name: torch.jit.load(os.path.join(folder, file), map_location=device).eval()
                            for name, file in files.items()}

    def __call__(self, name, *tensors):
        outputs = self.modules[name](*(tensor.to(self.device) for tensor in tensors))
        return tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)


GRAPH_RUNNERS = {"onnx": OnnxRuntimeGraphs, "torchscript": TorchScriptGraphs}


class ExportedModel(nn.Module):
    """
    An export folder (tools/export_model.py) run by `backend` ("onnxruntime" or "torchscript") with the
    meta-architecture's eval interface: detectron2's ``list[dict]`` in, the same output dicts as the PyTorch
    model out (its ExportAdapter does the pre- and post-processing around the exported graphs). It can replace
    the model in d2ext's Predictor and in evaluation (Trainer.test).

    `cfg` must build the same graphs as the config the folder was exported from (MODEL and INPUT keys, except
    the adapter's runtime_keys): a difference stops with the key and both values. `manifest`: the folder's
    export.json as a dict (read from the folder when None).
    """

    def __init__(self, cfg, folder, backend, manifest=None):
        super().__init__()
        if backend not in BACKEND_FORMATS:
            raise ValueError(f"--backend {backend!r}: exported models run on {', '.join(BACKEND_FORMATS)}.")
        manifest = manifest or read_manifest(folder)
        if manifest["format"] != BACKEND_FORMATS[backend]:
            runs_on = FORMAT_BACKENDS[manifest["format"]]
            raise ValueError(f"{os.path.join(folder, MANIFEST)}: this is a {manifest['format']} export; run it with "
                             f"--backend {runs_on}, or export the model again with --format {BACKEND_FORMATS[backend]}.")
        self.adapter = build_export_adapter(cfg)
        exported_cfg = yaml.safe_load(manifest["config"])
        differences = self.adapter.config_differences(exported_cfg, yaml.safe_load(cfg.dump()))
        if differences:
            key, exported, now = differences[0]
            raise ValueError(
                f"{os.path.join(folder, MANIFEST)} was exported with {key} = {exported!r}, but the config gives {now!r}"
                f"{f' (and {len(differences) - 1} more differences)' if len(differences) > 1 else ''}: the exported graph "
                f"cannot follow it. Use the config it was exported from ({os.path.join(folder, 'config.yaml')}), or "
                "export again with this config.")
        self.register_buffer("_device_anchor", torch.zeros(0, device=cfg.MODEL.DEVICE), False)
        self.run = GRAPH_RUNNERS[manifest["format"]](folder, manifest["graphs"], self.device)

    @property
    def device(self):
        return self._device_anchor.device

    def forward(self, batched_inputs):
        with torch.no_grad(), torch_threads(1 if self.run.owns_threads else torch.get_num_threads()):
            return self.adapter(self.run, batched_inputs)


@contextlib.contextmanager
def torch_threads(count):
    """torch's intra-op thread count set to `count` inside the block, restored after it."""
    before = torch.get_num_threads()
    if count != before:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if count != before:
            torch.set_num_threads(before)
