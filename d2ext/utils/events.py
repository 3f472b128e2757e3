"""metrics.json that a kill never leaves half-written and a resumed run never fills with repeated iterations."""
import json
import logging
import os

from detectron2.utils.events import JSONWriter

from .file_io import atomic_write_bytes

__all__ = ["MetricsJSONWriter"]

logger = logging.getLogger(__name__)


class _AtomicLines:
    """
    The file handle of a MetricsJSONWriter: written lines are kept in memory, and each ``flush`` replaces
    the file by all of them (atomic_write_bytes). On the first write, the lines the file already holds for
    iterations before ``first_iteration()`` are kept; later ones (a killed run's, past its last checkpoint)
    are dropped, as is a line a kill cut short in a file written by another writer.
    """

    def __init__(self, path, first_iteration):
        self.path = path
        self._first_iteration = first_iteration
        self._lines = None

    def _previous_lines(self):
        if not os.path.exists(self.path):
            return []
        start, kept, dropped = self._first_iteration(), [], 0
        with open(self.path) as f:
            for line in f:
                try:
                    iteration = json.loads(line)["iteration"]
                except (ValueError, KeyError, TypeError):
                    iteration = None
                if isinstance(iteration, int) and iteration < start:
                    kept.append(line if line.endswith("\n") else line + "\n")
                else:
                    dropped += 1
        if dropped:
            logger.info(f"{self.path}: dropped {dropped} line(s) of iterations from {start} on (or unreadable), "
                        f"which this run, resumed at iteration {start}, writes again.")
        return kept

    def write(self, text):
        if self._lines is None:
            self._lines = self._previous_lines()
        self._lines.append(text)

    def flush(self):
        if self._lines is not None:
            atomic_write_bytes(self.path, "".join(self._lines).encode())

    def close(self):
        pass  # JSONWriter.write flushes after each write: the file is already complete


class MetricsJSONWriter(JSONWriter):
    """
    detectron2's JSONWriter (one JSON object of scalars per line, ``"iteration"`` among them) whose file is
    rewritten atomically at each write instead of appended to in place, and which, in a run resumed at
    iteration ``first_iteration()``, drops the lines the killed run wrote from that iteration on: each
    iteration appears once, in order.

    Args:
        json_file (str): the metrics file, usually ``OUTPUT_DIR/metrics.json``.
        first_iteration (callable): () -> int, the iteration training starts at (known only after resuming).
        window_size (int): as JSONWriter's.
    """

    def __init__(self, json_file, first_iteration, window_size=20):
        # Not JSONWriter.__init__, which opens json_file for appending; the rest of its state is set here.
        self._file_handle = _AtomicLines(json_file, first_iteration)
        self._window_size = window_size
        self._last_write = -1
