"""Evaluation: a confusion matrix that gives mIoU, whole-image / sliding-window inference, and the scoring of
pseudo-labels against the hidden masks of unlabeled images.

The mIoU follows torchmetrics' ``JaccardIndex(task="multiclass", average="macro",
ignore_index=255)``: a class that appears neither in the target nor in the prediction
is left out of the mean (its per-class IoU is reported as 0). IoUs are computed in
float64 (torchmetrics uses float32, which cannot count past 2**24 pixels exactly), so the
two agree to float32 rounding, about 1e-8.
"""
from __future__ import annotations

import collections
import contextlib
import math

import torch
import torch.distributed as dist
import torch.nn.functional as F

from .data.palette import IGNORE
from .losses import label_map
from .models import ROLES, predict_no_grad
from .progress import bar as progress_bar

PSEUDO_SEED = 7919  # fixed augmentation of the unlabeled images that score pseudo-labels
DIVISOR = 16  # DeepLabV3+ (output stride 16) needs H and W divisible by this


class ConfusionMatrix:
    """Counts (ground truth, prediction) pixel pairs; rows are ground truth."""

    def __init__(self, num_classes: int, device: torch.device | str | None = None):
        self.num_classes = num_classes
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.long, device=device)

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """Add one batch. Ignored pixels go to an extra bin that is dropped, so there is
        no boolean indexing and no host sync; ``scatter_add_`` is the bincount because
        CUDA's ``torch.bincount`` reads its maximum back to the host."""
        if pred.shape != target.shape:
            raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
        if self.matrix.device != pred.device:
            self.matrix = self.matrix.to(pred.device)
        c = self.num_classes
        pred, target = pred.reshape(-1).long(), target.reshape(-1).long().to(pred.device)
        bins = torch.where(target == IGNORE, c * c, target * c + pred)
        counts = torch.zeros(c * c + 1, dtype=torch.long, device=pred.device)
        counts.scatter_add_(0, bins, torch.ones_like(bins))
        self.matrix += counts[: c * c].view(c, c)

    def merge(self, other: "ConfusionMatrix") -> "ConfusionMatrix":
        """Add another matrix's counts (e.g. from another process or split)."""
        if other.num_classes != self.num_classes:
            raise ValueError("cannot merge matrices with different numbers of classes")
        self.matrix += other.matrix.to(self.matrix.device)
        return self

    def all_reduce(self) -> "ConfusionMatrix":
        """Sum the counts over torch.distributed ranks; does nothing without a process group."""
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(self.matrix, op=dist.ReduceOp.SUM)
        return self

    def iou(self) -> torch.Tensor:
        """Per-class IoU = TP / (TP + FP + FN), 0 where the class is absent from both."""
        m = self.matrix.double()
        tp = m.diag()
        union = m.sum(0) + m.sum(1) - tp
        return torch.where(union > 0, tp / union.clamp(min=1), torch.zeros_like(tp))

    def miou(self) -> float:
        """Mean IoU over the classes present in the target or the prediction (NaN if none)."""
        present = (self.matrix.sum(0) + self.matrix.sum(1)) > 0
        if not bool(present.any()):
            return math.nan
        return float(self.iou()[present].mean())

    def pixel_accuracy(self) -> float:
        """Fraction of non-ignored pixels predicted correctly (NaN if none counted)."""
        total = int(self.matrix.sum())
        return float(self.matrix.diag().sum()) / total if total else math.nan


