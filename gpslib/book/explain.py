"""What the book's chapters 2-6 compute, so that each notebook cell stays a call or two.

Every function here calls the library's real code (datasets, `gps.guide_objective`, `pseudo_label`,
`AdaptiveRampUp`, `fixed_teacher_lr`); nothing re-implements the paper's maths. Images come back as
uint8 HxWx3 arrays ready for `figures.image_grid`.
"""
from __future__ import annotations

import copy
import tempfile

import numpy as np
import torch
from torch import nn

from .. import losses
from .claims import latch_text
from ..config import PAPER_PARTITIONS, make_config, preset
from ..cost import PAPER_TABLE1, cost_table
from ..data.cutmix import box_masks, mix
from ..data.palette import IGNORE, colorize, palette_for
from ..data.transforms import denormalize
from ..evaluate import PSEUDO_SEED, evaluate
from ..models import build_segmenter, count_parameters
from .tables import latch_losses
from ..train import gps
from ..train.batch import assemble
from ..train.schedule import fixed_teacher_lr


# ------------------------------------------------------------------ chapter 2: data
def scene_rows(dataset, indices, name: str = "digits") -> list[list[np.ndarray]]:
    """Two rows for `image_grid`: the raw images and their coloured masks (255 in VOC's near-white)."""
    pairs = [dataset.load(int(i)) for i in indices]
    palette = palette_for(name)
    return [[image for image, _ in pairs], [colorize(mask, palette) for _, mask in pairs]]


def augmentation_rows(dataset, index: int, seeds, name: str = "digits") -> list[list[np.ndarray]]:
    """The raw scene, then the training transform under each seed (`dataset[(i, seed)]`): images and masks."""
    palette = palette_for(name)
    image, mask = dataset.load(int(index))
    images, masks = [image], [colorize(mask, palette)]
    for seed in seeds:
        x, y = dataset[(int(index), int(seed))]
        images.append(denormalize(x))
        masks.append(colorize(y, palette))
    return [images, masks]


def cutmix_example(dataset, indices=(0, 1), seed: int = 0, crop_seed: int = 0, n_boxes: int = 3,
                   area=(0.25, 0.5), name: str = "digits") -> dict:
    """CutMix on a batch of unlabeled images: partner of image i is image i-1; boxes, mixed image and label.

    The label mixed here is the hidden ground truth, to show that labels are pasted with the same boxes.
    """
    items = [dataset[(int(i), crop_seed + k)] for k, i in enumerate(indices)]
    x = torch.stack([a for a, _ in items])
    y = torch.stack([b for _, b in items])
    boxes = box_masks(len(x), x.shape[-2], x.shape[-1], n_boxes, area, torch.Generator().manual_seed(seed))
    x_mix, y_mix = mix(x, boxes), mix(y, boxes)
    palette = palette_for(name)
    row = 0  # image 0 receives boxes from its partner, image -1 (the last of the batch)
    box_img = (boxes[row, 0].numpy()[..., None].repeat(3, -1) * 255).astype(np.uint8)
    return {"rows": [[denormalize(x[row]), denormalize(x[row - 1]), box_img, denormalize(x_mix[row])],
                     [colorize(y[row], palette), colorize(y[row - 1], palette), box_img,
                      colorize(y_mix[row], palette)]],
            "titles": ["image $i$", "partner $i-1$", "box mask", "mixed"],
            "covered": float(boxes[row].mean())}


def table1_comparison(dataset: str):
    """Table 1 from the presets (`cost_table`) next to the numbers printed in the paper."""
    import pandas as pd

    rows = cost_table(dataset)
    paper_epoch, paper_total = PAPER_TABLE1.get(dataset, ([None] * 4, [None] * 4))
    frame = pd.DataFrame(rows)[["partition", "labeled", "unlabeled_per_epoch", "epochs", "iterations_per_epoch",
                                "unlabeled_total", "per_epoch", "total"]]
    frame["paper per epoch"] = paper_epoch
    frame["paper total"] = paper_total
    return frame.rename(columns={"per_epoch": "ours per epoch", "total": "ours total"})


# ------------------------------------------------------------------ chapter 3: networks
def parameter_table(backbones=("resnet18", "resnet50", "resnet101"), num_classes: int = 21,
                    decoder_channels: int = 256):
    """Parameters (millions) of encoder, decoder and head of DeepLabV3+ for each backbone (random init)."""
    import pandas as pd

    rows = []
    for name in backbones:
        counts = count_parameters(build_segmenter(name, num_classes, None, decoder_channels))
        rows.append({"backbone": name, **{k: counts[k] / 1e6 for k in counts},
                     "total": sum(counts.values()) / 1e6})
    return pd.DataFrame(rows).set_index("backbone").round(3)


