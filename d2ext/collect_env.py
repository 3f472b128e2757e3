"""Print the environment d2ext runs in: ``python -m d2ext.collect_env``."""
import importlib
import importlib.metadata
import os
import platform
import sys

import torch
from tabulate import tabulate

__all__ = ["collect_env_info"]


def _version(module_name, distribution):
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        return f"not importable ({e})"
    return f"{importlib.metadata.version(distribution)} @ {os.path.dirname(module.__file__)}"


def _detectron2_distribution():
    """The installed distribution that provides detectron2: a source build or the PyPI re-upload."""
    names = importlib.metadata.packages_distributions().get("detectron2", ["detectron2"])
    return names[0]


def _detectron2_c_ops():
    try:
        from detectron2 import _C  # noqa: F401
    except ImportError:
        return "absent (pure-Python install: rotated boxes, deformable conv and fast COCOeval unavailable)"
    return "present"


def collect_env_info():
    """The facts as a table (str): versions, detectron2's _C, CUDA and device."""
    import d2ext
    from d2ext.config import get_cfg, usable_cpu_cores

    rows = [
        ("Python", sys.version.replace("\n", " ")),
        ("platform", platform.platform()),
        ("d2ext", f"{d2ext.__version__} @ {os.path.dirname(d2ext.__file__)}"),
        ("torch", f"{torch.__version__} @ {os.path.dirname(torch.__file__)}"),
        ("torchvision", _version("torchvision", "torchvision")),
        ("detectron2", _version("detectron2", _detectron2_distribution())),
        ("detectron2._C", _detectron2_c_ops()),
        ("numpy", _version("numpy", "numpy")),
        ("cv2", _version("cv2", "opencv-python-headless")),
        ("pycocotools", _version("pycocotools", "pycocotools")),
        ("torch built with CUDA", torch.version.cuda or "no"),
        ("CUDA available", torch.cuda.is_available()),
    ]
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        rows.append((f"GPU {i}", f"{props.name}, {props.total_memory / 2**30:.1f} GiB, capability {props.major}.{props.minor}"))
    if torch.cuda.is_available():
        rows.append(("cuDNN", torch.backends.cudnn.version()))
    rows += [
        ("CPU cores (usable)", usable_cpu_cores()),
        ("torch CPU threads", torch.get_num_threads()),
        ("torch CPU capability", torch.backends.cpu.get_cpu_capability()),
        ("default device (MODEL.DEVICE auto)", get_cfg().MODEL.DEVICE),
    ]
    return tabulate(rows, headers=("", "value"), tablefmt="github")


if __name__ == "__main__":
    print(collect_env_info())
