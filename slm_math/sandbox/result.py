"""SandboxResult: what one sandboxed run produced and which limit, if any, stopped it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxResult:
    """The outcome of one ``run_python`` call.

    stdout, stderr: decoded as UTF-8 (invalid bytes replaced), each cut at max_output_bytes.
    exit_code: the process's exit status; negative -N when signal N killed it (also when it
        was killed for a limit).
    limit: None, or which limit or guard stopped the run: "time" (wall clock), "cpu",
        "memory", "output", "processes", "file_size", "network" (a refused connection attempt
        left uncaught), "filesystem" (a refused write or read left uncaught).
    wall_s: wall-clock seconds from start to the end of clean-up of the process tree.
    cpu_s: CPU seconds of the process and the children it waited for (under bwrap, a run killed
        by a signal may under-report: only a clean exit reports its own time).
    isolation: the isolation mode used ("bwrap", "netns" or "none"; see isolation.py).
    """

    stdout: str
    stderr: str
    exit_code: int
    limit: str | None
    wall_s: float
    cpu_s: float
    isolation: str

    @property
    def ok(self) -> bool:
        """True when the code ran to a zero exit within every limit."""
        return self.exit_code == 0 and self.limit is None
