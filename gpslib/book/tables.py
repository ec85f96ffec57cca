"""Tables of runs: each function takes `History` objects (a run's history.json, or a recorded run of book/results)
and returns a pandas DataFrame or a number, so no value in the book is copied by hand.

Every difference between two sets of runs is a paired comparison over seeds (`paired_interval`: the paired
t-interval of the same-seed differences). The sentences that state claims from these numbers are in claims.py,
the figures in figures/. `show` formats any table for the page.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

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
# Table 3 of the paper (Pascal VOC 2012, ResNet-50): final mIoU per partition and method.
PAPER_TABLE3 = {"1/16": {"GPS": 72.91, "CPS": 71.98, "SupOnly": 63.90},
                "1/8": {"GPS": 75.72, "CPS": 73.67, "SupOnly": 68.20},
                "1/4": {"GPS": 76.33, "CPS": 74.90, "SupOnly": 70.40},
                "1/2": {"GPS": 77.07, "CPS": 76.15, "SupOnly": 73.12}}

DASH = "–"      # what a table shows where there is no value
LEVEL = 0.95    # the confidence level of every interval in the book


# ---------------------------------------------------------------- formatting and the paired interval
def show(frame: pd.DataFrame, digits: int | dict[str, int] = 2) -> pd.DataFrame:
    """The table as the page shows it: floats rounded to `digits` (per column if a dict), booleans as yes/no,
    and a dash where there is no value (never NaN, <NA> or None)."""
    def cell(value, places: int):
        empty = value is None or (isinstance(value, str) and not value)
        if empty or (pd.api.types.is_scalar(value) and pd.isna(value)):
            return DASH
        if isinstance(value, (bool, np.bool_)):
            return "yes" if value else "no"
        if isinstance(value, (float, np.floating)):
            return f"{value:.{places}f}"
        return value

    def places(column) -> int:
        return digits.get(column, 2) if isinstance(digits, dict) else digits
    out = pd.DataFrame({column: [cell(v, places(column)) for v in frame[column]] for column in frame.columns},
                       index=frame.index, dtype=object)
    if out.index.nlevels == 1:     # one header row: the index's name goes to the corner above it
        out.index = out.index.map(lambda v: cell(v, 2))
        out.columns.name, out.index.name = out.index.name, None
    return out


@dataclass(frozen=True)
class Paired:
    """The paired t-interval of same-seed differences: their mean, the interval's ends (NaN with fewer than two
    pairs) and the number of pairs."""
    mean: float
    low: float
    high: float
    n: int

    @property
    def separated(self) -> int:
        """+1: the interval lies above 0; -1: below 0; 0: it contains 0 (or there is no interval)."""
        if self.n < 2 or (not self.low > 0 and not self.high < 0):
            return 0
        return 1 if self.low > 0 else -1

    def text(self, unit: str = "points", digits: int = 1) -> str:
        """'+4.3 points (95 % CI 2.1 to 6.5, 3 seeds)'; '+4.3 points (one seed: no interval)'."""
        if self.n == 0:
            return "no seed recorded on both sides"
        mean = signed(self.mean, digits) + (f" {unit}" if unit else "")
        if self.n < 2:
            return f"{mean} (one seed: no interval)"
        return f"{mean} ({100 * LEVEL:g} % CI {self.ends(digits)}, {self.n} seeds)"

    def short(self, digits: int = 1) -> str:
        """'+4.3 (2.1 to 6.5)' for a table cell; '+4.3 (one seed)'; a dash without pairs."""
        if self.n == 0:
            return DASH
        return f"{signed(self.mean, digits)} ({self.ends(digits) if self.n > 1 else 'one seed'})"

    def negated(self) -> Paired:
        """The same interval for the reversed difference, so 'trails by 3.5' reads '(95 % CI 0.5 to 6.4)'."""
        return Paired(-self.mean, -self.high, -self.low, self.n)

    def ends(self, digits: int = 1) -> str:
        """'2.1 to 6.5'."""
        return f"{unsigned(self.low, digits)} to {unsigned(self.high, digits)}"


def signed(value: float, digits: int = 1) -> str:
    """'+4.3', '-1.2', '+0.0' (never '-0.0')."""
    return f"{value + 0.0 if round(value, digits) else 0.0:+.{digits}f}"


def unsigned(value: float, digits: int = 1) -> str:
    """'4.3', '-1.2', '0.0' (never '-0.0')."""
    return f"{value if round(value, digits) else 0.0:.{digits}f}"


def paired_interval(gaps, level: float = LEVEL) -> Paired:
    """The paired t-interval (Student's t, n - 1 degrees of freedom) of same-seed differences `gaps` (a list, or
    a dict seed -> difference as `same_seed_gaps` returns). The seed draws the labeled split and the init, which
    move both sides alike, so the differences of one seed are the unit of evidence."""
    values = np.asarray(list(gaps.values()) if isinstance(gaps, dict) else list(gaps), dtype=float)
    n = len(values)
    if n == 0:
        return Paired(math.nan, math.nan, math.nan, 0)
    mean = float(values.mean())
    if n < 2:
        return Paired(mean, math.nan, math.nan, 1)
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return Paired(mean, mean - half, mean + half, n)


def same_seed_gaps(better: list[History], worse: list[History], score=None) -> dict[int, float]:
    """`score` (by default the final S1 mIoU) of `better` minus `worse`, for every seed that both sides recorded.

    The seed draws the labeled partition as well as the init. A partition's luck moves every method alike, so a
    same-seed difference is free of it.
    """
    score = score or student_miou
    worse_of = {seed: score(h) for h in worse if (seed := h.config.get("seed")) is not None}
    return {seed: score(h) - worse_of[seed] for h in better if (seed := h.config.get("seed")) in worse_of}


def with_snapshots(histories: dict[str, History], method: str = "gps") -> History | None:
    """The first run of `method` whose history keeps prediction snapshots (runs recorded before them have none)."""
    return next((h for h in histories.values() if h.config.get("method") == method and h.snapshots), None)


def partitions_of(histories: dict[str, History]) -> list[str]:
    """The partitions the runs were recorded at, fewest labels first ('1/16', '1/8', '1/4', ...)."""
    return sorted({str(h.config.get("partition")) for h in histories.values()}, key=Fraction)


def runs_by(histories: dict[str, History], method: str, partition: str) -> list[History]:
    """The runs (all seeds) of one method at one partition."""
    return [h for h in histories.values()
            if h.config.get("method") == method and str(h.config.get("partition")) == partition]


def mean_range(values, digits: int = 1) -> str:
    """'68.0 (66.2-69.0)' over seeds; '68.0' for one; a dash for none."""
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return DASH
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


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


def summary_table(runs: dict[str, History]) -> pd.DataFrame:
    """One row per recorded run of an experiment: final mIoU of S1 and T, the latch epoch, iterations (phase a
    and main loop) and wall time."""
    rows = {name: {"S1 (%)": student_miou(h),
                   "T (%)": 100 * h.final["miou_teacher"] if "miou_teacher" in h.final else math.nan,
                   "latch": h.latch.get("latched_epoch"),
                   "iterations": (h.meta.get("teacher_iters") or 0) + (h.meta.get("max_iter") or 0),
                   "minutes": h.meta.get("wall_time_s", math.nan) / 60} for name, h in runs.items()}
    table = pd.DataFrame.from_dict(rows, orient="index",
                                   columns=["S1 (%)", "T (%)", "latch", "iterations", "minutes"])
    table["latch"] = table["latch"].astype("Int64")    # an epoch number, or none (never / no teacher)
    return table.rename_axis("run")


COMMAND_PREFIX = "papermill book/train.ipynb out.ipynb"


def commands_table(runs: dict[str, History]) -> pd.DataFrame:
    """The parameters that re-run each recorded run: `papermill book/train.ipynb out.ipynb` followed by them."""
    def flags(h: History) -> str | None:
        command = h.meta.get("command")
        return command[len(COMMAND_PREFIX):].strip() if command and command.startswith(COMMAND_PREFIX) else command
    return pd.DataFrame({"parameters": [flags(h) for h in runs.values()]},
                        index=pd.Index(list(runs), name="run"))


def method_table(main_runs: dict[str, History]) -> pd.DataFrame:
    """The answer in one table: per partition (fewest labels first) and method, the final S1 mIoU (mean and
    range over seeds) and the same-seed difference to SupOnly and to CPS with its 95 % paired t-interval (whose
    cell says "one seed" where there is no interval)."""
    rows = {}
    for partition in partitions_of(main_runs):
        runs = {label: runs_by(main_runs, method, partition) for method, label in METHOD_LABELS.items()}
        for label, seeds in runs.items():
            if not seeds:
                continue
            s1 = [student_miou(h) for h in seeds]
            rows[(partition, label)] = {
                "S1 (%)": float(np.mean(s1)), "range": f"{min(s1):.1f}-{max(s1):.1f}" if len(s1) > 1 else DASH,
                **{f"vs {other}": paired_interval(same_seed_gaps(seeds, runs[other])).short()
                   if other != label and runs[other] else DASH for other in ("SupOnly", "CPS")}}
    table = pd.DataFrame.from_dict(rows, orient="index",
                                   columns=["S1 (%)", "range", "vs SupOnly", "vs CPS"])
    table.index = pd.MultiIndex.from_tuples(table.index, names=["partition", "method"]) if rows else table.index
    return table


# The lab's settings of Tables 2/3, each a set of GPS, CPS and SupOnly runs: the preset's epochs (4/4/5/7 at
# 1/16 to 1/2) without and with CutMix, and trained until the curves flatten (E = 16) without it.
SETTINGS = {"main": "no CutMix, preset E", "cutmix": "CutMix, preset E", "converged": "no CutMix, E = 16"}


def setting_runs(results: dict[str, dict[str, History]]) -> dict[str, dict[str, History]]:
    """The runs of each setting by its label. SupOnly has no unlabeled batch, so CutMix leaves it unchanged: the
    CutMix setting reads main's SupOnly runs at the partitions it has GPS or CPS runs for."""
    out = {label: dict(results.get(experiment, {})) for experiment, label in SETTINGS.items()}
    mixed = out[SETTINGS["cutmix"]]
    partitions = set(partitions_of(mixed))
    mixed.update({f"main/{name}": h for name, h in results.get("main", {}).items()
                  if h.config.get("method") == "supervised" and str(h.config.get("partition")) in partitions})
    return {label: runs for label, runs in out.items() if runs}


