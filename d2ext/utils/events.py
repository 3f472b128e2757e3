"""metrics.json of a resumed run: each iteration once, whatever the killed run left."""
import json
import logging
import os

__all__ = ["trim_metrics_file"]

logger = logging.getLogger(__name__)


def trim_metrics_file(path, start_iter):
    """
    Cut the metrics file `path` (detectron2's JSONWriter: one JSON object with an "iteration" a line, appended)
    before its first line that a run resumed at `start_iter` writes again (iteration >= `start_iter`) or that
    does not parse (a line a kill cut short), so that each iteration appears once, in order. One pass over the
    file and one truncate, which a kill leaves done or undone; the writer appends after it. Returns the number
    of lines cut.
    """
    if not os.path.exists(path):
        return 0
    offset, cut = None, 0
    with open(path, "rb") as f:
        position = 0
        for line in f:
            if offset is None:
                try:
                    iteration = json.loads(line)["iteration"] if line.endswith(b"\n") else None
                except (ValueError, KeyError, TypeError):
                    iteration = None
                if not isinstance(iteration, int) or iteration >= start_iter:
                    offset = position
            cut += offset is not None
            position += len(line)
    if offset is not None:
        os.truncate(path, offset)
        logger.info(f"{path}: cut {cut} line(s) of iterations from {start_iter} on (or unreadable), which this run, "
                    f"resumed at iteration {start_iter}, writes again.")
    return cut
