"""Tests of helpers.figures and grader.diagrams: committed diagrams are reproducible, plots survive odd
values, and the breakdown table tells a disagreement from a parameter that has no gradient."""

import filecmp
import io
import os

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from grader import diagrams  # noqa: E402
from grader.reference import correct_gradients  # noqa: E402
from helpers import diagnostics, figures, fixtures, network, vectorize  # noqa: E402
from tools.submissions import solution_sources  # noqa: E402

COMMITTED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "source", "gradient_checking", "figures")


@pytest.fixture(autouse=True)
def close_figures():
    """Close every pyplot figure after each test."""
    yield
    plt.close("all")


def test_committed_figures_are_reproducible(tmp_path):
    """save_figures writes PNGs byte-identical to the committed figures."""
    paths = diagrams.save_figures(str(tmp_path))
    assert [os.path.basename(path) for path in paths] == ["backprop.png", "vectorization.png", "epsilon.png"]
    for path in paths:
        committed = os.path.join(COMMITTED, os.path.basename(path))
        assert filecmp.cmp(path, committed, shallow=False), (
            f"{committed} differs from what grader.diagrams draws: "
            "run `make figures` and commit the result")


@pytest.mark.parametrize("make", [diagrams.backprop_diagram, diagrams.vectorization_diagram,
                                  diagrams.epsilon_diagram])
def test_diagrams_return_figures(make):
    """The diagrams return a matplotlib Figure with drawn content."""
    figure = make()
    assert isinstance(figure, Figure)
    assert figure.axes and (figure.axes[0].patches or figure.axes[0].lines)


@pytest.mark.parametrize("differences", [[1e-3, 1e-7, 1e-9, 1e-5],
                                         [1e-3, 0.0, np.nan, 1e-5],
                                         [0.0, np.nan, 0.0, np.inf]])
def test_plot_v_curve_handles_zero_and_nan(differences):
    """plot_v_curve returns a Figure and plots only the positive finite points."""
    epsilons = [1e-1, 1e-4, 1e-7, 1e-10]
    figure = figures.plot_v_curve(epsilons, differences, 1e-7)
    assert isinstance(figure, Figure)
    figure.canvas.draw()
    plotted = figure.axes[0].lines[0].get_ydata()
    values = np.array(differences)
    assert len(plotted) == np.sum(np.isfinite(values) & (values > 0))


def test_plot_v_curve_rejects_unequal_lengths():
    """plot_v_curve raises ValueError when epsilons and differences differ in length."""
    with pytest.raises(ValueError, match="3 epsilons but 2 differences"):
        figures.plot_v_curve([1e-1, 1e-2, 1e-3], [1e-3, 1e-4], 1e-7)


@pytest.mark.parametrize("threshold", [1e-7, 0.0, np.nan])
def test_plot_difference_by_parameter_handles_zero_nan_inf(threshold):
    """plot_difference_by_parameter returns a Figure with one bar per parameter for 0, nan, inf."""
    differences = {"W1": 0.0, "b1": np.nan, "W2": np.inf, "b2": 3e-9, "W3": 0.5}
    figure = figures.plot_difference_by_parameter(differences, threshold)
    assert isinstance(figure, Figure)
    figure.canvas.draw()
    ax = figure.axes[0]
    assert len(ax.patches) == len(differences)
    assert [label.get_text() for label in ax.get_xticklabels()] == list(differences)


def test_plots_draw_on_given_axes():
    """Given an axes, the plots draw on it and return its figure."""
    figure, axes = plt.subplots(1, 2)
    assert figures.plot_v_curve([1e-3], [1e-8], 1e-7, ax=axes[0]) is figure
    assert figures.plot_difference_by_parameter({"W1": 1e-8}, 1e-7, ax=axes[1]) is figure
    assert axes[0].lines and axes[1].patches


