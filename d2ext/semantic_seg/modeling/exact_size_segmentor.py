"""ExactSizeSemanticSegmentor: detectron2's SemanticSegmentor whose predictions do not depend on the batch."""
from collections import defaultdict

from detectron2.modeling import META_ARCH_REGISTRY, SemanticSegmentor
from detectron2.modeling.postprocessing import sem_seg_postprocess
from detectron2.structures import ImageList
from torch.nn import functional as F

__all__ = ["ExactSizeSemanticSegmentor"]


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
        groups = defaultdict(list)
        for index, x in enumerate(batched_inputs):
            groups[tuple(x["image"].shape[-2:])].append(index)
        results = [None] * len(batched_inputs)
        for indices in groups.values():
            for index, result in zip(indices, self.inference([batched_inputs[i] for i in indices])):
                results[index] = result
        return results

    def inference(self, batched_inputs):
        """Images of one size -> [{"sem_seg": (K, height, width) logits}], as detectron2's forward returns them."""
        images = ImageList.from_tensors([(x["image"].to(self.device) - self.pixel_mean) / self.pixel_std
                                         for x in batched_inputs], self.backbone.size_divisibility,
                                        padding_constraints=self.backbone.padding_constraints)
        logits, _ = self.sem_seg_head(self.backbone(images.tensor))
        logits = F.interpolate(logits, size=images.tensor.shape[-2:], mode="bilinear", align_corners=False)
        return [{"sem_seg": sem_seg_postprocess(result, image_size, x.get("height", image_size[0]),
                                                x.get("width", image_size[1]))}
                for result, x, image_size in zip(logits, batched_inputs, images.image_sizes)]
