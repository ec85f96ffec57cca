"""Paired comparison over seeds: the one statistical procedure behind every difference gpslib reports.

Two runs with the same seed share the labeled split and the initialisation, so a difference between two methods is
taken seed by seed. `interval` gives the mean of the n same-seed differences with its 95 % paired t-interval
(Student's t, n - 1 degrees of freedom); `Gap.verdict` reads the interval alone: confirmed (entirely on the
expected side of 0), refuted (entirely on the other side), not separated (it contains 0, or one seed gives no
interval). `gpslib compare A... --against B...` applies it to a researcher's own run folders.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .errors import GpslibError
from .history import History

LEVEL = 0.95
NBSP = "\u00a0"
DASH = "–"      # "no value" in a table cell


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
        95 % CI 1.6 to 3.6' or '+2.6, one seed'; 'mean' -> '+2.6'; 'rel' -> 'is ahead of' / 'is behind' / 'is not
        separated from'; 'cell.3': three decimals (a loss)."""
        spec, _, places = spec.partition(".")
        d = int(places or 1)
        if spec == "rel":
            return {1: "is ahead of", -1: "is behind", 0: "is not separated from"}[self.sign]
        if self.n == 0:
            return DASH if spec == "cell" else "no seed recorded on both sides"
        mean = f"{round(self.mean, d) + 0.0 or 0.0:+.{d}f}"     # a mean that rounds to zero is +0.0, never -0.0
        if spec == "mean":
            return mean
        if self.identical:
            return "identical runs" if spec == "cell" else "the very same runs, so no difference"
        ends = f"{self.low:.{d}f}{NBSP}to{NBSP}{self.high:.{d}f}"
        if spec == "short":
            return f"{mean}, one seed" if self.n < 2 else f"{mean}; 95{NBSP}%{NBSP}CI {ends}"
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


# ---------------------------------------------------------------- a researcher's own runs
SCORES = {"test": "test mIoU of S1", "val": "val mIoU of S1 (last evaluation)"}


def run_scores(paths) -> dict[int, dict]:
    """{seed: {'test': %, 'val': %, 'run': 'gps 1/8'}} of finished runs, each given as its out_dir or its JSON."""
    found: dict[int, dict] = {}
    for path in paths:
        h = History.load(path)
        seed = int(h.config.get("seed", 0))
        if seed in found:
            raise GpslibError(f"{path}: a second run with seed {seed} in one group; a paired comparison takes one "
                              "run per seed on each side - pass each seed's run once")
        found[seed] = {"test": 100 * h.test.get("miou_student1", math.nan),
                       "val": 100 * h.final.get("miou_student1", math.nan),
                       "run": " ".join(str(h.config[k]) for k in ("method", "dataset", "partition") if k in h.config)}
    return found


def compare_text(a_paths, b_paths) -> str:
    """a - b per score, paired by seed, in words: the command `gpslib compare`."""
    a, b = run_scores(a_paths), run_scores(b_paths)
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise GpslibError(f"no seed is on both sides (a: seeds {sorted(a)}, b: seeds {sorted(b)}); train each "
                          "method with the same --seed values")
    sides = [" / ".join(dict.fromkeys(side[s]["run"] for s in seeds)) for side in (a, b)]
    lines = [f"a = {sides[0]}, b = {sides[1]}",
             f"a - b over seeds {', '.join(map(str, seeds))}, {100 * LEVEL:g} % paired t-interval:"]
    for score, label in SCORES.items():
        differences = [a[s][score] - b[s][score] for s in seeds]
        gap = interval(d for d in differences if not math.isnan(d))
        word = {1: "a is ahead", -1: "a is behind", 0: "not separated"}[gap.sign] if gap.n else "not recorded"
        lines.append(f"  {label}: {gap} - {word}".replace(NBSP, " "))
    return "\n".join(lines)
