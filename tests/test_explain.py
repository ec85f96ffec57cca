"""gpslib.book.explain and the method figures' helpers: chapters 2-6 get true properties of the real library, and what
they hand the page fits it: no empty cell, no line wider than the column, no Python repr in a phrase."""
import inspect
import math
from types import SimpleNamespace

import pytest
import torch

from gpslib import losses
from gpslib.book import COLUMN_CHARS, evidence, explain
from gpslib.book.figures import method
from gpslib.compare import DASH
from gpslib.cost import table1, table1_differs
from gpslib.config import make_config
from gpslib.data.cutmix import mix
from gpslib.history import History
from gpslib.models import build_segmenter


def tiny_nets():
    return {role: build_segmenter("resnet18", 3, None, decoder_channels=16, seed=k)
            for k, role in enumerate(("teacher", "student1", "student2"))}


class FakeDataset:
    """Items like SegmentationDataset's: (normalised image [3,H,W], mask [H,W]); the seed fixes both."""

    def __getitem__(self, key):
        index, seed = key
        g = torch.Generator().manual_seed(1000 * index + seed)
        return torch.randn(3, 32, 32, generator=g), torch.randint(0, 3, (32, 32), generator=g)


def test_guide_step_moves_only_students_and_matches_eq7():
    torch.manual_seed(0)
    cfg = make_config("digits", num_classes=3, batch_labeled=2, batch_unlabeled=2)
    nets = tiny_nets()
    students = [p for r in ("student1", "student2") for p in nets[r].parameters()]
    opt = torch.optim.SGD(students, lr=0.05, momentum=0.9)
    g = torch.Generator().manual_seed(0)
    from gpslib.data.cutmix import box_masks
    from gpslib.train.gps import Batch
    batch = Batch(torch.randn(2, 3, 32, 32), torch.randint(0, 3, (2, 32, 32)), torch.randn(2, 3, 32, 32),
                  box_masks(2, 32, 32, generator=g))
    out = explain.guide_step(nets, opt, batch, cfg)
    assert out["moved"]["teacher"] == {"parameters": 0.0, "BN buffers": 0.0}
    assert out["moved"]["student1"]["parameters"] > 0 and out["moved"]["student2"]["parameters"] > 0
    # eq. 7: the weighted terms add up to L_guide
    assert math.isclose(sum(r["weighted"] for r in out["table"]), out["terms"]["guide"], rel_tol=1e-5)
    assert [r["weight"] for r in out["table"]] == [1.0, cfg.alpha, cfg.beta]
    # pseudo-labels come from the unmixed images and are mixed with the inputs' boxes
    labels = out["labels"]
    assert torch.equal(labels["Y^t"], mix(labels["Y^t unmixed"], batch.boxes))
    rows, titles = method.guide_rows(batch, labels, k=0)
    assert len(rows) == 2 and all(len(r) == 4 for r in rows) and len(titles) == 8


def test_rampup_schedules_latch_and_modes():
    table = explain.rampup_schedules(8, latch_epoch=3)
    w = table.pivot(index="epoch", columns="mode", values="w")
    assert (w["none"] == 1).all()
    assert w.loc[8, "fixed"] == 1 and w["fixed"].is_monotonic_increasing and w.loc[1, "fixed"] < 0.5
    assert (w.loc[:3, "adaptive"] == w.loc[:3, "fixed"]).all()     # identical until the latch
    assert (w.loc[4:, "adaptive"] == 1).all()                        # w = 1 after it
    never = explain.rampup_schedules(5, latch_epoch=None).pivot(index="epoch", columns="mode", values="w")
    assert (never["adaptive"] == never["fixed"]).all()


def test_teacher_lr_table_voc_1_8_is_the_papers_formula():
    table = explain.teacher_lr_table()
    assert table.loc["E × iterations", "pascal 1/8"] == "39,338"
    assert float(table.loc["teacher lr", "pascal 1/8"]) == pytest.approx(7.3e-7, rel=0.01)
    digits = make_config("digits", "1/8")
    total = int(table.loc["E × iterations", "digits 1/8"].replace(",", ""))
    assert total == digits.epochs * 218
    assert float(table.loc["teacher lr", "digits 1/8"]) == pytest.approx(digits.lr * total ** -0.9, rel=1e-2)


