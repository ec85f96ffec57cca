"""Figures of the recorded runs (chapters 8-11): pseudo-label snapshots, Figs. 4 and 5, mIoU curves, ablations and
CPS's collapse; one run's own figures are in gpslib.report."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

import pandas as pd

from ...history import History
from ...report.figures import image_grid, x_epochs
from ...report.style import (METHOD_COLORS, OVERLAP_STYLES, TEXT_PT, blank, coincident_labels, figure, finish,
                             legend_below)
from ...report.text import METHOD_LABELS, ROLE_LABELS, describe_run, running_mean
from ..evidence import by_variant, describe_runs
from ..experiments import variant_of

# Fig. 4's bars: the `full` experiment's variants, in the paper's order.
FULL_VARIANTS = {"supervised-all": ("SupOnly, every label", METHOD_COLORS["SupOnly"]),
                 "gps-1_2": ("GPS, 1/2", METHOD_COLORS["GPS"]),
                 "gps-dagger-all": ("GPS-dagger, every label", "#e6ab02")}


def miou_frame(histories: dict[str, History], roles=("student1", "teacher")) -> pd.DataFrame:
    """Every evaluation, long format: run, variant, method, partition, epoch, network, mIoU (%)."""
    rows = [{"run": name, "variant": variant_of(name), "method": METHOD_LABELS.get(h.config.get("method"), "?"),
             "partition": h.config.get("partition"), "epoch": ev["epoch"], "network": ROLE_LABELS[role],
             "mIoU (%)": 100 * ev[f"miou_{role}"]}
            for name, h in histories.items() for ev in h.evals for role in roles if f"miou_{role}" in ev]
    return pd.DataFrame(rows, columns=["run", "variant", "method", "partition", "epoch", "network", "mIoU (%)"])


NETWORK_STYLES = {"S1": dict(ls="-", marker="o"), "S2": dict(ls=(0, (1, 1)), marker="^"),
                  "T": dict(ls=(0, (5, 2)), marker="s")}


def _snapshot_scenes(history: History, split: str, n: int, data=None):
    """What Figs. 2 and 5 open with: the data a run trained on, the first n ids of `split` ("unlabeled" or "val")
    its snapshots keep, two rows (the images and their masks) and a function colouring a decoded label map."""
    from ...config import make_config
    from ...data import build_datasets
    from ...data.palette import colorize
    from ...data.transforms import denormalize
    from ...evaluate import PSEUDO_SEED
    data = data or build_datasets(make_config(**history.config))
    ids = history.snapshots[-1]["ids"][split][:n]
    pairs = [data.unlabeled[(i, PSEUDO_SEED + i)] if split == "unlabeled" else data.val[i] for i in ids]
    rows = [[denormalize(x) for x, _ in pairs], [colorize(y, data.palette) for _, y in pairs]]
    return data, ids, rows, lambda label_map: colorize(label_map, data.palette)


def pseudo_label_snapshots(history: History, n: int = 4, data=None):
    """The paper's Fig. 2 from a run's snapshots: unlabeled images, their hidden masks, and the teacher's Y^t and
    the students' Y^{s-bar} on them at the first and the last evaluation, with a key to the class colours."""
    from ...snapshots import decode
    data, ids, rows, colour = _snapshot_scenes(history, "unlabeled", n, data)
    labels = ["unlabeled", "hidden mask"]
    for snap in (history.snapshots[0], history.snapshots[-1]):
        maps = decode(snap)
        for source, name in (("teacher", "$Y^t$"), ("students", r"$Y^{\bar s}$")):
            rows.append([colour(maps[f"unlabeled/{source}/{i}"]) for i in ids])
            labels.append(f"{name}, ep. {snap['epoch']:g}")
    return image_grid(rows, row_labels=labels, titles=[f"unlabeled {i}" for i in ids],
                      title=f"Pseudo-labels at the first and last evaluation — {describe_run(history)}",
                      classes=data.class_names, palette=data.palette)


