#!/usr/bin/env python
"""
Kill-and-resume stress run: tools/train_net.py trains the digits classifier with frequent checkpoints and
evaluations, is killed with SIGKILL, and is started again with --resume each time; finally it runs to
MAX_ITER. The kills take turns at three kinds of moment, each triggered by the event it waits for, so that
they land on a machine of any speed: the training steps after a new checkpoint has appeared, a checkpoint
being written (its temporary file exists) and an evaluation (after "Start inference" is logged). After every
kill, every checkpoint must load, last_checkpoint must name one, and metrics.json, evaluation_results.json
and the inference files must parse; at the end metrics.json must hold each logged iteration once (a resumed
run rewrites the killed run's lines after its checkpoint) and no temporary file may be left. Prints the
counts; exits 1 on any failure. --cheap makes each step several times cheaper (a batch of 2), as on a faster
machine.

    python tests/stress/kill_resume.py --kills 21 [--seed 0] [--cheap] [--output-dir DIR]
"""
import argparse
import glob
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter

import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(REPO, "configs/digits/classification/resnet18.yaml")
MOMENTS = ("step", "checkpoint write", "evaluation")
_POLL_SECONDS = 0.002
_MOMENT_TIMEOUT = 300  # seconds to wait for the event before killing anyway (a run stuck in start-up)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=21)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-iter", type=int, default=90)
    parser.add_argument("--cheap", action="store_true", help="batches of 2 images instead of 16: cheap steps")
    parser.add_argument("--output-dir", default=None, help="default: a new temporary folder, removed on success")
    return parser.parse_args(argv)


def _checkpoint_being_written(output_dir):
    return bool(glob.glob(os.path.join(output_dir, ".model_*.tmp")))  # atomic_open's temporary file


def _checkpoints(output_dir):
    return set(glob.glob(os.path.join(output_dir, "model_*.pth")))


def _evaluation_started(log_file, log_offset):
    if not os.path.exists(log_file):
        return False
    with open(log_file, errors="replace") as f:
        f.seek(log_offset)
        return "Start inference on" in f.read()


def run_until_killed(command, output_dir, moment, rng):
    """
    Start `command` and SIGKILL it at `moment` (one of MOMENTS), as soon as its event is seen: for "step" a
    checkpoint that was not there at start (the kill lands in the steps after it), for "checkpoint write" a
    checkpoint's temporary file, for "evaluation" the log's "Start inference" (then after up to 0.2 s, inside
    the evaluation). Returns (moment killed at, returncode, stderr): the moment is None when the run finished
    first, "step" when the event never came.
    """
    log_file = os.path.join(output_dir, "log.txt")
    log_offset = os.path.getsize(log_file) if os.path.exists(log_file) else 0
    checkpoints_at_start = _checkpoints(output_dir)
    reached = {"step": lambda: _checkpoints(output_dir) - checkpoints_at_start,
               "checkpoint write": lambda: _checkpoint_being_written(output_dir),
               "evaluation": lambda: _evaluation_started(log_file, log_offset)}[moment]
    deadline = time.monotonic() + _MOMENT_TIMEOUT
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr)
        hit = False
        while process.poll() is None and not hit and time.monotonic() < deadline:
            time.sleep(_POLL_SECONDS)
            hit = bool(reached())
        if moment == "evaluation" and hit:
            time.sleep(rng.uniform(0.0, 0.2))  # somewhere inside the evaluation, not only at its start
        killed_at = (moment if hit else "step") if process.poll() is None else None
        if killed_at:
            process.kill()
        process.wait()
        stderr.seek(0)
        return killed_at, process.returncode, stderr.read().decode(errors="replace")


