"""The one split system: which training ids are labeled and which are unlabeled, and where that decision came from.

Every layout returns a `Partition` (a folder tree's also names its validation ids and image paths, see
folder.py); GPS-dagger is `add_dagger` and the text of `gpslib splits` is `describe`, whatever the layout. It reads
id lists (`read_ids`) but never where an id's files are: the datasets check those when they are built.

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

SHIPPED = ("pascal", "cityscapes")


@dataclass
class Partition:
    labeled: list[str]
    unlabeled: list[str]
    source: str
    val: list[str] | None = None             # validation ids (run_ids; a folder tree's from scan.py)
    paths: dict[str, Path] | None = None     # a folder tree's id -> image, including list entries outside it
    test: list[str] | None = None            # the digits' test ids, scored once at the end of a run
    where: dict[str, str] | None = None      # the list each evaluation split came from, for error messages


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


def shipped_dir(dataset: str, partition: str) -> Path | None:
    """data/splits/<dataset>/<1_8> when the shipped CPS lists cover this fraction, else None."""
    folder = paths.SPLITS_DIR / dataset / partition_slug(partition)
    if dataset in SHIPPED and (folder / "labeled.txt").is_file() and (folder / "unlabeled.txt").is_file():
        return folder
    return None


def _train_ids(dataset: str, root: Path) -> list[str]:
    """All training ids a seeded split draws from: the tree's own train list (the digits' VOC layout)."""
    path = root / "ImageSets" / "Segmentation" / "train.txt"
    if not path.is_file():
        raise GpslibError(f"No training list {path} for dataset {dataset!r}; write one id per line there or pass "
                          f"labeled_file and unlabeled_file.")
    return read_ids(path)


def _read_list(path: str | Path) -> list[str]:
    ids = read_ids(Path(path))
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
    """The labeled and unlabeled ids: from the user's lists, the shipped CPS lists, or a seeded split of the digits
    tree's train list."""
    fraction = parse_partition(partition)
    root = paths.data_root(dataset, root)
    if labeled_file is not None or unlabeled_file is not None:
        if labeled_file is None or unlabeled_file is None:
            raise GpslibError("Pass labeled_file and unlabeled_file together (one id per line each), or neither.")
        labeled, unlabeled = _read_list(labeled_file), _read_list(unlabeled_file)
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
        ids = sorted(_train_ids(dataset, root))
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
    root = paths.data_root(dataset, root)
    if dataset == "digits" and labeled_file is None:
        from .digits import prepared
        prepared(root)
    part = resolve_partition(dataset, root, partition, seed, labeled_file, unlabeled_file, dagger)
    return describe(part, f"dataset {dataset}, partition {parse_partition(partition)}" + (" (GPS-dagger)" if dagger else ""))


def run_ids(dataset: str, root: Path, partition: str, seed: int = 0, labeled_file=None, unlabeled_file=None,
            dagger: bool = False) -> Partition:
    """Every id of a run: the partition's labeled and unlabeled ids, the tree's validation ids and, for the
    digits, their test ids (VOC's test masks are not public)."""
    part = resolve_partition(dataset, root, partition, seed, labeled_file, unlabeled_file, dagger)
    root = Path(root)
    if dataset == "cityscapes":              # every image of leftImg8bit/val, else the shipped list
        folder = root / "leftImg8bit" / "val"
        part.val = (sorted(p.name[: -len("_leftImg8bit.png")] for p in folder.glob("*/*_leftImg8bit.png"))
                    if folder.is_dir() else read_ids(paths.SPLITS_DIR / "cityscapes" / "val.txt"))
        part.where = {"val": "leftImg8bit/val"}
        return part
    lists = root / "ImageSets" / "Segmentation"
    part.val = read_ids(lists / "val.txt")
    part.test = read_ids(lists / "test.txt") if dataset == "digits" and (lists / "test.txt").is_file() else None
    part.where = {"val": str(lists / "val.txt"), "test": str(lists / "test.txt")}
    return part
