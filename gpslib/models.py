"""The segmentation network: DeepLabV3+ from segmentation-models-pytorch, built three times with different seeds.

Also the roles: which networks each method trains (`ROLES_OF`), and the no-grad pass that makes pseudo-labels.
"""
from __future__ import annotations

from pathlib import Path

import segmentation_models_pytorch as smp
import torch
from torch import nn

from .errors import GpslibError
from .pretrain import ensure_digit_encoder

ROLES = ("teacher", "student1", "student2")
ROLES_OF = {"gps": ROLES, "cps": ROLES[1:], "supervised": ROLES[1:2]}   # the networks each method trains


def build_segmenter(backbone: str = "resnet18", num_classes: int = 11, encoder_weights: str | None = None,
                    decoder_channels: int = 256, seed: int = 0) -> nn.Module:
    """DeepLabV3+ (output stride 16) whose randomly initialised parts are drawn from `seed`.

    `encoder_weights` is None or "random" (random init: offline and in tests), "imagenet" (smp downloads it on a
    connected machine), "digits" (pre-trained on digits no scene uses, see pretrain.py) or the path of a
    local encoder state dict; the paper uses ImageNet ResNet-50/101.
    """
    encoder_weights = None if encoder_weights == "random" else encoder_weights
    hub_weights = encoder_weights if encoder_weights == "imagenet" else None
    if encoder_weights == "digits":
        encoder_weights = str(ensure_digit_encoder(backbone))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            model = smp.DeepLabV3Plus(encoder_name=backbone, encoder_weights=hub_weights, classes=num_classes,
                                      decoder_channels=decoder_channels)
        except KeyError as err:
            raise GpslibError(f"Unknown backbone {backbone!r}; use an smp encoder name such as resnet18, "
                              "resnet50 or resnet101.") from err
    if encoder_weights not in (None, "imagenet"):
        load_encoder_weights(model, Path(encoder_weights))
    return model


def encoder_fingerprint(backbone: str, encoder_weights: str | None) -> str | None:
    """The first 12 hex digits of the SHA-256 of a local encoder file ("digits" or a path), so a run records which
    weights it started from: the digits encoder's bits depend on the torch build and CPU that pre-trained it."""
    import hashlib
    if encoder_weights in (None, "random", "imagenet"):
        return None
    path = ensure_digit_encoder(backbone) if encoder_weights == "digits" else Path(encoder_weights)
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12] if Path(path).is_file() else None


def load_encoder_weights(model: nn.Module, path: Path) -> None:
    """Load a local ImageNet state dict into the encoder (a torchvision/timm ResNet file works as is)."""
    if not path.is_file():
        raise GpslibError(f"Encoder weights {path} do not exist; pass encoder_weights=None, 'imagenet', "
                          "or the path of a ResNet state dict.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure is a corrupt file to the user
        raise GpslibError(f"Encoder weights {path} could not be read ({err}); re-download the file.") from err
    state = state.get("state_dict", state)
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    # nn.Module's own method: smp's encoders override load_state_dict and report nothing back
    missing, unexpected = nn.Module.load_state_dict(model.encoder, state, strict=False)
    if unexpected or len(missing) > 0.5 * len(list(model.encoder.state_dict())):
        raise GpslibError(f"Encoder weights {path} do not match the {type(model.encoder).__name__} encoder; "
                          "pass a state dict of the same backbone.")


def build_networks(cfg, roles: tuple[str, ...] = ROLES) -> dict[str, nn.Module]:
    """T, S1, S2 (or some of them) with seeds seed*10 + {0, 1, 2}: same architecture, different init.

    CPS's students start where GPS's do; SupOnly's one network (reported as student1) starts where GPS's teacher
    does, because GPS's phase a is that SupOnly run.
    """
    def index(role: str) -> int:
        return 0 if getattr(cfg, "method", None) == "supervised" else ROLES.index(role)

    return {role: build_segmenter(cfg.backbone, cfg.num_classes, cfg.encoder_weights, cfg.decoder_channels,
                                  seed=cfg.seed * 10 + index(role))
            for role in roles}


def count_parameters(model: nn.Module) -> dict[str, int]:
    """Parameters of encoder, decoder and head, for the networks chapter."""
    parts = {"encoder": model.encoder, "decoder": model.decoder, "head": model.segmentation_head}
    return {name: sum(p.numel() for p in part.parameters()) for name, part in parts.items()}


def unwrap(net: nn.Module) -> nn.Module:
    """The network inside a DistributedDataParallel wrapper (the network itself otherwise)."""
    return net.module if isinstance(net, nn.parallel.DistributedDataParallel) else net


@torch.inference_mode()
def predict_no_grad(net: nn.Module, x: torch.Tensor, mode: str = "eval") -> torch.Tensor:
    """Logits of a pseudo-label pass: no gradient and no autograd bookkeeping (inference mode), BN in eval mode
    (default) or train mode. What is computed from them outside (argmax, softmax) is an ordinary tensor."""
    net = unwrap(net)
    was_training = net.training
    net.train(mode == "train")
    logits = net(x)
    net.train(was_training)
    return logits
