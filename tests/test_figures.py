"""The book's figures on the page: drawn for the 688 px column with no font under 9 pt there, nothing that overlaps,
keys below the data, coinciding curves named, axes zoomed to the data, a key to every label map's colours."""
from __future__ import annotations

import io
import itertools
import math
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib.text import Text  # noqa: E402
from PIL import Image  # noqa: E402

from gpslib.book import experiments, explain, figures  # noqa: E402
from gpslib.report import style  # noqa: E402
from gpslib.data.palette import DIGIT_CLASSES, PALETTE, colorize  # noqa: E402
from gpslib.history import History  # noqa: E402

COLUMN_PX = 688


def history(method="gps", epochs=3, ipe=4, latch=2, rampup="adaptive", accuracy=None, **config) -> History:
    """A small complete run: phase a (GPS), every logged term per iteration, one evaluation per epoch."""
    roles = {"gps": ("teacher", "student1", "student2"), "cps": ("student1", "student2")}[method]
    h = History({"dataset": "digits", "partition": "1/8", "method": method, "epochs": epochs, "rampup": rampup,
                 "backbone": "resnet18", "batch_labeled": 8, "batch_unlabeled": 8, "pseudo_eval_images": 8,
                 **config},
                {"device": "cpu", "iters_per_epoch": ipe, "max_iter": epochs * ipe, "teacher_iters": 6})
    if method == "gps":
        h.teacher = [{"iteration": i, "sup_t": 2.0 / (i + 1), "lr_teacher": 0.01} for i in range(6)]
        h.meta["rampup"] = {"r": latch or epochs, "latched_epoch": latch,
                            "latched_iteration": latch * ipe - 1 if latch else None}
    for i in range(epochs * ipe):
        e = i // ipe + 1
        row = {"iteration": i, "epoch": e, "lr_students": 0.01, "sup_s": 1.0 / (i + 1), "cps": 0.4, "guide": 1.5}
        if method == "gps":
            w = 1.0 if rampup == "none" or (latch and e > latch) else math.exp(-(1 - e / epochs) ** 2)
            row.update(w=w, alpha_scale=1.0, lr_teacher=1e-4, gps=0.5, sup_t=0.3, fps=1.0 / (i + 1), feedback=0.4)
        h.iterations.append(row)
    for k in range(epochs + 1):
        ev = {"iteration": k * ipe, "epoch": float(k)}
        for role in roles:
            start = 0.6 if role == "teacher" else 0.005          # students start untrained
            ev[f"miou_{role}"] = start if k == 0 else 0.4 + 0.1 * k
        if method == "gps":
            ev.update(acc_teacher=0.9, acc_students=0.02 if k == 0 else 0.9 + 0.02 * k)
            ev["agreement"] = ev["acc_students"] if accuracy == "same" else 0.03 if k == 0 else 0.8 + 0.03 * k
        h.evals.append(ev)
    return h


def label_rows(n=3):
    """Two image rows: noisy photos-like images, then label maps of classes 0, 1, 2 and the ignore label."""
    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) for _ in range(n)]
    mask = np.zeros((16, 16), np.int64)
    mask[4:8, 4:8], mask[8:12, 8:12], mask[0, :] = 1, 2, 255
    return [photos, [colorize(mask, PALETTE)] * n]


