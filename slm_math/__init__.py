"""slm-math: a reproducible pipeline that makes small language models better at math."""

__version__ = "0.1.0"
