"""The paper's claims as data (`CLAIMS`: two sides, each an (experiment, variant), the paper's difference, the page
that shows it), judged by one function with `evidence.gap`; and the words the chapters' first sentences are made of
(`finding`, `plain`, `cps_collapse`)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import listed
from ..compare import DASH, NBSP, Gap
from .evidence import EXPERIMENT_PARTITIONS, METHODS, gap, run, scores
from .experiments import EXPERIMENTS

# Table 3 of the paper (Pascal VOC 2012, ResNet-50, no CutMix): mIoU per partition and method.
PAPER_TABLE3 = {"1/16": {"gps": 72.91, "cps": 71.98, "supervised": 63.90},
                "1/8": {"gps": 75.72, "cps": 73.67, "supervised": 68.20},
                "1/4": {"gps": 76.33, "cps": 74.90, "supervised": 70.40},
                "1/2": {"gps": 77.07, "cps": 76.15, "supervised": 73.12}}


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
    """GPS > CPS, GPS > SupOnly and CPS > SupOnly at each partition of a grid of the three methods."""
    return [Claim(section, f"{METHODS[a]} > {METHODS[b]}, {p}", (experiment, run(a, p)), (experiment, run(b, p)),
                  PAPER_TABLE3[p][a] - PAPER_TABLE3[p][b], where)
            for p in EXPERIMENT_PARTITIONS[experiment]
            for a, b in (("gps", "cps"), ("gps", "supervised"), ("cps", "supervised"))]


WHERE = {"tables": "{ref}`ch. 11 <results-methods>`", "converged": "{ref}`ch. 8 <flow-converged>`",
         "cutmix": "{ref}`ch. 11 <results-cutmix>`", "teacher": "{ref}`ch. 11 <results-phase-a>`",
         "table4": "{ref}`ch. 9 <ablation-table4>`",
         "rampup": "{ref}`ch. 9 <ablation-rampup>`", "update": "{ref}`ch. 9 <ablation-update>`"}
FIRST = "val, first preset"     # the ablations' score: recorded with the two-epoch phase a, scored on val

CLAIMS: list[Claim] = [
    *_table_claims("tables_converged", "Tables 2/3, converged (4 × E)", WHERE["converged"]),
    *_table_claims("tables", "Tables 2/3, preset E", WHERE["tables"]),
    *[Claim("CutMix", f"{METHODS[m]}: CutMix > none, {p}", ("tables_cutmix", run(m, p)), ("tables", run(m, p)),
            None, WHERE["cutmix"]) for p in ("1/16", "1/8") for m in ("gps", "cps")],
    *[Claim("Phase a", f"T: SupOnly > 2 epochs, {p}", ("tables", run("gps", p)), ("short_teacher", run("gps", p)),
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
    GPS against SupOnly and CPS over the partitions, where CPS collapsed, where the paper's order holds, and where a
    run of the experiment is still missing."""
    recorded = [p for p in EXPERIMENT_PARTITIONS[experiment] if gap(
        frame, (experiment, run("gps", p)), (experiment, run("supervised", p))).n]
    vs = {other: {p: gap(frame, (experiment, run("gps", p)), (experiment, run(other, p))) for p in recorded}
          for other in ("supervised", "cps")}
    cps = {p: gap(frame, (experiment, run("cps", p)), (experiment, run("supervised", p))) for p in recorded}
    fell = [p for p in recorded if vs["cps"][p].n and collapsed(frame, experiment, p)]
    held = [p for p in recorded if order(frame, experiment, p) == "confirmed"]
    done = set(frame.loc[frame["experiment"] == experiment, "name"])
    missing = {str(params["partition"]) for name, params in EXPERIMENTS[experiment].items() if name not in done}
    return {
        "vs_cps": across(vs["cps"]),
        "plain_supervised": plain(vs["supervised"], "GPS", "SupOnly"), "plain_cps": plain(vs["cps"], "GPS", "CPS"),
        "plain_cps_supervised": plain(cps, "CPS", "SupOnly"), "held": listed(held) or "no partition",
        "partitions": listed(recorded),
        "unrecorded": listed([p for p in EXPERIMENT_PARTITIONS[experiment] if p in missing]),
        "collapse": (f"CPS collapses at {listed(fell)}: its S1 ends more than 10 points below SupOnly's, so "
                     "there GPS's lead over CPS measures that collapse, not GPS's gain. " if fell else ""),
    }


