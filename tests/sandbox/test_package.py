"""The sandbox package's place in slm_math: a leaf, and a loud fallback when bubblewrap is missing."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from slm_math.sandbox import isolation


def test_sandbox_is_a_leaf():
    probe = ("import sys, slm_math.sandbox\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')"
             " or (m.startswith('slm_math.') and not m.startswith('slm_math.sandbox'))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n"


def test_fallback_without_bubblewrap_warns(monkeypatch):
    monkeypatch.setattr(isolation, "available_isolations", lambda: ("netns", "none"))
    with pytest.warns(RuntimeWarning, match="bubblewrap is not usable"):
        assert isolation.default_isolation.__wrapped__() == "netns"


def test_installed_bubblewrap_is_used():
    """Where bubblewrap is installed (CI: `make install` does it) the strongest mode must work."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (`make install` installs it when run as root)")
    assert isolation.available_isolations()[0] in ("zygote", "bwrap")
