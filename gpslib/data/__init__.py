"""Datasets for a run: `build_datasets(cfg)` returns the labeled, unlabeled and validation sets.

The labeled and unlabeled sets share the training transform (random scale, crop, flip); the unlabeled
set still returns its ground-truth mask, which the training loop may use only to score pseudo-labels,
never as a training target. Validation images are only normalised and kept at full size.
A run's data reads one way (build.py): the root's layout checked (layout.py), then every id (partitions.py: the
split and the tree's lists), then each id's files (pascal.py for VOC and the digits, cityscapes.py), then the sets
(dataset.py). A `folder` (the user's own tree) brings its own split, classes and colours (folder.py).

The names below load their module on first use, so that `gpslib splits` and `gpslib cost`, which read only the
partition lists, start without torch.
"""
from __future__ import annotations

import importlib

_HOME = {"build_datasets": "build", "DataBundle": "dataset", "Partition": "partitions",
         "resolve_partition": "partitions", "ensure_digits": "digits", "tree_facts": "folder"}


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)


__all__ = sorted(_HOME)
