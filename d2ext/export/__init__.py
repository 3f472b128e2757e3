"""Export to TorchScript and ONNX, and running exported models: the core, which the tasks' ExportAdapters plug into."""
from .adapter import (EXPORT_ADAPTERS, ExportAdapter, Graph, ImageModelExport, ModelMethod, build_export_adapter,
                      register_export_adapter)
from .compare import OUTPUT_TOLERANCES, compare_outputs, differences_above_tolerance
from .exporter import EXPORT_FORMATS, export_model
from .runtime import BACKEND_FORMATS, BACKENDS, ExportedModel, read_manifest
