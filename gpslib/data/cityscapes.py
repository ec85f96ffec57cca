"""Cityscapes fine layout, with labelIds mapped to the 19 train ids on the fly when no labelTrainIds exist.

    <root>/leftImg8bit/{train,val}/<city>/<id>_leftImg8bit.png
    <root>/gtFine/{train,val}/<city>/<id>_gtFine_labelTrainIds.png   (or _gtFine_labelIds.png)
Ids look like jena_000078_000019; the city is the prefix before the first '_'.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import paths
from . import layout
from .dataset import DataBundle, Sample, bundle
from .palette import class_names, palette_for
from .pascal import read_ids

LAYOUT = ("leftImg8bit/{train,val}/<city>/<id>_leftImg8bit.png and "
          "gtFine/{train,val}/<city>/<id>_gtFine_labelTrainIds.png (or _labelIds.png)")

# labelIds 0..33 -> train ids 0..18, everything else ignored (Cityscapes' own labels.py table).
ID_TO_TRAINID = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10,
                 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}
LUT = np.full(256, 255, dtype=np.uint8)
for _id, _train_id in ID_TO_TRAINID.items():
    LUT[_id] = _train_id


def check_root(root: Path) -> None:
    layout.check_root(root, "cityscapes", LAYOUT)


def city(id_: str) -> str:
    return id_.split("_", 1)[0]


def image_path(root: Path, split: str, id_: str) -> Path:
    return Path(root) / "leftImg8bit" / split / city(id_) / f"{id_}_leftImg8bit.png"


def train_image(root: Path, id_: str) -> Path:
    return image_path(root, "train", id_)


def samples(root: Path, split: str, ids: list[str]) -> list[Sample]:
    found = []
    for id_ in ids:
        folder = Path(root) / "gtFine" / split / city(id_)
        mask, lut = folder / f"{id_}_gtFine_labelTrainIds.png", None
        if not mask.is_file() and (folder / f"{id_}_gtFine_labelIds.png").is_file():
            mask, lut = folder / f"{id_}_gtFine_labelIds.png", LUT
        found.append(Sample(id_, image_path(root, split, id_), mask, lut))
    return found


def scan(root: Path, split: str) -> list[str] | None:
    """Ids of every image under leftImg8bit/<split>, None when that folder is absent."""
    folder = Path(root) / "leftImg8bit" / split
    if not folder.is_dir():
        return None
    return sorted(p.name[: -len("_leftImg8bit.png")] for p in folder.glob("*/*_leftImg8bit.png"))


def val_ids(root: Path) -> list[str]:
    ids = scan(root, "val")
    return ids if ids is not None else read_ids(paths.SPLITS_DIR / "cityscapes" / "val.txt")


def datasets(cfg, root: Path, partition, transforms) -> DataBundle:
    """Labeled, unlabeled (from train) and validation (val) sets of a Cityscapes tree."""
    check_root(root)
    return bundle(lambda ids, split: samples(root, split, ids), partition, val_ids(root), transforms, cfg,
                  class_names(cfg.dataset, cfg.num_classes), palette_for(cfg.dataset), "leftImg8bit/val")
