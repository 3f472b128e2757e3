"""Side-by-side throughput measurement shared by the benchmark scripts."""
import argparse
import statistics
import time
from typing import Callable, NamedTuple

import torch
from detectron2.utils.events import EventStorage
from tabulate import tabulate

__all__ = ["Pair", "speed_argument_parser", "run_conditions", "images_per_second", "side_by_side", "sgd_step",
           "inference_step", "config_training_loop", "trainer_iteration", "train_and_inference_table"]


class Pair(NamedTuple):
    """
    A d2ext model beside its reference implementation on the same batch of `num_images` images.
    ``ours_loss(model)`` / ``ours_infer(model)`` run a d2ext model (`ours`, or a copy of it in another memory
    format) on the batch: its loss dict in training, its outputs at inference; ``theirs_loss()`` /
    ``theirs_infer()`` do the same for the reference model `theirs`.
    """

    name: str
    reference: str
    num_images: int
    ours: torch.nn.Module
    theirs: torch.nn.Module
    ours_loss: Callable
    theirs_loss: Callable
    ours_infer: Callable
    theirs_infer: Callable


def speed_argument_parser(doc, iters):
    """An ArgumentParser described by `doc`'s first paragraph, with --iters (default `iters`) and --rounds."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--iters", type=int, default=iters, help="timed iterations per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (the median is reported)")
    return parser


def run_conditions(args):
    """'<threads> CPU threads, torch <version>, median of <rounds> rounds of <iters> timed iterations'."""
    return (f"{torch.get_num_threads()} CPU threads, torch {torch.__version__}, "
            f"median of {args.rounds} rounds of {args.iters} timed iterations")


def images_per_second(step, num_images, iters, warmup=2):
    """Throughput of calling `step` (which processes `num_images` images) `iters` times after `warmup` calls."""
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(iters):
        step()
    return num_images * iters / (time.perf_counter() - start)


def side_by_side(ours, reference, num_images, iters, rounds=3):
    """
    (our images/s, reference images/s): the median over `rounds` rounds, each timing `ours` then
    `reference`, so that a slow phase of the machine hits both.
    """
    pairs = [(images_per_second(ours, num_images, iters), images_per_second(reference, num_images, iters))
             for _ in range(rounds)]
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def sgd_step(model, compute_loss):
    """A training step function: `compute_loss()` -> loss tensor or dict of losses, backward, SGD step."""
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def step():
        losses = compute_loss()
        loss = sum(losses.values()) if isinstance(losses, dict) else losses
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def config_training_loop(trainer_cls, cfg, data):
    """The loop that trains `cfg` (trainer_cls.build_inner_trainer: its model, optimizer and precision) on the iterable `data`."""
    model = trainer_cls.build_model(cfg)
    return trainer_cls.build_inner_trainer(cfg, model, data, trainer_cls.build_optimizer(cfg, model))


def trainer_iteration(trainer, storage):
    """One iteration of the detectron2 `trainer` inside the EventStorage `storage`, with TrainerBase's bookkeeping around it."""
    trainer.storage = storage
    storage.iter = trainer.iter
    trainer.run_step()
    trainer.iter += 1


def inference_step(call):
    """A step function running `call()` under torch.inference_mode."""

    def step():
        with torch.inference_mode():
            call()

    return step


def train_and_inference_table(pair, iters, rounds):
    """A GitHub-style table of the images/s of `pair` (a Pair) per phase and the ratio d2ext / reference."""
    rows = []
    train_steps = (sgd_step(pair.ours, lambda: pair.ours_loss(pair.ours)), sgd_step(pair.theirs, pair.theirs_loss))
    infer_steps = (inference_step(lambda: pair.ours_infer(pair.ours)), inference_step(pair.theirs_infer))
    with EventStorage(0):
        for phase, steps, training in (("train", train_steps, True), ("inference", infer_steps, False)):
            pair.ours.train(training)
            pair.theirs.train(training)
            ours, reference = side_by_side(*steps, pair.num_images, iters, rounds)
            rows.append((phase, f"{ours:.2f}", f"{reference:.2f}", f"{ours / reference:.2f}"))
    return tabulate(rows, headers=("phase", "d2ext img/s", "reference img/s", "ratio"), tablefmt="github")
