#!/usr/bin/env python
"""
d2ext at real dataset sizes and run lengths, each beside the plain detectron2 or torchvision path on the same
synthetic data in the same run:

* folder: a folder of --folder-images tiny images in --folder-classes class folders: registration time and
  images opened;
* coco: a COCO JSON of train2017's size (--coco-images images, --coco-annotations annotations with polygons):
  register-and-load time and peak memory beside detectron2's ``load_coco_json`` alone;
* metrics: ``metrics.json`` over a simulated --iterations-iteration run (the writer alone): bytes written, peak
  memory, time;
* gan: GAN evaluation time of the second and later evaluations beside the first.

    python benchmarks/scale.py [--only folder coco metrics gan] [--work-dir DIR]
"""
import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import d2ext  # noqa: F401  first: it silences the known third-party warnings before detectron2 is imported
import numpy as np
from detectron2.data import DatasetCatalog
from detectron2.data.datasets import load_coco_json
from detectron2.utils.events import EventStorage, JSONWriter
from PIL import Image
from torchvision.datasets import ImageFolder

from d2ext.classification.data import register_image_folder
from d2ext.data import register_checked_coco_instances
from d2ext.utils.events import trim_metrics_file

MEASUREMENTS = ("folder", "coco", "metrics", "gan")


class _OpenCounter:
    """Counts the files under `folder` that this process opens while `counting`, from Python's "open" audit events."""

    def __init__(self, folder):
        self.prefix = os.path.join(os.path.abspath(folder), "")
        self.counting = False
        self.count = 0
        sys.addaudithook(self._on_event)  # hooks cannot be removed: it counts only while `counting`

    def _on_event(self, event, event_args):
        if self.counting and event == "open" and isinstance(event_args[0], str) and event_args[0].startswith(self.prefix):
            self.count += 1

    def run(self, function):
        """(seconds, files opened under the folder, result) of function()."""
        self.count, self.counting = 0, True
        start = time.perf_counter()
        try:
            result = function()
        finally:
            seconds, self.counting = time.perf_counter() - start, False
        return seconds, self.count, result


def measure_folder_registration(args, work_dir, repeats=3):
    """
    d2ext's ``image_folder`` registration and ``DatasetCatalog.get`` beside torchvision's ``ImageFolder`` (which
    lists the folder when built), on a folder of args.folder_images copies of one tiny PNG in
    args.folder_classes class folders: the best of `repeats` times, and the images each opened.
    """
    root = os.path.join(work_dir, "folder")
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, "PNG")
    for index in range(args.folder_images):
        folder = os.path.join(root, f"class_{index % args.folder_classes:04d}")
        os.makedirs(folder, exist_ok=index >= args.folder_classes)
        with open(os.path.join(folder, f"{index:07d}.png"), "wb") as f:
            f.write(png.getvalue())
    counter = _OpenCounter(root)
    d2ext_runs, torchvision_runs = [], []
    for repeat in range(repeats):
        name = f"scale_folder_{repeat}"
        d2ext_runs.append(counter.run(lambda: (register_image_folder(name, root), DatasetCatalog.get(name))[1]))
        torchvision_runs.append(counter.run(lambda: ImageFolder(root).samples))
    d2ext_seconds, d2ext_opens, records = min(d2ext_runs, key=lambda run: run[0])
    tv_seconds, tv_opens, samples = min(torchvision_runs, key=lambda run: run[0])
    if [r["file_name"] for r in records] != [path for path, _ in samples]:
        raise RuntimeError(f"{root}: d2ext and torchvision list different images")
    return (f"folder of {len(records):,} images in {args.folder_classes:,} classes (best of {repeats}): d2ext "
            f"image_folder register + DatasetCatalog.get {d2ext_seconds:.2f} s, {d2ext_opens} images opened; "
            f"torchvision ImageFolder {tv_seconds:.2f} s, {tv_opens} opened; d2ext / torchvision "
            f"{d2ext_seconds / tv_seconds:.2f}x")


