"""Tables of runs: each function takes `History` objects (a run's history.json, or a recorded run of book/results)
and returns a pandas DataFrame or a number, so no value in the book is copied by hand.

The sentences that state claims from these numbers are in claims.py, the figures in figures/.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import make_config
from .experiments import variant_of
from ..history import History
from ..models import ROLES

ROLE_LABELS = {"teacher": "T", "student1": "S1", "student2": "S2"}
METHOD_LABELS = {"gps": "GPS", "cps": "CPS", "supervised": "SupOnly"}
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
    """What made a group of runs in one line: dataset, network, batch, iterations per run (phase a + main), device."""
    if not histories:
        return "no recorded runs"

    def values(field: str, part: str = "config") -> str:
        return "/".join(dict.fromkeys(str(getattr(h, part).get(field, "?")) for h in histories.values()))
    iters = [(h.meta.get("teacher_iters") or 0) + (h.meta.get("max_iter") or 0) for h in histories.values()]
    span = f"{min(iters)}" if min(iters) == max(iters) else f"{min(iters)}-{max(iters)}"
    return (f"{values('dataset')}, {values('backbone')}, batch {values('batch_labeled')}+"
            f"{values('batch_unlabeled')}, {span} it per run, {values('device', 'meta')}")


def roles_of(history: History) -> list[str]:
    return [r for r in ROLES if f"miou_{r}" in history.final]


def student_miou(history: History) -> float:
    """The number the paper reports: one student's (S1) single-scale validation mIoU, in %."""
    return 100 * history.final.get("miou_student1", math.nan)


def miou_at(history: History, epoch: float, role: str = "student1") -> float:
    """mIoU (%) of `role` at the first evaluation at or after `epoch`."""
    for ev in history.evals:
        if ev["epoch"] >= epoch - 1e-9 and f"miou_{role}" in ev:
            return 100 * ev[f"miou_{role}"]
    return math.nan


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



def latch_losses(history: History) -> pd.DataFrame:
    """Per epoch of the main loop, the two sides of the latch test (mean L^s_sup/2 and L^t_sup on the labeled
    batches) and the mean w(e) used."""
    per_epoch = history.frame("iterations").groupby("epoch")[["sup_s", "sup_t", "w"]].mean()
    per_epoch["sup_s / 2"] = per_epoch["sup_s"] / 2
    return per_epoch[["sup_s / 2", "sup_t", "w"]]


def running_mean(values: pd.Series, window: int) -> pd.Series:
    """Running mean over `window` rows (shorter at the start)."""
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



# ---------------------------------------------------------------- many runs
def miou_frame(histories: dict[str, History], roles=("student1", "teacher")) -> pd.DataFrame:
    """Long table of every evaluation: run, its variant (the name without the seed), method, partition, epoch,
    network, mIoU (%)."""
    rows = []
    for name, h in histories.items():
        for ev in h.evals:
            for role in roles:
                if f"miou_{role}" in ev:
                    rows.append({"run": name, "variant": variant_of(name),
                                 "method": METHOD_LABELS.get(h.config.get("method"), "?"),
                                 "partition": h.config.get("partition"), "epoch": ev["epoch"],
                                 "network": ROLE_LABELS[role], "mIoU (%)": 100 * ev[f"miou_{role}"]})
    return pd.DataFrame(rows, columns=["run", "variant", "method", "partition", "epoch", "network", "mIoU (%)"])


def by_variant(runs: dict[str, History]) -> dict[str, list[History]]:
    """Recorded runs grouped by variant, their seeds together: {'merged': [merged, merged-s1, ...], ...}."""
    groups: dict[str, list[History]] = {}
    for name, h in runs.items():
        groups.setdefault(variant_of(name), []).append(h)
    return groups


def spread(values) -> float:
    """Max minus min of a variant's seeds (0 for one seed): the noise a difference has to exceed."""
    values = list(values)
    return float(max(values) - min(values)) if len(values) > 1 else 0.0


def fps_flow(runs: dict[str, History], epochs: float = 1.0) -> pd.DataFrame:
    """L_fps per iteration over the first `epochs` epochs of each run, long format (run, its variant, ...)."""
    parts = []
    for name, h in runs.items():
        it = h.frame("iterations")
        if "fps" not in it:
            continue
        limit = epochs * h.meta.get("iters_per_epoch", len(it))
        part = it[it["iteration"] < limit]
        parts.append(pd.DataFrame({"run": name, "variant": variant_of(name), "iteration": part["iteration"],
                                   "L_fps": part["fps"]}))
    return (pd.concat(parts, ignore_index=True) if parts
            else pd.DataFrame(columns=["run", "variant", "iteration", "L_fps"]))


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


def commands_table(runs: dict[str, History]) -> pd.DataFrame:
    """The papermill command that re-runs each recorded run."""
    return pd.DataFrame({"run": list(runs), "command": [h.meta.get("command", "(not recorded)")
                                                        for h in runs.values()]}).set_index("run")


