"""The method's figures (chapters 1-6): the GPS diagram, image grids, phase a, the ramp-up and its latch."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ..claims import latch_text
from ...losses import gaussian_rampup
from ..tables import describe_run, running_mean
from .style import FEEDBACK, GUIDE, PHASE_A, blank, finish


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


def _arrow(ax, a, b, color, label=None, label_xy=None, rad=0.0, both=False, dashed=False):
    """An arrow from box a to box b (clipped at their borders), with an optional label."""
    arrow = FancyArrowPatch(
        posA=_centre(a), posB=_centre(b), patchA=a, patchB=b,
        arrowstyle="<|-|>" if both else "-|>", mutation_scale=18, color=color, linewidth=2,
        linestyle="--" if dashed else "-", connectionstyle=f"arc3,rad={rad}", shrinkA=3, shrinkB=3)
    ax.add_patch(arrow)
    if label:
        ax.text(*label_xy, label, ha="center", va="center", fontsize=11, color=color,
                bbox=dict(facecolor="white", edgecolor="none", pad=1.5))
    return arrow


def gps_diagram(figsize=(9.5, 6.0)):
    """GPS in one picture: who teaches whom, with which pseudo-label, in which step."""
    fig, ax = plt.subplots(figsize=figsize)
    ax.set(xlim=(0, 1), ylim=(0, 1), aspect="auto")
    ax.axis("off")

    labeled = _box(ax, (0.1, 0.84), "labeled\n$(X^l, Y^l)$", PHASE_A, width=0.17, height=0.14, fontsize=11)
    teacher = _box(ax, (0.5, 0.84), "teacher $T$", FEEDBACK)
    s1 = _box(ax, (0.17, 0.2), "student $S_1$", GUIDE)
    s2 = _box(ax, (0.83, 0.2), "student $S_2$", GUIDE)
    mean = _box(ax, (0.5, 0.44), r"$\frac{1}{2}(P^{s_1} + P^{s_2})$", FEEDBACK, width=0.2, height=0.1, fontsize=11)

    _arrow(ax, labeled, teacher, PHASE_A, "(a) $L^t_{sup}$", (0.3, 0.9))
    _arrow(ax, teacher, s1, GUIDE, r"$Y^t$: $\alpha L_{gps}$", (0.25, 0.6), rad=0.25)
    _arrow(ax, teacher, s2, GUIDE, r"$Y^t$: $\alpha L_{gps}$", (0.75, 0.6), rad=-0.25)
    _arrow(ax, s1, s2, GUIDE, r"$Y^{s_1}, Y^{s_2}$: $\beta L_{cps}$", (0.5, 0.13), both=True)
    _arrow(ax, s1, mean, FEEDBACK, dashed=True)
    _arrow(ax, s2, mean, FEEDBACK, dashed=True)
    _arrow(ax, mean, teacher, FEEDBACK, r"$Y^{\bar{s}}$: $w(e)\,\gamma L_{fps}$", (0.5, 0.64))

    legend = [
        Line2D([], [], color=PHASE_A, lw=2, label="(a) teacher trained on labeled data first"),
        Line2D([], [], color=GUIDE, lw=2,
               label=r"(b) guide step, eq. 7: students updated by $L^s_{sup} + \alpha L_{gps} + \beta L_{cps}$"),
        Line2D([], [], color=FEEDBACK, lw=2,
               label=r"(c) feedback step, eq. 10: teacher updated by $L^t_{sup} + w(e)\,\gamma L_{fps}$,"
                     "\n     with the students as just updated"),
    ]
    ax.legend(handles=legend, loc="lower center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False, fontsize=10)
    ax.set_title("GPS: one teacher, two students; every iteration runs (b) then (c)", fontsize=13)
    return finish(fig)


def image_grid(rows, titles=None, row_labels=None, title="", cell=1.7):
    """A grid of uint8 HxWx3 images (a list of rows); `titles` label the cells in reading order."""
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(cell * n_cols, cell * n_rows + 0.6), squeeze=False)
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
                ax.set_title(titles[k], fontsize=9)
        if row_labels is not None:
            axes[r][0].set_ylabel(row_labels[r], fontsize=9)
    return finish(fig, title, 10)


def teacher_curve(rows, title=""):
    """Phase a: the teacher's L^t_sup per iteration (and a running mean), with its poly learning rate."""
    it = np.array([r["iteration"] for r in rows])
    loss = np.array([r["sup_t"] for r in rows])
    window = max(1, len(loss) // 20)
    mean = np.convolve(loss, np.ones(window) / window, mode="valid")
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.plot(it, loss, color=PHASE_A, alpha=0.35, lw=1, label="$L^t_{sup}$ per batch")
    ax.plot(it[window - 1:], mean, color=PHASE_A, lw=2, label=f"running mean ({window} batches)")
    ax.set(xlabel="phase-a iteration", ylabel="cross-entropy", yscale="log")
    lr_ax = ax.twinx()
    lr_ax.plot(it, [r["lr_teacher"] for r in rows], color=FEEDBACK, lw=1, ls="--")
    lr_ax.set_ylabel("teacher lr (dashed)", color=FEEDBACK)
    ax.legend(loc="upper right", fontsize=9)
    ax.set_title(title, fontsize=10)
    return finish(fig)


def rampup_curves(table, title="", max_epochs=None):
    """w(e) per epoch for the adaptive / fixed / none ramp-up (a DataFrame from explain.rampup_schedules)."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    styles = {"adaptive": (FEEDBACK, "o"), "fixed": (GUIDE, "s"), "none": (PHASE_A, "^")}
    for mode, part in table.groupby("mode", sort=False):
        color, marker = styles.get(mode, ("black", "."))
        ax.step(part["epoch"], part["w"], where="post", color=color, marker=marker, label=mode, alpha=0.85)
    e_max = max_epochs or int(table["epoch"].max())
    grid = np.linspace(0, e_max, 200)
    ax.plot(grid, [gaussian_rampup(e, e_max) for e in grid], color=GUIDE, lw=0.8, ls=":",
            label=r"$\exp(-(1-e/E)^2)$, continuous")
    ax.set(xlabel="epoch $e$", ylabel="$w(e)$", ylim=(0, 1.05))
    ax.legend(fontsize=9, loc="lower right")
    ax.set_title(title, fontsize=10)
    return finish(fig)



def latch_plot(history, title: str | None = None, smooth_window: int | None = 1):
    """A run's ramp-up: L^s_sup/2 and L^t_sup per iteration (running mean over `smooth_window`, None: about 1/15
    of the run), epoch boundaries, the latch, and the w(e) (and alpha scale of the ramp-down) actually used.
    """
    frame = history.frame("iterations")
    fig, (ax, w_ax) = plt.subplots(2, 1, figsize=(8, 5), sharex=True, height_ratios=[2, 1])
    if title is None:
        title = f"Adaptive ramp-up (eq. 9) — {describe_run(history)}"
    if "w" not in frame:
        for a in (ax, w_ax):
            a.axis("off")
        blank(ax, latch_text(history))
        return finish(fig, title)
    window = smooth_window or max(1, len(frame) // 15)
    mean = f" ({window}-it mean)" if window > 1 else ""
    ax.plot(frame["iteration"], running_mean(frame["sup_s"] / 2, window), color=GUIDE, label="$L^s_{sup}/2$ (students)")
    ax.plot(frame["iteration"], running_mean(frame["sup_t"], window), color=FEEDBACK, label="$L^t_{sup}$ (teacher)")
    ax.set(ylabel=f"cross-entropy on $X^l${mean}", yscale="log")
    w_ax.step(frame["iteration"], frame["w"], where="post", color=FEEDBACK, label="$w(e)$ used")
    if "alpha_scale" in frame and (frame["alpha_scale"] != 1).any():
        w_ax.step(frame["iteration"], frame["alpha_scale"], where="post", ls="--", color=GUIDE,
                  label=r"$\alpha$ scale (ramp-down)")
    w_ax.set(xlabel="iteration (after phase a)", ylabel="$w(e)$", ylim=(0, 1.05))
    latch = history.latch.get("latched_iteration")
    starts = frame.groupby("epoch")["iteration"].min()
    for axis in (ax, w_ax):
        for s in starts.values[1:]:
            axis.axvline(s - 0.5, color="0.8", lw=0.8, zorder=0)
        if latch is not None:
            axis.axvline(latch + 0.5, color="black", ls="--", lw=1.5,
                         label=f"latch (end of epoch {history.latch.get('latched_epoch')})" if axis is ax else None)
    ax.legend(fontsize=9)
    w_ax.legend(fontsize=8, loc="lower right")
    return finish(fig, title)
