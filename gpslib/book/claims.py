"""The sentences that state the book's claims, each computed from recorded numbers (never written by hand).

Three words are used, always by the same rules: "confirmed" (the expected difference is there, beyond the spread of
the seeds), "not separated" (the difference is within that spread) and "refuted" (the opposite difference, beyond
it): `lead_verdict` for the headline's targets, `compare` for the ablations, `flow_verdict` for Fig. 3.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..history import History
from ..losses import gaussian_rampup
from .tables import (METHOD_LABELS, ROLE_LABELS, by_variant, fps_flow, latch_losses, miou_at, roles_of, spread,
                     student_miou)


def latch_text(history: History) -> str:
    """Where the adaptive ramp-up latched, or why it did not (the one sentence of chapters 6 and 7)."""
    rampup, epochs = history.config.get("rampup"), history.config.get("epochs")
    if history.config.get("method") != "gps":
        return "No teacher in this method, so no ramp-up."
    latch = history.latch
    if rampup != "adaptive":
        return f"rampup={rampup!r}: no latch by design (r stays {latch.get('r')})."
    if latch.get("latched_epoch") is None:
        return (f"The latch did not fire in this run: over {epochs} epochs the students' L^s_sup/2 never fell to "
                f"the teacher's L^t_sup, so r stayed at E = {epochs} and w(e) followed the plain Gaussian ramp-up.")
    return (f"The latch fired at the end of epoch {latch['latched_epoch']} (iteration {latch['latched_iteration']}): "
            f"L^s_sup/2 <= L^t_sup, r := {latch.get('r'):g}, so w = 1 from the next iteration to the end of the run.")


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



# ---------------------------------------------------------------- the training flow, the ablations, the results
FAR_AHEAD = 10.0   # points of S1 mIoU that count as "far ahead" after one epoch (Fig. 3: 37.82 vs 0.06)
# The paper's margins at 1/8 that the recorded runs are checked against: GPS's lead in points of S1 mIoU.
TARGET_LEAD = {"SupOnly": 8.0, "CPS": 1.0}


def runs_by(histories: dict[str, History], method: str, partition: str) -> list[History]:
    """The runs (all seeds) of one method at one partition."""
    return [h for h in histories.values()
            if h.config.get("method") == method and str(h.config.get("partition")) == partition]


def _stat(values: list[float], digits: int = 2) -> str:
    """'72.10' for one seed, '72.10 (71.50-72.80, 3 seeds)' for several."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f}, {len(values)} seeds)"


def lead_verdict(gps: list[float], other: list[float], name: str, target: float, noise: float = 0.0) -> str:
    """GPS's mean lead over another method against a target, judged against the spread of the seeds (or `noise`,
    a spread measured elsewhere, where that is larger: one-seed runs are judged by the main runs' spread).

    confirmed: the lead reaches the target and exceeds the seeds' spread; not separated: the difference is within
    the spread (more seeds could flip it); refuted: the other method is ahead by more than the spread.
    """
    lead, own = float(np.mean(gps) - np.mean(other)), max(spread(gps), spread(other))
    noise = max(own, noise)
    seeds = ("one seed each, no spread to judge against" if noise == 0 else f"seed spread {noise:.2f}"
             + ("" if own >= noise else " of the main runs"))
    if lead >= target and lead > noise:
        word = "confirmed"
    elif abs(lead) <= max(noise, 0.05):
        word = f"not separated (the difference is within the seeds' spread), so the {target:g}-point target is not met"
    elif lead > 0:
        beyond = " beyond the seeds' spread" if noise else ""
        word = f"not confirmed (GPS is ahead{beyond}, but by less than the {target:g}-point target)"
    else:
        word = f"refuted ({name} is ahead)"
    return f"GPS - {name} = {lead:+.2f} points (target >= {target:g}; {seeds}): {word}."


