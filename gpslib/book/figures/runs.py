"""Figures of trained runs (chapters 7-12): losses, pseudo-label accuracy, predictions, mIoU curves, ablations."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from ..experiments import variant_of
from ...history import History
from ..tables import (LOSS_LABELS, METHOD_LABELS, ROLE_LABELS, describe_run, describe_runs, fps_flow, loss_frame,
                      miou_frame, running_mean)
from .style import METHOD_COLORS, blank, finish


def plot_losses(history: History, smooth: int | None = None):
    """Every loss term per iteration (running mean), phase a on the left, the main loop on the right."""
    import seaborn as sns
    frame = loss_frame(history)
    phases = list(dict.fromkeys(frame["phase"]))
    fig, axes = plt.subplots(1, max(1, len(phases)), figsize=(5 + 4 * len(phases), 3.8), squeeze=False,
                             width_ratios=[1] + [2] * (len(phases) - 1))
    for ax, phase in zip(axes[0], phases):
        part = frame[frame["phase"] == phase].copy()
        window = smooth or max(1, part["iteration"].nunique() // 15)
        part["value"] = part.groupby("term")["value"].transform(lambda v: running_mean(v, window))
        part["term"] = part["term"].map(LOSS_LABELS)
        sns.lineplot(data=part, x="iteration", y="value", hue="term", ax=ax, lw=1.6)
        ax.set(yscale="log", ylabel="cross-entropy (running mean)", title=f"phase {phase} ({window}-it mean)")
        ax.legend(fontsize=8)
    return finish(fig, f"Loss terms — {describe_run(history)}", 10)


def plot_pseudo_label_accuracy(history: History):
    """Pixel accuracy of Y^t (teacher) and Y^s-bar (students' average) on unlabeled images, per evaluation."""
    ev = history.frame("evals")
    fig, ax = plt.subplots(figsize=(7, 3.6))
    if not {"acc_teacher", "acc_students"} & set(ev):
        ax.axis("off")
        blank(ax, "No pseudo-label accuracy: the unlabeled images of this run have no hidden masks to score them\n"
                  "against (a folder's unlabeled images), or the method makes no pseudo-labels.")
        return finish(fig, describe_run(history), 9)
    for column, label in (("acc_teacher", "teacher $Y^t$"), ("acc_students", r"students' average $Y^{\bar s}$"),
                          ("agreement", "agreement of the two")):
        if column in ev:
            ax.plot(ev["epoch"], 100 * ev[column], marker="o", ls=":" if column == "agreement" else "-", label=label)
    ax.set(xlabel="epoch (0 = after phase a)", ylabel="pixel accuracy (%)")
    ax.legend(fontsize=8)
    n = history.config.get("pseudo_eval_images")
    ax.set_title(f"Pseudo-labels vs hidden masks of {n} unlabeled images", fontsize=9)
    return finish(fig, describe_run(history), 9)


def prediction_panel(out_dir: str | Path, n: int = 4, role: str = "student1", device: str = "cpu", data=None):
    """Image / ground truth / prediction of `role` on the first n validation images of a run's checkpoint."""
    import torch

    from ...data import build_datasets
    from ...data.palette import colorize
    from ...data.transforms import denormalize
    from ...evaluate import predict_logits
    from ...predict import load_network
    net, cfg = load_network(Path(out_dir) / "last.pt", role, device)
    data = data or build_datasets(cfg)
    palette = data.palette          # a folder's classes-file colours, else the dataset's own
    n = min(n, len(data.val))
    fig, axes = plt.subplots(n, 3, figsize=(6.3, 2.1 * n + 0.5), squeeze=False)
    for i in range(n):
        x, y = data.val[i]
        with torch.inference_mode():
            pred = predict_logits(net, x[None].to(device), mode=cfg.eval_mode,
                                  crop=cfg.eval_crop or cfg.crop_size).argmax(1)[0].cpu()
        for ax, img, title in zip(axes[i], (denormalize(x), colorize(y, palette), colorize(pred, palette)),
                                  ("image", "ground truth", f"prediction of {ROLE_LABELS[role]}")):
            ax.imshow(img, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(title, fontsize=9)
    history = History.load(out_dir) if (Path(out_dir) / "history.json").is_file() else None
    made = describe_run(history) if history else f"{cfg.dataset} {cfg.partition}"
    return finish(fig, f"Validation images — {made}", 8)


def plot_miou_curves(histories: dict[str, History], roles=("student1", "teacher"), title: str = "",
                     by: str = "method"):
    """Validation mIoU per epoch: one panel per partition, colour = method (or, with by="variant", the run's name
    without its seed), dashes = network; several seeds are drawn as their mean with a band from the lowest to
    the highest seed."""
    import seaborn as sns
    frame = miou_frame(histories, roles)
    partitions = list(dict.fromkeys(frame["partition"])) or ["none"]
    fig, axes = plt.subplots(1, len(partitions), figsize=(max(6.0, 3.6 * len(partitions)), 3.6), squeeze=False,
                             sharey=True)
    for ax, partition in zip(axes[0], partitions):
        part = frame[frame["partition"] == partition]
        if part.empty:
            blank(ax, "no recorded runs")
            continue
        colours = (dict(palette=METHOD_COLORS, hue_order=[m for m in METHOD_LABELS.values() if m in set(part[by])])
                   if by == "method" else {})
        sns.lineplot(data=part, x="epoch", y="mIoU (%)", hue=by, style="network", markers=True, ax=ax,
                     style_order=[ROLE_LABELS[r] for r in roles if r in ROLE_LABELS], errorbar=("pi", 100),
                     legend=ax is axes[0][0], **colours)
        ax.set(title=f"partition {partition}", xlabel="epoch (0 = start of main loop)")
    if axes[0][0].get_legend() is not None:
        handles, labels = axes[0][0].get_legend_handles_labels()
        axes[0][0].get_legend().remove()
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), frameon=False)
    return finish(fig, title or f"Validation mIoU per epoch — {describe_runs(histories)}")


