"""The parameters that make each book notebook run in seconds on a CPU (its smoke test), and the one way the
tests run a notebook: papermill in a fresh process, as a user types it. A quick look at one chapter:
papermill book/X.ipynb out.ipynb -y '<its parameters>'."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

# Notebook file name -> papermill parameters. A notebook not listed runs with its own defaults.
SMOKE: dict[str, dict] = {
    "02_data.ipynb": {"n_samples": 4, "aug_seeds": 2},
    "03_networks.ipynb": {"backbones": "resnet18"},
    "04_teacher.ipynb": {"teacher_epochs": 0.02, "val_limit": 8, "n_images": 2},
    "05_guide_step.ipynb": {"teacher_epochs": 0.01},
    "06_feedback_rampup.ipynb": {"epochs": 1, "iters_per_epoch": 2, "teacher_epochs": 0.5, "val_limit": 4,
                                 "pseudo_eval_images": 4},
    "12_your_own_data.ipynb": {"n_labeled": 8, "n_unlabeled": 8, "n_val": 2, "encoder_weights": None, "epochs": 1,
                               "iters_per_epoch": 2, "teacher_epochs": 1, "val_limit": 2, "n_images": 2},
    "train.ipynb": {"epochs": 1, "iters_per_epoch": 2, "teacher_epochs": 0.5, "val_limit": 4,
                    "pseudo_eval_images": 4, "n_images": 2},
    # the introduction, 08, 09 and 11 read the runs recorded in book/results: nothing to shrink
}


def smoke_run(notebook: Path, output: Path, cwd: Path, runs: Path,
              extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """papermill NOTEBOOK OUTPUT -y SMOKE, started in `cwd`, its demo runs under `runs` (not the project's)."""
    env = {**os.environ, "GPSLIB_RUNS": str(runs)}
    return subprocess.run(
        [sys.executable, "-m", "papermill", str(notebook), str(output), "-k", "python3", "--no-progress-bar",
         *extra, "-y", yaml.safe_dump(SMOKE.get(Path(notebook).name, {}))],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
