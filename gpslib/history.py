"""What a run records, one JSON file per run: config, provenance, per-iteration losses, evaluations, the latch.

`Recorder` is how the training loop writes to a History: rows of device tensors wait until the next flush,
which costs one host-device synchronisation, stops the run on a non-finite loss, and mirrors the numbers
to TensorBoard when asked.
"""
from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from .errors import GpslibError
from .paths import REPO_ROOT


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


class History:
    """Rows of plain numbers: `teacher` (phase a) and `teacher_evals` (T on val then), `iterations` (phases b/c),
    `evals` (val), `test` (every network on the test split, once at the end); plus `meta` and `config`, and
    `snapshots`, the compressed label maps of a few images at every evaluation (gpslib.snapshots; may be empty)."""

    def __init__(self, config: dict | None = None, meta: dict | None = None):
        self.config = config or {}
        self.meta = meta or {}
        self.teacher: list[dict[str, Any]] = []
        self.teacher_evals: list[dict[str, Any]] = []
        self.iterations: list[dict[str, Any]] = []
        self.evals: list[dict[str, Any]] = []
        self.snapshots: list[dict[str, Any]] = []
        self.test: dict[str, Any] = {}
        self.path: Path | None = None

    # ------------------------------------------------------------ persistence
    def state_dict(self) -> dict:
        return {"config": self.config, "meta": self.meta, "teacher": self.teacher, "teacher_evals": self.teacher_evals,
                "iterations": self.iterations, "evals": self.evals, "snapshots": self.snapshots, "test": self.test}

    @classmethod
    def from_state(cls, state: dict) -> "History":
        history = cls(state.get("config"), state.get("meta"))
        history.teacher = list(state.get("teacher", []))
        history.teacher_evals = list(state.get("teacher_evals", []))   # absent before phase a was evaluated
        history.test = dict(state.get("test", {}))                      # absent before the test split
        history.iterations = list(state.get("iterations", []))
        history.evals = list(state.get("evals", []))
        history.snapshots = list(state.get("snapshots", []))      # absent in histories recorded before them
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
            "cpu_threads": torch.get_num_threads(), "git_commit": git_commit(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}   # ATen's vector ISA: it too sets a run's bits
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


class Recorder:
    """Pending rows of `history.teacher` / `history.iterations`, written by `flush`; optional TensorBoard mirror."""

    def __init__(self, history: History, tensorboard_dir: Path | None = None):
        self.history = history
        self.pending: list[tuple[str, int, dict]] = []
        self.writer = None
        if tensorboard_dir is not None:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(str(tensorboard_dir))

    def record(self, table: str, iteration: int, values: dict) -> None:
        """Queue one row; tensor values stay on the device until the next flush."""
        self.pending.append((table, iteration, values))

    def flush(self, checkpoint: Path) -> None:
        """One host-device sync for all pending rows; a non-finite loss stops the run before any checkpoint.

        `checkpoint` is the run's last.pt, named in the error so the user knows what is kept.
        """
        import torch
        if not self.pending:
            return
        keys = [[k for k, v in row.items() if isinstance(v, torch.Tensor)] for _, _, row in self.pending]
        flat = [row[k] for (_, _, row), ks in zip(self.pending, keys) for k in ks]
        numbers = iter(torch.stack([v.float() for v in flat]).tolist() if flat else [])
        rows, self.pending = self.pending, []
        for (table, iteration, row), ks in zip(rows, keys):
            out = {k: (next(numbers) if k in ks else v) for k, v in row.items()}
            bad = [k for k in ks if not math.isfinite(out[k])]
            if bad:
                kept = f"the last good checkpoint is {checkpoint}" if checkpoint.exists() else \
                    "no checkpoint was written yet"
                terms = ", ".join(f"{k}={out[k]:.4g}" for k in ks)
                phase = "phase a" if table == "teacher" else "main"
                raise GpslibError(f"Loss {', '.join(bad)} became non-finite at {phase} iteration "
                                  f"{iteration} ({terms}); the run stopped and {kept}. Lower lr or check the data.")
            getattr(self.history, table).append({"iteration": iteration, **out})
            self.scalars(table, {k: out[k] for k in ks}, iteration)

    def evaluation(self, row: dict) -> None:
        """Append an evaluation row (mIoU per network, pseudo-label quality) to the history."""
        self.history.evals.append(row)
        self.scalars("eval", {k: v for k, v in row.items() if k.startswith(("miou", "acc", "agree"))},
                     row["iteration"])

    def snapshot(self, iteration: int, epoch: float, packed: dict) -> None:
        """Keep one evaluation's label maps (nothing when the run takes none)."""
        if packed:
            self.history.snapshots.append({"iteration": iteration, "epoch": epoch, **packed})

    def scalars(self, prefix: str, values: dict, iteration: int) -> None:
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(f"{prefix}/{k}", v, iteration)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