def table4(runs: dict[str, History]) -> pd.DataFrame:
    """Table 4: each combination of L_gps/L_cps/L_fps, the paper's mIoU (R50, 1/8) next to ours (digits): the mean
    S1 and T over the recorded seeds of each row, with their number and S1's spread.

    The paper's six rows come first (its first row is L_gps alone, section 4.4.1); a recorded combination that
    is not in the paper's table follows with empty paper columns.
    """
    rows = []
    groups = by_variant(runs)
    paper = {"gps{:d}-cps{:d}-fps{:d}".format(*key): (key, values) for key, values in PAPER_TABLE4.items()}
    extra = {name: (tuple(bool(int(part[-1])) for part in name.split("-")), (None, None))
             for name in groups if name not in paper}   # a recorded combination the paper's table does not have
    for name, (key, (voc, city)) in {**paper, **extra}.items():
        seeds = groups.get(name, [])
        s1 = [student_miou(h) for h in seeds]
        teacher = [100 * h.final["miou_teacher"] for h in seeds if "miou_teacher" in h.final]
        rows.append({"run": name, "L_gps": "✓" if key[0] else "–", "L_cps": "✓" if key[1] else "–",
                     "L_fps": "✓" if key[2] else "–", "paper VOC": voc, "paper Cityscapes": city,
                     "ours S1 (%)": round(float(np.mean(s1)), 2) if s1 else None,
                     "ours T (%)": round(float(np.mean(teacher)), 2) if teacher else None,
                     "seeds": len(seeds), "S1 spread": round(spread(s1), 2) if s1 else None})
    return pd.DataFrame(rows).set_index("run")


def budget_table() -> pd.DataFrame:
    """The recorded runs' CPU budget next to the paper's 1/8 settings (iterations of batch 8+8)."""
    from ..cost import cost_table
    from ..data.digits import prepared
    from ..data.pascal import val_ids as pascal_val_ids
    from ..data.partitions import default_root, resolve_partition
    from .experiments import BUDGET
    digits = make_config("digits", "1/8", **{k: v for k, v in BUDGET.items() if k in ("epochs", "iters_per_epoch",
                                                                                       "teacher_epochs", "seed")})
    root = prepared(default_root("digits", None))
    part = resolve_partition("digits", root, "1/8", seed=digits.seed)
    per_epoch = digits.iters_per_epoch or len(part.unlabeled) // digits.batch_unlabeled
    rows = [{"setting": "this book: recorded runs (digits 1/8)",
             "network": f"DeepLabV3+ {digits.backbone} ({digits.encoder_weights or 'random'} encoder)",
             "crop": digits.crop_size, "batch": f"{digits.batch_labeled}+{digits.batch_unlabeled}",
             "epochs": digits.epochs, "iterations/epoch": per_epoch, "main-loop iterations": digits.epochs * per_epoch,
             "validation images": BUDGET.get("val_limit") or len(pascal_val_ids(root))}]
    paper = (("pascal", "paper: Pascal VOC 1/8", 1449), ("cityscapes", "paper: Cityscapes 1/8", 500))
    for dataset, label, val in paper:
        cfg = make_config(dataset, "1/8")
        row = next(r for r in cost_table(dataset) if r["partition"] == "1/8")
        rows.append({"setting": label, "network": "DeepLabV3+ ResNet-50/101 (ImageNet)", "crop": cfg.crop_size,
                     "batch": "8+8", "epochs": row["epochs"], "iterations/epoch": row["iterations_per_epoch"],
                     "main-loop iterations": row["epochs"] * row["iterations_per_epoch"], "validation images": val})
    return pd.DataFrame(rows).set_index("setting")


def search_table(results_dir: str | Path) -> pd.DataFrame:
    """The runs in <results_dir>/search that chose the digits preset: what each changed and what S1 reached.

    "lowest digit IoU" is the worst of the ten digit classes (0 means a digit never segmented); "labeled" is
    the number of labeled scenes, which is what a partition means on a given set of train scenes.
    """
    rows = []
    for path in sorted((Path(results_dir) / "search").glob("*.json")):
        h = History.load(path)
        c, final = h.config, h.final
        teacher = final.get("miou_teacher")
        rows.append({"run": path.stem, "method": METHOD_LABELS[c["method"]], "labeled": h.meta.get("n_labeled"),
                     "train scenes": h.meta.get("n_labeled", 0) + h.meta.get("n_unlabeled", 0),
                     "backbone": c["backbone"], "encoder": c.get("encoder_weights") or "random",
                     "pseudo-labels": c.get("pseudo_label_mode") if c["method"] != "supervised" else "",
                     "α/β": f"{c.get('alpha')}/{c.get('beta')}" if c["method"] != "supervised" else "",
                     "CutMix": ("yes" if c.get("cutmix", True) else "no") if c["method"] != "supervised" else "",
                     "iterations": h.meta.get("teacher_iters", 0) + final.get("iteration", 0),
                     "S1 after epoch 1 (%)": round(miou_at(h, 1.0), 1),
                     "S1 mIoU (%)": round(student_miou(h), 1),
                     "lowest digit IoU (%)": round(100 * min(final.get("iou_student1", [math.nan])[1:]), 1),
                     "T mIoU (%)": round(100 * teacher, 1) if teacher is not None else None,
                     "wall (min)": round(h.meta.get("wall_time_s", math.nan) / 60, 1),
                     "note": h.meta.get("stopped_early", ""), "command": h.meta.get("command")})
    return pd.DataFrame(rows).set_index("run")
