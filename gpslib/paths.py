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


def data_root(dataset: str, root=None) -> Path:
    """A dataset's root: the one given, else data/<dataset> (GPSLIB_DATA moves data/)."""
    return Path(root) if root is not None else DATA_DIR / dataset


def shown(path, root=None) -> str:
    """`path` as the book prints it, never naming the folders of the machine that ran it: relative to the
    project when inside it, else relative to `root`'s parent (so the root's own name stays), else
    `<temporary folder>/...` below a temporary folder, else the name alone."""
    import tempfile

    path = Path(path).expanduser().resolve()
    bases = [(REPO_ROOT, None)]
    if root is not None:
        bases.append((Path(root).expanduser().resolve().parent, None))
    bases.append((Path(tempfile.gettempdir()).resolve(), "<temporary folder>"))
    for base, label in bases:
        try:
            parts = path.relative_to(base).parts
        except ValueError:
            continue
        if label is None:
            return "/".join(parts) or "."
        return "/".join((label, *parts[1:]))  # parts[0] is the temporary folder's random name
    return path.name
