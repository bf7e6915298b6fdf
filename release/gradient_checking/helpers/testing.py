"""Small assertions shared by the notebook's test cells. They hold no expected answers."""

import contextlib
import io
import numbers
import warnings

import numpy as np


def quietly(function, *args, **kwargs):
    """Call ``function`` with its printed output captured and its warnings silenced.

    Tests use it so that a print or a harmless warning in your code never fails a test.
    returns: whatever ``function`` returns
    """
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def as_scalar(value, function_name):
    """``value`` as a float, or an AssertionError that says why it is not a single real number.

    value -- what a function returned; a Python number, a NumPy number or a 0-d array is accepted
    function_name -- the name to use in the message
    returns: float
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        shape = f", shape {value.shape}" if isinstance(value, np.ndarray) else ""
        raise AssertionError(
            f"{function_name} returned a {type(value).__name__}{shape}; it must return one number. "
            "Hint: np.linalg.norm of an array is already a single number; do not wrap it in a list "
            "or an array."
        )
    value = float(value)
    if not np.isfinite(value):
        raise AssertionError(
            f"{function_name} returned {value}. Hint: look for a division by zero or a log of 0."
        )
    return value


@contextlib.contextmanager
def swapped_globals(namespace, **replacements):
    """Temporarily replace names in a namespace (the notebook's ``globals()``), then restore them.

    A gradient checker must get J and its gradient by calling ``forward_propagation`` and
    ``backward_propagation`` (or ``forward_propagation_n``); tests swap those for other functions
    to see what the checker really does.
    """
    missing = object()
    saved = {name: namespace.get(name, missing) for name in replacements}
    namespace.update(replacements)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value
