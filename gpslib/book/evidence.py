"""The lab's evidence in one place: every recorded run as one row, one paired comparison, and the paper's claims
as a table that one function judges.

`runs()` reads every history of book/results into a DataFrame (experiment, variant, method, partition, seed and
the scores). `gap(a, b)` is the only pairing in the book: the same-seed differences of a score between two
variants, with their 95 % paired t-interval (Student's t, n - 1 degrees of freedom). A verdict follows from the
interval alone: confirmed (entirely on the paper's side of 0), refuted (entirely on the other side), not separated
(it contains 0, or one seed gives no interval). `CLAIMS` lists what the paper claims; `scorecard` judges them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..history import History
from ..paths import RESULTS_DIR
from .experiments import EXPERIMENTS, result_path, variant_of

LEVEL = 0.95
NBSP = "\u00a0"
DASH = "–"
METHODS = {"gps": "GPS", "cps": "CPS", "supervised": "SupOnly"}
# Table 3 of the paper (Pascal VOC 2012, ResNet-50, no CutMix): mIoU per partition and method.
PAPER_TABLE3 = {"1/16": {"gps": 72.91, "cps": 71.98, "supervised": 63.90},
                "1/8": {"gps": 75.72, "cps": 73.67, "supervised": 68.20},
                "1/4": {"gps": 76.33, "cps": 74.90, "supervised": 70.40},
                "1/2": {"gps": 77.07, "cps": 76.15, "supervised": 73.12}}


# ---------------------------------------------------------------- every run, one row
def _row(experiment: str, name: str, h: History) -> dict:
    c, test = h.config, h.test
    first = next((e for e in h.evals if e["epoch"] >= 1 - 1e-9), {})
    start = h.evals[0] if h.evals else {}
    return {"experiment": experiment, "name": name, "variant": variant_of(name), "method": c.get("method"),
            "partition": str(c.get("partition")), "seed": c.get("seed"), "epochs": c.get("epochs"),
            "val": 100 * h.final.get("miou_student1", math.nan),
            "test": 100 * test.get("miou_student1", math.nan),
            "teacher_test": 100 * test.get("miou_teacher", math.nan),
            "teacher_start": 100 * start.get("miou_teacher", math.nan),
            "first": 100 * first.get("miou_student1", math.nan),
            "last_gain": 100 * (h.evals[-1]["miou_student1"] - h.evals[-2]["miou_student1"])
            if len(h.evals) > 1 and "miou_student1" in h.evals[-2] else math.nan,
            "fps_epoch1": _mean_in_first_epoch(h, "fps"),
            "latch": h.latch.get("latched_epoch"), "threads": h.meta.get("cpu_threads"),
            "minutes": h.meta.get("wall_time_s", math.nan) / 60,
            "device": h.meta.get("device"), "iterations": h.meta.get("max_iter")}


def _mean_in_first_epoch(h: History, term: str) -> float:
    values = [row[term] for row in h.iterations if row.get("epoch") == 1 and term in row]   # epochs count from 1
    return float(np.mean(values)) if values else math.nan


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
@dataclass(frozen=True)
class Gap:
    """Same-seed differences a - b and their paired t-interval; `identical` when every pair is the same run."""
    mean: float
    low: float
    high: float
    n: int
    identical: bool = False

    @property
    def sign(self) -> int:
        """+1: the interval lies above 0; -1: below; 0: it contains 0, or there is no interval."""
        if self.n < 2 or self.identical or not (self.low > 0 or self.high < 0):
            return 0
        return 1 if self.low > 0 else -1

    def verdict(self, expected: int = 1) -> str:
        """'confirmed' when the interval is on the expected side of 0, 'refuted' on the other, else 'not separated'."""
        if self.n == 0:
            return "not recorded"
        return {0: "not separated", expected: "confirmed"}.get(self.sign, "refuted")

    def __format__(self, spec: str) -> str:
        """'' -> '+2.6 points, 95 % CI 1.6 to 3.6, 3 seeds'; 'cell' -> '+2.6 (1.6 to 3.6)'; 'short' -> '+2.6;
        95 % CI 1.6 to 3.6'; 'rel' -> 'is ahead of' / 'is behind' / 'is not separated from'; 'cell.3': three
        decimals (a loss)."""
        spec, _, places = spec.partition(".")
        d = int(places or 1)
        if spec == "rel":
            return {1: "is ahead of", -1: "is behind", 0: "is not separated from"}[self.sign]
        if self.n == 0:
            return DASH if spec == "cell" else "no seed recorded on both sides"
        if self.identical:
            return "identical runs" if spec == "cell" else "the very same runs, so no difference"
        mean = f"{round(self.mean, d) + 0.0 or 0.0:+.{d}f}"
        ends = f"{self.low:.{d}f}{NBSP}to{NBSP}{self.high:.{d}f}"
        if spec == "short":
            return mean if self.n < 2 else f"{mean}; 95{NBSP}%{NBSP}CI {ends}"
        if self.n < 2:
            return f"{mean} (one seed)" if spec == "cell" else f"{mean} points (one seed: no interval)"
        return f"{mean} ({ends})" if spec == "cell" else f"{mean} points, 95{NBSP}%{NBSP}CI {ends}, {self.n} seeds"


def interval(differences, identical: bool = False) -> Gap:
    """The paired t-interval of same-seed differences."""
    d = np.asarray(list(differences), dtype=float)
    if len(d) == 0:
        return Gap(math.nan, math.nan, math.nan, 0)
    if len(d) < 2:
        return Gap(float(d[0]), math.nan, math.nan, 1, identical)
    half = float(stats.t.ppf(0.5 + LEVEL / 2, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d)))
    return Gap(float(d.mean()), float(d.mean()) - half, float(d.mean()) + half, len(d), identical)


def scores(frame: pd.DataFrame, side: tuple[str, str], score: str = "test") -> pd.Series:
    """One variant's score by seed: side = (experiment, variant), e.g. ('tables', 'gps-1_8')."""
    rows = frame[(frame["experiment"] == side[0]) & (frame["variant"] == side[1])]
    return rows.set_index("seed")[score].dropna()


