"""Every setting of a run in one dataclass, and the paper's presets per dataset x partition.

`make_config(dataset, partition, **overrides)` starts from the preset (section 4.1 of the paper for
VOC/Cityscapes, a CPU-sized one for the embedded digits, `folder_preset` of the facts of the user's own tree
for `folder`), applies a YAML file and keyword overrides, and validates the result so a bad value fails
before any work starts. This module reads no data: a folder tree's facts are gathered by the data side
(`gpslib.data.tree_facts`) and handed in as `tree=`; `gpslib.parameters.configure` does both for any dataset.
Text from a command line or a notebook parameter becomes a field's value through `coerce`, and `field_help`
turns each field's type, default, choices and comment below into the help of its `gpslib train` flag.
"""
from __future__ import annotations

import dataclasses
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import GpslibError
from .partition import PAPER_PARTITIONS, parse_partition, partition_slug  # noqa: F401 - PAPER_PARTITIONS: cost, explain

DATASETS = ("digits", "pascal", "cityscapes", "folder")
METHODS = ("gps", "cps", "supervised")
RAMPUPS = ("adaptive", "fixed", "none")
LATCH_CHECKS = ("epoch", "iteration")
UPDATES = ("two_step", "merged")
OPTIMIZERS = ("sgd", "adamw")
# Every field whose value is one of a few words: validate() checks them, and `gpslib train --help` lists them.
CHOICES: dict[str, tuple[str, ...]] = {
    "dataset": DATASETS, "method": METHODS, "rampup": RAMPUPS, "latch_check": LATCH_CHECKS, "update": UPDATES,
    "eval_mode": ("whole", "sliding"), "pseudo_label_mode": ("eval", "train"), "on_corrupt": ("stop", "skip"),
    "optimizer": OPTIMIZERS}


