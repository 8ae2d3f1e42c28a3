"""The limits one sandboxed run is held to, validated, and how they map onto the child."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Values ``SandboxResult.limit`` can take, besides None.
LIMIT_NAMES = ("time", "cpu", "memory", "output", "processes", "file_size", "network", "filesystem")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run.

    timeout_s: wall clock, the whole process group is killed when it runs out.
    cpu_s: CPU seconds per process (RLIMIT_CPU); None means one second more than
        the wall limit, so a plain busy loop is reported as "time".
    memory_mb: address space per process (RLIMIT_AS).
    max_output_bytes: kept of stdout and of stderr each; more on either kills the run.
    max_processes: processes and threads the sandbox may have at once (RLIMIT_NPROC).
    max_file_mb: size of any one file written (RLIMIT_FSIZE).
    """

    timeout_s: float = 10
    memory_mb: int = 1024
    max_output_bytes: int = 65536
    cpu_s: float | None = None
    max_processes: int = 32
    max_file_mb: int = 64

    def __post_init__(self) -> None:
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s!r}")
        if self.cpu_s is not None and not self.cpu_s > 0:
            raise ValueError(f"cpu_s must be > 0, got {self.cpu_s!r}")
        # Below ~64 MB the interpreter itself cannot start, which would read as a user error.
        if self.memory_mb < 64:
            raise ValueError(f"memory_mb must be >= 64, got {self.memory_mb!r}")
        if self.max_output_bytes < 0:
            raise ValueError(f"max_output_bytes must be >= 0, got {self.max_output_bytes!r}")
        if self.max_processes < 1:
            raise ValueError(f"max_processes must be >= 1, got {self.max_processes!r}")
        if self.max_file_mb < 1:
            raise ValueError(f"max_file_mb must be >= 1, got {self.max_file_mb!r}")

    @property
    def cpu_seconds(self) -> int:
        """Whole CPU seconds for RLIMIT_CPU (the kernel counts in seconds)."""
        if self.cpu_s is None:
            return math.ceil(self.timeout_s) + 1
        return max(1, math.ceil(self.cpu_s))

    def child_args(self, nproc: int) -> dict[str, str]:
        """The bootstrap's KEY=VALUE arguments for these limits (nproc: RLIMIT_NPROC, 0 = unset)."""
        return {
            "cpu_s": str(self.cpu_seconds),
            "memory_bytes": str(self.memory_mb * 1024 * 1024),
            "file_bytes": str(self.max_file_mb * 1024 * 1024),
            "nproc": str(nproc),
        }
