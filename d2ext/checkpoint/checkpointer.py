"""detectron2's DetectionCheckpointer with d2ext's backbone-only checkpoints and a clear word on re-initialised heads."""
import logging

from detectron2.checkpoint import DetectionCheckpointer

from ..modeling.backbone import SequentialFeaturesBackbone, TorchvisionResNet

__all__ = ["Checkpointer"]

logger = logging.getLogger(__name__)


class Checkpointer(DetectionCheckpointer):
    """
    DetectionCheckpointer that also

    * loads a backbone-only checkpoint (``"backbone_arch"`` set, from ``tools/convert_torchvision.py
      --backbone-only``) into the model's torchvision backbone of that architecture, wherever it sits;
    * says which layers keep their fresh initialisation because the checkpoint's shapes differ, as
      when fine-tuning to another number of classes re-initialises the classifier.
    """

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
        paths = [name for name, m in model.named_modules()
                 if isinstance(m, (TorchvisionResNet, SequentialFeaturesBackbone)) and m.arch == arch]
        if len(paths) != 1:
            raise ValueError(f"a backbone-only {arch} checkpoint needs a model with exactly one torchvision {arch} "
                             f"backbone, this {type(model).__name__} has {len(paths)}. Set MODEL.BACKBONE.NAME to a "
                             f"torchvision backbone (e.g. build_torchvision_resnet_fpn_backbone) and MODEL.TORCHVISION.ARCH {arch}.")
        return paths[0] + "." if paths[0] else ""
