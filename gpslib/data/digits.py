"""The embedded default dataset: scenes of real handwritten digits, written in the Pascal VOC layout.

Nothing can be downloaded here, so the offline dataset is built from the 1,797 8x8 handwritten digits that
scikit-learn ships. Each 64x64 scene holds 1-2 digits 28-40 px tall (the probes of the book's "how this
preset was chosen" section: smaller digits among three per scene were not learnt from scratch at a CPU
budget), drawn in a tinted grey that contrasts with a tinted grey ground carrying a mild gradient and noise.
Digit d is class d + 1, background is 0, and a 1-pixel ignore band (255) runs around every digit like VOC's
object borders.

The source digits are split three ways: held-out scenes, train scenes, and a pool that no scene uses, from which
`pretrain.py` renders single digits the same way to pre-train an encoder (the digits' "ImageNet"). The held-out
handwriting makes two sets of scenes from disjoint random streams: val (500 scenes), on which every choice of the
preset was made, and test (1,000 scenes), which no choice has seen and on which final numbers are reported. So
both measure unseen handwriting, and pre-training sees no scene's label. Generation is deterministic
in the seed, done once, and marked complete last, so an interrupted run is redone. The layout is VOC's:
partitions.py reads its lists (train, val, test) and pascal.py finds its files.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from .. import paths
from ..errors import GpslibError
from ..locks import locked
from ..progress import bar as progress_bar
from .palette import PALETTE

NUM_CLASSES = 11
VAL_SOURCE_FRACTION = 0.2        # share of the 1,797 source digits reserved for val scenes
PRETRAIN_SOURCE_FRACTION = 0.3   # share reserved for encoder pre-training (no scene uses them)
DIGITS_PER_SCENE = (1, 2)        # inclusive range of digits in one scene
DIGIT_HEIGHT = (0.44, 0.625)     # a digit's height as a share of the canvas: 28-40 px on 64
MIN_CONTRAST = 100               # grey levels between a digit and the ground behind it
VERSION = 3                      # bump when scenes change: older datasets are regenerated (3: the test split;
                                 # train and val scenes are those of version 2, bit for bit)
MARKER = ".complete"
MANIFEST = "digits.json"


N_TEST = 1000                    # test scenes: twice val, so a final score has half val's sampling variance


def _params(seed: int, n_train: int, n_val: int, size: int, n_test: int = N_TEST) -> dict:
    return {"seed": int(seed), "n_train": int(n_train), "n_val": int(n_val), "n_test": int(n_test), "size": int(size),
            "version": VERSION}


def _resize(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of a float 2-D array."""
    img = Image.fromarray(array.astype(np.float32), mode="F")
    return np.asarray(img.resize((width, height), Image.BILINEAR))


