"""export_model: a d2ext model's graphs to TorchScript or ONNX files, checked against the PyTorch model."""
import contextlib
import io
import json
import logging
import os
import warnings

import torch

from ..utils.file_io import atomic_path
from .adapter import build_export_adapter
from .compare import compare_outputs, differences_above_tolerance
from .runtime import DEPLOY_EXTRA, FORMAT_BACKENDS, MANIFEST, ExportedModel

__all__ = ["EXPORT_FORMATS", "export_model"]

EXPORT_FORMATS = {"torchscript": ".ts", "onnx": ".onnx"}  # --format -> the file extension of each graph


@contextlib.contextmanager
def _quiet_tracing():
    """The tracer's warnings about Python values it records as constants (detectron2's asserts and shape checks,
    which hold for every input size), and torch's notices that TorchScript and the TorchScript-based ONNX exporter
    are deprecated (docs/deploy.md)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=r".*(torch\.jit\.\w+` is deprecated|legacy TorchScript-based ONNX export"
                                                  r"|feature will be removed)")
        # detectron2's R-CNNs index with the outputs of nonzero / topk / NMS, never negative, so the exporter's
        # notice that negative indices would break its aten::index does not apply
        warnings.filterwarnings("ignore", message="Exporting aten::index operator of advanced indexing")
        yield


def _save_torchscript(graph, example_inputs, path):
    with _quiet_tracing():
        torch.jit.trace(graph.module, example_inputs, check_trace=False).save(path)


def _save_onnx(graph, example_inputs, path, dynamo):
    try:
        import onnx  # noqa: F401  torch.onnx.export needs it
        if dynamo:
            import onnxscript  # noqa: F401
    except ImportError as e:
        raise ImportError(f"--format onnx needs the package {e.name}, which is not installed: {DEPLOY_EXTRA}.") from e
    if dynamo:
        # torch.export specialises dynamic axes of size 1 to 1: trace such an axis at size 2
        example_inputs = tuple(
            torch.cat([x, x], dim=0) if 0 in graph.dynamic_axes.get(name, {}) and x.shape[0] == 1 else x
            for name, x in zip(graph.input_names, example_inputs))
        dynamic_shapes = (tuple({axis: torch.export.Dim.DYNAMIC for axis in graph.dynamic_axes.get(name, {})}
                                for name in graph.input_names),)  # graph modules take *tensors
        with contextlib.redirect_stdout(io.StringIO()):  # the exporter prints its progress
            torch.onnx.export(graph.module, example_inputs, path, dynamo=True, external_data=False,
                              input_names=list(graph.input_names), output_names=list(graph.output_names),
                              dynamic_shapes=dynamic_shapes)
    else:
        with _quiet_tracing():
            torch.onnx.export(graph.module, example_inputs, path, dynamo=False, input_names=list(graph.input_names),
                              output_names=list(graph.output_names), dynamic_axes=graph.dynamic_axes, opset_version=17)


def export_model(cfg, model, batched_inputs, output_dir, export_format):
    """
    Export `model` (built from `cfg`, weights loaded, on the CPU) to `output_dir`: one file per graph of its
    ExportAdapter (``<name>.onnx`` or ``<name>.ts``), ``config.yaml`` and, written last, ``export.json``
    (format, files, config, and the largest output differences measured here). Every file is written to a
    temporary name and renamed, so a kill leaves either the earlier export or none, never a half-written file.

    `batched_inputs` (list[dict], as the test-time mapper gives them) trace the graphs, then run through both the
    PyTorch model's graphs and the exported files. Returns {output key: largest absolute difference}; raises
    ValueError, writing no export.json, when one is above OUTPUT_TOLERANCES.
    """
    if export_format not in EXPORT_FORMATS:
        raise ValueError(f"--format {export_format!r}: choose one of {', '.join(EXPORT_FORMATS)}.")
    adapter = build_export_adapter(cfg)
    model = model.eval()
    graphs = adapter.graphs(model)
    example_inputs = {}

    def run_eager(name, *tensors):
        example_inputs.setdefault(name, tensors)
        return tuple(graphs[name].module(*tensors))

    with torch.no_grad():
        reference = adapter(run_eager, batched_inputs)
    unused = sorted(set(graphs) - set(example_inputs))
    if unused:
        raise ValueError(f"The sample inputs never ran the graph(s) {unused} of {cfg.MODEL.META_ARCHITECTURE}: give "
                         "inputs that use every graph (e.g. images of both domains for a CycleGAN).")

    os.makedirs(output_dir, exist_ok=True)
    manifest_path = os.path.join(output_dir, MANIFEST)
    if os.path.exists(manifest_path):
        os.unlink(manifest_path)  # until the new files are all written and checked, the folder is no export
    files = {}
    for name, graph in graphs.items():
        graph.module.eval()
        files[name] = name + EXPORT_FORMATS[export_format]
        with atomic_path(os.path.join(output_dir, files[name])) as path, torch.no_grad():
            if export_format == "torchscript":
                _save_torchscript(graph, example_inputs[name], path)
            else:
                _save_onnx(graph, example_inputs[name], path, adapter.dynamo_onnx_export)
    config = cfg.dump()
    with atomic_path(os.path.join(output_dir, "config.yaml")) as path, open(path, "w") as f:
        f.write(config)

    manifest = {"format": export_format, "meta_architecture": cfg.MODEL.META_ARCHITECTURE, "graphs": files,
                "inputs": {name: list(g.input_names) for name, g in graphs.items()},
                "outputs": {name: list(g.output_names) for name, g in graphs.items()}, "config": config}
    exported = ExportedModel(cfg, output_dir, FORMAT_BACKENDS[export_format], manifest)(batched_inputs)
    differences = compare_outputs(reference, exported)
    above = differences_above_tolerance(differences)
    if above:
        key, value, tolerance = above[0]
        raise ValueError(f"The {export_format} export of {cfg.MODEL.META_ARCHITECTURE} in {output_dir} gives {key} "
                         f"{value:.3g} away from the PyTorch model's (tolerance {tolerance:g}); no {MANIFEST} written.")
    manifest["max_differences"] = differences
    with atomic_path(manifest_path) as path, open(path, "w") as f:
        json.dump(manifest, f, indent=2)
    logging.getLogger(__name__).info(f"Exported {cfg.MODEL.META_ARCHITECTURE} to {output_dir} ({export_format}); "
                                     f"largest differences from PyTorch: {differences}")
    return differences
