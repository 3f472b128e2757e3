#!/usr/bin/env python
"""
Seconds per checkpoint of d2ext's Checkpointer (temporary file, fsync, rename) beside detectron2's
DetectionCheckpointer (written in place), saving the same model and optimizer state into the same
folder, alternating, median of --rounds; default model torchvision's ResNet-50 with SGD momentum state.

    python benchmarks/checkpoint_write.py [--rounds 5] [--arch resnet50]
"""
import argparse
import statistics
import tempfile
import time

import torch
import torchvision
from detectron2.checkpoint import DetectionCheckpointer

from d2ext.checkpoint import SafeCheckpointer


def seconds_per_save(checkpointer):
    start = time.perf_counter()
    checkpointer.save("model_0000000")
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--arch", default="resnet50")
    args = parser.parse_args(argv)
    model = getattr(torchvision.models, args.arch)()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(2, 3, 64, 64)).sum().backward()
    optimizer.step()  # momentum buffers: the optimizer state is as large as the model
    with tempfile.TemporaryDirectory() as ours_dir, tempfile.TemporaryDirectory() as theirs_dir:
        ours = SafeCheckpointer(model, ours_dir, optimizer=optimizer)
        theirs = DetectionCheckpointer(model, theirs_dir, optimizer=optimizer)
        pairs = [(seconds_per_save(ours), seconds_per_save(theirs)) for _ in range(args.rounds)]
    ours_s, theirs_s = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    size_mb = sum(t.numel() * t.element_size() for t in model.state_dict().values()) * 2 / 2**20
    print(f"{args.arch} + SGD momentum (about {size_mb:.0f} MB), median of {args.rounds} alternating saves: "
          f"d2ext atomic {ours_s:.3f} s, detectron2 in place {theirs_s:.3f} s, ratio {ours_s / theirs_s:.2f}")


if __name__ == "__main__":
    main()
