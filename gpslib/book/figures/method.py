"""The method's figures (chapters 1-6): the GPS diagram, image grids and the rows they show (scenes, the training
transform, CutMix, a guide step), phase a, the ramp-up and its latch."""
from __future__ import annotations

import inspect
import textwrap
from fractions import Fraction

import numpy as np
import torch
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ...data.cutmix import box_masks, mix
from ...data.palette import colorize, palette_for
from ...data.transforms import denormalize
from ...losses import gaussian_rampup
from .. import COLUMN_CHARS
from ..run_report import describe_run, latch_text, running_mean
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


# ------------------------------------------------------------------ the method's code, as the page shows it
def code_listing(*functions, width: int = COLUMN_CHARS) -> str:
    """The library's own source as a Markdown code block (for `say`) whose lines fit the page and stay the same
    Python, so a chapter shows the code that runs, not a copy."""
    blocks = ["\n".join(_fit(textwrap.dedent(inspect.getsource(f)).splitlines(), width)) for f in functions]
    return "```python\n" + "\n\n".join(blocks) + "\n```"


def _fit(lines: list[str], width: int) -> list[str]:
    """Each long line as shorter ones: a docstring or comment wrapped, a trailing comment moved above its code,
    code broken inside brackets after the rightmost comma (or before an and/or) that fits."""
    out, in_doc, depth = [], False, 0
    for line in lines:
        indent, text = line[:len(line) - len(line.lstrip())], line.strip()
        doc = in_doc or text.startswith('"""')
        in_doc ^= line.count('"""') % 2 == 1
        code, _, comment = line.partition("  # ")
        if doc or text.startswith("#"):
            mark = "# " if text.startswith("#") else ""
            out += textwrap.wrap(text.removeprefix("#").strip() if mark else text, width, initial_indent=indent + mark,
                                 subsequent_indent=indent + mark, break_long_words=False, break_on_hyphens=False)
        elif comment and code.strip() and len(line) > width:
            out += _fit([indent + "# " + comment.strip(), code.rstrip()], width)
        else:
            out += _break(line, width, [len(indent)] * depth) if len(line) > width else [line]
            depth = len(_scan(line, [0] * depth)[0])
    return out or [""]


def _scan(line: str, opened: list[int], width: int = 10**9):
    """The brackets still open after `line` (their columns) and where it can break within `width`: the rightmost
    place in the shallowest brackets, outside strings, as (column, alignment), or None."""
    opened, cut, quote, level = list(opened), None, None, 10**9
    for k, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            opened.append(k + 1)
        elif ch in ")]}" and opened:
            opened.pop()
        elif opened and k < width - 1 and len(opened) <= level and (ch == "," or line.startswith((" and ", " or "), k)):
            cut, level = (k + (ch == ","), opened[-1]), len(opened)
    return opened, cut


def _break(line: str, width: int, opened: list[int]) -> list[str]:
    """A long code line broken where `_scan` says, the rest aligned under its bracket (and broken again)."""
    cut = _scan(line, opened, width)[1]
    rest = " " * cut[1] + line[cut[0]:].strip() if cut else line
    if not cut or len(rest) >= len(line):
        return [line]
    return [line[:cut[0]].rstrip()] + _break(rest, width, opened)