def every_figure():
    """Each figure function as the chapters call it, on synthetic runs."""
    gps, cps = history(), history("cps")
    return {
        "image_grid": figures.image_grid(label_rows(8), row_labels=["image", "mask"], title="digits " * 30,
                                         titles=[f"seed {i}" for i in range(16)]),
        "teacher_curve": figures.teacher_curve(gps.teacher, title="Teacher loss in phase a — digits, cpu"),
        "rampup_curves": figures.rampup_curves(explain.rampup_schedules(4, latch_epoch=2), title="w(e) " * 30),
        "latch_plot": figures.latch_plot(gps, smooth_window=None),
        "plot_losses": figures.plot_losses(gps),
        "plot_pseudo_label_accuracy": figures.plot_pseudo_label_accuracy(gps),
        "plot_miou_curves": figures.plot_miou_curves({"gps": gps, "cps": cps, "gps-s1": history(),
                                                      "gps-1_16": history(partition="1/16")}),
        "plot_fps_flow": figures.plot_fps_flow({"two_step": gps, "merged": history(latch=None)}),
        "full_supervision_bars": figures.full_supervision_bars(
            {"supervised-all": history(), "supervised-all-s1": history(), "gps-1_2": gps, "gps-1_2-s1": history(),
             "gps-dagger-all": history()}),
        "plot_rampup_variants": figures.plot_rampup_variants({"adaptive": gps, "none": history(rampup="none")}),
        "collapse_curves": figures.collapse_curves({"GPS": {"gps": students(gps, 0.8)},
                                                    "CPS": {"cps": students(cps, 0.8)}}, truth=0.8),
    }


def students(h: History, background: float, agreement: float = 0.9) -> History:
    """h with the students' background share and agreement logged at every evaluation."""
    for ev in h.evals:
        ev.update(background_student1=background, background_student2=background, agreement_students=agreement)
    return h


@pytest.fixture(scope="module")
def drawn():
    return every_figure()


def png_width(fig) -> int:
    """Width of the PNG a notebook shows: the figure at its dpi, cropped to its content (bbox_inches="tight")."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight")
    return Image.open(buffer).size[0]


def drawn_on_agg(fig):
    """Lay the (closed) figure out and draw it as the PNG is drawn; returns the renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def visible_texts(artist):
    return [t for t in artist.findobj(Text) if t.get_text().strip() and t.get_visible()]


def drawn_texts(ax):
    """The texts an axes draws: its labels, titles and notes, and the tick labels inside its view (matplotlib
    keeps, but does not draw, the labels of ticks outside it)."""
    ticks = []
    for axis in (ax.xaxis, ax.yaxis):
        low, high = sorted(axis.get_view_interval())
        for tick in axis.get_major_ticks() + axis.get_minor_ticks():
            if low - 1e-9 * (high - low) <= tick.get_loc() <= high + 1e-9 * (high - low):
                ticks += [tick.label1, tick.label2]
    shown = {id(t) for t in visible_texts(ax)}
    labels = {id(t) for axis in (ax.xaxis, ax.yaxis) for t in axis.get_ticklabels(which="both")}
    return [t for t in visible_texts(ax) if id(t) not in labels] + [t for t in ticks if id(t) in shown]


def test_every_font_is_at_least_9_pt_once_the_page_shows_the_figure(drawn):
    for name, fig in drawn.items():
        width = png_width(fig)
        shown = min(1.0, COLUMN_PX / width)                         # a wider PNG is shrunk to the column
        smallest = min(t.get_fontsize() for t in visible_texts(fig)) * shown
        assert smallest >= style.MIN_FONT_PT, f"{name}: {smallest:.1f} pt on the page"
        assert width <= COLUMN_PX, f"{name} is drawn wider than the column"


def test_the_page_rule_itself_fails_a_figure_wider_than_the_column():
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(13, 3), dpi=style.DPI)
    ax.set_title("too small once shrunk", fontsize=9)
    assert png_width(fig) > COLUMN_PX                               # the check above would catch it
    finished = style.finish(fig)                                    # finish raises its fonts by as much
    assert ax.title.get_fontsize() * COLUMN_PX / png_width(finished) >= style.MIN_FONT_PT - 0.3


def overlaps(a, b, slack: float = 1.0) -> bool:
    """Two display boxes share more than `slack` pixels each way."""
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > slack) and (min(a.y1, b.y1) - max(a.y0, b.y0) > slack)


