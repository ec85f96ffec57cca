"""Tables, figures and verdicts of the training and results chapters, built from run histories.

Every function takes `History` objects (a run's history.json, or a recorded run of book/results) and
returns a pandas DataFrame, a matplotlib Figure (already closed in pyplot) or a sentence computed from
the numbers, so the notebooks stay a handful of calls and no claim in the book is written by hand.
"""
from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import parameters
from .config import Config, is_none, make_config, parse_flag  # noqa: F401 - is_none: train.ipynb
from .errors import GpslibError
from .history import History
from .models import ROLES

ROLE_LABELS = {"teacher": "T", "student1": "S1", "student2": "S2"}
METHOD_LABELS = {"gps": "GPS", "cps": "CPS", "supervised": "SupOnly"}
METHOD_COLORS = {"GPS": "#d62728", "CPS": "#1f77b4", "SupOnly": "#7f7f7f"}   # one colour per method in every figure
# Loss terms a run may log per iteration, with the paper's names (totals last).
LOSS_LABELS = {"sup": "$L_{sup}$", "sup_s": "$L^s_{sup}$", "gps": "$L_{gps}$", "cps": "$L_{cps}$",
               "sup_t": "$L^t_{sup}$", "fps": "$L_{fps}$", "guide": "$L_{guide}$ (eq. 7)",
               "feedback": "$L_{fb}$ (eq. 10)"}

# Table 4 of the paper (ResNet-50, 1/8, no CutMix): (L_gps, L_cps, L_fps) -> (Pascal VOC, Cityscapes) mIoU.
PAPER_TABLE4 = {(True, False, False): (72.25, 72.36), (False, False, True): (70.89, 71.25),
                (True, False, True): (72.82, 72.39), (False, True, True): (72.99, 73.51),
                (True, True, False): (72.72, 72.92), (True, True, True): (73.95, 74.62)}
# Section 4.4.3 (Pascal, ResNet-50): GPS with and without the ramp-down of L_gps.
PAPER_RAMPDOWN = {"1/16": (72.91, 70.73), "1/8": (75.72, 73.57)}


# ---------------------------------------------------------------- the training notebook's parameters
as_flag = parse_flag


def config_from_parameters(dataset: str, partition: Any, config_file: Any = None, **fields: Any) -> Config:
    """The Config of train.ipynb's parameters (see gpslib.parameters.config_from_parameters)."""
    return parameters.config_from_parameters({"dataset": dataset, "partition": partition,
                                              "config_file": config_file, **fields})


# ---------------------------------------------------------------- one run
def describe_run(history: History) -> str:
    """One line that says what made a run: dataset, partition, method, iterations, network, device."""
    c, m = history.config, history.meta
    teacher = f"{m.get('teacher_iters')} phase-a + " if m.get("teacher_iters") else ""
    epochs = f" (E={c.get('epochs')} x {m.get('iters_per_epoch')})" if m.get("iters_per_epoch") else ""
    batch = f"batch {c.get('batch_labeled')}+{c.get('batch_unlabeled')}"
    return (f"{c.get('dataset')} {c.get('partition')}, {METHOD_LABELS.get(c.get('method'), c.get('method'))}, "
            f"{teacher}{m.get('max_iter')} it{epochs}, {c.get('backbone')}, {batch}, {m.get('device', '?')}")


def describe_runs(histories: dict[str, History]) -> str:
    """What made a group of runs (partitions and methods aside): dataset, budget, network, device."""
    parts = []
    for h in histories.values():
        c, m = h.config, h.meta
        text = (f"{c.get('dataset')}, E={c.get('epochs')} x {m.get('iters_per_epoch')} it, {c.get('backbone')}, "
                f"batch {c.get('batch_labeled')}+{c.get('batch_unlabeled')}, {m.get('device', '?')}")
        if text not in parts:
            parts.append(text)
    return "; ".join(parts) if parts else "no recorded runs"


def roles_of(history: History) -> list[str]:
    return [r for r in ROLES if f"miou_{r}" in history.final]