def seed_noise(main_runs: dict[str, History], method: str | None = "gps", partition: str = "1/8") -> float:
    """The spread (max - min, points of final S1 mIoU) of one method's recorded seeds: a one-seed ablation row that
    differs from the reference by less than this is not separated from it. 0 when fewer than two seeds.
    method=None: the largest spread of any method, the noise for one-seed runs of several methods."""
    if method is None:
        return max(seed_noise(main_runs, m, partition) for m in METHOD_LABELS)
    return spread([student_miou(h) for h in runs_by(main_runs, method, partition)])


def _seed_counts(a: int, b: int) -> str:
    return f"{a} vs {b} seed{'s' if max(a, b) > 1 else ''}"


def compare(better: list[float], worse: list[float], noise: float, claim: str) -> str:
    """'claim: confirmed / not separated / refuted' for two sets of seeds (the expected better one first): their
    mean difference against the larger of `noise` (the reference's seed spread) and their own spreads."""
    diff, noise = float(np.mean(better) - np.mean(worse)), max(noise, spread(better), spread(worse))
    seeds = _seed_counts(len(better), len(worse))
    if abs(diff) <= max(noise, 0.05):
        return f"{claim}: not separated ({diff:+.2f} points, {seeds}, within the seed spread of {noise:.2f})."
    return f"{claim}: {'confirmed' if diff > 0 else 'refuted'} ({diff:+.2f} points, {seeds}; seed spread {noise:.2f})."


def same_seed_gaps(better: list[History], worse: list[History], score=student_miou) -> dict[int, float]:
    """`score` (by default the final S1 mIoU) of `better` minus `worse`, for every seed that both sides recorded.

    The seed draws the labeled partition as well as the init. A partition's luck moves every method alike, so a
    same-seed difference is free of it. A one-seed row compared with a three-seed mean is not.
    """
    worse_of = {seed: score(h) for h in worse if (seed := h.config.get("seed")) is not None}
    return {seed: score(h) - worse_of[seed] for h in better if (seed := h.config.get("seed")) in worse_of}


def same_seed_text(better: list[History], worse: list[History], score=student_miou, label: str = "Same seed") -> str:
    """' Same seed: +0.45 (seed 0).' or ' Same seed: +0.03, -0.10, +1.06 (seeds 0, 1, 2).'; '' if none is shared."""
    return gaps_text(same_seed_gaps(better, worse, score), label)


def gaps_text(gaps: dict[int, float], label: str = "Same seed", digits: int = 2) -> str:
    """The same-seed differences `gaps` (seed -> difference) as `same_seed_text` writes them."""
    if not gaps:
        return ""
    seeds = sorted(gaps)
    return f" {label}: {', '.join(f'{gaps[s]:+.{digits}f}' for s in seeds)} ({seeds_text(seeds)})."


def seeds_text(seeds) -> str:
    """'seed 0' or 'seeds 0, 1, 2'."""
    seeds = list(seeds)
    return f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"


def compare_runs(better: list[History], worse: list[History], noise: float, claim: str, score=student_miou) -> str:
    """`compare` on the runs' `score` (by default the final S1), followed by the same-seed differences."""
    return (compare([score(h) for h in better], [score(h) for h in worse], noise, claim)
            + same_seed_text(better, worse, score))


def headline(main_runs: dict[str, History], partitions=("1/8", "1/16"), noise: float = 0.0) -> str:
    """The paper's ordering GPS >= CPS >= SupOnly (final S1 mIoU, over the recorded seeds), per partition, with GPS's
    lead over each method checked against TARGET_LEAD (and against `noise` where the seeds' own spread is smaller),
    then GPS's lead seed by seed."""
    lines = []
    for partition in partitions:
        runs = {label: runs_by(main_runs, method, partition) for method, label in METHOD_LABELS.items()}
        scores = {label: [student_miou(h) for h in seeds] for label, seeds in runs.items()}
        missing = [label for label, values in scores.items() if not values]
        if "GPS" in missing or len(missing) == len(scores) - 1:
            lines.append(f"{partition}: cannot be checked yet, no recorded run for {', '.join(missing)}.")
            continue
        lines.append(f"{partition}: final S1 mIoU " + ", ".join(f"{k} {_stat(v)}" for k, v in scores.items() if v)
                     + (f" ({', '.join(missing)} not recorded)" if missing else "") + ".")
        lines += [f"  {lead_verdict(scores['GPS'], scores[name], name, target, noise)}"
                  + same_seed_text(runs["GPS"], runs[name]) for name, target in TARGET_LEAD.items() if scores[name]]
    return "\n".join(lines)


