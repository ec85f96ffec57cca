"""The method's figures (chapters 1-6): the GPS diagram, image grids, phase a, the ramp-up and its latch."""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ..claims import latch_text
from ...losses import gaussian_rampup
from ..tables import describe_run, running_mean
from .style import (FEEDBACK, FIG_WIDTH_IN, GUIDE, OVERLAP_STYLES, PAGE_WIDTH_IN, PHASE_A, SMALL_PT, TEXT_PT,
                    TITLE_PT, blank, class_key, coincident_labels, figure, finish, label_map_cells, legend_below,
                    loss_axis, wrap)


def _box(ax, xy, text, color, width=0.2, height=0.13, fontsize=13):
    """A rounded box centred on xy; returns the patch so arrows can attach to its border."""
    x, y = xy
    patch = FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                           boxstyle="round,pad=0.01,rounding_size=0.02",
                           facecolor="white", edgecolor=color, linewidth=2.2)
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)
    return patch


def _centre(patch):
    """Centre of a box, for arrows that start from a box and curve."""
    return (patch.get_x() + patch.get_width() / 2, patch.get_y() + patch.get_height() / 2)


def _arrow(ax, a, b, color, label=None, label_xy=None, rad=0.0, both=False, dashed=False, fontsize=11):
    """An arrow from box a to box b (clipped at their borders), with an optional label."""
    arrow = FancyArrowPatch(
        posA=_centre(a), posB=_centre(b), patchA=a, patchB=b,
        arrowstyle="<|-|>" if both else "-|>", mutation_scale=18, color=color, linewidth=2,
        linestyle="--" if dashed else "-", connectionstyle=f"arc3,rad={rad}", shrinkA=3, shrinkB=3)
    ax.add_patch(arrow)
    if label:
        ax.text(*label_xy, label, ha="center", va="center", fontsize=fontsize, color=color,
                bbox=dict(facecolor="white", edgecolor="none", pad=1.5))
    return arrow


def gps_diagram(figsize=(FIG_WIDTH_IN, 5.0)):
    """GPS in one picture: who teaches whom, with which pseudo-label, in which step."""
    fig, ax = figure(figsize[1], width=figsize[0])
    scale = max(1.0, figsize[0] / PAGE_WIDTH_IN)      # a wider figure is shrunk to the page: its text grows
    box, note = 11.5 * scale, TEXT_PT * scale
    ax.set(xlim=(0, 1), ylim=(0, 1), aspect="auto")
    ax.axis("off")

    labeled = _box(ax, (0.1, 0.86), "labeled\n$(X^l, Y^l)$", PHASE_A, width=0.18, height=0.17, fontsize=note)
    teacher = _box(ax, (0.5, 0.86), "teacher $T$", FEEDBACK, width=0.2, height=0.12, fontsize=box)
    s1 = _box(ax, (0.15, 0.14), "student $S_1$", GUIDE, width=0.22, height=0.12, fontsize=box)
    s2 = _box(ax, (0.85, 0.14), "student $S_2$", GUIDE, width=0.22, height=0.12, fontsize=box)
    mean = _box(ax, (0.5, 0.42), r"$\frac{1}{2}(P^{s_1} + P^{s_2})$", FEEDBACK, width=0.24, height=0.12, fontsize=note)

    _arrow(ax, labeled, teacher, PHASE_A, "(a) $L^t_{sup}$", (0.3, 0.93), fontsize=note)
    _arrow(ax, teacher, s1, GUIDE, r"$Y^t$: $\alpha L_{gps}$", (0.22, 0.58), rad=0.25, fontsize=note)
    _arrow(ax, teacher, s2, GUIDE, r"$Y^t$: $\alpha L_{gps}$", (0.78, 0.58), rad=-0.25, fontsize=note)
    _arrow(ax, s1, s2, GUIDE, r"$Y^{s_1}, Y^{s_2}$: $\beta L_{cps}$", (0.5, 0.14), both=True, fontsize=note)
    _arrow(ax, s1, mean, FEEDBACK, dashed=True)
    _arrow(ax, s2, mean, FEEDBACK, dashed=True)
    _arrow(ax, mean, teacher, FEEDBACK, r"$Y^{\bar{s}}$: $w(e)\,\gamma L_{fps}$", (0.5, 0.63), fontsize=note)

    handles = [Line2D([], [], color=c, lw=2) for c in (PHASE_A, GUIDE, FEEDBACK)]
    labels = ["(a) teacher trained on labeled data first",
              r"(b) guide step, eq. 7: students updated by $L^s_{sup} + \alpha L_{gps} + \beta L_{cps}$",
              r"(c) feedback step, eq. 10: teacher updated by $L^t_{sup} + w(e)\,\gamma L_{fps}$, with the "
              "students as just updated"]
    labels = [wrap(label, SMALL_PT * scale, figsize[0] - 0.9) for label in labels]
    legend_below(fig, handles, labels, fontsize=SMALL_PT * scale, ncol=1)    # one step per line, in order
    ax.set_title("GPS: one teacher, two students; every iteration runs (b) then (c)", fontsize=TITLE_PT * scale)
    return finish(fig)


def image_grid(rows, titles=None, row_labels=None, title="", cell=1.7, classes=None, palette=None,
               key: bool = True):
    """A grid of uint8 HxWx3 images (a list of rows), sized to the page; `titles` label the cells in reading order.

    Cells that are label maps in `palette` (every pixel a class colour; default: the digits' classes and colours)
    get a key to the classes they show under the grid (key=False: none).
    """
    from ...data.palette import DIGIT_CLASSES, PALETTE
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
            ax.set_xticks([])
            ax.set_yticks([])
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


def latch_plot(history, title: str | None = None, smooth_window: int | None = 1):
    """A run's ramp-up: L^s_sup/2 and L^t_sup per iteration (running mean over `smooth_window`, None: about 1/15
    of the run), epoch boundaries, the latch, and the w(e) (and alpha scale of the ramp-down) actually used.
    """
    frame = history.frame("iterations")
    fig, (ax, w_ax) = figure(5.2, 2, 1, sharex=True, height_ratios=[2, 1])
    if title is None:
        title = f"Adaptive ramp-up (eq. 9) — {describe_run(history)}"
    if "w" not in frame:
        for a in (ax, w_ax):
            a.axis("off")
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
    latch = history.latch.get("latched_iteration")
    starts = frame.groupby("epoch")["iteration"].min()
    for axis in (ax, w_ax):
        for s in starts.values[1:]:
            axis.axvline(s - 0.5, color="0.75", lw=0.8, zorder=0)
        if latch is not None:
            axis.axvline(latch + 0.5, color="black", ls="--", lw=1.5)
    if len(starts) > 1:
        handles.append(Line2D([], [], color="0.75", lw=0.8))
        labels.append("epoch boundary")
    if latch is not None:
        handles.append(Line2D([], [], color="black", ls="--", lw=1.5))
        labels.append(f"latch (end of epoch {history.latch.get('latched_epoch')})")
    legend_below(fig, handles, labels)
    return finish(fig, title)
