"""The book's figures. Each function returns a matplotlib Figure, finished and closed by `finish`.

method.py: the method itself (the rows of image grids, phase a, the ramp-up); runs.py: recorded runs
(pseudo-label snapshots, Figs. 4 and 5, mIoU curves, ablations, CPS's collapse). What every figure shares (colours,
the page rule, legends, `finish`) and one run's own figures are in gpslib.report, which train.ipynb also uses; a
new figure starts with `figure(height)` and ends with `return finish(fig, title)`.
"""
from ...report.figures import image_grid, latch_plot, plot_losses, plot_pseudo_label_accuracy, prediction_panel
from ...report.style import FEEDBACK, GUIDE, METHOD_COLORS, PHASE_A, finish
from .method import rampup_curves, teacher_curve
from .runs import (collapse_curves, full_supervision_bars, plot_fps_flow, plot_miou_curves, plot_rampup_variants,
                   prediction_comparison, pseudo_label_snapshots)

__all__ = ["image_grid", "latch_plot", "rampup_curves", "teacher_curve", "plot_fps_flow",
           "plot_losses", "plot_miou_curves", "plot_pseudo_label_accuracy", "plot_rampup_variants",
           "prediction_panel", "pseudo_label_snapshots", "prediction_comparison", "full_supervision_bars",
           "collapse_curves", "finish", "FEEDBACK", "GUIDE", "METHOD_COLORS", "PHASE_A"]