def last_epoch_text(histories: dict[str, History], partitions=("1/8", "1/16")) -> str:
    """How much S1 mIoU each method gained in its last epoch (mean over seeds): a method still gaining points at the
    end was stopped by the budget, not by convergence."""
    lines = []
    for partition in partitions:
        gains = {label: [miou_at(h, h.evals[-1]["epoch"]) - miou_at(h, h.evals[-1]["epoch"] - 1) for h in runs]
                 for method, label in METHOD_LABELS.items() if (runs := runs_by(histories, method, partition))}
        if gains:
            lines.append(f"{partition}: S1 mIoU gained in the last epoch: "
                         + ", ".join(f"{label} {np.mean(g):+.2f}" for label, g in gains.items()) + " points.")
    return "\n".join(lines) or "No recorded runs."


def room_text(search: pd.DataFrame, main_runs: dict[str, History], partition: str = "1/8",
              all_labels_run: str = "sup-1-r10t-digits") -> str:
    """How many points semi-supervision can add at all: SupOnly with every label (a search run) minus SupOnly at
    `partition` (mean of the recorded seeds), next to the target lead over SupOnly."""
    few = [student_miou(h) for h in runs_by(main_runs, "supervised", partition)]
    if all_labels_run not in search.index or not few:
        return f"The room for semi-supervision at {partition} cannot be computed yet (SupOnly runs missing)."
    full, target = float(search.loc[all_labels_run, "S1 mIoU (%)"]), TARGET_LEAD["SupOnly"]
    room = full - float(np.mean(few))
    text = (f"SupOnly with every train scene labeled reaches {full:.1f} (search run {all_labels_run}); at {partition} "
            f"it reaches {_stat(few)}. Semi-supervision can add at most about {room:.1f} points here")
    if room < target:
        return text + (f", less than the {target:g}-point target: GPS would have to beat full supervision to meet it, "
                       "so the target is out of reach with this encoder and data, whatever the method does.")
    return text + (f": meeting the {target:g}-point target means GPS ending within {room - target:.1f} points of full "
                   "supervision.")


def flow_verdict(histories: dict[str, History], epoch: float = 1.0) -> str:
    """Fig. 3's claim, per partition: after the first epoch GPS's student is far ahead of CPS's (means over seeds),
    with the teacher's mIoU at the start of the main loop, which is what the students learn from."""
    lines = []
    for partition in dict.fromkeys(str(h.config.get("partition")) for h in histories.values()):
        gps, cps, sup = (runs_by(histories, m, partition) for m in ("gps", "cps", "supervised"))
        if not gps or not cps:
            lines.append(f"{partition}: GPS or CPS not recorded, nothing to compare.")
            continue
        g, c = ([miou_at(h, epoch) for h in runs] for runs in (gps, cps))
        gap = float(np.mean(g) - np.mean(c))
        word = ("does not separate GPS from CPS (a tie), so it neither confirms nor refutes" if abs(gap) < 0.05
                else "confirms" if gap >= FAR_AHEAD and gap > max(spread(g), spread(c))
                else f"puts GPS ahead by less than {FAR_AHEAD:g} points, which does not confirm" if gap > 0
                else "refutes")
        teacher = [miou_at(h, 0.0, "teacher") for h in gps]
        s = f", SupOnly {_stat([miou_at(h, epoch) for h in sup])}" if sup else ""
        lines.append(f"{partition}: GPS's teacher starts the main loop at {_stat(teacher)} mIoU. After epoch {epoch:g}, "
                     f"S1 mIoU GPS {_stat(g)} vs CPS {_stat(c)}{s} (GPS {gap:+.2f} points) — {word} the expectation; "
                     f"at the end GPS {_stat([student_miou(h) for h in gps])} vs CPS "
                     f"{_stat([student_miou(h) for h in cps])}."
                     + same_seed_text(gps, cps, lambda h: miou_at(h, epoch),
                                      f"GPS - CPS after epoch {epoch:g}, same seed"))
    return "\n".join(lines) if lines else "No recorded runs to compare."


