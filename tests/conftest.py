"""Data fixtures: tiny trees in the exact on-disk formats of VOC, Cityscapes and the generated digits."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

# The suite runs as two pytest-xdist workers on two cores: one math thread per process (notebook kernels and
# CLI subprocesses inherit it) avoids oversubscribed, spinning OpenMP threads.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
import torch
from PIL import Image

from gpslib.config import make_config
from gpslib.data.digits import ensure_digits
from gpslib.data.palette import PALETTE


@pytest.fixture(autouse=True, scope="session")
def _temporary_files_under_pytest(tmp_path_factory):
    """The notebooks' demo runs go to tempfile folders (hundreds of MB each). Pointing TMPDIR, which notebook
    kernels and the book build inherit, at pytest's own temporary folder lets pytest prune them with its old
    runs instead of leaving them in /tmp after every test run."""
    os.environ["TMPDIR"] = str(tmp_path_factory.mktemp("tmp"))
    tempfile.tempdir = None


def _image(rng, height, width):
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def _labels(rng, height, width, values):
    return rng.choice(np.asarray(values, dtype=np.uint8), size=(height, width))


def write_voc(root: Path, train_ids, val_ids, mask_dir="SegmentationClassAug", size=(24, 32), seed=0):
    """VOC layout; masks are 'L' PNGs in SegmentationClassAug or palette 'P' PNGs in SegmentationClass."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    for folder in ("JPEGImages", mask_dir, "ImageSets/Segmentation"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for id_ in list(train_ids) + list(val_ids):
        _image(rng, *size).save(root / "JPEGImages" / f"{id_}.jpg", quality=95)
        mask = Image.fromarray(_labels(rng, *size, [0, 1, 5, 20, 255]), mode="L")
        if mask_dir == "SegmentationClass":
            mask = mask.convert("P")
            mask.putpalette(PALETTE.tobytes())
        mask.save(root / mask_dir / f"{id_}.png")
    (root / "ImageSets/Segmentation/train.txt").write_text("\n".join(train_ids) + "\n")
    (root / "ImageSets/Segmentation/val.txt").write_text("\n".join(val_ids) + "\n")
    return root


def write_cityscapes(root: Path, train_ids, val_ids, kind="labelTrainIds", size=(16, 32), seed=0):
    """Cityscapes fine layout; with kind='labelIds' the masks hold the 34 raw ids instead of train ids."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    values = [0, 1, 13, 18, 255] if kind == "labelTrainIds" else [0, 7, 26, 33, 4]
    for split, ids in (("train", train_ids), ("val", val_ids)):
        for id_ in ids:
            city = id_.split("_")[0]
            (root / "leftImg8bit" / split / city).mkdir(parents=True, exist_ok=True)
            (root / "gtFine" / split / city).mkdir(parents=True, exist_ok=True)
            _image(rng, *size).save(root / "leftImg8bit" / split / city / f"{id_}_leftImg8bit.png")
            Image.fromarray(_labels(rng, *size, values), mode="L").save(
                root / "gtFine" / split / city / f"{id_}_gtFine_{kind}.png")
    return root


def write_lists(folder: Path, labeled, unlabeled):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "labeled.txt").write_text("\n".join(labeled) + "\n")
    (folder / "unlabeled.txt").write_text("\n".join(unlabeled) + "\n")
    return folder / "labeled.txt", folder / "unlabeled.txt"


VOC_TRAIN = [f"2007_{i:06d}" for i in range(8)]
VOC_VAL = ["2008_000001", "2008_000002"]
CITY_TRAIN = [f"jena_{i:06d}_000019" for i in range(4)] + [f"aachen_{i:06d}_000019" for i in range(4)]
CITY_VAL = ["frankfurt_000000_000294", "lindau_000001_000019"]


@pytest.fixture
def voc_aug(tmp_path):
    return write_voc(tmp_path / "voc", VOC_TRAIN, VOC_VAL, "SegmentationClassAug")


@pytest.fixture
def voc_palette(tmp_path):
    return write_voc(tmp_path / "voc", VOC_TRAIN, VOC_VAL, "SegmentationClass")


@pytest.fixture
def city_train_ids(tmp_path):
    return write_cityscapes(tmp_path / "cityscapes", CITY_TRAIN, CITY_VAL, "labelTrainIds")


@pytest.fixture
def city_label_ids(tmp_path):
    return write_cityscapes(tmp_path / "cityscapes", CITY_TRAIN, CITY_VAL, "labelIds")


@pytest.fixture(scope="session")
def tiny_digits(tmp_path_factory):
    """A 40-train / 10-val digits dataset, generated once per test session."""
    return ensure_digits(tmp_path_factory.mktemp("digits"), seed=0, n_train=40, n_val=10, n_test=10)


@pytest.fixture(scope="session")
def small_digits(tmp_path_factory):
    """A 64-train / 8-val digits dataset of 32 px scenes, for whole training runs in seconds."""
    return ensure_digits(tmp_path_factory.mktemp("digits32"), seed=0, n_train=64, n_val=8, size=32, n_test=8)


@pytest.fixture
def threads_restored():
    """For a test that sets torch's thread count: the count before is set again afterwards."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


TINY_BACKBONE = "tu-resnet10t"    # half the time of a ResNet-18 per run

# A whole run on `small_digits` in seconds: 3 epochs of 2 iterations, 4 + 4 images, the preset's ResNet-10-T with
# random weights and a narrow decoder. Tests that train in a subprocess pass these fields as a dict.
TINY = dict(crop_size=32, batch_labeled=4, batch_unlabeled=4, epochs=3, iters_per_epoch=2, teacher_epochs=1,
            val_limit=4, pseudo_eval_images=2, device="cpu", decoder_channels=32, backbone=TINY_BACKBONE,
            encoder_weights="random")


def tiny_cfg(root, out_dir, **overrides):
    """The TINY run's config on the digits at `root`, writing to `out_dir`."""
    return make_config("digits", "1/4", **dict(TINY, data_root=str(root), out_dir=str(out_dir), **overrides))
