#!/usr/bin/env python
"""
One table of every d2ext model beside its reference implementation, measured side by side in one run on
this machine's CPU, written to the top of benchmarks/RESULTS.md (and printed).

For each model, training and inference images/s of: the reference in fp32; d2ext in fp32; d2ext with
channels_last weights (MODEL.CHANNELS_LAST); d2ext with channels_last and bf16 autocast (what
SOLVER.AMP / TEST.AMP run on a CPU with bf16 arithmetic; on a CPU without it, where torch emulates bf16
hundreds of times slower than fp32, this variant is left out unless --force-bf16). Each variant's ratio
is against the reference in fp32. Rounds alternate the variants, so a slow phase of the machine hits all
of them; the median is reported. Also per variant: the peak resident memory of two steps above that
before them, with the models built (activations, gradients, optimizer state, workspaces: what a step
needs beyond the weights), each variant measured in a process of its own so that no memory kept by
another variant's allocations hides its peak; and the achieved GFLOP/s (FLOPs of one step counted by
torch's FlopCounterMode: matmuls and convolutions, forward and backward) as a share of the matmul peak
measured at the start of the run (2048 x 2048, fp32 or bf16 as the variant computes).

U-Net and CycleGAN have no reference implementation in a package of PyPI and are not in the table.

    python benchmarks/run.py [--iters 3] [--rounds 2] [--models classifier detector ...] [--force-bf16] [--output FILE]
"""
import argparse
import contextlib
import copy
import os
import platform
import statistics
import subprocess
import sys
import time

import torch
from detectron2.utils.events import EventStorage, get_event_storage
from tabulate import tabulate
from torch.utils.flop_counter import FlopCounterMode

from classifier_speed import classifier_pair
from d2ext.utils.private_apis import cpu_computes_bf16
from d2ext.utils.file_io import atomic_write_bytes
from dcgan_speed import d2ext_trainer, dcgan_setup, nz
from detector_speed import detector_pair
from segmenter_speed import segmenter_pair
from speed import images_per_second, inference_step, sgd_step, trainer_iteration
from ssd_speed import ssd_pair

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
# RESULTS.md's line after this script's table; the other scripts' sections below it are kept.
TABLE_END = "<!-- End of the table written by benchmarks/run.py."
MIXED = "d2ext bf16 + channels_last"


def autocast_bf16(fn):
    """`fn` run under CPU bf16 autocast."""
    def run(*args):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return fn(*args)
    return run


def matmul_peak_gflops(dtype, size=2048, repeats=5):
    """The best GFLOP/s of `repeats` size x size matrix products in `dtype` on the CPU."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def _status_kb(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


@contextlib.contextmanager
def peak_memory():
    """Yields a dict whose "mb" is, after the block, the peak resident memory in MB above that at its start."""
    with open("/proc/self/clear_refs", "w") as f:  # "5" resets the VmHWM peak (Linux)
        f.write("5")
    start, result = _status_kb("VmRSS"), {}
    yield result
    result["mb"] = (_status_kb("VmHWM") - start) / 1024


def step_peak_mb(key, phase, variant):
    """Peak MB above the start of two `variant` steps of ROWS[key] in `phase`, measured in a new process."""
    command = [sys.executable, os.path.abspath(__file__), "--step-memory", key, phase, variant]
    return float(subprocess.run(command, check=True, capture_output=True, text=True).stdout.split()[-1])


def print_step_memory(key, phase, variant):
    """The --step-memory mode: prints step_peak_mb's figure, measured in this process."""
    row, training = ROWS[key](), phase == "train"
    row.set_training(training)
    step = row.steps(training)[variant]
    with EventStorage(0), peak_memory() as peak:
        step()
        step()
    print(f"{peak['mb']:.1f}")


def flops_of(step):
    """FLOPs (matmuls, convolutions, forward and backward) that one call of `step` counts."""
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