def test_table1_comparison_pascal_and_digits():
    frame = table1("pascal")
    assert frame.loc["ours per epoch", "1/8"] == "9.2k" == frame.loc["paper per epoch", "1/8"]
    assert frame.loc["paper in all"].notna().all() and table1_differs(frame) == []
    assert explain.table1_verdict("pascal", "cityscapes") == "**confirmed** in all 8 rows of pascal and cityscapes"
    digits = table1("digits")
    assert "paper in all" not in digits.index and not digits.isna().any().any()   # no paper number, no empty row
    assert list(digits.loc["epochs E"]) == [make_config("digits", p).epochs for p in ("1/16", "1/8", "1/4", "1/2")]


def test_data_facts_say_the_presets_epochs_and_transform(tmp_path):
    (tmp_path / "digits.json").write_text('{"n_train": 2000, "n_val": 500, "n_test": 1000, "size": 64, '
                                          '"source_digits": {"train": [1, 2], "val": [3], "pretrain": [4]}}')
    cfg = make_config("digits", "1/8")
    data = SimpleNamespace(labeled=[0] * 250, unlabeled=[0] * 1750)
    facts = explain.data_facts(tmp_path, data, cfg)
    epochs = [make_config("digits", p).epochs for p in ("1/16", "1/8", "1/4", "1/2")]
    assert facts["epochs"] == f"{epochs[0]}, {epochs[1]}, {epochs[2]} and {epochs[3]} epochs at 1/16, 1/8, 1/4 and 1/2"
    assert facts["transform"] == "a 64 px crop, no rescaling and no flip"           # no tuple, no False
    assert (facts["n_test"], facts["labeled"], facts["digits_train"]) == ("1,000", "250", "2")
    voc = explain.data_facts(tmp_path, data, make_config("pascal", "1/8"))
    assert voc["transform"] == "a 512 px crop, scales 0.5–2 and a random horizontal flip"