def catch_up_text(histories: dict[str, History]) -> str:
    """Fig. 3's second half, per partition: GPS's S1 lead over CPS's after every main-loop epoch (same seed, mean
    over the seeds both recorded) and the first epoch at which CPS is level or ahead (the paper: about twelve)."""
    lines = []
    for partition in dict.fromkeys(str(h.config.get("partition")) for h in histories.values()):
        gps, cps = runs_by(histories, "gps", partition), runs_by(histories, "cps", partition)
        seeds = sorted(same_seed_gaps(gps, cps))
        if not seeds:
            continue
        epochs = int(min(h.config["epochs"] for h in gps + cps if h.config.get("seed") in seeds))
        gaps = [float(np.mean(list(same_seed_gaps(gps, cps, lambda h: miou_at(h, e)).values())))
                for e in range(1, epochs + 1)]
        level = next((e for e, gap in enumerate(gaps, 1) if gap <= 0), None)
        lines.append(f"{partition}, E = {epochs}: GPS - CPS after epochs 1-{epochs} (same seed, {seeds_text(seeds)}): "
                     + ", ".join(f"{gap:+.1f}" for gap in gaps) + " points; "
                     + (f"CPS is level or ahead from epoch {level} on." if level and all(g <= 0 for g in gaps[level - 1:])
                        else f"CPS is first level or ahead at epoch {level}." if level
                        else f"CPS has not caught up by epoch {epochs}."))
    return "\n".join(lines) or "No seed has both GPS and CPS recorded."


def decline_text(histories: dict[str, History], tolerance: float = 2.0) -> str:
    """The methods whose every seed ends more than `tolerance` points of S1 mIoU below its own best evaluation: a
    run that drifts away from what it had learnt (per method and partition, each seed's peak, its epoch and the end)."""
    lines = []
    for method, label in METHOD_LABELS.items():
        for partition in dict.fromkeys(str(h.config.get("partition")) for h in histories.values()):
            runs = runs_by(histories, method, partition)
            peaks = [max(h.evals, key=lambda ev: ev.get("miou_student1", -1.0)) for h in runs]
            drops = [(100 * peak["miou_student1"], peak["epoch"], student_miou(h)) for peak, h in zip(peaks, runs)]
            if runs and all(end < best - tolerance for best, _, end in drops):
                lines.append(f"{label} {partition}: S1 peaks at " + ", ".join(
                    f"{best:.1f} (epoch {epoch:g}) and ends at {end:.1f} ({end - best:+.1f})"
                    for best, epoch, end in drops) + f" — every seed ({len(runs)}) ends below its own best.")
    return "\n".join(lines) or f"No method ends more than {tolerance:g} points below its best evaluation in every seed."