@dataclass
class Config:
    # --- data ---
    dataset: str = "digits"               # which layout and preset: the embedded digits, VOC, Cityscapes or your folder
    data_root: str | None = None          # None: data/<dataset> inside the project (digits are generated there)
    partition: str = "1/8"                # "1/8", "1_8" or "0.125"
    labeled_file: str | None = None       # a user's own id lists replace the shipped/seeded partition
    unlabeled_file: str | None = None     # ... and its unlabeled list; pass both or neither (folder: either)
    dagger: bool = False                  # GPS-dagger: labeled images also join the unlabeled set
    num_classes: int = 11                 # classes of the masks (ids 0..num_classes-1; 255 is ignored)
    crop_size: int = 64                   # side of the square training crop, px
    scales: tuple[float, ...] = (0.5, 0.75, 1.0, 1.5, 1.75, 2.0)   # random rescale factors, one drawn per image
    hflip: bool = True                    # random horizontal flip (off for digits: they are chiral)
    num_workers: int = 0                  # DataLoader worker processes (0: load in the training process)
    on_corrupt: str = "stop"              # an undecodable training image/mask: "stop" the run, or "skip" it (logged)

    # --- networks ---
    backbone: str = "resnet18"            # DeepLabV3+ encoder: an smp name such as resnet18, resnet50, resnet101
    encoder_weights: str | None = None    # None (random), "imagenet" (smp download), "digits" (pre-trained on
                                          # digits no scene uses, built on first use) or a local state-dict path
    decoder_channels: int = 256           # width of the DeepLabV3+ decoder

    # --- method and its switches (config only, no code forks) ---
    method: str = "gps"                   # GPS (teacher + two students), the CPS baseline, or SupOnly
    use_gps: bool = True                  # alpha * L_gps, eq. 5
    use_cps: bool = True                  # beta * L_cps, eq. 6
    use_fps: bool = True                  # w(e) * gamma * L_fps, eq. 8/10
    update: str = "two_step"              # "two_step" (eq. 7 then eq. 10) or "merged" (Fig. 6a)
    rampup: str = "adaptive"              # eq. 9 with the latch / r = E always / w = 1
    latch_check: str = "epoch"            # compare epoch-mean losses at epoch end, or every iteration's batch losses
    rampdown_gps: bool = False            # section 4.4.3: decay alpha after the latch
    cutmix: bool = True                   # CutMix the unlabeled batch with a partner image, as CPS does
    cutmix_boxes: int = 3                 # boxes pasted per image
    cutmix_area: tuple[float, float] = (0.25, 0.5)   # range of the image share the boxes cover
    pseudo_label_mode: str = "eval"       # BN mode of the no-grad pseudo-label passes: "eval" or "train"
    alpha: float = 0.5                    # weight of L_gps in eq. 7
    beta: float = 1.5                     # weight of L_cps in eq. 7
    gamma: float = 0.5                    # weight of L_fps in eq. 10

    # --- optimisation ---
    optimizer: str = "sgd"                # "sgd" (the paper's, with momentum) or "adamw"
    lr: float = 0.01                      # initial learning rate (students; the teacher in phase a), poly decay
    momentum: float = 0.9                 # SGD momentum
    weight_decay: float = 1e-4            # L2 penalty of the optimizer
    poly_power: float = 0.9               # lr * (1 - it/max_it) ** poly_power
    batch_labeled: int = 8                # labeled images per iteration
    batch_unlabeled: int = 8              # unlabeled images per iteration
    epochs: int = 34                      # E: passes over the unlabeled set after phase a
    iters_per_epoch: int | None = None    # None: |D^u| // batch_unlabeled (the paper's epoch)
    teacher_epochs: float | None = None   # phase a length in the same epoch unit; None: T is the supervised
                                          # baseline (SupOnly of this config: E epochs, its init, data, schedule)
    teacher_lr: float | None = None       # after phase a; None: lr * (phase a's iterations) ** -0.9 (paper)
    cps_on_labeled: bool | None = None    # L_cps on X^l too; None: each method's reference (CPS without
                                          # CutMix: yes, as TorchSemiSeg; GPS, eq. 6: X^u only)

    # --- evaluation, logging, checkpoints ---
    eval_every: int | None = None         # iterations between evaluations; None: once per epoch
    eval_mode: str = "whole"              # "whole" image or "sliding" window
    eval_crop: int | None = None          # sliding-window size; None: crop_size
    val_limit: int | None = None          # score the first N val (and test) images only; None: all
    pseudo_eval_images: int = 64          # unlabeled images whose hidden masks score the pseudo-labels
    snapshot_images: int = 0              # val and unlabeled images whose label maps every evaluation keeps
    checkpoint_every: int | None = None   # iterations; None: at every evaluation
    tensorboard: bool = False             # also write losses and mIoU to <out_dir>/tensorboard

    # --- run ---
    seed: int = 0                         # networks' init, the data order, CutMix and seeded splits
    device: str = "auto"                  # "auto", "cpu", "cuda", "cuda:1", ...
    threads: int | None = None            # CPU threads; None: the cores other processes leave free (threads.py)
    amp: bool = True                      # bf16 autocast, CUDA only
    out_dir: str | None = None            # None: a new runs/<dataset>-<partition>-<method>-seed<seed>-<time>

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def run_name(self) -> str:
        split = Path(self.data_root).name if self.dataset == "folder" and self.data_root else partition_slug(
            self.partition)
        return f"{self.dataset}-{split}-{self.method}-seed{self.seed}"


# ---------------------------------------------------------------- presets
_EPOCHS = {
    "pascal": {"1/16": 32, "1/8": 34, "1/4": 40, "1/2": 60},
    "cityscapes": {"1/16": 128, "1/8": 137, "1/4": 160, "1/2": 240},
    # CPU-sized: the main job (GPS 1/8: phase a as SupOnly's 4 epochs, then 4) takes 24 min on a 2-core CPU. Across
    # partitions the paper's rule: about as many unlabeled images seen in every run (VOC 32/34/40/60), i.e.
    # E(p) = round(4 * |D^u(1/8)| / |D^u(p)|) with |D^u| = 1,875 / 1,750 / 1,500 / 1,000 of the 2,000 train scenes.
    "digits": {"1/16": 4, "1/8": 4, "1/4": 5, "1/2": 7},
}

