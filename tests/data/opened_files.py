"""Which files this process opens, seen by a Python audit hook on "open" events (every Python-level open)."""
import contextlib
import os
import sys

_recorders = []  # (folder prefix, list of paths) of each active opened_files() block


def _on_event(event, args):
    if event == "open" and _recorders and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.path.abspath(os.fsdecode(args[0]))
        for prefix, paths in _recorders:
            if path.startswith(prefix):
                paths.append(path)


sys.addaudithook(_on_event)  # a hook cannot be removed: it records only inside opened_files()


@contextlib.contextmanager
def opened_files(folder):
    """Within the block, the paths under `folder` that the process opens are appended to the yielded list."""
    paths = []
    recorder = (os.path.join(os.path.abspath(folder), ""), paths)
    _recorders.append(recorder)
    try:
        yield paths
    finally:
        _recorders.remove(recorder)
