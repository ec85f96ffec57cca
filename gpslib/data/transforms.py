"""Joint image/mask transforms built from torchvision.transforms.v2, so the mask follows every geometric step.

Training: random scale from a fixed list (as in CPS/GPS), random crop padded where the image is too small
(image with 0, mask with the ignore label 255), random horizontal flip (off for the digits, which are
chiral), then ImageNet normalisation.
Evaluation: normalisation only, on the full image. All randomness comes from torch's global RNG, so a
caller can make one item reproducible by seeding it (see dataset.SegmentationDataset).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from .palette import IGNORE

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class RandomScale:
    """Resize image and mask by one factor drawn from `scales` (v2 resizes a Mask with NEAREST)."""

    def __init__(self, scales: Sequence[float]):
        self.scales = tuple(float(s) for s in scales)

    def __call__(self, image: tv_tensors.Image, mask: tv_tensors.Mask):
        scale = self.scales[int(torch.randint(len(self.scales), ()))]
        if scale == 1.0:
            return image, mask
        height, width = image.shape[-2:]
        size = [max(1, round(height * scale)), max(1, round(width * scale))]
        return F.resize(image, size, antialias=True), F.resize(mask, size)


def _writable(array: np.ndarray) -> np.ndarray:
    """A contiguous array torch may share: read-only ones (np.asarray of a PIL image) are copied."""
    array = np.ascontiguousarray(array)
    return array if array.flags.writeable else array.copy()


class SegTransform:
    """numpy (HxWx3 uint8 image, HxW uint8 mask) -> (FloatTensor [3,H,W], LongTensor [H,W])."""

    def __init__(self, crop_size: int | None = None, scales: Sequence[float] | None = None, train: bool = True,
                 hflip: bool = True):
        self.train = train
        self.scale = RandomScale(scales or (1.0,)) if train else None
        steps = []
        if train:
            steps += [v2.RandomCrop(crop_size, pad_if_needed=True, fill={tv_tensors.Image: 0, tv_tensors.Mask: IGNORE})]
            steps += [v2.RandomHorizontalFlip()] if hflip else []
        steps += [v2.ToDtype({tv_tensors.Image: torch.float32, tv_tensors.Mask: torch.int64}, scale=True),
                  v2.Normalize(MEAN, STD)]
        self.steps = v2.Compose(steps)

    def __call__(self, image: np.ndarray, mask: np.ndarray):
        img = tv_tensors.Image(torch.from_numpy(_writable(image)).permute(2, 0, 1))
        msk = tv_tensors.Mask(torch.from_numpy(_writable(mask)))
        if self.scale is not None:
            img, msk = self.scale(img, msk)
        img, msk = self.steps(img, msk)
        return img.as_subclass(torch.Tensor), msk.as_subclass(torch.Tensor)

    def __repr__(self) -> str:
        return f"SegTransform(train={self.train}, scales={self.scale.scales if self.scale else None}, steps={self.steps})"


def train_transform(crop_size: int, scales: Sequence[float], hflip: bool = True) -> SegTransform:
    return SegTransform(crop_size, scales, train=True, hflip=hflip)


def eval_transform() -> SegTransform:
    return SegTransform(train=False)


def denormalize(image: torch.Tensor) -> np.ndarray:
    """Normalised [3,H,W] tensor -> uint8 HxWx3 array, for plots."""
    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)
    pixels = (image.detach().cpu().float() * std + mean).clamp(0, 1) * 255
    return pixels.round().to(torch.uint8).permute(1, 2, 0).numpy()