def _pad_to(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Zero-pad bottom/right; 0 is the mean colour on normalised input."""
    return F.pad(image, (0, width - image.shape[-1], 0, height - image.shape[-2]), value=0.0)


def _whole(model, image: torch.Tensor) -> torch.Tensor:
    """One forward at a size divisible by 16, logits cropped back to the input size."""
    h, w = image.shape[-2:]
    ph, pw = -(-h // DIVISOR) * DIVISOR, -(-w // DIVISOR) * DIVISOR
    logits = model(_pad_to(image, ph, pw) if (ph, pw) != (h, w) else image)
    return logits[..., :h, :w]


def _starts(size: int, crop: int, stride: int) -> list[int]:
    """Window origins covering [0, size): every stride, plus one flush with the end."""
    last = size - crop
    return list(range(0, last, stride)) + [last]


def _sliding(model, image: torch.Tensor, crop: int, stride: int, num_classes: int | None) -> torch.Tensor:
    """Average the logits of overlapping crop x crop windows (Cityscapes-style)."""
    b, _, h, w = image.shape
    ph, pw = max(h, crop), max(w, crop)
    padded = _pad_to(image, ph, pw)
    total, count = None, torch.zeros(1, 1, ph, pw, device=image.device)
    for y in _starts(ph, crop, stride):
        for x in _starts(pw, crop, stride):
            logits = _whole(model, padded[..., y : y + crop, x : x + crop]).float()
            if total is None:
                total = torch.zeros(b, num_classes or logits.shape[1], ph, pw, device=image.device)
            total[..., y : y + crop, x : x + crop] += logits
            count[..., y : y + crop, x : x + crop] += 1
    return (total / count)[..., :h, :w]


def predict_logits(model, image: torch.Tensor, mode: str = "whole", crop: int | None = None,
                   stride: int | None = None, num_classes: int | None = None) -> torch.Tensor:
    """Logits [B, C, H, W] for a normalised image batch [B, 3, H, W] of any H, W."""
    if mode == "whole":
        return _whole(model, image)
    if mode != "sliding":
        raise ValueError(f"mode must be 'whole' or 'sliding', got {mode!r}")
    if crop is None:
        raise ValueError("sliding-window inference needs a crop size")
    stride = stride or max(1, crop * 2 // 3)
    if not 0 < stride <= crop:
        raise ValueError(f"stride must be in (0, crop]; got stride={stride}, crop={crop}")
    return _sliding(model, image, crop, stride, num_classes)


def _shard(n: int) -> range:
    """This rank's strided share of item indices (all of them without a process group)."""
    if dist.is_available() and dist.is_initialized():
        return range(dist.get_rank(), n, dist.get_world_size())
    return range(n)


def _batches(dataset, indices, batch_size: int):
    """Consecutive items grouped up to batch_size, a new group whenever the size changes."""
    group = []
    for i in indices:
        image, mask = dataset[i]
        if group and (len(group) == batch_size or group[0][0].shape != image.shape):
            yield group
            group = []
        group.append((image, mask))
    if group:
        yield group


def evaluate(model, dataset, num_classes: int, mode: str = "whole", crop: int | None = None,
             device: torch.device | str = "cpu", limit: int | None = None, batch_size: int = 1,
             amp: bool = False, progress: bool | str | None = None, desc: str = "evaluation") -> dict:
    """mIoU, per-class IoU and pixel accuracy of ``model`` (already on ``device``) on ``dataset``.

    Items are (image [3, H, W], mask [H, W]); under torch.distributed every rank
    takes a strided shard and the confusion matrices are summed. A whole val or test split takes
    seconds to minutes, so ``progress`` (see gpslib/progress.py) draws a bar of the images named ``desc``;
    it is cleared when done, as evaluations recur within a training run's own bar.
    """
    device = torch.device(device)
    n = len(dataset) if limit is None else min(limit, len(dataset))
    matrix = ConfusionMatrix(num_classes, device=device)
    use_amp = amp and device.type == "cuda"
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if use_amp else contextlib.nullcontext()
    was_training = model.training
    model.eval()
    images_bar = progress_bar(len(_shard(n)), desc, progress, unit="img", leave=False)
    try:
        with torch.inference_mode(), autocast, images_bar:
            for group in _batches(dataset, _shard(n), batch_size):
                images = torch.stack([g[0] for g in group]).to(device, non_blocking=True)
                masks = torch.stack([g[1] for g in group]).to(device, non_blocking=True)
                logits = predict_logits(model, images, mode=mode, crop=crop, num_classes=num_classes)
                matrix.update(label_map(logits), masks)
                images_bar.update(len(group))
    finally:
        model.train(was_training)
    matrix.all_reduce()
    return {"miou": matrix.miou(), "iou": matrix.iou().tolist(), "pixel_accuracy": matrix.pixel_accuracy()}


@torch.inference_mode()
def pseudo_label_quality(nets: dict, unlabeled, num_classes: int, n_images: int, device, autocast=contextlib.nullcontext,
                         memory_format=torch.contiguous_format, rank: int = 0, world_size: int = 1) -> dict:
    """Beyond the paper: pixel accuracy (and mIoU) of Y^t and Y^{s-bar} against the hidden masks of the first
    `n_images` unlabeled images, each augmented with seed PSEUDO_SEED + i, and how often the two agree; also the
    share of each network's pixels predicted as background, and how often S1 and S2 agree (CPS's collapse).

    Empty when the unlabeled images have no masks (a folder dataset's): there is nothing to score against.
    """
    n = min(n_images, len(unlabeled))
    samples = getattr(unlabeled, "samples", None)
    if n == 0 or (samples is not None and all(s.mask is None for s in samples[:n])):
        return {}
    students = [r for r in ROLES[1:] if r in nets]
    sources = {name: roles for name, roles in (("teacher", ["teacher"]), ("students", students))
               if roles and all(r in nets for r in roles)}
    matrices = {name: ConfusionMatrix(num_classes, device) for name in sources}
    counts: collections.Counter = collections.Counter()
    for i in range(rank, n, world_size):
        x, y = unlabeled[(i, PSEUDO_SEED + i)]
        x = x[None].to(device, non_blocking=True).contiguous(memory_format=memory_format)
        y = y[None].to(device, non_blocking=True)
        with autocast():
            labels, own = _label_maps(nets, sources, x)
        for name, label in labels.items():
            matrices[name].update(label, y)
        counts["pixels"] += y.numel()
        for r, label in own.items():       # how much of each network's map is background: a collapse shows here
            counts[f"background_{r}"] += int((label == 0).sum())
        if len(students) == 2:
            counts["agreement_students"] += int((own[students[0]] == own[students[1]]).sum())
        if len(labels) == 2:
            counts["agreement"] += int((labels["teacher"] == labels["students"]).sum())
    out = {}
    for name, matrix in matrices.items():
        matrix.all_reduce()
        out[f"acc_{name}"] = matrix.pixel_accuracy()
        out[f"pl_miou_{name}"] = matrix.miou()
    if counts["pixels"]:
        out.update({key: value / counts["pixels"] for key, value in counts.items() if key != "pixels"})
    return out


def _label_maps(nets: dict, sources: dict, x: torch.Tensor) -> tuple[dict, dict]:
    """Each source's pseudo-label map (the arg-max of its networks' averaged softmax) and each network's own."""
    labels, own = {}, {}
    for name, roles in sources.items():
        probs = [predict_no_grad(nets[r], x).float().softmax(1) for r in roles]
        own.update({r: label_map(p) for r, p in zip(roles, probs)})
        labels[name] = label_map(sum(probs))
    return labels, own
