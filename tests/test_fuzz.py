"""Random small images and masks (odd sizes, ignore regions, missing classes) through every data-path step.

Each case: the training transform, a batch with CutMix, the loss terms and the mIoU code. Nothing may
crash or give NaN, mIoU stays in [0, 1], and classes absent from both prediction and label are not counted.
"""
import numpy as np
import pytest
import torch

from gpslib import losses
from gpslib.data.cutmix import box_masks, mix
from gpslib.data.transforms import train_transform
from gpslib.evaluate import ConfusionMatrix

NUM_CLASSES = 6
CROP = 32


def _random_pair(rng: np.random.Generator):
    height, width = (int(v) for v in rng.integers(1, 80, 2))
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    present = rng.choice(NUM_CLASSES, size=int(rng.integers(0, NUM_CLASSES + 1)), replace=False)
    if present.size == 0:
        mask = np.full((height, width), 255, dtype=np.uint8)          # nothing labeled at all
    else:
        mask = rng.choice(present, size=(height, width)).astype(np.uint8)
        top, left = int(rng.integers(0, height)), int(rng.integers(0, width))
        mask[top:top + int(rng.integers(0, height)), left:left + int(rng.integers(0, width))] = 255
    return image, mask


def _reference_miou(pred: np.ndarray, label: np.ndarray) -> float:
    """IoU averaged over the classes that occur in the label or the prediction (ignored pixels dropped)."""
    keep = label != 255
    pred, label = pred[keep], label[keep]
    ious = []
    for c in range(NUM_CLASSES):
        p, t = pred == c, label == c
        if p.any() or t.any():
            ious.append((p & t).sum() / (p | t).sum())
    return float(np.mean(ious)) if ious else float("nan")


@pytest.mark.parametrize("seed", range(20))
def test_random_inputs_survive_transform_cutmix_losses_and_miou(seed):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    transform = train_transform(CROP, (0.5, 0.75, 1.0, 1.5, 2.0))
    items = [transform(*_random_pair(rng)) for _ in range(4)]
    for image, mask in items:
        assert image.shape == (3, CROP, CROP) and mask.shape == (CROP, CROP)
        assert torch.isfinite(image).all()
        assert set(mask.unique().tolist()) <= set(range(NUM_CLASSES)) | {255}
    x = torch.stack([i for i, _ in items])
    y = torch.stack([m for _, m in items])

    boxes = box_masks(len(items), CROP, CROP, generator=torch.Generator().manual_seed(seed))
    x_mix, y_mix = mix(x, boxes), mix(y, boxes)
    assert torch.isfinite(x_mix).all()
    assert set(y_mix.unique().tolist()) <= set(y.unique().tolist())

    logits = torch.randn(len(items), NUM_CLASSES, CROP, CROP)
    for target in (y, y_mix, torch.full_like(y, 255)):
        loss = losses.ce(logits, target)
        assert torch.isfinite(loss) and loss >= 0
    assert losses.ce(logits, torch.full_like(y, 255)) == 0      # every pixel ignored: no signal, not NaN

    pred = logits.argmax(1)
    matrix = ConfusionMatrix(NUM_CLASSES)
    matrix.update(pred, y_mix)
    expected = _reference_miou(pred.numpy(), y_mix.numpy())
    if np.isnan(expected):
        assert np.isnan(matrix.miou())                          # nothing labeled: undefined, said as NaN
    else:
        assert 0.0 <= matrix.miou() <= 1.0
        assert matrix.miou() == pytest.approx(expected, abs=1e-12)
    assert int(matrix.matrix.sum()) == int((y_mix != 255).sum())


def test_a_class_absent_from_prediction_and_label_does_not_lower_miou():
    label = torch.tensor([[0, 0, 1, 1]])
    matrix = ConfusionMatrix(NUM_CLASSES)
    matrix.update(label.clone(), label)
    assert matrix.miou() == 1.0                                 # classes 2..5 occur nowhere: not counted
    matrix.update(torch.tensor([[5, 0, 1, 1]]), label)          # a false positive of class 5 does count
    assert matrix.miou() == pytest.approx((3 / 4 + 1 + 0) / 3)
