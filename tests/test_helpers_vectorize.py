"""Property-based tests of helpers.vectorize: flattening parameter dicts into theta and back."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import fixtures
from helpers.vectorize import dictionary_to_vector, gradients_to_vector, vector_to_dictionary

sizes = st.integers(min_value=1, max_value=6)


@st.composite
def parameter_dicts(draw, max_layers=6):
    """A dict W1, b1, ..., WL, bL of random float arrays with random shapes (sizes 1..6)."""
    layers = draw(st.integers(min_value=1, max_value=max_layers))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    rng = np.random.default_rng(seed)
    parameters = {}
    for layer in range(1, layers + 1):
        parameters[f"W{layer}"] = rng.standard_normal((draw(sizes), draw(sizes)))
        parameters[f"b{layer}"] = rng.standard_normal((draw(sizes), 1))
    return parameters


def expected_order(layers):
    """The documented order of names for ``layers`` layers."""
    return [f"{kind}{layer}" for layer in range(1, layers + 1) for kind in "Wb"]


@settings(max_examples=60, deadline=None)
@given(parameter_dicts())
def test_theta_is_new_float64_column(parameters):
    """dictionary_to_vector returns a new float64 (n, 1) array, n the total number of entries."""
    theta, _ = dictionary_to_vector(parameters)
    n = sum(value.size for value in parameters.values())
    assert theta.dtype == np.float64
    assert theta.shape == (n, 1)
    assert not any(np.shares_memory(theta, value) for value in parameters.values())


@settings(max_examples=60, deadline=None)
@given(parameter_dicts())
def test_round_trip_is_exact(parameters):
    """vector_to_dictionary(theta, layout) gives back the same keys, shapes and values exactly."""
    theta, layout = dictionary_to_vector(parameters)
    back = vector_to_dictionary(theta, layout)
    assert set(back) == set(parameters)
    for name, value in parameters.items():
        assert back[name].shape == value.shape
        assert np.array_equal(back[name], value)


@settings(max_examples=60, deadline=None)
@given(parameter_dicts())
def test_layout_follows_documented_order(parameters):
    """The layout lists W before b, layer by layer, with each array's shape."""
    _, layout = dictionary_to_vector(parameters)
    assert [name for name, _ in layout] == expected_order(len(parameters) // 2)
    assert all(shape == parameters[name].shape for name, shape in layout)


@settings(max_examples=60, deadline=None)
@given(parameter_dicts())
def test_returned_arrays_do_not_share_memory_with_theta(parameters):
    """vector_to_dictionary copies: no view on theta, and later changes to theta do not leak."""
    theta, layout = dictionary_to_vector(parameters)
    back = vector_to_dictionary(theta, layout)
    assert not any(np.shares_memory(theta, value) for value in back.values())
    theta[:] = 12345.0
    for name, value in parameters.items():
        assert np.array_equal(back[name], value)


@settings(max_examples=60, deadline=None)
@given(parameter_dicts(), st.data())
def test_perturbing_theta_changes_exactly_one_entry(parameters, data):
    """Adding to one entry of theta changes exactly one entry of one array, the same index."""
    theta, layout = dictionary_to_vector(parameters)
    i = data.draw(st.integers(min_value=0, max_value=theta.shape[0] - 1))
    theta_plus = np.copy(theta)
    theta_plus[i, 0] += 1.0
    back = vector_to_dictionary(theta_plus, layout)
    changed = sum(int(np.sum(back[name] != value)) for name, value in parameters.items())
    assert changed == 1
    flat = np.concatenate([back[name].reshape(-1) for name, _ in layout])
    assert flat[i] == theta[i, 0] + 1.0


@settings(max_examples=40, deadline=None)
@given(parameter_dicts())
def test_gradients_follow_parameter_order_and_ignore_extras(parameters):
    """gradients_to_vector puts dW1 where W1 is and ignores dZ1/dA1 entries."""
    theta, layout = dictionary_to_vector(parameters)
    gradients = {"d" + name: -value for name, value in parameters.items()}
    gradients.update({"dZ1": np.ones((7, 7)), "dA1": np.ones(3)})
    grad = gradients_to_vector(gradients, layout)
    assert grad.shape == theta.shape and grad.dtype == np.float64
    assert np.array_equal(grad, -theta)


def test_eleven_layers_w10_after_w9():
    """With 11 layers the order is numeric (W10 after b9, not after W1)."""
    parameters = {f"{kind}{layer}": np.full((1, 1), layer) for layer in range(1, 12) for kind in "Wb"}
    reversed_dict = dict(reversed(list(parameters.items())))
    theta, layout = dictionary_to_vector(reversed_dict)
    assert [name for name, _ in layout] == expected_order(11)
    assert theta[:, 0].tolist() == [layer for layer in range(1, 12) for _ in "Wb"]


def test_seed_case_layout():
    """The seed's net flattens to W1 (5,4), b1 (5,1), W2 (3,5), b2 (3,1), W3 (1,3), b3 (1,1)."""
    _, _, parameters = fixtures.seed_case()
    theta, layout = dictionary_to_vector(parameters)
    assert layout == (("W1", (5, 4)), ("b1", (5, 1)), ("W2", (3, 5)), ("b2", (3, 1)),
                      ("W3", (1, 3)), ("b3", (1, 1)))
    assert theta.shape == (47, 1)


def test_wrong_length_raises_naming_both_sizes():
    """A theta of the wrong length raises ValueError naming its size and the needed size."""
    _, layout = dictionary_to_vector(fixtures.seed_case()[2])
    with pytest.raises(ValueError, match=r"46.*47"):
        vector_to_dictionary(np.zeros((46, 1)), layout)


def test_missing_gradient_raises_key_error_naming_it():
    """A gradient missing from the dict raises KeyError naming the missing key."""
    _, _, parameters = fixtures.seed_case()
    _, layout = dictionary_to_vector(parameters)
    gradients = {"d" + name: value for name, value in parameters.items() if name != "b2"}
    with pytest.raises(KeyError, match="db2"):
        gradients_to_vector(gradients, layout)


def test_gradient_of_wrong_shape_raises():
    """A gradient whose shape differs from its parameter's raises ValueError."""
    _, _, parameters = fixtures.seed_case()
    _, layout = dictionary_to_vector(parameters)
    gradients = {"d" + name: value for name, value in parameters.items()}
    gradients["db1"] = gradients["db1"].reshape(-1)  # (5,) instead of (5, 1)
    with pytest.raises(ValueError, match="db1"):
        gradients_to_vector(gradients, layout)


@pytest.mark.parametrize("name", ["W", "bias", "1", "W1x"])
def test_name_without_layer_number_raises(name):
    """A parameter name that does not end in its layer number raises ValueError."""
    with pytest.raises(ValueError, match="layer number"):
        dictionary_to_vector({"W1": np.ones((1, 1)), name: np.ones((1, 1))})
