"""Prediction snapshots: at every evaluation, the label maps of every network on a fixed handful of images.

What the book's prediction figures compare across runs and across time (the paper's Figs. 2 and 5) without
keeping checkpoints. Each evaluation stores, for the first `n` validation images, every network's prediction,
and for the first `n` unlabeled images (augmented exactly as the pseudo-label scoring does) the teacher's
pseudo-label Y^t and the students' averaged Y^{s-bar}. The maps of one evaluation are packed as uint8, zlib
compressed and base64 encoded (a few KB per evaluation for 4 + 4 digits scenes).
"""
from __future__ import annotations

import base64
import zlib
from contextlib import nullcontext

import numpy as np
import torch

from .evaluate import PSEUDO_SEED, predict_logits
from .losses import averaged_label, label_map
from .models import ROLES, unwrap


def encode(maps: dict[str, np.ndarray]) -> dict:
    """Label maps (each [n, H, W], values < 256) as one compressed string plus their names and shapes."""
    names = sorted(maps)
    packed = np.concatenate([maps[k].astype(np.uint8).reshape(-1) for k in names]) if names else np.zeros(0, np.uint8)
    return {"names": names, "shapes": [list(maps[k].shape) for k in names],
            "data": base64.b64encode(zlib.compress(packed.tobytes(), 9)).decode("ascii")}


def decode(packed: dict) -> dict[str, np.ndarray]:
    """The label maps `encode` packed, by name."""
    flat = np.frombuffer(zlib.decompress(base64.b64decode(packed["data"])), dtype=np.uint8)
    out, start = {}, 0
    for name, shape in zip(packed["names"], packed["shapes"]):
        size = int(np.prod(shape))
        out[name] = flat[start:start + size].reshape(shape).copy()
        start += size
    return out


def _logits(net, x: torch.Tensor, mode: str, crop: int | None) -> torch.Tensor:
    """A network's logits in eval mode, as validation scores it (any image size, whole or sliding)."""
    net = unwrap(net)
    was_training = net.training
    net.eval()
    try:
        return predict_logits(net, x, mode=mode, crop=crop)
    finally:
        net.train(was_training)


@torch.inference_mode()
def take(nets: dict, val, unlabeled, n: int, device, autocast=nullcontext, memory_format=torch.contiguous_format,
         mode: str = "whole", crop: int | None = None) -> dict:
    """The label maps of one evaluation, named `<part>/<source>/<index>`: `val/<role>/i` for every network on
    validation image i, `unlabeled/teacher/i` (Y^t) and `unlabeled/students/i` (Y^{s-bar}) on unlabeled image i,
    when the method has them. One image at a time, so images of different sizes are fine. Empty when n is 0."""
    maps: dict[str, np.ndarray] = {}
    ids = {"val": list(range(min(n, len(val)))), "unlabeled": list(range(min(n, len(unlabeled))))}
    for part, dataset in (("val", val), ("unlabeled", unlabeled)):
        for i in ids[part]:
            x = dataset[i][0] if part == "val" else dataset[(i, PSEUDO_SEED + i)][0]
            x = x[None].to(device).contiguous(memory_format=memory_format)
            with autocast():
                logits = {role: _logits(net, x, mode, crop) for role, net in nets.items()}
            if part == "val":
                for role, value in logits.items():
                    maps[f"val/{role}/{i}"] = label_map(value)[0].cpu().numpy()
                continue
            if "teacher" in logits:
                maps[f"unlabeled/teacher/{i}"] = label_map(logits["teacher"])[0].cpu().numpy()
            students = [logits[r] for r in ROLES[1:] if r in logits]
            if len(students) == 2:
                maps[f"unlabeled/students/{i}"] = averaged_label(*students)[0].cpu().numpy()
    return {"ids": ids, **encode(maps)} if maps else {}
