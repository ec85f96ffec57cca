"""Where an id's files are in the Cityscapes fine layout; labelIds are mapped to the 19 train ids on the fly when
no labelTrainIds exist (partitions.py reads the id lists).

    <root>/leftImg8bit/{train,val}/<city>/<id>_leftImg8bit.png
    <root>/gtFine/{train,val}/<city>/<id>_gtFine_labelTrainIds.png   (or _gtFine_labelIds.png)
Ids look like jena_000078_000019; the city is the prefix before the first '_'.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .dataset import Sample

LAYOUT = ("leftImg8bit/{train,val}/<city>/<id>_leftImg8bit.png and "
          "gtFine/{train,val}/<city>/<id>_gtFine_labelTrainIds.png (or _labelIds.png)")

# labelIds 0..33 -> train ids 0..18, everything else ignored (Cityscapes' own labels.py table).
ID_TO_TRAINID = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10,
                 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}
LUT = np.full(256, 255, dtype=np.uint8)
for _id, _train_id in ID_TO_TRAINID.items():
    LUT[_id] = _train_id


def city(id_: str) -> str:
    return id_.split("_", 1)[0]


def image_path(root: Path, split: str, id_: str) -> Path:
    return Path(root) / "leftImg8bit" / split / city(id_) / f"{id_}_leftImg8bit.png"


def samples(root: Path, split: str, ids: list[str]) -> list[Sample]:
    found = []
    for id_ in ids:
        folder = Path(root) / "gtFine" / split / city(id_)
        mask, lut = folder / f"{id_}_gtFine_labelTrainIds.png", None
        if not mask.is_file() and (folder / f"{id_}_gtFine_labelIds.png").is_file():
            mask, lut = folder / f"{id_}_gtFine_labelIds.png", LUT
        found.append(Sample(id_, image_path(root, split, id_), mask, lut))
    return found


def samples_of(root: Path, ids) -> dict[str, list[Sample]]:
    """Each split's samples (labeled and unlabeled from train/, val from val/); `ids` is the run's Partition."""
    return {"labeled": samples(root, "train", ids.labeled), "unlabeled": samples(root, "train", ids.unlabeled),
            "val": samples(root, "val", ids.val)}
