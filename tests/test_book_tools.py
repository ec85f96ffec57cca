"""The book's tools on synthetic histories: one run's report, the recorded experiments' rules, and the evidence
(the paired interval, its verdicts, the claims and the chapter comparisons) computed from a recorded tree."""
from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import matplotlib
import pytest

matplotlib.use("Agg")

from gpslib import parameters  # noqa: E402
from gpslib.book import claims, evidence, experiments, figures, say  # noqa: E402
from gpslib.report import style, text as run_report  # noqa: E402
from gpslib.compare import interval  # noqa: E402
from gpslib.config import make_config  # noqa: E402
from gpslib.errors import GpslibError  # noqa: E402
from gpslib.history import History  # noqa: E402
from gpslib.locks import locked  # noqa: E402

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
    text = run_report.describe_run(make_history())
    for part in ("digits", "1/8", "GPS", "12 it", "cpu", "6 phase-a"):
        assert part in text


def test_final_and_per_class_tables():
    h = make_history(final=0.6)
    assert list(run_report.final_miou(h).index) == ["T", "S1", "S2"]
    assert run_report.final_miou(h).loc["S1", "val mIoU (%)"] == pytest.approx(60.0)
    table = run_report.per_class_table(h, ["bg", "a", "b"])
    assert list(table.index) == ["bg", "a", "b", "mIoU"]
    assert list(table.columns) == ["T", "S1", "S2"]
    assert table.loc["mIoU", "T"] == pytest.approx(54.0)
    # supervised runs have one network only
    assert list(run_report.per_class_table(make_history("supervised"), ["bg", "a", "b"]).columns) == ["S1"]


def test_loss_frame_has_phase_a_and_every_term():
    frame = run_report.loss_frame(make_history())
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
        assert smallest_rendered_font(fig) >= style.MIN_FONT_PT
    assert figures.latch_plot(make_history("cps")) is not None
    by_variant = figures.plot_miou_curves({"literal": h, "larger": make_history(), "larger-s1": h}, by="variant")
    labels = [t.get_text() for t in by_variant.legends[0].get_texts()]
    assert {"literal", "larger"} <= set(labels) and "larger-s1" not in labels     # seeds share their variant's line


def smallest_rendered_font(fig) -> float:
    """The smallest font (pt) of a drawn figure once the book shrinks it to the page width."""
    from matplotlib.text import Text
    fig.canvas.draw()                      # tick labels exist only once drawn
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text() and t.get_visible()]
    return min(sizes) * min(1.0, style.PAGE_WIDTH_IN / fig.get_figwidth())


def test_method_figures_are_legible_at_the_page_width():
    from gpslib.book import explain
    for fig in (figures.rampup_curves(explain.rampup_schedules(4, latch_epoch=3)),):
        assert smallest_rendered_font(fig) >= style.MIN_FONT_PT


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


def test_recorded_experiments_share_the_reference_and_budget_rules(tmp_path):
    preset = parameters.configure("digits", "1/8")
    reference = tmp_path / "main" / "gps-1_8.json"
    for variant in (("update", "two_step"), ("rampup", "adaptive"), ("teacher_lr", "literal"),
                    ("table4", "gps1-cps1-fps1")):       # the same training as the reference: recorded once
        assert experiments.result_path(*variant, results_dir=tmp_path) == reference
    assert not preset.cutmix and all(not p["cutmix"] for p in experiments.EXPERIMENTS["table4"].values())
    # SupOnly trains phase a's epochs too; CPS has no phase a; seeds 1 and 2 get a suffix
    sup = experiments.parameters("main", "supervised-1_8-s2")
    first = experiments.FIRST_PRESET_TEACHER_EPOCHS           # the first preset's phase a: two epochs
    assert preset.teacher_epochs is None and sup["epochs"] == preset.epochs + first and sup["seed"] == 2
    assert "teacher_epochs" not in experiments.parameters("main", "cps-1_8")
    assert experiments.parameters("longer", "supervised-1_8")["epochs"] == 8 + first
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