def _write_coco_json(json_file, image_root, num_images, num_annotations, points=26, chunk=20_000, seed=0):
    """
    A COCO instances JSON of `num_images` 640x480 images (empty files in `image_root`: d2ext checks that they
    exist, and opens none) and `num_annotations` boxes, each with a polygon of `points` points inside it.
    """
    os.makedirs(image_root)
    images = [{"id": i, "file_name": f"{i:012d}.jpg", "height": 480, "width": 640} for i in range(1, num_images + 1)]
    for image in images:
        open(os.path.join(image_root, image["file_name"]), "wb").close()
    categories = [{"id": i, "name": f"class_{i}", "supercategory": "thing"} for i in range(1, 81)]
    rng = np.random.default_rng(seed)
    angles = np.linspace(0, 2 * np.pi, points, endpoint=False)
    with open(json_file, "w") as f:
        f.write(f'{{"categories": {json.dumps(categories)}, "images": {json.dumps(images)}, "annotations": [')
        for start in range(0, num_annotations, chunk):
            n = min(chunk, num_annotations - start)
            size = rng.uniform(4, 200, (n, 2))
            corner = rng.uniform(0, 1, (n, 2)) * ([640, 480] - size)
            centre, radius = corner + size / 2, size / 2
            polygons = np.stack([centre[:, :1] + radius[:, :1] * np.cos(angles),
                                 centre[:, 1:] + radius[:, 1:] * np.sin(angles)], axis=2).reshape(n, -1)
            boxes = np.concatenate([corner, size], axis=1).round(2).tolist()
            annotations = [{"id": start + k + 1, "image_id": int(image_id), "category_id": int(category_id),
                            "bbox": box, "area": round(box[2] * box[3], 2), "iscrowd": 0, "segmentation": [polygon]}
                           for k, (image_id, category_id, box, polygon) in enumerate(zip(
                               rng.integers(1, num_images + 1, n), rng.integers(1, 81, n), boxes,
                               polygons.round(2).tolist()))]
            f.write(("," if start else "") + json.dumps(annotations)[1:-1])
        f.write("]}")