def gap(frame: pd.DataFrame, a: tuple[str, str], b: tuple[str, str], score: str = "test") -> Gap:
    """a - b in `score`, paired by seed over the seeds both sides recorded."""
    left, right = scores(frame, a, score), scores(frame, b, score)
    seeds = left.index.intersection(right.index)
    same = [result_path(a[0], _name(a[1], s)) == result_path(b[0], _name(b[1], s)) for s in seeds]
    equal = bool((left[seeds] == right[seeds]).all())     # trained apart, yet the same run to the last bit
    return interval(left[seeds] - right[seeds], identical=bool(seeds.size) and (all(same) or equal))


def _name(variant: str, seed) -> str:
    return variant if seed == 0 else f"{variant}-s{seed}"


def run(method: str, partition: str) -> str:
    """'gps-1_8': the variant name of a method at a partition."""
    return f"{method}-{partition.replace('/', '_')}"


# ---------------------------------------------------------------- words over partitions
def across(gaps: dict[str, Gap]) -> str:
    """'ahead at 1/8 (+2.6; 95 % CI 1.6 to 3.6) and 1/4 (...); behind at 1/2 (...); not separated at 1/16 (...)'."""
    groups = {1: "ahead", -1: "behind", 0: "not separated"}
    parts = []
    for sign, word in groups.items():
        where = [f"{p} ({g:short})" for p, g in gaps.items() if g.n and g.sign == sign]
        if where:
            parts.append(f"{word} at {_and(where)}")
    return "; ".join(parts) if parts else "not recorded yet"


