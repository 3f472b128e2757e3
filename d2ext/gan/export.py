"""How the GANs are exported: their generators are the graphs; noise, pixel scaling and grouping stay in generate() / translate()."""
from ..export import ExportAdapter, Graph, ModelMethod, register_export_adapter
from .modeling.cyclegan import translate
from .modeling.dcgan import generate


@register_export_adapter("DCGAN")
class DCGANExport(ExportAdapter):
    """Graph "generator": "latents" (N, MODEL.DCGAN.LATENT_DIM, 1, 1) noise -> "images" (N, C, S, S) in [-1, 1]."""

    def graphs(self, model):
        return {"generator": Graph(ModelMethod(model, "generator"), ("latents",), ("images",), {"latents": {0: "batch"}})}

    def __call__(self, run, batched_inputs):
        return generate(batched_inputs, lambda latents: run("generator", latents)[0], self.cfg.MODEL.DCGAN.LATENT_DIM, "cpu")


@register_export_adapter("CycleGAN")
class CycleGANExport(ExportAdapter):
    """
    Graphs "generator_ab" (A -> B) and "generator_ba" (B -> A): "images" (N, C, H, W) in [-1, 1], H and W
    multiples of 4 -> "translated", the same shape.
    """

    def graphs(self, model):
        axes = {"images": {0: "batch", 2: "height", 3: "width"}}
        return {name: Graph(ModelMethod(model, name), ("images",), ("translated",), axes)
                for name in ("generator_ab", "generator_ba")}

    def __call__(self, run, batched_inputs):
        generators = {"AB": lambda images: run("generator_ab", images)[0], "BA": lambda images: run("generator_ba", images)[0]}
        return translate(batched_inputs, generators, "cpu")