def _tint(rng: np.random.Generator, grey: float) -> np.ndarray:
    """A grey level with a mild random colour cast (up to 25 levels per channel)."""
    return grey + rng.uniform(-25, 25, 3)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A tinted grey ground with a gentle gradient (up to 40 levels across) and pixel noise (float HxWx3)."""
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    ramp = (np.cos(angle) * xx + np.sin(angle) * yy)[..., None]
    image = _tint(rng, rng.uniform(0, 255)) + rng.uniform(0, 40) * (ramp - ramp.mean())
    image = image + rng.normal(0, 6, (size, size, 3))
    return np.clip(image, 0, 255)


def _luminance(colour: np.ndarray) -> float:
    return float(colour @ np.array([0.299, 0.587, 0.114]))


def _contrasting_colour(rng: np.random.Generator, behind: np.ndarray) -> np.ndarray:
    """A tinted grey at least MIN_CONTRAST levels lighter or darker than `behind` (whichever side has room)."""
    ground = _luminance(behind)
    low, high = (ground + MIN_CONTRAST, 255.0) if ground < 128 else (0.0, ground - MIN_CONTRAST)
    return np.clip(_tint(rng, rng.uniform(low, max(low, high))), 0, 255)


def _dilate(mask: np.ndarray) -> np.ndarray:
    """3x3 binary dilation by shifting a padded copy."""
    padded = np.pad(mask, 1)
    out = np.zeros_like(mask)
    h, w = mask.shape
    for dy in range(3):
        for dx in range(3):
            out |= padded[dy:dy + h, dx:dx + w]
    return out


def _place(rng: np.random.Generator, mask: np.ndarray, height: int, width: int, tries: int = 8) -> tuple[int, int]:
    """The (top, left) among a few random ones whose box covers the fewest digit pixels already drawn."""
    size = mask.shape[0]
    best, best_cover = (0, 0), None
    for _ in range(tries):
        top, left = int(rng.integers(0, size - height + 1)), int(rng.integers(0, size - width + 1))
        cover = int((mask[top:top + height, left:left + width] != 0).sum())
        if best_cover is None or cover < best_cover:
            best, best_cover = (top, left), cover
    return best


def render(rng: np.random.Generator, pool: np.ndarray, digits: np.ndarray, labels: np.ndarray, size: int,
           count: int | None = None):
    """One (uint8 image, uint8 mask, placements) triple of `count` digits (default: a random number in
    DIGITS_PER_SCENE) from `pool`; later digits are drawn over earlier ones."""
    image = _background(rng, size)
    mask = np.zeros((size, size), dtype=np.uint8)
    placements = []
    if count is None:
        count = int(rng.integers(DIGITS_PER_SCENE[0], DIGITS_PER_SCENE[1] + 1))
    for _ in range(count):
        source = int(rng.choice(pool))
        height = int(rng.integers(round(DIGIT_HEIGHT[0] * size), round(DIGIT_HEIGHT[1] * size) + 1))
        width = min(size, int(round(height * rng.uniform(0.8, 1.2))))
        top, left = _place(rng, mask, height, width)
        alpha = np.zeros((size, size), dtype=np.float64)
        alpha[top:top + height, left:left + width] = np.clip(_resize(digits[source] / 16.0, height, width), 0, 1)
        colour = _contrasting_colour(rng, image[top:top + height, left:left + width].mean(axis=(0, 1)))
        image = image * (1 - alpha[..., None]) + colour * alpha[..., None]
        inside = alpha > 0.5
        mask[_dilate(inside) & ~inside] = 255
        mask[inside] = labels[source] + 1
        placements.append([source, int(labels[source]), top, left, height, width])
    image = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).round().astype(np.uint8)
    return image, mask, placements


def _write(root: Path, split: str, count: int, rng, pool, digits, labels, size: int, scenes: dict, bar) -> list[str]:
    ids = []
    bar.set_description(f"digits scenes ({split})")
    for index in range(count):
        id_ = f"{split}_{index:05d}"
        image, mask, placements = render(rng, pool, digits, labels, size)
        Image.fromarray(image).save(root / "JPEGImages" / f"{id_}.jpg", quality=95)
        png = Image.fromarray(mask, mode="P")
        png.putpalette(PALETTE.tobytes())
        png.save(root / "SegmentationClass" / f"{id_}.png")
        scenes[id_] = placements
        ids.append(id_)
        bar.update()
    (root / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("\n".join(ids) + "\n")
    return ids


def source_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits (values 0-16) and their labels 0-9."""
    from sklearn.datasets import load_digits
    data = load_digits()
    return data.images, data.target


def source_pools(seed: int = 0, n: int = 1797) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Disjoint, sorted indices of the source digits for val scenes, encoder pre-training and train scenes."""
    order = np.random.default_rng([seed, 0]).permutation(n)
    n_val, n_pretrain = round(VAL_SOURCE_FRACTION * n), round(PRETRAIN_SOURCE_FRACTION * n)
    return (np.sort(order[:n_val]), np.sort(order[n_val:n_val + n_pretrain]),
            np.sort(order[n_val + n_pretrain:]))


def generate(root: Path, seed: int = 0, n_train: int = 2000, n_val: int = 500, size: int = 64,
             n_test: int = N_TEST, progress: bool | str | None = None) -> None:
    """Write every file of the dataset under root (overwriting), then the manifest and the marker. The default
    size takes about a minute, so `progress` (see gpslib/progress.py) draws a bar of the scenes written."""
    digits, labels = source_digits()
    val_pool, pretrain_pool, train_pool = source_pools(seed)
    for folder in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    scenes: dict = {}
    with progress_bar(n_train + n_val + n_test, "digits scenes", progress, unit="scene") as bar:
        _write(root, "train", n_train, np.random.default_rng([seed, 1]), train_pool, digits, labels, size, scenes, bar)
        _write(root, "val", n_val, np.random.default_rng([seed, 2]), val_pool, digits, labels, size, scenes, bar)
        _write(root, "test", n_test, np.random.default_rng([seed, 3]), val_pool, digits, labels, size, scenes, bar)
    params = _params(seed, n_train, n_val, size, n_test)
    manifest = dict(params, source_digits={"train": train_pool.tolist(), "val": val_pool.tolist(),
                                           "pretrain": pretrain_pool.tolist()},
                    scene_fields=["source_index", "digit", "top", "left", "height", "width"], scenes=scenes)
    (root / MANIFEST).write_text(json.dumps(manifest, separators=(",", ":")))
    (root / MARKER).write_text(json.dumps(params))


def is_complete(root: Path) -> bool:
    """True when a finished dataset (of any size) of this generator version is at root; build_datasets then
    uses it as it is. A dataset of an older version is regenerated."""
    marker = Path(root) / MARKER
    return marker.is_file() and json.loads(marker.read_text() or "{}").get("version") == VERSION


def prepared(root: Path) -> Path:
    """root, after generating the default dataset there unless a complete one (of any size) is there already:
    one fixed dataset (seed 0) serves every run seed."""
    if not is_complete(root):
        ensure_digits(root)
    return Path(root)


def ensure_digits(root: Path | None = None, seed: int = 0, n_train: int = 2000, n_val: int = 500,
                  size: int = 64, n_test: int = N_TEST, progress: bool | str | None = None) -> Path:
    """Generate the dataset at root (default data/digits) unless a complete one with these settings is there;
    `progress` as generate's."""
    root = Path(root) if root is not None else paths.DATA_DIR / "digits"
    params = _params(seed, n_train, n_val, size, n_test)
    root.mkdir(parents=True, exist_ok=True)
    with locked(root / ".lock"):   # one generating process; parallel test workers wait
        marker = root / MARKER
        if marker.is_file() and json.loads(marker.read_text() or "{}") == params:
            return root
        if marker.exists():
            os.remove(marker)
        generate(root, seed, n_train, n_val, size, n_test, progress)
    return root


