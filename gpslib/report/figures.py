"""One run's figures, as train.ipynb, chapter 12 and `gpslib report` show them: its losses, the pseudo-labels'
accuracy, the ramp-up's latch, validation mIoU through phase a and the main loop, and predictions next to the
ground truth; `image_grid` lays out any rows of images with a key to the class colours."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ..history import History
from .style import (FEEDBACK, FIG_WIDTH_IN, GUIDE, OVERLAP_STYLES, PHASE_A, SMALL_PT, TEXT_PT, TITLE_PT, blank,
                    class_key, coincident_labels, figure, finish, label_map_cells, legend_below, loss_axis, wrap,
                    zoom_after_start)
from .text import LOSS_LABELS, ROLE_LABELS, describe_run, latch_text, loss_frame, made_by, running_mean

TERM_COLORS = {term: f"C{i}" for i, term in enumerate(LOSS_LABELS)}   # a loss term keeps its colour in every panel


def image_grid(rows, titles=None, row_labels=None, title="", cell=1.7, classes=None, palette=None,
               key: bool = True):
    """A grid of uint8 HxWx3 images (a list of rows), sized to the page; `titles` label the cells in reading order.

    Cells that are label maps in `palette` (every pixel a class colour; default: the digits' classes and colours)
    get a key to the classes they show under the grid (key=False: none).
    """
    from ..data.palette import DIGIT_CLASSES, PALETTE
    classes = list(DIGIT_CLASSES if classes is None else classes)
    palette = PALETTE if palette is None else np.asarray(palette)
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    images = [image for row in rows for image in row]
    maps = [im for im, flag in zip(images, label_map_cells(images, palette, len(classes))) if flag] if key else []
    side = 0.45 if row_labels is not None else 0.0                 # room for the row labels
    cell = min(cell, (FIG_WIDTH_IN - side - 0.1) / n_cols)
    cell_title = 0.3 if titles is not None and any(titles) else 0.04
    heading = (wrap(title, TITLE_PT).count("\n") + 1) * 0.2 + 0.1 if title else 0.0
    shown = len({tuple(c) for im in maps for c in np.unique(np.asarray(im).reshape(-1, 3), axis=0)})
    key_rows = -(-shown // 6) if maps else 0
    height = n_rows * (cell + cell_title) + heading + (0.3 + 0.22 * key_rows if maps else 0.0) + 0.1
    fig, axes = figure(height, n_rows, n_cols, squeeze=False)
    for r in range(n_rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.set(xticks=[], yticks=[])
            if c < len(rows[r]):
                ax.imshow(rows[r][c], interpolation="nearest")
            else:
                ax.axis("off")
            k = r * n_cols + c
            if titles is not None and k < len(titles) and titles[k]:
                ax.set_title(wrap(titles[k], SMALL_PT, cell), fontsize=SMALL_PT)
        if row_labels is not None and r < len(row_labels):
            axes[r][0].set_ylabel(wrap(row_labels[r], TEXT_PT, cell), fontsize=TEXT_PT)
    if maps:
        class_key(fig, maps, classes, palette)
    if title:
        fig.suptitle(wrap(title, TITLE_PT, FIG_WIDTH_IN - 0.15), fontsize=TITLE_PT)
    _fit_height(fig, axes)
    return finish(fig, title)


def _fit_height(fig, axes, rounds: int = 3) -> None:
    """Make the figure just as tall as its rows of images need: constrained layout gives each row the height
    left over, and an image (aspect kept) would float in the spare room or shrink below its cell width."""
    for _ in range(rounds):
        fig.canvas.draw()
        need = 0.0
        for row in axes:
            wants = [ax.get_position(original=True).width * fig.get_figwidth() * ax.images[0].get_size()[0]
                     / ax.images[0].get_size()[1] - ax.get_position(original=True).height * fig.get_figheight()
                     for ax in row if ax.images]
            need += max(wants, default=0.0)
        if abs(need) < 0.02:
            break
        fig.set_figheight(max(1.0, fig.get_figheight() + need))


def _axes_width(ax) -> float:
    """Width of an axes in inches once laid out (a first guess from its position before that)."""
    return ax.figure.get_figwidth() * ax.get_position().width


def x_epochs(ax, label: str, note: str) -> None:
    """An epoch axis: whole epochs, at most one tick per 0.35 inch so that the numbers of a narrow panel never
    touch, and a label with a second line for what lies off the axis, wrapped to the panel."""
    ax.xaxis.set_major_locator(MaxNLocator(nbins=max(2, int(_axes_width(ax) / 0.35)), integer=True))
    ax.set_xlabel(wrap(label + (f"\n{note}" if note else ""), TEXT_PT, max(_axes_width(ax), 1.5)))


def plot_losses(history: History, smooth: int | None = None):
    """Every loss term per iteration (running mean), phase a on the left, the main loop on the right; one colour
    per term in both panels and one key below them."""
    frame = loss_frame(history)
    phases = list(dict.fromkeys(frame["phase"]))
    fig, axes = figure(3.6, 1, max(1, len(phases)), squeeze=False,
                       width_ratios=[1, 2.2] if len(phases) == 2 else None)
    if not phases:
        axes[0][0].axis("off")
        blank(axes[0][0], "No loss was logged in this run.")
        return finish(fig, f"Loss terms — {describe_run(history)}")
    handles: dict[str, Line2D] = {}
    for ax, phase in zip(axes[0], phases):
        part = frame[frame["phase"] == phase]
        window = smooth or max(1, part["iteration"].nunique() // 15)
        for term, rows in part.groupby("term", sort=False):
            line, = ax.plot(rows["iteration"], running_mean(rows["value"], window), color=TERM_COLORS[term], lw=1.6)
            handles.setdefault(term, line)
        loss_axis(ax, np.concatenate([line.get_ydata() for line in ax.lines]))
        mean = f", {window}-it mean" if window > 1 else ""
        ax.set_title(wrap(f"phase {phase}{mean}", TEXT_PT, _axes_width(ax)), fontsize=TEXT_PT)
        ax.set_xlabel("iteration" if phase.startswith("a") else "iteration after phase a")
    axes[0][0].set_ylabel("cross-entropy (running mean)")
    terms = [t for t in LOSS_LABELS if t in handles]
    legend_below(fig, [handles[t] for t in terms], [LOSS_LABELS[t] for t in terms])
    return finish(fig, f"Loss terms — {describe_run(history)}")


def plot_pseudo_label_accuracy(history: History):
    """Pixel accuracy of Y^t (teacher) and Y^s-bar (students' average) on unlabeled images, per evaluation; the
    y range spans the trained epochs, and curves that coincide are drawn once and said to."""
    ev = history.frame("evals")
    fig, ax = figure(3.6)
    if not {"acc_teacher", "acc_students"} & set(ev):
        ax.axis("off")
        blank(ax, "No pseudo-label accuracy: the unlabeled images of this run have\n"
                  "no hidden masks to score them against (a folder's unlabeled images),\n"
                  "or the method makes no pseudo-labels.")
        return finish(fig, describe_run(history))
    names = {"acc_teacher": "teacher $Y^t$", "acc_students": r"students' average $Y^{\bar s}$",
             "agreement": "agreement of the two students"}
    curves = {label: (ev["epoch"].to_numpy(), 100 * ev[column].to_numpy())
              for column, label in names.items() if column in ev}
    note = zoom_after_start(ax, curves, start=1.0)
    low, high = ax.get_ylim() if note else (min(np.nanmin(y) for _, y in curves.values()),
                                            max(np.nanmax(y) for _, y in curves.values()))
    colours = dict(zip(curves, ("C0", "C1", "C2")))
    markers = dict(zip(curves, ("o", "s", "^")))
    handles, labels = [], []
    for k, (group, label) in enumerate(coincident_labels(curves, tol=0.005 * (high - low), what="evaluation")):
        x, y = curves[group[0]]
        line, = ax.plot(x, y, color=colours[group[0]], marker=markers[group[0]], ms=7 - 1.5 * min(k, 2),
                        **OVERLAP_STYLES[min(k, len(OVERLAP_STYLES) - 1)] | {"lw": 2.2 - 0.4 * min(k, 2)})
        handles.append(line)
        labels.append(label)
    ax.set_ylabel("pixel accuracy (%)")
    x_epochs(ax, "epoch (0 = start of the main loop)", note)
    n = history.config.get("pseudo_eval_images")
    ax.set_title(f"Pseudo-labels vs the hidden masks of {n} unlabeled images", fontsize=TEXT_PT)
    legend_below(fig, handles, labels)
    return finish(fig, describe_run(history))


def latch_plot(history, title: str | None = None, smooth_window: int | None = 1):
    """A run's ramp-up: L^s_sup/2 and L^t_sup per iteration (running mean over `smooth_window`, None: about 1/15
    of the run), epoch boundaries, the latch, and the w(e) (and alpha scale of the ramp-down) actually used.
    """
    frame = history.frame("iterations")
    fig, (ax, w_ax) = figure(5.2, 2, 1, sharex=True, height_ratios=[2, 1])
    title = f"Adaptive ramp-up (eq. 9) — {describe_run(history)}" if title is None else title
    if "w" not in frame:
        ax.axis("off")
        w_ax.axis("off")
        blank(ax, latch_text(history), width_in=FIG_WIDTH_IN - 0.3)
        return finish(fig, title)
    window = smooth_window or max(1, len(frame) // 15)
    mean = f" ({window}-it mean)" if window > 1 else ""
    handles = [ax.plot(frame["iteration"], running_mean(frame["sup_s"] / 2, window), color=GUIDE)[0],
               ax.plot(frame["iteration"], running_mean(frame["sup_t"], window), color=FEEDBACK)[0]]
    labels = ["$L^s_{sup}/2$ (students)", "$L^t_{sup}$ (teacher)"]
    ax.set_ylabel(wrap(f"cross-entropy on $X^l${mean}", TEXT_PT, 3.0))
    loss_axis(ax, np.concatenate([line.get_ydata() for line in handles]))
    handles.append(w_ax.step(frame["iteration"], frame["w"], where="post", color=FEEDBACK, lw=2)[0])
    labels.append("$w(e)$ used")
    if "alpha_scale" in frame and (frame["alpha_scale"] != 1).any():
        handles.append(w_ax.step(frame["iteration"], frame["alpha_scale"], where="post", ls="--", color=GUIDE)[0])
        labels.append(r"$\alpha$ scale (ramp-down)")
    w_ax.set(xlabel="iteration (after phase a)", ylabel="$w(e)$", ylim=(0, 1.08))
    marks = _epoch_marks((ax, w_ax), frame, history.latch)
    legend_below(fig, handles + [h for h, _ in marks], labels + [label for _, label in marks])
    return finish(fig, title)


def _epoch_marks(axes, frame, latch: dict) -> list[tuple]:
    """Epoch boundaries (grey) and the latch (dashed) on every axis; their (handle, label) for the legend."""
    starts, at = frame.groupby("epoch")["iteration"].min().values[1:], latch.get("latched_iteration")
    for axis in axes:
        for s in starts:
            axis.axvline(s - 0.5, color="0.75", lw=0.8, zorder=0)
        if at is not None:
            axis.axvline(at + 0.5, color="black", ls="--", lw=1.5)
    marks = [(Line2D([], [], color="0.75", lw=0.8), "epoch boundary")] if len(starts) else []
    if at is not None:
        marks.append((Line2D([], [], color="black", ls="--", lw=1.5), f"latch (end of epoch {latch['latched_epoch']})"))
    return marks


def phase_curves(history: History, what: str | None = None):
    """Validation mIoU of T through phase a, then of T, S1 and S2 through the main loop, on one iteration axis."""
    (fig, ax), start = figure(3.4), history.meta.get("teacher_iters") or 0
    for label, rows, role, colour, marker in (("T in phase a", history.teacher_evals, "teacher", PHASE_A, "s"),
                                              ("T", history.evals, "teacher", FEEDBACK, "s"),
                                              ("S1", history.evals, "student1", GUIDE, "o"),
                                              ("S2", history.evals, "student2", "#2ca02c", "^")):
        shift = 0 if "phase a" in label else start
        ax.plot([shift + r["iteration"] for r in rows if f"miou_{role}" in r],
                [100 * r[f"miou_{role}"] for r in rows if f"miou_{role}" in r], color=colour,
                marker=marker, ms=4, label=label if shift == 0 else f"{label} in the main loop")
    ax.axvline(start, color="#999999", lw=1, ls=":")
    ax.set(xlabel="iteration (phase a, then the main loop)", ylabel="validation mIoU (%)", ylim=(0, 100))
    legend_below(fig, *ax.get_legend_handles_labels(), ncol=2)
    final = history.final
    past = "past" if final.get("miou_student1", 0) > final.get("miou_teacher", 1) else "towards"
    what = what or f"{history.config.get('dataset')} {history.config.get('partition')}"
    story = (f": the teacher learns in phase a, then the students climb from zero {past} it"
             if "miou_teacher" in final else "")
    return finish(fig, f"Validation mIoU on {what}, {made_by(history)}{story}")


def prediction_rows(net, data, n: int, eval_mode: str, crop: int, device: str = "cpu"):
    """Three image rows for the first n validation images: the images, their ground truth and the network's
    prediction, coloured with the data's palette."""
    import torch

    from ..data.palette import colorize
    from ..data.transforms import denormalize
    from ..evaluate import predict_logits
    from ..losses import label_map
    rows: list[list[np.ndarray]] = [[], [], []]
    for i in range(min(n, len(data.val))):
        x, y = data.val[i]
        with torch.inference_mode():
            pred = label_map(predict_logits(net, x[None].to(device), mode=eval_mode, crop=crop))[0].cpu()
        for row, image in zip(rows, (denormalize(x), colorize(y, data.palette), colorize(pred, data.palette))):
            row.append(image)
    return rows


def prediction_panel(out_dir: str | Path, n: int = 4, role: str = "student1", device: str = "cpu", data=None):
    """Image / ground truth / prediction of `role` on the first n validation images of a run's checkpoint, one
    row each, with a key to the class colours."""
    from ..data import build_datasets
    from ..predict import load_network
    net, cfg = load_network(Path(out_dir) / "last.pt", role, device)
    data = data or build_datasets(cfg)
    rows = prediction_rows(net, data, n, cfg.eval_mode, cfg.eval_crop or cfg.crop_size, device)
    history = History.load(out_dir) if (Path(out_dir) / "history.json").is_file() else None
    made = describe_run(history) if history else f"{cfg.dataset} {cfg.partition}"
    who = ROLE_LABELS[role]
    return image_grid(rows, row_labels=["image", "ground truth", f"prediction of {who}"],
                      titles=list(data.val.ids[:len(rows[0])]),
                      title=f"{who} on the first {len(rows[0])} validation images — {made}: compare the bottom row "
                            "with the ground truth, class by class: place, shape and colour",
                      classes=data.class_names, palette=data.palette)
