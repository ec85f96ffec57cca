"""A folder tree, scanned once and checked: which images and masks exist, the validation ids, the classes, and
the label statistics (sizes, ids, the pixel histogram) that the folder preset and the warnings use.

The rules are in folder.py's docstring. The scan is cached per process until a file in the tree changes.
"""
from __future__ import annotations

import os
import random
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import CorruptFileError, GpslibError
from .classes import CLASS_FILES, Classes, read_classes
from .dataset import read_mask
from .layout import check_root
from .palette import IGNORE

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")
VAL_FRACTION = 0.2      # hold-out share of the masked images when there is no val.txt
VAL_SEED = 0            # fixed: the hold-out does not change with the run seed
RARE_RATIO = 0.001      # warn when the rarest class has fewer pixels than this times the commonest one's
LAYOUT = "images/<stem>.jpg|png|tif and masks/<stem>.png"


@dataclass
class Tree:
    """A checked folder dataset: every image and mask path, validation ids, classes and label statistics."""
    root: Path
    images: dict[str, Path]                  # id -> image (images/ by stem, unlabeled/ as "unlabeled/<stem>")
    masks: dict[str, Path]                   # id -> mask, for ids of images/
    val: list[str]
    val_source: str
    classes: Classes
    num_classes: int
    histogram: np.ndarray                    # pixels per class id 0..num_classes-1 over every mask
    ignored: int                             # pixels labeled 255 (or ignore_index)
    max_label: int
    max_label_file: Path | None
    short_side: int                          # median over the masked images
    long_side: int
    notes: list[str] = field(default_factory=list)

    @property
    def maskless(self) -> list[str]:
        return sorted(i for i in self.images if i not in self.masks and not i.startswith("unlabeled/"))

    @property
    def extra_unlabeled(self) -> list[str]:
        return sorted(i for i in self.images if i.startswith("unlabeled/"))

    def class_names(self, num_classes: int | None = None) -> list[str]:
        n = self.num_classes if num_classes is None else num_classes
        names = self.classes.names
        return list(names) if names is not None and len(names) == n else [f"class {i}" for i in range(n)]


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(Path(e.path) for e in os.scandir(folder) if e.is_file() and not e.name.startswith("."))


def _images_in(folder: Path, prefix: str = "") -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in _files(folder):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        key = prefix + path.stem
        if key in found:
            raise GpslibError(f"{found[key]} and {path} share the stem {path.stem!r}; every image needs its own "
                              f"file name (without extension) so its mask can be found, rename one.")
        found[key] = path
    return found


def _line_id(line: str) -> str:
    """'a.jpg', 'images/a.jpg' and 'a' -> 'a'; 'unlabeled/b.png' -> 'unlabeled/b'."""
    name = Path(line)
    stem = name.stem if name.suffix.lower() in IMAGE_SUFFIXES else name.name
    return f"unlabeled/{stem}" if name.parent.name == "unlabeled" else stem


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        raise GpslibError(f"The list {path} does not exist; write one image stem per line there.")
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [line.split()[0] for line in lines if line and not line.startswith("#")]


def read_list(path: Path) -> list[str]:
    """Ids, one per line: a stem, a file name or 'unlabeled/<name>'; blank and # lines skipped."""
    return [_line_id(line) for line in _lines(Path(path))]


def _signature(root: Path) -> tuple:
    """Names, sizes and times of every file the scan reads: a changed tree is scanned again."""
    paths = [p for d in ("images", "masks", "unlabeled") for p in _files(root / d)]
    paths += [root / n for n in CLASS_FILES + ("val.txt",) if (root / n).is_file()]
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)



_CACHE: dict[Path, tuple[tuple, Tree]] = {}


