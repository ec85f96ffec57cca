"""Datasets for a run: `build_datasets(cfg)` returns the labeled, unlabeled and validation sets.

The labeled and unlabeled sets share the training transform (random scale, crop, flip); the unlabeled
set still returns its ground-truth mask, which the training loop may use only to score pseudo-labels,
never as a training target. Validation images are only normalised and kept at full size.
Each layout module (pascal.py for VOC and the digits, cityscapes.py, folder.py) says where an id's files are;
dataset.bundle builds the three sets alike. A `folder` (the user's own tree) brings its own split, classes
and colours; the others take theirs from partitions.py and palette.py.
"""
from __future__ import annotations

from ..config import Config
from . import cityscapes, folder, pascal
from .dataset import DataBundle
from .digits import ensure_digits, prepared
from .folder import tree_facts
from .partitions import Partition, default_root, resolve_partition
from .transforms import eval_transform, train_transform


LAYOUTS = {"digits": pascal, "pascal": pascal, "cityscapes": cityscapes}   # dataset -> its layout module


def build_datasets(cfg: Config) -> DataBundle:
    transforms = train_transform(cfg.crop_size, cfg.scales, cfg.hflip), eval_transform()
    if cfg.dataset == "folder":          # the tree is its own split, classes and colours
        return folder.datasets(cfg, transforms)
    root = default_root(cfg.dataset, cfg.data_root)
    if cfg.dataset == "digits":
        prepared(root)
    partition = resolve_partition(cfg.dataset, root, cfg.partition, seed=cfg.seed, labeled_file=cfg.labeled_file,
                                  unlabeled_file=cfg.unlabeled_file, dagger=cfg.dagger)
    return LAYOUTS[cfg.dataset].datasets(cfg, root, partition, transforms)


__all__ = ["DataBundle", "Partition", "build_datasets", "resolve_partition", "ensure_digits", "tree_facts"]