def paper_layout(settings: dict[str, dict[str, History]]) -> pd.DataFrame:
    """The lab's Tables 2/3 laid out as the paper's: a row per setting and method, a column per partition (fewest
    labels first), each cell the mean final S1 over the seeds recorded, their number in brackets."""
    partitions = sorted({p for runs in settings.values() for p in partitions_of(runs)}, key=Fraction)
    rows = {}
    for label, runs in settings.items():
        for method, name in METHOD_LABELS.items():
            cells = {}
            for partition in partitions:
                seeds = [student_miou(h) for h in runs_by(runs, method, partition)]
                cells[partition] = f"{np.mean(seeds):.1f} ({len(seeds)})" if seeds else DASH
            if any(cell != DASH for cell in cells.values()):
                rows[(label, name)] = cells
    table = pd.DataFrame.from_dict(rows, orient="index", columns=partitions)
    table.index = pd.MultiIndex.from_tuples(table.index, names=["setting", "method"]) if rows else table.index
    return table


# Fig. 4's bars: the `full` experiment's variants, in the paper's order (grey, red, yellow).
FULL_VARIANTS = {"supervised-all": "SupOnly, every label", "gps-1_2": "GPS, 1/2",
                 "gps-dagger-all": "GPS-dagger, every label"}


def full_supervision_table(full_runs: dict[str, History]) -> pd.DataFrame:
    """Fig. 4 in numbers: per variant of the `full` experiment, the labeled and unlabeled images, and the final S1
    mIoU as mean and range over seeds."""
    groups, rows = by_variant(full_runs), {}
    for variant, label in FULL_VARIANTS.items():
        if groups.get(variant):
            meta = groups[variant][0].meta
            rows[label] = {"labeled": meta.get("n_labeled"), "unlabeled": meta.get("n_unlabeled") or DASH,
                           "S1 (%)": mean_range([student_miou(h) for h in groups[variant]]),
                           "seeds": len(groups[variant])}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("run")