def describe(root: Path | None = None) -> str:
    """One paragraph on what is in a generated digits dataset, read from its manifest."""
    root = Path(root) if root is not None else paths.DATA_DIR / "digits"
    info = json.loads((root / MANIFEST).read_text())
    per_scene = [len(v) for v in info["scenes"].values()]
    return (f"{info['n_train']} train, {info['n_val']} val and {info.get('n_test', 0)} test scenes of {info['size']}x{info['size']} px at {root}, "
            f"each with {DIGITS_PER_SCENE[0]}-{DIGITS_PER_SCENE[1]} handwritten digits from scikit-learn's load_digits (mean {np.mean(per_scene):.2f}); "
            f"train scenes use {len(info['source_digits']['train'])} source digits, val and test scenes "
            f"{len(info['source_digits']['val'])} others, and {len(info['source_digits'].get('pretrain', []))} more are "
            f"kept for encoder pre-training; {NUM_CLASSES} classes (background, digits 0-9 as 1-10), "
            f"255 marks a 1-pixel border; generated with seed {info['seed']}.")


# ---------------------------------------------------------------- the book's example folder tree
def _copy_masked(src: Path, dest: Path, ids: list[str], rgb_masks: int) -> None:
    """Images and masks of `ids` into dest/images and dest/masks, the first `rgb_masks` masks as RGB pictures."""
    for k, id_ in enumerate(ids):
        shutil.copyfile(src / "JPEGImages" / f"{id_}.jpg", dest / "images" / f"{id_}.jpg")
        mask = src / "SegmentationClass" / f"{id_}.png"
        if k < rgb_masks:
            with Image.open(mask) as img:
                Image.fromarray(PALETTE[np.array(img)]).save(dest / "masks" / f"{id_}.png")
        else:
            shutil.copyfile(mask, dest / "masks" / f"{id_}.png")


def export_digits_as_folder(dest: str | Path, n_labeled: int = 40, n_unlabeled: int = 160, n_val: int = 20,
                            rgb_masks: int = 2, source: str | Path | None = None) -> Path:
    """Copy embedded digit scenes into a new folder tree: masked train scenes, mask-less ones, val scenes.

    Labeled scenes keep their palette PNG masks, except the first `rgb_masks`, saved as RGB in the class
    colours to show the conversion; classes.yaml declares the 11 digit classes, their colours and the ignore
    colour; val.txt lists the val scenes (unseen handwriting). `source` is a generated digits dataset
    (default: data/digits, generated if needed). Refuses a non-empty dest.
    """
    from .palette import DIGIT_CLASSES, IGNORE
    from .scan import read_list

    src = ensure_digits() if source is None else Path(source)   # a given source is used as it is, any size
    if not is_complete(src):
        raise GpslibError(f"{src} holds no complete digits dataset; generate one with ensure_digits({str(src)!r}).")
    lists = src / "ImageSets" / "Segmentation"
    train, val = read_list(lists / "train.txt"), read_list(lists / "val.txt")
    if n_labeled + n_unlabeled > len(train) or n_val > len(val):
        raise GpslibError(f"{src} has {len(train)} train and {len(val)} val scenes, fewer than the "
                          f"{n_labeled}+{n_unlabeled} and {n_val} asked for.")
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise GpslibError(f"{dest} is not empty; export into a new folder.")
    for folder in ("images", "masks", "unlabeled"):
        (dest / folder).mkdir(parents=True, exist_ok=True)
    _copy_masked(src, dest, train[:n_labeled] + val[:n_val], rgb_masks)
    for id_ in train[n_labeled:n_labeled + n_unlabeled]:
        shutil.copyfile(src / "JPEGImages" / f"{id_}.jpg", dest / "unlabeled" / f"{id_}.jpg")
    classes = {"names": list(DIGIT_CLASSES), "ignore_index": IGNORE,
               "palette": PALETTE[: len(DIGIT_CLASSES)].tolist(), "ignore_color": PALETTE[IGNORE].tolist()}
    (dest / "classes.yaml").write_text(yaml.safe_dump(classes, default_flow_style=None, sort_keys=False))
    (dest / "val.txt").write_text("\n".join(val[:n_val]) + "\n")
    return dest

