"""What every figure shares: colours, the page's size rule, legends and class keys that stay off the data, curves
that coincide, and how a figure is finished."""
from __future__ import annotations

from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import LogFormatter

# One colour per step of a GPS iteration, used by every figure that shows the steps.
PHASE_A = "#555555"    # teacher pre-training on labeled data
GUIDE = "#1f77b4"      # phase b: the guide step updates the students (eq. 7)
FEEDBACK = "#d95f02"   # phase c: the feedback step updates the teacher (eq. 10)
METHOD_COLORS = {"GPS": "#d62728", "CPS": "#1f77b4", "SupOnly": "#7f7f7f"}   # one colour per method in every figure

# The page rule. The book's text column is 688 px wide and a notebook renders a figure at its dpi, cropped to its
# content plus a 0.1 in margin (bbox_inches="tight"). A figure drawn FIG_WIDTH_IN wide at DPI therefore shows at
# its own size, and a 9 pt font stays 9 pt (12.5 px) on the page. A wider figure is shrunk to the column, and its
# fonts with it, so finish() raises them by as much (legible_size).
DPI = 100
PAGE_WIDTH_IN = 6.88
FIG_WIDTH_IN = 6.7
MIN_FONT_PT = 9.0
TEXT_PT = 10.0         # axis labels, titles, annotations
SMALL_PT = 9.0         # ticks, legends, class keys, cell titles
TITLE_PT = 10.5        # the figure's title (what made it)


def legible_size(fig) -> float:
    """The smallest font size (pt) that is still MIN_FONT_PT once the figure is shrunk to the page width."""
    return MIN_FONT_PT * max(1.0, fig.get_figwidth() / PAGE_WIDTH_IN)


def figure(height: float, nrows: int = 1, ncols: int = 1, width: float = FIG_WIDTH_IN, **subplots):
    """A new figure drawn at the column's width and the book's dpi, laid out by constrained layout (so labels,
    titles and outside legends never overlap); returns (fig, axes) as plt.subplots does."""
    return plt.subplots(nrows, ncols, figsize=(width, height), dpi=DPI, layout="constrained", **subplots)


# ------------------------------------------------------------------ text that fits
@lru_cache(maxsize=None)
def _renderer():
    from matplotlib.backends.backend_agg import RendererAgg
    return RendererAgg(10, 10, 72)          # at 72 dpi one pixel is one point


def text_width_pt(text: str, fontsize: float) -> float:
    """Width of one line of text (mathtext included) in points, as the Agg renderer draws it."""
    math = text.count("$") >= 2 and text.count("$") % 2 == 0
    width, _, _ = _renderer().get_text_width_height_descent(text, FontProperties(size=fontsize), ismath=math)
    return width


def _words(line: str) -> list[str]:
    """Words of a line, a $...$ formula with spaces kept as one word."""
    words: list[str] = []
    for word in line.split(" "):
        if words and words[-1].count("$") % 2:
            words[-1] += " " + word
        else:
            words.append(word)
    return [w for w in words if w]


def wrap(text: str, fontsize: float, width_in: float = FIG_WIDTH_IN) -> str:
    """Break text into lines no wider than width_in at fontsize (measured, not counted); kept newlines stay."""
    limit = width_in * 72
    lines = []
    for paragraph in text.split("\n"):
        line = ""
        for word in _words(paragraph):
            candidate = f"{line} {word}" if line else word
            if line and text_width_pt(candidate, fontsize) > limit:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return "\n".join(lines)


