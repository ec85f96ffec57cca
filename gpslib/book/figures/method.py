"""The method's figures (chapters 2-6): the image rows `image_grid` shows (scenes, the training
transform, CutMix, a guide step, pseudo-labels), phase a and the ramp-up."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch

from ...data.cutmix import box_masks, mix
from ...data.palette import colorize, palette_for
from ...data.transforms import denormalize
from ...losses import gaussian_rampup
from ...report.style import (FEEDBACK, GUIDE, OVERLAP_STYLES, PHASE_A, blank, coincident_labels, figure, finish,
                             legend_below, loss_axis)


def scene_rows(dataset, indices, name: str = "digits") -> list[list[np.ndarray]]:
    """Two rows for `image_grid`: the stored images and their coloured masks (255 in near-white)."""
    pairs = [dataset.load(int(i)) for i in indices]
    return [[image for image, _ in pairs], [colorize(mask, palette_for(name)) for _, mask in pairs]]


def augmentation_rows(dataset, index: int, seeds, name: str = "digits") -> list[list[np.ndarray]]:
    """The stored scene, then the training transform under each seed (`dataset[(i, seed)]`): images and masks."""
    image, mask = dataset.load(int(index))
    items = [dataset[(int(index), int(seed))] for seed in seeds]
    return [[image] + [denormalize(x) for x, _ in items],
            [colorize(m, palette_for(name)) for m in [mask] + [y for _, y in items]]]


def cutmix_example(dataset, indices=(0, 1), seed: int = 0, n_boxes: int = 3, area=(0.25, 0.5),
                   name: str = "digits") -> dict:
    """CutMix of image 0 with its partner, the batch's previous (last) image: both, the boxes, the mixed image, and
    the hidden true masks mixed with the same boxes (labels move with their pixels)."""
    items = [dataset[(int(i), k)] for k, i in enumerate(indices)]
    x, y = torch.stack([a for a, _ in items]), torch.stack([b for _, b in items])
    boxes = box_masks(len(x), x.shape[-2], x.shape[-1], n_boxes, area, torch.Generator().manual_seed(seed))
    x_mix, y_mix, palette = mix(x, boxes), mix(y, boxes), palette_for(name)
    box = (boxes[0, 0].numpy()[..., None].repeat(3, -1) * 255).astype(np.uint8)
    return {"rows": [[denormalize(x[0]), denormalize(x[-1]), box, denormalize(x_mix[0])],
                     [colorize(y[0], palette), colorize(y[-1], palette), box, colorize(y_mix[0], palette)]],
            "titles": ["image $i$", "partner $i-1$", "box mask", "mixed"], "covered": float(boxes[0].mean())}


def guide_rows(batch, labels: dict, k: int = 0, name: str = "digits") -> tuple[list, list[str]]:
    """Unlabeled image k of a guide step: its partner, boxes and mixed input, every pseudo-label (computed on the
    unmixed images, then mixed) and the hidden truth, as `image_grid` rows and cell titles."""
    palette = palette_for(name)
    box = np.zeros((*batch.x_u.shape[-2:], 3), np.uint8) if batch.boxes is None else \
        (batch.boxes[k, 0].numpy()[..., None].repeat(3, -1) * 255).astype(np.uint8)
    rows = [[denormalize(batch.x_u[k]), denormalize(batch.x_u[k - 1]), box, denormalize(batch.mixed(batch.x_u)[k])],
            [colorize(labels[key][k], palette) for key in ("Y^t unmixed", "Y^t", "Y^s1", "Y^s2")]]
    titles = ["$X^u_i$", "partner $X^u_{i-1}$", "box mask", "mixed input",
              "$Y^t$ (unmixed)", "$Y^t$ mixed", "$Y^{s_1}$ mixed", "$Y^{s_2}$ mixed"]
    if getattr(batch, "hidden", None) is not None:
        rows.append([colorize(batch.hidden[k], palette), colorize(batch.mixed(batch.hidden)[k], palette)])
        titles += ["hidden truth", "hidden truth mixed", "", ""]
    return rows, titles


@torch.no_grad()
def init_differences(nets: dict, image: torch.Tensor) -> dict:
    """Each network's argmax on one image before training, and the share of pixels where two of them differ."""
    from ...losses import label_map
    labels = {role: label_map(net.eval()(image[None]))[0] for role, net in nets.items()}
    roles = list(nets)
    return {"labels": labels, "disagreement": {f"{a} vs {b}": float((labels[a] != labels[b]).float().mean())
                                               for k, a in enumerate(roles) for b in roles[k + 1:]}}


def teacher_label_rows(trainer, n: int, seed: int) -> tuple[list, list[float]]:
    """Yᵗ = argmax T(Xᵘ) on the first n unlabeled images (augmented with seeds seed + i) next to their hidden masks,
    as `image_grid` rows, and its pixel accuracy on each."""
    from ...losses import label_map
    from ...train.gps import predict_no_grad
    cfg, palette, rows, acc = trainer.cfg, palette_for(trainer.cfg.dataset), [[], [], []], []
    for i in range(n):
        x, y = trainer.data.unlabeled[(i, seed + i)]
        y_t = label_map(predict_no_grad(trainer.nets["teacher"], x[None], cfg.pseudo_label_mode))[0]
        acc.append(float((y_t[y != 255] == y[y != 255]).float().mean()))
        for row, image in zip(rows, (denormalize(x), colorize(y_t, palette), colorize(y, palette))):
            row.append(image)
    return rows, acc


