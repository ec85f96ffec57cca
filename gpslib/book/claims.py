"""The sentences that state the book's findings, each computed from recorded runs and returned as Markdown.

One procedure judges every difference: the paired t-interval (95 %) of the same-seed differences
(`tables.paired_interval`). The verdict word comes first and follows from the interval alone: **Confirmed** (the
interval lies entirely on the paper's side of 0), **Refuted** (entirely on the other side), **Not separated** (it
contains 0, or there is one seed and so no interval).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..history import History
from ..losses import gaussian_rampup
from .tables import (DASH, METHOD_LABELS, PAPER_RAMPDOWN, PAPER_TABLE3, PAPER_TABLE4, PREDICTION_RUNS, ROLE_LABELS,
                     Paired, by_variant, fps_flow, latch_losses, miou_at, paired_interval, partitions_of, roles_of,
                     runs_by, same_seed_gaps, setting_runs, student_miou, teacher_gain, teacher_start)

CONFIRMED, REFUTED, NOT_SEPARATED = "Confirmed", "Refuted", "Not separated"
NBSP = "\u00a0"     # keeps "Not separated", "2.3 to 6.3" or "E = 4" on one line in a table cell
PAIRS = (("GPS", "SupOnly"), ("GPS", "CPS"), ("CPS", "SupOnly"))     # the paper's order, pair by pair
METHOD_CODES = {label: method for method, label in METHOD_LABELS.items()}
# Where the book shows each claim (MyST references, resolved when the book is built).
WHERE = {"methods": "{ref}`ch. 11 <results-methods>`", "head start": "{ref}`ch. 8 <flow-head-start>`",
         "catch-up": "{ref}`ch. 8 <flow-catch-up>`", "table4": "{ref}`ch. 9 <ablation-table4>`",
         "update": "{ref}`ch. 9 <ablation-update>`", "rampup": "{ref}`ch. 9 <ablation-rampup>`",
         "latch": "{ref}`ch. 9 <ablation-latch>`", "teacher lr": "{doc}`ch. 6 <06_feedback_rampup>`",
         "full": "{ref}`ch. 11 <results-full>`", "cutmix": "{ref}`ch. 11 <results-cutmix>`"}
# Fig. 3 of the paper (Cityscapes, ResNet-50, 1/16, no CutMix): S1 mIoU after the first epoch.
PAPER_FIG3 = {"GPS": 37.82, "CPS": 0.06}
# Table 4's three comparisons (section 4.4.1): the row with one more loss against the row without it.
TABLE4_CHECKS = (("gps1-cps1-fps1", "gps1-cps1-fps0", "adding $L_{fps}$ to $L_{gps} + L_{cps}$"),
                 ("gps1-cps1-fps1", "gps0-cps1-fps1", "adding $L_{gps}$ to $L_{cps} + L_{fps}$"),
                 ("gps1-cps0-fps1", "gps1-cps0-fps0", "adding $L_{fps}$ to $L_{gps}$ alone"))


# ---------------------------------------------------------------- the procedure's words
def verdict(result: Paired) -> str:
    """The verdict word of a paired interval whose positive side is the paper's."""
    return {1: CONFIRMED, -1: REFUTED, 0: NOT_SEPARATED}[result.separated]


def judged(claim: str, result: Paired, unit: str = "points", digits: int = 1, evidence: str = "") -> str:
    """'**Confirmed**: <claim>, +4.3 points (95 % CI 2.1 to 6.5, 3 seeds); <evidence>.'"""
    return f"**{verdict(result)}**: {claim}, {result.text(unit, digits)}" + (f"; {evidence}" if evidence else "") + "."


def listed(lines) -> str:
    """One line as a paragraph, several as a Markdown list."""
    lines = [line for line in lines if line]
    return lines[0] if len(lines) == 1 else "\n".join(f"- {line}" for line in lines)


def _epochs_text(epochs) -> str:
    """'3', '3 and 4', '4-7'."""
    epochs = sorted(set(epochs))
    if len(epochs) > 2 and epochs == list(range(epochs[0], epochs[-1] + 1)):
        return f"{epochs[0]}-{epochs[-1]}"
    return " and ".join(map(str, epochs)) if len(epochs) < 3 else ", ".join(map(str, epochs))


# ---------------------------------------------------------------- one run (chapters 4, 6, 7 and 12)
def latch_text(history: History) -> str:
    """Where the adaptive ramp-up latched, or why it did not."""
    rampup, epochs = history.config.get("rampup"), history.config.get("epochs")
    if history.config.get("method") != "gps":
        return "**No ramp-up**: this method has no teacher."
    latch = history.latch
    if rampup != "adaptive":
        return f"**No latch**, by design: `rampup={rampup!r}` keeps r = {latch.get('r')}."
    if latch.get("latched_epoch") is None:
        return (f"**The latch did not fire**: in {epochs} epoch{'s' if epochs != 1 else ''} the students' "
                f"`L^s_sup/2` never fell to the teacher's `L^t_sup`, so w(e) followed the plain Gaussian "
                f"ramp-up (r = E = {epochs}).")
    return (f"**The latch fired** at the end of epoch {latch['latched_epoch']} (iteration "
            f"{latch['latched_iteration']}): `L^s_sup/2 <= L^t_sup`, so r := {latch.get('r'):g} and w = 1 from the "
            "next iteration on.")


