"""The offline install: a wheelhouse holds what the target lacks, and installs with no index.

A real pip on a local index of tiny packages: a target venv that already has `alpha` (as a
GPU machine has torch) gets `beta` (needs alpha) and `gamma` (an sdist, built into a wheel)
from the wheelhouse, and keeps its own alpha.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from slm_math.wheelhouse import (NO_DEPS_PINS, WheelhouseError, build_wheelhouse, canonical_name,
                                 constraints_for, read_pins)
from tests.conftest import ROOT


def make_wheel(folder: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> Path:
    """A pure-Python wheel with one module that knows its version."""
    module, dist = name.replace("-", "_"), f"{name.replace('-', '_')}-{version}"
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                      + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                   "Tag: py3-none-any\n",
    }
    files[f"{dist}.dist-info/RECORD"] = "".join(f"{f},,\n" for f in [*files, f"{dist}.dist-info/RECORD"])
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for arcname, text in files.items():
            archive.writestr(arcname, text)
    return path


def make_sdist(folder: Path, name: str, version: str) -> Path:
    """A setuptools sdist (no wheel on the index), built with the installed setuptools."""
    root = f"{name}-{version}"
    files = {
        f"{root}/pyproject.toml": f'[build-system]\nrequires = ["setuptools"]\nbuild-backend = '
                                  f'"setuptools.build_meta"\n[project]\nname = "{name}"\nversion = "{version}"\n',
        f"{root}/{name}/__init__.py": f"VERSION = {version!r}\n",
        f"{root}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    }
    path = folder / f"{root}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for arcname, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(arcname)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture()
def index(tmp_path, monkeypatch) -> tuple[Path, tuple[str, ...]]:
    """A local find-links index and the pip arguments that use it alone."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no machine-wide index or constraints
    folder = tmp_path / "index"
    folder.mkdir()
    make_wheel(folder, "alpha", "1.0")
    make_wheel(folder, "alpha", "2.0")
    make_wheel(folder, "beta", "1.0", ("alpha>=1.0", "gamma==1.0"))
    make_sdist(folder, "gamma", "1.0")
    make_wheel(folder, "delta", "1.0", ("alpha>=2.0",))
    make_wheel(folder, "torch", "1.0")
    make_wheel(folder, "torch", "2.0")
    make_wheel(folder, "needs-torch", "1.0", ("torch>=2.0",))
    return folder, ("--no-index", "--find-links", str(folder), "--no-build-isolation")


def test_read_pins_names_file_and_line(tmp_path):
    path = tmp_path / "req.txt"
    path.write_text("# comment\nJinja2==3.1.6  # pinned\n-c other.txt\nrich>=15\n")
    with pytest.raises(WheelhouseError, match=r"req.txt: line 4: 'rich>=15' is not an exact pin"):
        read_pins(path)
    path.write_text("Jinja2==3.1.6\nruamel.yaml.clib==0.2.15\n")
    assert read_pins(path) == {"jinja2": "3.1.6", "ruamel-yaml-clib": "0.2.15"}


def test_constraints_keep_the_target_except_what_is_pinned_otherwise():
    have = {"torch": "2.11.0", "transformers": "5.17.0", "numpy": "2.5.2"}
    assert constraints_for(have, {"transformers": "5.19.0"}) == {"torch": "2.11.0", "numpy": "2.5.2"}


def test_gpu_requirements_follow_the_cpu_pins():
    cpu, gpu = read_pins(ROOT / "requirements.txt"), read_pins(ROOT / "requirements-gpu.txt")
    assert "torch" not in gpu  # the GPU machine's own CUDA build stays
    assert {n: v for n, v in gpu.items() if cpu.get(n) != v} == {}
    for pin in NO_DEPS_PINS:
        assert f"--no-deps {pin}" in (ROOT / "Makefile").read_text()


def test_wheelhouse_holds_what_the_target_lacks_and_installs_offline(tmp_path, index):
    folder, pip_args = index
    target = tmp_path / "target"
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
    target_python = str(target / "bin" / "python")
    subprocess.run([target_python, "-m", "pip", "install", "-q", *pip_args[:3], "alpha==1.0"], check=True)
    have = tmp_path / "have.txt"
    have.write_text(subprocess.run([target_python, "-m", "pip", "list", "--format=freeze"],
                                   check=True, capture_output=True, text=True).stdout)
    requirements = tmp_path / "requirements-gpu.txt"
    requirements.write_text("beta==1.0\n")
    dest = tmp_path / "wheelhouse"
    manifest = build_wheelhouse(requirements, have, sys.executable, dest, no_deps=(),
                                pip_args=pip_args)
    carried = {(p["name"], p["version"], p["built"]) for p in manifest["packages"]}
    assert carried == {("beta", "1.0", False), ("gamma", "1.0", True)}
    wheels = sorted(p.name for p in dest.glob("*.whl"))
    assert [canonical_name(w.split("-")[0]) for w in wheels] == ["beta", "gamma"]
    assert json.loads((dest / "manifest.json").read_text())["bytes"] == sum(
        (dest / w).stat().st_size for w in wheels)
    # on the target, with no index: beta and gamma come from the wheelhouse, alpha stays 1.0
    subprocess.run([target_python, "-m", "pip", "install", "-q", "--no-index", "--find-links",
                    str(dest), "-r", str(requirements)], check=True)
    versions = subprocess.run([target_python, "-c", "import alpha, beta, gamma; "
                               "print(alpha.VERSION, beta.VERSION, gamma.VERSION)"],
                              check=True, capture_output=True, text=True).stdout.split()
    assert versions == ["1.0", "1.0", "1.0"]


def test_a_conflict_with_the_target_moves_the_package_but_never_torch(tmp_path, index):
    folder, pip_args = index
    have = tmp_path / "have.txt"
    have.write_text("alpha==1.0\ntorch==1.0\n")
    requirements = tmp_path / "requirements-gpu.txt"
    requirements.write_text("delta==1.0\n")  # needs alpha>=2: alpha 2.0 is carried
    messages: list[str] = []
    manifest = build_wheelhouse(requirements, have, sys.executable, tmp_path / "w1", no_deps=(),
                                pip_args=pip_args, progress=messages.append)
    assert {(p["name"], p["version"]) for p in manifest["packages"]} == {("delta", "1.0"), ("alpha", "2.0")}
    assert any(m.startswith("alpha: the target's 1.0 conflicts") for m in messages)
    requirements.write_text("needs-torch==1.0\n")  # needs torch>=2: the target's torch stays
    with pytest.raises(WheelhouseError, match="torch"):
        build_wheelhouse(requirements, have, sys.executable, tmp_path / "w2", no_deps=(),
                         pip_args=pip_args)
