"""Every book notebook is smoke-run (tests/smoke.py) from a folder outside book/: the chapters the book
executes by the book build's test (tests/test_book_build.py), which then renders their outputs, and the
others here, once from outside book/ and once from book/ itself, as users call them (no path may depend
on the working directory)."""
import ast
from pathlib import Path

import pytest

from built_book import built_notebooks
from smoke import SMOKE, smoke_run

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"

NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
SMOKE_RUN = [p for p in NOTEBOOKS if f"book/{p.name}" not in built_notebooks()]


def _new_files(before: set[Path]) -> list[str]:
    return sorted(str(p.relative_to(BOOK)) for p in set(BOOK.rglob("*")) - before)


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", SMOKE_RUN, ids=[p.name for p in SMOKE_RUN])
def test_notebook_runs_from_outside_book(notebook, tmp_path):
    pytest.importorskip("papermill")
    (tmp_path / "cwd").mkdir()
    before = set(BOOK.rglob("*"))
    result = smoke_run(notebook, tmp_path / notebook.name, cwd=tmp_path / "cwd", runs=tmp_path / "runs")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert _new_files(before) == []


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", SMOKE_RUN, ids=[p.name for p in SMOKE_RUN])
def test_notebook_runs_from_book_as_users_call_it(notebook, tmp_path):
    """cd book && papermill train.ipynb out.ipynb -p partition 1/8 (the output goes elsewhere here)."""
    pytest.importorskip("papermill")
    nbformat = pytest.importorskip("nbformat")
    as_users = ("-p", "partition", "1/8") if "partition" in _parameter_names(nbformat.read(notebook, 4)) else ()
    before = set(BOOK.rglob("*"))
    result = smoke_run(Path(notebook.name), tmp_path / "out.ipynb", cwd=BOOK, runs=tmp_path / "runs", extra=as_users)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert _new_files(before) == []


def _parameter_names(nb) -> set[str]:
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return {target.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}


def test_every_notebook_runs_once_and_smoke_parameters_exist():
    """Each notebook is smoke-run by the build's test or here; SMOKE names only real parameters (papermill
    injects an unknown one without a word, and the notebook would run at its defaults)."""
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
