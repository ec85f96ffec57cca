"""The whole book builds with every warning an error, and serves MathJax from _static."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _jupyter_book() -> str:
    """The jupyter-book next to this interpreter (a venv), else the one on PATH."""
    local = Path(sys.executable).with_name("jupyter-book")
    return str(local) if local.exists() else (shutil.which("jupyter-book") or "")


@pytest.mark.notebook
def test_book_builds_without_warnings(tmp_path):
    exe = _jupyter_book()
    if not exe:
        pytest.skip("jupyter-book is not installed (pip install -e .[book])")
    result = subprocess.run(
        [exe, "build", str(ROOT), "--path-output", str(tmp_path), "-W", "-n", "--keep-going", "--all"],
        capture_output=True, text=True, timeout=3600,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
    html = tmp_path / "_build" / "html"
    assert (html / "index.html").exists()
    chapter = (html / "book" / "01_gps_in_one_picture.html").read_text(encoding="utf-8")
    assert "_static/mathjax/tex-chtml.js" in chapter
    assert "cdn.jsdelivr.net" not in chapter and "mathjax@" not in chapter
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists()