def gps_history(name_seed=0, partition="1/8", epochs=4, latched=None, final_t=0.7):
    """A recorded GPS run in miniature: phase a's evaluations, the main loop's losses and evaluations."""
    h = History({"method": "gps", "rampup": "adaptive", "partition": partition, "epochs": epochs, "seed": name_seed},
                {"teacher_iters": 8, "max_iter": 2 * epochs, "device": "cpu",
                 "rampup": {"r": latched or epochs, "latched_epoch": latched, "latched_iteration": None}})
    h.teacher_evals = [{"iteration": i, "epoch": i / 2, "miou_teacher": m} for i, m in ((0, 0.0), (4, 0.5), (8, 0.6))]
    h.iterations = [{"iteration": i, "epoch": 1 + i // 2, "sup_s": 2.0, "sup_t": 0.5, "w": 0.5, "lr_teacher": 2e-6}
                    for i in range(2 * epochs)]
    h.evals = [{"epoch": 0.0, "miou_teacher": 0.6}, {"epoch": float(epochs), "miou_teacher": final_t}]
    return h


def test_recorded_teachers_and_their_figure():
    runs = {"gps-1_8": gps_history(), "gps-1_8-s1": gps_history(1), "gps-1_16": gps_history(partition="1/16")}
    table = explain.recorded_teachers(runs)
    assert list(table.index) == ["1/16", "1/8"]                                 # fewest labels first
    assert table.loc["1/8", "T val mIoU (%)"] == "60.0" and table.loc["1/8", "seeds"] == 2
    assert table.loc["1/16", "lowest–highest"] == DASH and table.loc["1/8", "lr after phase a"] == "2e-06"
    fig = method.teacher_runs(runs)
    ax = fig.axes[0]
    assert ax.get_ylim()[0] == 0 and len(ax.lines) == 3
    title = fig._suptitle.get_text().replace("\n", " ")
    assert "8 iterations, cpu" in title and "T has already 83% or more of its final mIoU" in title


def test_latch_table_and_facts_count_early_latches():
    runs = {"a": gps_history(latched=2, epochs=8), "b": gps_history(latched=None), "c": gps_history(latched=4)}
    table = explain.latch_table(runs)
    assert table.loc["b", "latched"] == DASH and table.loc["a", "w raised"] == len(explain.raised_epochs(
        runs["a"])) > 0
    assert table.loc["c", "w raised"] == 0                                       # a latch at E changes nothing
    assert table.loc["a", "Lˢ/2 last"] == 1.0 and table.loc["a", "Lᵗ last"] == 0.5
    assert explain.latch_facts(runs, "x") == {"x_runs": "3", "x_early": "1", "x_raised": "1"}


def test_teacher_lr_facts_pair_by_seed_through_evidence():
    import pandas as pd

    runs = {"literal": gps_history(final_t=0.61), "literal-s1": gps_history(1, final_t=0.63),
            "larger": gps_history(final_t=0.70), "larger-s1": gps_history(1, final_t=0.72)}
    frame = pd.DataFrame({"experiment": "teacher_lr", "variant": ["literal", "literal", "larger", "larger"],
                          "seed": [0, 1, 0, 1], "val": [70.0, 71.0, 71.0, 72.5]})
    facts = explain.teacher_lr_facts(runs, frame)
    assert facts["rise_literal"] == "+2.0 points (2 seeds)" and facts["rise_larger"] == "+11.0 points (2 seeds)"
    gap = evidence.gap(frame, ("teacher_lr", "larger"), ("teacher_lr", "literal"), "val")
    assert facts["s1_gap"] == f"{gap}" and facts["s1_verdict"] == gap.verdict()


def test_cutmix_example_and_init_differences():
    example = method.cutmix_example(FakeDataset(), indices=(0, 1), seed=3)
    assert 0.2 <= example["covered"] <= 0.55
    assert len(example["rows"]) == 2 and example["rows"][0][3].shape == (32, 32, 3)
    nets = tiny_nets()
    diff = method.init_differences(nets, torch.randn(3, 32, 32))
    assert set(diff["disagreement"]) == {"teacher vs student1", "teacher vs student2", "student1 vs student2"}
    assert all(0 <= v <= 1 for v in diff["disagreement"].values()) and diff["labels"]["teacher"].shape == (32, 32)


def test_network_facts_say_what_the_three_share():
    nets = tiny_nets()                                              # random init: every part differs
    cfg = make_config("digits", encoder_weights="random")   # no pre-training facts to read
    facts = explain.network_facts(cfg, nets)
    assert facts["shared"] == "nothing" and facts["differ"] == "encoder, decoder and head"
    nets["student1"].encoder.load_state_dict(nets["teacher"].encoder.state_dict())
    nets["student2"].encoder.load_state_dict(nets["teacher"].encoder.state_dict())
    facts = explain.network_facts(cfg, nets)
    assert facts["shared"] == "encoder" and facts["differ"] == "decoder and head"


def test_parameter_table_adds_up():
    frame = explain.parameter_table(("resnet18",), num_classes=3, decoder_channels=16)
    row = frame.loc["resnet18"]
    assert row["total"] == pytest.approx(row["encoder"] + row["decoder"] + row["head"], abs=2e-3)
    assert 10 < row["encoder"] < 12                                  # ResNet-18 without its fc layer: 11.2 M


def test_filled_marks_missing_values():
    import pandas as pd

    frame = explain.filled(pd.DataFrame({"a": [1.0, math.nan], "b": pd.array([1, None], dtype="Int64"),
                                         "c": ["x", None]}))
    assert frame.iloc[1].tolist() == [DASH] * 3 and frame.iloc[0].tolist() == [1.0, 1, "x"]
    assert explain.listed(["a"]) == "a" and explain.listed([1, 2, 3]) == "1, 2 and 3"


def test_the_code_chapter_5_shows_fits_the_column():
    """Chapter 5 shows ce ... guide_loss, pseudo_label and guide_objective verbatim (literalinclude): no line of
    them may be wider than the page's code column."""
    from gpslib.train import gps

    for f in (losses.ce, losses.sup_loss, losses.gps_loss, losses.cps_loss, losses.guide_loss, gps.pseudo_label,
              gps.guide_objective):
        wide = [line for line in inspect.getsource(f).splitlines() if len(line) > COLUMN_CHARS]
        assert not wide, f"{f.__name__}: {wide}"


def test_guide_table_adds_up_and_fills_the_weightless_row():
    step = {"table": [{"term": "supervised, eq. 4", "value": 2.0, "weight": 1.0, "weighted": 2.0},
                      {"term": "teacher's guide, eq. 5", "value": 1.0, "weight": 0.5, "weighted": 0.5}],
            "terms": {"guide": 2.5}}
    table = explain.guide_table(step)
    assert table.loc["sum, eq. 7"].tolist() == [2.5, DASH, 2.5]


def test_evals_table_fits_and_has_no_empty_cells():
    history = History({"epochs": 4, "method": "gps", "rampup": "adaptive", "partition": "1/8"}, {})
    history.evals = [{"epoch": 0.0, "miou_teacher": 0.5, "miou_student1": 0.1},
                     {"epoch": 1.0, "miou_teacher": 0.6, "miou_student1": 0.3, "acc_teacher": 0.9}]
    evals = explain.evals_table(history)
    assert list(evals.index) == ["0", "1"] and evals.loc["1", "T mIoU"] == 60.0
    assert evals.loc["0", "Yᵗ acc."] == DASH and "^" not in "".join(evals.columns)