def plain(gaps: dict[str, Gap], a: str, b: str) -> str:
    """The same in plain words, sizes without intervals: 'GPS beats SupOnly at 1/16 and 1/8 (by 6.4 and 3.8
    points); GPS trails SupOnly at 1/4 (by 1.2 points); at 1/2 the two are not separated'."""
    parts = []
    for sign, verb in ((1, "beats"), (-1, "trails")):
        where = {p: g for p, g in gaps.items() if g.n and g.sign == sign}
        if where:
            sizes = _and([f"{abs(g.mean):.1f}" for g in where.values()])
            parts.append(f"{a} {verb} {b} at {_and(list(where))} (by {sizes} points)")
    level = [p for p, g in gaps.items() if g.n and g.sign == 0]
    if level and not parts:
        return f"{a} and {b} are not separated at any partition"
    if level:
        parts.append(f"at {_and(level)} the two are not separated")
    return "; ".join(parts) if parts else "not recorded"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def collapsed(frame: pd.DataFrame, experiment: str, partition: str, margin: float = 10.0) -> bool:
    """Whether CPS fell more than `margin` points below SupOnly (test, mean over seeds): a collapse, not a gap."""
    cps = scores(frame, (experiment, run("cps", partition))).mean()
    sup = scores(frame, (experiment, run("supervised", partition))).mean()
    return bool(cps < sup - margin)


# ---------------------------------------------------------------- the paper's claims, as data
@dataclass(frozen=True)
class Claim:
    """One claim: a - b should be positive (expected=+1) in `score`; `paper` is the paper's a - b."""
    section: str
    name: str
    a: tuple[str, str]
    b: tuple[str, str]
    paper: float | None
    where: str
    score: str = "test"
    expected: int = 1


def _table_claims(experiment: str, section: str, where: str) -> list[Claim]:
    out = []
    for p in EXPERIMENT_PARTITIONS.get(experiment, ()):
        t = PAPER_TABLE3[p]
        for a, b in (("gps", "cps"), ("gps", "supervised"), ("cps", "supervised")):
            if run(a, p) in _variants(experiment) and run(b, p) in _variants(experiment):
                out.append(Claim(section, f"{METHODS[a]} > {METHODS[b]}, {p}", (experiment, run(a, p)),
                                 (experiment, run(b, p)), t[a] - t[b], where))
    return out


def _variants(experiment: str) -> set[str]:
    return {variant_of(n) for n in EXPERIMENTS[experiment]}


EXPERIMENT_PARTITIONS = {e: sorted({str(p["partition"]) for p in EXPERIMENTS[e].values()}, key=Fraction)
                         for e in ("tables", "tables_converged", "tables_cutmix", "short_teacher")}
WHERE = {"tables": "{ref}`ch. 11 <results-methods>`", "cutmix": "{ref}`ch. 11 <results-cutmix>`",
         "teacher": "{ref}`ch. 11 <results-phase-a>`", "table4": "{ref}`ch. 9 <ablation-table4>`",
         "rampup": "{ref}`ch. 9 <ablation-rampup>`", "update": "{ref}`ch. 9 <ablation-update>`"}
FIRST = "val, first preset"
# What a comparison's numbers are, by the run-table column it reads.
SCORES = {"test": "test mIoU of S1, points", "val": "val mIoU of S1, points",
          "first": "val mIoU of S1 after epoch 1, points", "fps_epoch1": "mean L_fps over epoch 1"}     # the ablations' score: recorded with the two-epoch phase a, scored on val

CLAIMS: list[Claim] = [
    *_table_claims("tables_converged", "Tables 2/3, converged (4 × E)", WHERE["tables"]),
    *_table_claims("tables", "Tables 2/3, preset E", WHERE["tables"]),
    *[Claim("CutMix", f"{METHODS[m]} with CutMix > without, {p}", ("tables_cutmix", run(m, p)), ("tables", run(m, p)),
            None, WHERE["cutmix"]) for p in ("1/16", "1/8") for m in ("gps", "cps")],
    *[Claim("Phase a", f"Supervised T > two-epoch T, {p}", ("tables", run("gps", p)), ("short_teacher", run("gps", p)),
            None, WHERE["teacher"]) for p in EXPERIMENT_PARTITIONS["short_teacher"]],
    Claim("Table 4 (ablations)", "+ L_fps to L_gps + L_cps", ("main", "gps-1_8"), ("table4", "gps1-cps1-fps0"),
          73.95 - 72.72, WHERE["table4"], "val"),
    Claim("Table 4 (ablations)", "+ L_gps to L_cps + L_fps", ("main", "gps-1_8"), ("table4", "gps0-cps1-fps1"),
          73.95 - 72.99, WHERE["table4"], "val"),
    Claim("Table 4 (ablations)", "+ L_fps to L_gps alone", ("table4", "gps1-cps0-fps1"), ("table4", "gps1-cps0-fps0"),
          72.82 - 72.25, WHERE["table4"], "val"),
    Claim("Sections 4.4.2-4.4.3 (ablations)", "Two-step > merged update", ("main", "gps-1_8"), ("update", "merged"),
          None, WHERE["update"], "val"),
    Claim("Sections 4.4.2-4.4.3 (ablations)", "Adaptive > fixed ramp-up, E = 8", ("longer", "gps-1_8"),
          ("latch", "fixed"), None, WHERE["rampup"], "val"),
    Claim("Sections 4.4.2-4.4.3 (ablations)", "No ramp-down of L_gps > ramp-down", ("main", "gps-1_8"),
          ("rampup", "rampdown"), 75.72 - 73.57, WHERE["rampup"], "val"),
]


