"""tables, claims and figures on synthetic histories: tables have the right rows and values, verdicts follow the numbers."""
from __future__ import annotations

import dataclasses
import math

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

from gpslib import parameters
from gpslib.book import claims, experiments, figures, say, tables  # noqa: E402
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


def test_budget_table_compares_the_book_with_the_paper():
    from gpslib.config import make_config
    table = tables.budget_table()
    preset = make_config("digits", "1/8")   # 1/8 of 2,000 train scenes: 1,750 unlabeled, 218 batches of 8 per epoch
    assert table.iloc[0]["main-loop iterations"] == preset.epochs * (1750 // 8)
    assert table.loc["paper: Pascal VOC 1/8", "main-loop iterations"] == 34 * 1157


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
    assert row["α/β"] == "0.5/1.5" and row["CutMix"] == "no" and table.loc["sup-b", "α/β"] == "–"
    assert table.loc["sup-b", "encoder"] == "random" and table.loc["sup-b", "train scenes"] == 2000


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


# ---------------------------------------------------------------- the paired interval and the verdicts
def seeded(method="gps", finals=(0.5,), **kw):
    """One run per seed 0, 1, ... of `method`, with the given final S1 mIoU (as fractions)."""
    return [make_history(method, final=final, seed=seed, **kw) for seed, final in enumerate(finals)]


def named(prefix, runs):
    """{'prefix': seed 0, 'prefix-s1': seed 1, ...}, as recorded runs are named."""
    return {prefix if i == 0 else f"{prefix}-s{i}": h for i, h in enumerate(runs)}


def test_paired_interval_is_the_t_interval_of_same_seed_differences():
    result = tables.paired_interval([1.0, 2.0, 3.0])
    half = 4.302653 / math.sqrt(3)                    # t(0.975, 2) x sd 1 / sqrt(3 pairs)
    assert (result.mean, result.n) == (2.0, 3)
    assert (result.low, result.high) == (pytest.approx(2 - half, abs=1e-5), pytest.approx(2 + half, abs=1e-5))
    assert result.text() == "+2.0 points (95 % CI -0.5 to 4.5, 3 seeds)" and result.short() == "+2.0 (-0.5 to 4.5)"
    assert claims.verdict(result) == "Not separated"                             # -0.48 to 4.48 contains 0
    assert claims.verdict(tables.paired_interval([3.0, 4.0, 5.0])) == "Confirmed"       # 0.52 to 5.48
    assert claims.verdict(tables.paired_interval({0: -3.0, 1: -4.0, 2: -5.0})) == "Refuted"
    two = tables.paired_interval([1.0, 3.0])          # t(0.975, 1) = 12.706, sd sqrt(2): 2 +- 12.706
    assert (two.low, two.high) == (pytest.approx(2 - 12.7062, abs=1e-4), pytest.approx(2 + 12.7062, abs=1e-4))
    one = tables.paired_interval([2.5])
    assert claims.verdict(one) == "Not separated" and one.text() == "+2.5 points (one seed: no interval)"
    assert one.short() == "+2.5 (one seed)" and tables.paired_interval([]).short() == "–"
    assert tables.signed(-0.04) == "+0.0" and tables.paired_interval([-0.01, 0.01]).short() == "+0.0 (-0.1 to 0.1)"
    assert claims.judged("x", tables.paired_interval([3.0, 4.0, 5.0]), evidence="why") == (
        "**Confirmed**: x, +4.0 points (95 % CI 1.5 to 6.5, 3 seeds); why.")


def test_same_seed_gaps_pair_runs_by_their_seed():
    gps = seeded(finals=(0.60, 0.70, 0.65))
    sup = seeded("supervised", (0.58, 0.71))
    assert tables.same_seed_gaps(gps, sup) == pytest.approx({0: 2.0, 1: -1.0})      # seed 2 has no partner
    assert tables.same_seed_gaps(gps, [make_history(final=0.5)]) == {}             # no seed recorded: no pair


def test_show_rounds_and_puts_a_dash_where_there_is_no_value():
    frame = pd.DataFrame({"a": [1.234, math.nan], "b": [None, "x"], "c": pd.array([2, None], dtype="Int64"),
                          "d": [True, False], "e": ["", "y"]}, index=["r1", "r2"])
    shown = tables.show(frame, {"a": 1})
    assert (shown.loc["r1", "a"], shown.loc["r2", "a"], shown.loc["r1", "b"]) == ("1.2", "–", "–")
    assert (shown.loc["r1", "c"], shown.loc["r2", "c"], shown.loc["r1", "d"], shown.loc["r1", "e"]) == (2, "–", "yes",
                                                                                                        "–")
    html = shown.to_html()
    assert not any(word in html for word in ("NaN", "&lt;NA&gt;", "None", "nan"))


# ---------------------------------------------------------------- the answer: methods x partitions
def main_runs():
    """1/8: GPS - SupOnly 10, 9, 11 (confirmed), GPS - CPS -1, 2, -2 (not separated: -0.3, 95 % CI -5.5 to 4.8), CPS - SupOnly 11, 7, 13
    (confirmed); 1/16: GPS and SupOnly with seed 0 only."""
    return {**named("gps-1_8", seeded("gps", (0.60, 0.62, 0.64))),
            **named("cps-1_8", seeded("cps", (0.61, 0.60, 0.66))),
            **named("supervised-1_8", seeded("supervised", (0.50, 0.53, 0.53))),
            "gps-1_16": make_history(partition="1/16", final=0.50, seed=0),
            "supervised-1_16": make_history("supervised", partition="1/16", final=0.55, seed=0)}


def test_method_table_gives_each_partition_the_same_seed_differences():
    table = tables.method_table(main_runs())
    assert list(table.index) == [("1/16", "GPS"), ("1/16", "SupOnly"), ("1/8", "GPS"), ("1/8", "CPS"),
                                 ("1/8", "SupOnly")]                # fewest labels first; CPS at 1/16 is absent
    gps = table.loc[("1/8", "GPS")]
    assert gps["S1 (%)"] == pytest.approx(62.0) and gps["range"] == "60.0-64.0"
    assert gps["vs SupOnly"] == "+10.0 (7.5 to 12.5)"               # 10 +- 4.303 x 1 / sqrt(3)
    assert gps["vs CPS"] == "-0.3 (-5.5 to 4.8)"                    # sd 2.08: -0.33 +- 5.17
    assert table.loc[("1/8", "CPS"), "vs CPS"] == "–" and table.loc[("1/16", "GPS"), "vs SupOnly"] == "-5.0 (one seed)"
    assert table.loc[("1/16", "GPS"), "range"] == "–"
    more = {**main_runs(), "gps-1_4": make_history(partition="1/4", seed=0)}   # a new partition is picked up
    assert tables.partitions_of(more) == ["1/16", "1/8", "1/4"]
    assert ("1/4", "GPS") in tables.method_table(more).index


def test_findings_and_headline_state_each_pair_by_its_interval():
    runs = main_runs()
    assert claims.findings(runs) == (
        "At 1/16, GPS is 5.0 points below SupOnly (one seed so far: no interval). At 1/8, GPS leads SupOnly by "
        "10.0 points (95 % CI 7.5 to 12.5) and is not separated from CPS (-0.3 points, 95 % CI -5.5 to 4.8). The paper's order GPS > CPS > SupOnly holds in full at no recorded "
        "partition.")
    lines = claims.headline(runs).splitlines()
    assert lines[0] == ("- **Not separated**: GPS − SupOnly at 1/16, -5.0 points (one seed: no interval); "
                        "paper +9.0 (VOC).")
    assert lines[1] == ("- **Confirmed**: GPS − SupOnly at 1/8, +10.0 points (95 % CI 7.5 to 12.5, 3 seeds); "
                        "paper +7.5 (VOC).")
    assert lines[3].startswith("- **Confirmed**: CPS − SupOnly at 1/8, +10.3 points (95 % CI 2.7 to 17.9, 3 seeds)")
    behind = named("cps-1_8", seeded("cps", (0.40, 0.41, 0.42)))      # CPS 20 below SupOnly in every seed
    text = claims.findings({**named("gps-1_8", seeded("gps", (0.60, 0.62, 0.64))), **behind,
                            **named("supervised-1_8", seeded("supervised", (0.50, 0.53, 0.53)))})
    # differences 10, 9, 11 / 20, 21, 22 / -10, -12, -11: sd 1, so each interval is the mean +- 4.303 / sqrt(3)
    assert ("GPS leads SupOnly by 10.0 points (95 % CI 7.5 to 12.5) and leads CPS by 21.0 points (95 % CI 18.5 to "
            "23.5); CPS ends 11.0 points below SupOnly (95 % CI 8.5 to 13.5).") in text
    trailing = claims.findings({**named("gps-1_8", seeded("gps", (0.40, 0.41, 0.42))),
                                **named("supervised-1_8", seeded("supervised", (0.50, 0.53, 0.53)))})
    assert trailing.startswith("At 1/8, GPS trails SupOnly by 11.0 points (95 % CI 8.5 to 13.5).")
    assert claims.findings({}) == "No GPS run is recorded yet."


def test_scorecard_has_one_row_per_judged_claim_with_its_link():
    results = {"main": main_runs(),
               "rampup": {**named("adaptive", seeded(finals=(0.60, 0.61, 0.62))),
                          **named("rampdown", seeded(finals=(0.62, 0.63, 0.64), rampdown_gps=True))}}
    names = [c.claim for c in claims.checks(results)]
    assert names[0] == "GPS > CPS > SupOnly, 1/8, no CutMix, preset E"    # 1/16 has no CPS run: no order row
    assert "Without ramp-down of $L_{gps}$ > with" in names
    assert not any(n.startswith(("+ ", "Larger", "Two-step", "Adaptive")) for n in names)   # nothing recorded
    card = claims.scorecard(results)
    card = card.replace("\u00a0", " ")      # no-break spaces keep "7.5 to 12.5" on one line
    assert ("| GPS > CPS > SupOnly, 1/8, no CutMix, preset E | 75.7/73.7/68.2 | 62.0/62.3/52.0 | 3 | "
            "Not separated | {ref}`ch. 11 <results-methods>` |" in card.splitlines())
    assert "| Without ramp-down of $L_{gps}$ > with | +2.2 | -2.0 (-2.0 to -2.0) | 3 | Refuted |" in card
    assert "| GPS ahead after epoch 1, 1/16 |" not in card           # no CPS at 1/16
    assert claims.scorecard({}).startswith("No claim")


# ---------------------------------------------------------------- the training flow
def test_flow_verdict_and_table_read_the_first_epoch():
    gps = named("gps", [make_history(final=0.5, first=f, seed=s) for s, f in enumerate((0.40, 0.45, 0.50))])
    cps = named("cps", [make_history("cps", final=0.5, first=f, seed=s) for s, f in enumerate((0.05, 0.10, 0.10))])
    assert claims.flow_verdict({**gps, **cps}) == ("**Confirmed**: GPS − CPS after epoch 1 at 1/8, +36.7 points "
                                                   "(95 % CI 29.5 to 43.8, 3 seeds); GPS's teacher starts at 0.0 % "
                                                   "mIoU.")                  # 35, 35, 40: sd 2.89
    ahead = named("cps", [make_history("cps", final=0.5, first=f, seed=s) for s, f in enumerate((0.5, 0.55, 0.6))])
    assert claims.flow_verdict({**gps, **ahead}).startswith("**Refuted**")
    assert claims.flow_verdict({"gps": gps["gps"], "cps": cps["cps"]}).startswith(
        "**Not separated**: GPS − CPS after epoch 1 at 1/8, +35.0 points (one seed: no interval)")
    table = tables.flow_table({**gps, **cps})
    assert table.loc[("1/8", "GPS"), "S1, epoch 1 (%)"] == "45.0 (40.0-50.0)"
    assert table.loc[("1/8", "CPS"), "T at start (%)"] == "–" and table.loc[("1/8", "GPS"), "seeds"] == 3


def test_catch_up_text_judges_the_shrinking_lead_on_shared_seeds():
    gps = make_history(final=0.6, seed=0)                                           # 20, 40, 60 after epochs 1-3
    overtakes = {"gps": gps, "cps": make_history("cps", final=0.9, first=0.1, seed=0)}   # 10, 60, 90
    assert claims.catch_up_text(overtakes) == (
        "**Not separated**: CPS catching up at 1/8 (GPS's lead after epoch 1 minus after epoch 3), +40.0 points (one "
        "seed: no interval); lead after epochs 1-3: +10.0, -20.0, -30.0 (CPS level from epoch 2 on).")
    behind = {"gps": gps, "cps": make_history("cps", final=0.5, seed=0)}             # 16.7, 33.3, 50
    assert claims.catch_up_text(behind).endswith("+3.3, +6.7, +10.0 (GPS ahead at the end).")
    falls_back = {"gps": gps, "cps": make_history("cps", final=0.5, first=0.3, seed=0)}  # level at 1, then behind
    assert claims.catch_up_text(falls_back).endswith("(GPS ahead at the end).")
    three = {**named("gps", seeded(finals=(0.6, 0.6, 0.6))),   # leads after epoch 1: 10, 8, 12; at the end -30
             **named("cps", [make_history("cps", final=0.9, first=f, seed=s) for s, f in enumerate((.1, .12, .08))])}
    assert claims.catch_up_text(three).startswith(
        "**Confirmed**: CPS catching up at 1/8 (GPS's lead after epoch 1 minus after epoch 3), +40.0 points (95 % CI "
        "35.0 to 45.0, 3 seeds)")
    assert claims.catch_up_text({"gps": gps, "cps-s1": make_history("cps", final=0.9, seed=1)}) == (
        "No seed has both GPS and CPS recorded.")


def test_decline_text_names_methods_that_fall_back_from_their_best():
    falling = [make_history("cps", partition="1/16", final=0.3, first=f, seed=s) for s, f in enumerate((.4, .42, .44))]
    runs = {**named("cps", falling), "gps": make_history(partition="1/16", final=0.6)}
    assert claims.decline_text(runs) == ("**CPS at 1/16 falls back**: best evaluation minus end, +12.0 points (95 % "
                                         "CI 7.0 to 17.0, 3 seeds); best at epochs 1, 1, 1.")    # drops 10, 12, 14
    mixed = {"cps": falling[0], "cps-s1": make_history("cps", partition="1/16", final=0.2, first=0.5, seed=1)}
    assert claims.decline_text(mixed).startswith("**None falls back**")             # drops 10, 30: too wide


def test_last_epoch_text_gives_each_method_s_gain_in_its_final_epoch():
    runs = {"gps-1_8": make_history(final=0.6), "gps-1_8-s1": make_history(final=0.3),   # +20 and +10 per epoch
            "cps-1_8": make_history("cps", final=0.5, first=0.6, epochs=2)}             # 60 after epoch 1, then 50
    assert claims.last_epoch_text(runs) == ("**1/8**: S1 gained GPS +15.0 (-48.5 to 78.5), CPS -10.0 (one seed) "
                                            "points in the last epoch (95 % CI, 2 seeds).")
    one = {name: runs[name] for name in ("gps-1_8", "cps-1_8")}
    assert claims.last_epoch_text(one) == ("**1/8**: S1 gained GPS +20.0 (one seed), CPS -10.0 (one seed) "
                                           "points in the last epoch.")


def test_room_text_compares_full_supervision_with_the_paper_s_lead():
    full = named("supervised-all", seeded("supervised", (0.80, 0.81), partition="1"))
    runs = named("supervised-1_8", seeded("supervised", (0.72, 0.74, 0.70)))
    assert claims.room_text(full, runs) == (
        "**About 7.5 points of room at 1/8**: SupOnly with every scene labeled minus SupOnly at 1/8, +7.5 points "
        "(95 % CI 1.1 to 13.9, 2 seeds); the paper's GPS leads SupOnly by 7.5 points there (VOC).")
    assert claims.room_text(full, {}).startswith("**Room unknown**")


# ---------------------------------------------------------------- the ablations
def test_table4_places_runs_next_to_the_paper_and_pairs_the_rows():
    runs = {"gps1-cps1-fps1": make_history(final=0.60, seed=0), "gps1-cps1-fps1-s1": make_history(final=0.62, seed=1),
            "gps1-cps1-fps0": make_history(final=0.55, seed=0, use_fps=False),
            "gps1-cps1-fps0-s1": make_history(final=0.56, seed=1, use_fps=False)}
    table = tables.table4(runs)
    assert len(table) == 6 and table.loc["gps1-cps1-fps1", "paper VOC"] == 73.95
    row = table.loc["gps1-cps1-fps1"]
    assert row["S1 (%)"] == pytest.approx(61.0) and row["seeds"] == 2
    assert row["T gain"] == pytest.approx(54.9)          # T is 0 at the start and 0.9 x S1 at the end: 54, 55.8
    assert table["S1 (%)"].isna().sum() == 4 and "–" not in tables.show(table).to_html().replace(">–<", "")
    lines = claims.table4_text(runs).splitlines()
    assert lines[0] == ("- **Not separated**: adding $L_{fps}$ to $L_{gps} + L_{cps}$, +5.5 points (95 % CI -0.9 to "
                        "11.9, 2 seeds); paper +1.23 (VOC).")          # 5, 6: 5.5 +- 12.706 x 0.5
    assert lines[1] == "- **Not recorded yet**: adding $L_{gps}$ to $L_{cps} + L_{fps}$; paper +0.96 (VOC)."
    extra = tables.table4({"gps0-cps0-fps0": make_history(final=0.3)})
    assert len(extra) == 7 and extra.index[-1] == "gps0-cps0-fps0" and pd.isna(extra.iloc[-1]["paper VOC"])
    assert extra.loc["gps1-cps0-fps0", "gps"] == "✓" and extra.loc["gps0-cps0-fps0", "gps"] == "–"
    assert "`gps0-cps0-fps0` is recorded but is not a row" in claims.table4_text({"gps0-cps0-fps0": make_history()})


def test_update_text_pairs_the_fall_of_l_fps_by_seed():
    # first epoch, 4 iterations: the first quarter is iteration 0 (L_fps = level), the last iteration 3 (level / 4)
    runs = {**named("two_step", [make_history(fps_level=v, seed=s) for s, v in enumerate((1.0, 5.0, 3.0))]),
            **named("merged", [make_history(fps_level=v, seed=s) for s, v in enumerate((1.2, 5.3, 3.25))])}
    assert claims.fps_quarter(runs["merged-s1"], quarter=-1) == pytest.approx(5.3 / 4)
    lines = claims.update_text(runs).splitlines()
    assert lines[0] == ("- **Confirmed**: merged − two-step mean $L_{fps}$, first quarter of epoch 1, +0.250 (95 % CI "
                        "0.126 to 0.374, 3 seeds); two-step lower in 3 of 3 seeds.")     # 0.2, 0.3, 0.25
    assert lines[1].startswith("- **Confirmed**: merged − two-step mean $L_{fps}$, last quarter of epoch 1, +0.062")
    assert lines[2] == "- **Not separated**: two-step − merged, final S1, +0.0 points (95 % CI 0.0 to 0.0, 3 seeds)."
    assert claims.update_text({"two_step": runs["two_step"]}).startswith("**Not recorded yet**")


def test_rampup_text_judges_each_alternative_and_says_what_the_latch_changed():
    runs = {**named("adaptive", seeded(finals=(0.60, 0.61, 0.62))),
            **named("none", seeded(finals=(0.50, 0.52, 0.51), rampup="none")),
            **named("rampdown", seeded(finals=(0.62, 0.63, 0.64), rampdown_gps=True))}
    lines = claims.rampup_text(runs).splitlines()
    assert lines[0] == "- **Not recorded yet**: adaptive and fixed on a shared seed."
    assert lines[1] == "- **Confirmed**: adaptive − none, final S1, +10.0 points (95 % CI 7.5 to 12.5, 3 seeds)."
    assert lines[2] == ("- **Refuted**: adaptive − rampdown, final S1, -2.0 points (95 % CI -2.0 to -2.0, 3 seeds); "
                        "paper +2.2 (VOC 1/8).")
    # a latch at E - 1 raises w nowhere: adaptive and fixed are one training, and equal evaluations show it
    late = {**named("adaptive", [make_history(latch=3, epochs=4, seed=s) for s in (0, 1)]),
            **named("fixed", [make_history(epochs=4, rampup="fixed", latch=None, seed=s) for s in (0, 1)])}
    assert claims.rampup_text(late, others=("fixed",)) == (
        "**Not separated**: adaptive − fixed, final S1, +0.0 points (95 % CI 0.0 to 0.0, 2 seeds); the latch fired at "
        "epoch 3 of 4 and raised w in no epoch, so both are one training: identical evaluations.")
    assert claims.identical_seeds(tables.by_variant(late)["adaptive"], tables.by_variant(late)["fixed"]) == [0, 1]
    early = {"adaptive": make_history(latch=1, epochs=4, seed=0),
             "fixed": make_history(epochs=4, rampup="fixed", latch=None, seed=0)}
    assert claims.rampup_text(early, others=("fixed",)).endswith("the latch fired at epoch 1 of 4 and raised w in "
                                                                 "epochs 2 and 3.")


def test_latch_raised_epochs_are_those_between_the_latch_and_the_last():
    assert claims.latch_raised_epochs(make_history(latch=1, epochs=4)) == [2, 3]
    assert claims.latch_raised_epochs(make_history(latch=3, epochs=4)) == []
    assert claims.latch_raised_epochs(make_history(latch=None, epochs=4)) == []
    assert claims.latch_summary({"gps-1_8": make_history(latch=1, epochs=4)}).loc["gps-1_8", "epochs w raised"] == 2


def test_latch_claim_counts_runs_that_latched_before_the_last_epoch():
    runs = {"gps-1_8": make_history(latch=2), "gps-1_8-s1": make_history(latch=None), "cps-1_8": make_history("cps")}
    table = claims.latch_summary(runs)
    assert list(table.index) == ["gps-1_8", "gps-1_8-s1"] and table.loc["gps-1_8", "latch epoch"] == 2
    assert table.loc["gps-1_8", "last epoch: L^t_sup"] == 0.3        # make_history logs sup_t = 0.3
    text = claims.latch_claim(runs)
    assert text.startswith("**Latched before the last epoch in 1 of 2** GPS runs at 1/8; each at epoch E - 1 or later")
    assert "where it never fired, the students' `L^s_sup/2` was still" in text
    assert claims.latch_claim({"gps-1_8": make_history(latch=1, epochs=4)}).endswith("raised w in epochs 2 and 3.")
    assert claims.latch_claim(runs, partition="1/16").startswith("**No run**")


def test_teacher_lr_text_pairs_the_larger_lr_with_the_literal_one():
    runs = {**named("literal", seeded(finals=(0.50, 0.60, 0.55))), **named("larger", seeded(finals=(0.70, 0.72, 0.71)))}
    # T goes from 0 to 0.9 x S1: its rise differs by 18, 10.8, 14.4 points; S1 by 20, 12, 16
    assert claims.teacher_lr_text(runs).splitlines() == [
        "- **Confirmed**: larger − literal teacher lr, T's rise over the main loop, +14.4 points (95 % CI 5.5 to 23.3, "
        "3 seeds); T rises 63.9 points with the larger lr, 49.5 with the literal one.",
        "- **Confirmed**: larger − literal teacher lr, final S1, +16.0 points (95 % CI 6.1 to 25.9, 3 seeds)."]
    assert claims.teacher_lr_text({"literal": make_history(final=0.5), "cps": make_history("cps")}) == (
        "**Not recorded yet**: the literal and the larger teacher lr on a shared seed (literal: T rose +45.0 points).")
    table = tables.teacher_lr_table(runs)
    assert table.loc["larger", "teacher lr"] == "1.0e-04" and table.loc["larger", "T gain"] == pytest.approx(63.0)


def test_teacher_budget_text_counts_phase_a_and_the_guide_s_distance_to_supervision():
    runs = main_runs()
    for h in runs.values():
        h.meta["n_labeled"] = 12                  # 6 phase-a iterations of 8 labeled images: 4 passes
    # T starts at 0 % (every eval of make_history starts there); SupOnly ends at 52.0 % (1/8) and 55.0 % (1/16)
    assert claims.teacher_budget_text(runs).splitlines() == [
        "- **1/16**: phase a is 6 iterations (4 passes over the labeled set), T starts the main loop at 0.0 % (55.0 "
        "points below where SupOnly ends), and GPS − SupOnly ends at -5.0 points (one seed: no interval).",
        "- **1/8**: phase a is 6 iterations (4 passes over the labeled set), T starts the main loop at 0.0 % (52.0 "
        "points below where SupOnly ends), and GPS − SupOnly ends at +10.0 points (95 % CI 7.5 to 12.5, 3 seeds)."]


def test_phase_a_text_tests_whether_the_short_phase_a_explains_gps_trailing_supervision():
    main = {**named("gps-1_4", seeded(finals=(0.60, 0.62, 0.64), partition="1/4")),
            **named("supervised-1_4", seeded("supervised", (0.70, 0.73, 0.73), partition="1/4")),
            **named("gps-1_2", seeded(finals=(0.60, 0.62, 0.64), partition="1/2")),
            **named("supervised-1_2", seeded("supervised", (0.66, 0.69, 0.69), partition="1/2"))}
    budget = {**named("gps-1_4", seeded(finals=(0.66, 0.70, 0.68), partition="1/4")),
              **named("gps-1_2", seeded(finals=(0.66, 0.70, 0.68), partition="1/2"))}
    for h in budget.values():
        h.meta["teacher_iters"], h.evals[0]["miou_teacher"] = 20, 0.6
    # longer - preset: 6, 8, 4 at both; - SupOnly: -4, -3, -5 at 1/4 (still trails), 0, 1, -1 at 1/2 (level)
    assert claims.phase_a_text(main, budget).splitlines() == [
        "- **Confirmed**: longer − preset phase a, GPS at 1/4, +6.0 points (95 % CI 1.0 to 11.0, 3 seeds); phase a is "
        "20 iterations instead of 6, and T starts the main loop at 60.0 % instead of 0.0 % (SupOnly ends at 72.0 %).",
        "- **Refuted**: GPS with the longer phase a − SupOnly at 1/4, -4.0 points (95 % CI -6.5 to -1.5, 3 seeds); "
        "with the preset's phase a: -10.0 points (95 % CI -12.5 to -7.5, 3 seeds).",
        "- **Confirmed**: longer − preset phase a, GPS at 1/2, +6.0 points (95 % CI 1.0 to 11.0, 3 seeds); phase a is "
        "20 iterations instead of 6, and T starts the main loop at 60.0 % instead of 0.0 % (SupOnly ends at 68.0 %).",
        "- **Not separated**: GPS with the longer phase a − SupOnly at 1/2, +0.0 points (95 % CI -2.5 to 2.5, "
        "3 seeds); with the preset's phase a: -6.0 points (95 % CI -8.5 to -3.5, 3 seeds).",
        "",
        "So at 1/4, the short phase a explains part of GPS's deficit, not all; at 1/2, the short phase a explains "
        "GPS's deficit: with a teacher trained as long, GPS no longer trails."]
    level = {**main, **named("supervised-1_2", seeded("supervised", (0.60, 0.62, 0.64), partition="1/2"))}
    assert claims.phase_a_text(level, budget).endswith(    # GPS level with SupOnly before, 6 points above after
        "at 1/2, GPS did not trail SupOnly with the preset's phase a, and a teacher trained as long lifts it above "
        "SupOnly.")
    closed = {**main, **named("supervised-1_4", seeded("supervised", (0.66, 0.69, 0.69), partition="1/4"))}
    assert claims.phase_a_text(closed, budget).endswith(      # one conclusion names both partitions
        "So at 1/4 and 1/2, the short phase a explains GPS's deficit: with a teacher trained as long, GPS no longer "
        "trails.")
    one_seed = claims.phase_a_text(main, {"gps-1_2": budget["gps-1_2"]})
    assert one_seed.endswith("So at 1/2, a second seed is needed to say how much of GPS's deficit the short "
                             "phase a explains.")
    no_gain = {name: h for name, h in main.items() if name.startswith("gps")}      # the preset's runs again: +0.0
    assert claims.phase_a_text(main, no_gain).endswith(
        "at 1/4 and 1/2, the longer phase a's gain is not separated from 0, so it is not shown to explain GPS's "
        "deficit.")
    lower = named("gps-1_2", seeded(finals=(0.50, 0.51, 0.55), partition="1/2"))       # -10, -11, -9
    assert claims.phase_a_text(main, lower).endswith("the short one does not explain GPS's deficit.")
    assert claims.phase_a_text(main, {}) == "No run with the longer phase a is recorded yet."
    assert claims.phase_a_conclusion(main, budget) == (
        "At 1/4, the short phase a explains part of GPS's deficit, not all; at 1/2, the short phase a explains "
        "GPS's deficit: with a teacher trained as long, GPS no longer trails.")
    assert claims.phase_a_conclusion(main, {}) == "No run with the longer phase a is recorded yet."


def test_guide_text_says_where_the_teacher_ends_against_its_students():
    runs = {**named("gps-1_8", seeded(finals=(0.5, 0.6, 0.7))), "cps-1_8": make_history("cps", final=0.4)}
    # T ends at 0.9 x S1 after starting at 0: S1 - T is 5, 6, 7 points, T rose 45, 54, 63
    assert claims.guide_text(runs) == (
        "**1/8**: at lr $1.0\\times10^{-4}$ after phase a, T moves +54.0 points over the main loop and ends at "
        "54.0 %; S1 − T at the end: +6.0 points (95 % CI 3.5 to 8.5, 3 seeds); CPS ends at 40.0 %.")
    assert claims.guide_text(named("cps-1_8", seeded("cps"))) == "No GPS run is recorded yet."


# ---------------------------------------------------------------- one run, and the run tables
def test_latch_and_learned_texts_say_the_finding_first():
    assert claims.latch_text(make_history()).startswith("**The latch fired** at the end of epoch 2 (iteration 7)")
    assert claims.latch_text(make_history(latch=None)).startswith("**The latch did not fire**: in 3 epochs the")
    assert "in 1 epoch the" in claims.latch_text(make_history(latch=None, epochs=1))
    assert claims.latch_text(make_history(rampup="fixed")).startswith("**No latch**, by design")
    assert claims.latch_text(make_history("cps")).startswith("**No ramp-up**")
    h = make_history(final=0.5)
    assert claims.learned_text(h, ["bg", "a", "b"]) == ("**Every class learned**: T 3/3, S1 3/3, S2 3/3 classes above "
                                                        "1 % IoU.")
    h.evals[-1]["iou_student1"] = [0.8, 0.5, 0.0]
    assert claims.learned_text(h, ["bg", "a", "b"]).startswith("**Some classes learned**: T 3/3, S1 2/3")
    for role in ("teacher", "student1", "student2"):
        h.evals[-1][f"iou_{role}"] = [0.8, 0.0, 0.0]
    assert claims.learned_text(h, ["bg", "a", "b"]).startswith("**Background only**: no network segments a class")


def test_summary_and_commands_tables_list_every_run():
    runs = {"gps-1_8": make_history(final=0.5), "cps-1_8": make_history("cps", final=0.4)}
    table = tables.summary_table(runs)
    assert list(table.index) == ["gps-1_8", "cps-1_8"] and table.loc["gps-1_8", "S1 (%)"] == pytest.approx(50.0)
    assert table.loc["gps-1_8", "latch"] == 2 and pd.isna(table.loc["cps-1_8", "T (%)"])
    assert table.loc["gps-1_8", "iterations"] == 6 + 12 and table.loc["gps-1_8", "minutes"] == 2.0
    shown = tables.show(table)
    assert shown.loc["cps-1_8", "latch"] == "–" and shown.columns.name == "run" and shown.index.name is None
    assert tables.summary_table({}).empty
    assert tables.commands_table(runs).loc["gps-1_8", "parameters"] == "-p method gps"


def test_label_gap_text_pairs_all_labels_with_one_eighth():
    table = pd.DataFrame({"backbone": ["r", "r", "r"], "encoder": ["digits", "digits", "random"],
                          "S1 mIoU (%)": [80.0, 70.0, 60.0], "lowest digit IoU (%)": [50.0, 40.0, 1.0]},
                         index=["sup-1-x", "sup-1_8-x", "sup-1_8-y"])
    assert claims.label_gap_text(table) == ("**Misses** the 15-point gap: x (r, digits encoder), all labels 80.0 %, "
                                            "1/8 70.0 %: 10.0 points.")
    table.loc["sup-1-x", "S1 mIoU (%)"] = 90.0
    assert claims.label_gap_text(table).startswith("**Meets**")


def test_missing_text_names_the_runs_to_record():
    assert "Not recorded yet in 'main': b" in experiments.missing_text("main", ["a", "b"], {"a": 1})
    assert "All 2 runs" in experiments.missing_text("main", ["a", "b"], {"a": 1, "b": 2})


def test_the_recording_command_lists_what_is_missing_and_refuses_unknown_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(experiments, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(experiments, "record", lambda *a, **k: pytest.fail("--missing must record nothing"))
    make_history().save(tmp_path / "full" / "supervised-all.json")
    experiments.main(["full", "--missing"])
    out = capsys.readouterr().out
    assert "supervised-all (seeds 1, 2)" in out and "gps-dagger-all (seeds 0, 1, 2)" in out
    with pytest.raises(SystemExit):
        experiments.main(["full", "supervised-al"])
    assert "no run supervised-al in 'full'" in capsys.readouterr().err


# ---------------------------------------------------------------- Tables 2/3 in three settings, Fig. 4, CutMix
def settings_results():
    """main at 1/8 and 1/4 (main_runs' 1/8 plus a 1/4 SupOnly), cutmix GPS and CPS at 1/8 (seeds 0-2), converged at
    1/8 with CPS below SupOnly in every seed."""
    main = {**main_runs(), "supervised-1_4": make_history("supervised", partition="1/4", final=0.7, seed=0)}
    cutmix = {**named("gps-1_8", seeded("gps", (0.64, 0.65, 0.69), cutmix=True)),
              **named("cps-1_8", seeded("cps", (0.58, 0.61, 0.60), cutmix=True))}
    converged = {**named("gps-1_8", seeded("gps", (0.70, 0.71, 0.72), epochs=16)),
                 **named("cps-1_8", seeded("cps", (0.40, 0.42, 0.41), epochs=16)),
                 **named("supervised-1_8", seeded("supervised", (0.60, 0.60, 0.61), epochs=18))}
    return {"main": main, "cutmix": cutmix, "converged": converged}


def test_the_cutmix_setting_reads_main_suponly_at_its_partitions_and_the_layout_is_the_papers():
    settings = tables.setting_runs(settings_results())
    assert list(settings) == ["no CutMix, preset E", "CutMix, preset E", "no CutMix, E = 16"]
    mixed = settings["CutMix, preset E"]
    assert {n for n in mixed if n.startswith("main/")} == {"main/supervised-1_8", "main/supervised-1_8-s1",
                                                           "main/supervised-1_8-s2"}      # not main's 1/4
    table = tables.paper_layout(settings)
    assert list(table.columns) == ["1/16", "1/8", "1/4"]
    assert table.loc[("CutMix, preset E", "GPS"), "1/8"] == "66.0 (3)"
    assert table.loc[("CutMix, preset E", "SupOnly"), "1/8"] == "52.0 (3)"
    assert table.loc[("no CutMix, preset E", "SupOnly"), "1/4"] == "70.0 (1)"
    assert table.loc[("no CutMix, E = 16", "CPS"), "1/16"] == tables.DASH
    assert ("CutMix, preset E", "GPS") in table.index and ("no CutMix, preset E", "CPS") in table.index


def test_the_order_is_judged_from_its_two_steps():
    results = settings_results()
    settings = tables.setting_runs(results)
    # main 1/8: GPS - CPS not separated, CPS - SupOnly confirmed -> not separated
    assert claims.order_verdict(settings["no CutMix, preset E"], "1/8")[0] == claims.NOT_SEPARATED
    # cutmix 1/8: GPS - CPS +6, +5, +8 and CPS - SupOnly +8, +8, +7: both confirmed
    word, pairs = claims.order_verdict(settings["CutMix, preset E"], "1/8")
    assert word == claims.CONFIRMED and pairs[1].mean == pytest.approx(6.333, abs=1e-3)
    # converged 1/8: CPS below SupOnly in every seed -> refuted, whatever GPS does
    assert claims.order_verdict(settings["no CutMix, E = 16"], "1/8")[0] == claims.REFUTED
    rows = {c.claim: c for c in claims.checks(results)}
    row = rows["GPS > CPS > SupOnly, 1/8, CutMix, preset E"]
    assert (row.paper, row.lab, row.seeds, row.verdict) == ("75.7/73.7/68.2", "66.0/59.7/52.0", 3,
                                                            claims.CONFIRMED)
    assert rows["GPS > CPS > SupOnly, 1/8, no CutMix, E = 16"].verdict == claims.REFUTED
    assert "GPS > CPS > SupOnly, 1/16, no CutMix, preset E" not in rows      # no CPS at 1/16
    results["main"].update(named("cps-1_16", seeded("cps", (0.30, 0.90), partition="1/16")))
    row = {c.claim: c for c in claims.checks(results)}["GPS > CPS > SupOnly, 1/16, no CutMix, preset E"]
    assert (row.lab, row.seeds) == ("50.0/30.0/55.0", 1)      # the means over the seed all three have
    assert rows["GPS with CutMix > without, 1/8"].lab == "+4.0 (1.5 to 6.5)"
    card = claims.scorecard(results).replace("\u00a0", " ")
    assert "| GPS > CPS > SupOnly, 1/8, CutMix, preset E | 75.7/73.7/68.2 | 66.0/59.7/52.0 | 3 | Confirmed |" in card


def test_cutmix_and_convergence_are_same_seed_differences():
    results = settings_results()
    text = claims.cutmix_text(results["main"], results["cutmix"])
    assert text.splitlines()[0] == "- **Confirmed**: GPS with − without CutMix at 1/8, +4.0 points (95 % CI 1.5 to 6.5, 3 seeds)."
    assert "CPS with − without CutMix at 1/8, -2.7 points" in text
    # CPS at E = 16 minus CPS at the preset's E, seed by seed: 40 - 61, 42 - 60, 41 - 66
    text = claims.converged_text(results["main"], results["converged"])
    assert text.startswith("**Refuted**: CPS at E\u00a0=\u00a016 − CPS at the preset's E, 1/8, -21.3 points")
    assert "CPS − SupOnly at E\u00a0=\u00a016: -19.3 points" in text
    recipe = {"one-box": make_history("cps", final=0.62, seed=0), "three-boxes": make_history("cps", final=0.60, seed=0)}
    assert claims.recipe_text(recipe, results["main"]) == (
        "**Not separated**: one box − three boxes, CPS at 1/8, final S1, +2.0 points (one seed: no interval); "
        "62.0 against 60.0 %; without CutMix the same seed ends at 61.0 %.")
    assert claims.recipe_text({}, {}).startswith("**Not recorded yet**")


def test_fig4_compares_each_gps_run_with_suponly_on_every_label_seed_by_seed():
    full = {**named("supervised-all", seeded("supervised", (0.70, 0.72), partition="1")),
            **named("gps-1_2", seeded("gps", (0.71, 0.74), partition="1/2")),
            "gps-dagger-all": make_history(partition="1", final=0.73, seed=0)}
    lines = claims.full_supervision_text(full).splitlines()
    assert lines == ["- **Not separated**: GPS at 1/2 − SupOnly with every label, +1.5 points (95 % CI -4.9 to 7.9, "
                     "2 seeds).",
                     "- **Not separated**: GPS-dagger with every label − SupOnly with every label, +3.0 points (one "
                     "seed: no interval)."]
    table = tables.full_supervision_table(full)
    assert list(table.index) == ["SupOnly, every label", "GPS, 1/2", "GPS-dagger, every label"]
    assert table.loc["GPS, 1/2", "S1 (%)"] == "72.5 (71.0-74.0)" and table.loc["GPS, 1/2", "seeds"] == 2
    fig = figures.full_supervision_bars(full)
    ax = fig.axes[0]
    tops = [bar.get_y() + bar.get_height() for bar in ax.patches]
    assert tops == pytest.approx([71.0, 72.5, 73.0])
    assert [t.get_text() for t in ax.texts] == ["71.0", "72.5", "73.0"]
    assert [tick.get_text() for tick in ax.get_xticklabels()] == list(table.index)
    rows = {c.claim: c for c in claims.checks({"full": full})}
    assert rows["GPS at 1/2 > SupOnly, every label"].lab == "+1.5 (-4.9 to 7.9)"


def test_the_grid_records_every_setting_the_paper_reports():
    grid = experiments.EXPERIMENTS
    assert len(grid["cutmix"]) == 2 * 2 * 3 and all(p["cutmix"] and p["cutmix_boxes"] == 3
                                                    for p in grid["cutmix"].values())
    assert len(grid["converged"]) == 3 * 2 * 3
    assert experiments.parameters("converged", "gps-1_16-s2")["epochs"] == 16
    assert experiments.parameters("converged", "supervised-1_8")["epochs"] == 18
    for partition in ("1_8", "1_4", "1_2"):     # the teacher trains as long as SupOnly: phase a's 2 epochs + E
        assert (experiments.parameters("teacher_budget", f"gps-{partition}-s1")["teacher_epochs"]
                == experiments.parameters("main", f"supervised-{partition}-s1")["epochs"])
    sup = experiments.parameters("full", "supervised-all-s1")      # every label, epochs of 2,000 / 8 iterations
    assert (sup["partition"], sup["epochs"], sup["iters_per_epoch"], sup["seed"]) == ("1", 6, 250, 1)
    dagger = experiments.parameters("full", "gps-dagger-all")
    assert dagger["dagger"] and dagger["epochs"] == 4
    assert experiments.result_path("full", "gps-1_2-s1").parts[-2:] == ("main", "gps-1_2-s1.json")
    assert experiments.result_path("cutmix_recipe", "three-boxes").parts[-2:] == ("cutmix", "cps-1_8.json")
    assert "-p cutmix_boxes 1" in experiments.papermill_command(experiments.parameters("cutmix_recipe", "one-box"))


def test_say_keeps_the_interval_label_on_one_line():
    assert say("+4.3 points (95 % CI 2.1 to 6.5)").data == "+4.3 points (95\u00a0%\u00a0CI 2.1 to 6.5)"
