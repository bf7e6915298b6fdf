"""Tests of helpers.diagnostics.difference_by_parameter with a small correct checker."""

import pytest

from grader.reference import correct_gradients
from helpers import diagnostics, fixtures, network
import reference_checker
from reference_checker import gradient_check_n

NAMES = ["W1", "b1", "W2", "b2", "W3", "b3"]


def raising_check(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    """A checker that is not written yet."""
    raise NotImplementedError


def test_correct_gradients_agree_everywhere():
    """With correct gradients every parameter's difference is below 1e-6."""
    X, Y, parameters = fixtures.seed_case()
    gradients = correct_gradients(X, Y, parameters)
    differences = diagnostics.difference_by_parameter(gradient_check_n, parameters, gradients, X, Y)
    assert sorted(differences) == sorted(NAMES)
    assert all(isinstance(value, float) for value in differences.values())
    assert all(value < 1e-6 for value in differences.values()), differences


@pytest.mark.parametrize("name", ["W2", "b1"])
def test_planted_bug_is_found_in_its_parameter_only(name):
    """With dW2 (or db1) doubled exactly that parameter is > 0.1 and the others < 1e-6."""
    X, Y, parameters = fixtures.seed_case()
    gradients = fixtures.plant_bug(correct_gradients(X, Y, parameters), name, 2.0)
    differences = diagnostics.difference_by_parameter(gradient_check_n, parameters, gradients, X, Y)
    assert differences[name] > 0.1, differences
    assert all(value < 1e-6 for key, value in differences.items() if key != name), differences


def test_global_is_restored_after_checking():
    """The checker's module has its original forward_propagation_n again afterwards."""
    X, Y, parameters = fixtures.seed_case()
    gradients = correct_gradients(X, Y, parameters)
    diagnostics.difference_by_parameter(gradient_check_n, parameters, gradients, X, Y)
    assert reference_checker.forward_propagation_n is network.forward_propagation_n


def test_global_is_restored_when_checker_raises():
    """An exception from the checker propagates and the global is still restored."""
    X, Y, parameters = fixtures.seed_case()
    gradients = correct_gradients(X, Y, parameters)
    with pytest.raises(NotImplementedError):
        diagnostics.difference_by_parameter(raising_check, parameters, gradients, X, Y)
    assert "forward_propagation_n" not in globals()  # this module never had one, and still has none
