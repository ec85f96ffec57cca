"""tables, claims and figures on synthetic histories: tables have the right rows and values, verdicts follow the numbers."""
from __future__ import annotations

import dataclasses
import math

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

from gpslib import parameters
from gpslib.book import claims, experiments, figures, tables  # noqa: E402
from gpslib.config import make_config  # noqa: E402
from gpslib.errors import GpslibError  # noqa: E402
from gpslib.history import History  # noqa: E402


def make_history(method="gps", partition="1/8", final=0.5, first=None, epochs=3, ipe=4, latch=2, rampup="adaptive",
                 fps_level=1.0, **config):
    """A small but complete history: phase a, iterations with every logged term, one eval per epoch."""
    roles = {"gps": ("teacher", "student1", "student2"), "cps": ("student1", "student2"),
             "supervised": ("student1",)}[method]
    h = History({"dataset": "digits", "partition": partition, "method": method, "epochs": epochs, "rampup": rampup,
                 "backbone": "resnet18", "batch_labeled": 8, "batch_unlabeled": 8, "pseudo_eval_images": 8,
                 **config},
                {"device": "cpu", "iters_per_epoch": ipe, "max_iter": epochs * ipe, "git_commit": "abc1234",
                 "teacher_iters": 6 if method == "gps" else 0, "wall_time_s": 120.0,
                 "command": f"papermill book/train.ipynb out.ipynb -p method {method}"})
    if method == "gps":
        h.teacher = [{"iteration": i, "sup_t": 2.0 / (i + 1), "lr_teacher": 0.01} for i in range(6)]
        h.meta["rampup"] = {"r": latch if latch else epochs, "latched_epoch": latch,
                            "latched_iteration": latch * ipe - 1 if latch else None}
    for i in range(epochs * ipe):
        e = i // ipe + 1
        row = {"iteration": i, "epoch": e, "lr_students": 0.01}
        if method == "gps":
            w = 1.0 if latch and e > latch else math.exp(-(1 - e / epochs) ** 2)
            row.update(w=w, r=epochs, alpha_scale=1.0, lr_teacher=1e-4, sup_s=1.0 / (i + 1), gps=0.5, cps=0.4,
                       guide=1.5, sup_t=0.3, fps=fps_level / (i + 1), feedback=0.4)
        elif method == "cps":
            row.update(sup_s=1.0, cps=0.5, guide=1.5)
        else:
            row.update(sup=1.0 / (i + 1))
        h.iterations.append(row)
    for k in range(epochs + 1):
        value = final * k / epochs if first is None or k != 1 else first
        ev = {"iteration": k * ipe, "epoch": float(k)}
        for role in roles:
            ev[f"miou_{role}"] = value * (0.9 if role == "teacher" else 1.0)
            ev[f"iou_{role}"] = [value] * 3
        if method == "gps":
            ev.update(acc_teacher=0.8, acc_students=0.7 + 0.05 * k, agreement=0.9)
        h.evals.append(ev)
    return h


def test_describe_run_names_dataset_partition_iterations_device():
    text = tables.describe_run(make_history())
    for part in ("digits", "1/8", "GPS", "12 it", "cpu", "6 phase-a"):
        assert part in text


def test_final_and_per_class_tables():
    h = make_history(final=0.6)
    assert list(tables.final_miou(h).index) == ["T", "S1", "S2"]
    assert tables.final_miou(h).loc["S1", "mIoU (%)"] == pytest.approx(60.0)
    table = tables.per_class_table(h, ["bg", "a", "b"])
    assert list(table.index) == ["bg", "a", "b", "mIoU"]
    assert list(table.columns) == ["T", "S1", "S2"]
    assert table.loc["mIoU", "T"] == pytest.approx(54.0)
    # supervised runs have one network only
    assert list(tables.per_class_table(make_history("supervised"), ["bg", "a", "b"]).columns) == ["S1"]


def test_loss_frame_has_phase_a_and_every_term():
    frame = tables.loss_frame(make_history())
    assert set(frame["phase"]) == {"a: teacher alone", "b/c: main loop"}
    assert {"sup_s", "gps", "cps", "sup_t", "fps", "guide", "feedback"} <= set(frame["term"])
    assert len(frame[frame["phase"] == "a: teacher alone"]) == 6


