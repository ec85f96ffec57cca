"""Atomic checkpoints: a killed run never leaves a half-written file, loading never runs pickled code, and a
checkpoint resumes only the run whose settings wrote it."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .errors import GpslibError


def save_checkpoint(state: dict, path: str | Path) -> Path:
    """Write to a temporary file in the same folder, fsync, then rename over the old checkpoint.

    A failed write (disk full, killed process) leaves the previous checkpoint untouched; the partial
    temporary file is removed when the failure is an exception.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path) -> dict:
    """Load with weights_only=True (tensors and plain containers only)."""
    path = Path(path)
    if not path.is_file():
        raise GpslibError(f"Checkpoint {path} does not exist; pass the last.pt of a run's output folder.")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - truncated or foreign files all mean the same to the user
        raise GpslibError(f"Checkpoint {path} could not be read ({type(err).__name__}); it is corrupt or not a "
                          "gpslib checkpoint - resume from an earlier copy or start the run again.") from err


# Settings that may change between sessions of one run: where it runs and how it reads its data.
SESSION_FIELDS = ("out_dir", "device", "threads", "num_workers", "tensorboard", "on_corrupt")


def check_resumable(state: dict, config: dict, path: str | Path) -> None:
    """Refuse to resume from a checkpoint whose config differs from `config` in a field that shapes the run."""
    def plain(value):   # tuples come back from a checkpoint as tuples or lists
        return list(value) if isinstance(value, (tuple, list)) else value

    saved = state["config"]
    changed = sorted(k for k in config if k not in SESSION_FIELDS and plain(saved.get(k)) != plain(config[k]))
    if changed:
        raise GpslibError(f"{path} was written with different settings ({', '.join(changed)}); resume with the "
                          "same config or start a new out_dir.")


# What fixes phase a (T trained as SupOnly): a SupOnly run that agrees on these trained exactly GPS's teacher.
PHASE_A_FIELDS = ("dataset", "data_root", "partition", "labeled_file", "num_classes", "crop_size", "scales", "hflip",
                  "backbone", "encoder_weights", "decoder_channels", "optimizer", "lr", "momentum", "weight_decay",
                  "poly_power", "batch_labeled", "seed", "amp")


def check_teacher_source(state: dict, config: dict, teacher_iters: int, path: str | Path) -> None:
    """Refuse a checkpoint as GPS's phase a unless it is a finished SupOnly run of the same phase-a settings."""
    saved = state["config"]
    plain = (lambda v: list(v) if isinstance(v, (tuple, list)) else v)
    if saved.get("method") != "supervised" or config.get("teacher_epochs") is not None:
        raise GpslibError(f"{path} can be GPS's phase a only when it is a SupOnly run and teacher_epochs is none.")
    changed = sorted(k for k in PHASE_A_FIELDS if plain(saved.get(k)) != plain(config.get(k)))
    total = state["history"]["meta"].get("max_iter")
    if changed or total != teacher_iters or state["iteration"] != total:
        why = f"differs in {', '.join(changed)}" if changed else \
            f"trained {state['iteration']} of {total} iterations, phase a needs {teacher_iters}"
        raise GpslibError(f"{path} is not this run's phase a ({why}); train phase a instead (no teacher_from).")