def test_no_text_of_one_panel_runs_into_another_panel_or_the_title(drawn):
    for name, fig in drawn.items():
        renderer = drawn_on_agg(fig)
        panels = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
        boxes = {id(ax): [t.get_window_extent(renderer) for t in drawn_texts(ax)] for ax in panels}
        for a, b in itertools.combinations(panels, 2):
            if a.bbox.bounds == b.bbox.bounds:                        # a twin axis shares its panel
                continue
            for box_a, box_b in itertools.product(boxes[id(a)], boxes[id(b)]):
                assert not overlaps(box_a, box_b), f"{name}: text of two panels overlap"
            for box in boxes[id(a)]:
                assert not overlaps(box, b.bbox), f"{name}: a text of one panel runs into another"
        if fig._suptitle is not None:
            title = fig._suptitle.get_window_extent(renderer)
            for ax in panels:
                assert not overlaps(title, ax.get_tightbbox(renderer)), f"{name}: title runs into a panel"


def test_legends_and_keys_sit_below_the_data(drawn):
    for name, fig in drawn.items():
        renderer = drawn_on_agg(fig)
        assert fig.legends, f"{name} has no key below its panels"
        for legend in fig.legends:
            box = legend.get_window_extent(renderer)
            for ax in fig.axes:
                if ax.get_visible() and ax.axison:
                    assert not overlaps(box, ax.bbox), f"{name}: the legend covers a panel"
                    assert box.y1 <= ax.bbox.y0 + 1, f"{name}: the legend is not below the panels"
        assert not any(ax.get_legend() for ax in fig.axes), f"{name}: a legend inside a panel"