def test_figures_are_returned_closed_and_titled():
    import matplotlib.pyplot as plt
    h = make_history()
    for fig in (figures.plot_losses(h), figures.latch_plot(h, smooth_window=None), figures.plot_pseudo_label_accuracy(h),
                figures.plot_miou_curves({"a": h, "b": make_history("cps")}),
                figures.plot_miou_curves({"literal": h, "larger": make_history(), "larger-s1": h}, by="variant"),
                figures.plot_fps_flow({"two_step": h, "merged": make_history(fps_level=2.0)}),
                figures.plot_rampup_variants({"adaptive": h})):
        assert fig._suptitle is not None and "digits" in fig._suptitle.get_text() and "cpu" in fig._suptitle.get_text()
        assert not plt.fignum_exists(fig.number)
        assert smallest_rendered_font(fig) >= figures.style.MIN_FONT_PT
    assert figures.latch_plot(make_history("cps")) is not None
    by_variant = figures.plot_miou_curves({"literal": h, "larger": make_history(), "larger-s1": h}, by="variant")
    labels = [t.get_text() for t in by_variant.legends[0].get_texts()]
    assert {"literal", "larger"} <= set(labels) and "larger-s1" not in labels     # seeds share their variant's line


def smallest_rendered_font(fig) -> float:
    """The smallest font (pt) of a drawn figure once the book shrinks it to the page width."""
    from matplotlib.text import Text
    fig.canvas.draw()                      # tick labels exist only once drawn
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text() and t.get_visible()]
    return min(sizes) * min(1.0, figures.style.PAGE_WIDTH_IN / fig.get_figwidth())


def test_method_figures_are_legible_at_the_page_width():
    from gpslib.book import explain
    for fig in (figures.gps_diagram(), figures.rampup_curves(explain.rampup_schedules(4, latch_epoch=3))):
        assert smallest_rendered_font(fig) >= figures.style.MIN_FONT_PT


def test_a_run_without_hidden_masks_says_so_instead_of_an_empty_plot():
    h = make_history()
    for ev in h.evals:                       # a folder run: unlabeled images have no masks to score against
        for key in ("acc_teacher", "acc_students", "agreement"):
            ev.pop(key)
    fig = figures.plot_pseudo_label_accuracy(h)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("no hidden masks" in t for t in texts) and not any(ax.lines for ax in fig.axes)


def test_latch_text_states_each_case():
    assert "fired at the end of epoch 2 (iteration 7)" in claims.latch_text(make_history())
    assert "did not fire" in claims.latch_text(make_history(latch=None))
    assert "no latch by design" in claims.latch_text(make_history(rampup="fixed"))
    assert claims.latch_text(make_history("cps")).startswith("No teacher")


def test_summary_table_rows_and_values():
    results = {"main": {"gps-1_8": make_history(final=0.5), "cps-1_8": make_history("cps", final=0.4)}}
    table = tables.summary_table(results)
    assert list(table["run"]) == ["gps-1_8", "cps-1_8"]
    assert table.loc[0, "S1 mIoU (%)"] == pytest.approx(50.0)
    assert table.loc[0, "latch epoch"] == 2 and pd_isna(table.loc[1, "T mIoU (%)"])
    assert table.loc[0, "iterations"] == 6 + 12 and table.loc[0, "wall (min)"] == 2.0
    assert tables.summary_table({}).empty


def pd_isna(value):
    import pandas as pd
    return pd.isna(value)


def test_flow_verdict_reads_the_first_epoch():
    runs = {"gps": make_history(final=0.5, first=0.4), "cps": make_history("cps", final=0.5, first=0.05)}
    text = claims.flow_verdict(runs)
    assert "GPS 40.00 vs CPS 5.00" in text and "confirms" in text and "teacher starts the main loop at 0.00" in text
    runs["cps"] = make_history("cps", final=0.5, first=0.35)
    assert "ahead by less than 10 points, which does not confirm" in claims.flow_verdict(runs)
    runs["cps"] = make_history("cps", final=0.5, first=0.45)
    assert "refutes" in claims.flow_verdict(runs)
    runs["gps-s1"] = make_history(final=0.5, first=0.6)     # seeds are averaged: GPS 50 vs CPS 45
    assert "GPS 50.00 (40.00-60.00, 2 seeds) vs CPS 45.00" in claims.flow_verdict(runs)