# ---------------------------------------------------------------- words over partitions
def across(gaps: dict[str, Gap]) -> str:
    """'ahead at 1/8 (+2.6; 95 % CI 1.6 to 3.6) and 1/4 (...); behind at 1/2 (...); not separated at 1/16 (...)'."""
    parts = []
    for sign, word in {1: "ahead", -1: "behind", 0: "not separated"}.items():
        where = [f"{p} ({g:short})" for p, g in gaps.items() if g.n and g.sign == sign]
        if where:
            parts.append(f"{word} at {listed(where)}")
    return "; ".join(parts) if parts else "not recorded yet"


def plain(gaps: dict[str, Gap], a: str, b: str) -> str:
    """The same in plain words, sizes without intervals: 'GPS beats SupOnly at 1/16 and 1/8 (by 6.4 and 3.8
    points); GPS trails SupOnly at 1/4 (by 1.2 points); GPS and SupOnly are not separated at 1/2'. Every clause names
    both methods; a partition with one seed is given as its one difference, since it has no interval."""
    parts = []
    for sign, verb in ((1, "beats"), (-1, "trails")):
        where = {p: g for p, g in gaps.items() if g.n > 1 and g.sign == sign}
        if where:
            sizes = listed([f"{abs(g.mean):.1f}" for g in where.values()])
            parts.append(f"{a} {verb} {b} at {listed(list(where))} (by {sizes} points)")
    if level := [p for p, g in gaps.items() if g.n > 1 and g.sign == 0]:
        where = "any partition" if len(level) == len(gaps) else listed(level)
        parts.append(f"{a} and {b} are not separated at {where}")
    if single := {p: g for p, g in gaps.items() if g.n == 1}:
        sizes = listed([f"{g:mean}".replace("-", "−") for g in single.values()])
        parts.append(f"{a} − {b} is {sizes} points at {listed(list(single))}, one seed so far")
    return "; ".join(parts) if parts else "not recorded"


def collapsed(frame: pd.DataFrame, experiment: str, partition: str, margin: float = 10.0,
              cps_experiment: str | None = None) -> bool:
    """Whether CPS (of `cps_experiment`, default `experiment`) fell more than `margin` points below SupOnly (test,
    mean over seeds): a collapse, not a gap."""
    cps = scores(frame, (cps_experiment or experiment, run("cps", partition))).mean()
    sup = scores(frame, (experiment, run("supervised", partition))).mean()
    return bool(cps < sup - margin)


def cps_collapse(frame: pd.DataFrame) -> str:
    """Where CPS collapses with L_cps on X^u alone (`cps_unlabeled_only`), and where with its reference's loss on
    X^l and X^u (`tables`): a clause without its full stop, in words (a glued phrase renders no TeX)."""
    done = [p for p in EXPERIMENT_PARTITIONS["cps_unlabeled_only"]
            if scores(frame, ("cps_unlabeled_only", run("cps", p))).size]
    if not done:
        return "CPS with its cross loss on the unlabeled images alone is not recorded yet"
    alone = [p for p in done if collapsed(frame, "tables", p, cps_experiment="cps_unlabeled_only")]
    both = [p for p in done if collapsed(frame, "tables", p)]
    rest = [p for p in done if p not in alone]
    fell = (f"collapses at {listed(alone)} (its S1 more than 10 points below SupOnly's)"
            + (f", not at {listed(rest)}" if rest else "") if alone else f"does not collapse at {listed(done)}")
    return (f"With its cross loss on the unlabeled images alone, CPS {fell}; with the labeled images added, as its "
            f"reference code does, it collapses {'at ' + listed(both) if both else 'nowhere'}")