def judge(frame: pd.DataFrame, claims: list[Claim] = CLAIMS) -> pd.DataFrame:
    """One row per claim: section, claim, the paper's difference, the lab's with its interval, seeds, verdict."""
    rows = []
    for c in claims:
        g = gap(frame, c.a, c.b, c.score)
        rows.append({"section": c.section, "claim": c.name, "paper": c.paper, "lab": g, "seeds": g.n,
                     "score": "test" if c.score == "test" else FIRST, "verdict": g.verdict(c.expected),
                     "where": c.where})
    return pd.DataFrame(rows)


def scorecard(frame: pd.DataFrame, sections: list[str] | None = None) -> str:
    """The judged claims as Markdown, one table per section (its rows in mIoU points, a − b in the claim's
    direction); a claim with no seed recorded on both sides is left out."""
    judged = judge(frame)
    if sections is not None:
        judged = judged[judged["section"].isin(sections)]
    out = []
    for section, rows in judged[judged["seeds"] > 0].groupby("section", sort=False):
        places = " and ".join(dict.fromkeys(rows["where"]))
        out.append(f"**{section}** (scored on {rows['score'].iloc[0]}; shown in {places})\n")
        out.append("| claim | paper | lab, 95 % CI | seeds | verdict |\n|---|---|---|---|---|")
        for r in rows.itertuples():
            paper = DASH if r.paper is None or pd.isna(r.paper) else f"{r.paper:+.1f}"
            out.append(f"| {r.claim.replace(' ', NBSP)} | {paper} | {format(r.lab, 'cell').replace(' ', NBSP)} | "
                       f"{r.seeds} | {r.verdict.replace(' ', NBSP)} |")
        out.append("")
    return "\n".join(out).replace("L_fps", "$L_{fps}$").replace("L_gps", "$L_{gps}$").replace("L_cps", "$L_{cps}$")


# ---------------------------------------------------------------- the compact table
def method_table(frame: pd.DataFrame, experiments=("tables_converged", "tables", "tables_cutmix"),
                 score: str = "test") -> pd.DataFrame:
    """Mean S1 (%) per setting x method (rows) and partition (columns), seeds in brackets; a dash where none."""
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
    return table


# ---------------------------------------------------------------- the pieces of the introduction's finding
def order(frame: pd.DataFrame, experiment: str, partition: str) -> str:
    """Whether GPS > CPS > SupOnly holds at one partition: 'confirmed' when GPS − CPS and CPS − SupOnly both are,
    'refuted' when either is refuted, else 'not separated'."""
    steps = [gap(frame, (experiment, run(a, partition)), (experiment, run(b, partition))).verdict()
             for a, b in (("gps", "cps"), ("cps", "supervised"))]
    if "not recorded" in steps:
        return "not recorded"
    return "confirmed" if steps == ["confirmed"] * 2 else "refuted" if "refuted" in steps else "not separated"


