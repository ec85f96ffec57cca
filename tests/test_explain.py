"""gpslib.book.explain: the helpers behind chapters 2-6 and 12 call the real library and report true properties,
and what they hand the page fits it: no machine path, no empty cell, no line wider than the column."""
import ast
import math
import tempfile
import warnings

import pytest
import torch
from pathlib import Path

from gpslib import losses, paths
from gpslib.book import COLUMN_CHARS, explain
from gpslib.book.claims import latch_text
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


def test_table1_comparison_pascal_and_digits():
    frame = explain.table1_comparison("pascal")
    assert frame.loc["1/8", "ours per epoch"] == "9.2k" == frame.loc["1/8", "paper per epoch"]
    assert (frame["paper total"] != explain.MISSING).all()
    assert explain.table1_verdict("pascal").startswith("**Confirmed**: ")
    digits = explain.table1_comparison("digits")
    assert "paper total" not in digits and not digits.isna().any().any()   # no paper number, no empty column


def test_latch_report_reads_history():
    history = History({"epochs": 2, "method": "gps", "rampup": "adaptive"},
                      {"max_iter": 4, "rampup": {"r": 1.0, "latched_epoch": 1, "latched_iteration": 1}})
    history.iterations = [{"iteration": i, "epoch": 1 + i // 2, "sup_s": 2.0 - i * 0.5, "sup_t": 0.6, "w": 0.4,
                           "lr_teacher": 1e-4} for i in range(4)]
    report = explain.latch_report(history)
    assert report["epoch"] == 1 and report["text"].startswith(latch_text(history))
    assert "lr after phase a was 1.00e-04" in report["text"]
    assert report["per_epoch"].loc[1, "sup_s / 2"] == pytest.approx((1.0 + 0.75) / 2)
    history.meta["rampup"] = {"r": 2.0, "latched_epoch": None, "latched_iteration": None}
    assert explain.latch_report(history)["text"].startswith(latch_text(history))


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


def test_shown_hides_the_machine_folders(tmp_path):
    assert paths.shown(paths.RUNS_DIR / "digits-1_8-gps") == "runs/digits-1_8-gps" or paths.RUNS_DIR.parent != \
        paths.REPO_ROOT
    assert paths.shown(paths.REPO_ROOT / "data" / "digits") == "data/digits"
    temp = Path(tempfile.mkdtemp()) / "my_data" / "val.txt"
    assert paths.shown(temp) == "<temporary folder>/my_data/val.txt"
    assert paths.shown(tmp_path / "x", root=tmp_path) == f"{tmp_path.name}/x"
    text = explain.relative_paths(f"see {temp}. and {paths.REPO_ROOT / 'gpslib' / 'data' / 'folder.py'}:128")
    assert text == "see <temporary folder>/my_data/val.txt. and gpslib/data/folder.py:128"


def test_filled_marks_missing_values():
    import pandas as pd

    frame = explain.filled(pd.DataFrame({"a": [1.0, math.nan], "b": pd.array([1, None], dtype="Int64"),
                                         "c": ["x", None]}))
    assert frame.iloc[1].tolist() == [explain.MISSING] * 3 and frame.iloc[0].tolist() == [1.0, 1, "x"]


def _without_docstrings(source: str) -> str:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def test_source_markdown_fits_the_column_and_is_the_same_code():
    from gpslib.train import gps

    functions = (losses.ce, losses.guide_loss, gps.guide_objective)
    text = explain.source_markdown(*functions)
    assert text.startswith("```python\n") and text.endswith("\n```")
    code = text[len("```python\n"):-len("\n```")]
    assert max(len(line) for line in code.splitlines()) <= COLUMN_CHARS
    original = "\n\n".join(__import__("textwrap").dedent(__import__("inspect").getsource(f)) for f in functions)
    assert _without_docstrings(code) == _without_docstrings(original)   # same statements, only re-wrapped


def test_teacher_text_names_found_and_missed_digits():
    names = ["background", "0", "1", "2"]
    quality = {"miou": 0.5, "val_images": 8}
    some = explain.teacher_text({**quality, "iou": [0.9, 0.6, 0.01, 0.3]}, names, 10)
    assert "digits 0, 2" in some and "misses 1" in some and "50.0%" in some
    assert "every digit" in explain.teacher_text({**quality, "iou": [0.9, 0.6, 0.2, 0.3]}, names, 10)
    none = explain.teacher_text({**quality, "iou": [0.9, 0.0, 0.01, 0.05]}, names, 10)
    assert "no digit" in none and "misses" not in none


def test_guide_table_adds_up_and_fills_the_weightless_row():
    step = {"table": [{"term": "sup_s", "value": 2.0, "weight": 1.0, "contribution": 2.0},
                      {"term": "gps", "value": 1.0, "weight": 0.5, "contribution": 0.5}],
            "terms": {"guide": 2.5}}
    table = explain.guide_table(step)
    assert table.loc["L_guide (eq. 7)"].tolist() == [2.5, explain.MISSING, 2.5]


def test_evals_and_latch_tables_fit_and_have_no_empty_cells():
    history = History({"epochs": 4, "method": "gps", "rampup": "adaptive", "partition": "1/8"},
                      {"rampup": {"r": 4.0, "latched_epoch": None, "latched_iteration": None}})
    history.iterations = [{"iteration": i, "epoch": 1 + i // 2, "sup_s": 2.0, "sup_t": 0.6, "w": 0.4}
                          for i in range(8)]
    history.evals = [{"epoch": 0.0, "miou_teacher": 0.5, "miou_student1": 0.1},
                     {"epoch": 1.0, "miou_teacher": 0.6, "miou_student1": 0.3, "acc_teacher": 0.9}]
    evals = explain.evals_table(history)
    assert list(evals.index) == ["0", "1"] and evals.loc["1", "T mIoU"] == 60.0
    assert evals.loc["0", "Y^t acc."] == explain.MISSING
    latch = explain.latch_table({"gps-1_8": history})
    assert latch.loc["gps-1_8", "latched"] == explain.MISSING and latch.loc["gps-1_8", "before E"] == "no"


def test_printable_wraps_under_the_label_and_hides_paths():
    temp = Path(tempfile.mkdtemp()) / "my_data"
    text = explain.printable(f"source:    every masked image of {temp} " + "word " * 30 + "\nshort: line")
    lines = text.splitlines()
    assert all(len(line) <= 79 for line in lines) and lines[-1] == "short: line"
    assert lines[0].startswith("source:    every masked image of <temporary folder>/my_data")
    assert lines[1].startswith(" " * 11 + "word")
    for pad in range(60, 75):                                         # the label is never cut in two
        assert "<temporary folder>/my_data" in explain.printable("x" * pad + f" {temp}")


def test_warnings_and_errors_as_markdown():
    temp = Path(tempfile.mkdtemp()) / "my_data"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn(f"The masks in {temp} are unbalanced. Pixel histogram:\n 0 background 99%")
    assert explain.warnings_text(caught) == "**Warning**: The masks in `<temporary folder>/my_data` are unbalanced."
    assert explain.warnings_text([]) == "No warning."
    assert explain.error_text(ValueError(f"{temp}/a.png is bad")) == \
        "**ValueError**: `<temporary folder>/my_data/a.png` is bad"
