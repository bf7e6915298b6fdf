"""The plots the notebook draws live: the epsilon V-curve and the per-parameter breakdown.

They are made with ``pyplot.subplots`` so that they display inline in Jupyter, with fixed margins
that fit their labels. The notebook shows them at their own size (``bbox_inches=None``), so showing
one is one drawing, and a new plot is returned not stale (``_finished``), so pyplot's redraw after
each cell skips it: Jupyter draws each plot once, not three times. (The diagrams and the epsilon
demo the notebook shows are committed PNG files, drawn by the instructor-side ``grader/diagrams.py``.)
"""

import numpy as np

FORWARD = "#1f5fa8"
FORWARD_FILL = "#e8f0fb"
BACKWARD = "#c0392b"
BACKWARD_FILL = "#fbeceb"
NEUTRAL = "#444444"
NEUTRAL_FILL = "#f2f2f2"
DISPLAY_FLOOR = 1e-18
MARGINS = {"left": 0.11, "right": 0.97, "bottom": 0.12, "top": 0.92}  # fractions of the figure


_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


def _decade(value, _position=None):
    """A log axis' tick label as plain text, such as 10⁻⁷ (matplotlib's own is mathtext, which every
    new figure parses again: a third of the time it takes to draw these plots)."""
    exponent = np.log10(value) if value > 0 else np.nan
    if not np.isfinite(exponent) or abs(exponent - round(exponent)) > 1e-9:
        return f"{value:g}"
    return "10" + str(int(round(exponent))).translate(_SUPERSCRIPT)


def _plain_log_labels(*axes):
    from matplotlib.ticker import FuncFormatter

    for axis in axes:
        axis.set_major_formatter(FuncFormatter(_decade))


def _new_axes(ax, figsize):
    """(figure, axes): the given axes and its figure, or a new pyplot figure for the notebook."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib import pyplot

    return pyplot.subplots(figsize=figsize, gridspec_kw=MARGINS)


def _finished(figure, new):
    """The figure; a new one marked as not stale. In Jupyter, pyplot redraws every stale figure after
    each cell, and the inline backend then draws it again to show it: that first drawing (60-90 ms
    for these plots) is thrown away. A figure on the caller's axes is theirs, and left as it is."""
    if new:
        figure.stale = False
    return figure


def plot_v_curve(epsilons, differences, threshold,
                 title="Gradient check: relative difference against epsilon", ax=None):
    """Log-log plot of the relative difference against epsilon.

    epsilons, differences -- 1-D sequences of equal length; zero or non-finite points are skipped
    threshold -- float, drawn as a dashed horizontal line
    ax -- optional axes to draw on
    returns: the Figure
    """
    new = ax is None
    figure, ax = _new_axes(ax, (7, 4.5))
    epsilons = np.asarray(epsilons, dtype=np.float64).reshape(-1)
    differences = np.asarray(differences, dtype=np.float64).reshape(-1)
    if epsilons.shape != differences.shape:
        raise ValueError(f"{epsilons.size} epsilons but {differences.size} differences")
    keep = np.isfinite(epsilons) & np.isfinite(differences) & (epsilons > 0) & (differences > 0)
    ax.plot(epsilons[keep], differences[keep], marker="o", markersize=5, color=FORWARD,
            label="relative difference")
    if np.isfinite(threshold) and threshold > 0:
        ax.axhline(threshold, color=BACKWARD, linestyle="--", linewidth=1.2,
                   label=f"threshold = {threshold:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_labels(ax.xaxis, ax.yaxis)
    ax.minorticks_off()  # every decade is labelled and on the grid; minor ticks would double the drawing
    if not keep.any():  # nothing to plot: pick limits, a log axis cannot autoscale on no data
        ax.set_xlim(1e-12, 1e-1)
        if not (np.isfinite(threshold) and threshold > 0):
            ax.set_ylim(1e-16, 1)
    ax.set_xlabel("epsilon")
    ax.set_ylabel("relative difference")
    ax.set_title(title, y=1.0)  # placed, so that drawing does not measure every tick label to place it
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return _finished(figure, new)


def _short(value):
    """A difference in short scientific notation; 0, nan and inf spelled out."""
    return "0" if value == 0 else (f"{value:.1e}" if np.isfinite(value) else str(value))


def plot_difference_by_parameter(differences, threshold, ax=None):
    """Bar chart of the relative difference per parameter, on a log scale.

    differences -- dict mapping parameter names to floats; 0, nan and inf are shown and labelled
    threshold -- float; bars at or above it are red, the others green, and nan (0/0: no gradient) grey
    ax -- optional axes to draw on
    returns: the Figure
    """
    new = ax is None
    figure, ax = _new_axes(ax, (7, 4.5))
    names = list(differences)
    values = np.array([float(differences[name]) for name in names], dtype=np.float64)
    shown = values[np.isfinite(values) & (values > 0)]
    reference = [threshold] if np.isfinite(threshold) and threshold > 0 else []
    ceiling = max([1.0, *shown, *reference]) * 10  # where nan and inf bars end
    heights = np.where(np.isfinite(values), np.maximum(np.nan_to_num(values), DISPLAY_FLOOR),
                       ceiling)
    extent = [*heights, *reference] or [1.0]
    lowest = min(extent) / 10
    colours = [NEUTRAL if np.isnan(value) else "#2e7d32" if value < threshold else BACKWARD for value in values]
    positions = np.arange(len(names))
    ax.bar(positions, heights - lowest, bottom=lowest, color=colours, width=0.6)
    for position, height, value in zip(positions, heights, values):
        ax.text(position, height * 1.5, _short(value), ha="center", va="bottom", fontsize=9,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    if reference:
        ax.axhline(threshold, color=NEUTRAL, linestyle="--", linewidth=1.2,
                   label=f"threshold = {threshold:g}")
        ax.legend(loc="upper left")
    ax.set_yscale("log")
    _plain_log_labels(ax.yaxis)
    ax.set_ylim(lowest, max(extent) * 1e3)
    ax.set_xlim(-0.6, max(len(names), 1) - 0.4)
    ax.set_xticks(positions, names)
    ax.set_xlabel("parameter")
    ax.set_ylabel("relative difference")
    ax.set_title("Relative difference by parameter", y=1.0)  # (see plot_v_curve)
    return _finished(figure, new)


def verdict(value, threshold):
    """What a difference says: "ok" below the threshold, "no gradient" for 0/0, else "DISAGREES"."""
    value = float(value)
    if np.isnan(value):
        return "no gradient (0/0)"
    return "ok" if value < threshold else "DISAGREES"


def difference_table(differences, threshold):
    """Plain-text table: parameter, difference (3 significant digits), verdict.

    differences -- dict mapping parameter names to floats; threshold -- float
    returns: str, one row per parameter. The verdict is "ok" if difference < threshold, and
    "no gradient (0/0)" for nan: a parameter whose backprop and numerical gradients are both
    exactly 0 (a dead ReLU unit, say) has nothing to compare, which is not a disagreement.
    """
    header = ("parameter", "difference", "verdict")
    rows = [(name, f"{float(value):.2e}", verdict(value, threshold)) for name, value in differences.items()]
    widths = [max(len(row[k]) for row in [header, *rows]) for k in range(3)]
    lines = [header, tuple("-" * width for width in widths), *rows]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
                     for line in lines)