def scan(root: str | Path | None) -> Tree:
    """Check the tree at root and gather its statistics (cached until a file changes); warns once."""
    if root is None:
        raise GpslibError(f"The folder dataset reads your own data: pass data_root (--data-root PATH, "
                          f"-p data_root PATH) pointing at a folder with {LAYOUT} (see data/README.md).")
    root = Path(root).expanduser().resolve()
    check_root(root, "folder", LAYOUT)     # missing, empty, or another dataset's layout
    signature = _signature(root)
    if root in _CACHE and _CACHE[root][0] == signature:
        return _CACHE[root][1]
    tree = _scan(root)
    _CACHE[root] = (signature, tree)
    for note in tree.notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    return tree


def _check_masks_folder(root: Path, images: dict[str, Path]) -> dict[str, Path]:
    masks_dir = root / "masks"
    files = _files(masks_dir)
    if not files:
        where = "is empty" if masks_dir.is_dir() else "does not exist"
        raise GpslibError(f"{masks_dir} {where}, so there are no labeled images; put one index PNG per labeled "
                          f"image there, named like its image (masks/<stem>.png).")
    masks = {}
    for path in files:
        if path.suffix.lower() != ".png":
            raise GpslibError(f"Mask {path} is not a PNG; save masks as PNG (lossless) holding class ids, "
                              f"named masks/<stem>.png.")
        if path.stem not in images:
            raise GpslibError(f"Mask {path} has no image images/{path.stem}.* ({', '.join(IMAGE_SUFFIXES)}); "
                              f"add the image or remove the mask.")
        masks[path.stem] = path
    return masks


def _val_ids(root: Path, masks: dict[str, Path], images: dict[str, Path]) -> tuple[list[str], str]:
    path = root / "val.txt"
    if path.is_file():
        ids = list(dict.fromkeys(read_list(path)))
        for id_ in ids:
            if id_ not in images:
                raise GpslibError(f"{path} names {id_!r} but images/{id_}.* does not exist; fix the list.")
            if id_ not in masks:
                raise GpslibError(f"{path} names {id_!r} but masks/{id_}.png does not exist; validation images "
                                  f"need masks, add it or remove the id.")
        if len(ids) == len(masks):
            raise GpslibError(f"{path} lists every masked image, which leaves none to train on; keep some out.")
        return ids, str(path)
    ids = sorted(masks)
    if len(ids) < 2:
        raise GpslibError(f"{root / 'masks'} holds {len(ids)} mask; a seeded validation hold-out needs at least "
                          f"2 masked images, or write the validation stems in {path}.")
    count = min(len(ids) - 1, max(1, round(VAL_FRACTION * len(ids))))
    chosen = set(random.Random(VAL_SEED).sample(ids, count))
    return [i for i in ids if i in chosen], f"a {VAL_FRACTION:.0%} hold-out of the masked images (seed {VAL_SEED})"


def _header(path: Path, kind: str) -> tuple[str, tuple[int, int]]:
    """(mode, (width, height)) from the file header, or an error naming the unreadable file."""
    try:
        with Image.open(path) as img:
            return img.mode, img.size
    except (OSError, ValueError, SyntaxError) as err:
        raise GpslibError(f"{kind} file {path} cannot be read ({err}); replace it with an intact copy, or remove "
                          f"it and its {'image' if kind == 'Mask' else 'mask'}.") from None


def _ids(path: Path, classes: Classes) -> np.ndarray:
    """Train ids of a mask; an undecodable one stops the check (on_corrupt=skip only applies to training)."""
    try:
        return read_mask(path, classes.lut, classes.palette)
    except CorruptFileError:
        raise GpslibError(f"Mask file {path} cannot be decoded; replace it with an intact copy, or delete it "
                          f"to use its image as unlabeled.") from None