def teacher_curve(rows, title=""):
    """Phase a: the teacher's L^t_sup per iteration (and a running mean), with its poly learning rate."""
    it = np.array([r["iteration"] for r in rows])
    loss = np.array([r["sup_t"] for r in rows])
    window = max(1, len(loss) // 20)
    mean = np.convolve(loss, np.ones(window) / window, mode="valid")
    fig, ax = figure(3.6)
    raw, = ax.plot(it, loss, color=PHASE_A, alpha=0.35, lw=1)
    smooth, = ax.plot(it[window - 1:], mean, color=PHASE_A, lw=2)
    ax.set(xlabel="phase-a iteration", ylabel="cross-entropy")
    loss_axis(ax, loss)
    lr_ax = ax.twinx()
    lr, = lr_ax.plot(it, [r["lr_teacher"] for r in rows], color=FEEDBACK, lw=1.2, ls="--")
    lr_ax.set_ylabel("teacher lr", color=FEEDBACK)
    legend_below(fig, [raw, smooth, lr], ["$L^t_{sup}$ per batch", f"running mean ({window} batches)",
                                          "teacher lr (right axis)"])
    return finish(fig, title)


def teacher_runs(histories: dict, title: str | None = None):
    """Phase a of recorded GPS runs: T's val mIoU at each of its evaluations, one colour per partition, one line per
    seed. The default title says what made the runs and how much of its final mIoU T has halfway through."""
    runs = [h for h in histories.values() if h.config.get("method") == "gps" and h.teacher_evals]
    fig, ax = figure(3.8)
    parts = sorted({h.config["partition"] for h in runs}, key=Fraction)
    handles, labels, halfway = [], [], []
    for k, part in enumerate(parts):
        seeds = [h for h in runs if h.config["partition"] == part]
        for h in seeds:
            epoch = np.array([e["epoch"] for e in h.teacher_evals])
            miou = 100 * np.array([e["miou_teacher"] for e in h.teacher_evals])
            line, = ax.plot(epoch, miou, color=f"C{k}", marker="o", ms=4, lw=1.6, alpha=0.85)
            halfway.append(np.interp(epoch[-1] / 2, epoch, miou) / miou[-1])
        handles.append(line)
        labels.append(f"{part}: {len(seeds)} seed{'s' if len(seeds) > 1 else ''}, E = {seeds[0].config['epochs']}")
    ax.set(xlabel="phase-a epoch (one pass over the unlabeled set's length)", ylabel="T's val mIoU (%)",
           ylim=(0, 100), xlim=(0, None))
    if not runs:
        blank(ax, "no recorded GPS run with T's phase-a evaluations")
    else:
        legend_below(fig, handles, labels)
    if title is None and runs:
        iters = sorted({h.meta["teacher_iters"] for h in runs})
        span = f"{iters[0]:,}" if len(iters) == 1 else f"{iters[0]:,}–{iters[-1]:,}"
        title = (f"Phase a of the digits preset, recorded runs: T on the val scenes after every epoch, "
                 f"{span} iterations, "
                 f"{'/'.join(sorted({str(h.meta.get('device')) for h in runs}))}; halfway through, T has already "
                 f"{min(halfway):.0%} or more of its final mIoU")
    return finish(fig, title)


def rampup_curves(table, title="", max_epochs=None):
    """w(e) per epoch for the adaptive / fixed / none ramp-up (a DataFrame from explain.rampup_schedules); where
    modes give the same weights, the later one is drawn thinner on top and its legend entry says up to where."""
    fig, ax = figure(3.6)
    colours = {"adaptive": (FEEDBACK, "o"), "fixed": (GUIDE, "s"), "none": (PHASE_A, "^")}
    curves = {mode: (part["epoch"].to_numpy(), part["w"].to_numpy())
              for mode, part in table.groupby("mode", sort=False)}
    handles, labels = [], []
    for k, (group, label) in enumerate(coincident_labels(curves, 1e-9, "epoch")):
        colour, marker = colours.get(group[0], ("black", "."))
        style = OVERLAP_STYLES[min(k, len(OVERLAP_STYLES) - 1)]
        line, = ax.step(*curves[group[0]], where="post", color=colour, marker=marker, ms=11 - 2.5 * min(k, 2),
                        mfc="white" if k == 0 else colour, mew=2, **style)
        handles.append(line)
        labels.append(label)
    e_max = max_epochs or int(table["epoch"].max())
    grid = np.linspace(0, e_max, 200)
    smooth, = ax.plot(grid, [gaussian_rampup(e, e_max) for e in grid], color=GUIDE, lw=1, ls=":")
    handles.append(smooth)
    labels.append(r"$\exp(-(1-e/E)^2)$, continuous")
    ax.set(xlabel="epoch $e$", ylabel="$w(e)$", ylim=(0, 1.08))
    ax.set_xticks(range(0, e_max + 1))
    legend_below(fig, handles, labels)
    return finish(fig, title)