def unreadable_files(output_dir):
    """Files of `output_dir` that do not load: checkpoints, last_checkpoint's target, metrics and evaluation JSON."""
    bad = []
    for path in glob.glob(os.path.join(output_dir, "*.pth")):
        try:
            torch.load(path, weights_only=True)
        except Exception:  # noqa: BLE001  any failure to load counts as corrupt
            bad.append(path)
    tag = os.path.join(output_dir, "last_checkpoint")
    if os.path.exists(tag):
        with open(tag) as f:
            if not os.path.isfile(os.path.join(output_dir, f.read().strip())):
                bad.append(tag)
    json_files = glob.glob(os.path.join(output_dir, "evaluation_results.json"))
    json_files += glob.glob(os.path.join(output_dir, "inference", "*", "*.json"))
    for path in json_files:
        try:
            with open(path) as f:
                json.load(f)
        except ValueError:
            bad.append(path)
    if _metrics_iterations(output_dir) is None:
        bad.append(os.path.join(output_dir, "metrics.json"))
    return bad


def _metrics_iterations(output_dir):
    """The iterations of metrics.json's lines, or None if a line does not parse."""
    path = os.path.join(output_dir, "metrics.json")
    if not os.path.exists(path):
        return []
    try:
        with open(path) as f:
            return [json.loads(line)["iteration"] for line in f]
    except (ValueError, KeyError):
        return None


def last_checkpoint_iteration(output_dir):
    tag = os.path.join(output_dir, "last_checkpoint")
    if not os.path.exists(tag):
        return None
    with open(tag) as f:
        return torch.load(os.path.join(output_dir, f.read().strip()), weights_only=True)["iteration"]


def main(argv=None):
    args = parse_args(argv)
    rng = random.Random(args.seed)
    output_dir = args.output_dir or tempfile.mkdtemp(prefix="d2ext-kill-resume-")
    command = [sys.executable, os.path.join(REPO, "tools/train_net.py"), "--config-file", CONFIG, "--resume",
               "SOLVER.IMS_PER_BATCH", "2" if args.cheap else "16", "SOLVER.MAX_ITER", str(args.max_iter), "SOLVER.CHECKPOINT_PERIOD", "3",
               "TEST.EVAL_PERIOD", "10", "DATALOADER.NUM_WORKERS", "0", "MODEL.DEVICE", "cpu", "OUTPUT_DIR", output_dir]
    kills, unreadable, resume_failures, iterations = Counter(), [], 0, []
    finished = False
    while sum(kills.values()) < args.kills and not finished:
        moment = MOMENTS[sum(kills.values()) % len(MOMENTS)]
        killed_at, returncode, stderr = run_until_killed(command, output_dir, moment, rng)
        if killed_at:
            kills[killed_at] += 1
        elif returncode != 0:
            resume_failures += 1
            print(stderr[-3000:], file=sys.stderr)
        finished = killed_at is None
        unreadable += unreadable_files(output_dir)
        iterations.append(last_checkpoint_iteration(output_dir))
    if not finished:
        final = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        if final.returncode != 0:
            resume_failures += 1
            print(final.stderr[-3000:], file=sys.stderr)
        unreadable += unreadable_files(output_dir)
    iteration = last_checkpoint_iteration(output_dir)
    final_ok = os.path.exists(os.path.join(output_dir, "model_final.pth")) and iteration == args.max_iter - 1
    leftovers = glob.glob(os.path.join(output_dir, ".*")) + glob.glob(os.path.join(output_dir, "inference", "*", ".*"))
    logged = _metrics_iterations(output_dir) or []
    metrics_ok = bool(logged) and len(logged) == len(set(logged))
    print(f"kills: {sum(kills.values())} ({', '.join(f'{kills[m]} during {m}s' for m in MOMENTS)}), "
          f"files that did not load: {len(unreadable)}, failed resumes: {resume_failures}, "
          f"final model at iteration {iteration} (MAX_ITER {args.max_iter}): {'ok' if final_ok else 'MISSING'}, "
          f"metrics.json holds each iteration once: {'yes' if metrics_ok else 'NO'}, "
          f"temporary files left: {len(leftovers)}")
    print(f"last checkpoint's iteration after each run: {iterations}")
    for path in unreadable:
        print(f"did not load: {path}")
    ok = not unreadable and resume_failures == 0 and final_ok and metrics_ok and not leftovers
    if ok and args.output_dir is None:
        shutil.rmtree(output_dir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
