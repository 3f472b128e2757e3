"""ExactSizeSemanticSegmentor: detectron2's SemanticSegmentor whose predictions do not depend on the batch."""
import torch
from detectron2.modeling import META_ARCH_REGISTRY, SemanticSegmentor
from detectron2.modeling.postprocessing import sem_seg_postprocess
from torch.nn import functional as F

from ...modeling import map_by_group

__all__ = ["ExactSizeSemanticSegmentor", "segment"]


@META_ARCH_REGISTRY.register()
class ExactSizeSemanticSegmentor(SemanticSegmentor):
    """
    detectron2's ``SemanticSegmentor`` (same arguments, inputs and outputs; training unchanged: the batch
    is padded to its largest image and the targets with the head's ``ignore_value``, so padded pixels
    are not scored) whose inference gives every image the result it has alone, at its own size:

    - images of the same size run together, each group padded only to the backbone's
      ``size_divisibility`` (none for a torchvision ResNet), never to another image's size;
    - the head's logits, at whatever stride it returns them, are upsampled (bilinear,
      align_corners=False) to the exact size of that input, as torchvision's segmentation models do,
      then cropped to the image and resized to its "height" x "width" (detectron2's ``sem_seg_postprocess``).

    With torchvision's FCN / DeepLabV3 weights, this gives torchvision's logits at any image size.
    """

    def forward(self, batched_inputs):
        if self.training:
            return super().forward(batched_inputs)
        return segment(batched_inputs, self.logits, self.device)

    def logits(self, images):
        """
        (N, C, H, W) pixels in INPUT.FORMAT -> (N, K, H, W) logits: normalised, padded with 0 on the bottom and
        right to the backbone's size_divisibility (none for a torchvision ResNet), and the head's logits, at
        whatever stride it returns them, upsampled (bilinear, align_corners=False) and cropped to (H, W).
        """
        images = (images - self.pixel_mean) / self.pixel_std
        height, width = images.shape[-2:]
        divisor = (self.backbone.padding_constraints or {}).get("size_divisibility", self.backbone.size_divisibility)
        if divisor > 1:
            images = F.pad(images, (0, (-width) % divisor, 0, (-height) % divisor))
        logits, _ = self.sem_seg_head(self.backbone(images))
        logits = F.interpolate(logits, size=images.shape[-2:], mode="bilinear", align_corners=False)
        return logits[..., :height, :width]


def segment(batched_inputs, logits_of, device):
    """
    ExactSizeSemanticSegmentor's inference, whatever computes the logits: `logits_of` maps (N, C, H, W) float32
    pixels to (N, K, H, W) logits. Images of one size go in one call, stacked on `device`; each result is
    resized to its input's "height" x "width" (detectron2's sem_seg_postprocess). Returns [{"sem_seg": (K, height, width)}].
    """
    def segment_group(size, inputs):
        logits = logits_of(torch.stack([x["image"] for x in inputs]).to(device).float())
        return [{"sem_seg": sem_seg_postprocess(result, size, x.get("height", size[0]), x.get("width", size[1]))}
                for result, x in zip(logits, inputs)]
    return map_by_group(batched_inputs, segment_group)