def learned_text(history: History, class_names: list[str], floor: float = 0.01) -> str:
    """How many classes each network segments at all (IoU above `floor`), so a too-short run says so first."""
    found = {}
    for role in roles_of(history):
        iou = np.asarray(history.final[f"iou_{role}"], dtype=float)
        found[ROLE_LABELS[role]] = [name for name, value in zip(class_names, iou) if value > floor]
    counts = ", ".join(f"{label} {len(names)}/{len(class_names)}" for label, names in found.items())
    counted = f"{counts} classes above {100 * floor:g} % IoU"
    if all(names in ([], list(class_names[:1])) for names in found.values()):
        return (f"**Background only**: no network segments a class yet ({counted}). This budget is too short to "
                "learn them; the preset (the command at the top) trains a model that does.")
    if all(len(names) == len(class_names) for names in found.values()):
        return f"**Every class learned**: {counted}."
    return f"**Some classes learned**: {counted}."


# ---------------------------------------------------------------- the main comparison
def method_gap(main_runs: dict[str, History], better: str, worse: str, partition: str) -> Paired:
    """`better` minus `worse` (method labels: GPS, CPS, SupOnly), final S1, paired by seed at one partition."""
    return paired_interval(same_seed_gaps(runs_by(main_runs, METHOD_CODES[better], partition),
                                          runs_by(main_runs, METHOD_CODES[worse], partition)))


def _paper_gap(partition: str, better: str, worse: str) -> str:
    paper = PAPER_TABLE3.get(partition)
    return f"{paper[better] - paper[worse]:+.1f}" if paper else DASH


def headline(main_runs: dict[str, History], partitions=None) -> str:
    """The paper's order GPS > CPS > SupOnly (Tables 2 and 3), pair by pair at each partition: the same-seed
    difference of the final S1 mIoU, judged by its paired interval, with the paper's difference (VOC, R50)."""
    lines = []
    for partition in partitions or partitions_of(main_runs):
        for better, worse in PAIRS:
            result = method_gap(main_runs, better, worse, partition)
            if result.n:
                paper = _paper_gap(partition, better, worse)
                lines.append(judged(f"{better} − {worse} at {partition}", result,
                                    evidence="" if paper == DASH else f"paper {paper} (VOC)"))
    return listed(lines) or "No method pair has a seed recorded on both sides."


def _versus(result: Paired, other: str) -> str:
    """'leads SupOnly by 4.3 points (95 % CI 2.1 to 6.5)', 'trails SupOnly by 3.5 points (95 % CI 0.5 to 6.4)',
    'is not separated from SupOnly (+0.3 points, 95 % CI -1.2 to 1.9)'; with one seed, 'is 4.4 points below
    SupOnly (one seed so far: no interval)'."""
    if not result.n:
        return ""
    if result.n < 2:
        side = "above" if result.mean >= 0 else "below"
        return f"is {abs(result.mean):.1f} points {side} {other} (one seed so far: no interval)"
    behind = result.negated()
    return {1: f"leads {other} by {result.mean:.1f} points (95 % CI {result.ends()})",
            -1: f"trails {other} by {behind.mean:.1f} points (95 % CI {behind.ends()})",
            0: f"is not separated from {other} ({result.mean:+.1f} points, 95 % CI {result.ends()})"}[result.separated]


def findings(main_runs: dict[str, History]) -> str:
    """What the main runs found, in plain sentences: per partition GPS against SupOnly and CPS (and CPS where it
    ends below SupOnly), then the partitions at which the paper's whole order holds."""
    sentences, whole = [], []
    for partition in partitions_of(main_runs):
        gs, gc, cs = (method_gap(main_runs, better, worse, partition) for better, worse in PAIRS)
        parts = [part for part in (_versus(gs, "SupOnly"), _versus(gc, "CPS")) if part]
        if not parts:
            continue
        below = (f"; CPS ends {-cs.mean:.1f} points below SupOnly (95 % CI {cs.negated().ends()})"
                 if cs.separated < 0 else "")
        sentences.append(f"At {partition}, GPS {' and '.join(parts)}{below}.")
        whole += [partition] if all(r.separated > 0 for r in (gs, gc, cs)) else []
    if not sentences:
        return "No GPS run is recorded yet."
    return " ".join(sentences) + (" The paper's order GPS > CPS > SupOnly holds in full at "
                                  + (" and ".join(whole) if whole else "no recorded partition") + ".")


def settings_findings(settings: dict[str, dict[str, History]]) -> str:
    """`findings` for each setting of the lab's Tables 2/3 (label -> runs), one list item each."""
    return listed(f"**{label}**: {findings(runs)}" for label, runs in settings.items()) or findings({})


# ---------------------------------------------------------------- the training flow (Fig. 3)
def head_start(histories: dict[str, History], partition: str, epoch: float = 1.0) -> Paired:
    """GPS's S1 minus CPS's after `epoch` epochs, paired by seed."""
    return paired_interval(same_seed_gaps(runs_by(histories, "gps", partition), runs_by(histories, "cps", partition),
                                          lambda h: miou_at(h, epoch)))


def lead_shrink(histories: dict[str, History], partition: str, epoch: float = 1.0) -> Paired:
    """How much of GPS's lead over CPS after `epoch` epochs is gone at the end, paired by seed (positive: CPS
    catches up)."""
    gps, cps = runs_by(histories, "gps", partition), runs_by(histories, "cps", partition)
    start = same_seed_gaps(gps, cps, lambda h: miou_at(h, epoch))
    end = same_seed_gaps(gps, cps)
    return paired_interval({seed: start[seed] - end[seed] for seed in start})


