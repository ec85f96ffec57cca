"""Every setting of a run in one dataclass, and the paper's presets per dataset x partition.

`make_config(dataset, partition, **overrides)` is the single entry point: it starts from the preset
(section 4.1 of the paper for VOC/Cityscapes, a CPU-sized one for the embedded digits, one derived from
the user's own tree for `folder`), applies a YAML file and keyword overrides, and validates the result so
a bad value fails before any work starts.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from .errors import GpslibError

DATASETS = ("digits", "pascal", "cityscapes", "folder")
METHODS = ("gps", "cps", "supervised")
RAMPUPS = ("adaptive", "fixed", "none")
LATCH_CHECKS = ("epoch", "iteration")
UPDATES = ("two_step", "merged")
OPTIMIZERS = ("sgd", "adamw")
PAPER_PARTITIONS = ("1/16", "1/8", "1/4", "1/2")


@dataclass
class Config:
    # --- data ---
    dataset: str = "digits"
    data_root: str | None = None          # None: data/<dataset> inside the project (digits are generated there)
    partition: str = "1/8"                # "1/8", "1_8" or "0.125"
    labeled_file: str | None = None       # a user's own id lists replace the shipped/seeded partition
    unlabeled_file: str | None = None
    dagger: bool = False                  # GPS-dagger: labeled images also join the unlabeled set
    num_classes: int = 11
    crop_size: int = 64
    scales: tuple[float, ...] = (0.5, 0.75, 1.0, 1.5, 1.75, 2.0)
    hflip: bool = True                    # random horizontal flip (off for digits: they are chiral)
    num_workers: int = 0
    on_corrupt: str = "stop"              # an undecodable training image/mask: "stop" the run, or "skip" it (logged)

    # --- networks ---
    backbone: str = "resnet18"
    encoder_weights: str | None = None    # None (random), "imagenet" (smp download), "digits" (pre-trained on
                                          # digits no scene uses, built on first use) or a local state-dict path
    decoder_channels: int = 256

    # --- method and its switches (config only, no code forks) ---
    method: str = "gps"
    use_gps: bool = True                  # alpha * L_gps, eq. 5
    use_cps: bool = True                  # beta * L_cps, eq. 6
    use_fps: bool = True                  # w(e) * gamma * L_fps, eq. 8/10
    update: str = "two_step"              # "two_step" (eq. 7 then eq. 10) or "merged" (Fig. 6a)
    rampup: str = "adaptive"              # eq. 9 with the latch / r = E always / w = 1
    latch_check: str = "epoch"            # compare epoch-mean losses at epoch end, or every iteration's batch losses
    rampdown_gps: bool = False            # section 4.4.3: decay alpha after the latch
    cutmix: bool = True
    cutmix_boxes: int = 3
    cutmix_area: tuple[float, float] = (0.25, 0.5)
    pseudo_label_mode: str = "eval"       # BN mode of the no-grad pseudo-label passes: "eval" or "train"
    alpha: float = 0.5
    beta: float = 1.5
    gamma: float = 0.5

    # --- optimisation ---
    optimizer: str = "sgd"                # "sgd" (the paper's, with momentum) or "adamw"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    poly_power: float = 0.9
    batch_labeled: int = 8
    batch_unlabeled: int = 8
    epochs: int = 34                      # E: passes over the unlabeled set after phase a
    iters_per_epoch: int | None = None    # None: |D^u| // batch_unlabeled (the paper's epoch)
    teacher_epochs: float = 4.0           # phase a length, in the same epoch unit
    teacher_lr: float | None = None       # after phase a; None: lr * (E * iters_per_epoch) ** -0.9 (paper)

    # --- evaluation, logging, checkpoints ---
    eval_every: int | None = None         # iterations between evaluations; None: once per epoch
    eval_mode: str = "whole"              # "whole" image or "sliding" window
    eval_crop: int | None = None          # sliding-window size; None: crop_size
    val_limit: int | None = None          # evaluate on the first N validation images only
    pseudo_eval_images: int = 64          # unlabeled images whose hidden masks score the pseudo-labels
    checkpoint_every: int | None = None   # iterations; None: at every evaluation
    tensorboard: bool = False

    # --- run ---
    seed: int = 0
    device: str = "auto"                  # "auto", "cpu", "cuda", "cuda:1", ...
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
    # CPU-sized: enough passes over ~2k scenes for students to overtake the teacher.
    "digits": {"1/16": 8, "1/8": 8, "1/4": 8, "1/2": 8},
}

_PRESETS: dict[str, dict[str, Any]] = {
    "pascal": dict(num_classes=21, crop_size=512, backbone="resnet50", lr=0.01,
                   alpha=0.5, beta=1.5, gamma=0.5, teacher_epochs=4.0, num_workers=4),
    "cityscapes": dict(num_classes=19, crop_size=800, backbone="resnet50", lr=0.02,
                       alpha=1.0, beta=5.0, gamma=1.0, teacher_epochs=16.0, num_workers=4,
                       eval_mode="sliding"),
    # Digits: chosen by the search in the book's "how this preset was chosen" (08_training_flow): no flip and
    # no rescale, an encoder pre-trained on reserved digits (their "ImageNet"), AdamW, VOC's alpha/beta/gamma.
    "digits": dict(num_classes=11, crop_size=64, scales=(1.0,), hflip=False, backbone="resnet18",
                   decoder_channels=128, encoder_weights="digits", optimizer="adamw", lr=1e-3,
                   alpha=0.5, beta=1.5, gamma=0.5, teacher_epochs=2.0, num_workers=0),
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


# A folder dataset's preset: the digits' CPU-sized network below FOLDER_LARGE_CROP, the paper's VOC one above.
FOLDER_MAX_CROP = 512                 # the paper's VOC crop
FOLDER_LARGE_CROP = 256
FOLDER_ITERATIONS = (2_000, 40_000)   # main-loop budget: about the digits preset's, and VOC 1/8's (34 x 1,157)
FOLDER_FIELDS = ("num_classes", "crop_size", "batch_labeled", "batch_unlabeled", "epochs", "teacher_epochs",
                 "backbone", "decoder_channels", "lr", "alpha", "beta", "gamma", "num_workers", "eval_mode")


def folder_preset(short_side: int, long_side: int, num_classes: int, n_labeled: int, n_unlabeled: int,
                  crop_size: int | None = None, batch_unlabeled: int | None = None) -> dict[str, Any]:
    """Settings for a user's tree from its median image sides, class count and split sizes.

    Crop: the short side capped at 512, rounded down to a multiple of 16 (the network's output stride).
    Batch: 8 + 8 as in the paper, fewer when a set is smaller. Epochs: a main-loop budget that grows with the
    crop area from 2,000 iterations (64-128 px, like the digits preset) to 40,000 (512 px, like VOC 1/8),
    divided by the iterations of one epoch; phase a is 1/8 of that, as VOC's 4 of 34 epochs.
    A crop_size or batch_unlabeled the user sets is used for the epochs too.
    """
    crop = int(crop_size or max(16, min(short_side, FOLDER_MAX_CROP) // 16 * 16))
    batch_u = int(batch_unlabeled or max(1, min(8, n_unlabeled)))
    low, high = FOLDER_ITERATIONS
    budget = min(high, max(low, high * (crop / FOLDER_MAX_CROP) ** 2))
    epochs = int(min(1000, max(2, round(budget / max(1, n_unlabeled // batch_u)))))
    large = crop >= FOLDER_LARGE_CROP
    return dict(num_classes=int(num_classes), crop_size=crop, batch_labeled=max(1, min(8, n_labeled)),
                batch_unlabeled=batch_u, epochs=epochs, teacher_epochs=float(max(1, round(epochs / 8))),
                backbone="resnet50" if large else "resnet18", decoder_channels=256 if large else 128,
                lr=0.01 if large else 0.05, alpha=0.5, beta=1.5, gamma=0.5, num_workers=4 if large else 0,
                eval_mode="sliding" if long_side > 2 * FOLDER_MAX_CROP else "whole")


def _folder_values(user: dict[str, Any]) -> dict[str, Any]:
    """The preset of the tree at user['data_root']; the tree is not read when the user set every field."""
    values: dict[str, Any] = {"partition": "1"}   # every mask of the tree is used; see data/folder.py
    if all(name in user for name in FOLDER_FIELDS):
        return values
    from .data.folder import preset_inputs       # late: the data package imports this module
    facts = preset_inputs(user.get("data_root"), user.get("labeled_file"), user.get("unlabeled_file"),
                          bool(user.get("dagger", False)))
    values.update(folder_preset(**facts, crop_size=user.get("crop_size"),
                                batch_unlabeled=user.get("batch_unlabeled")))
    return values


def make_config(dataset: str = "digits", partition: str = "1/8", yaml_file: str | Path | None = None,
                **overrides: Any) -> Config:
    """Preset for (dataset, partition), then the YAML file, then keyword overrides; validated.

    For `folder` the preset comes from the tree at data_root and the partition is recorded as 1.
    """
    values: dict[str, Any] = {"dataset": dataset, "partition": str(partition)}
    user: dict[str, Any] = {}
    if yaml_file is not None:
        path = Path(yaml_file)
        if not path.is_file():
            raise GpslibError(f"Config file {path} does not exist; pass the path of a YAML file of Config fields.")
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise GpslibError(f"Config file {path} must hold a mapping of field: value.")
        user.update(loaded)
    user.update({k: v for k, v in overrides.items() if v is not None})
    values.update(_folder_values(user) if dataset == "folder" else preset(dataset, str(partition)))
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

    choice("dataset", DATASETS)
    choice("method", METHODS)
    choice("rampup", RAMPUPS)
    choice("latch_check", LATCH_CHECKS)
    choice("update", UPDATES)
    choice("eval_mode", ("whole", "sliding"))
    choice("pseudo_label_mode", ("eval", "train"))
    choice("on_corrupt", ("stop", "skip"))
    choice("optimizer", OPTIMIZERS)
    parse_partition(cfg.partition)
    for name in ("epochs", "batch_labeled", "batch_unlabeled", "crop_size", "num_classes"):
        if int(getattr(cfg, name)) < 1:
            raise GpslibError(f"{name} must be a positive integer, got {getattr(cfg, name)!r}.")
    if cfg.iters_per_epoch is not None and cfg.iters_per_epoch < 1:
        raise GpslibError(f"iters_per_epoch must be positive or None, got {cfg.iters_per_epoch!r}.")
    if cfg.teacher_epochs < 0:
        raise GpslibError(f"teacher_epochs must be >= 0, got {cfg.teacher_epochs!r}.")
    if cfg.lr <= 0 or (cfg.teacher_lr is not None and cfg.teacher_lr < 0):
        raise GpslibError("lr must be positive and teacher_lr non-negative.")
    lo, hi = cfg.cutmix_area
    if not 0 < lo <= hi < 1:
        raise GpslibError(f"cutmix_area must satisfy 0 < low <= high < 1, got {cfg.cutmix_area!r}.")
    if cfg.dataset != "folder" and (cfg.labeled_file is None) != (cfg.unlabeled_file is None):
        raise GpslibError("Pass labeled_file and unlabeled_file together (one id per line each), or neither.")


# ---------------------------------------------------------------- partitions
def parse_partition(text: str | float) -> Fraction:
    """'1/8', '1_8', '0.125' (or 0.125) -> Fraction(1, 8); anything else is a clear error."""
    raw = str(text).strip()
    try:
        value = Fraction(raw.replace("_", "/")) if ("/" in raw or "_" in raw) else Fraction(raw).limit_denominator(1000)
    except (ValueError, ZeroDivisionError):
        value = None
    if value is None or not 0 < value <= 1:
        raise GpslibError(
            f"Partition {text!r} is not a labeled fraction; write it as 1/8, 1_8 or 0.125 (a value in (0, 1]).")
    return value


def partition_slug(text: str | float) -> str:
    """Fraction(1, 8) -> '1_8', the folder name of the shipped split lists."""
    value = parse_partition(text)
    return f"{value.numerator}_{value.denominator}"


def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(Config)]


def field_types() -> dict[str, Any]:
    return {f.name: f.type for f in dataclasses.fields(Config)}


__all__ = ["Config", "make_config", "preset", "validate", "parse_partition", "partition_slug",
           "DATASETS", "METHODS", "PAPER_PARTITIONS"]


def coerce(name: str, value: Any) -> Any:
    """Turn text from a command line or a papermill -p into the field's type ('none', 'true', '0.5,0.75')."""
    if not isinstance(value, str):
        return value
    kind = str(field_types()[name])
    text = value.strip()
    if text.lower() in ("none", "null", "") and "None" in kind:
        return None
    try:
        if kind.startswith("bool"):
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes")
        if kind.startswith("tuple"):
            return tuple(float(v) for v in text.strip("()[]").split(",") if v.strip())
        if kind.startswith("int"):
            return int(text)
        if kind.startswith("float"):
            return float(text)
    except ValueError as err:
        raise GpslibError(f"{name}={value!r} is not a valid {kind.split(' ')[0]}.") from err
    return text
