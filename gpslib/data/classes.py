"""A folder tree's classes file (classes.yaml, .yml or .json): names, ignore_index, palette, ignore_color, checked.

Every key is optional. `names` (or the palette's length) declare the class count; `ignore_index` is mapped to
255 through `Classes.lut` and may not be a class id; RGB masks are converted through `palette` (row i = class
i) and `ignore_color`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from ..errors import GpslibError
from .palette import IGNORE

CLASS_FILES = ("classes.yaml", "classes.yml", "classes.json")
CLASS_KEYS = ("names", "ignore_index", "palette", "ignore_color")


@dataclass
class Classes:
    """What classes.yaml declares; all optional."""
    names: list[str] | None = None
    ignore_index: int = IGNORE
    colours: np.ndarray | None = None       # Kx3, row i = class i
    ignore_color: tuple[int, int, int] | None = None
    source: Path | None = None

    @property
    def declared(self) -> int | None:
        if self.names is not None:
            return len(self.names)
        return None if self.colours is None else len(self.colours)

    @property
    def lut(self) -> np.ndarray | None:
        """Stored value -> train id: only ignore_index moves (to 255)."""
        if self.ignore_index == IGNORE:
            return None
        table = np.arange(256, dtype=np.uint8)
        table[self.ignore_index] = IGNORE
        return table

    @property
    def palette(self) -> np.ndarray | None:
        """The 256-row table Sample expects: class colours, the ignore colour in row 255.

        Unused rows repeat class 0's colour; a colour match resolves to the lowest row, so they never win.
        """
        if self.colours is None:
            return None
        table = np.repeat(self.colours[:1], 256, axis=0)
        table[: len(self.colours)] = self.colours
        if self.ignore_color is not None:
            table[IGNORE] = self.ignore_color
        return table


def _colour(value, what: str, path: Path) -> tuple[int, int, int]:
    if (not isinstance(value, (list, tuple)) or len(value) != 3
            or not all(isinstance(c, int) and 0 <= c <= 255 for c in value)):
        raise GpslibError(f"{path}: {what} {value!r} is not a colour; write it as [r, g, b] with 0..255 integers.")
    return tuple(value)


def _palette(rows, names, path: Path) -> np.ndarray:
    """The classes file's palette, checked: one distinct [r, g, b] colour per class."""
    if not isinstance(rows, list) or not rows:
        raise GpslibError(f"{path}: palette must be a list of [r, g, b] colours, one per class.")
    colours = np.array([_colour(c, f"palette row {i}", path) for i, c in enumerate(rows)], dtype=np.uint8)
    if names is not None and len(colours) != len(names):
        raise GpslibError(f"{path}: palette has {len(colours)} colours but names has {len(names)} classes; "
                          f"give one colour per class.")
    if len({tuple(c) for c in colours.tolist()}) != len(colours):
        raise GpslibError(f"{path}: two classes share a palette colour; RGB masks need distinct colours.")
    return colours


def read_classes(root: Path) -> Classes:
    """classes.yaml (or .yml / .json) at root, checked; an empty Classes when there is none."""
    path = next((root / n for n in CLASS_FILES if (root / n).is_file()), None)
    if path is None:
        return Classes()
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as err:
        raise GpslibError(f"{path} cannot be parsed ({str(err).splitlines()[0]}); fix its syntax.") from None
    data = data or {}
    if not isinstance(data, dict) or set(data) - set(CLASS_KEYS):
        extra = sorted(set(data) - set(CLASS_KEYS)) if isinstance(data, dict) else data
        raise GpslibError(f"{path} has unexpected content {extra!r}; it may only hold the keys "
                          f"{', '.join(CLASS_KEYS)}.")
    names = data.get("names")
    if names is not None and (not isinstance(names, list) or not names or len(names) > 255
                              or not all(isinstance(n, (str, int)) for n in names)):
        raise GpslibError(f"{path}: names must be a list of 1 to 255 class names, class 0 first.")
    ignore = data.get("ignore_index", IGNORE)
    if not isinstance(ignore, int) or not 0 <= ignore <= 255:
        raise GpslibError(f"{path}: ignore_index must be an integer in 0..255, got {ignore!r}.")
    colours = None if data.get("palette") is None else _palette(data["palette"], names, path)
    ignore_color = data.get("ignore_color")
    if ignore_color is not None:
        ignore_color = _colour(ignore_color, "ignore_color", path)
        if colours is not None and list(ignore_color) in colours.tolist():
            raise GpslibError(f"{path}: ignore_color {list(ignore_color)} is also a class colour; pick another.")
    classes = Classes([str(n) for n in names] if names is not None else None, ignore, colours, ignore_color, path)
    if ignore != IGNORE and classes.declared is not None and ignore < classes.declared:
        raise GpslibError(f"{path}: ignore_index {ignore} is also class {ignore}; use a value of at least "
                          f"{classes.declared} (or 255) for pixels to ignore.")
    return classes

