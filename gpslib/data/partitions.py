"""The one split system: which training ids are labeled and which are unlabeled, and where that decision came from.

Every layout returns a `Partition` (a folder tree's also names its validation ids and image paths, see
folder.py); GPS-dagger is `add_dagger` and the text of `gpslib splits` is `describe`, whatever the layout.

Three sources, in order: the user's own two list files; for VOC/Cityscapes the CPS lists shipped in
data/splits, which exist for the paper's fractions (1/16, 1/8, 1/4, 1/2) only, so any other fraction there is
refused rather than silently replaced by a split no paper used; for the embedded digits, a split of the
training ids seeded by `seed` (labeled count = round(fraction * n)). GPS-dagger then adds the labeled ids
to the unlabeled set (their labels are never used there); without it the two lists must not overlap.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..partition import PAPER_PARTITIONS, parse_partition, partition_slug
from ..errors import GpslibError
from . import cityscapes, pascal

SHIPPED = ("pascal", "cityscapes")


@dataclass
class Partition:
    labeled: list[str]
    unlabeled: list[str]
    source: str
    val: list[str] | None = None             # a folder tree's validation ids (the others read their val list)
    paths: dict[str, Path] | None = None     # a folder tree's id -> image, including list entries outside it


def add_dagger(part: Partition) -> Partition:
    """GPS-dagger: the labeled ids also join the unlabeled set (their labels are never used there)."""
    present = set(part.unlabeled)
    part.unlabeled = part.unlabeled + [i for i in part.labeled if i not in present]
    part.source += ", with the labeled ids added to the unlabeled set (GPS-dagger)"
    return part


def describe(part: Partition, title: str, extra: tuple[str, ...] = ()) -> str:
    """The lines of `gpslib splits`: a title, the counts, where the lists come from, and any extra lines."""
    counts = [f"labeled:   {len(part.labeled)} images", f"unlabeled: {len(part.unlabeled)} images"]
    if part.val is not None:
        counts.append(f"val:       {len(part.val)} images")
    return "\n".join([title, *counts, f"source:    {part.source}", *extra])


def default_root(dataset: str, root: str | Path | None) -> Path:
    return Path(root) if root is not None else paths.DATA_DIR / dataset


def shipped_dir(dataset: str, partition: str) -> Path | None:
    """data/splits/<dataset>/<1_8> when the shipped CPS lists cover this fraction, else None."""
    folder = paths.SPLITS_DIR / dataset / partition_slug(partition)
    if dataset in SHIPPED and (folder / "labeled.txt").is_file() and (folder / "unlabeled.txt").is_file():
        return folder
    return None


def train_ids(dataset: str, root: Path) -> list[str]:
    """All training ids a seeded split draws from (the tree's own train list; digits only)."""
    ids = pascal.train_ids(root) if root.is_dir() else None
    if ids is None:
        raise GpslibError(
            f"No training list {root / 'ImageSets/Segmentation/train.txt'} for dataset {dataset!r}; "
            f"write one id per line there or pass labeled_file and unlabeled_file.")
    return ids


def _check_user_ids(dataset: str, root: Path, ids: list[str], path: Path) -> None:
    if not root.is_dir():
        return  # the missing root is reported when the datasets are built
    image = cityscapes.train_image if dataset == "cityscapes" else pascal.train_image
    missing = [i for i in ids if not image(root, i).is_file()]
    if missing:
        more = f" (and {len(missing) - 1} more ids)" if len(missing) > 1 else ""
        raise GpslibError(
            f"The list {path} names id {missing[0]!r}{more} but its image {image(root, missing[0])} does not exist; "
            f"fix the list or the data root.")


def _read_list(path: str | Path) -> list[str]:
    ids = pascal.read_ids(Path(path))
    if not ids:
        raise GpslibError(f"The id list {path} is empty; write one image id per line there.")
    return ids


def _check_disjoint(labeled: list[str], unlabeled: list[str], where: str, dagger: bool) -> None:
    """A labeled image in the unlabeled list is GPS-dagger; without dagger=True it is a mistake in the lists."""
    if dagger:
        return
    both = sorted(set(labeled) & set(unlabeled))
    if both:
        more = f" and {len(both) - 1} more" if len(both) > 1 else ""
        raise GpslibError(
            f"The lists {where} both name {both[0]!r}{more}; remove the labeled ids from the unlabeled list, "
            f"or set dagger=true to train GPS-dagger on purpose.")


def resolve_partition(dataset: str, root: str | Path | None, partition: str, seed: int = 0,
                      labeled_file: str | Path | None = None, unlabeled_file: str | Path | None = None,
                      dagger: bool = False) -> Partition:
    fraction = parse_partition(partition)
    root = default_root(dataset, root)
    if labeled_file is not None or unlabeled_file is not None:
        if labeled_file is None or unlabeled_file is None:
            raise GpslibError("Pass labeled_file and unlabeled_file together (one id per line each), or neither.")
        labeled, unlabeled = _read_list(labeled_file), _read_list(unlabeled_file)
        _check_user_ids(dataset, root, labeled, Path(labeled_file))
        _check_user_ids(dataset, root, unlabeled, Path(unlabeled_file))
        _check_disjoint(labeled, unlabeled, f"{labeled_file} and {unlabeled_file}", dagger)
        source = f"user lists {labeled_file} and {unlabeled_file}"
    elif (folder := shipped_dir(dataset, partition)) is not None:
        labeled = _read_list(folder / "labeled.txt")
        unlabeled = _read_list(folder / "unlabeled.txt")
        source = f"the CPS {fraction} partition shipped in {folder}"
    elif dataset in SHIPPED:
        raise GpslibError(
            f"Partition {partition!r} has no published {dataset} split; use one of {', '.join(PAPER_PARTITIONS)} "
            f"(the CPS lists the paper trains on), or pass your own lists as labeled_file and unlabeled_file.")
    else:
        ids = sorted(train_ids(dataset, root))
        count = min(len(ids), max(1, round(fraction * len(ids))))
        chosen = set(random.Random(seed).sample(ids, count))
        labeled = [i for i in ids if i in chosen]
        unlabeled = [i for i in ids if i not in chosen]
        source = f"a split of the {len(ids)} training ids seeded with seed={seed} ({fraction} labeled)"
    part = Partition(labeled, unlabeled, source)
    return add_dagger(part) if dagger else part

def summary(dataset: str, root: str | Path | None, partition: str, seed: int = 0, dagger: bool = False,
            labeled_file: str | Path | None = None, unlabeled_file: str | Path | None = None) -> str:
    """A few lines for `gpslib splits`: counts and where the lists come from."""
    root = default_root(dataset, root)
    if dataset == "digits" and labeled_file is None:
        from .digits import prepared
        prepared(root)
    part = resolve_partition(dataset, root, partition, seed, labeled_file, unlabeled_file, dagger)
    return describe(part, f"dataset {dataset}, partition {parse_partition(partition)}" + (" (GPS-dagger)" if dagger else ""))
