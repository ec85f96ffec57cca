"""Progress bars for the phases a user waits on, with one rule for where they are drawn and when they are off.

`progress` is False (no bar: the tests, the recorded experiments, the book's pages), True (tqdm's default,
sys.stderr) or "terminal": the stderr the process was started with, which under papermill is the shell that
runs the notebook, so the user sees every phase advance while the notebook keeps clean outputs.

Scene generation and encoder pre-training run deep inside `Trainer()` (build_datasets, build_networks), so
their functions take progress=None, meaning "the setting of the enclosing `reporting` block" (False outside
any): train() opens one, and its single argument reaches them without passing through every builder between.
"""
from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from tqdm import tqdm

_setting: ContextVar = ContextVar("gpslib_progress", default=False)
_terminal = None


@contextmanager
def reporting(progress: bool | str) -> Iterator[None]:
    """Within this block, functions called with progress=None draw their bars as `progress` says."""
    token = _setting.set(progress)
    try:
        yield
    finally:
        _setting.reset(token)


def bar(total: int, desc: str, progress: bool | str | None = None, **options) -> tqdm:
    """A tqdm bar of `total` steps named `desc`, drawn where `progress` says, or a disabled one that prints
    nothing. Only the first process of a torchrun job draws, so ranks do not draw over each other."""
    progress = _setting.get() if progress is None else progress
    shown = bool(progress) and os.environ.get("RANK", "0") == "0"
    return tqdm(total=total, desc=desc, disable=not shown,
                file=terminal() if shown and progress == "terminal" else None, **options)


def terminal():
    """The stderr this process was started with. Inside a Jupyter kernel sys.stderr goes to the notebook, and
    its fileno() is a copy of the original stderr (ipykernel's own way to let subprocesses reach it)."""
    global _terminal
    if _terminal is None:
        try:
            _terminal = open(os.dup(sys.stderr.fileno()), "w", buffering=1)
        except (OSError, ValueError, io.UnsupportedOperation):
            _terminal = sys.stderr
    return _terminal