class PairRow:
    """A speed.Pair in the four variants; the channels_last variants run on a copy of the d2ext model."""

    def __init__(self, pair):
        self.pair, self.name, self.reference, self.num_images = pair, pair.name, pair.reference, pair.num_images
        pair.ours.to(memory_format=torch.contiguous_format)  # "d2ext fp32", whatever MODEL.CHANNELS_LAST the config sets
        self.ours_cl = copy.deepcopy(pair.ours).to(memory_format=torch.channels_last)

    def set_training(self, training):
        for model in (self.pair.ours, self.ours_cl, self.pair.theirs):
            model.train(training)

    def steps(self, training):
        """{variant: step function} for training (an SGD step) or inference."""
        pair, cl = self.pair, self.ours_cl
        if training:
            return {"reference fp32": sgd_step(pair.theirs, pair.theirs_loss),
                    "d2ext fp32": sgd_step(pair.ours, lambda: pair.ours_loss(pair.ours)),
                    "d2ext channels_last": sgd_step(cl, lambda: pair.ours_loss(cl)),
                    MIXED: sgd_step(cl, autocast_bf16(lambda: pair.ours_loss(cl)))}
        return {"reference fp32": inference_step(pair.theirs_infer),
                "d2ext fp32": inference_step(lambda: pair.ours_infer(pair.ours)),
                "d2ext channels_last": inference_step(lambda: pair.ours_infer(cl)),
                MIXED: inference_step(autocast_bf16(lambda: pair.ours_infer(cl)))}


class DCGANRow:
    """d2ext's DCGAN (GANTrainer's MultiOptimizerTrainer iterations) beside PyTorch's DCGAN example, 64 px, batch 64."""

    def __init__(self, batch_size=64):
        self.cfg, self.model, self.example, self.batch, self.uint8_images = dcgan_setup(batch_size, "cpu")
        self.model.to(memory_format=torch.contiguous_format)  # "d2ext fp32", whatever the config sets
        self.model_cl = copy.deepcopy(self.model).to(memory_format=torch.channels_last)
        self.name, self.reference, self.num_images = "DCGAN 64 px", "PyTorch examples DCGAN", batch_size

    def set_training(self, training):
        for model in (self.model, self.model_cl, self.example.netG, self.example.netD):
            model.train(training)

    def steps(self, training):
        if training:
            trainers = {"d2ext fp32": d2ext_trainer(self.cfg, self.model, self.batch),
                        "d2ext channels_last": d2ext_trainer(self.cfg, self.model_cl, self.batch),
                        MIXED: d2ext_trainer(self.cfg, self.model_cl, self.batch, torch.bfloat16)}
            return {"reference fp32": lambda: self.example.step(self.uint8_images),
                    **{variant: (lambda t=t: trainer_iteration(t, get_event_storage())) for variant, t in trainers.items()}}
        seeds = [{"seed": i} for i in range(self.num_images)]
        noise = torch.randn(self.num_images, nz, 1, 1)
        return {"reference fp32": inference_step(lambda: self.example.netG(noise)),
                "d2ext fp32": inference_step(lambda: self.model(seeds)),
                "d2ext channels_last": inference_step(lambda: self.model_cl(seeds)),
                MIXED: inference_step(autocast_bf16(lambda: self.model_cl(seeds)))}


ROWS = {
    "classifier": lambda: PairRow(classifier_pair(32, 224)),
    "detector": lambda: PairRow(detector_pair(8, reference="detectron2")),
    "ssd": lambda: PairRow(ssd_pair("ssd300_vgg16", 4)[0]),
    "fcn": lambda: PairRow(segmenter_pair("fcn_resnet50", 4, 128)),
    "deeplabv3": lambda: PairRow(segmenter_pair("deeplabv3_resnet50", 4, 128)),
    "dcgan": DCGANRow,
}


