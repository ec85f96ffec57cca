"""The lab's evidence: every recorded run as one row (`runs`), and the book's only pairing, `gap(a, b)`: the
same-seed differences of a score between two variants, with gpslib.compare's paired t-interval and verdict."""
from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..compare import DASH, Gap, interval
from ..history import History
from ..paths import RESULTS_DIR
from . import filled
from .experiments import EXPERIMENTS, result_path, seeded, variant_of
from ..report.text import METHOD_LABELS as METHODS

EXPERIMENT_PARTITIONS = {e: sorted({str(p["partition"]) for p in runs.values()}, key=Fraction)
                         for e, runs in EXPERIMENTS.items()}
# What a comparison's numbers are, by the run-table column it reads.
SCORES = {"test": "test mIoU of S1, points", "val": "val mIoU of S1, points",
          "first": "val mIoU of S1 after epoch 1, points", "fps_epoch1": "mean L_fps over epoch 1"}


# ---------------------------------------------------------------- every run, one row
def _row(experiment: str, name: str, h: History) -> dict:
    c, test = h.config, h.test
    first = next((e for e in h.evals if e["epoch"] >= 1 - 1e-9), {})
    return {"experiment": experiment, "name": name, "variant": variant_of(name), "method": c.get("method"),
            "partition": str(c.get("partition")), "seed": c.get("seed"), "epochs": c.get("epochs"),
            "val": 100 * h.final.get("miou_student1", math.nan),
            "test": 100 * test.get("miou_student1", math.nan),
            "teacher_test": 100 * test.get("miou_teacher", math.nan),
            "first": 100 * first.get("miou_student1", math.nan),
            "last_gain": 100 * (h.evals[-1]["miou_student1"] - h.evals[-2]["miou_student1"])
            if len(h.evals) > 1 and "miou_student1" in h.evals[-2] else math.nan,
            "fps_epoch1": np.mean([r["fps"] for r in h.iterations if r.get("epoch") == 1 and "fps" in r] or [math.nan]),
            "latch": h.latch.get("latched_epoch"), "threads": h.meta.get("cpu_threads"),
            "minutes": h.meta.get("wall_time_s", math.nan) / 60, "encoder": h.meta.get("encoder_sha256") or ""}


@lru_cache(maxsize=4)
def _runs(results_dir: str) -> pd.DataFrame:
    rows = [_row(experiment, name, History.load(path))
            for experiment, names in EXPERIMENTS.items() for name in names
            if (path := result_path(experiment, name, Path(results_dir))).is_file()]
    return pd.DataFrame(rows, columns=list(_row("", "", History()).keys()))


def runs(results_dir: str | Path = RESULTS_DIR) -> pd.DataFrame:
    """Every recorded run (a run read under two names appears under both), one row each; scores in %."""
    return _runs(str(results_dir)).copy()


def partitions(frame: pd.DataFrame) -> list[str]:
    """The partitions present, fewest labels first."""
    return sorted(set(frame["partition"]), key=Fraction)


# ---------------------------------------------------------------- one comparison
def scores(frame: pd.DataFrame, side: tuple[str, str], score: str = "test") -> pd.Series:
    """One variant's score by seed: side = (experiment, variant), e.g. ('tables', 'gps-1_8')."""
    rows = frame[(frame["experiment"] == side[0]) & (frame["variant"] == side[1])]
    return rows.set_index("seed")[score].dropna()


def gap(frame: pd.DataFrame, a: tuple[str, str], b: tuple[str, str], score: str = "test") -> Gap:
    """a - b in `score`, paired by seed over the seeds both sides recorded."""
    left, right = scores(frame, a, score), scores(frame, b, score)
    seeds = left.index.intersection(right.index)
    same = [result_path(a[0], seeded(a[1], s)) == result_path(b[0], seeded(b[1], s)) for s in seeds]
    equal = bool((left[seeds] == right[seeds]).all())     # trained apart, yet the same run to the last bit
    return interval(left[seeds] - right[seeds], identical=bool(seeds.size) and (all(same) or equal))


def mixed_starts(frame: pd.DataFrame) -> list[str]:
    """'1/4 seed 1' for each partition and seed whose runs started from different pre-trained encoders (the digits
    encoder's bits depend on the CPU that pre-trained it); a run recorded before runs named theirs matches any."""
    named = frame[frame["encoder"] != ""]
    return [f"{p} seed {s}" for (p, s), e in named.groupby(["partition", "seed"])["encoder"] if e.nunique() > 1]


def run(method: str, partition: str) -> str:
    """'gps-1_8': the variant name of a method at a partition."""
    return f"{method}-{partition.replace('/', '_')}"