def prediction_comparison(runs: dict[str, History], n: int = 4, data=None):
    """The paper's Fig. 5 from snapshots: validation images, their ground truth, the final prediction of S1 of each
    run (label -> history, the first being the baseline, e.g. SupOnly), and for every other run the pixels where
    its prediction differs from the baseline's (the rest greyed), so what a method changes is what one sees."""
    from ...snapshots import decode
    data, ids, rows, colour = _snapshot_scenes(next(iter(runs.values())), "val", n, data)
    maps = {label: decode(h.snapshots[-1]) for label, h in runs.items()}
    preds = {label: [m[f"val/student1/{i}"] for i in ids] for label, m in maps.items()}
    rows += [[colour(p) for p in preds[label]] for label in runs]
    base, *others = list(runs)
    differs = []
    for label in others:
        row = []
        for p, q in zip(preds[label], preds[base]):
            shown = colour(p).copy()
            shown[np.asarray(p) == np.asarray(q)] = 230          # agreeing pixels: light grey
            row.append(shown)
        rows.append(row)
        changed = np.mean([np.mean(np.asarray(p) != np.asarray(q)) for p, q in zip(preds[label], preds[base])])
        differs.append(f"{label} ≠ {base} ({100 * changed:.1f} % px)")
    last = ", ".join(f"{label} ep. {h.snapshots[-1]['epoch']:g}" for label, h in runs.items())
    return image_grid(rows, row_labels=["image", "ground truth", *runs, *differs],
                      titles=[f"val {i}" for i in ids],
                      title=f"S1's predictions at the last evaluation ({last}); the last rows keep only the pixels "
                            f"where a method changes the baseline's map — {describe_runs(runs)}",
                      classes=data.class_names, palette=data.palette)


def full_supervision_bars(full_runs: dict[str, History]):
    """The paper's Fig. 4 from the `full` experiment: a bar per variant (SupOnly with every label, GPS at 1/2,
    GPS-dagger with every label), its height the mean final S1 mIoU, a dot per seed and the mean written on it;
    the y axis starts near the lowest seed so the gaps show."""
    groups = by_variant(full_runs)
    labels = {label: groups[variant] for variant, (label, _) in FULL_VARIANTS.items() if groups.get(variant)}
    finals = {label: [100 * h.final.get("miou_student1", np.nan) for h in runs] for label, runs in labels.items()}
    fig, ax = figure(3.4)
    if not finals:
        blank(ax, "no recorded runs")
        return finish(fig, "Against full supervision — no recorded runs")
    colours = dict(FULL_VARIANTS.values())
    floor = 5 * np.floor((min(min(v) for v in finals.values()) - 3) / 5)
    for x, (label, values) in enumerate(finals.items()):
        mean = float(np.mean(values))
        ax.bar(x, mean - floor, bottom=floor, color=colours[label], width=0.6)
        ax.plot([x] * len(values), values, "o", color="black", ms=4)
        ax.text(x, max(values) + 0.3, f"{mean:.1f}", ha="center", va="bottom", fontsize=TEXT_PT)
    ax.set_xticks(range(len(finals)), list(finals))
    ax.set_ylim(floor, max(max(v) for v in finals.values()) + 2.5)
    ax.set_ylabel(f"val mIoU of S1 (%)\naxis cut at {floor:g}")
    ax.plot([-0.02, 0.02], [0.015, 0.045], transform=ax.transAxes, color="black", lw=1.2, clip_on=False)
    ax.plot([-0.02, 0.02], [0.04, 0.07], transform=ax.transAxes, color="black", lw=1.2, clip_on=False)
    legend_below(fig, [Patch(color="#bbbbbb"), Line2D([], [], ls="", marker="o", color="black", ms=4)],
                 ["bar: the mean over seeds (written above it)", "dot: one seed"])
    seeds = "/".join(dict.fromkeys(str(len(v)) for v in finals.values()))
    plural = "" if seeds == "1" else "s"
    return finish(fig, f"Against full supervision ({seeds} seed{plural} each, two-epoch phase a) — "
                       f"{describe_runs(full_runs)}")