def flow_verdict(histories: dict[str, History], epoch: float = 1.0) -> str:
    """Fig. 3's claim per partition: after the first epoch GPS's student is ahead of CPS's (paired by seed), with
    the teacher's mIoU at the start of the main loop, which is what GPS's students learn from."""
    lines = []
    for partition in partitions_of(histories):
        result = head_start(histories, partition, epoch)
        if not result.n:
            continue
        teacher = teacher_start(runs_by(histories, "gps", partition))
        lines.append(judged(f"GPS − CPS after epoch {epoch:g} at {partition}", result,
                            evidence=f"GPS's teacher starts at {teacher:.1f} % mIoU"))
    return listed(lines) or "No seed has both GPS and CPS recorded."


def catch_up_text(histories: dict[str, History]) -> str:
    """Fig. 3's second half per partition: does GPS's lead over CPS shrink from epoch 1 to the end (paired by
    seed)? With the lead after every epoch and the epoch from which CPS is level or ahead."""
    lines = []
    for partition in partitions_of(histories):
        gps, cps = runs_by(histories, "gps", partition), runs_by(histories, "cps", partition)
        seeds = sorted(same_seed_gaps(gps, cps))
        if not seeds:
            continue
        epochs = int(min(h.config["epochs"] for h in gps + cps if h.config.get("seed") in seeds))
        gaps = [float(np.mean(list(same_seed_gaps(gps, cps, lambda h: miou_at(h, e)).values())))
                for e in range(1, epochs + 1)]
        level = next((e for e in range(1, epochs + 1) if all(g <= 0 for g in gaps[e - 1:])), None)
        lines.append(judged(f"CPS catching up at {partition} (GPS's lead after epoch 1 minus after epoch {epochs})",
                            lead_shrink(histories, partition),
                            evidence=f"lead after epochs 1-{epochs}: " + ", ".join(f"{g:+.1f}" for g in gaps)
                            + (f" (CPS level from epoch {level} on)" if level else " (GPS ahead at the end)")))
    return listed(lines) or "No seed has both GPS and CPS recorded."


def decline_text(histories: dict[str, History], tolerance: float = 2.0) -> str:
    """The methods that lose what they had learnt: the drop from each run's best evaluation to its end, whose
    paired interval (best and end of the same run) lies above `tolerance` points of S1 mIoU."""
    lines = []
    for partition in partitions_of(histories):
        for method, label in METHOD_LABELS.items():
            runs = runs_by(histories, method, partition)
            peaks = [max(h.evals, key=lambda ev: ev.get("miou_student1", -1.0)) for h in runs]
            drop = paired_interval([100 * peak["miou_student1"] - student_miou(h) for peak, h in zip(peaks, runs)])
            if drop.n > 1 and drop.low > tolerance:
                lines.append(f"**{label} at {partition} falls back**: best evaluation minus end, {drop.text()}; "
                             "best at epoch" + ("s " if len(runs) > 1 else " ")
                             + ", ".join(f"{peak['epoch']:g}" for peak in peaks) + ".")
    return listed(lines) or (f"**None falls back**: no method ends more than {tolerance:g} points below its best "
                             "evaluation with 95 % confidence.")


def last_epoch_text(histories: dict[str, History]) -> str:
    """How much S1 mIoU each method gained in its last epoch (the same run's last two evaluations, paired): a
    method still gaining at the end was stopped by the budget, not by convergence."""
    lines = []
    for partition in partitions_of(histories):
        gains = {label: paired_interval([miou_at(h, h.evals[-1]["epoch"]) - miou_at(h, h.evals[-1]["epoch"] - 1)
                                         for h in runs])
                 for method, label in METHOD_LABELS.items() if (runs := runs_by(histories, method, partition))}
        seeds = max(g.n for g in gains.values())
        how = f" (95 % CI, {seeds} seeds)" if seeds > 1 else ""
        lines.append(f"**{partition}**: S1 gained " + ", ".join(f"{label} {g.short()}" for label, g in gains.items())
                     + f" points in the last epoch{how}.")
    return listed(lines) or "No recorded runs."


def teacher_budget_text(main_runs: dict[str, History]) -> str:
    """Phase a is counted in epochs of the unlabeled set, as the paper counts epochs, so the more labels, the
    fewer iterations the teacher trains before guiding: per partition its phase-a iterations, its mIoU when the
    main loop starts (and how far below where SupOnly ends), and where GPS ends against SupOnly."""
    lines = []
    for partition in partitions_of(main_runs):
        gps = runs_by(main_runs, "gps", partition)
        if not gps:
            continue
        start = teacher_start(gps)
        gap = method_gap(main_runs, "GPS", "SupOnly", partition)
        iters, meta = gps[0].meta.get("teacher_iters") or 0, gps[0].meta
        passes = iters * gps[0].config.get("batch_labeled", 8) / max(1, meta.get("n_labeled") or 1)
        sup = runs_by(main_runs, "supervised", partition)
        below = (f" ({np.mean([student_miou(h) for h in sup]) - start:.1f} points below where SupOnly ends)"
                 if sup else "")
        lines.append(f"**{partition}**: phase a is {iters} iterations ({passes:.0f} passes over the labeled set), "
                     f"T starts the main loop at {start:.1f} %{below}, and GPS − SupOnly ends at {gap.text()}.")
    return listed(lines) or "No GPS run is recorded yet."


NO_LONGER_PHASE_A = "No run with the longer phase a is recorded yet."


def phase_a_text(main_runs: dict[str, History], budget_runs: dict[str, History]) -> str:
    """The test of `teacher_budget_text`'s pattern: GPS again with phase a as long as SupOnly's training
    (`teacher_budget`), against the preset's GPS and against SupOnly, paired by seed, then what follows."""
    lines, conclusion = _phase_a(main_runs, budget_runs)
    return listed(lines) + f"\n\nSo {conclusion}." if lines else NO_LONGER_PHASE_A


