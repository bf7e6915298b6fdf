"""Tests of helpers.network, helpers.fixtures and the answer key grader.reference: the L-layer net, its
correct backward pass, its cases and planted bugs."""

import numpy as np
import pytest

from grader.reference import correct_gradients
from helpers import fixtures, network
from helpers.vectorize import dictionary_to_vector, gradients_to_vector, vector_to_dictionary

ARCHITECTURES = [(3, 4, 2, 1), (5, 3, 1), (2, 6, 4, 3, 1)]


def _numerical_gradient(X, Y, parameters, eps=1e-6):
    """Reference centred-difference gradient of the cost, as a (n, 1) vector in layout order."""
    theta, layout = dictionary_to_vector(parameters)
    approx = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        plus, minus = np.copy(theta), np.copy(theta)
        plus[i, 0] += eps
        minus[i, 0] -= eps
        j_plus, _ = network.forward_propagation_n(X, Y, vector_to_dictionary(plus, layout))
        j_minus, _ = network.forward_propagation_n(X, Y, vector_to_dictionary(minus, layout))
        approx[i, 0] = (j_plus - j_minus) / (2 * eps)
    return approx, layout


def _assert_backprop_matches(X, Y, parameters):
    approx, layout = _numerical_gradient(X, Y, parameters)
    grad = gradients_to_vector(correct_gradients(X, Y, parameters), layout)
    np.testing.assert_allclose(grad, approx, rtol=1e-5, atol=1e-8)


def test_seed_cost():
    """The seed case's cost is the original's 2.407833389834357."""
    X, Y, parameters = fixtures.seed_case()
    cost, cache = network.forward_propagation_n(X, Y, parameters)
    assert isinstance(cost, float)
    assert np.isclose(cost, 2.407833389834357, rtol=1e-12, atol=0)
    assert len(cache) == 3


def test_seed_backprop_matches_numerical_gradient():
    """The correct backward pass agrees entrywise with centred differences on the seed case."""
    _assert_backprop_matches(*fixtures.seed_case())


@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize("layer_sizes", ARCHITECTURES)
def test_random_backprop_matches_numerical_gradient(layer_sizes, seed):
    """The correct backward pass agrees with centred differences on other architectures."""
    _assert_backprop_matches(*fixtures.random_case(layer_sizes, m=5, seed=seed))


def test_seed_gradient_has_27_nonzero_entries():
    """Exactly 27 of the seed's 47 gradient entries are non-zero (dead ReLUs zero the rest)."""
    X, Y, parameters = fixtures.seed_case()
    _, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(correct_gradients(X, Y, parameters), layout)
    assert grad.shape == (47, 1)
    assert np.count_nonzero(grad) == 27


def test_backprop_returns_intermediates_with_right_shapes():
    """The gradients dict holds dW, db of the parameter shapes and dZ, dA of shape (n_l, m)."""
    X, Y, parameters = fixtures.random_case((3, 4, 2, 1), m=6, seed=3)
    gradients = correct_gradients(X, Y, parameters)
    for name, value in parameters.items():
        assert gradients["d" + name].shape == value.shape
    assert gradients["dZ2"].shape == gradients["dA2"].shape == (2, 6)
    assert gradients["dZ3"].shape == (1, 6)


def test_layer_count():
    """layer_count reads L from the keys."""
    assert network.layer_count(fixtures.seed_case()[2]) == 3
    assert network.layer_count(fixtures.random_case((2, 6, 4, 3, 1), 4, 0)[2]) == 4


@pytest.mark.parametrize("change", ["missing b2", "extra key", "empty"])
def test_layer_count_rejects_bad_keys(change):
    """layer_count raises ValueError with a clear message for a missing or an extra key."""
    parameters = dict(fixtures.seed_case()[2])
    if change == "missing b2":
        del parameters["b2"]
    elif change == "extra key":
        parameters["c1"] = np.ones((1, 1))
    else:
        parameters = {}
    with pytest.raises(ValueError, match=r"exactly W1, b1, \.\.\., WL, bL"):
        network.layer_count(parameters)


def test_random_case_is_deterministic_per_seed():
    """random_case returns the same case for the same seed and a different one for another."""
    first = fixtures.random_case((3, 4, 2, 1), 8, seed=5)
    again = fixtures.random_case((3, 4, 2, 1), 8, seed=5)
    other = fixtures.random_case((3, 4, 2, 1), 8, seed=6)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert all(np.array_equal(first[2][k], again[2][k]) for k in first[2])
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[2]["W1"], other[2]["W1"])


@pytest.mark.parametrize("layer_sizes", ARCHITECTURES)
@pytest.mark.parametrize("m", [2, 3, 10])
def test_random_case_shapes_and_labels(layer_sizes, m):
    """random_case has X (n_0, m), Y (1, m) holding both labels, and W, b of the layer shapes."""
    X, Y, parameters = fixtures.random_case(layer_sizes, m, seed=m)
    assert X.shape == (layer_sizes[0], m) and Y.shape == (1, m)
    assert set(np.unique(Y)) == {0, 1}
    assert len(parameters) == 2 * (len(layer_sizes) - 1)
    for layer, (n_in, n_out) in enumerate(zip(layer_sizes, layer_sizes[1:]), start=1):
        assert parameters[f"W{layer}"].shape == (n_out, n_in)
        assert parameters[f"b{layer}"].shape == (n_out, 1)


@pytest.mark.parametrize("layer_sizes, m", [((3,), 4), ((3, 2), 4), ((3, 1), 1), ((), 4)])
def test_random_case_rejects_invalid_arguments(layer_sizes, m):
    """random_case raises ValueError for fewer than 2 sizes, n_L != 1 or m < 2."""
    with pytest.raises(ValueError, match="layer_sizes"):
        fixtures.random_case(layer_sizes, m, seed=0)


def test_seed_case_shapes():
    """seed_case gives X (4, 3), Y [[1, 1, 0]] and the 4-5-3-1 parameters."""
    X, Y, parameters = fixtures.seed_case()
    assert X.shape == (4, 3)
    assert Y.tolist() == [[1, 1, 0]]
    assert sorted(parameters) == ["W1", "W2", "W3", "b1", "b2", "b3"]


def test_plant_bug_scales_whole_array_without_touching_input():
    """plant_bug scales one gradient array, leaves the others equal and the input unchanged."""
    gradients = correct_gradients(*fixtures.seed_case())
    before = {key: value.copy() for key, value in gradients.items()}
    broken = fixtures.plant_bug(gradients, "W2", 3.0)
    assert all(np.array_equal(gradients[key], before[key]) for key in before)
    assert np.array_equal(broken["dW2"], 3.0 * before["dW2"])
    assert all(np.array_equal(broken[k], before[k]) for k in before if k != "dW2")
    assert not any(np.shares_memory(broken[k], gradients[k]) for k in before)


def test_plant_bug_scales_only_one_entry():
    """plant_bug with an entry scales that entry only, leaving the input unchanged."""
    gradients = {"dW1": np.arange(1.0, 7.0).reshape(2, 3), "db1": np.ones((2, 1))}
    broken = fixtures.plant_bug(gradients, "W1", factor=10.0, entry=(1, 2))
    expected = np.arange(1.0, 7.0).reshape(2, 3)
    assert np.array_equal(gradients["dW1"], expected)
    expected[1, 2] = 60.0
    assert np.array_equal(broken["dW1"], expected)
    assert np.array_equal(broken["db1"], gradients["db1"])