# ------------------------------------------------------------------ legends and keys below the axes
def legend_below(fig, handles, labels, fontsize: float = SMALL_PT, ncol: int | None = None, **kwargs):
    """A figure legend under the axes (constrained layout keeps its room), read row by row, in the fewest rows
    whose columns fit the figure's width (or in `ncol` columns)."""
    labels = [str(label) for label in labels]
    if not labels:
        return None
    if ncol is None:
        handle_pt = 2.0 * fontsize + 0.8 * fontsize + 2.0 * fontsize    # line sample + its gap + the column gap
        widths = [text_width_pt(label, fontsize) + handle_pt for label in labels]
        limit = fig.get_figwidth() * 72 - 2 * fontsize
        for rows in range(1, len(labels) + 1):
            ncol = -(-len(labels) // rows)
            if sum(max(widths[c::ncol]) for c in range(ncol)) <= limit:
                break
    ncol = max(1, min(ncol, len(labels)))
    # matplotlib fills a legend column by column, the first len % ncol columns one entry longer: reorder the
    # entries so that it reads in their order along each row
    full, extra = divmod(len(labels), ncol)
    order = [r * ncol + c for c in range(ncol) for r in range(full + (c < extra))]
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("constrained")
    return fig.legend([handles[i] for i in order], [labels[i] for i in order], loc="outside lower center",
                      ncol=ncol, frameon=False, fontsize=fontsize, **kwargs)


def label_map_cells(images, palette: np.ndarray, n_classes: int, ignore: int = 255) -> list[bool]:
    """Which images are label maps drawn in `palette`: every pixel is one of its class colours or the ignore
    colour (photos and scenes have many more colours)."""
    allowed = {tuple(c) for c in np.asarray(palette)[:n_classes]} | {tuple(np.asarray(palette)[ignore])}
    flags = []
    for image in images:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[-1] != 3:
            flags.append(False)
            continue
        colours = np.unique(image.reshape(-1, 3), axis=0)
        flags.append(len(colours) <= n_classes + 1 and all(tuple(c) in allowed for c in colours))
    return flags


def class_key(fig, images, class_names, palette: np.ndarray, ignore: int = 255):
    """A key under the figure to the class colours that appear in `images` (label maps), in class order."""
    palette = np.asarray(palette)
    present = set()
    for image in images:
        present |= {tuple(c) for c in np.unique(np.asarray(image).reshape(-1, 3), axis=0)}
    entries = [(name, palette[i]) for i, name in enumerate(class_names) if tuple(palette[i]) in present]
    if tuple(palette[ignore]) in present:
        entries.append((f"ignore ({ignore})", palette[ignore]))
    if not entries:
        return None
    handles = [Patch(facecolor=np.asarray(colour) / 255, edgecolor="0.4", linewidth=0.6) for _, colour in entries]
    return legend_below(fig, handles, [name for name, _ in entries], handlelength=1.2, handleheight=1.2,
                        title="class colours", title_fontsize=SMALL_PT)


# ------------------------------------------------------------------ curves that coincide
def _xy(curve):
    x, y = curve
    return np.asarray(x, float), np.asarray(y, float)


def curve_gap(a, b) -> float | None:
    """Largest |difference| between two curves (x, y) over their whole length; None when their x differ."""
    (xa, ya), (xb, yb) = _xy(a), _xy(b)
    if xa.shape != xb.shape or not np.allclose(xa, xb):
        return None
    return float(np.nanmax(np.abs(ya - yb))) if len(ya) else 0.0


def shared_until(a, b, tol: float):
    """The last x up to which curve b equals curve a from the start (None when they differ at once or agree
    everywhere)."""
    (xa, ya), (xb, yb) = _xy(a), _xy(b)
    n = min(len(xa), len(xb))
    same = (np.isclose(xa[:n], xb[:n])) & (np.abs(ya[:n] - yb[:n]) <= tol)
    k = int(np.argmin(same)) if not same.all() else n
    if k == 0 or (k == n and len(xa) == len(xb)):
        return None
    return xa[k - 1]


def coincident_labels(curves: dict, tol: float, what: str = "evaluation") -> list[tuple[list[str], str]]:
    """Curves (name -> (x, y)) in drawing order, those equal within tol merged: [(names, legend label)].

    A group reads "adaptive = fixed: identical at every evaluation" (or "≈ ...: within d"); a curve that only
    starts out equal to an earlier one says up to where ("fixed (= adaptive up to iteration 653)")."""
    groups: list[list[str]] = []
    gaps: dict[str, float] = {}
    for name, curve in curves.items():
        for group in groups:
            gap = curve_gap(curves[group[0]], curve)
            if gap is not None and gap <= tol:
                group.append(name)
                gaps[group[0]] = max(gaps.get(group[0], 0.0), gap)
                break
        else:
            groups.append([name])
    out = []
    for group in groups:
        if len(group) > 1:
            gap = gaps[group[0]]
            label = (f"{' = '.join(group)}: identical at every {what}" if gap == 0 else
                     f"{' ≈ '.join(group)}: within {gap:.2g} at every {what}")
        else:
            label = group[0]
            for earlier, _ in out:
                until = shared_until(curves[earlier[0]], curves[group[0]], tol)
                if until is not None:
                    label += f" (= {earlier[0]} up to {what} {until:g})"
                    break
        out.append((group, label))
    return out


# Drawing order of curves that may overlap: each later one thinner and dashed, so an earlier one shows around it.
OVERLAP_STYLES = [dict(ls="-", lw=3.2), dict(ls=(0, (5, 2)), lw=2.0), dict(ls=(0, (2, 1.5)), lw=1.6),
                  dict(ls=(0, (6, 2, 1, 2)), lw=1.4)]


# ------------------------------------------------------------------ zoom
def loss_axis(ax, values) -> None:
    """A log y axis where the values span more than a factor of 3, labelled with plain numbers (0.1, 2, 10) and
    only as many minor labels as stay apart; a linear one over a narrower span, where log ticks would crowd."""
    values = np.asarray([v for v in np.ravel(values) if np.isfinite(v) and v > 0])
    if len(values) and values.max() / values.min() > 3:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(_PlainLog(labelOnlyBase=False))
        ax.yaxis.set_minor_formatter(_PlainLog(labelOnlyBase=False, minor_thresholds=(1.2, 0.5)))


class _PlainLog(LogFormatter):
    """Log-axis labels as plain numbers (0.1, 2, 10) rather than 1e-01."""

    def _num_to_string(self, x, vmin, vmax):
        return f"{x:g}"


def zoom_after_start(ax, values: dict, start: float = 1.0, unit: str = "%", what: str = "epoch",
                     pad: float = 0.08) -> str:
    """Set the y range to the data from x >= start when the points before it (an untrained start) would squash
    the rest, and return a note that names what lies off the axis ("" when nothing does).

    values: name -> (x, y) (several seeds may share a name)."""
    later, early, where = [], {}, set()
    for name, curve in values.items():
        x, y = _xy(curve)
        later.extend(y[(x >= start) & np.isfinite(y)])
        before = (x < start) & np.isfinite(y)
        early.setdefault(name, []).extend(y[before])
        where |= set(x[before])
    if not later:
        return ""
    lo, hi = min(later), max(later)
    span = max(hi - lo, 1e-9)
    every = later + [v for vs in early.values() for v in vs]
    if max(every) - min(every) <= 1.5 * span:      # the start does not squash the rest: show everything
        return ""
    ax.set_ylim(lo - pad * span, hi + pad * span)
    at = f"{what} {', '.join(f'{x:g}' for x in sorted(where))}"
    notes = []
    for side, off in (("below", lambda v: v < lo - pad * span), ("above", lambda v: v > hi + pad * span)):
        part = {n: [v for v in vs if off(v)] for n, vs in early.items()}
        part = {n: vs for n, vs in part.items() if vs}
        if part:
            vs = [v for vals in part.values() for v in vals]
            span_text = f"{min(vs):.1f}{unit}" if max(vs) - min(vs) < 0.05 else f"{min(vs):.1f}–{max(vs):.1f}{unit}"
            notes.append(f"{side} the axis at {at}: {' and '.join(part)} ({span_text})")
    return "; ".join(notes)


# ------------------------------------------------------------------ finishing
def finish(fig, title: str | None = None, fontsize: float | None = None):
    """Title (if any, wrapped to the figure's width), the book's dpi, every font at least legible_size, a layout
    where nothing overlaps, and close in pyplot: the notebook displays the returned figure once."""
    fig.set_dpi(DPI)
    floor = legible_size(fig)
    if title:
        size = max(fontsize or TITLE_PT, floor)
        fig.suptitle(wrap(title, size, fig.get_figwidth() - 0.15), fontsize=size)
    for ax in fig.axes:     # tick labels are re-made at draw time from the axis' size, not from the Text objects
        ticks = ax.get_xticklabels() + ax.get_yticklabels()
        if ticks and min(tick.get_fontsize() for tick in ticks) < floor:
            ax.tick_params(labelsize=floor)
    for text in fig.findobj(Text):
        if text.get_text() and text.get_fontsize() < floor:
            text.set_fontsize(floor)
    if fig.get_layout_engine() is None:   # a figure not made by figure(): keep a figure legend's room free
        below = 0.0
        if fig.legends:
            fig.canvas.draw()
            below = max(legend.get_window_extent().height for legend in fig.legends) / fig.bbox.height
        fig.tight_layout(rect=(0, below, 1, 1))
    plt.close(fig)
    return fig


def blank(ax, text: str, width_in: float | None = None) -> None:
    """An empty panel that says why it is empty (wrapped to the panel)."""
    width = width_in or ax.figure.get_figwidth() * ax.get_position().width * 0.95
    ax.text(0.5, 0.5, wrap(text, TEXT_PT, width), ha="center", va="center", transform=ax.transAxes,
            fontsize=TEXT_PT)
