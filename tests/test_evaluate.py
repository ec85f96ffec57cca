"""The confusion matrix agrees with torchmetrics; inference pads, slides and crops correctly."""
import math

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from gpslib.evaluate import ConfusionMatrix, evaluate, predict_logits


def _random_case(seed, num_classes=6, shape=(3, 17, 23), used=None, pred_only=None):
    """Random labels with ~10% ignore pixels; only ``used`` classes occur in the target,
    ``used`` + ``pred_only`` in the prediction, so the rest are absent from both."""
    g = torch.Generator().manual_seed(seed)
    used = list(range(num_classes)) if used is None else used
    target = torch.tensor(used)[torch.randint(len(used), shape, generator=g)]
    target[torch.rand(shape, generator=g) < 0.1] = 255
    pred_classes = torch.tensor(used + (pred_only or []))
    pred = pred_classes[torch.randint(len(pred_classes), shape, generator=g)]
    return pred, target


CASES = [
    dict(),
    dict(used=[0, 1, 2, 4]),                 # classes 3 and 5 absent from both
    dict(used=[1, 3], pred_only=[5]),        # class 5 only predicted, 0/2/4 absent
    dict(num_classes=3, used=[2]),           # a single class in the target
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("case", CASES)
def test_matches_torchmetrics(seed, case):
    from torchmetrics.classification import JaccardIndex, MulticlassConfusionMatrix  # slow import, kept local

    num_classes = case.get("num_classes", 6)
    ours = ConfusionMatrix(num_classes)
    macro = JaccardIndex(task="multiclass", num_classes=num_classes, ignore_index=255, average="macro")
    per_class = JaccardIndex(task="multiclass", num_classes=num_classes, ignore_index=255, average="none")
    confmat = MulticlassConfusionMatrix(num_classes=num_classes, ignore_index=255)
    for batch in range(3):  # several updates accumulate like torchmetrics' state
        pred, target = _random_case(seed * 10 + batch, **case)
        ours.update(pred, target)
        for metric in (macro, per_class, confmat):
            metric.update(pred, target)
    assert torch.equal(ours.matrix, confmat.compute())
    assert ours.miou() == pytest.approx(macro.compute().item(), abs=1e-6)
    torch.testing.assert_close(ours.iou().float(), per_class.compute(), rtol=0, atol=1e-6)


def test_absent_classes_are_left_out_of_the_mean():
    cm = ConfusionMatrix(4)
    cm.update(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 0, 1, 0]))
    # classes 2 and 3 never occur: IoU reported 0 but mIoU averages classes 0 and 1 only
    assert cm.iou().tolist() == [2 / 3, 1 / 2, 0.0, 0.0]
    assert cm.miou() == pytest.approx((2 / 3 + 1 / 2) / 2)


def test_hand_computed_two_class_example():
    target = torch.tensor([[0, 0, 1, 1], [0, 255, 1, 1]])
    pred = torch.tensor([[0, 1, 1, 1], [0, 0, 0, 1]])
    cm = ConfusionMatrix(2)
    cm.update(pred, target)
    assert cm.matrix.tolist() == [[2, 1], [1, 3]]  # rows: ground truth
    assert cm.iou().tolist() == pytest.approx([2 / 4, 3 / 5])
    assert cm.miou() == pytest.approx(0.55)
    assert cm.pixel_accuracy() == pytest.approx(5 / 7)


def test_ignored_pixels_count_nowhere():
    cm = ConfusionMatrix(3)
    cm.update(torch.tensor([2, 1, 0]), torch.full((3,), 255))
    assert cm.matrix.sum() == 0
    assert math.isnan(cm.miou()) and math.isnan(cm.pixel_accuracy())
    cm.update(torch.tensor([2, 1]), torch.tensor([2, 255]))
    assert cm.matrix.sum() == 1 and cm.miou() == 1.0


def test_merge_and_all_reduce_without_process_group():
    a, b, both = ConfusionMatrix(3), ConfusionMatrix(3), ConfusionMatrix(3)
    pa, ta = _random_case(5, num_classes=3)
    pb, tb = _random_case(6, num_classes=3)
    a.update(pa, ta)
    b.update(pb, tb)
    both.update(pa, ta)
    both.update(pb, tb)
    assert torch.equal(a.merge(b).all_reduce().matrix, both.matrix)


class Pointwise(nn.Module):
    """A 1x1 conv (translation-equivariant, pixel by pixel) that insists on sizes divisible by 16."""

    def __init__(self, classes=4):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, classes, 1)
        self.seen = []

    def forward(self, x):
        assert x.shape[-2] % 16 == 0 and x.shape[-1] % 16 == 0, x.shape
        self.seen.append(tuple(x.shape[-2:]))
        return self.conv(x)


