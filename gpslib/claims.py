"""The sentences that state the book's claims, each computed from recorded numbers (never written by hand).

`verdict` is the one rule: is values[k0] >= values[k1] >= ... ? Every claim of the training, ablation and
results chapters is a call to it, or a sentence about the latch or the classes a run learned.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .history import History
from .tables import METHOD_LABELS, ROLE_LABELS, fps_flow, miou_at, roles_of, student_miou


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
                else "confirms" if g - c >= FAR_AHEAD else f"puts GPS ahead by less than {FAR_AHEAD:g} points, "
                "which does not confirm" if g > c else "refutes")
        lines.append(f"{partition}: after epoch {epoch:g}, S1 mIoU GPS {g:.2f} vs CPS {c:.2f}{s} "
                     f"(GPS {g - c:+.2f} points) — {word} the expectation; at the end GPS {student_miou(gps):.2f} "
                     f"vs CPS {student_miou(cps):.2f}.")
    return "\n".join(lines) if lines else "No recorded runs to compare."


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


def headline(main_runs: dict[str, History], partitions=("1/8", "1/16")) -> str:
    """The paper's ordering GPS >= CPS >= SupOnly (final S1 mIoU, mean over the recorded seeds), per partition."""
    lines = []
    for partition in partitions:
        values, spread = {}, []
        for method, label in METHOD_LABELS.items():
            scores = [student_miou(h) for h in main_runs.values()
                      if h.config.get("method") == method and str(h.config.get("partition")) == partition]
            values[label] = float(np.mean(scores)) if scores else math.nan
            if len(scores) > 1:
                spread.append(f"{label} {len(scores)} seeds, {min(scores):.2f}-{max(scores):.2f}")
        lines.append(verdict(values, f"GPS >= CPS >= SupOnly at {partition}")
                     + (f" Range over seeds: {'; '.join(spread)}." if spread else ""))
    return "\n".join(lines)


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
