"""What every figure shares: one colour per step of a GPS iteration and per method, and how a figure is finished."""
from __future__ import annotations

import matplotlib.pyplot as plt

# One colour per step of a GPS iteration, used by every figure that shows the steps.
PHASE_A = "#555555"    # teacher pre-training on labeled data
GUIDE = "#1f77b4"      # phase b: the guide step updates the students (eq. 7)
FEEDBACK = "#d95f02"   # phase c: the feedback step updates the teacher (eq. 10)
METHOD_COLORS = {"GPS": "#d62728", "CPS": "#1f77b4", "SupOnly": "#7f7f7f"}   # one colour per method in every figure


def finish(fig, title: str | None = None, fontsize: float = 10):
    """Title (if any), tight layout, and close in pyplot: the notebook displays the returned figure once."""
    if title is not None:
        fig.suptitle(title, fontsize=fontsize)
    fig.tight_layout()
    plt.close(fig)
    return fig


def blank(ax, text: str) -> None:
    """An empty panel that says why it is empty."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