def test_whole_image_pads_and_crops_back_odd_sizes():
    model = Pointwise()
    image = torch.randn(2, 3, 37, 45)
    with torch.no_grad():
        logits = predict_logits(model, image)
        assert model.seen == [(48, 48)]
        assert logits.shape == (2, 4, 37, 45)
        torch.testing.assert_close(logits, model.conv(image))  # padding never leaks into the crop


def test_whole_image_with_real_deeplab_keeps_the_input_size():
    import segmentation_models_pytorch as smp

    model = smp.DeepLabV3Plus("resnet18", encoder_weights=None, classes=3).eval()
    with torch.no_grad():
        assert predict_logits(model, torch.randn(1, 3, 37, 45)).shape == (1, 3, 37, 45)


@pytest.mark.parametrize("size, crop, stride", [
    ((50, 70), 32, None),   # default stride 2/3 of the crop, windows overlap
    ((50, 70), 32, 7),      # many overlaps, last window flush with the border
    ((64, 96), 32, 32),     # exact tiling
    ((40, 45), 24, 10),     # crop not divisible by 16: each window padded too
    ((20, 13), 32, None),   # image smaller than the crop
])
def test_sliding_window_equals_whole_image_for_a_pointwise_model(size, crop, stride):
    model = Pointwise()
    image = torch.randn(2, 3, *size)
    with torch.no_grad():
        whole = predict_logits(model, image)
        sliding = predict_logits(model, image, mode="sliding", crop=crop, stride=stride, num_classes=4)
    assert sliding.shape == (2, 4, *size)
    torch.testing.assert_close(sliding, whole, rtol=1e-5, atol=1e-5)


def test_sliding_window_runs_overlapping_windows():
    model = Pointwise()
    with torch.no_grad():
        predict_logits(model, torch.randn(1, 3, 50, 70), mode="sliding", crop=32)
    # stride 21: rows start at 0, 18 (flush); columns at 0, 21, 38 (flush)
    assert len(model.seen) == 2 * 3


class Oracle(nn.Module):
    """Predicts the class written in the image's first channel (perfect segmentation)."""

    def __init__(self, classes):
        super().__init__()
        self.classes = classes
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x):
        assert x.shape[-2] % 16 == 0 and x.shape[-1] % 16 == 0
        return nn.functional.one_hot(x[:, 0].round().long(), self.classes).permute(0, 3, 1, 2).float() * self.scale


def _dataset(classes=3, sizes=((37, 45), (37, 45), (20, 31), (37, 45), (16, 16))):
    g = torch.Generator().manual_seed(0)
    items = []
    for h, w in sizes:
        mask = torch.randint(classes, (h, w), generator=g)
        image = torch.stack([mask.float(), torch.randn(h, w, generator=g), torch.randn(h, w, generator=g)])
        mask[0, :5] = 255
        items.append((image, mask))
    return items


@pytest.mark.parametrize("batch_size", [1, 2, 4])
@pytest.mark.parametrize("mode", ["whole", "sliding"])
def test_evaluate_perfect_model_and_restores_mode(batch_size, mode):
    model = Oracle(3).train()
    result = evaluate(model, _dataset(), 3, mode=mode, crop=32, batch_size=batch_size)
    assert result["miou"] == 1.0 and result["pixel_accuracy"] == 1.0 and result["iou"] == [1.0] * 3
    assert model.training


def test_evaluate_limit_and_wrong_model():
    data = _dataset(classes=2)
    data[1] = (torch.zeros_like(data[1][0]), data[1][1])  # second image predicted all class 0
    model = Oracle(2).eval()
    assert evaluate(model, data, 2, limit=1)["miou"] == 1.0
    assert evaluate(model, data, 2, limit=2)["miou"] < 1.0
    assert not model.training


def _distributed_worker(rank, world, init_file, data, out):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        result = evaluate(Oracle(2), data, 2)
        if rank == 0:
            out.put(result)
    finally:
        dist.destroy_process_group()


def test_evaluate_shards_and_all_reduces_under_torch_distributed(tmp_path):
    data = _dataset(classes=2)
    data[1] = (torch.zeros_like(data[1][0]), data[1][1])
    expected = evaluate(Oracle(2), data, 2)
    ctx = mp.get_context("spawn")
    out = ctx.SimpleQueue()
    mp.start_processes(_distributed_worker, args=(2, tmp_path / "init", data, out), nprocs=2, start_method="spawn")
    assert out.get() == expected
