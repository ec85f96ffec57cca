"""One iteration's data, assembled one way for the training loop, `gpslib bench` and the book's chapters.

A Batch holds X^l, Y^l, X^u and the CutMix boxes of X^u. The boxes are a function of (seed, iteration)
alone, so a resumed run and the bench draw the same boxes as an uninterrupted run.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..data.cutmix import box_masks, mix
from .stream import MIX


@dataclass
class Batch:
    """One iteration's data on the device: labeled X^l, Y^l; unlabeled X^u and its CutMix boxes (or None)."""
    x_l: Tensor
    y_l: Tensor
    x_u: Tensor | None = None
    boxes: Tensor | None = None

    def mixed(self, t: Tensor) -> Tensor:
        """Apply this batch's CutMix to an image batch or a label map (identity without CutMix)."""
        return t if self.boxes is None else mix(t, self.boxes)


def cutmix_boxes(cfg, iteration: int, x_u: Tensor) -> Tensor | None:
    """The CutMix boxes of iteration `iteration` (None when cfg.cutmix is off), drawn from (seed, iteration)."""
    if not cfg.cutmix:
        return None
    generator = torch.Generator().manual_seed(cfg.seed * MIX + iteration)
    return box_masks(len(x_u), x_u.shape[-2], x_u.shape[-1], cfg.cutmix_boxes, cfg.cutmix_area, generator)


def assemble(cfg, iteration: int, x_l: Tensor, y_l: Tensor, x_u: Tensor | None = None,
               device: torch.device | str = "cpu", memory_format=torch.contiguous_format) -> Batch:
    """The Batch of one iteration on `device`: images in `memory_format`, CutMix boxes when X^u is given."""
    def images(x):
        return x.to(device, non_blocking=True).contiguous(memory_format=memory_format)

    batch = Batch(images(x_l), y_l.to(device, non_blocking=True))
    if x_u is not None:
        batch.x_u = images(x_u)
        boxes = cutmix_boxes(cfg, iteration, x_u)
        batch.boxes = None if boxes is None else boxes.to(device, non_blocking=True)
    return batch