def test_table4_places_runs_next_to_the_paper():
    runs = {"gps1-cps1-fps1": make_history(final=0.6), "gps1-cps1-fps0": make_history(final=0.55, use_fps=False)}
    table = tables.table4(runs)
    assert len(table) == 6 and table.loc["gps1-cps1-fps1", "paper VOC"] == 73.95
    assert table.loc["gps1-cps1-fps1", "ours S1 (%)"] == 60.0
    assert table["ours S1 (%)"].isna().sum() == 4
    extra = tables.table4({"gps0-cps0-fps0": make_history(final=0.3)})
    assert len(extra) == 7 and extra.index[-1] == "gps0-cps0-fps0" and pd_isna(extra.iloc[-1]["paper VOC"])
    assert extra.loc["gps1-cps0-fps0", "L_gps"] == "✓" and extra.loc["gps0-cps0-fps0", "L_gps"] == "–"
    assert "gps0-cps0-fps0 (30.00) was recorded but is not a row" in claims.table4_text(extra)
    text = claims.table4_text(table)
    assert ("adding L_fps to L_gps + L_cps: paper +1.23 points (VOC), ours +5.00 points (1 vs 1 seed) — confirmed: "
            "the paper's sign, beyond the seed") in text
    flipped = tables.table4({**runs, "gps1-cps1-fps0": make_history(final=0.7, use_fps=False)})
    assert "ours -10.00 points (1 vs 1 seed) — refuted: the opposite sign to the paper's, beyond the" \
           " seed spread of 2.00." in claims.table4_text(flipped, noise=2.0)
    assert "not recorded yet" in text and "best of our 2 recorded rows: gps1-cps1-fps1 (60.00, 1 seed);" in text
    tied = tables.table4({"gps1-cps1-fps1": make_history(final=0.3), "gps1-cps1-fps0": make_history(final=0.3)})
    assert "ours +0.00 points (1 vs 1 seed) — not separated: within the seed spread of 0.00" in claims.table4_text(tied)
    assert "ours +5.00 points (1 vs 1 seed) — not separated" in claims.table4_text(table, noise=6.0)
    # seeds of a row are averaged, and their own spread counts as noise
    seeded = tables.table4({**runs, "gps1-cps1-fps0-s1": make_history(final=0.61, use_fps=False)})
    assert seeded.loc["gps1-cps1-fps0", "ours S1 (%)"] == 58.0 and seeded.loc["gps1-cps1-fps0", "seeds"] == 2
    assert seeded.loc["gps1-cps1-fps0", "S1 spread"] == 6.0 and len(seeded) == 6
    assert "ours +2.00 points (1 vs 2 seeds) — not separated: within the seed spread of 6.00" in claims.table4_text(seeded)
    assert "recorded rows: gps1-cps1-fps1 (60.00, 1 seed, fewer than other rows);" in claims.table4_text(seeded)