def phase_a_conclusion(main_runs: dict[str, History], budget_runs: dict[str, History]) -> str:
    """`phase_a_text`'s conclusion alone, as a sentence (for the introduction)."""
    conclusion = _phase_a(main_runs, budget_runs)[1]
    if not conclusion:
        return NO_LONGER_PHASE_A
    return conclusion[:1].upper() + conclusion[1:] + "."


def _phase_a(main_runs: dict[str, History], budget_runs: dict[str, History]) -> tuple[list[str], str]:
    """The verdict lines of `phase_a_text`, and per partition what follows from them: the short phase a explains
    GPS's deficit (GPS gains and no longer trails), part of it, or none; or, where GPS did not trail, whether the
    longer phase a lifts it above SupOnly."""
    lines, shares = [], {}
    for partition in partitions_of(budget_runs):
        long, short = runs_by(budget_runs, "gps", partition), runs_by(main_runs, "gps", partition)
        sup = runs_by(main_runs, "supervised", partition)
        gain, gap = paired_interval(same_seed_gaps(long, short)), paired_interval(same_seed_gaps(long, sup))
        if not gain.n:
            continue
        sup_end = f" (SupOnly ends at {np.mean([student_miou(h) for h in sup]):.1f} %)" if sup else ""
        lines.append(judged(f"longer − preset phase a, GPS at {partition}", gain,
                            evidence=f"phase a is {long[0].meta.get('teacher_iters')} iterations instead of "
                                     f"{short[0].meta.get('teacher_iters')}, and T starts the main loop at "
                                     f"{teacher_start(long):.1f} % instead of {teacher_start(short):.1f} %{sup_end}"))
        before = method_gap(main_runs, "GPS", "SupOnly", partition)
        if gap.n:
            lines.append(judged(f"GPS with the longer phase a − SupOnly at {partition}", gap,
                                evidence=f"with the preset's phase a: {before.text()}"))
        if gain.n < 2 or not gap.n:
            share = "a second seed is needed to say how much of GPS's deficit the short phase a explains"
        elif before.separated > -1:
            lifted = "lifts it above SupOnly" if gap.separated > 0 else "does not lift it above SupOnly"
            share = f"GPS did not trail SupOnly with the preset's phase a, and a teacher trained as long {lifted}"
        elif gain.separated == 0:
            share = "the longer phase a's gain is not separated from 0, so it is not shown to explain GPS's deficit"
        elif gain.separated < 0:
            share = "the longer phase a lowers GPS, so the short one does not explain GPS's deficit"
        elif gap.separated < 0:
            share = "the short phase a explains part of GPS's deficit, not all"
        else:
            share = "the short phase a explains GPS's deficit: with a teacher trained as long, GPS no longer trails"
        shares.setdefault(share, []).append(partition)
    return lines, "; ".join(f"at {' and '.join(where)}, {share}" for share, where in shares.items())


def room_text(full_runs: dict[str, History], main_runs: dict[str, History], partition: str = "1/8") -> str:
    """How many points semi-supervision can add at all: SupOnly with every label (`full`) minus SupOnly at
    `partition`, paired by seed, next to GPS's lead over SupOnly in the paper."""
    room = paired_interval(same_seed_gaps(by_variant(full_runs).get("supervised-all", []),
                                          runs_by(main_runs, "supervised", partition)))
    if not room.n:
        return f"**Room unknown** at {partition}: SupOnly with every label and at {partition} share no seed yet."
    paper = _paper_gap(partition, "GPS", "SupOnly")
    return (f"**About {room.mean:.1f} points of room at {partition}**: SupOnly with every scene labeled minus SupOnly "
            f"at {partition}, {room.text()}"
            + ("." if paper == DASH else f"; the paper's GPS leads SupOnly by {paper.lstrip('+')} points there (VOC)."))


def label_gap_text(search: pd.DataFrame, target: float = 15.0) -> str:
    """For every SupOnly setting searched with all labels and with 1/8 (rows sup-1-<setting> and
    sup-1_8-<setting>), whether it leaves the `target` points of room the preset was chosen for."""
    lines = []
    for run in search.index:
        few = "sup-1_8-" + run[len("sup-1-"):]
        if not run.startswith("sup-1-") or few not in search.index:
            continue
        full, part = search.loc[run, "S1 mIoU (%)"], search.loc[few, "S1 mIoU (%)"]
        lines.append(f"**{'Meets' if full - part >= target else 'Misses'}** the {target:g}-point gap: "
                     f"{run[len('sup-1-'):]} ({search.loc[run, 'backbone']}, {search.loc[run, 'encoder']} encoder), "
                     f"all labels {full:.1f} %, 1/8 {part:.1f} %: {full - part:.1f} points.")
    return listed(lines) or "No SupOnly pair (all labels and 1/8) is recorded in the search."


# ---------------------------------------------------------------- the ablations
def _paper_table4_gap(better: str, worse: str) -> float:
    """The paper's Pascal VOC mIoU of one Table 4 row minus another's (rows named like 'gps1-cps0-fps1')."""
    def key(name: str) -> tuple[bool, ...]:
        return tuple(bool(int(part[-1])) for part in name.split("-"))
    return PAPER_TABLE4[key(better)][0] - PAPER_TABLE4[key(worse)][0]


