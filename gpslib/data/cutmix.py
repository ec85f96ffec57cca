"""CutMix for unlabeled batches, as CPS uses it: rectangular boxes taken from a partner image.

The partner of image i is image i-1 of the same batch (`x.roll(1, dims=0)`). In expectation this is the
same as CPS's second unlabeled loader, and it keeps one pass over D^u per epoch, as Table 1 counts it.
Pseudo-labels are mixed with the same mask, and labels are pasted with torch.where, never interpolated.
"""
from __future__ import annotations

import math

import torch


def _uniform(low: float, high: float, generator: torch.Generator | None) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def box_masks(batch: int, height: int, width: int, n_boxes: int = 3, area_range=(0.25, 0.5),
              generator: torch.Generator | None = None) -> torch.Tensor:
    """FloatTensor [B,1,H,W]; 1 inside the boxes, i.e. where pixels come from the partner image.

    Per image the boxes' total area fraction is uniform in `area_range`, split into random shares;
    each box has a random aspect ratio in [1/2, 2]. Boxes are placed without overlap when a few tries
    allow it, so the covered fraction stays close to the drawn total.
    """
    masks = torch.zeros(batch, 1, height, width)
    for b in range(batch):
        total = _uniform(area_range[0], area_range[1], generator)
        shares = torch.rand(n_boxes, generator=generator) + 0.5
        shares = shares / shares.sum()
        for share in shares.tolist():
            area = total * share * height * width
            aspect = math.exp(_uniform(math.log(0.5), math.log(2.0), generator))
            h = min(height, max(1, round(math.sqrt(area * aspect))))
            w = min(width, max(1, round(area / h)))
            for _ in range(20):
                top = int(torch.randint(height - h + 1, (), generator=generator))
                left = int(torch.randint(width - w + 1, (), generator=generator))
                if not masks[b, 0, top:top + h, left:left + w].any():
                    break
            masks[b, 0, top:top + h, left:left + w] = 1.0
    return masks


def mix(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Paste the partner `x.roll(1, 0)` into x where mask == 1; images [B,C,H,W] or label maps [B,H,W]."""
    take = mask.bool()
    if x.dim() == 3 and take.dim() == 4:
        take = take[:, 0]
    return torch.where(take, x.roll(1, dims=0), x)