@torch.no_grad()
def init_differences(nets: dict[str, nn.Module], image: torch.Tensor) -> dict:
    """How T, S1, S2 differ at initialisation: a weight statistic per net and their predictions on one image.

    Returns `stats` (first encoder conv and head weights: mean and std; the class most predicted),
    `labels` (argmax maps, HxW) and `disagreement` (fraction of pixels where two nets' argmax differ).
    """
    labels, stats = {}, {}
    for role, net in nets.items():
        net.eval()
        logits = net(image[None])
        labels[role] = logits.argmax(1)[0]
        conv1 = next(p for p in net.encoder.parameters() if p.dim() == 4)   # the first convolution, any encoder
        head = net.segmentation_head[0].weight
        stats[role] = {"conv1 mean": float(conv1.mean()), "conv1 std": float(conv1.std()),
                       "head mean": float(head.mean()), "head std": float(head.std()),
                       "most predicted class": int(labels[role].flatten().mode().values)}
    roles = list(nets)
    disagreement = {f"{a} vs {b}": float((labels[a] != labels[b]).float().mean())
                    for k, a in enumerate(roles) for b in roles[k + 1:]}
    return {"stats": stats, "labels": labels, "disagreement": disagreement}


# ------------------------------------------------------------------ chapters 4-6: a trainer in a temp dir
def short_config(partition: str = "1/8", **overrides):
    """The digits preset with a temporary out_dir and one checkpoint at most per phase (nothing in the repo)."""
    values = dict(out_dir=tempfile.mkdtemp(prefix="gpslib-book-"), checkpoint_every=10**9, amp=False)
    values.update(overrides)
    return make_config("digits", partition, **values)


def teacher_quality(trainer, n_images: int = 6, val_limit: int | None = 100, seed: int = PSEUDO_SEED) -> dict:
    """The teacher after phase a: val mIoU, and Y^t on a few unlabeled images next to their hidden masks."""
    cfg, teacher = trainer.cfg, trainer.nets["teacher"]
    result = evaluate(teacher, trainer.data.val, cfg.num_classes, crop=cfg.crop_size, limit=val_limit)
    palette = palette_for(cfg.dataset)
    images, preds, truths, acc = [], [], [], []
    for i in range(n_images):
        x, y = trainer.data.unlabeled[(i, seed + i)]
        y_t = gps.predict_no_grad(teacher, x[None], cfg.pseudo_label_mode).argmax(1)[0]
        keep = y != IGNORE
        acc.append(float((y_t[keep] == y[keep]).float().mean()))
        images.append(denormalize(x))
        preds.append(colorize(y_t, palette))
        truths.append(colorize(y, palette))
    return {"miou": result["miou"], "iou": result["iou"], "rows": [images, preds, truths],
            "pixel_accuracy": acc, "val_images": val_limit or len(trainer.data.val)}


def make_batch(data, cfg, index: int = 0) -> gps.Batch:
    """A deterministic GPS batch: labeled and unlabeled images `index*B ...`, augmented with fixed seeds."""
    def stack(ds, n):
        items = [ds[((index * n + k) % len(ds), 1000 + index * n + k)] for k in range(n)]
        return torch.stack([a for a, _ in items]), torch.stack([b for _, b in items])

    x_l, y_l = stack(data.labeled, cfg.batch_labeled)
    x_u, y_hidden = stack(data.unlabeled, cfg.batch_unlabeled)
    batch = assemble(cfg, index, x_l, y_l, x_u)     # the training loop's CutMix boxes for iteration `index`
    batch.hidden = y_hidden  # the unlabeled images' true masks: for the book's pictures only, never a target
    return batch