def table4_text(runs: dict[str, History]) -> str:
    """The paper's three comparisons of Table 4, each on our runs paired by seed, with the paper's difference
    (VOC); then any recorded combination that is not a row of the paper's table."""
    groups, lines = by_variant(runs), []
    for better, worse, what in TABLE4_CHECKS:
        paper = f"paper {_paper_table4_gap(better, worse):+.2f} (VOC)"
        result = paired_interval(same_seed_gaps(groups.get(better, []), groups.get(worse, [])))
        lines.append(judged(what, result, evidence=paper) if result.n
                     else f"**Not recorded yet**: {what}; {paper}.")
    paper_rows = {"gps{:d}-cps{:d}-fps{:d}".format(*key) for key in PAPER_TABLE4}
    lines += [f"`{name}` is recorded but is not a row of the paper's Table 4." for name in groups
              if name not in paper_rows]
    return listed(lines)


def fps_quarter(history: History, epochs: float = 1.0, quarter: int = 0) -> float:
    """A run's mean L_fps over one quarter (0: the first, -1: the last) of its first `epochs` epochs."""
    return float(np.array_split(fps_flow({"run": history}, epochs)["L_fps"].to_numpy(), 4)[quarter].mean())


def update_text(runs: dict[str, History], epochs: float = 1.0) -> str:
    """Fig. 6's claim (L_fps falls faster with the two-step update) on the recorded runs: merged minus two-step
    mean L_fps over the first quarter of the window (the fall) and over its last quarter (where it settles),
    paired by seed; then two-step minus merged in final S1."""
    groups = {name: [h for h in seeds if "fps" in h.frame("iterations")] for name, seeds in by_variant(runs).items()}
    two, merged = groups.get("two_step", []), groups.get("merged", [])
    if not (two and merged):
        return "**Not recorded yet**: two-step and merged runs are both needed."
    window = "epoch 1" if epochs == 1 else f"the first {epochs:g} epochs"
    lines = []
    for quarter, label in ((0, "first"), (-1, "last")):
        gaps = same_seed_gaps(merged, two, lambda h: fps_quarter(h, epochs, quarter))
        lower = f"two-step lower in {sum(g > 0 for g in gaps.values())} of {len(gaps)} seeds" if gaps else ""
        lines.append(judged(f"merged − two-step mean $L_{{fps}}$, {label} quarter of {window}",
                            paired_interval(gaps), unit="", digits=3, evidence=lower))
    lines.append(judged("two-step − merged, final S1", paired_interval(same_seed_gaps(two, merged))))
    return listed(lines)


def latch_raised_epochs(history: History) -> list[int]:
    """The epochs after the latch in which eq. 9 with r := latch epoch gives a larger w than the plain ramp-up's
    r = E. Since w(E) = 1 either way, it is empty when the latch fired at epoch E - 1 or later (or never): then the
    run is the same training as rampup="fixed"."""
    latched, epochs = history.latch.get("latched_epoch"), history.config.get("epochs")
    if latched is None or not epochs:
        return []
    return [e for e in range(latched + 1, epochs + 1) if gaussian_rampup(e, latched) > gaussian_rampup(e, epochs)]


def identical_seeds(a: list[History], b: list[History]) -> list[int]:
    """The seeds at which two variants recorded the very same evaluations: one training, run twice (training on a
    CPU is deterministic given the seed)."""
    evals_of = {h.config.get("seed"): h.evals for h in b}
    return sorted(seed for h in a if (seed := h.config.get("seed")) in evals_of and h.evals == evals_of[seed])


def _latch_evidence(adaptive: list[History], fixed: list[History]) -> str:
    """Where the adaptive runs latched and in which epochs that raised w: what can separate them from `fixed`."""
    latched = [h.latch.get("latched_epoch") for h in adaptive if h.latch.get("latched_epoch") is not None]
    if not latched:
        return "the latch never fired"
    raised = sorted({e for h in adaptive for e in latch_raised_epochs(h)})
    where = f"the latch fired at epoch {_epochs_text(latched)} of {adaptive[0].config.get('epochs')}"
    if raised:
        return f"{where} and raised w in epochs {_epochs_text(raised)}"
    twins = identical_seeds(adaptive, fixed)
    same = ", so both are one training" + (": identical evaluations" if twins else "")
    return f"{where} and raised w in no epoch{same}"


def rampup_text(runs: dict[str, History], others=("fixed", "none", "rampdown")) -> str:
    """Sections 3.3 and 4.4.3 on the recorded runs: the adaptive ramp-up against each of `others` (the
    alternatives and the paper's ramp-down of L_gps), final S1 paired by seed."""
    groups, lines = by_variant(runs), []
    adaptive = groups.get("adaptive", [])
    for other in others:
        result = paired_interval(same_seed_gaps(adaptive, groups.get(other, [])))
        if not result.n:
            lines.append(f"**Not recorded yet**: adaptive and {other} on a shared seed.")
            continue
        evidence = (_latch_evidence(adaptive, groups[other]) if other == "fixed" else
                    f"paper {PAPER_RAMPDOWN['1/8'][0] - PAPER_RAMPDOWN['1/8'][1]:+.1f} (VOC 1/8)"
                    if other == "rampdown" else "")
        lines.append(judged(f"adaptive − {other}, final S1", result, evidence=evidence))
    return listed(lines)


