"""The book's figures. Each function returns a matplotlib Figure, finished and closed by `style.finish`.

method.py: the method itself (GPS diagram, image grids, phase a, ramp-up and latch); runs.py: trained runs
(losses, pseudo-label accuracy, predictions, pseudo-label snapshots, Figs. 4 and 5, mIoU curves, ablations);
style.py: colours, the page rule (drawn 6.7 in wide at 100 dpi, no font under 9 pt, so a figure shows at its own
size in the 688 px column), legends and class keys below the axes, curves that coincide, and the finishing step. A new figure starts with
`style.figure(height)` and ends with `return finish(fig, title)`.
"""
from .method import gps_diagram, image_grid, latch_plot, rampup_curves, teacher_curve
from .runs import (collapse_curves, full_supervision_bars, plot_fps_flow, plot_losses, plot_miou_curves, plot_pseudo_label_accuracy,
                   plot_rampup_variants, prediction_comparison, prediction_panel, prediction_rows, pseudo_label_snapshots)
from . import style
from .style import FEEDBACK, GUIDE, METHOD_COLORS, PHASE_A, finish

__all__ = ["gps_diagram", "image_grid", "latch_plot", "rampup_curves", "teacher_curve", "plot_fps_flow",
           "plot_losses", "plot_miou_curves", "plot_pseudo_label_accuracy", "plot_rampup_variants",
           "prediction_panel", "prediction_rows", "pseudo_label_snapshots",
           "prediction_comparison", "full_supervision_bars", "collapse_curves", "finish", "FEEDBACK", "GUIDE", "METHOD_COLORS", "PHASE_A"]