def test_update_and_rampup_texts():
    runs = {"two_step": make_history(final=0.6), "merged": make_history(final=0.5, fps_level=3.0)}
    text = claims.update_text(runs)
    assert text.count("is lower, as in Fig. 6b") == 2 and "confirmed" in text
    close = {"two_step": make_history(final=0.6), "merged": make_history(final=0.6)}   # same L_fps level
    assert claims.update_text(close).count("not separated from the merged update's (tolerance") == 2
    # seeds whose L_fps levels differ more than the two updates do separate nothing
    seeds = {**runs, "two_step-s1": make_history(final=0.6, fps_level=5.0)}
    assert claims.update_text(seeds).count("not separated from the merged update's") == 2
    assert "not recorded" in claims.update_text({"two_step": runs["two_step"]})
    # seeds far apart hide a gap that every seed shows: the same-seed differences bring it out
    paired = {"two_step": make_history(fps_level=1.0, seed=0), "two_step-s1": make_history(fps_level=5.0, seed=1),
              "merged": make_history(fps_level=1.2, seed=0), "merged-s1": make_history(fps_level=5.5, seed=1)}
    first = claims.update_text(paired).splitlines()[1]     # first quarter: iteration 0, L_fps = fps_level
    assert "not separated from the merged update's" in first
    assert first.endswith("Merged minus two-step, same seed: +0.200, +0.500 (seeds 0, 1). "
                          "Two-step's is lower in 2 of 2 seeds.")
    assert claims.fps_quarter(paired["merged-s1"], quarter=-1) == pytest.approx(5.5 / 4)
    text = claims.rampup_text({"adaptive": make_history(final=0.6), "none": make_history(final=0.7, rampup="none")})
    assert "adaptive >= none: refuted (-10.00 points, 1 vs 1 seed; seed spread 0.00)" in text
    assert "adaptive >= fixed: cannot be checked yet, fixed not recorded" in text
    noisy = claims.rampup_text({"adaptive": make_history(final=0.6), "none": make_history(final=0.61, rampup="none")},
                               noise=2.0)
    assert "adaptive >= none: not separated (-1.00 points, 1 vs 1 seed, within the seed spread of 2.00)" in noisy
    assert claims.compare([3.0], [0.0], 1.0, "x") == "x: confirmed (+3.00 points, 1 vs 1 seed; seed spread 1.00)."
    # seeds are averaged and their own spread is noise too: 61 +- 2 vs 60 is not separated, 66/65 vs 60 is
    assert "not separated (+1.00 points, 2 vs 1 seeds, within the seed spread of 4.00)" in claims.compare(
        [59.0, 63.0], [60.0], 1.0, "x")
    assert claims.compare([66.0, 65.0], [60.0], 1.0, "x").startswith("x: confirmed (+5.50 points, 2 vs 1 seeds")
    # a latch at E - 1 raises w nowhere: adaptive and fixed are one training, and equal evaluations show it
    late = {"adaptive": make_history(latch=3, epochs=4, seed=0), "adaptive-s1": make_history(latch=3, epochs=4, seed=1),
            "fixed": make_history(epochs=4, rampup="fixed", seed=0),
            "fixed-s1": make_history(final=0.4, epochs=4, rampup="fixed", seed=1)}
    assert claims.rampup_text(late).endswith("ramp-ups are the same training; the fixed runs' evaluations equal the "
                                             "adaptive ones' to the last digit (seed 0).")
    assert claims.identical_seeds(tables.by_variant(late)["adaptive"], tables.by_variant(late)["fixed"]) == [0]
    late.pop("fixed")
    assert claims.rampup_text(late).endswith("the same training (their same-seed difference is above).")
    seeded = {"adaptive": make_history(final=0.6), "adaptive-s1": make_history(final=0.64),
              "none": make_history(final=0.5, rampup="none")}
    assert "adaptive >= none: confirmed (+12.00 points, 2 vs 1 seeds; seed spread 4.00)" in claims.rampup_text(seeded)
    two = {"two_step": make_history(final=0.6), "two_step-s1": make_history(final=0.62),
           "merged": make_history(final=0.5, fps_level=3.0)}
    assert "two-step >= merged: confirmed (+11.00 points, 2 vs 1 seeds; seed spread 2.00)" in claims.update_text(two)
    seeds = {"a": make_history(final=0.6), "b": make_history(final=0.63), "c": make_history("cps", final=0.1)}
    assert claims.seed_noise(seeds) == pytest.approx(3.0) and claims.seed_noise(seeds, "cps") == 0.0
    seeds["c-s1"] = make_history("cps", final=0.15)
    assert claims.seed_noise(seeds, None) == pytest.approx(5.0)       # the largest of GPS's 3 and CPS's 5


def test_missing_text_and_commands():
    assert "Not recorded yet in 'main': b" in experiments.missing_text("main", ["a", "b"], {"a": 1})
    assert "All 2 runs" in experiments.missing_text("main", ["a", "b"], {"a": 1, "b": 2})
    assert "papermill" in tables.commands_table({"x": make_history()}).loc["x", "command"]


def test_config_from_parameters_coerces_text_and_keeps_presets():
    cfg = parameters.config_from_parameters(dict(dataset="digits", partition="1/8", epochs="none", lr=0.02,
                                                 teacher_lr="none", use_fps="false", val_limit=None, threads=1))
    assert cfg.epochs == parameters.configure("digits", "1/8").epochs and cfg.lr == 0.02 and cfg.teacher_lr is None and cfg.use_fps is False
    with pytest.raises(GpslibError, match="Partition"):
        parameters.config_from_parameters({"dataset": "digits", "partition": "3/2"})
    with pytest.raises(GpslibError, match="method"):
        parameters.config_from_parameters({"dataset": "digits", "partition": "1/8", "method": "gsp"})
    assert parameters.parse_flag("resume", "true") is True and parameters.parse_flag("resume", False) is False
    with pytest.raises(GpslibError):
        parameters.parse_flag("resume", "maybe")