def latch_summary(histories: dict[str, History]) -> pd.DataFrame:
    """Per GPS run with the adaptive ramp-up: the latch epoch, the number of epochs in which it raised w, and, in the
    last epoch, the two sides of its test (mean L^s_sup/2 of the students and mean L^t_sup of the teacher on the
    labeled batches)."""
    rows = []
    for name, h in histories.items():
        if h.config.get("method") != "gps" or h.config.get("rampup") != "adaptive" or not h.iterations:
            continue
        last = latch_losses(h).iloc[-1]
        epochs, latched = h.config.get("epochs"), h.latch.get("latched_epoch")
        rows.append({"run": name, "partition": h.config.get("partition"), "E": epochs,
                     "latch epoch": latched, "before the last epoch": latched is not None and latched < epochs,
                     "epochs w raised": len(latch_raised_epochs(h)),
                     "last epoch: L^s_sup/2": round(float(last["sup_s / 2"]), 3),
                     "last epoch: L^t_sup": round(float(last["sup_t"]), 3)})
    table = pd.DataFrame(rows, columns=["run", "partition", "E", "latch epoch", "before the last epoch",
                                        "epochs w raised", "last epoch: L^s_sup/2", "last epoch: L^t_sup"]
                         ).set_index("run")
    table["latch epoch"] = table["latch epoch"].astype("Int64")
    return table


def latch_claim(histories: dict[str, History], partition: str = "1/8") -> str:
    """How many GPS runs with the adaptive ramp-up latched before their last epoch at one partition, and what that
    changed."""
    table = latch_summary(histories)
    table = table[table["partition"].astype(str) == partition]
    if table.empty:
        return f"**No run**: no GPS run with the adaptive ramp-up is recorded at {partition}."
    early = int(table["before the last epoch"].sum())
    text = f"**Latched before the last epoch in {early} of {len(table)}** GPS runs at {partition}"
    fired = table[table["latch epoch"].notna()]
    if len(fired) and not fired["epochs w raised"].any():
        text += ("; each at epoch E - 1 or later, where the plain ramp-up reaches w = 1 too, so the latch raised w "
                 "in no epoch")
    elif len(fired):
        raised = sorted({e for name in fired.index for e in latch_raised_epochs(histories[name])})
        text += f"; it raised w in epochs {_epochs_text(raised)}"
    never = table[table["latch epoch"].isna()]
    if len(never):
        ratio = (never["last epoch: L^s_sup/2"] / never["last epoch: L^t_sup"]).mean()
        text += (f"; where it never fired, the students' `L^s_sup/2` was still {ratio:.1f}x the teacher's "
                 "`L^t_sup` in the last epoch")
    return text + "."


def teacher_lr_text(runs: dict[str, History]) -> str:
    """The larger teacher lr against the literal one, paired by seed: how far it moves the teacher over the main
    loop, and whether it lifts the students' final S1."""
    groups = {name: seeds for name, seeds in by_variant(runs).items() if "miou_teacher" in seeds[0].final}
    if not {"literal", "larger"} <= groups.keys():
        moved = "; ".join(f"{name}: T rose {np.mean([teacher_gain(h) for h in seeds]):+.1f} points"
                          for name, seeds in groups.items())
        return f"**Not recorded yet**: the literal and the larger teacher lr on a shared seed ({moved or 'no run'})."
    larger, literal = groups["larger"], groups["literal"]
    rise = (f"T rises {np.mean([teacher_gain(h) for h in larger]):.1f} points with the larger lr, "
            f"{np.mean([teacher_gain(h) for h in literal]):.1f} with the literal one")
    return listed([judged("larger − literal teacher lr, T's rise over the main loop",
                          paired_interval(same_seed_gaps(larger, literal, teacher_gain)), evidence=rise),
                   judged("larger − literal teacher lr, final S1", paired_interval(same_seed_gaps(larger, literal)))])


# ---------------------------------------------------------------- CutMix, convergence, full supervision
def cutmix_gap(main_runs: dict[str, History], cutmix_runs: dict[str, History], method: str, partition: str) -> Paired:
    """`method`'s final S1 with CutMix minus without it at one partition, paired by seed."""
    return paired_interval(same_seed_gaps(runs_by(cutmix_runs, method, partition),
                                          runs_by(main_runs, method, partition)))


def cutmix_text(main_runs: dict[str, History], cutmix_runs: dict[str, History]) -> str:
    """What CutMix does to GPS and to CPS at each partition it was recorded at: the same run with CutMix minus
    without it, final S1, paired by seed (the paper trains Tables 2/3 with it, Fig. 3 and Table 4 without)."""
    lines = []
    for partition in partitions_of(cutmix_runs):
        for method in ("gps", "cps"):
            result = cutmix_gap(main_runs, cutmix_runs, method, partition)
            if result.n:
                lines.append(judged(f"{METHOD_LABELS[method]} with − without CutMix at {partition}", result))
    return listed(lines) or "No run with CutMix is recorded yet."


def recipe_text(recipe_runs: dict[str, History], main_runs: dict[str, History]) -> str:
    """The CutMix recipe measured in training: CPS at 1/8 with one box against three (CPS's VOC recipe), and
    against no CutMix (the main run of the same seed)."""
    one, three = recipe_runs.get("one-box"), recipe_runs.get("three-boxes")
    if one is None or three is None:
        return "**Not recorded yet**: CPS at 1/8 with one box and with three boxes."
    plain = {h.config.get("seed"): h for h in runs_by(main_runs, "cps", "1/8")}.get(one.config.get("seed"))
    without = f"; without CutMix the same seed ends at {student_miou(plain):.1f} %" if plain else ""
    return judged("one box − three boxes, CPS at 1/8, final S1", paired_interval(same_seed_gaps([one], [three])),
                  evidence=f"{student_miou(one):.1f} against {student_miou(three):.1f} %{without}")


