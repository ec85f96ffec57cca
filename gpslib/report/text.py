"""One run in words and tables: the line that says what made it, its final scores per network and class, whether
it learned, where its latch fired, and its losses as a long table for the figures."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..history import History
from ..models import ROLES

ROLE_LABELS = {"teacher": "T", "student1": "S1", "student2": "S2"}
METHOD_LABELS = {"gps": "GPS", "cps": "CPS", "supervised": "SupOnly"}
# Loss terms a run may log per iteration, with the paper's names (totals last).
LOSS_LABELS = {"sup": "$L_{sup}$", "sup_s": "$L^s_{sup}$", "gps": "$L_{gps}$", "cps": "$L_{cps}$",
               "sup_t": "$L^t_{sup}$", "fps": "$L_{fps}$", "guide": "$L_{guide}$ (eq. 7)",
               "feedback": "$L_{fb}$ (eq. 10)"}


def describe_run(history: History) -> str:
    """What made a run, in one line: "digits 1/8, GPS, 1,000 phase-a + 1,744 it (E = 4 × 436), tu-resnet10t, cpu"."""
    c, m = history.config, history.meta
    teacher = f"{m['teacher_iters']:,} phase-a + " if m.get("teacher_iters") else ""
    epochs = f" (E\u00a0=\u00a0{c.get('epochs')} × {m['iters_per_epoch']})" if m.get("iters_per_epoch") else ""
    return (f"{c.get('dataset')} {c.get('partition')}, {METHOD_LABELS.get(c.get('method'), c.get('method'))}, "
            f"{teacher}{m.get('max_iter', 0):,} it{epochs}, {c.get('backbone')}, {m.get('device', '?')}")


def roles_of(history: History) -> list[str]:
    return [r for r in ROLES if f"miou_{r}" in history.final]


def final_miou(history: History) -> pd.DataFrame:
    """Each network's final mIoU (%) on val, and on test where the run was scored there."""
    table = pd.DataFrame({"network": [ROLE_LABELS[r] for r in roles_of(history)],
                          "val mIoU (%)": [100 * history.final[f"miou_{r}"] for r in roles_of(history)]})
    if history.test:
        table["test mIoU (%)"] = [100 * history.test.get(f"miou_{r}", np.nan) for r in roles_of(history)]
    return table.set_index("network").round(2)


def per_class_table(history: History, class_names: list[str]) -> pd.DataFrame:
    """Final val IoU (%) per class (rows) and network (columns), the mIoU last."""
    table = pd.DataFrame({ROLE_LABELS[r]: 100 * np.asarray(history.final[f"iou_{r}"], dtype=float)
                          for r in roles_of(history)}, index=list(class_names))
    table.loc["mIoU"] = [100 * history.final[f"miou_{r}"] for r in roles_of(history)]
    return table.round(1)


def made_by(history: History) -> str:
    """A run's iterations and machine, which every figure of a run names."""
    m = history.meta
    where = m.get("gpu", "GPU") if str(m["device"]).startswith("cuda") else f"{m.get('cpu_threads', '?')}-thread CPU"
    phase_a = f"{m['teacher_iters']:,} phase-a + " if m.get("teacher_iters") else ""
    return f"{phase_a}{m['max_iter']:,} main-loop iterations on the {where}"


def run_phrase(history: History) -> str:
    """What a run trained, on what, where and how long: the facts a figure's title and the prose need."""
    m = history.meta
    return (f"{made_by(history)}, on {m['n_labeled']} labeled and {m['n_unlabeled']} unlabeled images, in "
            f"{m['wall_time_s'] / 60:.1f} min")


def result_phrase(history: History, names) -> str:
    """The final mIoU of every network and its weakest class: a run has learned the classes when that is high."""
    table = per_class_table(history, names)
    means, table = ", ".join(f"{c} {v:.1f} %" for c, v in table.loc["mIoU"].items()), table.drop(index="mIoU")
    lows = ", ".join(f"{net} {table[net].min():.1f} % (class {table[net].idxmin()})" for net in table.columns)
    return f"validation mIoU {means}; the weakest class IoU of each: {lows}"


def learned_text(history: History, class_names: list[str], floor: float = 0.01) -> str:
    """How many classes each network segments at all (IoU above `floor`), so that a too-short run says so first."""
    found = {ROLE_LABELS[r]: [n for n, v in zip(class_names, history.final[f"iou_{r}"]) if v > floor]
             for r in roles_of(history)}
    counted = ", ".join(f"{label} {len(names)}/{len(class_names)}" for label, names in found.items())
    counted += f" classes above {100 * floor:g} % IoU"
    if all(names in ([], list(class_names[:1])) for names in found.values()):
        return (f"**Background only**: no network segments a class yet ({counted}). This budget is too short; "
                "the preset's (the command at the top) trains a model that does.")
    return f"**{'Every' if all(len(n) == len(class_names) for n in found.values()) else 'Some'} class learned**: " \
           f"{counted}."


def latch_text(history: History) -> str:
    """Where the adaptive ramp-up latched (eq. 9), or why it did not."""
    rampup, epochs, latch = history.config.get("rampup"), history.config.get("epochs"), history.latch
    if history.config.get("method") != "gps":
        return "**No ramp-up**: this method has no teacher."
    if rampup != "adaptive":
        return f"**No latch**, by design: the {rampup} ramp-up keeps r = {latch.get('r')}."
    if latch.get("latched_epoch") is None:
        return (f"**The latch did not fire**: in {epochs} epochs half the students' supervised loss never fell to "
                f"the teacher's, so w(e) followed the plain Gaussian ramp-up (r = E = {epochs}).")
    return (f"**The latch fired** at the end of epoch {latch['latched_epoch']} (iteration "
            f"{latch['latched_iteration']:,}): half the students' supervised loss fell to the teacher's, so "
            f"r := {latch.get('r'):g} and w = 1 from the next iteration on.")


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
        parts += [pd.DataFrame({"phase": "b/c: main loop", "iteration": it["iteration"], "term": term,
                                "value": it[term]}) for term in LOSS_LABELS if term in it]
    columns = ["phase", "iteration", "term", "value"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