def test_headline_checks_gps_lead_over_each_method_against_the_targets():
    runs = {"gps-1_8": make_history(final=0.6), "cps-1_8": make_history("cps", final=0.5),
            "supervised-1_8": make_history("supervised", final=0.55)}
    text = claims.headline(runs).splitlines()
    assert text[0] == "1/8: final S1 mIoU GPS 60.00, CPS 50.00, SupOnly 55.00."
    assert "GPS - SupOnly = +5.00 points (target >= 8; one seed each" in text[1] and "not confirmed" in text[1]
    assert "GPS - CPS = +10.00 points" in text[2] and text[2].endswith(": confirmed.")
    assert "cannot be checked" in text[3]
    partial = claims.headline({"gps-1_8": make_history(final=0.6), "supervised-1_8": make_history("supervised",
                                                                                                  final=0.5)}, ("1/8",))
    assert partial.splitlines() == ["1/8: final S1 mIoU GPS 60.00, SupOnly 50.00 (CPS not recorded).",
                                    "  GPS - SupOnly = +10.00 points (target >= 8; one seed each, no spread to judge "
                                    "against): confirmed."]
    assert "(target >= 8; seed spread 12.00 of the main runs): not separated" in claims.headline(
        {"gps-1_8": make_history(final=0.6), "supervised-1_8": make_history("supervised", final=0.5)}, ("1/8",), 12.0)
    # two more seeds: means and spreads; a lead inside the seeds' spread is "not separated"
    runs.update({"gps-1_8-s1": make_history(final=0.50), "cps-1_8-s1": make_history("cps", final=0.58)})
    text = claims.headline(runs).splitlines()
    assert "GPS 55.00 (50.00-60.00, 2 seeds)" in text[0]
    assert "GPS - CPS = +1.00 points (target >= 1; seed spread 10.00): not separated" in text[2]
    assert "refuted" in claims.lead_verdict([40.0], [50.0], "SupOnly", 8.0)
    assert "not confirmed (GPS is ahead beyond the seeds' spread, but by less than the 8-point target)" in (
        claims.lead_verdict([66.0, 69.0], [62.0, 65.0], "SupOnly", 8.0))


def test_room_text_compares_full_supervision_with_the_target():
    search = pd.DataFrame({"S1 mIoU (%)": [79.6]}, index=["sup-1-r10t-digits"])
    runs = {"supervised-1_8": make_history("supervised", final=0.72), "s1": make_history("supervised", final=0.74)}
    text = claims.room_text(search, runs)
    assert "at most about 6.6 points" in text and "out of reach" in text
    assert claims.room_text(search, {"s": make_history("supervised", final=0.6)}).endswith(
        "at most about 19.6 points here: meeting the 8-point target means GPS ending within 11.6 points of full "
        "supervision.")
    assert "cannot be computed" in claims.room_text(search, {})


def test_latch_claim_counts_runs_that_latched_before_the_last_epoch():
    runs = {"gps-1_8": make_history(latch=2), "gps-1_8-s1": make_history(latch=None), "cps-1_8": make_history("cps")}
    table = claims.latch_summary(runs)
    assert list(table.index) == ["gps-1_8", "gps-1_8-s1"] and table.loc["gps-1_8", "latch epoch"] == 2
    assert table.loc["gps-1_8", "last epoch: L^t_sup"] == 0.3        # make_history logs sup_t = 0.3
    text = claims.latch_claim(runs)
    assert text.startswith("The adaptive ramp-up latched before the last epoch in 1 of 2 GPS runs at 1/8: not confirmed")
    assert "never fired" in text
    # latched at E - 1 = 2 of 3: eq. 9 with r = E gives w(3) = 1 too, so the latch changed nothing
    assert "confirmed. In that run it fired at epoch E - 1 or later" in claims.latch_claim(
        {"gps-1_8": make_history(latch=2)})
    assert claims.latch_claim({"gps-1_8": make_history(latch=1)}).endswith("confirmed.")
    assert "No GPS run" in claims.latch_claim(runs, partition="1/16")


def test_latch_raised_epochs_are_those_between_the_latch_and_the_last():
    assert claims.latch_raised_epochs(make_history(latch=1, epochs=4)) == [2, 3]
    assert claims.latch_raised_epochs(make_history(latch=3, epochs=4)) == []
    assert claims.latch_raised_epochs(make_history(latch=None, epochs=4)) == []
    assert claims.latch_summary({"gps-1_8": make_history(latch=1, epochs=4)}).loc["gps-1_8", "epochs w raised"] == 2
    late = claims.rampup_text({"adaptive": make_history(latch=2), "fixed": make_history(rampup="fixed", latch=None)})
    assert "raised w above the fixed ramp-up: none, since eq. 9 with r = E" in late
    early = claims.rampup_text({"adaptive": make_history(latch=1, epochs=4)})
    assert "raised w above the fixed ramp-up: adaptive [2, 3]." in early
    only_fixed = claims.rampup_text({"adaptive": make_history(latch=1, epochs=4)}, others=("fixed",))
    assert only_fixed.startswith("adaptive >= fixed: cannot be checked yet")
    assert len(only_fixed.split("\n")) == 3          # one comparison, the latch epoch, the epochs it raised w


