#!/usr/bin/env python
"""
Where does a training iteration of a config spend its CPU time? Runs the config's own trainer (data loading
from its training loader included, as DATALOADER.NUM_WORKERS 0 runs it) and prints two views of the
same iterations:

- operators (torch.profiler): the ops with the most self CPU time, as a share of the total;
- Python (cProfile): the time spent in the Python code of d2ext, detectron2, torch/torchvision and other
  packages, with d2ext's own functions listed, so hot spots in d2ext's code stand apart from torch's ops.

    python benchmarks/profile_step.py --config-file configs/shapes/detection/ssd_R_18.yaml [--iters 5] [KEY VALUE ...]
"""
import argparse
import collections
import cProfile
import pstats
import sys

from detectron2.utils.events import EventStorage
from torch.profiler import ProfilerActivity, profile

from d2ext.config import load_config

from d2ext.engine import trainer_class
from speed import config_training_loop, trainer_iteration

PACKAGES = ("d2ext", "detectron2", "torchvision", "torch", "fvcore", "numpy", "cv2", "PIL")


def package_of(filename):
    """The package of PACKAGES whose directory holds `filename`, "built-in" for C functions, else "other"."""
    if filename == "~":
        return "built-in (C/C++: torch ops, numpy, ...)"
    parts = filename.replace("\\", "/").split("/")
    return next((package for package in PACKAGES if package in parts), "other")


def python_time_by_package(stats):
    """({package: own seconds}, [(own seconds, 'file:line(function)')] of d2ext's functions) of cProfile `stats`."""
    by_package, ours = collections.Counter(), []
    for (filename, line, function), (_, _, own, _, _) in stats.stats.items():
        package = package_of(filename)
        by_package[package] += own
        if package == "d2ext":
            ours.append((own, f"{filename.split('d2ext/', 1)[-1]}:{line}({function})"))
    return by_package, sorted(ours, reverse=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--iters", type=int, default=5, help="profiled iterations, after 2 warm-up iterations")
    parser.add_argument("--top", type=int, default=15, help="operators and d2ext functions listed")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = parser.parse_args(argv)
    cfg = load_config(args.config_file, ["MODEL.DEVICE", "cpu", "DATALOADER.NUM_WORKERS", 0] + args.opts)
    trainer_cls = trainer_class(cfg)
    trainer = config_training_loop(trainer_cls, cfg, trainer_cls.build_train_loader(cfg))
    with EventStorage(0) as storage:
        for _ in range(2):
            trainer_iteration(trainer, storage)
        with profile(activities=[ProfilerActivity.CPU]) as operators:
            for _ in range(args.iters):
                trainer_iteration(trainer, storage)
        python = cProfile.Profile()
        python.runcall(lambda: [trainer_iteration(trainer, storage) for _ in range(args.iters)])
    print(f"# {args.config_file}: {args.iters} iterations of batch {cfg.SOLVER.IMS_PER_BATCH}\n")
    print(operators.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.top))
    stats = pstats.Stats(python)
    by_package, ours = python_time_by_package(stats)
    total = sum(by_package.values())
    print("Own time by package (cProfile, which slows Python code more than ops):")
    for package, seconds in by_package.most_common():
        print(f"  {package:42s} {seconds:8.3f} s  {100 * seconds / total:5.1f}%")
    print(f"\nd2ext's slowest functions (own time over {args.iters} iterations):")
    for seconds, where in ours[:args.top]:
        print(f"  {seconds:8.4f} s  {100 * seconds / total:5.2f}%  {where}")


if __name__ == "__main__":
    sys.exit(main())
