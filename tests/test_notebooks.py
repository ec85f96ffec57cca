"""Smoke-run every book notebook with papermill, from a working directory outside book/."""
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"

# Notebook file name -> papermill parameters that make it run in seconds on a CPU.
# A notebook not listed runs with its own defaults.
SMOKE: dict[str, dict] = {
    "01_gps_in_one_picture.ipynb": {},
    "02_data.ipynb": {"n_samples": 4, "aug_seeds": 2},
    "03_networks.ipynb": {"backbones": "resnet18"},
    "04_teacher.ipynb": {"teacher_epochs": 0.02, "val_limit": 8, "n_images": 2},
    "05_guide_step.ipynb": {"teacher_epochs": 0.01},
    "06_feedback_rampup.ipynb": {"epochs": 1, "iters_per_epoch": 2, "teacher_epochs": 0.5, "val_limit": 4,
                                 "pseudo_eval_images": 4},
    "12_your_own_data.ipynb": {"n_labeled": 8, "n_unlabeled": 8, "n_val": 2, "epochs": 1, "iters_per_epoch": 2,
                               "teacher_epochs": 1, "val_limit": 2, "n_images": 2},
    "train.ipynb": {"epochs": 1, "iters_per_epoch": 2, "teacher_epochs": 0.5, "val_limit": 4,
                    "pseudo_eval_images": 4, "n_images": 2},
    # 08, 09 and 11 load whatever runs are recorded in book/results (none is fine: they say which are missing)
    "08_training_flow.ipynb": {},
    "09_ablations.ipynb": {},
    "11_results.ipynb": {},
}

NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(notebook, tmp_path):
    papermill = pytest.importorskip("papermill")
    workdir = tmp_path / "cwd"  # not book/: no notebook may depend on the working directory
    workdir.mkdir()
    papermill.execute_notebook(
        str(notebook),
        str(tmp_path / notebook.name),
        parameters=SMOKE.get(notebook.name, {}),
        cwd=str(workdir),
        kernel_name="python3",
        progress_bar=False,
    )


# Notebooks whose committed outputs are a recorded run that the book build shows instead of re-training.
RECORDED = {"train.ipynb"}


def test_every_notebook_has_kernelspec_one_parameters_cell_and_no_outputs():
    """papermill needs the kernelspec and the tagged cell; outputs belong to the build, not git, except in a
    recorded notebook, which must hold every output of one complete run and is excluded from execution."""
    nbformat = pytest.importorskip("nbformat")
    assert NOTEBOOKS, "no notebooks found in book/"
    config = (BOOK.parent / "_config.yml").read_text()
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata.get("kernelspec", {}).get("name") == "python3", path.name
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'parameters'"
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        if path.name in RECORDED:
            assert f'"book/{path.name}"' in config, f"{path.name} must be excluded from execution in _config.yml"
            assert all(cell.execution_count is not None for cell in code), f"{path.name}: a cell was not run"
            assert not any(o.get("output_type") == "error" for cell in code for o in cell.outputs), path.name
        else:
            for cell in code:
                assert not cell.outputs and cell.execution_count is None, f"{path.name} has outputs"
