"""ExportAdapter: where a meta-architecture is cut for export, and the registry of adapters by META_ARCHITECTURE."""
from collections import namedtuple

from torch import nn

__all__ = ["EXPORT_ADAPTERS", "ExportAdapter", "Graph", "ImageModelExport", "ModelMethod", "build_export_adapter", "register_export_adapter"]

# META_ARCHITECTURE -> its ExportAdapter class, filled by the tasks with register_export_adapter.
EXPORT_ADAPTERS = {}

Graph = namedtuple("Graph", "module input_names output_names dynamic_axes")
Graph.__doc__ = """
One exported graph: `module` maps tensors to a tuple of tensors; `input_names` / `output_names` name them in order;
`dynamic_axes` is {input or output name: {axis: name}} for the axes whose size may change from call to call.
"""


class ModelMethod(nn.Module):
    """A graph module that calls a method or sub-module of a model: forward(*tensors) -> (model.<method>(*tensors),) or its tuple."""

    def __init__(self, model, method):
        super().__init__()
        self.model = model
        self.method = method

    def forward(self, *tensors):
        outputs = getattr(self.model, self.method)(*tensors)
        return outputs if isinstance(outputs, tuple) else (outputs,)


def register_export_adapter(meta_architecture):
    """Class decorator: the ExportAdapter of the META_ARCHITECTURE `meta_architecture`."""
    def register(adapter_class):
        EXPORT_ADAPTERS[meta_architecture] = adapter_class
        return adapter_class
    return register


def build_export_adapter(cfg):
    """The ExportAdapter of cfg.MODEL.META_ARCHITECTURE, built from `cfg`."""
    name = cfg.MODEL.META_ARCHITECTURE
    if name not in EXPORT_ADAPTERS:
        raise ValueError(f"MODEL.META_ARCHITECTURE = {name!r} cannot be exported: d2ext exports "
                         f"{', '.join(sorted(EXPORT_ADAPTERS))}. Run it with --backend pytorch.")
    return EXPORT_ADAPTERS[name](cfg)


class ExportAdapter:
    """
    Splits a meta-architecture into what is exported and what stays d2ext's Python code:

    - ``graphs(model)``: the tensor-to-tensor modules that are exported, by name ({"model": Graph} for most);
    - ``__call__(run, batched_inputs)``: the model's own eval ``forward`` with every graph call made through
      ``run(graph name, *tensors) -> tuple of tensors``: the pre-processing before the graphs (resize,
      normalisation, batching) and the post-processing after them (NMS where it stays outside, box rescaling,
      output dicts) are this one code, whether `run` calls the eager graphs, TorchScript or ONNX Runtime.

    ``runtime_keys``: config keys read only by the post-processing, which may differ from the exported config.
    ``dynamo_onnx_export``: ONNX through torch.export (True), or through the TorchScript tracer that detectron2's
    ``TracingAdapter`` is made for (False).
    """

    runtime_keys = ()
    dynamo_onnx_export = True

    def __init__(self, cfg):
        self.cfg = cfg

    def graphs(self, model):
        raise NotImplementedError

    def __call__(self, run, batched_inputs):
        raise NotImplementedError

    def config_differences(self, exported_cfg, cfg):
        """
        (key, exported value, value now) for each MODEL / INPUT key that differs and that the graphs may depend on:
        all but MODEL.WEIGHTS, MODEL.DEVICE, `runtime_keys` and the detectors' MODEL.*.SCORE_THRESH_TEST, which
        tools/demo.py sets for every detector (an adapter whose graph holds one checks it itself).
        """
        ignored = {"MODEL.WEIGHTS", "MODEL.DEVICE", *self.runtime_keys}
        return [(key, value, now) for key, value, now in _differences(exported_cfg, cfg, ("MODEL", "INPUT"))
                if key not in ignored and not key.endswith(".SCORE_THRESH_TEST")]



class ImageModelExport(ExportAdapter):
    """
    The adapter of a model whose graph is one of its methods (`method`, default ``logits``): "images"
    (N, C, H, W) float32 pixels in INPUT.FORMAT (any batch size and image size; normalisation inside) ->
    `output_names`. `inference` is the model's own inference function, ``fn(batched_inputs, outputs_of, device,
    *inference_args())`` -> output dicts, which calls outputs_of(images) for the graph's output (or outputs).
    """

    method = "logits"
    output_names = ("logits",)
    inference = None

    def inference_args(self):
        return ()

    def graphs(self, model):
        return {"model": Graph(ModelMethod(model, self.method), ("images",), self.output_names,
                               {"images": {0: "batch", 2: "height", 3: "width"}})}

    def __call__(self, run, batched_inputs):
        def outputs_of(images):
            outputs = run("model", images)
            return outputs[0] if len(outputs) == 1 else outputs
        return type(self).inference(batched_inputs, outputs_of, "cpu", *self.inference_args())

def _differences(a, b, keys, prefix=""):
    for key in keys:
        name = f"{prefix}{key}"
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            yield from _differences(va, vb, sorted(set(va) | set(vb)), f"{name}.")
        elif va != vb:
            yield name, va, vb
