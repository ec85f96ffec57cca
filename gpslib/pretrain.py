"""The digits' "ImageNet": an encoder pre-trained to classify handwritten digits that no scene uses.

The paper's three networks start from an ImageNet encoder, so its teacher is good after phase a and its
students learn fast. The embedded digits get the same start without leaking a scene label: digits.py keeps
a pool of source digits out of every train and val scene, and this module renders single digits from that
pool exactly as scenes are rendered, then trains DeepLabV3+'s own encoder (same dilations, output stride
16) with a linear classifier on its deepest features. A tenth of the pool's source digits is held out to
report the accuracy on unseen handwriting. It trains on one CPU thread whatever the machine: float sums differ
between thread counts, so one thread gives every clone on one kind of CPU the encoder named by the recorded runs'
meta.encoder_sha256, and a busy process beside it costs no more than its own core (book/performance.md).
Built on first use and cached next to the generated data as data/digits/encoders/<backbone>.pt, like the scenes.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import segmentation_models_pytorch as smp
import torch
from torch import nn

from . import paths
from .data import digits
from .data.transforms import MEAN, STD
from .locks import locked
from .progress import bar as progress_bar
from .threads import one_thread

VERSION = 1
SETTINGS = dict(images=6000, test_images=1000, iterations=500, batch=32, lr=1e-3, weight_decay=1e-4, size=64, seed=0)


def segmenter_encoder(backbone: str, seed: int) -> nn.Module:
    """The encoder of a DeepLabV3+ (output stride 16) drawn from `seed`: the very module models.build_segmenter
    creates, built here so that models.py depends on this file and not the other way round."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return smp.DeepLabV3Plus(encoder_name=backbone, encoder_weights=None, classes=11).encoder


def encoder_path(backbone: str, root: Path | None = None) -> Path:
    return Path(root or paths.DATA_DIR / "digits") / "encoders" / f"{backbone}.pt"


def render_digits(pool: np.ndarray, count: int, size: int, seed: int, bar=None) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` normalised single-digit images drawn from `pool` the way scenes draw digits, and their labels;
    `bar` (a tqdm), when given, advances once per image: the 7,000 of pre-training take several seconds."""
    source, labels = digits.source_digits()
    rng = np.random.default_rng([seed, 3])
    images = np.empty((count, size, size, 3), dtype=np.uint8)
    targets = np.empty(count, dtype=np.int64)
    for i in range(count):
        images[i], _mask, placements = digits.render(rng, pool, source, labels, size, count=1)
        targets[i] = placements[0][1]
        if bar is not None:
            bar.update()
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255)
    x = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    return x, torch.from_numpy(targets)


class DigitClassifier(nn.Module):
    """A segmenter's encoder, global average pooling of its deepest features, and a linear layer to 10 digits."""

    def __init__(self, encoder: nn.Module, channels: int):
        super().__init__()
        self.encoder, self.fc = encoder, nn.Linear(channels, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.encoder(x)[-1].mean(dim=(2, 3)))


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 256) -> float:
    model.eval()
    with torch.no_grad():
        correct = sum(int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum()) for i in range(0, len(x), batch))
    return correct / max(1, len(x))


def pretrain_encoder(backbone: str, settings: dict | None = None, log=None,
                     progress: bool | str | None = None) -> tuple[dict, dict]:
    """Train the encoder on the reserved digits; returns (encoder state dict, facts for the book).

    It takes minutes, so `progress` (see gpslib/progress.py) draws a bar of the rendered digits and one of the
    iterations, whose last line keeps the loss and the held-out accuracy; `log`, if given, also gets that
    summary as one line (nothing is printed: under papermill a print would land in the notebook)."""
    s = dict(SETTINGS, **(settings or {}))
    _val, pool, _train = digits.source_pools(0)
    held_out = np.random.default_rng([s["seed"], 4]).permutation(pool)[: len(pool) // 10]
    fit_pool = np.setdiff1d(pool, held_out)
    with progress_bar(s["images"] + s["test_images"], "digits for pre-training", progress, unit="digit") as bar:
        x, y = render_digits(fit_pool, s["images"], s["size"], s["seed"], bar)
        x_test, y_test = render_digits(np.sort(held_out), s["test_images"], s["size"], s["seed"] + 1, bar)
    start = time.perf_counter()
    with progress_bar(s["iterations"], f"encoder pre-training ({backbone})", progress) as bar, one_thread():
        model, loss = _fit(backbone, s, x, y, bar)
        held_out_accuracy = accuracy(model, x_test, y_test)
        summary = f"loss {loss:.3f}, held-out accuracy {held_out_accuracy:.3f}"
        bar.set_postfix_str(summary)
    if log is not None:
        log(f"encoder pre-training ({backbone}, reserved digits): {summary}")
    facts = dict(s, backbone=backbone, version=VERSION, source_digits=len(fit_pool), held_out_digits=len(held_out),
                 held_out_accuracy=held_out_accuracy, seconds=time.perf_counter() - start)
    return model.encoder.state_dict(), facts


def _fit(backbone: str, s: dict, x: torch.Tensor, y: torch.Tensor, bar) -> tuple[DigitClassifier, float]:
    """The classifier trained for s["iterations"] AdamW steps, and its last batch loss; the bar shows the loss
    every 20 steps (reading it changes nothing: the step has been taken)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(s["seed"])
        encoder = segmenter_encoder(backbone, s["seed"])
        model = DigitClassifier(encoder, encoder.out_channels[-1])
        optimizer = torch.optim.AdamW(model.parameters(), lr=s["lr"], weight_decay=s["weight_decay"])
        generator = torch.Generator().manual_seed(s["seed"])
        model.train()
        for it in range(s["iterations"]):
            index = torch.randint(len(x), (s["batch"],), generator=generator)
            loss = nn.functional.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            bar.update()
            if (it + 1) % 20 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
    return model, loss.item()


def ensure_digit_encoder(backbone: str, root: Path | None = None, settings: dict | None = None, log=None,
                         progress: bool | str | None = None) -> Path:
    """The cached pre-trained encoder for `backbone`, trained now (a few minutes) unless one with the same
    settings and version is there already; `log` and `progress` as pretrain_encoder's."""
    path = encoder_path(backbone, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    wanted = dict(SETTINGS, **(settings or {}), backbone=backbone, version=VERSION)
    with locked(path.parent / ".lock"):
        facts_path = path.with_suffix(".json")
        if path.is_file() and facts_path.is_file():
            facts = json.loads(facts_path.read_text())
            if {k: facts.get(k) for k in wanted} == wanted:
                return path
        state, facts = pretrain_encoder(backbone, settings, log=log, progress=progress)
        partial = path.with_suffix(".pt.partial")
        torch.save(state, partial)
        os.replace(partial, path)
        facts_path.write_text(json.dumps(facts, indent=1))
    return path


def encoder_facts(backbone: str, root: Path | None = None) -> dict:
    """What pre-training measured (held-out accuracy, source digits, seconds), for the book."""
    return json.loads(encoder_path(backbone, root).with_suffix(".json").read_text())
