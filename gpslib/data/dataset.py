"""One Dataset class for every layout: a list of (id, image file, mask file) plus a transform.

The layouts (VOC, Cityscapes, digits, a folder) only differ in where the files are, so pascal.py, cityscapes.py
and folder.py build the file lists and this class loads, checks and transforms. Existence of every file is checked when
the dataset is built (cheap); corruption, size mismatch and label range are checked when an item is read.
A file that cannot be decoded stops the run by default; with `skip_corrupt(dataset, log)` the training sets
instead warn, note the file in a log the trainer counts into the history, and serve the next readable item.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..errors import CorruptFileError, GpslibError
from .palette import IGNORE


@dataclass(frozen=True)
class Sample:
    id: str
    image: Path
    mask: Path | None                  # None: an unlabeled image without a mask (every pixel reads as ignore)
    lut: np.ndarray | None = None      # 256-entry table from stored values to train ids (Cityscapes labelIds)
    palette: np.ndarray | None = None  # Kx3 colours of classes 0..K-1: RGB masks drawn in them are converted


@dataclass
class DataBundle:
    """What build_datasets returns for any layout: the three sets, the split they come from, classes, colours."""
    labeled: "SegmentationDataset"
    unlabeled: "SegmentationDataset"
    val: "SegmentationDataset"
    partition: object                      # data.partitions.Partition
    num_classes: int
    class_names: list[str]
    palette: np.ndarray                    # 256 colours that draw the masks
    test: "SegmentationDataset | None" = None   # scored once at the end of a run; no choice is made on it


def bundle(samples: dict[str, list[Sample] | None], partition, transforms, cfg, class_names: list[str],
           palette: np.ndarray, where: dict[str, str]) -> DataBundle:
    """The labeled and unlabeled (training transform), validation and test (eval transform; test only where the
    tree has one) sets of a layout's samples. A missing file's error names its list: the user's, else where[split]
    (for the training sets, default: where the partition came from)."""
    train_tf, eval_tf = transforms
    n, train_where = cfg.num_classes, where.get("train", partition.source)
    labeled = SegmentationDataset(samples["labeled"], train_tf, n, cfg.labeled_file or train_where)
    unlabeled = SegmentationDataset(samples["unlabeled"], train_tf, n, cfg.unlabeled_file or train_where)
    val = SegmentationDataset(samples["val"], eval_tf, n, where["val"])
    test = SegmentationDataset(samples["test"], eval_tf, n, where["test"]) if samples.get("test") else None
    return DataBundle(labeled, unlabeled, val, partition, n, class_names, palette, test)


def check_files(samples: list[Sample], where: str) -> None:
    """Raise on the first image or mask file that does not exist, naming it and the list it came from."""
    for sample in samples:
        for kind, path in (("image", sample.image), ("mask", sample.mask)):
            if path is not None and not os.path.isfile(path):
                raise GpslibError(
                    f"The {kind} file {path} for id {sample.id!r} (listed in {where}) does not exist; "
                    f"put it there or remove the id from the list.")


def read_image(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as img:
            return np.array(img.convert("RGB"))
    except (OSError, ValueError, SyntaxError) as err:
        raise CorruptFileError(f"Image file {path} cannot be read ({err}); replace it with an intact copy "
                               f"(or set on_corrupt=skip to train without it).") from None


def colours_to_index(rgb: np.ndarray, palette: np.ndarray, path: Path) -> np.ndarray:
    """An HxWx3 mask drawn in `palette` colours -> HxW class ids (palette row i is class i; row 255 is ignore)."""
    codes = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    table = (palette[:, 0].astype(np.int64) << 16) | (palette[:, 1].astype(np.int64) << 8) | palette[:, 2]
    order = np.argsort(table, kind="stable")
    position = np.clip(np.searchsorted(table[order], codes), 0, len(table) - 1)
    found = table[order][position] == codes
    if not found.all():
        unknown = {tuple(int(c) for c in colour) for colour in rgb[~found][:1000]}
        raise GpslibError(
            f"Mask file {path} is an RGB image with colour(s) {sorted(unknown)[:3]} that are not class colours; "
            f"save masks as index PNGs (mode L or P) holding class ids, or declare the palette they are drawn in.")
    return order[position].astype(np.uint8)


def read_mask(path: Path, lut: np.ndarray | None = None, palette: np.ndarray | None = None) -> np.ndarray:
    """Index values of a label PNG ('L' or palette 'P': the indices, never the colours).

    An RGB mask is converted through `palette` when every colour is a class colour, and rejected otherwise.
    """
    try:
        with Image.open(path) as img:
            if img.mode in ("RGB", "RGBA") and palette is not None:
                return colours_to_index(np.array(img.convert("RGB")), np.asarray(palette), path)
            if img.mode not in ("L", "P", "I", "I;16"):
                raise GpslibError(
                    f"Mask file {path} is a {img.mode} image; masks must be single-channel index PNGs "
                    f"(mode L or P) holding class ids, see data/README.md.")
            mask = np.array(img)
    except (OSError, ValueError, SyntaxError) as err:
        raise CorruptFileError(f"Mask file {path} cannot be read ({err}); replace it with an intact copy "
                               f"(or set on_corrupt=skip to train without it).") from None
    if lut is not None:
        mask = lut[np.clip(mask, 0, 255).astype(np.int64)]
    return mask


class SegmentationDataset(Dataset):
    """Items are (image FloatTensor [3,H,W] normalised, mask LongTensor [H,W] in 0..C-1 or 255).

    `ds[i]` uses the global RNG for augmentation; `ds[(i, seed)]` makes the augmentation a function
    of `seed` alone, so a training loop can replay a run after resume, whatever the DataLoader workers.
    """

    def __init__(self, samples: list[Sample], transform, num_classes: int, where: str = "the split list"):
        check_files(samples, where)
        self.samples = list(samples)
        self.transform = transform
        self.num_classes = int(num_classes)
        self.skip_log: Path | None = None   # set by skip_corrupt(): undecodable items are skipped and logged here

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The raw, checked (HxWx3 uint8 image, HxW uint8 mask) pair, before any transform."""
        sample = self.samples[index]
        image = read_image(sample.image)
        if sample.mask is None:
            return image, np.full(image.shape[:2], IGNORE, dtype=np.uint8)
        mask = read_mask(sample.mask, sample.lut, sample.palette)
        if mask.shape != image.shape[:2]:
            raise GpslibError(
                f"Mask file {sample.mask} is {mask.shape[1]}x{mask.shape[0]} but its image {sample.image} is "
                f"{image.shape[1]}x{image.shape[0]}; a mask must have its image's size.")
        bad = (mask >= self.num_classes) & (mask != IGNORE)
        if bad.any():
            values = sorted(int(v) for v in np.unique(mask[bad]))[:5]
            raise GpslibError(
                f"Mask file {sample.mask} holds label(s) {values} outside 0..{self.num_classes - 1} and 255; "
                f"check num_classes or convert the mask to train ids.")
        return image, mask.astype(np.uint8)

    def load_or_skip(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """load(index), or in skip mode the first readable item after it (each skipped file logged once)."""
        if not 0 <= index < len(self):
            raise IndexError(index)   # also ends `for item in dataset`, which walks indices until IndexError
        for offset in range(len(self)):
            try:
                return self.load((index + offset) % len(self))
            except CorruptFileError as err:
                if self.skip_log is None:
                    raise
                _log_skip(self.skip_log, str(err))
        raise GpslibError(f"Every file of this dataset ({len(self)} items) is unreadable; check the data root.")

    def __getitem__(self, key):
        if isinstance(key, tuple):
            index, seed = key
            image, mask = self.load_or_skip(int(index))
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed))
                return self.transform(image, mask)
        image, mask = self.load_or_skip(int(key))
        return self.transform(image, mask)


def skip_corrupt(dataset: SegmentationDataset, log: Path) -> None:
    """Let `dataset` skip undecodable files, recording them in `log` (shared by DataLoader worker processes)."""
    dataset.skip_log = Path(log)


def _log_skip(log: Path, message: str) -> None:
    seen = set(log.read_text().splitlines()) if log.is_file() else set()
    if message not in seen:
        warnings.warn(f"Skipped: {message}", stacklevel=3)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as handle:   # one short line per append: whole lines even from several workers
            handle.write(message + "\n")


def skipped_files(log: Path) -> list[str]:
    """The distinct skip messages recorded in `log` (empty when nothing was skipped)."""
    return sorted(set(Path(log).read_text().splitlines())) if Path(log).is_file() else []