def final_miou(history: History) -> pd.DataFrame:
    """Final validation mIoU (%) of each network of the run."""
    return pd.DataFrame({"network": [ROLE_LABELS[r] for r in roles_of(history)],
                         "mIoU (%)": [100 * history.final[f"miou_{r}"] for r in roles_of(history)]}
                        ).set_index("network").round(2)


def per_class_table(history: History, class_names: list[str]) -> pd.DataFrame:
    """Final IoU (%) per class (rows) and network (columns), with the mIoU as the last row."""
    table = pd.DataFrame({ROLE_LABELS[r]: 100 * np.asarray(history.final[f"iou_{r}"], dtype=float)
                          for r in roles_of(history)}, index=list(class_names))
    table.loc["mIoU"] = [100 * history.final[f"miou_{r}"] for r in roles_of(history)]
    return table.round(2)


def learned_text(history: History, class_names: list[str], floor: float = 0.01) -> str:
    """How many classes each network segments at all (IoU above `floor`), so a too-short run says so."""
    parts, only_background = [], True
    for role in roles_of(history):
        iou = np.asarray(history.final[f"iou_{role}"], dtype=float)
        found = [name for name, value in zip(class_names, iou) if value > floor]
        only_background &= found in ([], list(class_names[:1]))
        parts.append(f"{ROLE_LABELS[role]} {len(found)}/{len(class_names)}")
    text = f"Classes with IoU above {100 * floor:g}%: " + ", ".join(parts) + "."
    if only_background:
        text += (" No network segments anything but the background yet: this budget is too short to learn the"
                 " classes; run the preset (the command at the top) for a trained model.")
    return text


def _smooth(values: pd.Series, window: int) -> pd.Series:
    return values.rolling(max(1, window), min_periods=1).mean()


