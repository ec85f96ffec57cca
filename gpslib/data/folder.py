"""Bring your own data: a plain folder of images and index masks, checked once and turned into datasets.

    <root>/images/<stem>.{jpg,jpeg,png,tif,tiff,bmp}
    <root>/masks/<stem>.png       class ids: an index PNG (mode L or P), or RGB drawn in the declared palette
    <root>/unlabeled/<stem>.*     optional: images without masks (ids "unlabeled/<stem>")
    <root>/classes.yaml           optional (or classes.json): names, ignore_index, palette, ignore_color
    <root>/val.txt                optional: stems of masked images that form the validation set

Choices, so that a user's tree behaves like the built-in datasets:

* Labeled = every image of images/ with a mask, minus validation. Unlabeled = the images of images/
  without a mask (a warning gives their count) plus unlabeled/. `labeled_file` and/or `unlabeled_file`
  (one id per line; unlabeled lines may also be image paths) replace either side; masked images that the
  labeled list leaves out then join the unlabeled set with their masks hidden, which also lets the run score
  its pseudo-labels. The `partition` fraction does not apply: make_config records it as 1 (every mask used).
* Validation = val.txt, else a hold-out of 20 % (at least one) of the masked images drawn with a fixed seed,
  the same for every run seed, so runs with different seeds are scored on the same images.
* Classes: `names` (or the palette's length) declare the count and a mask id beyond it is an error;
  without either, the count is the largest id found + 1. `ignore_index` is mapped to 255 through
  `Sample.lut`; it may not be a class id. RGB masks are converted through `palette` (row i = class i)
  and `ignore_color`.
* First use reads every mask once (sizes, ids, the pixel histogram) and warns when a declared class never
  occurs or the rarest class has under 0.1 % of the commonest one's pixels. The result is cached per process
  until a file in the tree changes.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from ..errors import CorruptFileError, GpslibError
from .dataset import IGNORE, Sample, SegmentationDataset, read_mask
from .layout import check_root
from .partitions import Partition

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")
CLASS_FILES = ("classes.yaml", "classes.yml", "classes.json")
CLASS_KEYS = ("names", "ignore_index", "palette", "ignore_color")
VAL_FRACTION = 0.2      # hold-out share of the masked images when there is no val.txt
VAL_SEED = 0            # fixed: the hold-out does not change with the run seed
RARE_RATIO = 0.001      # warn when the rarest class has fewer pixels than this times the commonest one's
LAYOUT = "images/<stem>.jpg|png|tif and masks/<stem>.png"


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


# ---------------------------------------------------------------- reading the tree
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


def _colour(value, what: str, path: Path) -> tuple[int, int, int]:
    if (not isinstance(value, (list, tuple)) or len(value) != 3
            or not all(isinstance(c, int) and 0 <= c <= 255 for c in value)):
        raise GpslibError(f"{path}: {what} {value!r} is not a colour; write it as [r, g, b] with 0..255 integers.")
    return tuple(value)


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
    colours = None
    if data.get("palette") is not None:
        rows = data["palette"]
        if not isinstance(rows, list) or not rows:
            raise GpslibError(f"{path}: palette must be a list of [r, g, b] colours, one per class.")
        colours = np.array([_colour(c, f"palette row {i}", path) for i, c in enumerate(rows)], dtype=np.uint8)
        if names is not None and len(colours) != len(names):
            raise GpslibError(f"{path}: palette has {len(colours)} colours but names has {len(names)} classes; "
                              f"give one colour per class.")
        if len({tuple(c) for c in colours.tolist()}) != len(colours):
            raise GpslibError(f"{path}: two classes share a palette colour; RGB masks need distinct colours.")
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


def _scan(root: Path) -> Tree:
    images_dir = root / "images"
    images = _images_in(images_dir)
    if not images:
        raise GpslibError(f"{images_dir} holds no images ({', '.join(IMAGE_SUFFIXES)}); put the training images "
                          f"there.")
    masks = _check_masks_folder(root, images)
    images.update(_images_in(root / "unlabeled", prefix="unlabeled/"))
    classes = read_classes(root)
    declared = classes.declared
    counts = np.zeros(256, dtype=np.int64)
    sides, max_label, max_file = [], -1, None
    for stem, path in sorted(masks.items()):
        mode, size = _header(path, "Mask")
        if mode in ("RGB", "RGBA") and classes.palette is None:
            where = classes.source or root / "classes.yaml"
            raise GpslibError(f"Mask {path} is an RGB image but {where} declares no palette; add "
                              f"'palette: [[r, g, b], ...]' (row i = class i) there, or save masks as index PNGs.")
        mask = _ids(path, classes)
        image_size = _header(images[stem], "Image")[1]
        if image_size != size:
            raise GpslibError(f"Mask {path} is {size[0]}x{size[1]} but its image {images[stem]} is "
                              f"{image_size[0]}x{image_size[1]}; a mask must have its image's size.")
        sides.append(sorted(size))
        values = np.bincount(mask.ravel(), minlength=256)
        counts += values
        labels = np.flatnonzero(values[:IGNORE])
        top = int(labels[-1]) if len(labels) else -1
        if declared is not None and top >= declared:
            raise GpslibError(f"Mask {path} holds class id {top} but {classes.source} declares {declared} classes "
                              f"(0..{declared - 1}); fix the mask or add the class there.")
        if top > max_label:
            max_label, max_file = top, path
    num_classes = declared if declared is not None else max_label + 1
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


# ---------------------------------------------------------------- splits and datasets
@dataclass
class Split:
    labeled: list[str]
    unlabeled: list[str]
    val: list[str]
    source: str
    paths: dict[str, Path]                   # id -> image, including unlabeled list entries outside the tree


def _unlabeled_entries(tree: Tree, path: Path) -> dict[str, Path]:
    """An unlabeled list: ids of the tree, or image paths (absolute, or relative to the list or the root)."""
    found: dict[str, Path] = {}
    for line in _lines(path):
        id_ = _line_id(line)
        if id_ in tree.images:
            found[id_] = tree.images[id_]
            continue
        candidates = [Path(line).expanduser(), path.parent / line, tree.root / line]
        file = next((c for c in candidates if c.is_file()), None)
        if file is None:
            raise GpslibError(f"The list {path} names {line!r}, which is neither an image of {tree.root} "
                              f"(images/ or unlabeled/) nor an existing image file; fix the list.")
        found[line] = file
    return found


def split(tree: Tree, labeled_file: str | Path | None = None, unlabeled_file: str | Path | None = None,
          dagger: bool = False) -> Split:
    """Labeled, unlabeled and validation ids of the tree (see the module docstring for the rules)."""
    val = set(tree.val)
    paths = dict(tree.images)
    masked = sorted(i for i in tree.masks if i not in val)
    if labeled_file is not None:
        labeled = read_list(Path(labeled_file))
        for id_ in labeled:
            if id_ not in tree.masks:
                what = f"masks/{id_}.png" if id_ in tree.images else f"images/{id_}.*"
                raise GpslibError(f"The list {labeled_file} names {id_!r} but {tree.root / what} does not exist; "
                                  f"labeled images need an image and a mask.")
            if id_ in val:
                raise GpslibError(f"The list {labeled_file} names {id_!r}, a validation image ({tree.val_source}); "
                                  f"remove it, or write {tree.root / 'val.txt'} without it.")
        rest = [i for i in masked if i not in set(labeled)]
        source = f"labeled list {labeled_file}"
    else:
        labeled, rest = masked, []
        source = f"every masked image of {tree.root} not used for validation"
    if unlabeled_file is not None:
        entries = _unlabeled_entries(tree, Path(unlabeled_file))
        clash = sorted(set(entries) & (val | set(labeled)))
        if clash:
            raise GpslibError(f"The list {unlabeled_file} names {clash[0]!r}, which is already a labeled or "
                              f"validation image; remove it (dagger=True adds labeled images to the unlabeled set).")
        paths.update(entries)
        unlabeled = list(entries)
        source += f"; unlabeled list {unlabeled_file}"
    else:
        unlabeled = rest + tree.maskless + tree.extra_unlabeled
        kinds = (("masked images the labeled list leaves out (masks hidden)", rest),
                 ("images without a mask in images/", tree.maskless), ("unlabeled/", tree.extra_unlabeled))
        source += "; unlabeled: " + (", ".join(kind for kind, ids in kinds if ids) or "none")
    if not labeled:
        raise GpslibError(f"No labeled images are left in {tree.root} after validation ({tree.val_source}); "
                          f"add masks or move some stems out of val.txt.")
    if dagger:
        unlabeled = unlabeled + labeled
        source += ", with the labeled images added (GPS-dagger)"
    source += f"; validation: {tree.val_source}; the partition fraction does not apply to a folder"
    return Split(labeled, unlabeled, list(tree.val), source, paths)


def tree_facts(root: str | Path | None, labeled_file=None, unlabeled_file=None, dagger: bool = False) -> dict:
    """What config.folder_preset needs to know about the tree: image sides, class count, split sizes."""
    tree = scan(root)
    parts = split(tree, labeled_file, unlabeled_file, dagger)
    return {"short_side": tree.short_side, "long_side": tree.long_side, "num_classes": tree.num_classes,
            "n_labeled": len(parts.labeled), "n_unlabeled": len(parts.unlabeled)}


def datasets(cfg, train_tf, eval_tf):
    """(labeled, unlabeled, val, Partition, class names, palette or None) of cfg's folder tree."""
    tree = scan(cfg.data_root)
    parts = split(tree, cfg.labeled_file, cfg.unlabeled_file, cfg.dagger)
    if tree.max_label >= cfg.num_classes:
        raise GpslibError(f"Mask {tree.max_label_file} holds class id {tree.max_label} but num_classes is "
                          f"{cfg.num_classes}; raise num_classes to at least {tree.max_label + 1}.")
    if not parts.unlabeled and cfg.method != "supervised":
        raise GpslibError(f"The folder {tree.root} has no unlabeled images; put images without masks in "
                          f"{tree.root / 'unlabeled'} (or pass unlabeled_file), or train with method=supervised.")
    lut, palette = tree.classes.lut, tree.classes.palette

    def samples(ids):
        return [Sample(i, parts.paths[i], tree.masks.get(i), lut, palette) for i in ids]

    where = str(tree.root)
    labeled = SegmentationDataset(samples(parts.labeled), train_tf, cfg.num_classes, cfg.labeled_file or where)
    unlabeled = SegmentationDataset(samples(parts.unlabeled), train_tf, cfg.num_classes, cfg.unlabeled_file or where)
    val = SegmentationDataset(samples(parts.val), eval_tf, cfg.num_classes, tree.val_source)
    partition = Partition(parts.labeled, parts.unlabeled, parts.source)
    return labeled, unlabeled, val, partition, tree.class_names(cfg.num_classes), palette


