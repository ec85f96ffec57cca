"""The book's figures: method.py draws the method (image rows, phase a, the ramp-up), runs.py the recorded runs.
What every figure shares, and one run's own figures, are in gpslib.report; a figure starts with `figure(height)`
and ends with `return finish(fig, title)`."""
from ...report.figures import image_grid, latch_plot, plot_losses, plot_pseudo_label_accuracy
from .method import rampup_curves, teacher_curve
from .runs import (collapse_curves, full_supervision_bars, plot_fps_flow, plot_miou_curves, plot_rampup_variants,
                   prediction_comparison, pseudo_label_snapshots)

__all__ = ["image_grid", "latch_plot", "rampup_curves", "teacher_curve", "plot_fps_flow", "plot_losses",
           "plot_miou_curves", "plot_pseudo_label_accuracy", "plot_rampup_variants", "pseudo_label_snapshots",
           "prediction_comparison", "full_supervision_bars", "collapse_curves"]