# Fig. 5's rows: (experiment, run) of the recorded 1/8 runs of seed 0 that keep their predictions.
PREDICTION_RUNS = {"SupOnly": ("snapshots", "supervised-1_8"), "GPS, no CutMix": ("snapshots", "gps-1_8"),
                   "GPS, CutMix": ("cutmix", "gps-1_8")}


def prediction_runs(results: dict[str, dict[str, History]]) -> dict[str, History]:
    """Fig. 5's runs by row label, those recorded with snapshots (the others are absent)."""
    found = {label: results.get(experiment, {}).get(name) for label, (experiment, name) in PREDICTION_RUNS.items()}
    return {label: h for label, h in found.items() if h is not None and h.snapshots}


def flow_table(histories: dict[str, History], epoch: float = 1.0) -> pd.DataFrame:
    """Fig. 3 in numbers, per partition and method: the teacher's mIoU at the start of the main loop, S1 after
    `epoch` epochs and at the end, each as the mean over seeds with their range."""
    rows = {}
    for partition in partitions_of(histories):
        for method, label in METHOD_LABELS.items():
            if runs := runs_by(histories, method, partition):
                rows[(partition, label)] = {
                    "T at start (%)": mean_range(miou_at(h, 0.0, "teacher") for h in runs),
                    f"S1, epoch {epoch:g} (%)": mean_range(miou_at(h, epoch) for h in runs),
                    "S1, end (%)": mean_range(student_miou(h) for h in runs), "seeds": len(runs)}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["partition", "method"]) if rows else table.index
    return table


