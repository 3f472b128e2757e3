#!/usr/bin/env python
"""
Install detectron2 into a Python environment without GitHub, a compiler or a model hub.

detectron2 has no release on PyPI. ``sal-detectron2==0.7.2`` is a re-upload whose Python code is
upstream detectron2 commit a59f0563 (2024-04-17) plus one Python 3.11 fix, shipped only as a
CPython 3.10 wheel with a compiled ``_C``. This script downloads that wheel, checks its sha256,
rewrites it as a pure-Python ``py3-none-any`` wheel without ``_C`` and installs it with pip.

Behaviour:
  * an environment where ``import detectron2`` already works (for example a source build that has
    ``_C``) is left alone, so running this twice is harmless;
  * a download that fails or a wheel whose sha256 differs stops with a message before anything is
    installed: nothing in the target environment changes.

Usage::

    python tools/install_detectron2.py                   # into the running interpreter's env
    python tools/install_detectron2.py --python .venv/bin/python
    python tools/install_detectron2.py --wheel /path/to/sal_detectron2-0.7.2-cp310-none-any.whl
"""
import argparse
import base64
import csv
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE_SPEC = "sal-detectron2==0.7.2"
WHEEL_FILENAME = "sal_detectron2-0.7.2-cp310-none-any.whl"
WHEEL_SHA256 = "491af0c7f79bdb2d178e46f6cb16a97c4ac968d45c41ea3f6b6435d59bbee561"
PURE_WHEEL_TAG = "py3-none-any"
# Runtime dependencies of detectron2 (upstream setup.py pins) missing from the re-upload's metadata,
# plus the pins DEVELOPERS.md asks for (model_zoo imports pkg_resources).
EXTRA_REQUIREMENTS = ["fvcore>=0.1.5,<0.1.6", "iopath>=0.1.7,<0.1.10", "setuptools<81"]


class InstallError(RuntimeError):
    """A step failed before anything was installed; the message says what to do."""


def installed_detectron2(python):
    """Return "<version> at <path>" when ``import detectron2`` works in `python`, else None."""
    probe = "import os, detectron2; print(detectron2.__version__, 'at', os.path.dirname(detectron2.__file__))"
    result = subprocess.run([python, "-c", probe], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_wheel(dest_dir, index_url=None):
    """Download the CPython 3.10 wheel of ``sal-detectron2`` into `dest_dir` and return its path."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--python-version", "3.10", "--retries", "1", "--timeout", "20",
        "--disable-pip-version-check", "-d", str(dest_dir), PACKAGE_SPEC,
    ]
    if index_url:
        cmd += ["--index-url", index_url]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheel = Path(dest_dir) / WHEEL_FILENAME
    if result.returncode != 0 or not wheel.is_file():
        raise InstallError(
            f"could not download {PACKAGE_SPEC} from the package registry"
            f"{' ' + index_url if index_url else ''} (pip exit code {result.returncode}).\n"
            f"pip said:\n{result.stderr.strip()[-2000:]}\n"
            "Nothing was installed. Check the network or the pip index settings, or download "
            f"{WHEEL_FILENAME} elsewhere and pass it with --wheel."
        )
    return wheel


def verify_wheel(path, expected_sha256=WHEEL_SHA256):
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise InstallError(
            f"{path}: sha256 is {actual}, expected {expected_sha256}.\n"
            "The file is not the audited sal-detectron2 0.7.2 wheel (corrupt download or a changed "
            "upload). Nothing was installed. Delete the file and download it again; if the registry "
            "itself serves a different file, do not install it."
        )


def _record_row(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [name, f"sha256={digest}", str(len(data))]


def _rewrite_wheel_metadata(text):
    lines = []
    for line in text.splitlines():
        if line.startswith("Root-Is-Purelib:"):
            line = "Root-Is-Purelib: true"
        elif line.startswith("Tag:"):
            line = f"Tag: {PURE_WHEEL_TAG}"
        lines.append(line)
    return "\n".join(dict.fromkeys(lines)) + "\n"


def _lift_numpy_pin(text):
    """The re-upload's METADATA pins numpy<2, which detectron2 itself does not need: require any numpy."""
    return "\n".join("Requires-Dist: numpy" if line.replace(" ", "") == "Requires-Dist:numpy<2" else line
                     for line in text.split("\n"))


def make_pure_python_wheel(wheel, dest_dir):
    """
    Rewrite a wheel as ``py3-none-any``: drop compiled ``_C`` extensions, mark it purelib, lift its numpy<2 pin
    and rebuild RECORD. Returns the path of the new wheel in `dest_dir`.
    """
    wheel = Path(wheel)
    dist, version = wheel.name.split("-")[:2]
    out_path = Path(dest_dir) / f"{dist}-{version}-{PURE_WHEEL_TAG}.whl"
    records = []
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED) as dst:
        names = src.namelist()
        record_name = next(n for n in names if n.endswith(".dist-info/RECORD"))
        for name in names:
            basename = name.rsplit("/", 1)[-1]
            if name == record_name or (basename.startswith("_C.") and basename.endswith((".so", ".pyd"))):
                continue
            data = src.read(name)
            if name.endswith(".dist-info/WHEEL"):
                data = _rewrite_wheel_metadata(data.decode()).encode()
            elif name.endswith(".dist-info/METADATA"):
                data = _lift_numpy_pin(data.decode()).encode()
            dst.writestr(name, data)
            records.append(_record_row(name, data))
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(records + [[record_name, "", ""]])
        dst.writestr(record_name, buf.getvalue())
    return out_path


def pip_install(python, wheel):
    cmd = [python, "-m", "pip", "install", "--disable-pip-version-check", str(wheel), *EXTRA_REQUIREMENTS]
    if subprocess.run(cmd).returncode != 0:
        raise InstallError(f"pip could not install {wheel.name} into {python}; see pip's output above.")


def install(python, wheel=None, index_url=None):
    """Install detectron2 into `python` unless it is already importable there. Returns a message."""
    found = installed_detectron2(python)
    if found:
        return f"detectron2 {found} is already importable by {python}: left as it is."
    with tempfile.TemporaryDirectory(prefix="d2ext-detectron2-") as tmp:
        source = Path(wheel) if wheel else download_wheel(tmp, index_url)
        if not source.is_file():
            raise InstallError(f"--wheel {source}: no such file. Pass the path of {WHEEL_FILENAME}.")
        verify_wheel(source)
        pip_install(python, make_pure_python_wheel(source, tmp))
    found = installed_detectron2(python)
    if not found:
        raise InstallError(f"detectron2 was installed but `import detectron2` still fails in {python}.")
    return f"installed detectron2 {found} (pure Python, without _C)."


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter of the target environment")
    parser.add_argument("--wheel", help=f"use this local {WHEEL_FILENAME} instead of downloading it")
    parser.add_argument("--index-url", help="package index to download from (default: pip's own setting)")
    args = parser.parse_args(argv)
    try:
        print(install(args.python, args.wheel, args.index_url))
    except InstallError as e:
        print(f"install_detectron2: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
