"""Prediction snapshots: what every evaluation keeps of a few images' label maps, and that it costs the run nothing."""
import json

import numpy as np
import torch

from gpslib import snapshots
from gpslib.data import build_datasets
from gpslib.evaluate import PSEUDO_SEED
from gpslib.history import History
from gpslib.predict import load_network
from gpslib.train import train

from conftest import tiny_cfg


def _cfg(root, out_dir, **overrides):
    return tiny_cfg(root, out_dir, **{"epochs": 2, **overrides})


def test_encode_decode_round_trip():
    rng = np.random.default_rng(0)
    maps = {"val/teacher/0": rng.integers(0, 11, (32, 32)), "unlabeled/students/3": rng.integers(0, 11, (16, 24))}
    back = snapshots.decode(json.loads(json.dumps(snapshots.encode(maps))))
    assert set(back) == set(maps)
    for name, value in maps.items():
        assert back[name].dtype == np.uint8 and np.array_equal(back[name], value)


def test_every_evaluation_keeps_the_maps_of_the_networks_it_scored(small_digits, tmp_path):
    with_maps = train(_cfg(small_digits, tmp_path / "on", snapshot_images=2), progress=False)
    without = train(_cfg(small_digits, tmp_path / "off", snapshot_images=0), progress=False)
    assert without.snapshots == [] and [r["miou_student1"] for r in without.evals] == \
        [r["miou_student1"] for r in with_maps.evals]                     # taking them changes no training
    assert [s["iteration"] for s in with_maps.snapshots] == [r["iteration"] for r in with_maps.evals]
    last = snapshots.decode(with_maps.snapshots[-1])
    assert set(last) == {f"val/{r}/{i}" for r in ("teacher", "student1", "student2") for i in (0, 1)} | \
        {f"unlabeled/{s}/{i}" for s in ("teacher", "students") for i in (0, 1)}
    # the last snapshot is what the saved networks predict: on a val image, and Y^{s-bar} on an unlabeled one
    cfg = _cfg(small_digits, tmp_path / "on", snapshot_images=2)
    data = build_datasets(cfg)
    nets = {role: load_network(tmp_path / "on" / "last.pt", role)[0] for role in ("teacher", "student1", "student2")}
    with torch.inference_mode():
        x_val = data.val[1][0][None]
        assert np.array_equal(last["val/student2/1"], nets["student2"](x_val).argmax(1)[0].numpy())
        x_u = data.unlabeled[(0, PSEUDO_SEED)][0][None]
        probs = nets["student1"](x_u).softmax(1) + nets["student2"](x_u).softmax(1)
        assert np.array_equal(last["unlabeled/students/0"], probs.argmax(1)[0].numpy())
        assert np.array_equal(last["unlabeled/teacher/0"], nets["teacher"](x_u).argmax(1)[0].numpy())
    # saved and loaded with the history; a history without them still loads
    reloaded = History.load(tmp_path / "on")
    assert reloaded.snapshots == with_maps.snapshots
    state = with_maps.state_dict()
    del state["snapshots"]
    assert History.from_state(state).snapshots == []


def test_supervised_runs_keep_only_their_network(small_digits, tmp_path):
    history = train(_cfg(small_digits, tmp_path / "sup", method="supervised", snapshot_images=1), progress=False)
    assert set(snapshots.decode(history.snapshots[-1])) == {"val/student1/0"}


def test_the_fig2_figure_shows_the_snapshots_of_the_first_and_last_evaluation(small_digits, tmp_path):
    from matplotlib.image import AxesImage

    from gpslib.book import figures
    from gpslib.data.palette import colorize
    history = train(_cfg(small_digits, tmp_path / "gps", snapshot_images=2), progress=False)
    data = build_datasets(_cfg(small_digits, tmp_path / "gps", snapshot_images=2))
    fig = figures.pseudo_label_snapshots(history, data=data)
    cells = [ax for ax in fig.axes if any(isinstance(c, AxesImage) for c in ax.get_children())]
    assert len(cells) == 6 * 2                       # image, mask, Y^t and Y^s-bar at the first and the last eval
    shown = [next(c for c in ax.get_children() if isinstance(c, AxesImage)).get_array() for ax in cells]
    last = snapshots.decode(history.snapshots[-1])
    assert np.array_equal(shown[4 * 2 + 1], colorize(last["unlabeled/teacher/1"], data.palette))
    assert np.array_equal(shown[5 * 2], colorize(last["unlabeled/students/0"], data.palette))


def test_the_fig5_figure_shows_each_runs_last_prediction_of_the_same_val_images(small_digits, tmp_path):
    from matplotlib.image import AxesImage

    from gpslib.book import figures
    from gpslib.data.palette import colorize
    runs = {"SupOnly": train(_cfg(small_digits, tmp_path / "sup", method="supervised", snapshot_images=2),
                             progress=False),
            "GPS": train(_cfg(small_digits, tmp_path / "gps", snapshot_images=2), progress=False)}
    data = build_datasets(_cfg(small_digits, tmp_path / "gps", snapshot_images=2))
    fig = figures.prediction_comparison(runs, data=data)
    cells = [ax for ax in fig.axes if any(isinstance(c, AxesImage) for c in ax.get_children())]
    assert len(cells) == 5 * 2     # image, ground truth, SupOnly's and GPS's S1, where GPS differs; 2 val images
    shown = [next(c for c in ax.get_children() if isinstance(c, AxesImage)).get_array() for ax in cells]
    assert np.array_equal(shown[1 * 2 + 1], colorize(data.val[1][1], data.palette))
    maps = []
    for row, history in enumerate(runs.values(), start=2):
        maps.append(snapshots.decode(history.snapshots[-1])["val/student1/0"])
        assert np.array_equal(shown[row * 2], colorize(maps[-1], data.palette))
    differ = np.asarray(maps[1]) != np.asarray(maps[0])   # the last row: GPS's colours where it differs, grey elsewhere
    assert np.array_equal(shown[4 * 2][differ], colorize(maps[1], data.palette)[differ])
    assert (shown[4 * 2][~differ] == 230).all()
    assert [ax.get_ylabel() for ax in fig.axes[::2][:4]] == ["image", "ground truth", "SupOnly", "GPS"]