# ---------------------------------------------------------------- the compact table
def method_table(frame: pd.DataFrame, experiments=("tables_converged", "tables", "tables_cutmix"),
                 score: str = "test") -> pd.DataFrame:
    """Mean S1 (%) per setting x method (rows; method alone for one setting) and partition (columns), seeds in
    brackets; a dash where none."""
    labels = {"tables_converged": "converged", "tables": "preset E", "tables_cutmix": "CutMix, preset E"}
    rows = {}
    for e in experiments:
        for m, label in METHODS.items():
            cells = {}
            for p in EXPERIMENT_PARTITIONS[e]:
                s = scores(frame, (e, run(m, p)), score)
                cells[p] = f"{s.mean():.1f} ({len(s)})" if len(s) else DASH
            if any(c != DASH for c in cells.values()):      # a setting shows once it has runs
                rows[(labels[e], label)] = cells
    table = pd.DataFrame(rows).T.reindex(columns=EXPERIMENT_PARTITIONS["tables"]).fillna("")
    table.index.names = ["setting", "method"]
    return table.droplevel("setting") if len(experiments) == 1 else table


def background_truth(partition: str = "1/8", n: int = 64) -> float:
    """The share of background among the labeled pixels of the first n unlabeled images' hidden masks."""
    from ..config import make_config
    from ..data import build_datasets
    from ..evaluate import PSEUDO_SEED
    data = build_datasets(make_config("digits", partition))
    masks = [data.unlabeled[(i, PSEUDO_SEED + i)][1] for i in range(min(n, len(data.unlabeled)))]
    kept = np.concatenate([m.numpy().ravel() for m in masks])
    kept = kept[kept != 255]
    return float((kept == 0).mean())


# ---------------------------------------------------------------- a chapter's own comparisons and listings
def compare(frame: pd.DataFrame, rows: dict[str, tuple], score: str = "test", expected: int = 1,
            digits: int = 1) -> pd.DataFrame:
    """A chapter's comparisons as a table: label -> (a, b), each side (experiment, variant); a − b with its
    interval, the seeds and the verdict. The same `gap` as the scorecard, so no chapter pairs seeds itself."""
    gaps = {label: gap(frame, a, b, score) for label, (a, b) in rows.items()}
    return pd.DataFrame({"a − b, 95 % CI": [format(g, f"cell.{digits}") for g in gaps.values()],
                         "seeds": [g.n for g in gaps.values()],
                         "verdict": [g.verdict(expected) for g in gaps.values()]},
                        index=pd.Index(list(gaps), name=SCORES.get(score, score)))


def listing(frame: pd.DataFrame, experiment: str) -> pd.DataFrame:
    """Every recorded run of one experiment: its scores (%), latch epoch, minutes and threads."""
    rows = frame[frame["experiment"] == experiment].set_index("name")
    table = rows[["val", "test", "teacher_test", "latch", "minutes", "threads"]].round(1)
    table.columns = ["val S1", "test S1", "test T", "latch", "minutes", "threads"]
    return filled(table)


def per_seed(frame: pd.DataFrame, experiment: str = "tables", score: str = "test") -> pd.DataFrame:
    """S1 (%) of every seed: one row per partition and seed, one column per method."""
    rows = frame[frame["experiment"] == experiment]
    table = rows.pivot_table(index=["partition", "seed"], columns="method", values=score).round(1)
    table = table.rename(columns=METHODS)
    table = table[[m for m in METHODS.values() if m in table]]
    table = table.reindex(sorted(table.index, key=lambda k: (Fraction(k[0]), k[1])))
    return filled(table)


# ---------------------------------------------------------------- groups of runs
def by_variant(runs: dict[str, History]) -> dict[str, list[History]]:
    """Runs grouped by variant, their seeds together: {'merged': [merged, merged-s1, ...], ...}."""
    groups: dict[str, list[History]] = {}
    for name, h in runs.items():
        groups.setdefault(variant_of(name), []).append(h)
    return groups


def describe_runs(histories: dict[str, History]) -> str:
    """What made a group of runs, in one line: dataset, network, iterations per run (phase a + main), device."""
    if not histories:
        return "no recorded runs"

    def values(field: str, part: str = "config") -> str:
        return "/".join(dict.fromkeys(str(getattr(h, part).get(field, "?")) for h in histories.values()))
    iters = [(h.meta.get("teacher_iters") or 0) + (h.meta.get("max_iter") or 0) for h in histories.values()]
    span = f"{min(iters):,}" if min(iters) == max(iters) else f"{min(iters):,}–{max(iters):,}"
    return f"{values('dataset')}, {values('backbone')}, {span} it per run, {values('device', 'meta')}"