def _read_mask(path: Path, image: Path, classes, root: Path) -> tuple[list[int], np.ndarray, int]:
    """One mask, checked against its image and the declared classes: its sides, class histogram and top id."""
    mode, size = _header(path, "Mask")
    if mode in ("RGB", "RGBA") and classes.palette is None:
        where = classes.source or root / "classes.yaml"
        raise GpslibError(f"Mask {path} is an RGB image but {where} declares no palette; add "
                          f"'palette: [[r, g, b], ...]' (row i = class i) there, or save masks as index PNGs.")
    mask = _ids(path, classes)
    image_size = _header(image, "Image")[1]
    if image_size != size:
        raise GpslibError(f"Mask {path} is {size[0]}x{size[1]} but its image {image} is "
                          f"{image_size[0]}x{image_size[1]}; a mask must have its image's size.")
    values = np.bincount(mask.ravel(), minlength=256)
    labels = np.flatnonzero(values[:IGNORE])
    top = int(labels[-1]) if len(labels) else -1
    declared = classes.declared
    if declared is not None and top >= declared:
        raise GpslibError(f"Mask {path} holds class id {top} but {classes.source} declares {declared} classes "
                          f"(0..{declared - 1}); fix the mask or add the class there.")
    return sorted(size), values, top


def _scan(root: Path) -> Tree:
    images_dir = root / "images"
    images = _images_in(images_dir)
    if not images:
        raise GpslibError(f"{images_dir} holds no images ({', '.join(IMAGE_SUFFIXES)}); put the training images "
                          f"there.")
    masks = _check_masks_folder(root, images)
    images.update(_images_in(root / "unlabeled", prefix="unlabeled/"))
    classes = read_classes(root)
    counts = np.zeros(256, dtype=np.int64)
    sides, max_label, max_file = [], -1, None
    for stem, path in sorted(masks.items()):
        side, values, top = _read_mask(path, images[stem], classes, root)
        sides.append(side)
        counts += values
        if top > max_label:
            max_label, max_file = top, path
    num_classes = classes.declared if classes.declared is not None else max_label + 1
    if num_classes < 1:
        raise GpslibError(f"Every mask in {root / 'masks'} is entirely ignore (255); label some pixels.")
    val, val_source = _val_ids(root, masks, images)
    short, long = np.median(np.array(sides), axis=0)
    tree = Tree(root, images, masks, val, val_source, classes, num_classes, counts[:num_classes],
                int(counts[IGNORE]), max_label, max_file, int(short), int(long))
    if tree.maskless:
        tree.notes.append(f"{len(tree.maskless)} image(s) in {images_dir} have no mask in {root / 'masks'} "
                          f"(e.g. {images[tree.maskless[0]].name}); they are used as unlabeled images. Move "
                          f"them to {root / 'unlabeled'} to silence this warning.")
    note = balance_note(tree)
    if note:
        tree.notes.append(note)
    return tree


def histogram_text(tree: Tree) -> str:
    """One line per class: id, name, labeled pixels and share of all labeled pixels."""
    total = max(1, int(tree.histogram.sum()))
    names = tree.class_names()
    lines = [f"{'id':>3}  {'class':<16}{'pixels':>12}{'share':>9}"]
    for i, count in enumerate(tree.histogram.tolist()):
        lines.append(f"{i:>3}  {names[i][:16]:<16}{count:>12,}{100 * count / total:>8.2f}%")
    lines.append(f"{IGNORE:>3}  {'(ignored)':<16}{tree.ignored:>12,}")
    return "\n".join(lines)


def balance_note(tree: Tree) -> str | None:
    """A warning text when a class never occurs or is very rare next to the commonest one, else None."""
    counts = tree.histogram
    names = tree.class_names()
    absent = [f"{i} ({names[i]})" for i in np.flatnonzero(counts == 0)]
    present = counts[counts > 0]
    rare = present.size > 0 and present.min() < RARE_RATIO * present.max()
    if not absent and not rare:
        return None
    why = []
    if absent:
        why.append(f"class(es) {', '.join(absent[:8])}{' ...' if len(absent) > 8 else ''} never occur")
    if rare:
        i = int(np.flatnonzero(counts == present.min())[0])
        why.append(f"the rarest class {i} ({names[i]}) has {present.min() / present.max():.2%} of the pixels of "
                   f"the commonest")
    return (f"The masks in {tree.root / 'masks'} are very unbalanced: {' and '.join(why)}; expect a low IoU "
            f"there (mIoU averages every class). Pixel histogram:\n{histogram_text(tree)}")