def legend_labels(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_two_identical_runs_are_drawn_once_and_the_legend_says_so():
    fig = figures.plot_rampup_variants({"adaptive": history(), "fixed": history(rampup="fixed")})
    assert "w(e) of adaptive = fixed: identical at every iteration" in legend_labels(fig)
    assert len(fig.axes[0].lines) == 1

    fig = figures.plot_pseudo_label_accuracy(history(accuracy="same"))
    labels = legend_labels(fig)
    assert any("= agreement of the two students: identical at every evaluation" in label for label in labels)
    assert len(fig.axes[0].lines) == 2                      # teacher, and the two that coincide drawn once


def test_runs_that_differ_keep_their_own_lines_and_a_shared_start_is_named():
    fig = figures.plot_rampup_variants({"adaptive": history(latch=1), "fixed": history(latch=None)})
    labels = legend_labels(fig)
    assert "w(e) of adaptive" in labels and "w(e) of fixed (= adaptive up to iteration 3)" in labels
    assert len(fig.axes[0].lines) == 2
    fig = figures.plot_pseudo_label_accuracy(history())
    assert not any("identical" in label for label in legend_labels(fig)) and len(fig.axes[0].lines) == 3


def test_the_collapse_figure_draws_each_group_of_runs_as_its_mean_over_seeds():
    groups = {"CPS": {"cps": students(history("cps"), 0.7), "cps-s1": students(history("cps", seed=1), 0.9, 0.5)},
              "CPS, X^u only": {"cps": students(history("cps"), 0.99, 1.0)}}
    fig = figures.collapse_curves(groups, truth=0.8)
    top, bottom = fig.axes[0], fig.axes[1]
    assert [line.get_ydata()[0] for line in top.lines[:2]] == pytest.approx([80.0, 99.0])    # mean of 70 and 90
    assert [line.get_ydata()[-1] for line in bottom.lines] == pytest.approx([70.0, 100.0])
    assert top.lines[2].get_ydata()[0] == pytest.approx(80.0)                                 # the hidden masks
    assert legend_labels(fig) == ["CPS", "CPS, X^u only", "background in the hidden masks"]


def test_figures_of_no_runs_say_so():
    empty = History({"dataset": "digits", "partition": "1/8", "method": "gps"}, {"device": "cpu"})
    for fig in (figures.plot_miou_curves({}), figures.plot_fps_flow({}), figures.plot_rampup_variants({}),
                figures.plot_losses(empty)):
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        assert any("no recorded runs" in t or "No loss" in t for t in texts)


def test_coincidence_helpers_follow_their_tolerance():
    x = np.arange(5)
    curves = {"a": (x, x * 1.0), "b": (x, x + 0.01), "c": (x, np.where(x < 2, x, 9.0))}
    assert style.coincident_labels(curves, 0.0) == [(["a"], "a"), (["b"], "b"), (["c"], "c (= a up to evaluation 1)")]
    assert style.coincident_labels(curves, 0.02)[0] == (["a", "b"], "a ≈ b: within 0.01 at every evaluation")
    assert style.curve_gap((x, x), (x + 1, x)) is None                   # other x: never one curve


def test_miou_axes_start_at_0_on_one_scale_and_hold_every_point():
    main = experiments.load_results("main")
    if not main:
        pytest.skip("no recorded main runs")
    fig = figures.plot_miou_curves(main)
    limits = {ax.get_ylim() for ax in fig.axes}
    assert len(limits) == 1 and next(iter(limits))[0] == 0        # one scale, from 0: nothing is cut
    top = next(iter(limits))[1]
    assert all(0 <= y <= top for ax in fig.axes for line in ax.lines for _, y in line.get_xydata())
    assert all(ax.get_xlabel() in ("epoch", "") for ax in fig.axes)


def test_label_maps_get_a_key_of_their_classes_and_photos_none():
    rows = label_rows()
    assert style.label_map_cells(rows[0] + rows[1], PALETTE, len(DIGIT_CLASSES)) == [False] * 3 + [True] * 3
    key = legend_labels(figures.image_grid(rows))
    assert key == ["background", "0", "1", "ignore (255)"]
    assert not figures.image_grid(rows[:1]).legends
    assert not figures.image_grid(rows, key=False).legends
    named = figures.image_grid(rows, classes=["sky", "cat", "dog"], palette=PALETTE)
    assert legend_labels(named) == ["sky", "cat", "dog", "ignore (255)"]


def test_prediction_rows_feed_an_image_grid_with_a_key():
    import torch
    torch.manual_seed(0)
    val = [(torch.randn(3, 16, 16), torch.randint(0, 3, (16, 16))) for _ in range(3)]
    data = SimpleNamespace(val=val, palette=PALETTE)
    from gpslib.report.figures import prediction_rows
    rows = prediction_rows(torch.nn.Conv2d(3, 11, 1), data, n=2, eval_mode="whole", crop=16)
    assert [len(r) for r in rows] == [2, 2, 2]
    fig = figures.image_grid(rows, row_labels=["image", "ground truth", "prediction of S1"], classes=DIGIT_CLASSES)
    assert {"background", "0", "1"} <= set(legend_labels(fig))


def test_image_grid_is_as_tall_as_its_images_need():
    fig = figures.image_grid(label_rows(8), row_labels=["image", "mask"])
    drawn_on_agg(fig)
    for ax in fig.axes:
        shown, given = ax.get_position(original=False), ax.get_position(original=True)
        assert shown.width == pytest.approx(given.width, rel=0.03)      # the image fills its cell's width
        assert shown.height == pytest.approx(given.height, rel=0.05)    # and no spare room floats above it


def test_legend_reads_row_by_row_in_the_given_order():
    import matplotlib.pyplot as plt
    fig, ax = style.figure(2.0)
    lines = [ax.plot([0, 1], [i, i])[0] for i in range(7)]
    labels = [f"entry {i} with a longer name" for i in range(7)]
    legend = style.legend_below(fig, lines, labels)
    fig.canvas.draw()
    texts = sorted(legend.get_texts(), key=lambda t: (-round(t.get_window_extent().y0), t.get_window_extent().x0))
    assert [t.get_text() for t in texts] == labels
    assert 1 < legend._ncols < 7                                 # it needed more than one row, and used few
    plt.close(fig)


def test_wrap_measures_lines_and_keeps_formulas_whole():
    text = "Loss terms — " + "digits 1/8, GPS, 436 phase-a + 872 it, $w(e)\\,\\gamma L_{fps}$, cpu " * 3
    wrapped = style.wrap(text, 10, 3.0)
    assert wrapped.replace("\n", " ").split() == text.split()
    for line in wrapped.split("\n"):
        assert style.text_width_pt(line, 10) <= 3.0 * 72 or " " not in line
        assert line.count("$") % 2 == 0