def plot_miou_curves(histories: dict[str, History], roles=("student1", "teacher"), title: str = "",
                     by: str = "method"):
    """Validation mIoU per epoch: one panel per partition, colour = method (or, with by="variant", the run's name
    without its seed), dashes and markers = network; several seeds are drawn as their mean with a band from the
    lowest to the highest seed. Every panel's y axis starts at 0, on one scale; epoch 0 is the start of the main
    loop."""
    frame = miou_frame(histories, roles)
    partitions = sorted(set(frame["partition"]), key=Fraction) or ["none"]   # fewest labels first
    fig, axes = figure(3.8, 1, len(partitions), squeeze=False)
    if by == "method":
        hues = [m for m in METHOD_LABELS.values() if m in set(frame[by])]
        colours = {m: METHOD_COLORS.get(m, "black") for m in hues}
    else:
        hues = list(dict.fromkeys(frame[by]))
        colours = {h: f"C{i}" for i, h in enumerate(hues)}
    networks = [ROLE_LABELS[r] for r in roles if ROLE_LABELS.get(r) in set(frame["network"])]
    for ax, partition in zip(axes[0], partitions):
        part = frame[frame["partition"] == partition]
        if part.empty:
            blank(ax, "no recorded runs")
            continue
        for (hue, network), rows in part.groupby([by, "network"], sort=False):
            stats = rows.groupby("epoch")["mIoU (%)"].agg(["mean", "min", "max"])
            style = NETWORK_STYLES.get(network, dict(ls="-", marker="."))
            ax.plot(stats.index, stats["mean"], color=colours[hue], lw=1.8, ms=5, **style)
            if (stats["max"] > stats["min"]).any():
                ax.fill_between(stats.index, stats["min"], stats["max"], color=colours[hue], alpha=0.15, lw=0)
        ax.set_ylim(0, 10 * np.ceil(frame["mIoU (%)"].max() / 10 + 0.05))     # every panel from 0, one scale
        ax.set_title(f"partition {partition}", fontsize=TEXT_PT)
        x_epochs(ax, "epoch", "")
    axes[0][0].set_ylabel("validation mIoU (%)")
    handles = [Line2D([], [], color=colours[h], lw=2.5) for h in hues]
    handles += [Line2D([], [], color="black", lw=1.5, ms=5, **NETWORK_STYLES.get(n, {})) for n in networks]
    seeds = " (band: lowest to highest seed)" if len(histories) > len(set(frame["variant"])) else ""
    legend_below(fig, handles, hues + [f"network {n}" for n in networks])
    return finish(fig, f"{title or 'Validation mIoU per epoch'} — {describe_runs(histories)}{seeds}")


def plot_fps_flow(runs: dict[str, History], epochs: float = 1.0, smooth: int = 5):
    """Fig. 6b: L_fps per iteration (running mean) for two-step vs merged updates over the first epochs; a variant
    with several seeds is drawn as their mean with a band from the lowest to the highest seed; variants whose
    means coincide are drawn once and said to."""
    smoothed: dict[str, list[pd.Series]] = {}
    for name, h in runs.items():
        it = h.frame("iterations")
        if "fps" in it:
            part = it[it["iteration"] < epochs * h.meta.get("iters_per_epoch", len(it))].set_index("iteration")
            smoothed.setdefault(variant_of(name), []).append(running_mean(part["fps"], smooth))
    fig, ax = figure(3.6)
    title = (f"$L_{{fps}}$ over the first {epochs:g} epoch(s), {smooth}-it running mean, two-step vs merged "
             f"update — {describe_runs(runs)}")
    if not smoothed:
        ax.axis("off")
        blank(ax, "no recorded runs")
        return finish(fig, title)
    stats = {v: pd.concat(seeds, axis=1).agg(["mean", "min", "max"], axis=1) for v, seeds in smoothed.items()}
    curves = {variant: (s.index.to_numpy(), s["mean"].to_numpy()) for variant, s in stats.items()}
    values = pd.concat([v for seeds in smoothed.values() for v in seeds]).to_numpy()
    handles, labels = [], []
    for k, (group, label) in enumerate(coincident_labels(curves, 0.005 * np.ptp(values), "iteration")):
        s, colour = stats[group[0]], f"C{k}"
        line, = ax.plot(s.index, s["mean"], color=colour, **OVERLAP_STYLES[min(k, len(OVERLAP_STYLES) - 1)]
                        | {"lw": 1.8})
        if (s["max"] > s["min"]).any():
            ax.fill_between(s.index, s["min"], s["max"], color=colour, alpha=0.15, lw=0)
        handles.append(line)
        labels.append(label)
    ax.set(xlabel="iteration after phase a", ylabel="$L_{fps}$ (running mean)")
    legend_below(fig, handles, labels)
    return finish(fig, title)