def _cpu_seconds():
    """User + system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_coco_in_this_process(loader, json_file, image_root):
    """
    Run in a fresh process by measure_coco_json: print as JSON the wall and CPU seconds, the resident memory
    before and the peak after (MB: VmHWM, which unlike ru_maxrss starts afresh at exec), the records and the
    opens of `json_file` of one load by `loader`: "d2ext" (``coco`` registration, then ``DatasetCatalog.get``)
    or "detectron2" (``load_coco_json`` alone).
    """
    json_opens = []
    sys.addaudithook(lambda event, event_args: event == "open" and event_args[0] == json_file and json_opens.append(1))
    before_mb = _proc_counter("/proc/self/status", "VmRSS") / 1024
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    if loader == "d2ext":
        register_checked_coco_instances("scale_coco", {}, json_file, image_root)
        records = DatasetCatalog.get("scale_coco")
    else:
        records = load_coco_json(json_file, image_root, "scale_coco")
    seconds, cpu_seconds = time.perf_counter() - start, _cpu_seconds() - cpu_start
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "before_mb": before_mb,
                      "peak_mb": _proc_counter("/proc/self/status", "VmHWM") / 1024, "records": len(records),
                      "json_opens": len(json_opens)}))


def measure_coco_json(args, work_dir, repeats=2):
    """
    d2ext's ``coco`` registration and load beside detectron2's ``load_coco_json`` alone, on a COCO JSON of
    train2017's size (args.coco_images images, args.coco_annotations annotations with polygons, 80 categories),
    each load in a fresh process, alternately, `repeats` times: the best wall and CPU times (CPU time is
    the steadier on a busy machine), the peak resident memory and its growth during the load.
    """
    json_file, image_root = os.path.join(work_dir, "instances.json"), os.path.join(work_dir, "coco_images")
    _write_coco_json(json_file, image_root, args.coco_images, args.coco_annotations)
    child = f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); import scale; " \
            "scale.load_coco_in_this_process(*sys.argv[1:])"
    runs = {"d2ext": [], "detectron2": []}
    for _ in range(repeats):
        for loader, results in runs.items():
            process = subprocess.run([sys.executable, "-c", child, loader, json_file, image_root],
                                     capture_output=True, text=True)
            if process.returncode:
                raise RuntimeError(f"the {loader} load of {json_file} failed:\n{process.stderr[-3000:]}")
            results.append(json.loads(process.stdout.strip().splitlines()[-1]))
    if len({r["records"] for results in runs.values() for r in results}) != 1:
        raise RuntimeError(f"{json_file}: d2ext and detectron2 load different numbers of records")
    best = {loader: {key: min(r[key] for r in results) for key in ("seconds", "cpu_seconds", "peak_mb")}
            for loader, results in runs.items()}
    for loader, results in runs.items():
        best[loader]["growth_mb"] = min(r["peak_mb"] - r["before_mb"] for r in results)
        best[loader]["json_opens"] = max(r["json_opens"] for r in results)
    d2ext, detectron2 = best["d2ext"], best["detectron2"]
    ratio = {key: d2ext[key] / detectron2[key] for key in ("seconds", "cpu_seconds", "peak_mb", "growth_mb")}
    return (f"COCO JSON of {os.path.getsize(json_file) / 2**20:.0f} MiB ({args.coco_images:,} images, "
            f"{args.coco_annotations:,} annotations; best of {repeats} fresh processes each): d2ext register + load "
            f"{d2ext['seconds']:.1f} s (CPU {d2ext['cpu_seconds']:.1f} s), peak {d2ext['peak_mb']:.0f} MB "
            f"(+{d2ext['growth_mb']:.0f} MB), JSON opened {d2ext['json_opens']}x; detectron2 load_coco_json "
            f"{detectron2['seconds']:.1f} s (CPU {detectron2['cpu_seconds']:.1f} s), peak {detectron2['peak_mb']:.0f} MB "
            f"(+{detectron2['growth_mb']:.0f} MB); d2ext / detectron2: time {ratio['seconds']:.2f}x (CPU "
            f"{ratio['cpu_seconds']:.2f}x), peak {ratio['peak_mb']:.2f}x, growth {ratio['growth_mb']:.2f}x")


def _proc_counter(path, field):
    """An integer field of a /proc/self file of "name: value" lines (Linux)."""
    with open(path) as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def measure_metrics_json(args, work_dir, period=20, losses=10):
    """
    metrics.json as d2ext's Trainer writes it (detectron2's appending JSONWriter, every `period` iterations, of
    `losses` scalars), over args.iterations iterations with a kill at half way: the killed run leaves a line cut
    short and the lines after its last checkpoint (5,000 iterations earlier at most), which the resumed run cuts once
    (trim_metrics_file) before writing them again. Bytes written (the process's write() bytes) against the final
    file size; resident memory after each tenth of the run.
    """
    path = os.path.join(work_dir, "metrics.json")
    kill_at = args.iterations // 2
    resume_at = kill_at - min(5000, kill_at // 10)
    names = [f"loss_{i}" for i in range(losses)]
    written_before = _proc_counter("/proc/self/io", "wchar")
    start, rss_mb = time.perf_counter(), []
    writer = JSONWriter(path)
    iteration, killed = 0, False
    while iteration < args.iterations:
        if iteration == kill_at and not killed:  # SIGKILL: a line is cut short; the run resumes from its checkpoint
            writer.close()
            with open(path, "a") as f:
                f.write('{"iteration": %d, "loss_0": 0.12' % iteration)
            trim_metrics_file(path, resume_at)
            writer, iteration, killed = JSONWriter(path), resume_at, True
        if (iteration + 1) % period == 0:
            with EventStorage(iteration) as storage:  # the writer alone: no history beyond this write
                storage.put_scalars(**{name: 1.0 / (iteration + 1) for name in names}, smoothing_hint=False)
                writer.write()
        if (iteration + 1) % (args.iterations // 10) == 0:
            rss_mb.append(_proc_counter("/proc/self/status", "VmRSS") / 1024)
        iteration += 1
    writer.close()
    seconds = time.perf_counter() - start
    written = _proc_counter("/proc/self/io", "wchar") - written_before
    size = os.path.getsize(path)
    with open(path) as f:
        logged = [json.loads(line)["iteration"] for line in f]
    if logged != sorted(set(logged)) or len(logged) != args.iterations // period:
        raise RuntimeError(f"{path}: the logged iterations are not each iteration once, in order")
    return (f"metrics.json over {args.iterations:,} iterations (a line every {period}, {losses} losses, a kill at "
            f"{kill_at:,} resumed at {resume_at:,}): {written / 2**20:.1f} MiB written for a {size / 2**20:.1f} MiB "
            f"file ({written / size:.2f}x), {seconds:.0f} s, resident memory at each tenth "
            f"{', '.join(f'{m:.0f}' for m in rss_mb)} MB")


def measure_gan_evaluation(args, work_dir, later_evaluations=3):
    """
    The "gan" evaluation as training runs it (GANTrainer.test) of a randomly initialised DCGAN
    (configs/digits/gan/dcgan.yaml) against digits_gan_train, in the features of a randomly initialised digits
    ResNet-18: the first evaluation of the process (classifier built, the real images read and embedded, their
    features written beside the classifier) beside the median of `later_evaluations` more (the samples alone).
    """
    # Imported here: the other measurements run without building models.
    import statistics

    import torch
    from detectron2.data import DatasetCatalog
    from detectron2.modeling import build_model

    from d2ext.checkpoint import SafeCheckpointer
    from d2ext.config import load_config
    from d2ext.gan import GANTrainer
    from d2ext.gan.evaluation import num_generated_samples

    configs = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs", "digits")
    classifier_dir = os.path.join(work_dir, "gan_classifier")
    classifier_cfg = load_config(os.path.join(configs, "classification", "resnet18.yaml"))
    torch.manual_seed(0)
    SafeCheckpointer(build_model(classifier_cfg), save_dir=classifier_dir).save("model_final")
    with open(os.path.join(classifier_dir, "config.yaml"), "w") as f:
        f.write(classifier_cfg.dump())
    cfg = load_config(os.path.join(configs, "gan", "dcgan.yaml"),
                      ["TEST.GAN.CLASSIFIER_WEIGHTS", os.path.join(classifier_dir, "model_final.pth"),
                       "OUTPUT_DIR", os.path.join(work_dir, "gan")])
    dataset = cfg.DATASETS.TEST[0]
    num_real = len(DatasetCatalog.get(dataset))  # the digits are written on first use, before the clock starts
    model = GANTrainer.build_model(cfg).eval()  # as training builds it (MODEL.CHANNELS_LAST)
    seconds = []
    for _ in range(1 + later_evaluations):
        start = time.perf_counter()
        GANTrainer.test(cfg, model)
        seconds.append(time.perf_counter() - start)
    first, later = seconds[0], statistics.median(seconds[1:])
    return (f"gan: {dataset} on {cfg.MODEL.DEVICE}, {num_generated_samples(cfg, dataset):,} samples: first evaluation "
            f"{first:.2f} s (classifier built, {num_real:,} real images read and embedded), later evaluations "
            f"{later:.2f} s (median of {later_evaluations}): {first / later:.1f}x faster (target: at least 3x)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=MEASUREMENTS, default=list(MEASUREMENTS))
    parser.add_argument("--work-dir", default=None, help="where the synthetic data goes (default: a temporary folder)")
    parser.add_argument("--folder-images", type=int, default=200_000)
    parser.add_argument("--folder-classes", type=int, default=1_000)
    parser.add_argument("--coco-images", type=int, default=118_287)
    parser.add_argument("--coco-annotations", type=int, default=860_001)
    parser.add_argument("--iterations", type=int, default=450_000)
    args = parser.parse_args(argv)
    measures = {"folder": measure_folder_registration, "coco": measure_coco_json,
                "metrics": measure_metrics_json, "gan": measure_gan_evaluation}
    with tempfile.TemporaryDirectory(dir=args.work_dir) as work_dir:
        for name in args.only:
            print(measures[name](args, work_dir), flush=True)


if __name__ == "__main__":
    sys.exit(main())