def latch_raised_epochs(history: History) -> list[int]:
    """The epochs after the latch in which eq. 9 with r := latch epoch gives a larger w than the plain ramp-up's
    r = E. Since w(E) = 1 either way, it is empty when the latch fired at epoch E - 1 or later (or never): then the
    run is the same training as rampup="fixed"."""
    latched, epochs = history.latch.get("latched_epoch"), history.config.get("epochs")
    if latched is None or not epochs:
        return []
    return [e for e in range(latched + 1, epochs + 1) if gaussian_rampup(e, latched) > gaussian_rampup(e, epochs)]


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
    """The claim 'the adaptive ramp-up latches before the last epoch in every GPS run' at one partition."""
    table = latch_summary(histories)
    table = table[table["partition"].astype(str) == partition]
    if table.empty:
        return f"No GPS run with the adaptive ramp-up is recorded at {partition}."
    early = int(table["before the last epoch"].sum())
    text = (f"The adaptive ramp-up latched before the last epoch in {early} of {len(table)} GPS runs at {partition}: "
            + ("confirmed." if early == len(table) else "not confirmed." if early else "refuted."))
    fired = table[table["latch epoch"].notna()]
    if len(fired) and not fired["epochs w raised"].any():
        text += (f" In {'each' if len(fired) > 1 else 'that run'} it fired at epoch E - 1 or later, and eq. 9 with "
                 "r = E gives w(E) = 1 as well, so the latch raised w in no epoch: at this E the adaptive ramp-up is "
                 "the same training as the fixed one.")
    never = table[table["latch epoch"].isna()]
    if len(never):
        ratio = (never["last epoch: L^s_sup/2"] / never["last epoch: L^t_sup"]).mean()
        text += (f" Where it never fired, the students' L^s_sup/2 was still {ratio:.1f}x the teacher's L^t_sup in the "
                 "last epoch: the teacher fits the labeled images better than the students do, so the test on D^l "
                 "does not flip within this budget.")
    return text


def teacher_gain(history: History) -> float:
    """Points the teacher's mIoU rose over the main loop: what eq. 10 (L^t_sup plus the feedback) did after phase a."""
    return 100 * history.final["miou_teacher"] - miou_at(history, 0.0, "teacher")


def _teacher_groups(runs: dict[str, History]) -> dict[str, list[History]]:
    """The seeds of each variant that has a teacher."""
    return {name: seeds for name, seeds in by_variant(runs).items() if "miou_teacher" in seeds[0].final}


def teacher_moved(runs: dict[str, History]) -> str:
    """Per variant, over its seeds, the points the teacher's mIoU rose over the main loop ('a 1.10 points, ...')."""
    return ", ".join(f"{name} {_stat([teacher_gain(h) for h in seeds])} points"
                     for name, seeds in _teacher_groups(runs).items())


def teacher_lr_text(runs: dict[str, History], noise: float = 0.0) -> str:
    """How far the feedback step moved the teacher: its mIoU after phase a and at the end, per fixed teacher lr;
    with both the `literal` and the `larger` lr recorded, whether the larger one moves T further and lifts S1 (the
    latter judged against `noise`, the reference's seed spread, too)."""
    lines = []
    for name, h in runs.items():
        if "miou_teacher" not in h.final:
            continue
        lr = h.iterations[-1].get("lr_teacher") if h.iterations else math.nan
        lines.append(f"{name}: teacher lr {lr:.1e} after phase a; T mIoU {miou_at(h, 0.0, 'teacher'):.2f} -> "
                     f"{100 * h.final['miou_teacher']:.2f} ({teacher_gain(h):+.2f} points) over the main loop; "
                     f"final S1 {student_miou(h):.2f}.")
    groups = _teacher_groups(runs)
    if len(groups) > 1:      # per variant, over its seeds: how far T moved, and where S1 ended
        lines.append(f"Per teacher lr, over its seeds: T moved {teacher_moved(runs)}; final S1 " + ", ".join(
            f"{name} {_stat([student_miou(h) for h in seeds])}" for name, seeds in groups.items()) + ".")
    if {"literal", "larger"} <= groups.keys():
        larger, literal = groups["larger"], groups["literal"]
        lines.append(compare_runs(larger, literal, 0.0, "the larger lr moves T further", teacher_gain))
        lines.append(compare_runs(larger, literal, noise, "the larger lr lifts S1"))
    return "\n".join(lines) or "No run with a teacher is recorded."


