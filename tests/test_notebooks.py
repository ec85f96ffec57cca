"""Every book notebook executes exactly once in the tests: in the book build (tests/test_book_build.py),
with the defaults a reader sees, or, for a notebook the build does not execute, here with papermill and
smoke parameters, from a folder outside book/ and from book/ itself (no path may depend on the
working directory)."""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from built_book import built_notebooks

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"

# Notebook file name -> papermill parameters that make it run in seconds on a CPU, for a quick look at one
# chapter (papermill book/X.ipynb out.ipynb -y '<these>'); the tests smoke-run only the notebooks the
# book build does not execute. A notebook not listed runs with its own defaults.
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
    # the introduction, 08, 09 and 11 read the runs recorded in book/results
    "08_training_flow.ipynb": {},
    "09_ablations.ipynb": {},
    "11_results.ipynb": {},
    "intro.ipynb": {},
}

NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
SMOKE_RUN = [p for p in NOTEBOOKS if f"book/{p.name}" not in built_notebooks()]


def _new_files(before: set[Path]) -> list[str]:
    return sorted(str(p.relative_to(BOOK)) for p in set(BOOK.rglob("*")) - before)


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", SMOKE_RUN, ids=[p.name for p in SMOKE_RUN])
def test_notebook_runs_from_outside_book(notebook, tmp_path, monkeypatch):
    papermill = pytest.importorskip("papermill")
    monkeypatch.setenv("GPSLIB_RUNS", str(tmp_path / "runs"))    # not the project's runs/
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    before = set(BOOK.rglob("*"))
    papermill.execute_notebook(
        str(notebook),
        str(tmp_path / notebook.name),
        parameters=SMOKE.get(notebook.name, {}),
        cwd=str(workdir),
        kernel_name="python3",
        progress_bar=False,
    )
    assert _new_files(before) == []


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", SMOKE_RUN, ids=[p.name for p in SMOKE_RUN])
def test_notebook_runs_from_book_as_users_call_it(notebook, tmp_path):
    """cd book && papermill train.ipynb out.ipynb -p partition 1/8 (the output goes elsewhere here)."""
    pytest.importorskip("papermill")
    nbformat = pytest.importorskip("nbformat")
    env = {**os.environ, "GPSLIB_RUNS": str(tmp_path / "runs")}
    as_users = ["-p", "partition", "1/8"] if "partition" in _parameter_names(nbformat.read(notebook, 4)) else []
    before = set(BOOK.rglob("*"))
    result = subprocess.run(
        [sys.executable, "-m", "papermill", notebook.name, str(tmp_path / "out.ipynb"), "-k", "python3",
         "--no-progress-bar", *as_users, "-y", yaml.safe_dump(SMOKE.get(notebook.name, {}))],
        cwd=BOOK, env=env, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert _new_files(before) == []


def _parameter_names(nb) -> set[str]:
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return {target.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}


def test_every_notebook_runs_once_and_smoke_parameters_exist():
    """Each notebook is executed by the build or smoke-run here; SMOKE names only real parameters (most of
    it is no longer run by the tests, so a renamed parameter would go unnoticed)."""
    nbformat = pytest.importorskip("nbformat")
    built = built_notebooks()
    assert SMOKE_RUN and len(built) + len(SMOKE_RUN) == len(NOTEBOOKS), (built, SMOKE_RUN)
    for name, parameters in SMOKE.items():
        path = BOOK / name
        if not path.exists():
            continue
        unknown = set(parameters) - _parameter_names(nbformat.read(path, as_version=4))
        assert not unknown, f"SMOKE['{name}'] names no parameter of the notebook: {sorted(unknown)}"


# Notebooks whose committed outputs are a recorded run that the book build shows instead of re-training.
RECORDED = {"train.ipynb"}


def test_every_notebook_has_kernelspec_one_parameters_cell_and_no_outputs():
    """papermill needs the kernelspec and the tagged cell; outputs belong to the build, not git, except in a
    recorded notebook, which must hold every output of one complete run and is excluded from execution."""
    nbformat = pytest.importorskip("nbformat")
    assert NOTEBOOKS, "no notebooks found in book/"
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata.get("kernelspec", {}).get("name") == "python3", path.name
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'parameters'"
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        if path.name in RECORDED:
            assert f"book/{path.name}" not in built_notebooks(), f"{path.name} must be excluded from execution"
            assert all(cell.execution_count is not None for cell in code), f"{path.name}: a cell was not run"
            assert not any(o.get("output_type") == "error" for cell in code for o in cell.outputs), path.name
        else:
            for cell in code:
                assert not cell.outputs and cell.execution_count is None, f"{path.name} has outputs"
