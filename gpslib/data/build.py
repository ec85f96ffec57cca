"""A run's datasets from its config: the root's layout checked, its ids, its files, its sets."""
from __future__ import annotations

from ..config import Config
from ..paths import data_root
from . import cityscapes, folder, pascal
from .dataset import DataBundle, bundle
from .digits import prepared
from .layout import check_root
from .palette import class_names, palette_for
from .partitions import run_ids
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