def test_workers_skip_a_run_that_another_holds_and_record_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(experiments, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(experiments, "RUNS_DIR", tmp_path / "runs")
    recorded = []

    def record(experiment, name):
        recorded.append(name)
        path = experiments.result_path(experiment, name, tmp_path)
        make_history().save(path)
        return path
    monkeypatch.setattr(experiments, "record", record)
    claim = tmp_path / "runs" / "recorded" / "update" / "merged-s1.claim"
    with locked(claim, wait=False) as mine:     # another worker is training merged-s1
        assert mine
        experiments.main(["update"])
    assert recorded == ["two_step", "merged", "two_step-s1", "two_step-s2", "merged-s2"]
    out = subprocess.run([sys.executable, "-m", "gpslib.book.experiments", "update", "--missing"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "'update'" in out.stdout, out.stderr     # the command the workers run


def test_the_recording_command_restarts_itself_under_the_recordings_numerics(monkeypatch):
    started = []
    monkeypatch.setattr(experiments.os, "execve", lambda exe, args, env: started.append((args[1:], env)))
    monkeypatch.setattr(experiments.platform, "machine", lambda: "x86_64")
    for key in experiments.RECORDING_ENV:
        monkeypatch.delenv(key, raising=False)
    experiments.pin_numerics(["tables", "gps-1_8"])
    (args, env), = started
    assert args == ["-m", "gpslib.book.experiments", "tables", "gps-1_8"]
    assert env["ATEN_CPU_CAPABILITY"] == "avx2" and env["ONEDNN_MAX_CPU_ISA"] == "AVX2" and env["OMP_NUM_THREADS"] == "1"
    for key, value in experiments.RECORDING_ENV.items():
        monkeypatch.setenv(key, value)
    experiments.pin_numerics(["tables"])                      # already pinned: runs on
    monkeypatch.setattr(experiments.platform, "machine", lambda: "aarch64")
    monkeypatch.delenv("ATEN_CPU_CAPABILITY")
    experiments.pin_numerics(["tables"])                      # no AVX2 to hold to
    assert len(started) == 1


def test_the_grid_records_every_setting_the_paper_reports():
    grid = experiments.EXPERIMENTS
    assert len(grid["cutmix"]) == 2 * 2 * 3 and all(p["cutmix"] and p["cutmix_boxes"] == 3
                                                    for p in grid["cutmix"].values())
    assert len(grid["converged"]) == 3 * 2 * 3
    assert experiments.parameters("converged", "gps-1_16-s2")["epochs"] == 16
    assert experiments.parameters("converged", "supervised-1_8")["epochs"] == 18
    sup = experiments.parameters("full", "supervised-all-s1")      # every label, epochs of 2,000 / 8 iterations
    assert (sup["partition"], sup["epochs"], sup["iters_per_epoch"], sup["seed"]) == ("1", 6, 250, 1)
    dagger = experiments.parameters("full", "gps-dagger-all")
    assert dagger["dagger"] and dagger["epochs"] == 4
    assert experiments.result_path("full", "gps-1_2-s1").parts[-2:] == ("main", "gps-1_2-s1.json")
    assert experiments.result_path("cutmix_recipe", "three-boxes").parts[-2:] == ("cutmix", "cps-1_8.json")
    assert "-p cutmix_boxes 1" in experiments.papermill_command(experiments.parameters("cutmix_recipe", "one-box"))


def test_each_current_gps_run_loads_the_supervised_run_of_its_own_grid_seed_and_partition(tmp_path, monkeypatch):
    monkeypatch.setattr(experiments, "RUNS_DIR", tmp_path)
    for source, name in (("tables", "supervised-1_16-s2"), ("tables_converged", "supervised-1_8-s1")):
        (tmp_path / "recorded" / source / name).mkdir(parents=True)
        (tmp_path / "recorded" / source / name / "last.pt").write_bytes(b"")
    teacher = lambda experiment, name: experiments.supervised_run(experiment, name).relative_to(tmp_path)  # noqa
    assert str(teacher("tables_cutmix", "gps-1_16-s2")) == "recorded/tables/supervised-1_16-s2/last.pt"
    assert str(teacher("converged_causes", "rampdown-1_8-s1")) == "recorded/tables_converged/supervised-1_8-s1/last.pt"
    assert experiments.supervised_run("converged_causes", "rampdown-1_8") is None      # seed 0 not trained
    assert experiments.supervised_run("short_teacher", "gps-1_16-s2") is None          # its own phase a
    causes, converged = experiments.EXPERIMENTS["converged_causes"], experiments.EXPERIMENTS["tables_converged"]
    assert all(p["epochs"] == converged["gps-1_8"]["epochs"] for p in causes.values())


def test_say_keeps_the_interval_label_on_one_line():
    assert say("+4.3 points (95 % CI 2.1 to 6.5)").data == "+4.3 points (95\u00a0%\u00a0CI 2.1 to 6.5)"


def test_say_shows_nothing_for_an_empty_text():
    assert say("") is None and say("  \n") is None


# ---------------------------------------------------------------- the evidence: one pairing, its verdicts
def record(root, experiment, variant, method, partition, finals, **kw):
    """Seeds 0, 1, ... of one variant, final S1 (fractions) as given, saved as the recorded tree names them;
    each run's test score is its val score plus 1 point."""
    for seed, final in enumerate(finals):
        h = make_history(method, partition=partition, final=final, seed=seed, **kw)
        h.test = {"miou_student1": final + 0.01, "images": 10}
        h.save(root / experiment / (f"{variant}.json" if seed == 0 else f"{variant}-s{seed}.json"))


def test_gap_pairs_runs_by_seed_and_reads_the_chosen_score(tmp_path):
    record(tmp_path, "tables", "gps-1_8", "gps", "1/8", (0.60, 0.70, 0.65))
    record(tmp_path, "tables", "supervised-1_8", "supervised", "1/8", (0.58, 0.71))    # seed 2 has no partner
    frame = evidence.runs(tmp_path)
    g = evidence.gap(frame, ("tables", "gps-1_8"), ("tables", "supervised-1_8"), "val")
    assert g.n == 2 and g.mean == pytest.approx(0.5)                                 # (+2.0 - 1.0) / 2
    assert evidence.gap(frame, ("tables", "gps-1_8"), ("tables", "supervised-1_8")).mean == pytest.approx(0.5)
    same = evidence.gap(frame, ("tables", "gps-1_8"), ("tables", "gps-1_8"), "val")
    assert same.identical and same.verdict() == "not separated" and f"{same:cell}" == "identical runs"
    assert evidence.gap(frame, ("tables", "gps-1_8"), ("tables", "cps-1_8")).n == 0


def test_the_claims_table_is_judged_by_one_function_and_the_words_follow(tmp_path):
    record(tmp_path, "tables", "gps-1_8", "gps", "1/8", (0.70, 0.71, 0.72))
    record(tmp_path, "tables", "cps-1_8", "cps", "1/8", (0.60, 0.62, 0.61))
    record(tmp_path, "tables", "supervised-1_8", "supervised", "1/8", (0.64, 0.64, 0.65))
    frame = evidence.runs(tmp_path)
    judged = claims.judge(frame)
    judged = judged[judged["section"] == "Tables 2/3, preset E"].set_index("claim")
    assert judged.loc["GPS > CPS, 1/8", "verdict"] == "confirmed"          # +10, +9, +11
    assert judged.loc["CPS > SupOnly, 1/8", "verdict"] == "refuted"        # -4, -2, -4
    assert judged.loc["GPS > CPS, 1/16", "seeds"] == 0
    card = claims.scorecard(frame, sections=["Tables 2/3, preset E"])
    assert card.count("\n| GPS\u00a0>") == 2 and "1/16" not in card          # unrecorded claims are left out
    assert "+10.0" in card and "(scored on test; shown in" in card
    found = claims.finding(frame)
    assert found["plain_cps"] == "GPS beats CPS at 1/8 (by 10.0 points)"
    assert found["plain_cps_supervised"] == "CPS trails SupOnly at 1/8 (by 3.3 points)"
    assert found["held"] == "no partition" and claims.order(frame, "tables", "1/8") == "refuted"
    assert found["partitions"] == "1/8" and found["unrecorded"] == "1/16, 1/4 and 1/2"   # 1/8: every run is there
    assert claims.collapsed(frame, "tables", "1/8", margin=3.0) and not claims.collapsed(frame, "tables", "1/8")
    table = evidence.method_table(frame)
    assert table.loc[("preset E", "GPS"), "1/8"] == "72.0 (3)" and table.loc[("preset E", "CPS"), "1/16"] == "–"
    assert list(evidence.per_seed(frame).columns) == ["GPS", "CPS", "SupOnly"]
    record(tmp_path / "more", "tables", "gps-1_16", "gps", "1/16", (0.70,))        # one seed: no interval
    record(tmp_path / "more", "tables", "supervised-1_16", "supervised", "1/16", (0.62, 0.63))
    found = claims.finding(evidence.runs(tmp_path / "more"))
    assert found["plain_supervised"] == "GPS − SupOnly is +8.0 points at 1/16, one seed so far"
    assert found["partitions"] == "1/16" and found["unrecorded"] == "1/16, 1/8, 1/4 and 1/2"  # 1/16 lacks seeds
    near_zero = claims.plain({"1/8": interval([-0.03])}, "GPS", "CPS")           # rounds to 0.0: no minus sign
    assert near_zero == "GPS − CPS is +0.0 points at 1/8, one seed so far"
    level_and_single = claims.plain({"1/16": interval([-1.0, 0.5, 2.0]), "1/4": interval([1.0])}, "GPS", "CPS")
    assert level_and_single == "GPS and CPS are not separated at 1/16; GPS − CPS is +1.0 points at 1/4, one seed so far"


def test_a_chapter_comparison_and_listing_use_the_same_pairing(tmp_path):
    # the two-step variant is the reference GPS run itself, read where it is recorded
    record(tmp_path, "main", "gps-1_8", "gps", "1/8", (0.70, 0.71, 0.72), fps_level=1.0)
    record(tmp_path, "update", "merged", "gps", "1/8", (0.70, 0.71, 0.72), fps_level=2.0)
    frame = evidence.runs(tmp_path)
    loss = evidence.compare(frame, {"two-step − merged": (("update", "two_step"), ("update", "merged"))},
                            score="fps_epoch1", expected=-1, digits=3)
    fps = [1.0 / (i + 1) for i in range(4)]                               # make_history: L_fps = level / (i + 1)
    assert loss.iloc[0]["a − b, 95 % CI"].startswith(f"{-sum(fps) / 4:+.3f}")   # the same in every seed: no spread
    assert loss.index.name == "mean L_fps over epoch 1"
    mious = evidence.compare(frame, {"x": (("update", "two_step"), ("update", "merged"))}, score="val")
    assert mious.iloc[0]["a − b, 95 % CI"] == "identical runs"            # equal to the last bit in every seed
    listed = evidence.listing(frame, "update")
    assert list(listed.index) == ["two_step", "merged", "two_step-s1", "merged-s1", "two_step-s2", "merged-s2"]
    assert listed.loc["merged-s1", "val S1"] == 71.0 and listed.loc["merged", "test T"] == "–"


def test_a_seed_whose_methods_started_from_different_encoders_is_named(tmp_path):
    for method, encoders in (("gps", ("a1", "b2")), ("supervised", ("a1", "c3")), ("cps", ("", "b2"))):
        for seed, encoder in enumerate(encoders):             # "": recorded before runs named their encoder
            h = make_history(method, seed=seed)
            h.meta["encoder_sha256"] = encoder or None
            h.save(tmp_path / "tables_converged" / f"{experiments.seeded(f'{method}-1_8', seed)}.json")
    frame = evidence.runs(tmp_path)
    assert evidence.mixed_starts(frame) == ["1/8 seed 1"]
    assert evidence.mixed_starts(frame[frame["seed"] == 0]) == []


def test_cps_collapse_names_where_cps_falls_ten_points_below_suponly(tmp_path):
    assert "not recorded yet" in claims.cps_collapse(evidence.runs(tmp_path / "none"))
    record(tmp_path, "tables", "supervised-1_16", "supervised", "1/16", (0.60, 0.62))
    record(tmp_path, "tables", "cps-1_16", "cps", "1/16", (0.58, 0.61))        # 1.5 points below: a gap
    record(tmp_path, "cps_unlabeled_only", "cps-1_16", "cps", "1/16", (0.30, 0.55))   # 18.5 below: a collapse
    record(tmp_path, "tables", "supervised-1_8", "supervised", "1/8", (0.66,))
    record(tmp_path, "cps_unlabeled_only", "cps-1_8", "cps", "1/8", (0.57,))  # 9 below: not a collapse
    text = claims.cps_collapse(evidence.runs(tmp_path))
    assert "alone, CPS collapses at 1/16 (its S1 more than 10 points below SupOnly's), not at 1/8;" in text
    assert text.endswith("as its reference code does, it collapses nowhere")
