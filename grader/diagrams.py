"""The notebook's fixed pictures, backprop.png, vectorization.png and epsilon.png, drawn reproducibly.

Instructor-side: students receive the PNG files, not this code. ``make figures`` runs

    python -m grader.diagrams source/gradient_checking/figures

The diagrams are built on bare ``Figure`` objects, so they are saved without pyplot.
"""

import os
import sys

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from helpers.figures import BACKWARD, BACKWARD_FILL, FORWARD, FORWARD_FILL, MARGINS, NEUTRAL, NEUTRAL_FILL
from helpers.fixtures import seed_case
from helpers.vectorize import dictionary_to_vector


def _canvas(width, height):
    """A Figure whose single axes spans it, with data coordinates in inches."""
    figure = Figure(figsize=(width, height))
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    return figure, ax


def _box(ax, centre, size, title, subtitle, colour, fill):
    """A rounded box with a bold title and an optional smaller subtitle below it."""
    (x, y), (width, height) = centre, size
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0,rounding_size=0.08",
                                facecolor=fill, edgecolor=colour, linewidth=1.6))
    title_y = y + 0.12 if subtitle else y
    ax.text(x, title_y, title, ha="center", va="center", fontsize=11, weight="bold", color=colour)
    if subtitle:
        ax.text(x, y - 0.16, subtitle, ha="center", va="center", fontsize=10, color=colour)


def _arrow(ax, start, end, colour, width=1.6):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color=colour,
                                 linewidth=width, shrinkA=0, shrinkB=0))


def backprop_diagram():
    """Forward and backward pass through the seed's 3-layer net. Returns a 12x5-inch Figure."""
    figure, ax = _canvas(12, 5)
    forward_y, backward_y, gap, first_left = 3.55, 1.85, 0.58, 0.85
    # (title, width, layer of its parameters) for each box of the forward pass
    stages = [("LINEAR", 1.05, 1), ("RELU", 0.85, None), ("LINEAR", 1.05, 2), ("RELU", 0.85, None),
              ("LINEAR", 1.05, 3), ("SIGMOID", 1.05, None), ("cost $J$", 1.5, None)]
    lefts = first_left + np.cumsum([0] + [width + gap for _, width, _ in stages[:-1]])
    edges = [(left, left + width) for left, (_, width, _) in zip(lefts, stages)]
    centres = [(left + right) / 2 for left, right in edges]

    def labelled_arrow(start, end, label, colour):
        _arrow(ax, start, end, colour)
        ax.text((start[0] + end[0]) / 2, start[1] + 0.08, label, ha="center", va="bottom",
                fontsize=13, color=colour)

    ax.text(6, 4.7, "Backpropagation through a 3-layer neural net", ha="center", va="center",
            fontsize=15, weight="bold", color="#222222")
    labelled_arrow((0.15, forward_y), (first_left, forward_y), "$X$", FORWARD)
    for centre, (title, width, layer) in zip(centres[:-1], stages):
        subtitle = f"$W^{{[{layer}]}}, b^{{[{layer}]}}$" if layer else None
        _box(ax, (centre, forward_y), (width, 0.8), title, subtitle, FORWARD, FORWARD_FILL)
    cost_x, cost_width = centres[-1], stages[-1][1]
    _box(ax, (cost_x, forward_y), (cost_width, 0.8), "cost $J$", "cross-entropy", NEUTRAL,
         NEUTRAL_FILL)
    forward_labels = ["$Z^{[1]}$", "$A^{[1]}$", "$Z^{[2]}$", "$A^{[2]}$", "$Z^{[3]}$", "$A^{[3]}$"]
    for (_, right), (next_left, _), label in zip(edges, edges[1:], forward_labels):
        labelled_arrow((right, forward_y), (next_left, forward_y), label, FORWARD)
    _arrow(ax, (cost_x, 4.3), (cost_x, forward_y + 0.4), NEUTRAL)
    ax.text(cost_x + 0.1, 4.22, "$Y$", ha="left", va="center", fontsize=13, color=NEUTRAL)

    for centre, (title, width, layer) in zip(centres[:5], stages):
        _box(ax, (centre, backward_y), (width, 0.7), title, "backward", BACKWARD, BACKWARD_FILL)
        if layer:
            _arrow(ax, (centre, backward_y - 0.35), (centre, 0.9), BACKWARD)
            ax.text(centre, 0.8, f"$dW^{{[{layer}]}},\\ db^{{[{layer}]}}$", ha="center",
                    va="top", fontsize=13, color=BACKWARD)
    ax.add_line(Line2D([cost_x, cost_x], [forward_y - 0.4, backward_y], color=BACKWARD,
                       linewidth=1.6, solid_capstyle="projecting"))
    labelled_arrow((cost_x, backward_y), (edges[4][1], backward_y), "$dZ^{[3]} = A^{[3]} - Y$",
                   BACKWARD)
    backward_labels = ["$dA^{[2]}$", "$dZ^{[2]}$", "$dA^{[1]}$", "$dZ^{[1]}$"]
    for (left, _), (_, previous_right), label in zip(edges[4:0:-1], edges[3::-1], backward_labels):
        labelled_arrow((left, backward_y), (previous_right, backward_y), label, BACKWARD)
    ax.text(0.15, 4.25, "forward propagation \u2192", ha="left", va="center", fontsize=12,
            style="italic", color=FORWARD)
    ax.text(11.85, 1.25, "\u2190 backward propagation", ha="right", va="center", fontsize=12,
            style="italic", color=BACKWARD)
    return figure