def test_a_new_plot_is_drawn_once_when_shown_and_looks_the_same(monkeypatch):
    """pyplot's redraw of stale figures after a cell (what Jupyter's inline backend runs before it
    shows them) skips a new plot, so showing it is its one drawing; the PNG is byte for byte what a
    plot drawn first and shown after gives. A plot on the caller's axes is left stale, theirs to draw."""
    from matplotlib._pylab_helpers import Gcf

    draws = []
    original = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda figure, renderer: draws.append(figure) or original(figure, renderer))

    def png(figure):
        with io.BytesIO() as buffer:
            figure.savefig(buffer, format="png")
            return buffer.getvalue()

    plots = [lambda **ax: figures.plot_v_curve(np.logspace(-10, -2, 9), np.logspace(-9, -1, 9), 1e-7, **ax),
             lambda **ax: figures.plot_difference_by_parameter({"W1": 1e-8, "b1": 0.2, "W2": np.nan}, 1e-7, **ax)]
    for plot in plots:
        shown = plot()
        Gcf.draw_all()  # pyplot's redraw after a cell
        assert draws == [], "a new plot was drawn before it was shown"
        drawn_first = plot()
        drawn_first.canvas.draw()
        assert png(shown) == png(drawn_first)
        _, ax = plt.subplots()
        assert plot(ax=ax).stale
        plt.close("all")
        draws.clear()


def test_difference_table_verdicts():
    """difference_table has one row per parameter and says DISAGREES exactly where >= threshold."""
    differences = {"W1": 1e-9, "b1": 1e-7, "W2": 0.25, "b2": 0.0, "W3": 9.99e-8, "b3": 3.0}
    table = figures.difference_table(differences, 1e-7)
    lines = table.splitlines()
    assert lines[0].split() == ["parameter", "difference", "verdict"]
    rows = lines[2:]
    assert [row.split()[0] for row in rows] == list(differences)
    verdicts = {row.split()[0]: row.split()[-1] for row in rows}
    expected = {name: "DISAGREES" if value >= 1e-7 else "ok" for name, value in differences.items()}
    assert verdicts == expected
    assert "2.50e-01" in table


def test_a_parameter_without_gradient_is_not_called_a_disagreement():
    """0/0 (both gradients of a parameter exactly 0, as for dead ReLU units) reads "no gradient", not DISAGREES."""
    namespace = {"np": np, "THRESHOLD": 1e-6, "forward_propagation_n": network.forward_propagation_n,
                 **{name: getattr(vectorize, name) for name in ("dictionary_to_vector", "gradients_to_vector",
                                                               "vector_to_dictionary")}}
    exec(solution_sources()["gradient_check_n"], namespace)  # the master solution: 0/0 gives nan
    X, Y, parameters = fixtures.random_case((3, 4, 2, 1), 3, seed=5)
    gradients = correct_gradients(X, Y, parameters)
    with np.errstate(invalid="ignore"):
        differences = diagnostics.difference_by_parameter(namespace["gradient_check_n"], parameters, gradients, X, Y)
    assert any(np.isnan(value) for value in differences.values()), differences  # the case has such a block
    table = figures.difference_table(differences, 1e-6)
    assert "DISAGREES" not in table and "no gradient (0/0)" in table
    assert figures.verdict(0.3, 1e-6) == "DISAGREES" and figures.verdict(1e-9, 1e-6) == "ok"


def test_log_axes_are_labelled_in_plain_text():
    """The live plots label their log axes 10⁻⁷ in plain text, never in mathtext (which each new
    figure parses again: a third of their drawing time); labels off the decades stay numbers."""
    v_curve = figures.plot_v_curve(np.logspace(-10, -2, 9), np.logspace(-9, -1, 9), 1e-7)
    breakdown = figures.plot_difference_by_parameter({"W1": 1e-8, "b1": 0.2}, 1e-7)
    labels = []
    for figure in (v_curve, breakdown):
        figure.canvas.draw()
        labels += [label.get_text() for ax in figure.axes for label in ax.get_xticklabels() + ax.get_yticklabels()]
    assert "10⁻⁷" in labels and "10⁻¹⁰" in labels and "10⁰" in labels
    assert not [label for label in labels if "$" in label]
    assert figures._decade(3e-5) == "3e-05" and figures._decade(100.0) == "10²"