def converged_text(main_runs: dict[str, History], converged_runs: dict[str, History]) -> str:
    """Where the curves end at E = 16: whether CPS's 1/16 collapse recovers (CPS − SupOnly at E = 16 and CPS at
    E = 16 minus at the preset's E, paired by seed), per partition recorded in both."""
    lines = []
    for partition in partitions_of(converged_runs):
        long, short = runs_by(converged_runs, "cps", partition), runs_by(main_runs, "cps", partition)
        gain = paired_interval(same_seed_gaps(long, short))
        if not gain.n:
            continue
        versus = method_gap(converged_runs, "CPS", "SupOnly", partition)
        lines.append(judged(f"CPS at E{NBSP}={NBSP}16 − CPS at the preset's E, {partition}", gain,
                            evidence=f"CPS − SupOnly at E{NBSP}={NBSP}16: {versus.text()}"))
    return listed(lines) or "No run at E = 16 is recorded yet."


def guide_text(histories: dict[str, History]) -> str:
    """Where GPS's teacher ends against the students it guides: after phase a T trains at the paper's fixed lr, so
    it stays near where phase a left it while L_gps keeps pulling the students towards its Y^t. Per partition, T's
    rise over the main loop and S1 − T at the end (the same run, over seeds), next to where CPS, unguided, ends."""
    lines = []
    for partition in partitions_of(histories):
        gps = runs_by(histories, "gps", partition)
        if not gps:
            continue
        teacher_ends = [100 * h.final["miou_teacher"] for h in gps]
        above = paired_interval([student_miou(h) - end for h, end in zip(gps, teacher_ends)])
        cps = runs_by(histories, "cps", partition)
        unguided = f"; CPS ends at {np.mean([student_miou(h) for h in cps]):.1f} %" if cps else ""
        mantissa, power = f"{gps[0].iterations[-1].get('lr_teacher', np.nan):.1e}".split("e")
        lines.append(f"**{partition}**: at lr ${mantissa}\\times10^{{{int(power)}}}$ after phase a, T moves "
                     f"{np.mean([teacher_gain(h) for h in gps]):+.1f} points over the main loop and ends at "
                     f"{np.mean(teacher_ends):.1f} %; S1 − T at the end: {above.text()}{unguided}.")
    return listed(lines) or "No GPS run is recorded yet."


def full_gap(full_runs: dict[str, History], variant: str) -> Paired:
    """A `full` variant's final S1 minus SupOnly's with every label, paired by seed."""
    groups = by_variant(full_runs)
    return paired_interval(same_seed_gaps(groups.get(variant, []), groups.get("supervised-all", [])))


def full_supervision_text(full_runs: dict[str, History]) -> str:
    """Fig. 4's question: does GPS at 1/2 reach SupOnly trained on every label, and GPS-dagger with every label
    pass it? Same-seed differences of the final S1."""
    gaps = {what: full_gap(full_runs, name)
            for name, what in (("gps-1_2", "GPS at 1/2"), ("gps-dagger-all", "GPS-dagger with every label"))}
    lines = [judged(f"{what} − SupOnly with every label", result) for what, result in gaps.items() if result.n]
    return listed(lines) or "**Not recorded yet**: SupOnly with every label and a GPS run on the same seed."


def missing_predictions(shown: dict[str, History]) -> str:
    """Which of Fig. 5's runs are not recorded with their predictions yet (`shown`: those that are)."""
    missing = [f"`{experiment}/{name}`" for label, (experiment, name) in PREDICTION_RUNS.items() if label not in shown]
    return f"Not recorded with predictions yet: {', '.join(missing)}." if missing else ""


def repeat_text(results: dict[str, dict[str, History]]) -> str:
    """How the runs recorded again for their predictions (`snapshots`) compare with the main runs they repeat:
    same settings and seed, but trained with the fused optimiser step, whose rounding grows over a run."""
    pairs = [(name, again, results.get("main", {}).get(name)) for name, again in results.get("snapshots", {}).items()]
    said = [f"`{name}` ends at {student_miou(again):.2f} % against {student_miou(first):.2f} %"
            for name, again, first in pairs if first is not None]
    if not said:
        return "No run has been recorded again for its predictions yet."
    return ("The runs recorded again with their predictions repeat main's seed-0 runs with the fused optimiser "
            "step (main's were trained with the per-parameter loop; the two round differently): "
            + "; ".join(said) + ".")


# ---------------------------------------------------------------- the scorecard
@dataclass(frozen=True)
class Check:
    """One claim of the paper against the recorded runs: a short name, the paper's number, the lab's (a same-seed
    difference with its interval, or an order's means), the seeds, the verdict and where the book shows it."""
    claim: str
    paper: str
    lab: str
    seeds: int
    verdict: str
    where: str


def paired_check(claim: str, paper: str, result: Paired, where: str, digits: int = 1) -> Check:
    """A claim judged by one paired interval (positive: the paper's side)."""
    return Check(claim, paper, result.short(digits), result.n, verdict(result), where)


def order_verdict(runs: dict[str, History], partition: str) -> tuple[str, list[Paired]]:
    """Whether GPS > CPS > SupOnly holds at a partition, from its two steps GPS − CPS and CPS − SupOnly:
    Confirmed when both are, Refuted when either is, else Not separated. Also returns the three pairs' intervals
    (GPS − SupOnly, GPS − CPS, CPS − SupOnly)."""
    pairs = [method_gap(runs, better, worse, partition) for better, worse in PAIRS]
    steps = [pairs[1].separated, pairs[2].separated]
    word = CONFIRMED if steps == [1, 1] else REFUTED if -1 in steps else NOT_SEPARATED
    return word, pairs