def _draw_array(ax, top_left, shape, first_index, cell, colour):
    """An array as a grid of cells, each showing its position in theta (row-major order)."""
    (x, y), (rows, columns) = top_left, shape
    text_colour = "white" if sum(colour[:3]) < 1.6 else "black"
    for row in range(rows):
        for column in range(columns):
            ax.add_patch(Rectangle((x + column * cell, y - (row + 1) * cell), cell, cell,
                                   facecolor=colour, edgecolor="white", linewidth=1))
            ax.text(x + (column + 0.5) * cell, y - (row + 0.5) * cell,
                    str(first_index + row * columns + column), ha="center", va="center",
                    fontsize=8, color=text_colour)


def _spread(positions, minimum_gap):
    """Label heights for ``positions`` (sorted top to bottom), pushed down ``minimum_gap`` apart."""
    spread = list(positions)
    for i in range(1, len(spread)):
        spread[i] = min(spread[i], spread[i - 1] - minimum_gap)
    return spread


def vectorization_diagram():
    """The seed's parameters, flattened into theta and cut back. Returns a 12x6-inch Figure."""
    _, _, parameters = seed_case()
    theta, layout = dictionary_to_vector(parameters)
    figure, ax = _canvas(12, 6)
    palette = matplotlib.colormaps["tab20"]
    colours = [palette(index % 20) for index in range(len(layout))]
    starts = np.cumsum([0] + [int(np.prod(shape)) for _, shape in layout])
    grid_shapes = [tuple(shape) + (1,) * (2 - len(shape)) for _, shape in layout]  # 1-D: a column
    ax.text(6, 5.7, "Parameter vectorization", ha="center", va="center", fontsize=15,
            weight="bold", color="#222222")

    # The dictionary, one row per layer (a new row at every "W"), cells scaled to fit.
    rows = []
    for index, (name, _) in enumerate(layout):
        if not rows or name.startswith("W"):
            rows.append([])
        rows[-1].append(index)
    label_height, row_gap, top, bottom = 0.3, 0.3, 5.1, 0.8
    cell_rows = sum(max(grid_shapes[i][0] for i in row) for row in rows)
    cell = min(0.36, (top - bottom - len(rows) * (label_height + row_gap)) / cell_rows)
    column_widths = [max(grid_shapes[row[k]][1] for row in rows if k < len(row)) * cell
                     for k in range(max(len(row) for row in rows))]
    column_x = 0.5 + np.cumsum([0] + [width + 0.45 for width in column_widths])
    ax.text(0.5, 5.3, "parameters  (dict)", ha="left", va="center", fontsize=12,
            family="monospace")
    y = top - label_height
    for row in rows:
        for x, index in zip(column_x, row):
            name, shape = layout[index]
            ax.text(x, y + 0.05, f"{name} {tuple(shape)}", ha="left", va="bottom", fontsize=10)
            _draw_array(ax, (x, y), grid_shapes[index], starts[index], cell, colours[index])
        y -= max(grid_shapes[i][0] for i in row) * cell + label_height + row_gap

    # theta, one coloured segment per array, labelled with its index range.
    left, width, step = 9.2, 0.4, (top - bottom) / len(theta)
    ax.text(left + width / 2, 5.3, f"theta  {theta.shape}", ha="center", va="center",
            fontsize=12, family="monospace")
    for index, colour in enumerate(colours):
        ax.add_patch(Rectangle((left, top - starts[index + 1] * step), width,
                               (starts[index + 1] - starts[index]) * step, facecolor=colour,
                               edgecolor="white", linewidth=1.2))
    for k in range(1, len(theta)):
        ax.plot([left, left + width], [top - k * step] * 2, color="white", linewidth=0.3)
    centres = [top - (starts[i] + starts[i + 1]) / 2 * step for i in range(len(layout))]
    for index, label_y in enumerate(_spread(centres, 0.22)):
        first, last = starts[index], starts[index + 1] - 1
        span = f"{first}\u2013{last}" if last > first else f"{first}"
        ax.plot([left + width, left + width + 0.15, left + 0.8],
                [centres[index], centres[index], label_y], color=NEUTRAL, linewidth=0.6)
        ax.text(left + 0.88, label_y, f"{span:>6}  {layout[index][0]}", ha="left",
                va="center", fontsize=10, family="monospace")

    _arrow(ax, (3.9, 3.6), (8.8, 3.6), NEUTRAL, width=2)
    ax.text(6.35, 3.72, "dictionary_to_vector(parameters)", ha="center", va="bottom",
            fontsize=11, family="monospace")
    _arrow(ax, (8.8, 2.4), (3.9, 2.4), NEUTRAL, width=2)
    ax.text(6.35, 2.28, "vector_to_dictionary(theta, layout)", ha="center", va="top",
            fontsize=11, family="monospace")
    order = ", ".join(name for name, _ in layout)
    ax.text(0.5, 0.35, f"Numbers are positions in theta: the arrays in the order {order}, "
            "each read row by row, in row-major (C) order.", ha="left", va="center",
            fontsize=11, color=NEUTRAL)
    return figure


