"""What a run records, one JSON file per run: config, provenance, per-iteration losses, evaluations, the latch."""
from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from .paths import REPO_ROOT


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


class History:
    """Rows of plain numbers: `teacher` (phase a), `iterations` (phases b/c), `evals`; plus `meta` and `config`."""

    def __init__(self, config: dict | None = None, meta: dict | None = None):
        self.config = config or {}
        self.meta = meta or {}
        self.teacher: list[dict[str, Any]] = []
        self.iterations: list[dict[str, Any]] = []
        self.evals: list[dict[str, Any]] = []
        self.path: Path | None = None

    # ------------------------------------------------------------ persistence
    def state_dict(self) -> dict:
        return {"config": self.config, "meta": self.meta, "teacher": self.teacher,
                "iterations": self.iterations, "evals": self.evals}

    @classmethod
    def from_state(cls, state: dict) -> "History":
        history = cls(state.get("config"), state.get("meta"))
        history.teacher = list(state.get("teacher", []))
        history.iterations = list(state.get("iterations", []))
        history.evals = list(state.get("evals", []))
        return history

    def save(self, path: str | Path) -> Path:
        """Atomic JSON write (temp file + rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.state_dict(), indent=1))
        os.replace(tmp, path)
        self.path = path
        return path

    @classmethod
    def load(cls, path: str | Path) -> "History":
        path = Path(path)
        if path.is_dir():
            path = path / "history.json"
        from .errors import GpslibError
        if not path.is_file():
            raise GpslibError(f"No history at {path}; pass a run's output folder or its history.json.")
        try:
            history = cls.from_state(json.loads(path.read_text()))
        except json.JSONDecodeError as err:
            raise GpslibError(f"History {path} is not valid JSON ({err}); re-run or restore the file.") from err
        history.path = path
        return history

    # ------------------------------------------------------------ views for the book
    def frame(self, which: str = "iterations"):
        """A pandas DataFrame of `teacher`, `iterations` or `evals`."""
        import pandas as pd
        return pd.DataFrame(getattr(self, which))

    @property
    def final(self) -> dict[str, Any]:
        return self.evals[-1] if self.evals else {}

    @property
    def latch(self) -> dict[str, Any]:
        return self.meta.get("rampup", {})


def environment() -> dict[str, Any]:
    import torch
    info = {"python": platform.python_version(), "torch": str(torch.__version__), "host": platform.node(),
            "git_commit": git_commit()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info