def test_same_seed_differences_pair_runs_by_their_seed():
    gps = [make_history(final=0.60, seed=0), make_history(final=0.70, seed=1), make_history(final=0.65, seed=2)]
    sup = [make_history("supervised", final=0.58, seed=0), make_history("supervised", final=0.71, seed=1)]
    assert claims.same_seed_gaps(gps, sup) == pytest.approx({0: 2.0, 1: -1.0})     # seed 2 has no partner
    assert claims.same_seed_text(gps, sup) == " Same seed: +2.00, -1.00 (seeds 0, 1)."
    assert claims.same_seed_text(gps[:1], sup) == " Same seed: +2.00 (seed 0)."
    assert claims.same_seed_text(gps, [make_history(final=0.5)]) == ""               # no seed recorded: no pair
    assert claims.compare_runs(gps[:1], sup[:1], 5.0, "x") == (
        "x: not separated (+2.00 points, 1 vs 1 seed, within the seed spread of 5.00). Same seed: +2.00 (seed 0).")
    runs = {"gps-1_8": gps[0], "gps-1_8-s1": gps[1], "supervised-1_8": sup[0], "supervised-1_8-s1": sup[1]}
    assert "Same seed: +2.00, -1.00 (seeds 0, 1)." in claims.headline(runs, ("1/8",)).splitlines()[1]
    flow = {"gps-1_8": make_history(final=0.6, first=0.5, seed=0), "cps-1_8": make_history("cps", first=0.3, seed=0)}
    assert claims.flow_verdict(flow).endswith("GPS - CPS after epoch 1, same seed: +20.00 (seed 0).")
    t4 = {"gps1-cps1-fps1": make_history(final=0.6, seed=0), "gps1-cps1-fps0": make_history(final=0.55, seed=0)}
    assert claims.table4_text(tables.table4(t4), 0.0, t4).splitlines()[0].endswith("Same seed: +5.00 (seed 0).")


def test_teacher_lr_text_reports_how_far_the_teacher_moved():
    text = claims.teacher_lr_text({"literal": make_history(final=0.5), "cps": make_history("cps")})
    # make_history: teacher mIoU is 0.9 x the epoch's value, 0 at epoch 0 and 45 % at the end; lr_teacher 1e-4
    assert text == "literal: teacher lr 1.0e-04 after phase a; T mIoU 0.00 -> 45.00 (+45.00 points) over the main loop; final S1 50.00."
    pair = claims.teacher_lr_text({"literal": make_history(final=0.5), "literal-s1": make_history(final=0.6),
                                   "larger": make_history(final=0.7)})
    assert pair.splitlines()[3] == ("Per teacher lr, over its seeds: T moved literal 49.50 (45.00-54.00, 2 seeds) "
                                    "points, larger 63.00 points; final S1 literal 55.00 (50.00-60.00, 2 seeds), "
                                    "larger 70.00.")
    with_seeds = {"literal": make_history(final=0.5, seed=0), "larger": make_history(final=0.7, seed=0),
                  "literal-s1": make_history(final=0.6, seed=1), "larger-s1": make_history(final=0.7, seed=1)}
    # T moves 0.9 x final: larger +63, +63 against literal +45, +54 (spread 9); S1 +20, +10 against a spread of 15
    assert claims.teacher_lr_text(with_seeds, noise=15.0).splitlines()[-2:] == [
        "the larger lr moves T further: confirmed (+13.50 points, 2 vs 2 seeds; seed spread 9.00). "
        "Same seed: +18.00, +9.00 (seeds 0, 1).",
        "the larger lr lifts S1: not separated (+15.00 points, 2 vs 2 seeds, within the seed spread of 15.00). "
        "Same seed: +20.00, +10.00 (seeds 0, 1)."]
    # per variant over its seeds; a run without a teacher has nothing to report
    assert claims.teacher_moved({"gps1-cps1-fps1": make_history(final=0.5), "gps1-cps1-fps1-s1": make_history(final=0.6),
                                 "cps": make_history("cps")}) == "gps1-cps1-fps1 49.50 (45.00-54.00, 2 seeds) points"


