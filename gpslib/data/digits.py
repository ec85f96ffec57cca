"""The embedded default dataset: scenes of real handwritten digits, written in the Pascal VOC layout.

Nothing can be downloaded here, so the offline dataset is built from the 1,797 8x8 handwritten digits that
scikit-learn ships. Each 64x64 scene holds 1-3 digits, upscaled and placed over a coloured, textured, noisy
background; digit d is class d + 1, background is 0, and a 1-pixel ignore band (255) runs around every digit
like VOC's object borders. Train and val scenes draw on disjoint source digits, so validation measures
generalisation to unseen handwriting. Generation is deterministic in the seed, done once, and marked
complete last, so an interrupted run is redone. Because the layout is VOC's, pascal.py reads it.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from .. import paths
from .palette import PALETTE

NUM_CLASSES = 11
VAL_SOURCE_FRACTION = 0.2   # share of the 1,797 source digits reserved for val scenes
DIGITS_PER_SCENE = (1, 3)   # inclusive range of digits in one scene
DIGIT_HEIGHT = (16, 32)     # inclusive range of a digit's height in pixels (64-pixel canvas)
MARKER = ".complete"
MANIFEST = "digits.json"


def _params(seed: int, n_train: int, n_val: int, size: int) -> dict:
    return {"seed": int(seed), "n_train": int(n_train), "n_val": int(n_val), "size": int(size), "version": 1}


@contextmanager
def _lock(root: Path):
    """Serialise generation between processes (e.g. parallel test workers) where the OS allows it."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock, generation is still deterministic
        yield
        return
    with open(root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _resize(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of a float 2-D array."""
    img = Image.fromarray(array.astype(np.float32), mode="F")
    return np.asarray(img.resize((width, height), Image.BILINEAR))


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth two-colour gradient, low-frequency colour blotches and pixel noise (float HxWx3)."""
    start, end = rng.uniform(0, 255, (2, 3))
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    ramp = (ramp - ramp.min()) / (np.ptp(ramp) + 1e-6)
    image = start + (end - start) * ramp[..., None]
    blotches = rng.normal(0, 30, (4, 4, 3))
    image += np.stack([_resize(blotches[..., c], size, size) for c in range(3)], axis=-1)
    image += rng.normal(0, 8, (size, size, 3))
    return np.clip(image, 0, 255)


def _luminance(colour: np.ndarray) -> float:
    return float(colour @ np.array([0.299, 0.587, 0.114]))


def _contrasting_colour(rng: np.random.Generator, behind: np.ndarray) -> np.ndarray:
    """A random colour whose luminance differs from `behind` by at least 90 grey levels."""
    colour = rng.uniform(0, 255, 3)
    gap = _luminance(colour) - _luminance(behind)
    if abs(gap) < 90:
        direction = 1.0 if _luminance(behind) < 128 else -1.0
        colour = colour + direction * (90 - direction * gap)
    return np.clip(colour, 0, 255)


def _dilate(mask: np.ndarray) -> np.ndarray:
    """3x3 binary dilation by shifting a padded copy."""
    padded = np.pad(mask, 1)
    out = np.zeros_like(mask)
    h, w = mask.shape
    for dy in range(3):
        for dx in range(3):
            out |= padded[dy:dy + h, dx:dx + w]
    return out


def _scene(rng: np.random.Generator, pool: np.ndarray, digits: np.ndarray, labels: np.ndarray, size: int):
    """One (uint8 image, uint8 mask, placements) triple; later digits are drawn over earlier ones."""
    image = _background(rng, size)
    mask = np.zeros((size, size), dtype=np.uint8)
    placements = []
    for _ in range(int(rng.integers(DIGITS_PER_SCENE[0], DIGITS_PER_SCENE[1] + 1))):
        source = int(rng.choice(pool))
        height = int(rng.integers(DIGIT_HEIGHT[0], DIGIT_HEIGHT[1] + 1))
        width = min(size, int(round(height * rng.uniform(0.8, 1.2))))
        top, left = int(rng.integers(0, size - height + 1)), int(rng.integers(0, size - width + 1))
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


def _write(root: Path, split: str, count: int, rng, pool, digits, labels, size: int, scenes: dict) -> list[str]:
    ids = []
    for index in range(count):
        id_ = f"{split}_{index:05d}"
        image, mask, placements = _scene(rng, pool, digits, labels, size)
        Image.fromarray(image).save(root / "JPEGImages" / f"{id_}.jpg", quality=95)
        png = Image.fromarray(mask, mode="P")
        png.putpalette(PALETTE.tobytes())
        png.save(root / "SegmentationClass" / f"{id_}.png")
        scenes[id_] = placements
        ids.append(id_)
    (root / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("\n".join(ids) + "\n")
    return ids


def generate(root: Path, seed: int = 0, n_train: int = 2000, n_val: int = 500, size: int = 64) -> None:
    """Write every file of the dataset under root (overwriting), then the manifest and the marker."""
    from sklearn.datasets import load_digits

    data = load_digits()
    digits, labels = data.images, data.target
    order = np.random.default_rng([seed, 0]).permutation(len(digits))
    n_val_source = round(VAL_SOURCE_FRACTION * len(digits))
    val_pool, train_pool = np.sort(order[:n_val_source]), np.sort(order[n_val_source:])
    for folder in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    scenes: dict = {}
    _write(root, "train", n_train, np.random.default_rng([seed, 1]), train_pool, digits, labels, size, scenes)
    _write(root, "val", n_val, np.random.default_rng([seed, 2]), val_pool, digits, labels, size, scenes)
    params = _params(seed, n_train, n_val, size)
    manifest = dict(params, source_digits={"train": train_pool.tolist(), "val": val_pool.tolist()},
                    scene_fields=["source_index", "digit", "top", "left", "height", "width"], scenes=scenes)
    (root / MANIFEST).write_text(json.dumps(manifest, separators=(",", ":")))
    (root / MARKER).write_text(json.dumps(params))


def is_complete(root: Path) -> bool:
    """True when a finished dataset (of any size) is at root; build_datasets then uses it as it is."""
    return (Path(root) / MARKER).is_file()


def ensure_digits(root: Path | None = None, seed: int = 0, n_train: int = 2000, n_val: int = 500,
                  size: int = 64) -> Path:
    """Generate the dataset at root (default data/digits) unless a complete one with these settings is there."""
    root = Path(root) if root is not None else paths.DATA_DIR / "digits"
    params = _params(seed, n_train, n_val, size)
    root.mkdir(parents=True, exist_ok=True)
    with _lock(root):
        marker = root / MARKER
        if marker.is_file() and json.loads(marker.read_text() or "{}") == params:
            return root
        if marker.exists():
            os.remove(marker)
        generate(root, seed, n_train, n_val, size)
    return root


def describe(root: Path | None = None) -> str:
    """One paragraph on what is in a generated digits dataset, read from its manifest."""
    root = Path(root) if root is not None else paths.DATA_DIR / "digits"
    info = json.loads((root / MANIFEST).read_text())
    per_scene = [len(v) for v in info["scenes"].values()]
    return (f"{info['n_train']} train and {info['n_val']} val scenes of {info['size']}x{info['size']} px at {root}, "
            f"each with 1-3 handwritten digits from scikit-learn's load_digits (mean {np.mean(per_scene):.2f}); "
            f"train scenes use {len(info['source_digits']['train'])} source digits and val scenes "
            f"{len(info['source_digits']['val'])} others; {NUM_CLASSES} classes (background, digits 0-9 as 1-10), "
            f"255 marks a 1-pixel border; generated with seed {info['seed']}.")