_PRESETS: dict[str, dict[str, Any]] = {
    "pascal": dict(num_classes=21, crop_size=512, backbone="resnet50", lr=0.01,
                   alpha=0.5, beta=1.5, gamma=0.5, num_workers=4),
    "cityscapes": dict(num_classes=19, crop_size=800, backbone="resnet50", lr=0.02,
                       alpha=1.0, beta=5.0, gamma=1.0, num_workers=4,
                       eval_mode="sliding"),
    # Digits: chosen by the search in the book's "How the digits preset was chosen" (11_results): no flip and no
    # rescale, timm's ResNet-10-T (1.5x faster than ResNet-18 here, and it learns faster per iteration) with an
    # encoder pre-trained on reserved digits (their "ImageNet"), AdamW, VOC's alpha and gamma with beta = 0.5
    # (1.5 collapses the untrained students to the background), and no CutMix, as in the paper's Fig. 3 and
    # Table 4 (on 64 px scenes the boxes cut the digits into fragments and slow the students).
    "digits": dict(num_classes=11, crop_size=64, scales=(1.0,), hflip=False, backbone="tu-resnet10t",
                   decoder_channels=128, encoder_weights="digits", optimizer="adamw", lr=1e-3,
                   alpha=0.5, beta=0.5, gamma=0.5, cutmix=False, num_workers=0,
                   snapshot_images=4),
}


def preset(dataset: str, partition: str) -> dict[str, Any]:
    """The paper's settings for VOC/Cityscapes (section 4.1); a CPU-sized analogue for digits."""
    if dataset == "folder":
        raise GpslibError("The folder preset depends on the data; call make_config('folder', data_root=PATH).")
    if dataset not in DATASETS:
        raise GpslibError(f"Unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}.")
    values = dict(_PRESETS[dataset])
    key = str(parse_partition(partition))
    epochs = _EPOCHS[dataset]
    values["epochs"] = epochs.get(key, epochs["1/8"])
    return values


# A folder dataset's preset. Below FOLDER_LARGE_CROP it follows the digits preset, this project's setting for
# small images, chosen by the search of the book's "Results" chapter (ResNet-10-T, AdamW at 1e-3, a 128-channel
# decoder, beta 0.5, no rescale, no CutMix), flips kept. From FOLDER_LARGE_CROP up it is VOC's (ResNet-50, SGD at
# 0.01, beta 1.5, CutMix, the paper's scales). Neither sets the encoder's weights: pass encoder_weights="imagenet"
# on a connected machine, as the paper starts from ImageNet.
FOLDER_MAX_CROP = 512                 # the paper's VOC crop
FOLDER_LARGE_CROP = 256
FOLDER_ITERATIONS = (1_000, 40_000)   # main-loop budget: about the digits preset's (875-936), and VOC 1/8's (34 x 1,157)
FOLDER_SMALL = ("backbone", "decoder_channels", "optimizer", "lr", "alpha", "beta", "gamma", "scales", "cutmix")
FOLDER_LARGE = dict(backbone="resnet50", decoder_channels=256, optimizer="sgd", lr=0.01, alpha=0.5, beta=1.5,
                    gamma=0.5, scales=(0.5, 0.75, 1.0, 1.5, 1.75, 2.0), cutmix=True)
FOLDER_FIELDS = ("num_classes", "crop_size", "batch_labeled", "batch_unlabeled", "epochs", *FOLDER_SMALL,
                 "num_workers", "eval_mode")


