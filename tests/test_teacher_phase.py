"""The preset's phase a is the supervised baseline: T after phase a is, weight for weight, the SupOnly network of
the same seed and budget, and loading that SupOnly run as phase a trains the same GPS run; the test split is scored
once at the end."""
import pytest
import torch

from gpslib.checkpoint import load_checkpoint
from gpslib.errors import GpslibError
from gpslib.train import train
from gpslib.train.loop import Trainer

from conftest import tiny_cfg


def _states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_teacher_after_phase_a_is_the_supervised_network(small_digits, tmp_path):
    sup_cfg = tiny_cfg(small_digits, tmp_path / "sup", method="supervised", teacher_epochs=None)
    train(sup_cfg, progress=False)
    sup = load_checkpoint(tmp_path / "sup" / "last.pt")
    trainer = Trainer(tiny_cfg(small_digits, tmp_path / "gps", teacher_epochs=None), progress=False)
    assert trainer.teacher_iters == sup_cfg.epochs * sup_cfg.iters_per_epoch
    trainer.run_teacher_phase()
    assert _states_equal(trainer.nets["teacher"].state_dict(), sup["nets"]["student1"])
    assert torch.equal(torch.get_rng_state(), sup["rng"]["torch"])     # the same dropout draws, in the same order
    teacher_exp_avg = trainer.opt_teacher.state_dict()["state"][0]["exp_avg"]
    assert torch.equal(teacher_exp_avg, sup["opt_students"]["state"][0]["exp_avg"])
    assert [r["miou_teacher"] for r in trainer.history.teacher_evals] == \
        [r["miou_student1"] for r in sup["history"]["evals"]]
    # phase a's own schedule fixes T's lr afterwards: lr * (its iterations) ** -0.9
    history = train(tiny_cfg(small_digits, tmp_path / "gps2", teacher_epochs=None), progress=False)
    assert history.iterations[0]["lr_teacher"] == pytest.approx(sup_cfg.lr * trainer.teacher_iters ** -0.9)


def test_loading_the_supervised_run_as_phase_a_gives_the_same_gps_run(small_digits, tmp_path):
    train(tiny_cfg(small_digits, tmp_path / "sup", method="supervised", teacher_epochs=None), progress=False)
    trained = train(tiny_cfg(small_digits, tmp_path / "a", teacher_epochs=None), progress=False)
    loaded = train(tiny_cfg(small_digits, tmp_path / "b", teacher_epochs=None), progress=False,
                   teacher_from=tmp_path / "sup")
    a, b = load_checkpoint(tmp_path / "a" / "last.pt"), load_checkpoint(tmp_path / "b" / "last.pt")
    for role in ("teacher", "student1", "student2"):
        assert _states_equal(a["nets"][role], b["nets"][role]), role
    assert trained.teacher_evals == loaded.teacher_evals and trained.test == loaded.test
    assert [r["sup_t"] for r in trained.teacher] == pytest.approx([r["sup_t"] for r in loaded.teacher])
    assert loaded.meta["teacher_from"].endswith("last.pt")


def test_a_supervised_run_of_other_settings_is_refused_as_phase_a(small_digits, tmp_path):
    train(tiny_cfg(small_digits, tmp_path / "sup", method="supervised", teacher_epochs=None, lr=0.02),
          progress=False)
    with pytest.raises(GpslibError, match="not this run's phase a.*lr"):
        train(tiny_cfg(small_digits, tmp_path / "gps", teacher_epochs=None), progress=False,
              teacher_from=tmp_path / "sup")


def test_every_network_is_scored_once_on_the_test_split(small_digits, tmp_path):
    history = train(tiny_cfg(small_digits, tmp_path / "run", val_limit=None), progress=False)
    assert history.test["images"] == 8                          # every test scene of small_digits
    limited = train(tiny_cfg(small_digits, tmp_path / "short", val_limit=3), progress=False)
    assert limited.test["images"] == 3                          # val_limit cuts a short run's test scoring too
    assert {"miou_teacher", "miou_student1", "miou_student2"} <= set(history.test)
    assert all(0 <= history.test[f"miou_{r}"] <= 1 for r in ("teacher", "student1", "student2"))