def finding(frame: pd.DataFrame, experiment: str = "tables") -> dict[str, str]:
    """The phrases the introduction's first paragraph is made of, each computed from `experiment`'s test scores:
    GPS against SupOnly and CPS over the partitions, where CPS collapsed, where the paper's order holds."""
    recorded = [p for p in EXPERIMENT_PARTITIONS[experiment] if gap(
        frame, (experiment, run("gps", p)), (experiment, run("supervised", p))).n]
    vs = {other: {p: gap(frame, (experiment, run("gps", p)), (experiment, run(other, p))) for p in recorded}
          for other in ("supervised", "cps")}
    cps = {p: gap(frame, (experiment, run("cps", p)), (experiment, run("supervised", p))) for p in recorded}
    fell = [p for p in recorded if vs["cps"][p].n and collapsed(frame, experiment, p)]
    orders = {p: order(frame, experiment, p) for p in recorded}
    held = [p for p, word in orders.items() if word == "confirmed"]
    missing = [p for p in EXPERIMENT_PARTITIONS[experiment] if p not in recorded]
    seeds = sorted({g.n for g in vs["supervised"].values()}) or [0]
    return {
        "vs_supervised": across(vs["supervised"]), "vs_cps": across(vs["cps"]), "cps_vs_supervised": across(cps),
        "plain_supervised": plain(vs["supervised"], "GPS", "SupOnly"), "plain_cps": plain(vs["cps"], "GPS", "CPS"),
        "plain_cps_supervised": plain(cps, "CPS", "SupOnly"), "held": _and(held) if held else "no partition",
        "seeds": _and([str(n) for n in seeds]),
        "collapse": (f"CPS collapses at {_and(fell)}: its S1 ends more than 10 points below SupOnly's, so "
                     "there GPS's lead over CPS measures that collapse, not GPS's gain. " if fell else ""),
        "order": (f"The paper's order GPS > CPS > SupOnly is confirmed at {_and(held)}" if held else
                  "The paper's order GPS > CPS > SupOnly is confirmed at no recorded partition")
                 + (f" ({', '.join(f'{p}: {w}' for p, w in orders.items() if p not in held)})"
                    if len(held) < len(orders) else "") + ".",
        "missing": (f"Not recorded yet at {_and(missing)}. " if missing else ""),
    }


def collapse_text(histories: dict[str, History], truth: float) -> str:
    """Where each method's students end (last evaluation, mean over the seeds that logged it): the share of their
    pixels predicted as background, against the hidden masks' share, and how often S1 and S2 agree."""
    ends: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for h in histories.values():
        last = next((e for e in reversed(h.evals) if "agreement_students" in e), None)
        if last is not None:
            key = (str(h.config["partition"]), METHODS[h.config["method"]])
            share = (last["background_student1"] + last["background_student2"]) / 2
            ends.setdefault(key, []).append((100 * share, 100 * last["agreement_students"]))
    if not ends:
        return "No run with the students' background share is recorded yet."
    parts = [f"{m} at {p}: {np.mean([b for b, _ in v]):.0f}{NBSP}% background, S1 and S2 agreeing on "
             f"{np.mean([a for _, a in v]):.0f}{NBSP}% of the pixels ({len(v)} seed{'s' if len(v) > 1 else ''})"
             for (p, m), v in sorted(ends.items(), key=lambda kv: (Fraction(kv[0][0]), kv[0][1]))]
    return (f"At the last evaluation, against {100 * truth:.0f}{NBSP}% background in the hidden masks: "
            + "; ".join(parts) + ".")


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
    return table.astype(object).where(table.notna(), DASH)


def histories(experiment: str, variants=None, results_dir: str | Path = RESULTS_DIR) -> dict[str, History]:
    """The recorded histories of an experiment (all seeds), optionally only those of some variants."""
    keep = set(variants) if variants is not None else None
    return {name: History.load(path) for name in EXPERIMENTS[experiment]
            if (keep is None or variant_of(name) in keep)
            and (path := result_path(experiment, name, Path(results_dir))).is_file()}


def per_seed(frame: pd.DataFrame, experiment: str = "tables", score: str = "test") -> pd.DataFrame:
    """S1 (%) of every seed: one row per partition and seed, one column per method."""
    rows = frame[frame["experiment"] == experiment]
    table = rows.pivot_table(index=["partition", "seed"], columns="method", values=score).round(1)
    table = table.rename(columns=METHODS)[[m for m in METHODS.values() if m in table.rename(columns=METHODS)]]
    table = table.reindex(sorted(table.index, key=lambda k: (Fraction(k[0]), k[1])))
    return table.astype(object).where(table.notna(), DASH)
