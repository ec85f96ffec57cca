"""What a CutMix recipe does to the digits of 64 px scenes. CPS's VOC recipe (three boxes, 25-50 % of the image)
was made for objects small in a 512 px crop; a digit is 28-40 px of a 64 px scene, so the boxes cut most digits
they touch. `digit_fates` follows every digit of mixed masks: whole, cut apart or removed."""
from __future__ import annotations

import pandas as pd
import torch
from scipy import ndimage

from ..config import Config, make_config
from ..data.cutmix import box_masks

WHOLE, GONE = 0.9, 0.1     # a digit keeping at least WHOLE of its pixels is whole, at most GONE is removed
# The recipes compared (boxes, area range): CPS's, the training default, and one box of the same, a smaller and a
# larger total area.
RECIPES = {"CPS's (VOC)": (Config.cutmix_boxes, Config.cutmix_area), "one box": (1, Config.cutmix_area),
           "one small box": (1, (0.1, 0.25)), "one large box": (1, (0.5, 0.75))}


def digit_fates(masks: torch.Tensor, boxes: torch.Tensor, num_classes: int = 11) -> dict[str, int]:
    """Count the digits of a mixed batch by fate. masks: [B,H,W] label maps (0 background, 255 ignored); boxes:
    [B,1,H,W], 1 where image b takes its partner b-1's pixels (`data.cutmix.mix`)."""
    fates = {"whole": 0, "cut": 0, "removed": 0}
    for b in range(len(masks)):
        take = boxes[b, 0].numpy() > 0
        for source, kept in ((masks[b].numpy(), ~take), (masks[b - 1].numpy(), take)):
            digits, count = ndimage.label((source > 0) & (source < num_classes))
            for k in range(1, count + 1):
                pixels = digits == k
                share = (pixels & kept).sum() / pixels.sum()
                fates["whole" if share >= WHOLE else "removed" if share <= GONE else "cut"] += 1
    return fates


def recipe_table(masks: torch.Tensor, recipes: dict[str, tuple[int, tuple[float, float]]], seed: int = 0,
                 num_classes: int = 11) -> pd.DataFrame:
    """Per recipe (name -> (boxes, area range)): the mixed share of the image and, of the digits that appear in
    the mixed images, the share kept whole and the share cut apart, over the same masks and pairs."""
    rows = {}
    for name, (n_boxes, area) in recipes.items():
        generator = torch.Generator().manual_seed(seed)
        boxes = box_masks(len(masks), masks.shape[-2], masks.shape[-1], n_boxes, area, generator)
        fates = digit_fates(masks, boxes, num_classes)
        shown = fates["whole"] + fates["cut"]
        rows[name] = {"boxes": n_boxes, "area (%)": f"{100 * area[0]:g}-{100 * area[1]:g}",
                      "mixed (%)": 100 * float(boxes.mean()), "digits whole (%)": 100 * fates["whole"] / shown,
                      "digits cut (%)": 100 * fates["cut"] / shown}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("recipe")


def digits_recipe_table(n: int = 512, recipes=None) -> pd.DataFrame:
    """`recipe_table` of RECIPES on the first n unlabeled scenes of the digits preset at 1/8."""
    from ..data import build_datasets
    unlabeled = build_datasets(make_config("digits", "1/8")).unlabeled   # hidden masks, cropped as in training
    masks = torch.stack([unlabeled[i][1] for i in range(min(n, len(unlabeled)))])
    return recipe_table(masks, recipes or RECIPES)
