"""What every figure shares: one colour per step of a GPS iteration and per method, and how a figure is finished."""
from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
from matplotlib.text import Text

# One colour per step of a GPS iteration, used by every figure that shows the steps.
PHASE_A = "#555555"    # teacher pre-training on labeled data
GUIDE = "#1f77b4"      # phase b: the guide step updates the students (eq. 7)
FEEDBACK = "#d95f02"   # phase c: the feedback step updates the teacher (eq. 10)
METHOD_COLORS = {"GPS": "#d62728", "CPS": "#1f77b4", "SupOnly": "#7f7f7f"}   # one colour per method in every figure

# The rendered book shrinks a figure wider than its text column to the column, and its fonts with it.
PAGE_WIDTH_IN = 7.0
MIN_FONT_PT = 9.0


def legible_size(fig) -> float:
    """The smallest font size (pt) that is still MIN_FONT_PT once the figure is shrunk to the page width."""
    return MIN_FONT_PT * max(1.0, fig.get_figwidth() / PAGE_WIDTH_IN)


def finish(fig, title: str | None = None, fontsize: float | None = None):
    """Title (if any, wrapped to the figure's width), every font at least legible_size, tight layout, and close in
    pyplot: the notebook displays the returned figure once."""
    floor = legible_size(fig)
    if title is not None:
        size = max(fontsize or floor, floor)
        fig.suptitle(textwrap.fill(title, int(fig.get_figwidth() * 72 / (0.52 * size))), fontsize=size)
    for ax in fig.axes:     # tick labels are re-made at draw time from the axis' size, not from the Text objects
        ticks = ax.get_xticklabels() + ax.get_yticklabels()
        if ticks and min(tick.get_fontsize() for tick in ticks) < floor:
            ax.tick_params(labelsize=floor)
    for text in fig.findobj(Text):
        if text.get_text() and text.get_fontsize() < floor:
            text.set_fontsize(floor)
    below = 0.0               # a figure legend sits below the panels (loc="lower center"): keep its room free
    if fig.legends:
        fig.canvas.draw()
        below = max(legend.get_window_extent().height for legend in fig.legends) / fig.bbox.height
    fig.tight_layout(rect=(0, below, 1, 1))
    plt.close(fig)
    return fig


def blank(ax, text: str) -> None:
    """An empty panel that says why it is empty."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
