"""Recognise which dataset a data root is laid out for, so a wrong --data-root is named, not crashed on.

Each layout is known by the folder its images live in. A root that is missing, empty, or laid out for
another dataset fails before any list is read, with the layout that was expected and the fix.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import GpslibError

SIGNATURES = {  # dataset -> the folder every tree of that layout has at its top
    "pascal": "JPEGImages",
    "digits": "JPEGImages",
    "cityscapes": "leftImg8bit",
    "folder": "images",
}
NAMES = {"pascal": "Pascal VOC", "digits": "digits", "cityscapes": "Cityscapes", "folder": "folder"}


def looks_like(root: Path) -> str | None:
    """The dataset whose layout `root` has, judged by its top-level folders (None when none matches)."""
    for dataset in ("cityscapes", "folder", "pascal"):
        if (Path(root) / SIGNATURES[dataset]).is_dir():
            return dataset
    return None


def check_root(root: Path, dataset: str, layout: str) -> None:
    """Raise a GpslibError unless `root` exists, is not empty and has `dataset`'s top-level folder."""
    root, name = Path(root), NAMES.get(dataset, dataset)
    hint = f"it should hold {layout} (see data/README.md), or set data_root to where the data is"
    if root.is_file():
        raise GpslibError(f"The {name} data root {root} is a file, not a folder; {hint}.")
    if not root.is_dir():
        raise GpslibError(f"The {name} data root {root} does not exist; {hint}.")
    if not any(root.iterdir()):
        raise GpslibError(f"The {name} data root {root} is empty; {hint}.")
    if (root / SIGNATURES[dataset]).is_dir():
        return
    other = looks_like(root)
    if other is not None:
        raise GpslibError(f"The data root {root} is laid out for {NAMES[other]} (it has {SIGNATURES[other]}/), "
                          f"not {name}; pass dataset={other!r} or point data_root at a {name} tree.")
    raise GpslibError(f"The {name} data root {root} has no {SIGNATURES[dataset]}/ folder; {hint}.")