def summary(root: str | Path, labeled_file=None, unlabeled_file=None, dagger: bool = False) -> str:
    """Counts, classes and the pixel histogram of a folder tree, for `gpslib splits` and the book."""
    tree = scan(root)
    parts = split(tree, labeled_file, unlabeled_file, dagger)
    classes = tree.classes
    declared = f"from {classes.source}" if classes.declared is not None else "largest mask id + 1"
    return "\n".join([
        f"folder dataset {tree.root}",
        f"labeled:   {len(parts.labeled)} images",
        f"unlabeled: {len(parts.unlabeled)} images",
        f"val:       {len(parts.val)} images",
        f"source:    {parts.source}",
        f"images:    median {tree.short_side}x{tree.long_side} px (short x long side)",
        f"classes:   {tree.num_classes} ({declared}); ignore index {classes.ignore_index}"
        + ("; RGB masks are converted with the declared palette" if classes.colours is not None else ""),
        histogram_text(tree),
    ])


# ---------------------------------------------------------------- the book's example tree
def export_digits_as_folder(dest: str | Path, n_labeled: int = 40, n_unlabeled: int = 160, n_val: int = 20,
                            rgb_masks: int = 2, source: str | Path | None = None) -> Path:
    """Copy embedded digit scenes into a new folder tree: masked train scenes, mask-less ones, val scenes.

    Labeled scenes keep their palette PNG masks, except the first `rgb_masks`, saved as RGB in the class
    colours to show the conversion; classes.yaml declares the 11 digit classes, their colours and the ignore
    colour; val.txt lists the val scenes (unseen handwriting). `source` is a generated digits dataset
    (default: data/digits, generated if needed). Refuses a non-empty dest.
    """
    from .digits import ensure_digits, is_complete
    from .palette import DIGIT_CLASSES, PALETTE

    src = ensure_digits() if source is None else Path(source)   # a given source is used as it is, any size
    if not is_complete(src):
        raise GpslibError(f"{src} holds no complete digits dataset; generate one with ensure_digits({str(src)!r}).")
    lists = src / "ImageSets" / "Segmentation"
    train, val = read_list(lists / "train.txt"), read_list(lists / "val.txt")
    if n_labeled + n_unlabeled > len(train) or n_val > len(val):
        raise GpslibError(f"{src} has {len(train)} train and {len(val)} val scenes, fewer than the "
                          f"{n_labeled}+{n_unlabeled} and {n_val} asked for.")
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise GpslibError(f"{dest} is not empty; export into a new folder.")
    for folder in ("images", "masks", "unlabeled"):
        (dest / folder).mkdir(parents=True, exist_ok=True)
    labeled_ids = train[:n_labeled] + val[:n_val]
    for k, id_ in enumerate(labeled_ids):
        shutil.copyfile(src / "JPEGImages" / f"{id_}.jpg", dest / "images" / f"{id_}.jpg")
        mask = src / "SegmentationClass" / f"{id_}.png"
        if k < rgb_masks:
            with Image.open(mask) as img:
                Image.fromarray(PALETTE[np.array(img)]).save(dest / "masks" / f"{id_}.png")
        else:
            shutil.copyfile(mask, dest / "masks" / f"{id_}.png")
    for id_ in train[n_labeled:n_labeled + n_unlabeled]:
        shutil.copyfile(src / "JPEGImages" / f"{id_}.jpg", dest / "unlabeled" / f"{id_}.jpg")
    classes = {"names": list(DIGIT_CLASSES), "ignore_index": IGNORE,
               "palette": PALETTE[: len(DIGIT_CLASSES)].tolist(), "ignore_color": PALETTE[IGNORE].tolist()}
    (dest / "classes.yaml").write_text(yaml.safe_dump(classes, default_flow_style=None, sort_keys=False))
    (dest / "val.txt").write_text("\n".join(val[:n_val]) + "\n")
    return dest
