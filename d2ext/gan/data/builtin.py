"""
The bundled GAN datasets, registered on import under datasets_root().

``digits_gan_<split>``: the records of ``digits_<split>`` (labels kept, for the classifier-based GAN metrics)
with ``evaluator_type`` "gan" (d2ext.data.digits).

``shapes_filled2outlined_<split>``: unpaired image translation (CycleGAN) between `shapes` scenes whose
shapes are filled (domain A) and outlined (domain B). The two domains are drawn with different seeds,
so no image of A has its layout in B. Each domain is an ordinary shapes split (64x64 scenes of 1 or 2
shapes), generated on first use into ``$D2EXT_DATASETS/shapes/gan_<style>_<split>``; the records are
those of load_unpaired over the splits' ``images/`` folders.

``shapes_filled_vs_outlined_<split>`` is the same images as a classification dataset whose classes are the
domains ("filled", "outlined"): the data of the classifier in whose features the CycleGAN is evaluated.
"""
import os

from detectron2.data import DatasetCatalog, MetadataCatalog

from ...data import datasets_root
from ...data.digits import register_digits_splits
from ...data.shapes import ShapesSplitSpec, ensure_split
from .image_files import load_unpaired, unpaired_metadata

__all__ = ["SHAPES_GAN_SPLITS", "shapes_gan_spec", "load_shapes_unpaired", "register_shapes_gan"]

DOMAIN_STYLES = {"A": "filled", "B": "outlined"}


def shapes_gan_spec(style, num_images, seed):
    """The spec of one domain's split: `num_images` 64x64 scenes of 1 or 2 shapes (radius 8..18) in `style`."""
    return ShapesSplitSpec(num_images=num_images, seed=seed, image_size=64, max_objects=2, min_radius=8,
                           max_radius=18, style=style)


# split -> {domain: spec}: domain A filled, B outlined, with their own seeds (unpaired layouts)
SHAPES_GAN_SPLITS = {
    "train": {"A": shapes_gan_spec(DOMAIN_STYLES["A"], 1000, seed=20), "B": shapes_gan_spec(DOMAIN_STYLES["B"], 1000, seed=21)},
    "test": {"A": shapes_gan_spec(DOMAIN_STYLES["A"], 100, seed=22), "B": shapes_gan_spec(DOMAIN_STYLES["B"], 100, seed=23)},
}


def load_shapes_unpaired(split_dir_a, spec_a, split_dir_b, spec_b):
    """Generate the two shapes splits unless complete, then load_unpaired over their ``images/`` folders."""
    ensure_split(split_dir_a, spec_a)
    ensure_split(split_dir_b, spec_b)
    return load_unpaired(os.path.join(split_dir_a, "images"), os.path.join(split_dir_b, "images"))


def _load_domain_labels(load):
    """The records of `load()` with "label": the index of their domain's style in the classes (A: 0, B: 1)."""
    return [{**record, "label": list(DOMAIN_STYLES).index(record["domain"])} for record in load()]


def register_shapes_gan(root):
    """
    Register ``shapes_filled2outlined_<split>`` for every split in SHAPES_GAN_SPLITS, generated under
    `root`/shapes (the metadata's ``domain_names`` are the domains' styles), and its classification view
    ``shapes_filled_vs_outlined_<split>``.
    """
    for split, specs in SHAPES_GAN_SPLITS.items():
        dirs = {domain: os.path.join(root, "shapes", f"gan_{spec.style}_{split}") for domain, spec in specs.items()}
        load = lambda d=dirs, s=specs: load_shapes_unpaired(d["A"], s["A"], d["B"], s["B"])  # noqa: E731
        DatasetCatalog.register(f"shapes_filled2outlined_{split}", load)
        MetadataCatalog.get(f"shapes_filled2outlined_{split}").set(
            **unpaired_metadata(os.path.join(dirs["A"], "images"), os.path.join(dirs["B"], "images")),
            domain_names=dict(DOMAIN_STYLES),
        )
        DatasetCatalog.register(f"shapes_filled_vs_outlined_{split}", lambda load=load: _load_domain_labels(load))
        MetadataCatalog.get(f"shapes_filled_vs_outlined_{split}").set(thing_classes=list(DOMAIN_STYLES.values()),
                                                                       evaluator_type="classification")


register_shapes_gan(datasets_root())
register_digits_splits(datasets_root(), "digits_gan_{}", "gan")