def folder_preset(short_side: int, long_side: int, num_classes: int, n_labeled: int, n_unlabeled: int,
                  crop_size: int | None = None, batch_unlabeled: int | None = None) -> dict[str, Any]:
    """Settings for a user's tree from its median image sides, class count and split sizes.

    Crop: the short side capped at 512, rounded down to a multiple of 16 (the network's output stride).
    Batch: 8 + 8 as in the paper, fewer when a set is smaller. Epochs: a main-loop budget that grows with the
    crop area from 1,000 iterations (up to 80 px; the digits preset trains 875-936) to 40,000 (512 px, like
    VOC 1/8), divided by the iterations of one epoch; phase a is the supervised baseline of the same budget
    (teacher_epochs None), as everywhere. Network and optimiser: below FOLDER_LARGE_CROP px the digits preset's
    (ResNet-10-T, 128-channel decoder, AdamW at 1e-3, beta 0.5, no rescale: the crop is the whole image, no
    CutMix: its boxes cut small objects apart) but with flips, which the digits turn off only because digits
    are chiral; from FOLDER_LARGE_CROP up VOC's (ResNet-50, SGD at 0.01, beta 1.5, CutMix, the paper's scales).
    The encoder's weights are the user's choice (encoder_weights="imagenet", as the paper). A crop_size or
    batch_unlabeled the user sets is used for the epochs too.
    """
    crop = int(crop_size or max(16, min(short_side, FOLDER_MAX_CROP) // 16 * 16))
    batch_u = int(batch_unlabeled or max(1, min(8, n_unlabeled)))
    low, high = FOLDER_ITERATIONS
    budget = min(high, max(low, high * (crop / FOLDER_MAX_CROP) ** 2))
    epochs = int(min(1000, max(2, round(budget / max(1, n_unlabeled // batch_u)))))
    large = crop >= FOLDER_LARGE_CROP
    network = dict(FOLDER_LARGE) if large else {name: _PRESETS["digits"][name] for name in FOLDER_SMALL}
    return dict(num_classes=int(num_classes), crop_size=crop, batch_labeled=max(1, min(8, n_labeled)),
                batch_unlabeled=batch_u, epochs=epochs, **network, num_workers=4 if large else 0,
                eval_mode="sliding" if long_side > 2 * FOLDER_MAX_CROP else "whole")


def user_values(yaml_file: str | Path | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fields a user set: those of the YAML file, then the keyword overrides that are not None."""
    user: dict[str, Any] = {}
    if yaml_file is not None:
        path = Path(yaml_file)
        if not path.is_file():
            raise GpslibError(f"Config file {path} does not exist; pass the path of a YAML file of Config fields.")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            problem = getattr(err, "problem", None) or "not YAML"
            raise GpslibError(f"Config file {path} is not valid YAML{where} ({problem}); write one `field: value` "
                              "per line, e.g. `lr: 0.01`.") from None
        except UnicodeDecodeError:
            raise GpslibError(f"Config file {path} is not text; pass a YAML file of `field: value` lines.") from None
        if not isinstance(loaded, dict):
            raise GpslibError(f"Config file {path} must hold a mapping of field: value.")
        user.update(loaded)
    user.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return user


def needs_tree(user: dict[str, Any]) -> bool:
    """Whether a folder config must read the tree: only when the user left a preset field unset."""
    return not all(name in user for name in FOLDER_FIELDS)


def make_config(dataset: str = "digits", partition: str = "1/8", yaml_file: str | Path | None = None,
                tree: dict[str, Any] | None = None, **overrides: Any) -> Config:
    """Preset for (dataset, partition), then the YAML file, then keyword overrides; validated.

    For `folder` the preset is `folder_preset(**tree)`, `tree` being the facts the data side gathered from the
    tree at data_root (`gpslib.data.scan.tree_facts`), and the partition is recorded as 1 (every mask is used).
    """
    values: dict[str, Any] = {"dataset": dataset, "partition": str(partition)}
    user = user_values(yaml_file, overrides)
    if dataset != "folder":
        values.update(preset(dataset, str(partition)))
    elif needs_tree(user):
        if tree is None:
            raise GpslibError("The folder preset is derived from your tree; build this config with "
                              "gpslib.parameters.configure('folder', data_root=PATH), which reads the tree first.")
        values.update(folder_preset(**tree, crop_size=user.get("crop_size"),
                                    batch_unlabeled=user.get("batch_unlabeled")))
    values.update(user)
    if dataset == "folder":
        values["partition"] = "1"
    known = {f.name for f in dataclasses.fields(Config)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise GpslibError(f"Unknown config field(s) {', '.join(unknown)}; valid fields are listed in gpslib/config.py.")
    for name in ("scales", "cutmix_area"):
        if name in values and values[name] is not None:
            values[name] = tuple(float(v) for v in values[name])
    cfg = Config(**values)
    validate(cfg)
    return cfg


def validate(cfg: Config) -> None:
    """Fail early, with one sentence that names the field and the fix."""
    def choice(name: str, allowed: tuple[str, ...]) -> None:
        if getattr(cfg, name) not in allowed:
            raise GpslibError(f"{name}={getattr(cfg, name)!r} is not valid; choose one of {', '.join(allowed)}.")

    for name, allowed in CHOICES.items():
        choice(name, allowed)
    parse_partition(cfg.partition)
    for name in ("epochs", "batch_labeled", "batch_unlabeled", "crop_size", "num_classes"):
        if int(getattr(cfg, name)) < 1:
            raise GpslibError(f"{name} must be a positive integer, got {getattr(cfg, name)!r}.")
    if cfg.iters_per_epoch is not None and cfg.iters_per_epoch < 1:
        raise GpslibError(f"iters_per_epoch must be positive or None, got {cfg.iters_per_epoch!r}.")
    if cfg.threads is not None and cfg.threads < 1:
        raise GpslibError(f"threads must be at least 1 or None (follow the free cores), got {cfg.threads!r}.")
    if cfg.teacher_epochs is not None and cfg.teacher_epochs < 0:
        raise GpslibError(f"teacher_epochs must be >= 0, got {cfg.teacher_epochs!r}.")
    if cfg.lr <= 0 or (cfg.teacher_lr is not None and cfg.teacher_lr < 0):
        raise GpslibError("lr must be positive and teacher_lr non-negative.")
    lo, hi = cfg.cutmix_area
    if not 0 < lo <= hi < 1:
        raise GpslibError(f"cutmix_area must satisfy 0 < low <= high < 1, got {cfg.cutmix_area!r}.")
    if cfg.dataset != "folder" and (cfg.labeled_file is None) != (cfg.unlabeled_file is None):
        raise GpslibError("Pass labeled_file and unlabeled_file together (one id per line each), or neither.")


# ---------------------------------------------------------------- fields as text
def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(Config)]


def field_types() -> dict[str, Any]:
    return {f.name: f.type for f in dataclasses.fields(Config)}


def is_none(value: Any) -> bool:
    """None, or text that means None on a command line or in a notebook parameter ('none', 'null', '')."""
    return value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null", ""))


def parse_flag(name: str, value: Any) -> bool:
    """A boolean from True/False or text such as 'true', 'no', '1'; anything else names `name`."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise GpslibError(f"{name}={value!r} is not a boolean; pass true or false.")


def coerce(name: str, value: Any) -> Any:
    """Turn text from a command line or a papermill -p into the field's type ('none', 'true', '0.5,0.75')."""
    if not isinstance(value, str):
        return value
    kind = str(field_types()[name])
    text = value.strip()
    if is_none(text) and "None" in kind:
        return None
    if kind.startswith("bool"):
        return parse_flag(name, text)
    try:
        if kind.startswith("tuple"):
            return tuple(float(v) for v in text.strip("()[]").split(",") if v.strip())
        if kind.startswith("int"):
            return int(text)
        if kind.startswith("float"):
            return float(text)
    except ValueError as err:
        raise GpslibError(f"{name}={value!r} is not a valid {kind.split(' ')[0]}.") from err
    return text


def _field_comments() -> dict[str, str]:
    """The comment after each field of Config in this file (continuation lines joined), by field name."""
    try:
        source = inspect.getsource(Config)
    except (OSError, TypeError):
        return {}
    comments: dict[str, str] = {}
    last = None
    for line in source.splitlines():
        field = re.match(r"\s+(\w+): [^=]+=[^#]*(?:#\s*(.*))?$", line)
        if field and not line.strip().startswith("#"):
            last = field.group(1)
            comments[last] = (field.group(2) or "").strip()
        elif last and re.match(r"\s{20,}#", line):      # a comment continued on the next line, aligned
            comments[last] += " " + line.strip().lstrip("#").strip()
        else:
            last = None
    return comments


def field_help() -> dict[str, str]:
    """One help text per field: its meaning (the comment in Config), choices, type and default."""
    comments = _field_comments()
    digits = preset("digits", "1/8")
    from_presets = set(FOLDER_FIELDS).union(*(_PRESETS[d] for d in _PRESETS))
    out = {}
    for f in dataclasses.fields(Config):
        kind = str(f.type).replace(" | None", "")
        parts = [comments.get(f.name) or f.name.replace("_", " ")]
        if f.name in CHOICES:
            parts.append("one of " + ", ".join(CHOICES[f.name]))
        elif kind.startswith("tuple"):
            parts.append("comma-separated numbers")
        else:
            parts.append(kind + (" or none" if "None" in str(f.type) else ""))
        default = "none" if f.default is None else ",".join(map(str, f.default)) if isinstance(f.default, tuple) \
            else str(f.default)
        if f.name in from_presets:
            shown = digits.get(f.name, f.default)
            shown = ",".join(map(str, shown)) if isinstance(shown, tuple) else shown
            default = f"the dataset's preset (digits: {'none' if shown is None else shown})"
        parts.append(f"default: {default}")
        out[f.name] = "; ".join(parts)
    return out
