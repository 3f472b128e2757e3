"""tools/install_detectron2.py: idempotent, refuses bad wheels and unreachable registries unchanged."""
import csv
import hashlib
import base64
import io
import os
import subprocess
import sys
import zipfile

import pytest

from conftest import REPO, run_tool

sys.path.insert(0, os.path.join(REPO, "tools"))
import install_detectron2  # noqa: E402


def _installed_packages(python):
    out = subprocess.run([python, "-m", "pip", "freeze", "--all"], capture_output=True, text=True, check=True)
    return out.stdout


def test_second_run_leaves_detectron2_alone():
    before = _installed_packages(sys.executable)
    for _ in range(2):
        result = run_tool("install_detectron2.py")
        assert "already importable" in result.stdout and "left as it is" in result.stdout
    assert _installed_packages(sys.executable) == before


@pytest.fixture
def bare_venv(tmp_path):
    """A new virtual environment without pip or detectron2; returns (python, its file listing)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    return python, lambda: sorted(os.path.relpath(os.path.join(d, f), tmp_path)
                                  for d, _, files in os.walk(tmp_path / "venv") for f in files)


def test_hash_mismatch_stops_and_changes_nothing(bare_venv, tmp_path):
    python, listing = bare_venv
    before = listing()
    fake = tmp_path / install_detectron2.WHEEL_FILENAME
    fake.write_bytes(b"not the audited wheel")
    result = run_tool("install_detectron2.py", "--python", python, "--wheel", str(fake), check=False)
    assert result.returncode == 1
    assert "sha256 is" in result.stderr and install_detectron2.WHEEL_SHA256 in result.stderr
    assert "Nothing was installed" in result.stderr
    assert listing() == before


def test_unreachable_registry_stops_and_changes_nothing(bare_venv):
    python, listing = bare_venv
    before = listing()
    result = run_tool("install_detectron2.py", "--python", python, "--index-url", "http://127.0.0.1:9/simple",
                      check=False)
    assert result.returncode == 1
    assert "could not download sal-detectron2==0.7.2" in result.stderr and "Nothing was installed" in result.stderr
    assert listing() == before


def _record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def test_pure_python_wheel_drops_compiled_ops_and_installs(tmp_path):
    """A cp310 wheel with a compiled _C and a numpy<2 pin becomes a py3-none-any wheel, any numpy, that pip installs."""
    source = tmp_path / "fakepkg-1.0-cp310-none-any.whl"
    with zipfile.ZipFile(source, "w") as whl:
        whl.writestr("fakepkg/__init__.py", "VALUE = 42\n")
        whl.writestr("fakepkg/_C.cpython-310-x86_64-linux-gnu.so", b"\x7fELF compiled")
        whl.writestr("fakepkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.0\n"
                     "Requires-Dist: numpy<2\nRequires-Dist: numpydoc<2\n")
        whl.writestr("fakepkg-1.0.dist-info/WHEEL",
                     "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: cp310-cp310-linux_x86_64\n")
        whl.writestr("fakepkg-1.0.dist-info/RECORD", "stale,,\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    pure = install_detectron2.make_pure_python_wheel(source, out_dir)
    assert pure.name == "fakepkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(pure) as whl:
        names = whl.namelist()
        assert "fakepkg/_C.cpython-310-x86_64-linux-gnu.so" not in names
        wheel_meta = whl.read("fakepkg-1.0.dist-info/WHEEL").decode()
        assert "Root-Is-Purelib: true" in wheel_meta and "Tag: py3-none-any" in wheel_meta
        package_meta = whl.read("fakepkg-1.0.dist-info/METADATA").decode()
        assert "Requires-Dist: numpy\n" in package_meta and "Requires-Dist: numpydoc<2\n" in package_meta
        rows = list(csv.reader(io.StringIO(whl.read("fakepkg-1.0.dist-info/RECORD").decode())))
        for name, digest, size in rows:
            if name.endswith("RECORD"):
                continue
            data = whl.read(name)
            assert digest == _record_hash(data) and int(size) == len(data)
        assert {r[0] for r in rows} == set(names)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(pure)],
                   check=True)
    out = subprocess.run([sys.executable, "-c", "import fakepkg; print(fakepkg.VALUE)"], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(target)}, check=True)
    assert out.stdout.strip() == "42"