def loss_frame(history: History) -> pd.DataFrame:
    """Every logged loss term per iteration, long format (phase, iteration, term, value)."""
    parts = []
    if history.teacher:
        t = history.frame("teacher")
        parts.append(pd.DataFrame({"phase": "a: teacher alone", "iteration": t["iteration"], "term": "sup_t",
                                   "value": t["sup_t"]}))
    if history.iterations:
        it = history.frame("iterations")
        for term in [k for k in LOSS_LABELS if k in it]:
            parts.append(pd.DataFrame({"phase": "b/c: main loop", "iteration": it["iteration"], "term": term,
                                       "value": it[term]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["phase", "iteration", "term",
                                                                                    "value"])


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
        part["value"] = part.groupby("term")["value"].transform(lambda v: _smooth(v, window))
        part["term"] = part["term"].map(LOSS_LABELS)
        sns.lineplot(data=part, x="iteration", y="value", hue="term", ax=ax, lw=1.6)
        ax.set(yscale="log", ylabel="cross-entropy (running mean)", title=f"phase {phase} ({window}-it mean)")
        ax.legend(fontsize=8)
    fig.suptitle(f"Loss terms — {describe_run(history)}", fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    return fig


def latch_text(history: History) -> str:
    """Where the adaptive ramp-up latched (or why it did not)."""
    rampup = history.config.get("rampup")
    if history.config.get("method") != "gps":
        return "No teacher in this method, so no ramp-up."
    latch = history.latch
    if rampup != "adaptive":
        return f"rampup={rampup!r}: no latch by design (r stays {latch.get('r')})."
    if latch.get("latched_epoch") is None:
        return (f"The latch never fired in {history.config.get('epochs')} epochs: the students' L^s_sup/2 stayed "
                "above the teacher's L^t_sup, so w(e) followed the Gaussian with r = E.")
    return (f"The latch fired at epoch {latch['latched_epoch']} (iteration {latch['latched_iteration']}): "
            f"L^s_sup/2 <= L^t_sup, r := {latch.get('r')}, so w = 1 from then on.")


def plot_rampup(history: History):
    """w(e) used at every iteration, the alpha scale (ramp-down of L_gps) and the latch, above the losses compared."""
    it = history.frame("iterations")
    fig, (ax, w_ax) = plt.subplots(2, 1, figsize=(8, 5), sharex=True, height_ratios=[2, 1])
    if "w" not in it:
        for a in (ax, w_ax):
            a.axis("off")
        ax.text(0.5, 0.5, "no ramp-up: this method has no teacher", ha="center", transform=ax.transAxes)
    else:
        window = max(1, len(it) // 15)
        ax.plot(it["iteration"], _smooth(it["sup_s"] / 2, window), label="$L^s_{sup}/2$ (students)")
        ax.plot(it["iteration"], _smooth(it["sup_t"], window), label="$L^t_{sup}$ (teacher)")
        ax.set(yscale="log", ylabel=f"CE on $X^l$ ({window}-it mean)")
        w_ax.step(it["iteration"], it["w"], where="post", label="$w(e)$")
        if "alpha_scale" in it and (it["alpha_scale"] != 1).any():
            w_ax.step(it["iteration"], it["alpha_scale"], where="post", ls="--", label=r"$\alpha$ scale (ramp-down)")
        w_ax.set(xlabel="iteration after phase a", ylabel="weight", ylim=(0, 1.05))
        latch = history.latch.get("latched_iteration")
        if latch is not None:
            for a in (ax, w_ax):
                a.axvline(latch + 0.5, color="black", ls=":", lw=1.2,
                          label=f"latch, epoch {history.latch['latched_epoch']}")
        ax.legend(fontsize=8)
        w_ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Adaptive ramp-up (eq. 9) — {describe_run(history)}", fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_pseudo_label_accuracy(history: History):
    """Pixel accuracy of Y^t (teacher) and Y^s-bar (students' average) on unlabeled images, per evaluation."""
    ev = history.frame("evals")
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for column, label in (("acc_teacher", "teacher $Y^t$"), ("acc_students", r"students' average $Y^{\bar s}$"),
                          ("agreement", "agreement of the two")):
        if column in ev:
            ax.plot(ev["epoch"], 100 * ev[column], marker="o", ls=":" if column == "agreement" else "-", label=label)
    ax.set(xlabel="epoch (0 = after phase a)", ylabel="pixel accuracy (%)")
    ax.legend(fontsize=8)
    n = history.config.get("pseudo_eval_images")
    ax.set_title(f"Pseudo-labels vs hidden masks of {n} unlabeled images", fontsize=9)
    fig.suptitle(describe_run(history), fontsize=9)
    fig.tight_layout()
    plt.close(fig)
    return fig


def prediction_panel(out_dir: str | Path, n: int = 4, role: str = "student1", device: str = "cpu", data=None):
    """Image / ground truth / prediction of `role` on the first n validation images of a run's checkpoint."""
    import torch

    from .data import build_datasets
    from .data.palette import colorize, palette_for
    from .data.transforms import denormalize
    from .evaluate import predict_logits
    from .predict import load_network
    net, cfg = load_network(Path(out_dir) / "last.pt", role, device)
    data = data or build_datasets(cfg)
    palette = palette_for(cfg.dataset)
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
    fig.suptitle(f"Validation images — {made}", fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


# ---------------------------------------------------------------- many runs
def miou_frame(histories: dict[str, History], roles=("student1", "teacher")) -> pd.DataFrame:
    """Long table of every evaluation: run, method, partition, epoch, network, mIoU (%)."""
    rows = []
    for name, h in histories.items():
        for ev in h.evals:
            for role in roles:
                if f"miou_{role}" in ev:
                    rows.append({"run": name, "method": METHOD_LABELS.get(h.config.get("method"), "?"),
                                 "partition": h.config.get("partition"), "epoch": ev["epoch"],
                                 "network": ROLE_LABELS[role], "mIoU (%)": 100 * ev[f"miou_{role}"]})
    return pd.DataFrame(rows, columns=["run", "method", "partition", "epoch", "network", "mIoU (%)"])


def plot_miou_curves(histories: dict[str, History], roles=("student1", "teacher"), title: str = ""):
    """Validation mIoU per epoch: one panel per partition, colour = method, dashes = network."""
    import seaborn as sns
    frame = miou_frame(histories, roles)
    partitions = list(dict.fromkeys(frame["partition"])) or ["none"]
    fig, axes = plt.subplots(1, len(partitions), figsize=(6 * len(partitions), 4), squeeze=False, sharey=True)
    for ax, partition in zip(axes[0], partitions):
        part = frame[frame["partition"] == partition]
        if part.empty:
            ax.text(0.5, 0.5, "no recorded runs", ha="center", transform=ax.transAxes)
            continue
        sns.lineplot(data=part, x="epoch", y="mIoU (%)", hue="method", style="network", markers=True, ax=ax,
                     palette=METHOD_COLORS, style_order=[ROLE_LABELS[r] for r in roles if r in ROLE_LABELS],
                     hue_order=[m for m in METHOD_LABELS.values() if m in set(part["method"])])
        ax.set(title=f"partition {partition}", xlabel="epoch (0 = start of the main loop)")
        ax.legend(fontsize=8)
    fig.suptitle(title or f"Validation mIoU per epoch — {describe_runs(histories)}", fontsize=9)
    fig.tight_layout()
    plt.close(fig)
    return fig


def student_miou(history: History) -> float:
    """The number the paper reports: one student's (S1) single-scale validation mIoU, in %."""
    return 100 * history.final.get("miou_student1", math.nan)


def miou_at(history: History, epoch: float, role: str = "student1") -> float:
    """mIoU (%) of `role` at the first evaluation at or after `epoch`."""
    for ev in history.evals:
        if ev["epoch"] >= epoch - 1e-9 and f"miou_{role}" in ev:
            return 100 * ev[f"miou_{role}"]
    return math.nan


def summary_table(results: dict[str, dict[str, History]]) -> pd.DataFrame:
    """One row per recorded run: final mIoU of S1 and T, the latch, iterations, device, wall time, commit."""
    rows = []
    for experiment, runs in results.items():
        for name, h in runs.items():
            teacher = h.final.get("miou_teacher")
            rows.append({"experiment": experiment, "run": name,
                         "method": METHOD_LABELS.get(h.config.get("method"), h.config.get("method")),
                         "partition": h.config.get("partition"), "S1 mIoU (%)": round(student_miou(h), 2),
                         "T mIoU (%)": round(100 * teacher, 2) if teacher is not None else None,
                         "latch epoch": h.latch.get("latched_epoch"),
                         "iterations": (h.meta.get("teacher_iters") or 0) + (h.meta.get("max_iter") or 0),
                         "device": h.meta.get("device"),
                         "wall (min)": round(h.meta.get("wall_time_s", math.nan) / 60, 1),
                         "commit": h.meta.get("git_commit")})
    table = pd.DataFrame(rows, columns=["experiment", "run", "method", "partition", "S1 mIoU (%)", "T mIoU (%)",
                                        "latch epoch", "iterations", "device", "wall (min)", "commit"])
    table["latch epoch"] = table["latch epoch"].astype("Int64")    # an epoch number, or <NA> (never / no teacher)
    return table


def verdict(values: dict[str, float], claim: str, margin: float = 0.0) -> str:
    """Is values[k0] >= values[k1] >= ... (in the dict's order, within `margin` points)? A sentence from the numbers."""
    known = {k: v for k, v in values.items() if v is not None and not math.isnan(v)}
    shown = " vs ".join(f"{k} {v:.2f}" for k, v in known.items())
    if len(known) < 2 or len(known) < len(values):
        missing = [k for k in values if k not in known]
        return f"{claim}: cannot be checked yet, no recorded run for {', '.join(missing)}" + \
            (f" (have {shown})." if shown else ".")
    if max(known.values()) - min(known.values()) < 0.05:   # equal scores (e.g. all background-only) prove nothing
        return f"{claim}: not separated by these runs ({shown}: a tie)."
    names = list(known)
    broken = [(a, b) for a, b in zip(names, names[1:]) if known[a] < known[b] - margin]
    if not broken:
        return f"{claim}: confirmed by these runs ({shown})."
    why = "; ".join(f"{b} beats {a} by {known[b] - known[a]:.2f} points" for a, b in broken)
    return f"{claim}: not confirmed by these runs ({shown}; {why})."


def missing_text(experiment: str, names, have) -> str:
    """Which runs of an experiment are not recorded (yet)."""
    missing = [n for n in names if n not in have]
    if not missing:
        return f"All {len(list(names))} runs of '{experiment}' are recorded."
    return (f"Not recorded yet in '{experiment}': {', '.join(missing)} "
            f"(record with `python -m gpslib.experiments {experiment} {' '.join(missing)}`).")


def commands_table(runs: dict[str, History]) -> pd.DataFrame:
    """The papermill command that re-runs each recorded run."""
    return pd.DataFrame({"run": list(runs), "command": [h.meta.get("command", "(not recorded)")
                                                        for h in runs.values()]}).set_index("run")


def rerun(experiment: str, names=None, workdir: str | Path | None = None, **budget: Any) -> dict[str, History]:
    """Re-run runs of an experiment (all when names is None) through book/train.ipynb with papermill.

    Each run goes to <workdir>/<name> (a new temporary folder by default); returns their histories by name.
    """
    import papermill

    from . import experiments
    from .paths import BOOK_DIR
    workdir = Path(workdir or tempfile.mkdtemp(prefix=f"gpslib-{experiment}-"))
    out = {}
    for name in experiments.EXPERIMENTS[experiment] if names is None else names:
        params = experiments.parameters(experiment, name, **budget)
        params["out_dir"] = str(workdir / name)
        papermill.execute_notebook(str(BOOK_DIR / "train.ipynb"), str(workdir / f"{name}.ipynb"),
                                   parameters=params, cwd=str(workdir), kernel_name="python3", progress_bar=False)
        out[name] = History.load(workdir / name)
        out[name].meta["command"] = experiments.papermill_command(
            {k: v for k, v in params.items() if k != "out_dir"})
    return out


# ---------------------------------------------------------------- chapter 8: the training flow
def flow_verdict(histories: dict[str, History], epoch: float = 1.0) -> str:
    """Fig. 3's claim, per partition: after the first epoch GPS's student is far ahead of CPS's."""
    by = {(h.config.get("method"), h.config.get("partition")): h for h in histories.values()}
    lines = []
    for partition in dict.fromkeys(p for _, p in by):
        gps, cps, sup = (by.get((m, partition)) for m in ("gps", "cps", "supervised"))
        if gps is None or cps is None:
            lines.append(f"{partition}: GPS or CPS not recorded, nothing to compare.")
            continue
        g, c = miou_at(gps, epoch), miou_at(cps, epoch)
        s = f", SupOnly {miou_at(sup, epoch):.2f}" if sup is not None else ""
        word = ("does not separate GPS from CPS (a tie), so it neither confirms nor refutes" if abs(g - c) < 0.05
                else "confirms" if g > c else "refutes")
        lines.append(f"{partition}: after epoch {epoch:g}, S1 mIoU GPS {g:.2f} vs CPS {c:.2f}{s} "
                     f"(GPS {g - c:+.2f} points) — {word} the expectation; at the end GPS {student_miou(gps):.2f} "
                     f"vs CPS {student_miou(cps):.2f}.")
    return "\n".join(lines) if lines else "No recorded runs to compare."


# ---------------------------------------------------------------- chapter 9: the ablations
def table4(runs: dict[str, History]) -> pd.DataFrame:
    """Table 4: each combination of L_gps/L_cps/L_fps, the paper's mIoU (R50, 1/8) next to ours (digits).

    The paper's six rows come first (its first row is L_gps alone, section 4.4.1); a recorded combination that
    is not in the paper's table follows with empty paper columns.
    """
    rows = []
    paper = {"gps{:d}-cps{:d}-fps{:d}".format(*key): (key, values) for key, values in PAPER_TABLE4.items()}
    extra = {name: (tuple(bool(int(part[-1])) for part in name.split("-")), (None, None))
             for name in runs if name not in paper}     # a recorded combination the paper's table does not have
    for name, (key, (voc, city)) in {**paper, **extra}.items():
        h = runs.get(name)
        rows.append({"run": name, "L_gps": "✓" if key[0] else "–", "L_cps": "✓" if key[1] else "–",
                     "L_fps": "✓" if key[2] else "–", "paper VOC": voc, "paper Cityscapes": city,
                     "ours S1 (%)": round(student_miou(h), 2) if h else None,
                     "ours T (%)": round(100 * h.final["miou_teacher"], 2) if h and "miou_teacher" in h.final
                     else None})
    return pd.DataFrame(rows).set_index("run")


def table4_text(table: pd.DataFrame) -> str:
    """The paper's three comparisons of Table 4, each checked against our numbers."""
    checks = [("gps1-cps1-fps1", "gps1-cps1-fps0", "adding L_fps to L_gps + L_cps"),
              ("gps1-cps1-fps1", "gps0-cps1-fps1", "adding L_gps to L_cps + L_fps"),
              ("gps1-cps0-fps1", "gps1-cps0-fps0", "adding L_fps to L_gps alone")]
    lines = []
    for better, worse, what in checks:
        paper = table.loc[better, "paper VOC"] - table.loc[worse, "paper VOC"]
        ours_b, ours_w = table.loc[better, "ours S1 (%)"], table.loc[worse, "ours S1 (%)"]
        if ours_b is None or ours_w is None or pd.isna(ours_b) or pd.isna(ours_w):
            lines.append(f"- {what}: paper {paper:+.2f} points (VOC); ours not recorded yet.")
            continue
        ours = ours_b - ours_w
        agree = ("a tie: these runs do not separate the rows" if abs(ours) < 0.05 else
                 "same sign as the paper" if (ours > 0) == (paper > 0) else "opposite sign to the paper")
        lines.append(f"- {what}: paper {paper:+.2f} points (VOC), ours {ours:+.2f} points — {agree}.")
    extra = table[table["paper VOC"].isna() & table["ours S1 (%)"].notna()]
    for name in extra.index:
        lines.append(f"- {name} ({extra.loc[name, 'ours S1 (%)']:.2f}) was recorded but is not a row of the paper's "
                     "Table 4, whose first row is L_gps alone (gps1-cps0-fps0).")
    ours = table["ours S1 (%)"].dropna()
    if len(ours):
        best = ours.astype(float).idxmax()
        lines.append(f"- best of our {len(ours)} recorded rows: {best} ({ours[best]:.2f}); "
                     f"the paper's best is gps1-cps1-fps1.")
    return "\n".join(lines)


def fps_flow(runs: dict[str, History], epochs: float = 1.0) -> pd.DataFrame:
    """L_fps per iteration over the first `epochs` epochs of each run, long format."""
    parts = []
    for name, h in runs.items():
        it = h.frame("iterations")
        if "fps" not in it:
            continue
        limit = epochs * h.meta.get("iters_per_epoch", len(it))
        part = it[it["iteration"] < limit]
        parts.append(pd.DataFrame({"run": name, "iteration": part["iteration"], "L_fps": part["fps"]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["run", "iteration", "L_fps"])


def _final_miou_bars(runs: dict[str, History], ax) -> None:
    """Final mIoU of S1 and T per run, as grouped bars (the right panel of the ablation figures)."""
    import seaborn as sns
    finals = pd.DataFrame([{"run": n, "network": ROLE_LABELS[r], "mIoU (%)": 100 * h.final[f"miou_{r}"]}
                           for n, h in runs.items() for r in ("student1", "teacher") if f"miou_{r}" in h.final])
    if not finals.empty:
        sns.barplot(data=finals, x="run", y="mIoU (%)", hue="network", ax=ax)
        ax.set(title="final mIoU")


def plot_fps_flow(runs: dict[str, History], epochs: float = 1.0, smooth: int = 5):
    """Fig. 6b: L_fps per iteration (running mean) for two-step vs merged updates, and their final mIoU."""
    import seaborn as sns
    frame = fps_flow(runs, epochs)
    fig, (ax, bar) = plt.subplots(1, 2, figsize=(10, 3.8), width_ratios=[2, 1])
    if frame.empty:
        ax.text(0.5, 0.5, "no recorded runs", ha="center", transform=ax.transAxes)
    else:
        frame["L_fps (running mean)"] = frame.groupby("run")["L_fps"].transform(lambda v: _smooth(v, smooth))
        sns.lineplot(data=frame, x="iteration", y="L_fps (running mean)", hue="run", ax=ax)
        ax.set(title=f"$L_{{fps}}$ over the first {epochs:g} epoch(s), {smooth}-it running mean")
    _final_miou_bars(runs, bar)
    fig.suptitle(f"Two-step vs merged update — {describe_runs(runs)}", fontsize=9)
    fig.tight_layout()
    plt.close(fig)
    return fig


def update_text(runs: dict[str, History], epochs: float = 1.0) -> str:
    """Fig. 6's claim (L_fps falls faster with the two-step update), checked on the recorded runs."""
    frame = fps_flow(runs, epochs)
    if not {"two_step", "merged"} <= set(frame["run"]):
        return "Two-step vs merged: both runs are needed and at least one is not recorded yet."
    last = {}
    for name in ("two_step", "merged"):
        values = frame[frame["run"] == name]["L_fps"].to_numpy()
        last[name] = float(values[-max(1, len(values) // 4):].mean())   # last quarter of the window
    gap = last["merged"] - last["two_step"]
    if abs(gap) < 0.02 * max(last.values()):      # within 2 %: noise, not the effect of Fig. 6b
        finding = "indistinguishable from the merged update's, so this budget neither shows nor refutes Fig. 6b"
    else:
        finding = "lower, as in Fig. 6b" if gap > 0 else "higher, unlike Fig. 6b"
    return (f"Mean L_fps over the last quarter of the first {epochs:g} epoch(s): two-step {last['two_step']:.3f}, "
            f"merged {last['merged']:.3f} — the two-step update's L_fps is {finding}. " +
            verdict({"two-step": student_miou(runs["two_step"]), "merged": student_miou(runs["merged"])},
                    "Final S1 mIoU, two-step >= merged"))


def plot_rampup_variants(runs: dict[str, History]):
    """w(e) (and the alpha scale of the ramp-down) per iteration for each ramp-up variant, and final mIoU."""
    fig, (ax, bar) = plt.subplots(1, 2, figsize=(10, 3.8), width_ratios=[2, 1])
    for name, h in runs.items():
        it = h.frame("iterations")
        if "w" in it:
            line, = ax.step(it["iteration"], it["w"], where="post", label=f"{name}: w(e)")
            if "alpha_scale" in it and (it["alpha_scale"] != 1).any():
                ax.step(it["iteration"], it["alpha_scale"], where="post", ls="--", color=line.get_color(),
                        label=f"{name}: α scale")
    ax.set(xlabel="iteration after phase a", ylabel="weight", ylim=(-0.02, 1.05), title="weights used")
    if runs:
        ax.legend(fontsize=7)
    _final_miou_bars(runs, bar)
    fig.suptitle(f"Ramp-up variants — {describe_runs(runs)}", fontsize=9)
    fig.tight_layout()
    plt.close(fig)
    return fig


def rampup_text(runs: dict[str, History]) -> str:
    """Section 3.3 / 4.4.3 claims checked: the adaptive ramp-up beats the alternatives and the ramp-down."""
    values = {n: student_miou(runs[n]) if n in runs else math.nan for n in ("adaptive", "fixed", "none", "rampdown")}
    lines = [verdict({"adaptive": values["adaptive"], other: values[other]},
                     f"adaptive >= {other}") for other in ("fixed", "none", "rampdown")]
    latches = {n: runs[n].latch.get("latched_epoch") for n in runs if runs[n].config.get("rampup") == "adaptive"}
    if latches:
        lines.append("Latch epoch: " + ", ".join(f"{n} {e if e is not None else 'never'}"
                                                 for n, e in latches.items()) + ".")
    return "\n".join(lines)


# ---------------------------------------------------------------- chapter 11: the results page
def headline(main_runs: dict[str, History], partitions=("1/8", "1/16")) -> str:
    """The paper's ordering GPS >= CPS >= SupOnly (final S1 mIoU), checked per partition on the 'main' runs."""
    lines = []
    for partition in partitions:
        slug = partition.replace("/", "_")
        values = {label: student_miou(main_runs[f"{method}-{slug}"]) if f"{method}-{slug}" in main_runs else math.nan
                  for method, label in METHOD_LABELS.items()}
        lines.append(verdict(values, f"GPS >= CPS >= SupOnly at {partition}"))
    return "\n".join(lines)


def budget_table() -> pd.DataFrame:
    """The recorded runs' CPU budget next to the paper's 1/8 settings (iterations of batch 8+8)."""
    from .cost import cost_table
    from .experiments import BUDGET
    digits = make_config("digits", "1/8", **{k: v for k, v in BUDGET.items() if k in ("epochs", "iters_per_epoch",
                                                                                       "teacher_epochs", "seed")})
    rows = [{"setting": "this book: recorded runs (digits 1/8)", "network": f"DeepLabV3+ {digits.backbone}",
             "crop": digits.crop_size, "batch": f"{digits.batch_labeled}+{digits.batch_unlabeled}",
             "epochs": digits.epochs, "iterations/epoch": digits.iters_per_epoch,
             "main-loop iterations": digits.epochs * digits.iters_per_epoch,
             "validation images": BUDGET.get("val_limit")}]
    paper = (("pascal", "paper: Pascal VOC 1/8", 1449), ("cityscapes", "paper: Cityscapes 1/8", 500))
    for dataset, label, val in paper:
        cfg = make_config(dataset, "1/8")
        row = next(r for r in cost_table(dataset) if r["partition"] == "1/8")
        rows.append({"setting": label, "network": "DeepLabV3+ ResNet-50/101 (ImageNet)", "crop": cfg.crop_size,
                     "batch": "8+8", "epochs": row["epochs"], "iterations/epoch": row["iterations_per_epoch"],
                     "main-loop iterations": row["epochs"] * row["iterations_per_epoch"], "validation images": val})
    return pd.DataFrame(rows).set_index("setting")


def probe_table(results_dir: str | Path) -> pd.DataFrame:
    """The supervised probes in <results_dir>/probes: does S1 learn which digit it sees, and how fast?

    Train CE is the mean of the last 100 iterations: about 0.25-0.5 means digits are found but their class is
    guessed (background alone is ~90% of the pixels), far below that means the class is learned too.
    """
    rows = []
    for path in sorted((Path(results_dir) / "probes").glob("*.json")):
        h = History.load(path)
        tail = [r["sup"] for r in h.iterations[-100:]]
        digit_iou = h.final.get("iou_student1", [math.nan])[1:]
        rows.append({"probe": path.stem, "lr": h.config.get("lr"), "scales": tuple(h.config.get("scales") or ()),
                     "iterations": h.final.get("iteration"), "S1 mIoU (%)": round(student_miou(h), 2),
                     "best digit IoU (%)": round(100 * max(digit_iou), 2),
                     "train CE (last 100)": round(float(np.mean(tail)), 3) if tail else math.nan,
                     "device": h.meta.get("device"), "wall (min)": round(h.meta.get("wall_time_s", math.nan) / 60, 1),
                     "command": h.meta.get("command")})
    return pd.DataFrame(rows)