def plot_rampup_variants(runs: dict[str, History]):
    """w(e) (and the alpha scale of the ramp-down) per iteration for each ramp-up variant (its seed-0 run);
    variants with the same weights are drawn once and the legend says so."""
    runs = {name: h for name, h in runs.items() if variant_of(name) == name}
    fig, ax = figure(3.6)
    curves, alphas = {}, {}
    for name, h in runs.items():
        it = h.frame("iterations")
        if "w" in it:
            curves[name] = (it["iteration"].to_numpy(), it["w"].to_numpy())
            if "alpha_scale" in it and (it["alpha_scale"] != 1).any():
                alphas[name] = (it["iteration"].to_numpy(), it["alpha_scale"].to_numpy())
    if not curves:
        ax.axis("off")
        blank(ax, "no recorded runs")
        return finish(fig, f"Weights used by each ramp-up variant — {describe_runs(runs)}")
    handles, labels = [], []
    for k, (group, label) in enumerate(coincident_labels(curves, 1e-6, "iteration")):
        x, y = curves[group[0]]
        style = OVERLAP_STYLES[min(k, len(OVERLAP_STYLES) - 1)]
        line, = ax.step(x, y, where="post", color=f"C{k}", **style)
        handles.append(line)
        labels.append(f"w(e) of {label}")
        for name in group:
            if name in alphas:
                ax.step(*alphas[name], where="post", color=f"C{k}", ls=":", lw=2.2)
                handles.append(Line2D([], [], color=f"C{k}", ls=":", lw=2.2))
                labels.append(f"α scale of {name} (ramp-down of $L_{{gps}}$)")
    low = min(min(np.nanmin(y) for _, y in curves.values()), min((np.nanmin(y) for _, y in alphas.values()),
                                                                 default=1.0))
    ax.set(xlabel="iteration after phase a", ylabel="weight", ylim=(max(0.0, low - 0.06), 1.04))
    legend_below(fig, handles, labels)
    return finish(fig, f"Weights used by each ramp-up variant — {describe_runs(runs)}")


COLLAPSE_ROWS = {"background": "pixels predicted\nas background (%)",
                 "agreement_students": "pixels where S1\nand S2 agree (%)"}


def collapse_curves(groups: dict[str, dict[str, History]], truth: float | None = None):
    """CPS's collapse, shown: per evaluation, the share of S1's and S2's pixels on unlabeled images predicted as
    background (top) and how often the two students agree (bottom), per partition (columns, fewest labels first),
    one colour per group of runs (legend label -> runs), mean over the seeds that logged it. `truth`: the
    background share of the hidden masks."""
    rows = [(str(h.config.get("partition")), label, e["epoch"],
             100 * (e["background_student1"] + e["background_student2"]) / 2, 100 * e["agreement_students"])
            for label, runs in groups.items() for h in runs.values() for e in h.evals if "agreement_students" in e]
    frame = pd.DataFrame(rows, columns=["partition", "group", "epoch", "background", "agreement_students"])
    colours = {label: METHOD_COLORS.get(label, f"C{k + 4}") for k, label in enumerate(groups)}
    partitions = sorted(set(frame["partition"]), key=Fraction) or ["none"]
    fig, axes = figure(4.6, 2, len(partitions), squeeze=False, sharex="col")
    for col, partition in enumerate(partitions):
        part = frame[frame["partition"] == partition]
        for row, (key, label) in enumerate(COLLAPSE_ROWS.items()):
            ax = axes[row][col]
            for group, runs in part.groupby("group", sort=False):
                mean = runs.groupby("epoch")[key].mean()
                ax.plot(mean.index, mean.to_numpy(), color=colours[group], lw=1.8, marker="o", ms=4)
            if row == 0 and truth is not None:
                ax.axhline(100 * truth, color="black", lw=1, ls=(0, (4, 2)))
            ax.set_ylim(0, 100)
            if col == 0:
                ax.set_ylabel(label)
            if row == 0:
                ax.set_title(f"partition {partition}", fontsize=TEXT_PT)
            else:
                x_epochs(ax, "epoch", "")
    shown = [g for g in groups if g in set(frame["group"])]
    handles = [Line2D([], [], color=colours[g], lw=2.5) for g in shown]
    if truth is not None:
        handles.append(Line2D([], [], color="black", lw=1, ls=(0, (4, 2))))
        shown.append("background in the hidden masks")
    legend_below(fig, handles, shown)
    every = {f"{label}/{name}": h for label, runs in groups.items() for name, h in runs.items()}   # names repeat
    return finish(fig, f"The students' maps on 64 unlabeled images per evaluation: a collapse shows as background "
                       f"above the dashed line, the hidden masks' share — {describe_runs(every)}")