def table4(runs: dict[str, History]) -> pd.DataFrame:
    """Table 4: each combination of L_gps/L_cps/L_fps, the paper's mIoU (R50, 1/8) next to ours (digits): the mean
    final S1 and T over the recorded seeds of each row, how far T rose over the main loop, and the seeds.

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
        teacher = [h for h in seeds if "miou_teacher" in h.final]
        rows.append({"run": name, "gps": "✓" if key[0] else DASH, "cps": "✓" if key[1] else DASH,
                     "fps": "✓" if key[2] else DASH, "paper VOC": voc, "paper City": city,
                     "S1 (%)": np.mean([student_miou(h) for h in seeds]) if seeds else math.nan,
                     "T (%)": np.mean([100 * h.final["miou_teacher"] for h in teacher]) if teacher else math.nan,
                     "T gain": np.mean([teacher_gain(h) for h in teacher]) if teacher else math.nan,
                     "seeds": len(seeds)})
    return pd.DataFrame(rows).set_index("run").astype({"paper VOC": float, "paper City": float})


def teacher_start(runs: list[History]) -> float:
    """T's mean mIoU (%) when the main loop starts: where phase a left the guide."""
    return float(np.mean([miou_at(h, 0.0, "teacher") for h in runs]))


def teacher_gain(history: History) -> float:
    """Points the teacher's mIoU rose over the main loop: what eq. 10 (L^t_sup plus the feedback) did after phase a."""
    return 100 * history.final["miou_teacher"] - miou_at(history, 0.0, "teacher")


def teacher_lr_table(runs: dict[str, History]) -> pd.DataFrame:
    """Per run with a teacher: its lr after phase a, its mIoU after phase a and at the end, and the final S1."""
    rows = {name: {"teacher lr": f"{h.iterations[-1].get('lr_teacher', math.nan):.1e}" if h.iterations else DASH,
                   "T start (%)": miou_at(h, 0.0, "teacher"), "T end (%)": 100 * h.final["miou_teacher"],
                   "T gain": teacher_gain(h), "S1 (%)": student_miou(h)}
            for name, h in runs.items() if "miou_teacher" in h.final}
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["teacher lr", "T start (%)", "T end (%)", "T gain", "S1 (%)"]
                                  ).rename_axis("run")


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


# The search table's columns in two tables that fit the page: what each run changed, and what it reached.
SEARCH_SETUP = ["labeled", "backbone", "encoder", "pseudo-labels", "α/β", "CutMix"]   # method: the name
SEARCH_RESULTS = ["S1 after epoch 1 (%)", "S1 mIoU (%)", "lowest digit IoU (%)", "T mIoU (%)", "wall (min)",
                  "note"]


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
                     "pseudo-labels": c.get("pseudo_label_mode") if c["method"] != "supervised" else DASH,
                     "α/β": f"{c.get('alpha')}/{c.get('beta')}" if c["method"] != "supervised" else DASH,
                     "CutMix": ("yes" if c.get("cutmix", True) else "no") if c["method"] != "supervised" else DASH,
                     "iterations": h.meta.get("teacher_iters", 0) + final.get("iteration", 0),
                     "S1 after epoch 1 (%)": round(miou_at(h, 1.0), 1),
                     "S1 mIoU (%)": round(student_miou(h), 1),
                     "lowest digit IoU (%)": round(100 * min(final.get("iou_student1", [math.nan])[1:]), 1),
                     "T mIoU (%)": round(100 * teacher, 1) if teacher is not None else None,
                     "wall (min)": round(h.meta.get("wall_time_s", math.nan) / 60, 1),
                     "note": h.meta.get("stopped_early", ""), "command": h.meta.get("command")})
    return pd.DataFrame(rows).set_index("run")