def plot_fps_flow(runs: dict[str, History], epochs: float = 1.0, smooth: int = 5):
    """Fig. 6b: L_fps per iteration (running mean) for two-step vs merged updates over the first epochs; a variant
    with several seeds is drawn as their mean with a band from the lowest to the highest seed."""
    import seaborn as sns
    frame = fps_flow(runs, epochs)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    if frame.empty:
        blank(ax, "no recorded runs")
    else:
        frame["L_fps (running mean)"] = frame.groupby("run")["L_fps"].transform(lambda v: running_mean(v, smooth))
        sns.lineplot(data=frame, x="iteration", y="L_fps (running mean)", hue="variant", errorbar=("pi", 100),
                     ax=ax)
        ax.set(xlabel="iteration after phase a")
    return finish(fig, f"$L_{{fps}}$ over the first {epochs:g} epoch(s), {smooth}-it running mean, two-step vs merged "
                       f"update — {describe_runs(runs)}")


def plot_rampup_variants(runs: dict[str, History]):
    """w(e) (and the alpha scale of the ramp-down) per iteration for each ramp-up variant (its seed-0 run)."""
    runs = {name: h for name, h in runs.items() if variant_of(name) == name}
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for name, h in runs.items():
        it = h.frame("iterations")
        if "w" in it:
            line, = ax.step(it["iteration"], it["w"], where="post", label=f"{name}: w(e)")
            if "alpha_scale" in it and (it["alpha_scale"] != 1).any():
                ax.step(it["iteration"], it["alpha_scale"], where="post", ls="--", color=line.get_color(),
                        label=f"{name}: α scale")
    ax.set(xlabel="iteration after phase a", ylabel="weight", ylim=(-0.02, 1.05))
    if runs:
        ax.legend()
    else:
        blank(ax, "no recorded runs")
    return finish(fig, f"Weights used by each ramp-up variant — {describe_runs(runs)}")
