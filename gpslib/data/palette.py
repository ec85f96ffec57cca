"""Class names and colours, so masks can be drawn the way VOC and Cityscapes users expect to see them; and the
one ignore label, which every mask, loss and metric of the package shares."""
from __future__ import annotations

import numpy as np

IGNORE = 255   # the label of pixels no loss or metric counts (VOC's object borders, padding, unlabeled images)

# Digits: class 0 is background and digit d is class d + 1, so "background" keeps VOC's index 0.
DIGIT_CLASSES = ["background"] + [str(d) for d in range(10)]

VOC_CLASSES = [
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
]

CITYSCAPES_CLASSES = [
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
    "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
]


def _voc_palette() -> np.ndarray:
    """The VOC colour map: the bits of the class index are spread over the high bits of R, G and B."""
    palette = np.zeros((256, 3), dtype=np.uint8)
    for index in range(256):
        value, r, g, b = index, 0, 0, 0
        for shift in range(7, -1, -1):
            r |= (value & 1) << shift
            g |= ((value >> 1) & 1) << shift
            b |= ((value >> 2) & 1) << shift
            value >>= 3
        palette[index] = (r, g, b)
    palette[IGNORE] = (224, 224, 192)  # VOC draws the ignore label in this near-white
    return palette


PALETTE = _voc_palette()

# Cityscapes' own colours for its 19 train ids; the rest (and 255) as in PALETTE.
CITYSCAPES_PALETTE = PALETTE.copy()
CITYSCAPES_PALETTE[:19] = [
    (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153), (153, 153, 153),
    (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152), (70, 130, 180), (220, 20, 60),
    (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
]


def class_names(dataset: str, num_classes: int | None = None) -> list[str]:
    """Names for the dataset's classes; generic names when a custom class count does not match."""
    names = {"digits": DIGIT_CLASSES, "pascal": VOC_CLASSES, "cityscapes": CITYSCAPES_CLASSES}.get(dataset)
    if names is None or (num_classes is not None and num_classes != len(names)):
        return [f"class {i}" for i in range(num_classes or 0)]
    return list(names)


def palette_for(dataset: str) -> np.ndarray:
    return CITYSCAPES_PALETTE if dataset == "cityscapes" else PALETTE


def colorize(mask, palette: np.ndarray = PALETTE) -> np.ndarray:
    """Label map (numpy or tensor, HxW) -> uint8 HxWx3 image for plots."""
    if hasattr(mask, "detach"):
        mask = mask.detach().cpu().numpy()
    return palette[np.asarray(mask).astype(np.int64) & 255]
