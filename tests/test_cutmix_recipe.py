"""What a CutMix recipe does to digits: each digit of a mixed pair counted as whole, cut or removed, by hand."""
from __future__ import annotations

import torch

from gpslib.book import cutmix_recipe


def test_digit_fates_follow_every_digit_of_both_images():
    masks = torch.zeros(2, 8, 8, dtype=torch.long)
    masks[0, 0:4, 0:4] = 3                      # image 0: one digit, top left
    masks[1, 4:8, 4:8] = 5                      # image 1: one digit, bottom right
    masks[1, 0, :] = 255                        # an ignore band is no digit
    boxes = torch.zeros(2, 1, 8, 8)
    boxes[0, 0, 4:8, 4:8] = 1                   # image 0 takes image 1's digit whole, keeps its own
    boxes[1, 0, 0:6, 0:2] = 1                   # image 1 takes half of image 0's digit, keeps its own
    assert cutmix_recipe.digit_fates(masks, boxes) == {"whole": 3, "cut": 1, "removed": 0}
    boxes[1] = 0
    boxes[1, 0, 0:2, 4:8] = 1                   # a box over image 0's background: its digit is not pasted
    assert cutmix_recipe.digit_fates(masks, boxes) == {"whole": 3, "cut": 0, "removed": 1}


def test_recipe_table_compares_recipes_on_the_same_masks():
    masks = torch.zeros(16, 32, 32, dtype=torch.long)
    masks[:, 8:24, 8:24] = 1                    # one large digit in the middle of every scene
    table = cutmix_recipe.recipe_table(masks, {"three": (3, (0.25, 0.5)), "one": (1, (0.25, 0.5))})
    assert list(table.index) == ["three", "one"] and list(table["boxes"]) == [3, 1]
    assert ((table["mixed (%)"] > 20) & (table["mixed (%)"] < 55)).all()
    assert (table["digits whole (%)"] + table["digits cut (%)"]).round(6).eq(100).all()