def table4_text(table: pd.DataFrame, noise: float = 0.0, runs: dict[str, History] | None = None) -> str:
    """The paper's three comparisons of Table 4, each checked against our numbers (a difference within `noise`,
    the seed spread of the reference, or within either row's own spread, separates nothing); with the table's
    `runs`, each comparison also gives its same-seed differences."""
    groups = by_variant(runs or {})
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
        seeds = _seed_counts(table.loc[better, "seeds"], table.loc[worse, "seeds"])
        row_noise = max(noise, table.loc[better, "S1 spread"], table.loc[worse, "S1 spread"])
        agree = (f"not separated: within the seed spread of {row_noise:.2f}" if abs(ours) <= max(row_noise, 0.05) else
                 f"confirmed: the paper's sign, beyond the seed spread of {row_noise:.2f}" if (ours > 0) == (paper > 0)
                 else f"refuted: the opposite sign to the paper's, beyond the seed spread of {row_noise:.2f}")
        lines.append(f"- {what}: paper {paper:+.2f} points (VOC), ours {ours:+.2f} points ({seeds}) — {agree}."
                     + same_seed_text(groups.get(better, []), groups.get(worse, [])))
    extra = table[table["paper VOC"].isna() & table["ours S1 (%)"].notna()]
    for name in extra.index:
        lines.append(f"- {name} ({extra.loc[name, 'ours S1 (%)']:.2f}) was recorded but is not a row of the paper's "
                     "Table 4, whose first row is L_gps alone (gps1-cps0-fps0).")
    ours = table["ours S1 (%)"].dropna()
    if len(ours):
        best = ours.astype(float).idxmax()
        n = int(table.loc[best, "seeds"])
        lines.append(f"- best of our {len(ours)} recorded rows: {best} ({ours[best]:.2f}, {n} seed{'s' if n > 1 else ''}"
                     f"{'' if n == table.loc[ours.index, 'seeds'].max() else ', fewer than other rows'}); "
                     f"the paper's best is gps1-cps1-fps1.")
    return "\n".join(lines)


def update_text(runs: dict[str, History], epochs: float = 1.0, noise: float = 0.0) -> str:
    """Fig. 6's claim (L_fps falls faster with the two-step update), checked on the recorded runs: the mean L_fps of
    each run over the first quarter of the window (the fall) and over its last quarter (where it settles), pooled
    over seeds and judged against the seeds' spread of those means (or 2 % of the level, whichever is larger), then
    merged minus two-step seed by seed (free of the labeled split each seed draws), then the final S1."""
    groups = {name: [h for h in seeds if "fps" in h.frame("iterations")] for name, seeds in by_variant(runs).items()}
    if not (groups.get("two_step") and groups.get("merged")):
        return "Two-step vs merged: both runs are needed and at least one is not recorded yet."
    lines = [f"Mean L_fps in the first {epochs:g} epoch(s):"]
    for quarter, label in ((0, "first quarter (the fall)"), (-1, "last quarter (settled)")):
        fps = {h: fps_quarter(h, epochs, quarter) for name in ("two_step", "merged") for h in groups[name]}
        means = {name: [fps[h] for h in groups[name]] for name in ("two_step", "merged")}
        gap = float(np.mean(means["merged"]) - np.mean(means["two_step"]))
        tolerance = max(spread(means["two_step"]), spread(means["merged"]),
                        0.02 * max(np.mean(v) for v in means.values()))
        finding = ("not separated from the merged update's" if abs(gap) <= tolerance
                   else "lower, as in Fig. 6b" if gap > 0 else "higher, unlike Fig. 6b")
        gaps = same_seed_gaps(groups["merged"], groups["two_step"], fps.get)
        lower = f" Two-step's is lower in {sum(g > 0 for g in gaps.values())} of {len(gaps)} seeds." if gaps else ""
        lines.append(f"- {label}: two-step {_stat(means['two_step'], 3)}, merged {_stat(means['merged'], 3)} — "
                     f"two-step's L_fps is {finding} (tolerance {tolerance:.3f})."
                     + gaps_text(gaps, "Merged minus two-step, same seed", digits=3) + lower)
    return "\n".join(lines + [compare_runs(groups["two_step"], groups["merged"], noise,
                                           "Final S1 mIoU, two-step >= merged")])