def _snapshot(net: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def _change(before: dict, net: nn.Module, params: bool) -> float:
    names = {n for n, _ in net.named_parameters()} if params else {n for n, _ in net.named_buffers()}
    after = net.state_dict()
    diffs = [float((after[n].float() - before[n].float()).abs().max()) for n in names if after[n].is_floating_point()]
    return max(diffs) if diffs else 0.0


def guide_step(nets: dict[str, nn.Module], optimizer: torch.optim.Optimizer, batch: gps.Batch, cfg) -> dict:
    """ONE guide step (eq. 3-7) through the library's own `gps.guide_objective`, then one student optimiser step.

    Returns the loss terms and their weights, the pseudo-labels the step used (Y^t and Y^{s_k}, computed on
    the unmixed X^u by `gps.pseudo_label`, then mixed), and how far each network's parameters and BN
    buffers moved (max |change|): the teacher's must not move at all.
    """
    t, s1, s2 = nets["teacher"], nets["student1"], nets["student2"]
    for net in (t, s1, s2):
        net.train()
    mode = cfg.pseudo_label_mode
    shown = {"Y^t unmixed": gps.predict_no_grad(t, batch.x_u, mode).argmax(1),
             "Y^t": gps.pseudo_label(t, batch, mode),
             "Y^s1": gps.pseudo_label(s1, batch, mode),
             "Y^s2": gps.pseudo_label(s2, batch, mode)}
    before = {role: _snapshot(net) for role, net in nets.items()}
    loss, terms = gps.guide_objective(t, s1, s2, batch, cfg)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    moved = {role: {"parameters": _change(before[role], net, True), "BN buffers": _change(before[role], net, False)}
             for role, net in nets.items()}
    weights = {"sup_s": 1.0, "gps": cfg.alpha, "cps": cfg.beta}
    table = [{"term": k, "value": float(terms[k].detach()), "weight": w, "contribution": w * float(terms[k].detach())}
             for k, w in weights.items() if k in terms]
    return {"terms": {k: float(v.detach()) for k, v in terms.items()}, "table": table, "labels": shown, "moved": moved}


def guide_rows(batch: gps.Batch, labels: dict, k: int = 0, name: str = "digits") -> tuple[list, list[str]]:
    """One unlabeled image k of a guide step: inputs, CutMix and every pseudo-label, as image_grid rows."""
    palette = palette_for(name)
    x_mixed = batch.mixed(batch.x_u)
    hidden = getattr(batch, "hidden", None)
    box = np.zeros((*batch.x_u.shape[-2:], 3), np.uint8) if batch.boxes is None else \
        (batch.boxes[k, 0].numpy()[..., None].repeat(3, -1) * 255).astype(np.uint8)
    top = [denormalize(batch.x_u[k]), denormalize(batch.x_u[k - 1]), box, denormalize(x_mixed[k])]
    bottom = [colorize(labels["Y^t unmixed"][k], palette), colorize(labels["Y^t"][k], palette),
              colorize(labels["Y^s1"][k], palette), colorize(labels["Y^s2"][k], palette)]
    titles = ["$X^u_i$", "partner $X^u_{i-1}$", "box mask", "mixed input",
              "$Y^t$ (unmixed)", "$Y^t$ mixed", "$Y^{s_1}$ mixed", "$Y^{s_2}$ mixed"]
    rows = [top, bottom]
    if hidden is not None:
        rows.append([colorize(hidden[k], palette), colorize(batch.mixed(hidden)[k], palette)])
        titles += ["hidden truth", "hidden truth mixed", "", ""]
    return rows, titles


# ------------------------------------------------------------------ chapter 6: feedback and ramp-up
def rampup_schedules(max_epochs: int, latch_epoch: int | None):
    """w(e) per epoch e = 1..E for each `rampup` mode, from the real AdaptiveRampUp.

    For "adaptive" the latch is forced at the end of `latch_epoch` by feeding it losses that satisfy
    L_sup^s / 2 <= L_sup^t; before that it is fed losses that do not.
    """
    import pandas as pd

    rows = []
    for mode in ("adaptive", "fixed", "none"):
        ramp = losses.AdaptiveRampUp(max_epochs, mode=mode, check="epoch")
        for e in range(1, max_epochs + 1):
            rows.append({"epoch": e, "mode": mode, "w": ramp.weight(e), "r": ramp.r})
            caught_up = latch_epoch is not None and e >= latch_epoch
            sup_s = torch.tensor(1.0 if caught_up else 3.0)
            ramp.observe(sup_s, torch.tensor(1.0), e, e)
            ramp.end_epoch(e, e)
    return pd.DataFrame(rows)


def teacher_lr_examples() -> list[dict]:
    """The paper's fixed teacher lr after phase a, lr (E max_iter)^-0.9, for VOC 1/8 and the digits preset."""
    rows = []
    for dataset in ("pascal", "digits"):
        per_epoch = next(r for r in cost_table(dataset) if r["partition"] == "1/8")["iterations_per_epoch"]
        cfg = make_config(dataset, "1/8")
        max_iter = cfg.epochs * per_epoch
        fixed = fixed_teacher_lr(cfg, max_iter)
        rows.append({"dataset": dataset, "partition": "1/8", "lr": cfg.lr, "epochs E": cfg.epochs,
                     "iterations/epoch": per_epoch, "E x max_iter": max_iter, "teacher lr": fixed,
                     "teacher lr / lr": fixed / cfg.lr,
                     "teacher lr x all iterations": fixed * max_iter})
    return rows


def latch_report(history) -> dict:
    """Where the latch fired in a run (from its History), with the per-epoch mean supervised losses."""
    latch = history.latch
    epoch = latch.get("latched_epoch")
    text = latch_text(history)
    return {"epoch": epoch, "iteration": latch.get("latched_iteration"), "text": text,
            "per_epoch": latch_losses(history)}


def paper_epochs(dataset: str) -> dict[str, int]:
    """Epochs E per paper partition, from the presets."""
    return {p: preset(dataset, p)["epochs"] for p in PAPER_PARTITIONS}


def copy_nets(nets: dict[str, nn.Module]) -> dict[str, nn.Module]:
    """Deep copies, so a demonstration step leaves a trainer's networks untouched."""
    return {role: copy.deepcopy(net) for role, net in nets.items()}
