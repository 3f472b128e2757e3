#!/usr/bin/env python
"""
Kill-and-resume stress run: tools/train_net.py trains the digits classifier with frequent checkpoints and
evaluations, is killed with SIGKILL at random moments (during steps, checkpoint writes or evaluations),
and is started again with --resume each time; finally it runs to MAX_ITER. After every kill, every
checkpoint in OUTPUT_DIR must load and last_checkpoint must name one. Prints the counts; exits 1 on any
corrupt checkpoint or failed resume.

    python tests/stress/kill_resume.py --kills 20 [--seed 0] [--output-dir DIR]
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile

import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(REPO, "configs/digits/classification/resnet18.yaml")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-iter", type=int, default=60)
    parser.add_argument("--wait", type=float, nargs=2, default=(4.0, 14.0), metavar=("MIN", "MAX"),
                        help="seconds from start to kill, drawn uniformly (the start-up takes a few seconds)")
    parser.add_argument("--output-dir", default=None, help="default: a new temporary folder")
    return parser.parse_args(argv)


def checkpoint_state(output_dir):
    """(number of .pth files that do not load, iteration of the checkpoint last_checkpoint names or None)."""
    corrupt = 0
    for name in os.listdir(output_dir):
        if name.endswith(".pth"):
            try:
                torch.load(os.path.join(output_dir, name), weights_only=True)
            except Exception:  # noqa: BLE001  any failure to load counts as corrupt
                corrupt += 1
    tag = os.path.join(output_dir, "last_checkpoint")
    if not os.path.exists(tag):
        return corrupt, None
    with open(tag) as f:
        return corrupt, torch.load(os.path.join(output_dir, f.read().strip()), weights_only=True)["iteration"]


def main(argv=None):
    args = parse_args(argv)
    rng = random.Random(args.seed)
    output_dir = args.output_dir or tempfile.mkdtemp(prefix="d2ext-kill-resume-")
    command = [sys.executable, os.path.join(REPO, "tools/train_net.py"), "--config-file", CONFIG, "--resume",
               "SOLVER.IMS_PER_BATCH", "16", "SOLVER.MAX_ITER", str(args.max_iter), "SOLVER.CHECKPOINT_PERIOD", "3",
               "TEST.EVAL_PERIOD", "10", "DATALOADER.NUM_WORKERS", "0", "MODEL.DEVICE", "cpu", "OUTPUT_DIR", output_dir]
    kills, corrupt_total, resume_failures, iterations = 0, 0, 0, []
    while kills < args.kills:
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _, stderr = process.communicate(timeout=rng.uniform(*args.wait))
            if process.returncode != 0:
                resume_failures += 1
                print(stderr.decode()[-3000:], file=sys.stderr)
            break  # finished before its kill: the run is complete
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            kills += 1
        corrupt, iteration = checkpoint_state(output_dir)
        corrupt_total += corrupt
        iterations.append(iteration)
    final = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if final.returncode != 0:
        resume_failures += 1
        print(final.stderr[-3000:], file=sys.stderr)
    corrupt, iteration = checkpoint_state(output_dir)
    corrupt_total += corrupt
    final_ok = os.path.exists(os.path.join(output_dir, "model_final.pth")) and iteration == args.max_iter - 1
    print(f"kills: {kills}, checkpoints that did not load: {corrupt_total}, failed resumes: {resume_failures}, "
          f"final model at iteration {iteration} (MAX_ITER {args.max_iter}): {'ok' if final_ok else 'MISSING'}")
    print(f"last checkpoint's iteration after each kill: {iterations}")
    return 0 if corrupt_total == 0 and resume_failures == 0 and final_ok else 1


if __name__ == "__main__":
    sys.exit(main())