def fps_quarter(history: History, epochs: float = 1.0, quarter: int = 0) -> float:
    """A run's mean L_fps over one quarter (0: the first, -1: the last) of its first `epochs` epochs."""
    return float(np.array_split(fps_flow({"run": history}, epochs)["L_fps"].to_numpy(), 4)[quarter].mean())


def rampup_text(runs: dict[str, History], noise: float = 0.0, others=("fixed", "none", "rampdown")) -> str:
    """Section 3.3 / 4.4.3 claims checked: the adaptive ramp-up beats each of `others` (the alternatives and the
    ramp-down), then where the adaptive runs latched and whether the latch changed w at all."""
    lines, groups = [], by_variant(runs)
    for other in others:
        claim = f"adaptive >= {other}"
        if "adaptive" in groups and other in groups:
            lines.append(compare_runs(groups["adaptive"], groups[other], noise, claim))
        else:
            lines.append(f"{claim}: cannot be checked yet, "
                         f"{' and '.join(n for n in ('adaptive', other) if n not in groups)} not recorded.")
    adaptive = {n: h for n, h in runs.items() if h.config.get("rampup") == "adaptive"}
    if adaptive:
        lines.append("Latch epoch: " + ", ".join(f"{n} {h.latch.get('latched_epoch') or 'never'}"
                                                 for n, h in adaptive.items()) + ".")
        raised = {n: epochs for n, h in adaptive.items() if (epochs := latch_raised_epochs(h))}
        twins = identical_seeds(groups.get("adaptive", []), groups.get("fixed", []))
        lines.append("Epochs in which the latch raised w above the fixed ramp-up: " + (
            ", ".join(f"{n} {epochs}" for n, epochs in raised.items()) + "." if raised else
            "none, since eq. 9 with r = E gives w = 1 in the last epoch too: at this E the adaptive and fixed "
            "ramp-ups are the same training" + (
                f"; the fixed runs' evaluations equal the adaptive ones' to the last digit ({seeds_text(twins)})."
                if twins else
                " (their same-seed difference is above).")))
    return "\n".join(lines)


def identical_seeds(a: list[History], b: list[History]) -> list[int]:
    """The seeds at which two variants recorded the very same evaluations: one training, run twice (training on a
    CPU is deterministic given the seed)."""
    evals_of = {h.config.get("seed"): h.evals for h in b}
    return sorted(seed for h in a if (seed := h.config.get("seed")) in evals_of and h.evals == evals_of[seed])


def label_gap_text(search: pd.DataFrame, target: float = 15.0) -> str:
    """For every SupOnly setting searched with all labels and with 1/8, the room left for semi-supervision.

    A pair is two rows of the search table named sup-1-<setting> and sup-1_8-<setting>.
    """
    lines = []
    for run in search.index:
        if not run.startswith("sup-1-"):
            continue
        few = "sup-1_8-" + run[len("sup-1-"):]
        if few not in search.index:
            continue
        full, part = search.loc[run], search.loc[few]
        gap = full["S1 mIoU (%)"] - part["S1 mIoU (%)"]
        lines.append(f"{run[len('sup-1-'):]} ({full['backbone']}, encoder {full['encoder']}): all labels "
                     f"{full['S1 mIoU (%)']:.1f}, 1/8 {part['S1 mIoU (%)']:.1f} (lowest digit "
                     f"{part['lowest digit IoU (%)']:.1f}), gap {gap:.1f} points: "
                     + ("meets" if gap >= target else "misses") + f" the {target:g}-point target.")
    return "\n".join(lines) or "No SupOnly pair (all labels and 1/8) is recorded in the search."
