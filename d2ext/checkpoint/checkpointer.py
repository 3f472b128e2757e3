"""
detectron2's DetectionCheckpointer made safe: loading never runs code from the file, writing never leaves a
half-written checkpoint; plus d2ext's backbone-only checkpoints and a clear word on re-initialised heads.
"""
import logging
import os
import pickle

import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.utils.file_io import PathManager

from ..export.runtime import MANIFEST
from ..utils.file_io import AtomicWrites
from .torchvision_names import TorchvisionWeightsName, is_torchvision_name

__all__ = ["SafeCheckpointer", "check_pickle_holds_only_data"]

logger = logging.getLogger(__name__)

# What detectron2 / Detectron .pkl weights are made of besides numbers, strings, lists and dicts: numpy arrays.
_DATA_GLOBALS = {("collections", "OrderedDict"), ("numpy", "ndarray"), ("numpy", "dtype")} | {
    (module, name) for module in ("numpy.core.multiarray", "numpy._core.multiarray") for name in ("_reconstruct", "scalar")}


class _DataOnlyUnpickler(pickle.Unpickler):
    """An Unpickler that builds only numpy arrays, numbers, strings, lists and dicts: any other global is refused."""

    def find_class(self, module, name):
        if (module, name) not in _DATA_GLOBALS:
            raise pickle.UnpicklingError(f"it names the global {module}.{name}, which is not weights data")
        return super().find_class(module, name)


def check_pickle_holds_only_data(file):
    """Unpickle the binary file object `file` with the data-only unpickler; raise pickle.UnpicklingError otherwise."""
    _DataOnlyUnpickler(file, encoding="latin1").load()


class SafeCheckpointer(DetectionCheckpointer):
    """
    DetectionCheckpointer that

    * loads only data: ``.pkl`` files through an unpickler that builds nothing but arrays, numbers, strings,
      lists and dicts, every other file (``.pth``, pycls' ``.pyth``, ...) with torch's ``weights_only`` loader;
      a file that holds anything else is refused with a ValueError naming it;
    * writes checkpoints and ``last_checkpoint`` atomically;
    * loads a backbone-only checkpoint (``"backbone_arch"`` set, from ``tools/convert_torchvision.py
      --backbone-only``) into the model's torchvision backbone of that architecture, wherever it sits;
    * says which layers keep their fresh initialisation because the checkpoint's shapes differ, as
      when fine-tuning to another number of classes re-initialises the classifier.
    """

    def __init__(self, model, save_dir="", **kwargs):
        super().__init__(model, save_dir, **kwargs)
        # Checkpoints and last_checkpoint are written to a temporary file and renamed into place, so a kill
        # during a save leaves the previous checkpoint, and the tag that names it, intact.
        self.path_manager = AtomicWrites(self.path_manager)
        self._torchvision_name = None  # the torchvision:// name being loaded, whose file _load_file converts

    def load(self, path, *args, **kwargs):
        """DetectionCheckpointer.load; a ``torchvision://`` name loads the cached file of those weights, converted."""
        if path and os.path.isdir(path):
            exported = os.path.isfile(os.path.join(path, MANIFEST))
            raise ValueError(f"MODEL.WEIGHTS = {path} is a folder" + (
                ", an exported model: run it with --backend onnxruntime or --backend torchscript (as it was exported)."
                if exported else ": name a checkpoint file (.pth, .pkl, .pyth) or a torchvision:// name."))
        if not is_torchvision_name(path):
            return super().load(path, *args, **kwargs)
        # Not a PathHandler on detectron2's PathManager: a handler only names a local file, while this file needs
        # converting as the name says (architecture, ?backbone), and DetectionCheckpointer.load drops a path's
        # query before asking the handler, except under DDP.
        self._torchvision_name = TorchvisionWeightsName.parse(path)
        logger.info(f"{path}: torchvision's {self._torchvision_name.weights!r} ({self._torchvision_name.arch}"
                    f"{', backbone only' if self._torchvision_name.backbone_only else ''})")
        try:
            return super().load(self._torchvision_name.local_file(), *args, **kwargs)
        finally:
            self._torchvision_name = None

    def _load_file(self, filename):
        if filename.endswith(".pkl"):
            # detectron2 unpickles .pkl weights with pickle.load, which runs whatever the file names; the file is
            # first read with an unpickler that builds only data, so a malicious pickle stops here.
            try:
                with PathManager.open(filename, "rb") as f:
                    check_pickle_holds_only_data(f)
            except pickle.UnpicklingError as e:
                raise ValueError(f"{filename}: refused, {e}. d2ext loads .pkl weights only if they hold nothing but "
                                 "numpy arrays, numbers, strings, lists and dicts.") from e
        try:
            if self._torchvision_name is not None:
                return self._torchvision_name.convert(self._torch_load(filename), source=filename)
            # Other files go through torch.load: _torch_load below, and for .pyth detectron2's own torch.load, whose
            # default is weights_only=True from torch 2.6 on (pyproject.toml's floor).
            return super()._load_file(filename)
        except pickle.UnpicklingError as e:
            raise ValueError(f"{filename}: refused, torch.load(weights_only=True) cannot read it: it holds objects other "
                             f"than tensors and plain data, which could run code ({str(e).splitlines()[0]}). Save "
                             "state dicts (torch.save(model.state_dict(), ...)) or convert the file where you trust it.") from e

    def _torch_load(self, filename):
        """A .pth/.pt checkpoint with torch.load(weights_only=True), whatever torch's default: tensors and plain data only."""
        return torch.load(filename, map_location="cpu", weights_only=True)

    def _load_model(self, checkpoint):
        arch = checkpoint.get("backbone_arch")
        if arch is not None:
            prefix = self._backbone_prefix(arch)
            checkpoint["model"] = {prefix + key: value for key, value in checkpoint["model"].items()}
        incompatible = super()._load_model(checkpoint)
        reinitialised = sorted({key.rsplit(".", 1)[0] for key, _, _ in incompatible.incorrect_shapes})
        if reinitialised:
            logger.warning(f"Re-initialised {reinitialised}: their shapes in the checkpoint differ from the model's "
                           "(e.g. another number of classes), so they keep their random initialisation and train from it.")
        return incompatible

    def _backbone_prefix(self, arch):
        """'<module path>.' of the model's only torchvision backbone of `arch`."""
        model = self.model.module if hasattr(self.model, "module") else self.model
        paths = [name for name, m in model.named_modules() if getattr(m, "torchvision_arch", None) == arch]
        if len(paths) != 1:
            raise ValueError(f"a backbone-only {arch} checkpoint needs a model with exactly one torchvision {arch} "
                             f"backbone, this {type(model).__name__} has {len(paths)}. Set MODEL.BACKBONE.NAME to a "
                             f"torchvision backbone (e.g. build_torchvision_resnet_fpn_backbone) and MODEL.TORCHVISION.ARCH {arch}.")
        return paths[0] + "." if paths[0] else ""