def order_check(runs: dict[str, History], partition: str, setting: str) -> Check:
    """The scorecard row of the paper's order at one partition and setting: the paper's three numbers (Table 3)
    and the lab's means over the seeds all three methods have, S1 %, in the order GPS / CPS / SupOnly."""
    word, _ = order_verdict(runs, partition)
    methods = {label: {h.config.get("seed"): student_miou(h) for h in runs_by(runs, METHOD_CODES[label], partition)}
               for label in ("GPS", "CPS", "SupOnly")}
    seeds = set.intersection(*(set(by_seed) for by_seed in methods.values()))     # the means compare like with like
    means = [np.mean([by_seed[seed] for seed in seeds]) if seeds else np.nan for by_seed in methods.values()]
    paper = PAPER_TABLE3.get(partition)
    return Check(f"GPS > CPS > SupOnly, {partition}, {setting}",
                 "/".join(f"{paper[m]:.1f}" for m in ("GPS", "CPS", "SupOnly")) if paper else DASH,
                 "/".join(DASH if np.isnan(m) else f"{m:.1f}" for m in means), len(seeds), word, WHERE["methods"])


def checks(results: dict[str, dict[str, History]]) -> list[Check]:
    """Every claim that the recorded runs can judge (a claim without a seed on both sides is left out)."""
    main, out = results.get("main", {}), []
    for setting, runs in setting_runs(results).items():
        out += [order_check(runs, partition, setting) for partition in partitions_of(runs)
                if all(runs_by(runs, METHOD_CODES[label], partition) for label in ("GPS", "CPS", "SupOnly"))]
    for variant, what, paper in (("gps-1_2", "GPS at 1/2", f"3 of 4 (Fig.{NBSP}4)"),
                                 ("gps-dagger-all", "GPS-dagger, every label", DASH)):
        out.append(paired_check(f"{what} > SupOnly, every label", paper, full_gap(results.get("full", {}), variant),
                                WHERE["full"]))
    cutmix = results.get("cutmix", {})
    for partition in partitions_of(cutmix):
        out += [paired_check(f"{METHOD_LABELS[method]} with CutMix > without, {partition}", DASH,
                             cutmix_gap(main, cutmix, method, partition), WHERE["cutmix"]) for method in ("gps", "cps")]
    fig3 = f"{PAPER_FIG3['GPS'] - PAPER_FIG3['CPS']:+.1f} (City)"
    for partition in partitions_of(main):
        out.append(paired_check(f"GPS ahead after epoch 1, {partition}", fig3, head_start(main, partition),
                                WHERE["head start"]))
        out.append(paired_check(f"CPS catches up, {partition}", f"by epoch{NBSP}12", lead_shrink(main, partition),
                                WHERE["catch-up"]))
    t4 = by_variant(results.get("table4", {}))
    for better, worse, what in TABLE4_CHECKS:
        out.append(paired_check(what.replace("adding ", "+ ").replace(" alone", ""),
                                f"{_paper_table4_gap(better, worse):+.2f}",
                                paired_interval(same_seed_gaps(t4.get(better, []), t4.get(worse, []))),
                                WHERE["table4"]))
    update = by_variant(results.get("update", {}))
    out.append(paired_check("Two-step: lower $L_{fps}$", "lower", paired_interval(same_seed_gaps(
        update.get("merged", []), update.get("two_step", []), fps_quarter)), WHERE["update"], digits=3))
    for experiment, where in (("rampup", "rampup"), ("latch", "latch")):
        groups = by_variant(results.get(experiment, {}))
        epochs = groups["adaptive"][0].config.get("epochs") if groups.get("adaptive") else "?"
        out.append(paired_check(f"Adaptive > fixed, E{NBSP}={NBSP}{epochs}", DASH, paired_interval(same_seed_gaps(
            groups.get("adaptive", []), groups.get("fixed", []))), WHERE[where]))
    rampup = by_variant(results.get("rampup", {}))
    out.append(paired_check("Without ramp-down of $L_{gps}$ > with",
                            f"{PAPER_RAMPDOWN['1/8'][0] - PAPER_RAMPDOWN['1/8'][1]:+.1f}",
                            paired_interval(same_seed_gaps(rampup.get("adaptive", []), rampup.get("rampdown", []))),
                            WHERE["rampup"]))
    lr = by_variant(results.get("teacher_lr", {}))
    larger, literal = lr.get("larger", []), lr.get("literal", [])
    out.append(paired_check("Larger T lr: T rises more", DASH,
                            paired_interval(same_seed_gaps(larger, literal, teacher_gain)), WHERE["teacher lr"]))
    out.append(paired_check("Larger T lr: higher S1", DASH, paired_interval(same_seed_gaps(larger, literal)),
                            WHERE["teacher lr"]))
    return [check for check in out if check.seeds]


def scorecard(results: dict[str, dict[str, History]]) -> str:
    """The paper's claims against the recorded runs, one row each, as a Markdown table: the paper's number, the
    lab's same-seed difference with its 95 % paired t-interval, the verdict and where the book shows it."""
    rows = checks(results)
    if not rows:
        return "No claim can be judged yet: no runs are recorded."
    head = ["| claim | paper | lab | seeds | verdict | where |", "|---|---|---|---|---|---|"]
    def cell(text: str) -> str:
        return text.replace(" to ", f"{NBSP}to{NBSP}").replace("Not separated", f"Not{NBSP}separated")
    return "\n".join(head + [f"| {c.claim} | {cell(c.paper)} | {cell(c.lab)} | {c.seeds} | {cell(c.verdict)} | "
                             f"{c.where} |" for c in rows])
