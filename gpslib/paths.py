"""Where things live, resolved from the package itself so that no notebook depends on the working directory."""
import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
DATA_DIR = Path(os.environ.get("GPSLIB_DATA", REPO_ROOT / "data"))
SPLITS_DIR = REPO_ROOT / "data" / "splits"
RUNS_DIR = Path(os.environ.get("GPSLIB_RUNS", REPO_ROOT / "runs"))
BOOK_DIR = REPO_ROOT / "book"
RESULTS_DIR = BOOK_DIR / "results"
