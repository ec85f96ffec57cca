"""From a checkpoint to a network, and from a network to colour-overlay pictures of its predictions."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .checkpoint import load_checkpoint
from .config import Config, make_config
from .data.palette import colorize
from .data.transforms import eval_transform
from .errors import GpslibError
from .evaluate import predict_logits
from .losses import label_map
from .models import build_segmenter


def load_network(path: str | Path, role: str = "student1", device: str = "cpu", **overrides):
    """One network of a run's checkpoint and the run's Config (overrides such as data_root apply on top).

    The paper reports one student's single-scale mIoU, hence student1 by default.
    """
    state = load_checkpoint(path)
    saved = dict(state["config"])
    saved.update({k: v for k, v in overrides.items() if v is not None})
    cfg = make_config(**saved)
    if role not in state["nets"]:
        raise GpslibError(f"Checkpoint {path} has no network {role!r}; it holds {', '.join(state['nets'])}.")
    net = build_segmenter(cfg.backbone, cfg.num_classes, None, cfg.decoder_channels)
    net.load_state_dict(state["nets"][role])
    return net.to(device).eval(), cfg


def load_image(path: str | Path) -> Image.Image:
    try:
        with Image.open(path) as handle:
            return handle.convert("RGB")
    except (OSError, ValueError) as err:
        raise GpslibError(f"Image {path} could not be read ({err}); pass a JPEG or PNG file.") from err


@torch.inference_mode()
def predict_mask(net, image: Image.Image, cfg: Config, device: str = "cpu") -> np.ndarray:
    """Class index per pixel of one PIL image (whole image or sliding window, as the run's config says)."""
    pixels = np.asarray(image)
    x = eval_transform()(pixels, np.zeros(pixels.shape[:2], np.uint8))[0][None].to(device)
    logits = predict_logits(net, x, mode=cfg.eval_mode, crop=cfg.eval_crop or cfg.crop_size)
    return label_map(logits)[0].cpu().numpy().astype(np.uint8)


def overlay(image: Image.Image, mask: np.ndarray, opacity: float = 0.55) -> Image.Image:
    """The image with its predicted classes painted over it in the VOC palette (background left clear)."""
    rgb = np.asarray(image, dtype=np.float32)
    colours = colorize(mask).astype(np.float32)
    paint = (mask > 0)[..., None] * opacity
    return Image.fromarray((rgb * (1 - paint) + colours * paint).astype(np.uint8))
