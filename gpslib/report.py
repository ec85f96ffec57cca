"""Former home of the book's tables, figures and verdicts, kept until the notebooks import the new modules.

Everything here is a name of tables.py, claims.py, figures/, experiments.py or parameters.py; nothing is
defined here. New code imports those modules directly; delete this file once book/*.ipynb no longer use it.
"""
from __future__ import annotations

from typing import Any

from . import parameters
from .claims import (flow_verdict, headline, latch_text, learned_text, rampup_text, table4_text,  # noqa: F401
                     update_text, verdict)
from .config import Config, is_none  # noqa: F401
from .config import parse_flag as as_flag  # noqa: F401
from .experiments import missing_text, rerun  # noqa: F401
from .figures import (plot_fps_flow, plot_losses, plot_miou_curves, plot_pseudo_label_accuracy,  # noqa: F401
                      plot_rampup_variants, prediction_panel)
from .figures import latch_plot
from .figures.style import METHOD_COLORS  # noqa: F401
from .tables import LOSS_LABELS, METHOD_LABELS, PAPER_RAMPDOWN, PAPER_TABLE4, ROLE_LABELS  # noqa: F401
from .tables import (budget_table, commands_table, describe_run, describe_runs, final_miou, loss_frame,  # noqa: F401
                     miou_at, miou_frame, per_class_table, probe_table, student_miou, summary_table, table4)


def config_from_parameters(dataset: str, partition: Any, config_file: Any = None, **fields: Any) -> Config:
    """Old signature of parameters.config_from_parameters, which takes one mapping of parameters."""
    return parameters.config_from_parameters({"dataset": dataset, "partition": partition,
                                              "config_file": config_file, **fields})


def plot_rampup(history):
    """figures.latch_plot with a running mean over about 1/15 of the run."""
    return latch_plot(history, smooth_window=None)
