"""Flatten a dictionary of parameters into one column vector, and back.

The order is documented and generic: entries are sorted by layer number (the digits at the end of
the name, compared as numbers, so W10 comes after W9), then "W" before "b", then any other name
alphabetically. Inside an array the entries follow NumPy's row-major (C) order. For the seed's net
that is W1 (20 entries), b1 (5), W2 (15), b2 (3), W3 (3), b3 (1): 47 entries.

A ``layout`` is a tuple of ``(name, shape)`` pairs in that order. It is everything needed to turn a
vector back into a dictionary, for any shapes and any number of layers.
"""

import math
import re

import numpy as np

_NAME = re.compile(r"^([A-Za-z_]+?)(\d+)$")


def _order(name):
    """Sort key of a parameter name: (layer, W first, then b, then others by name)."""
    match = _NAME.match(name)
    if match is None:
        raise ValueError(
            f"parameter name {name!r} must end in its layer number, like 'W1' or 'b12'"
        )
    kind, layer = match.groups()
    return int(layer), {"W": 0, "b": 1}.get(kind, 2), kind


def parameter_layout(parameters):
    """The documented order of ``parameters`` and the shape of each entry.

    parameters -- dict mapping names such as "W1", "b1" to arrays (or scalars)
    returns: layout -- tuple of (name, shape) pairs, shape a tuple of ints
    """
    return tuple((name, np.shape(parameters[name])) for name in sorted(parameters, key=_order))


def _size(shape):
    """Number of entries of an array of this shape (math.prod: np.prod costs 20 times as much here)."""
    return int(math.prod(shape))


def dictionary_to_vector(parameters):
    """Stack every parameter into one column vector.

    parameters -- dict mapping "W1", "b1", ..., "WL", "bL" to arrays of any shapes
    returns: theta -- new float64 array, shape (n, 1), n the total number of entries;
             layout -- tuple of (name, shape) pairs, to pass to ``vector_to_dictionary``
    """
    layout = parameter_layout(parameters)
    pieces = [np.asarray(parameters[name], dtype=np.float64).reshape(-1) for name, _ in layout]
    theta = np.concatenate(pieces) if pieces else np.zeros(0)
    return theta.reshape(-1, 1), layout


def vector_to_dictionary(theta, layout):
    """Cut a column vector back into a dictionary of arrays: the inverse of ``dictionary_to_vector``.

    theta -- array of n entries, shape (n, 1) or (n,)
    layout -- tuple of (name, shape) pairs from ``dictionary_to_vector``
    returns: parameters -- dict mapping each name to a new array of its shape (no view on theta)
    """
    theta = np.asarray(theta, dtype=np.float64).reshape(-1)
    needed = sum(_size(shape) for _, shape in layout)
    if theta.size != needed:
        raise ValueError(f"theta has {theta.size} entries but the layout needs {needed}")
    parameters, start = {}, 0
    for name, shape in layout:
        stop = start + _size(shape)
        parameters[name] = theta[start:stop].reshape(shape).copy()
        start = stop
    return parameters


def gradients_to_vector(gradients, layout):
    """Stack the gradients "dW1", "db1", ... in the same order as the parameters.

    gradients -- dict holding "d" + name for every name in the layout, each of that name's shape;
                 extra entries (such as "dZ1" or "dA1") are ignored
    layout -- tuple of (name, shape) pairs from ``dictionary_to_vector``
    returns: grad -- new float64 array, shape (n, 1)
    """
    pieces = []
    for name, shape in layout:
        key = "d" + name
        if key not in gradients:
            raise KeyError(f"gradients has no entry {key!r} for parameter {name!r}")
        value = np.asarray(gradients[key], dtype=np.float64)
        if value.shape != tuple(shape):
            raise ValueError(f"{key} has shape {value.shape} but {name} has shape {tuple(shape)}")
        pieces.append(value.reshape(-1))
    grad = np.concatenate(pieces) if pieces else np.zeros(0)
    return grad.reshape(-1, 1)