def epsilon_diagram():
    """Why epsilon matters: centred differences of exp at 1 against epsilon. Returns a 7x4.5-inch Figure."""
    figure = Figure(figsize=(7, 4.5))
    ax = figure.subplots(gridspec_kw=MARGINS)  # the live plots' margins
    theta, exact = 1.0, np.exp(1.0)
    epsilons = np.logspace(-12, -1, 45)
    approximations = (np.exp(theta + epsilons) - np.exp(theta - epsilons)) / (2 * epsilons)
    relative = np.abs(approximations - exact) / (np.abs(approximations) + abs(exact))
    keep = relative > 0
    ax.plot(epsilons[keep], relative[keep], "o", markersize=4, color=FORWARD,
            label="relative difference, measured")
    truncation, round_off = epsilons ** 2 / 12, np.finfo(np.float64).eps / (2 * epsilons)
    ax.plot(epsilons, truncation, color=BACKWARD, linewidth=1,
            label="truncation  $\\approx \\epsilon^2/12$")
    ax.plot(epsilons, round_off, color=NEUTRAL, linewidth=1,
            label="round-off  $\\approx$ machine eps $/\\,(2\\epsilon)$")
    ax.axvline(1e-7, color="#2e7d32", linestyle=":", linewidth=1.5, label="course default 1e-7")
    ax.set_xscale("log")
    ax.set_yscale("log")
    lowest, highest = relative[keep].min(), max(relative[keep].max(), round_off.max())
    ax.set_ylim(lowest / 10, highest * 1e3)  # headroom for the legend
    ax.set_xlabel("epsilon")
    ax.set_ylabel("relative difference")
    ax.set_title("Centred difference: truncation against round-off")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper center", ncols=2, fontsize=9)
    return figure


def save_figures(directory: str) -> list[str]:
    """Write backprop.png, vectorization.png and epsilon.png into ``directory``, byte for byte
    reproducibly.

    returns: list of the three paths written
    """
    os.makedirs(directory, exist_ok=True)
    paths = []
    diagrams = [("backprop.png", backprop_diagram), ("vectorization.png", vectorization_diagram),
                ("epsilon.png", epsilon_diagram)]
    for filename, make in diagrams:
        path = os.path.join(directory, filename)
        make().savefig(path, dpi=100, metadata={"Software": None})
        paths.append(path)
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m grader.diagrams DIRECTORY")
    for written in save_figures(sys.argv[1]):
        print(written)
