"""Datasets for a run: `build_datasets(cfg)` returns the labeled, unlabeled and validation sets.

The labeled and unlabeled sets share the training transform (random scale, crop, flip); the unlabeled
set still returns its ground-truth mask, which the training loop may use only to score pseudo-labels,
never as a training target. Validation images are only normalised and kept at full size.
A `folder` dataset (the user's own tree, folder.py) brings its own split, classes and class names.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from torch.utils.data import Dataset

from ..config import Config
from . import cityscapes, folder, pascal
from .digits import ensure_digits, is_complete
from .palette import PALETTE, palette_for
from .palette import class_names as _class_names
from .folder import tree_facts
from .partitions import Partition, default_root, resolve_partition
from .transforms import eval_transform, train_transform


@dataclass
class DataBundle:
    labeled: Dataset
    unlabeled: Dataset
    val: Dataset
    partition: Partition
    num_classes: int
    class_names: list[str]
    palette: np.ndarray = field(default_factory=lambda: PALETTE)   # 256 colours that draw the masks


def build_datasets(cfg: Config) -> DataBundle:
    if cfg.dataset == "folder":
        labeled, unlabeled, val, partition, names, palette = folder.datasets(
            cfg, train_transform(cfg.crop_size, cfg.scales, cfg.hflip), eval_transform())
        return DataBundle(labeled, unlabeled, val, partition, cfg.num_classes, names,
                          PALETTE if palette is None else palette)
    root = default_root(cfg.dataset, cfg.data_root)
    if cfg.dataset == "digits" and not is_complete(root):
        ensure_digits(root)  # one fixed dataset (seed 0) for every run seed; an existing one is used as is
    partition = resolve_partition(cfg.dataset, root, cfg.partition, seed=cfg.seed, labeled_file=cfg.labeled_file,
                                  unlabeled_file=cfg.unlabeled_file, dagger=cfg.dagger)
    train_tf, eval_tf = train_transform(cfg.crop_size, cfg.scales, cfg.hflip), eval_transform()
    n = cfg.num_classes
    where_l = cfg.labeled_file or partition.source
    where_u = cfg.unlabeled_file or partition.source
    if cfg.dataset == "cityscapes":
        labeled = cityscapes.dataset(root, partition.labeled, "train", train_tf, n, where_l)
        unlabeled = cityscapes.dataset(root, partition.unlabeled, "train", train_tf, n, where_u)
        val = cityscapes.dataset(root, cityscapes.val_ids(root), "val", eval_tf, n, "leftImg8bit/val")
    else:
        labeled = pascal.dataset(root, partition.labeled, train_tf, n, where_l)
        unlabeled = pascal.dataset(root, partition.unlabeled, train_tf, n, where_u)
        val = pascal.dataset(root, pascal.val_ids(root), eval_tf, n, str(root / "ImageSets/Segmentation/val.txt"))
    return DataBundle(labeled, unlabeled, val, partition, n, _class_names(cfg.dataset, n), palette_for(cfg.dataset))


__all__ = ["DataBundle", "Partition", "build_datasets", "resolve_partition", "ensure_digits", "tree_facts"]
