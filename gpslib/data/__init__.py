"""Datasets for a run: `build_datasets(cfg)` returns the labeled, unlabeled and validation sets.

The labeled and unlabeled sets share the training transform (random scale, crop, flip); the unlabeled
set still returns its ground-truth mask, which the training loop may use only to score pseudo-labels,
never as a training target. Validation images are only normalised and kept at full size.
A run's data reads one way: the root's layout checked (layout.py), then every id (partitions.py: the split and the
tree's lists), then each id's files (pascal.py for VOC and the digits, cityscapes.py), then the sets
(dataset.py). A `folder` (the user's own tree) brings its own split, classes and colours (folder.py).
"""
from __future__ import annotations

from ..config import Config
from ..paths import data_root
from . import cityscapes, folder, pascal
from .dataset import DataBundle, bundle
from .digits import ensure_digits, prepared
from .folder import tree_facts
from .layout import check_root
from .palette import class_names, palette_for
from .partitions import Partition, resolve_partition, run_ids
from .transforms import eval_transform, train_transform


LAYOUTS = {"digits": pascal, "pascal": pascal, "cityscapes": cityscapes}   # dataset -> its layout module


def build_datasets(cfg: Config) -> DataBundle:
    transforms = train_transform(cfg.crop_size, cfg.scales, cfg.hflip), eval_transform()
    if cfg.dataset == "folder":          # the tree is its own split, classes and colours
        return folder.datasets(cfg, transforms)
    root = data_root(cfg.dataset, cfg.data_root)
    if cfg.dataset == "digits":
        prepared(root)
    files = LAYOUTS[cfg.dataset]
    check_root(root, cfg.dataset, files.LAYOUT)
    ids = run_ids(cfg.dataset, root, cfg.partition, cfg.seed, cfg.labeled_file, cfg.unlabeled_file, cfg.dagger)
    return bundle(files.samples_of(root, ids), ids, transforms, cfg, class_names(cfg.dataset, cfg.num_classes),
                  palette_for(cfg.dataset), ids.where)


__all__ = ["DataBundle", "Partition", "build_datasets", "resolve_partition", "ensure_digits", "tree_facts"]