def measure(key, row, phase, iters, rounds, peaks):
    """
    [(variant, images/s, ratio, peak MB, GFLOP/s, % of peak)] of `row` (ROWS[key]) in `phase` ("train" or
    "inference"), for the variants that `peaks` (dtype name -> matmul GFLOP/s) has a peak for.
    """
    training = phase == "train"
    row.set_training(training)
    steps = {variant: step for variant, step in row.steps(training).items() if variant != MIXED or "bf16" in peaks}
    for step in steps.values():
        step()  # warm-up, before counting FLOPs: lazily built state (optimizer, caches) is not counted
    flops = {variant: flops_of(step) for variant, step in steps.items()}
    speeds = {v: [] for v in steps}
    for _ in range(rounds):
        for variant, step in steps.items():
            speeds[variant].append(images_per_second(step, row.num_images, iters, warmup=1))
    reference = statistics.median(speeds["reference fp32"])
    rows = []
    for variant in steps:
        speed = statistics.median(speeds[variant])
        gflops = flops[variant] * speed / row.num_images / 1e9
        peak_gflops = peaks["bf16" if variant == MIXED else "fp32"]
        rows.append((variant, speed, speed / reference, step_peak_mb(key, phase, variant), gflops,
                     100 * gflops / peak_gflops))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iters", type=int, default=3, help="timed steps per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (the median is reported)")
    parser.add_argument("--models", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--force-bf16", action="store_true", help="measure bf16 on a CPU without bf16 arithmetic too")
    parser.add_argument("--output", default=RESULTS)
    parser.add_argument("--step-memory", nargs=3, metavar=("MODEL", "PHASE", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step_memory:
        return print_step_memory(*args.step_memory)
    peaks = {"fp32": matmul_peak_gflops(torch.float32)}
    # Emulated bf16 (no AVX512-BF16 or AMX) multiplies at well under 1 GFLOP/s: a small product tells.
    bf16_peak = matmul_peak_gflops(torch.bfloat16, size=2048 if cpu_computes_bf16() else 256)
    if cpu_computes_bf16() or args.force_bf16:
        peaks["bf16"] = bf16_peak
    table = []
    with EventStorage(0):
        for key in args.models:
            row = ROWS[key]()
            for phase in ("train", "inference"):
                for variant, speed, ratio, memory, gflops, share in measure(key, row, phase, args.iters, args.rounds, peaks):
                    table.append((row.name, row.reference if variant == "reference fp32" else "",
                                  phase, variant, f"{speed:.2f}", f"{ratio:.2f}",
                                  f"{memory:.0f}", f"{gflops:.1f}", f"{share:.1f}"))
            print(f"measured {row.name}", flush=True)
    bf16 = ("has bf16 arithmetic" if cpu_computes_bf16() else "has no bf16 arithmetic (AVX512-BF16, AMX): bf16 is "
            f"emulated, so the bf16 variant is {'measured as forced' if 'bf16' in peaks else 'left out'}")
    header = (f"# d2ext beside the reference implementations\n\n"
              f"`python benchmarks/run.py --iters {args.iters} --rounds {args.rounds}`, "
              f"{time.strftime('%Y-%m-%d')}: CPU {platform.processor() or platform.machine()} "
              f"({torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads; this CPU {bf16}), "
              f"torch {torch.__version__}. Matmul peak: fp32 {peaks['fp32']:.1f} GFLOP/s "
              f"(2048 x 2048), bf16 {bf16_peak:.2f} GFLOP/s. Ratio: images/s over the reference's fp32 images/s in the same "
              "phase. Peak MB: resident memory of two steps above that before them, models built, in a process "
              "per variant. GFLOP/s: FLOPs of one step (FlopCounterMode) times steps/s; % peak: of the matmul "
              "peak of the variant's dtype.\n\n")
    text = header + tabulate(table, headers=("model", "reference", "phase", "variant", "img/s", "ratio", "peak MB",
                                             "GFLOP/s", "% peak"), tablefmt="github") + "\n"
    print(text)
    write_table(args.output, text)


def write_table(path, table):
    """Replace the text of the file `path` above its TABLE_END line (all of it if it has none) by `table`."""
    kept = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
        if TABLE_END in old:
            kept = "\n" + old[old.index(TABLE_END):]
    atomic_write_bytes(path, (table + kept).encode())


if __name__ == "__main__":
    sys.exit(main())
