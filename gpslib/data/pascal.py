"""Pascal VOC 2012 (augmented) layout; the embedded digits use the same layout with 11 classes.

    <root>/JPEGImages/<id>.jpg
    <root>/SegmentationClassAug/<id>.png   index PNGs (SBD converted), or
    <root>/SegmentationClass/<id>.png      VOC's palette PNGs (the indices are read, not the colours;
                                           a mask saved as RGB in VOC's colours is converted back to indices)
    <root>/ImageSets/Segmentation/val.txt  (and train.txt / train_aug.txt; test.txt is the held-out test split
                                           when every id it lists has a mask, as in the digits)
"""
from __future__ import annotations

from pathlib import Path

from ..errors import GpslibError
from . import layout
from .dataset import DataBundle, Sample, bundle
from .palette import PALETTE, class_names, palette_for

MASK_DIRS = ("SegmentationClassAug", "SegmentationClass")
LAYOUT = ("JPEGImages/<id>.jpg, SegmentationClassAug/<id>.png (or SegmentationClass/<id>.png) "
          "and ImageSets/Segmentation/val.txt")


def check_root(root: Path) -> None:
    layout.check_root(root, "pascal", LAYOUT)


def read_ids(path: Path) -> list[str]:
    """One id per line; blank lines skipped; a 'a/b.jpg c/d.png' pair line keeps the stem of the first."""
    if not Path(path).is_file():
        raise GpslibError(f"The id list {path} does not exist; write one image id per line there.")
    ids = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line:
            name = Path(line.split()[0]).name
            ids.append(name.rsplit(".", 1)[0] if name.lower().endswith((".jpg", ".jpeg", ".png")) else name)
    return ids


def samples(root: Path, ids: list[str]) -> list[Sample]:
    root = Path(root)
    found = []
    for id_ in ids:
        mask = root / MASK_DIRS[0] / f"{id_}.png"
        if not mask.is_file():
            mask = root / MASK_DIRS[1] / f"{id_}.png"
        found.append(Sample(id_, root / "JPEGImages" / f"{id_}.jpg", mask, palette=PALETTE))
    return found


def train_image(root: Path, id_: str) -> Path:
    return Path(root) / "JPEGImages" / f"{id_}.jpg"


def train_ids(root: Path) -> list[str] | None:
    """The tree's own training list (train_aug.txt, else train.txt), None when it has none."""
    for name in ("train_aug.txt", "train.txt"):
        path = Path(root) / "ImageSets" / "Segmentation" / name
        if path.is_file():
            return read_ids(path)
    return None


def val_ids(root: Path) -> list[str]:
    return read_ids(Path(root) / "ImageSets" / "Segmentation" / "val.txt")


def test_ids(root: Path) -> list[str] | None:
    """The ids of test.txt when each has a mask (the digits'); None otherwise (VOC's test masks are not public)."""
    path = Path(root) / "ImageSets" / "Segmentation" / "test.txt"
    if not path.is_file():
        return None
    ids = read_ids(path)
    return ids if ids and all(s.mask.is_file() for s in samples(root, ids)) else None


def datasets(cfg, root: Path, partition, transforms) -> DataBundle:
    """Labeled, unlabeled, validation (and, where the tree has one, test) sets of a VOC-layout tree."""
    check_root(root)
    return bundle(lambda ids, split: samples(root, ids), partition, val_ids(root), transforms, cfg,
                  class_names(cfg.dataset, cfg.num_classes), palette_for(cfg.dataset),
                  str(Path(root) / "ImageSets/Segmentation/val.txt"), test_ids=test_ids(root),
                  test_where=str(Path(root) / "ImageSets/Segmentation/test.txt"))
