"""Optimisers and learning rates: SGD (the paper's) or AdamW, poly decay for the students, the paper's fixed
teacher lr after phase a."""
from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


def make_optimizer(nets: Iterable[nn.Module], cfg) -> torch.optim.Optimizer:
    """One optimiser over the given networks (both students share one optimiser and one lr).

    SGD with momentum is the paper's (VOC, Cityscapes); AdamW is the digits preset's, whose networks must
    learn their decoders from scratch in a few hundred iterations (see the book's "how this preset was chosen").
    """
    params = [p for net in nets for p in net.parameters()]
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def poly_lr(base_lr: float, iteration: int, max_iter: int, power: float = 0.9) -> float:
    """lr * (1 - iter / max_iter)^power (section 4.1)."""
    return base_lr * max(0.0, 1.0 - iteration / max_iter) ** power


def fixed_teacher_lr(cfg, max_iter: int) -> float:
    """After phase a the teacher's lr is fixed at lr * (max_epoch * max_iter)^-0.9 (section 4.1), or cfg.teacher_lr."""
    if cfg.teacher_lr is not None:
        return cfg.teacher_lr
    return cfg.lr * float(max_iter) ** -cfg.poly_power


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
