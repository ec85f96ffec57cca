"""Where an id's files are in the Pascal VOC 2012 (augmented) layout; the embedded digits use it with 11 classes.

    <root>/JPEGImages/<id>.jpg
    <root>/SegmentationClassAug/<id>.png   index PNGs (SBD converted), or
    <root>/SegmentationClass/<id>.png      VOC's palette PNGs (the indices are read, not the colours;
                                           a mask saved as RGB in VOC's colours is converted back to indices)
    <root>/ImageSets/Segmentation/val.txt  (and train.txt / train_aug.txt; test.txt: the digits' test split;
                                           the lists are read by partitions.py)
"""
from __future__ import annotations

from pathlib import Path

from .dataset import Sample
from .palette import PALETTE

MASK_DIRS = ("SegmentationClassAug", "SegmentationClass")
LAYOUT = ("JPEGImages/<id>.jpg, SegmentationClassAug/<id>.png (or SegmentationClass/<id>.png) "
          "and ImageSets/Segmentation/val.txt")


def samples(root: Path, ids: list[str]) -> list[Sample]:
    root = Path(root)
    found = []
    for id_ in ids:
        mask = root / MASK_DIRS[0] / f"{id_}.png"
        if not mask.is_file():
            mask = root / MASK_DIRS[1] / f"{id_}.png"
        found.append(Sample(id_, root / "JPEGImages" / f"{id_}.jpg", mask, palette=PALETTE))
    return found


def samples_of(root: Path, ids) -> dict[str, list[Sample] | None]:
    """Each split's samples; `ids` is the run's partitions.Partition."""
    return {"labeled": samples(root, ids.labeled), "unlabeled": samples(root, ids.unlabeled),
            "val": samples(root, ids.val), "test": samples(root, ids.test) if ids.test else None}
