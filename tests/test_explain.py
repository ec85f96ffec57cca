"""gpslib.book.explain: the helpers behind chapters 2-6 call the real library and report true properties."""
import math

import pytest
import torch

from gpslib.book import explain
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
    assert math.isclose(sum(r["contribution"] for r in out["table"]), out["terms"]["guide"], rel_tol=1e-5)
    assert {r["term"]: r["weight"] for r in out["table"]} == {"sup_s": 1.0, "gps": cfg.alpha, "cps": cfg.beta}
    # pseudo-labels come from the unmixed images and are mixed with the inputs' boxes
    labels = out["labels"]
    assert torch.equal(labels["Y^t"], mix(labels["Y^t unmixed"], batch.boxes))
    rows, titles = explain.guide_rows(batch, labels, k=0)
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


def test_teacher_lr_examples_voc_1_8():
    rows = {r["dataset"]: r for r in explain.teacher_lr_examples()}
    voc = rows["pascal"]
    assert voc["E x max_iter"] == 34 * 1157
    assert voc["teacher lr"] == pytest.approx(7.3e-7, rel=0.01)
    digits_lr = make_config("digits", "1/8").lr
    assert rows["digits"]["teacher lr"] == pytest.approx(digits_lr * rows["digits"]["E x max_iter"] ** -0.9)


def test_table1_comparison_pascal():
    frame = explain.table1_comparison("pascal").set_index("partition")
    assert frame.loc["1/8", "ours per epoch"] == "9.2k" == frame.loc["1/8", "paper per epoch"]
    assert (frame["paper total"].notna()).all()


def test_latch_report_reads_history():
    history = History({"epochs": 2, "method": "gps", "rampup": "adaptive"}, {"rampup": {"r": 1.0, "latched_epoch": 1, "latched_iteration": 1}})
    history.iterations = [{"iteration": i, "epoch": 1 + i // 2, "sup_s": 2.0 - i * 0.5, "sup_t": 0.6, "w": 0.4}
                          for i in range(4)]
    report = explain.latch_report(history)
    assert report["epoch"] == 1 and "epoch 1" in report["text"]
    assert report["per_epoch"].loc[1, "sup_s / 2"] == pytest.approx((1.0 + 0.75) / 2)
    history.meta["rampup"] = {"r": 2.0, "latched_epoch": None, "latched_iteration": None}
    assert "did not fire" in explain.latch_report(history)["text"]


def test_cutmix_example_and_init_differences():
    example = explain.cutmix_example(FakeDataset(), indices=(0, 1), seed=3)
    assert 0.2 <= example["covered"] <= 0.55
    assert len(example["rows"]) == 2 and example["rows"][0][3].shape == (32, 32, 3)
    nets = tiny_nets()
    diff = explain.init_differences(nets, torch.randn(3, 32, 32))
    stds = {role: s["head std"] for role, s in diff["stats"].items()}
    assert len(set(stds.values())) == 3                              # three different initialisations
    assert set(diff["disagreement"]) == {"teacher vs student1", "teacher vs student2", "student1 vs student2"}


def test_parameter_table_adds_up():
    frame = explain.parameter_table(("resnet18",), num_classes=3, decoder_channels=16)
    row = frame.loc["resnet18"]
    assert row["total"] == pytest.approx(row["encoder"] + row["decoder"] + row["head"], abs=2e-3)
    assert 10 < row["encoder"] < 12                                  # ResNet-18 without its fc layer: 11.2 M
