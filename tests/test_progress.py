"""Progress bars: every slow phase draws one on the stream `progress` names, and progress=False prints nothing."""
import io

import pytest
import torch

from gpslib import pretrain, progress
from gpslib.data import digits
from gpslib.evaluate import evaluate
from gpslib.train import loop, train

from conftest import tiny_cfg

TINY = dict(images=12, test_images=8, iterations=2, batch=4, size=32)


@pytest.fixture
def terminal(monkeypatch):
    """The stream progress="terminal" draws on (the stderr the process was started with), captured."""
    stream = io.StringIO()
    monkeypatch.setattr(progress, "_terminal", stream)
    return stream


def _quiet(capfd):
    """Nothing reached the real stdout or stderr (under papermill: the notebook's outputs)."""
    out, err = capfd.readouterr()
    return out == "" and err == ""


def _scenes(root, how):
    digits.ensure_digits(root, n_train=3, n_val=2, n_test=1, size=32, progress=how)


def _pretrain(root, how):
    pretrain.ensure_digit_encoder("resnet18", root, TINY, progress=how)


def _evaluate(_root, how):
    dataset = [(torch.randn(3, 16, 16), torch.randint(0, 3, (16, 16))) for _ in range(5)]
    evaluate(torch.nn.Conv2d(3, 3, 1), dataset, 3, batch_size=2, progress=how, desc="val: conv")


@pytest.mark.parametrize("phase, expected, unit", [
    (_scenes, ["digits scenes (test)", "6/6"], "scene"),
    (_pretrain, ["digits for pre-training", "20/20", "encoder pre-training (resnet18)", "2/2", "held-out accuracy"],
     "digit"),
    (_evaluate, ["val: conv", "/5 ["], "img"),       # cleared when done (leave=False): its total stays
])
def test_each_slow_phase_draws_its_bar_on_the_terminal_only(phase, expected, unit, terminal, tmp_path, capfd):
    phase(tmp_path / "on", "terminal")
    drawn = terminal.getvalue()
    assert all(text in drawn for text in expected), drawn
    assert f"{unit}/s" in drawn or f"s/{unit}" in drawn, drawn      # tqdm's rate, whichever way round
    assert _quiet(capfd)
    phase(tmp_path / "off", False)
    assert terminal.getvalue() == drawn and _quiet(capfd)


def test_true_draws_on_stderr_and_none_follows_the_enclosing_setting(terminal, tmp_path, capsys):
    _evaluate(None, True)
    out, err = capsys.readouterr()
    assert out == "" and "val: conv" in err
    _evaluate(None, None)                       # outside any reporting block: off, as in the book's pages
    with progress.reporting("terminal"):
        _scenes(tmp_path, None)
    assert capsys.readouterr() == ("", "") and "digits scenes" in terminal.getvalue()


def test_train_routes_its_setting_to_what_trainer_builds(terminal, tmp_path, monkeypatch, capfd):
    class Building:                             # stands for Trainer(): its datasets are generated while it is built
        def __init__(self, root, **_):
            _scenes(root, None)

        def run(self, resume):
            return None

    monkeypatch.setattr(loop, "Trainer", Building)
    loop.train(tmp_path / "off", progress=False)
    assert terminal.getvalue() == "" and _quiet(capfd)
    loop.train(tmp_path / "on", progress="terminal")
    assert "digits scenes" in terminal.getvalue() and _quiet(capfd)


def test_a_run_draws_phase_a_the_main_loop_and_every_evaluation(small_digits, tmp_path, terminal, capfd):
    quiet = train(tiny_cfg(small_digits, tmp_path / "quiet"), progress=False)
    assert terminal.getvalue() == "" and _quiet(capfd)
    shown = train(tiny_cfg(small_digits, tmp_path / "shown"), progress="terminal")
    drawn = terminal.getvalue()
    for name in ("phase a (teacher)", "gps (E=3)", "val: teacher", "val: student1", "val: student2",
                 "test: teacher", "test: student2"):
        assert name in drawn, name
    assert _quiet(capfd)
    assert (shown.evals, shown.test) == (quiet.evals, quiet.test)      # the bars change no number