def test_budget_table_compares_the_book_with_the_paper():
    from gpslib.config import make_config
    table = tables.budget_table()
    preset = make_config("digits", "1/8")   # 1/8 of 2,000 train scenes: 1,750 unlabeled, 218 batches of 8 per epoch
    assert table.iloc[0]["main-loop iterations"] == preset.epochs * (1750 // 8)
    assert table.loc["paper: Pascal VOC 1/8", "main-loop iterations"] == 34 * 1157


def test_learned_text_flags_background_only_runs():
    h = make_history(final=0.5)
    assert "T 3/3, S1 3/3" in claims.learned_text(h, ["bg", "a", "b"])
    for role in ("teacher", "student1", "student2"):
        h.evals[-1][f"iou_{role}"] = [0.8, 0.0, 0.0]
    assert "No network segments anything but the background" in claims.learned_text(h, ["bg", "a", "b"])


def test_search_table_reads_each_recorded_search_run(tmp_path):
    (tmp_path / "search").mkdir()
    gps = make_history(final=0.6, encoder_weights="digits", pseudo_label_mode="train", alpha=0.5, beta=1.5,
                       cutmix=False)
    gps.meta.update(n_labeled=250, n_unlabeled=1750)
    gps.evals[-1]["iou_student1"] = [0.9, 0.4, 0.0]
    gps.save(tmp_path / "search" / "gps-a.json")
    sup = make_history("supervised", partition="1", final=0.7)
    sup.meta.update(n_labeled=2000, n_unlabeled=0)
    sup.save(tmp_path / "search" / "sup-b.json")
    table = tables.search_table(tmp_path)
    assert list(table.index) == ["gps-a", "sup-b"]
    row = table.loc["gps-a"]
    assert (row["method"], row["labeled"], row["train scenes"], row["encoder"]) == ("GPS", 250, 2000, "digits")
    assert row["iterations"] == 6 + 12 and row["S1 mIoU (%)"] == 60.0 and row["lowest digit IoU (%)"] == 0.0
    assert row["T mIoU (%)"] == 54.0 and row["pseudo-labels"] == "train" and row["S1 after epoch 1 (%)"] == 20.0
    assert row["α/β"] == "0.5/1.5" and row["CutMix"] == "no" and table.loc["sup-b", "α/β"] == ""
    assert table.loc["sup-b", "encoder"] == "random" and table.loc["sup-b", "train scenes"] == 2000


def test_label_gap_text_pairs_all_labels_with_one_eighth():
    import pandas as pd
    table = pd.DataFrame({"backbone": ["r", "r", "r"], "encoder": ["digits", "digits", "random"],
                          "S1 mIoU (%)": [80.0, 70.0, 60.0], "lowest digit IoU (%)": [50.0, 40.0, 1.0]},
                         index=["sup-1-x", "sup-1_8-x", "sup-1_8-y"])
    text = claims.label_gap_text(table)
    assert "gap 10.0 points: misses" in text and "-y" not in text
    table.loc["sup-1-x", "S1 mIoU (%)"] = 90.0
    assert "gap 20.0 points: meets" in claims.label_gap_text(table)


def test_recorded_experiments_share_the_reference_and_budget_rules(tmp_path):
    preset = parameters.configure("digits", "1/8")
    reference = tmp_path / "main" / "gps-1_8.json"
    for variant in (("update", "two_step"), ("rampup", "adaptive"), ("teacher_lr", "literal"),
                    ("table4", "gps1-cps1-fps1")):       # the same training as the reference: recorded once
        assert experiments.result_path(*variant, results_dir=tmp_path) == reference
    assert not preset.cutmix and all(not p["cutmix"] for p in experiments.EXPERIMENTS["table4"].values())
    # SupOnly trains phase a's epochs too; CPS has no phase a; seeds 1 and 2 get a suffix
    sup = experiments.parameters("main", "supervised-1_8-s2")
    assert sup["epochs"] == preset.epochs + preset.teacher_epochs and sup["seed"] == 2
    assert "teacher_epochs" not in experiments.parameters("main", "cps-1_8")
    assert experiments.parameters("longer", "supervised-1_8")["epochs"] == 8 + preset.teacher_epochs
    assert experiments.parameters("longer", "gps-1_8")["epochs"] == 8
    assert experiments.parameters("teacher_lr", "larger")["teacher_lr"] == 1e-4
    # every ablation variant has the main comparison's seeds; the reference's seeds are main's
    assert experiments.parameters("update", "merged-s2")["seed"] == 2
    assert experiments.result_path("rampup", "adaptive-s1", results_dir=tmp_path) == tmp_path / "main" / "gps-1_8-s1.json"
    assert experiments.variant_of("merged-s2") == "merged" and experiments.variant_of("gps-1_16") == "gps-1_16"
    assert "-p teacher_lr 0.0001" in experiments.papermill_command(experiments.parameters("teacher_lr", "larger"))


def test_a_run_read_under_another_name_is_the_very_same_training():
    def config(experiment, name):
        params = experiments.parameters(experiment, name)
        return make_config(params.pop("dataset"), params.pop("partition", "1/8"), **params)

    for alias, recorded in experiments.SAME_AS.items():
        assert alias[1] in experiments.EXPERIMENTS[alias[0]] and recorded[1] in experiments.EXPERIMENTS[recorded[0]]
        assert config(*alias) == config(*recorded), (alias, recorded)
    # the latch pair, seed by seed: the longer GPS run against the same training with a fixed ramp-up
    for seed, suffix in ((0, ""), (1, "-s1")):
        longer = ("longer", "gps-1_8" + suffix)
        assert experiments.result_path("latch", "adaptive" + suffix) == experiments.result_path(*longer)
        fixed, adaptive = config("latch", "fixed" + suffix), config(*longer)
        assert (fixed.rampup, adaptive.rampup, fixed.seed) == ("fixed", "adaptive", seed)
        assert dataclasses.replace(fixed, rampup="adaptive") == adaptive              # the pair differs in nothing else


def test_chapter_runs_reads_the_record_or_retrains_only_the_named_runs(tmp_path, monkeypatch, capsys):
    make_history(final=0.6).save(tmp_path / "rampup" / "none.json")
    runs = experiments.chapter_runs("rampup", tmp_path)
    assert set(runs) == {"none"} and "Not recorded yet in 'rampup': adaptive (seeds 0, 1, 2)" in capsys.readouterr().out
    calls = []
    monkeypatch.setattr(experiments, "rerun", lambda *args, **kw: calls.append((args, kw)) or {})
    experiments.chapter_runs("rampup", tmp_path, retrain=True, names="none,gps-1_8,fixed-s1", epochs=1, val_limit=None)
    assert calls == [(("rampup", ["none", "fixed-s1"]), {"epochs": 1})]     # other experiments' names are skipped


def test_catch_up_text_finds_the_epoch_where_cps_draws_level_on_shared_seeds():
    gps = make_history(final=0.6, seed=0)                                         # 20, 40, 60 after epochs 1-3
    overtakes = {"gps": gps, "cps": make_history("cps", final=0.9, first=0.1, seed=0)}   # 10, 60, 90
    assert claims.catch_up_text(overtakes) == ("1/8, E = 3: GPS - CPS after epochs 1-3 (same seed, seed 0): "
                                               "+10.0, -20.0, -30.0 points; CPS is level or ahead from epoch 2 on.")
    behind = {"gps": gps, "cps": make_history("cps", final=0.5, seed=0)}              # 16.7, 33.3, 50
    assert claims.catch_up_text(behind).endswith("+3.3, +6.7, +10.0 points; CPS has not caught up by epoch 3.")
    falls_back = {"gps": gps, "cps": make_history("cps", final=0.5, first=0.3, seed=0)}  # 30, 33.3, 50
    assert claims.catch_up_text(falls_back).endswith("CPS is first level or ahead at epoch 1.")
    # seeds are paired: a CPS run of another seed is not compared with GPS's
    assert claims.catch_up_text({"gps": gps, "cps-s1": make_history("cps", final=0.9, seed=1)}) == (
        "No seed has both GPS and CPS recorded.")


def test_decline_text_names_methods_whose_every_seed_ends_below_its_peak():
    falling = make_history("cps", partition="1/16", final=0.3, first=0.4)     # 40 after epoch 1, 30 at the end
    rising = make_history(partition="1/16", final=0.6)
    text = claims.decline_text({"cps": falling, "cps-s1": make_history("cps", partition="1/16", final=0.2, first=0.5),
                                "gps": rising})
    assert text == ("CPS 1/16: S1 peaks at 40.0 (epoch 1) and ends at 30.0 (-10.0), 50.0 (epoch 1) and ends at 20.0 "
                    "(-30.0) — every seed (2) ends below its own best.")
    mixed = {"cps": falling, "cps-s1": make_history("cps", partition="1/16", final=0.5)}
    assert claims.decline_text(mixed).startswith("No method ends more than 2 points below")


def test_last_epoch_text_gives_each_method_s_gain_in_its_final_epoch():
    runs = {"gps-1_8": make_history(final=0.6), "gps-1_8-s1": make_history(final=0.3),   # +20 and +10 per epoch
            "cps-1_8": make_history("cps", final=0.5, first=0.6, epochs=2)}             # 60 after epoch 1, then 50
    assert claims.last_epoch_text(runs) == "1/8: S1 mIoU gained in the last epoch: GPS +15.00, CPS -10.00 points."
