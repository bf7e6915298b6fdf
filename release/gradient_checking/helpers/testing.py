"""Small assertions shared by the notebook's test cells, and ``Student``, the way tests call your
functions. They hold no expected answers. (``protocol.py`` carries those calls to a grader.)"""

import contextlib
import copy
import functools
import importlib
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


class StudentError(AssertionError):
    """A student's function raised an exception (or could not be called) during a test."""


def describe_replacement(function):
    """JSON-ready description of a helpers function, or of a functools.partial of one."""
    function, kwargs = (function.func, function.keywords) if isinstance(function, functools.partial) else (function, {})
    if not getattr(function, "__module__", "").startswith("helpers."):
        raise ValueError("replacements must be functions of the helpers package")
    return {"module": function.__module__, "name": function.__name__, "kwargs": dict(kwargs)}


def resolve_replacement(description):
    """The function that ``describe_replacement`` described."""
    if not str(description["module"]).startswith("helpers."):
        raise ValueError(f"replacements must come from helpers, not {description['module']}")
    function = getattr(importlib.import_module(description["module"]), description["name"])
    return functools.partial(function, **description["kwargs"]) if description["kwargs"] else function


class Student:
    """Calls the student's functions the way tests do: quietly, with some globals swapped.

    namespace -- the notebook's ``globals()``, where the student's functions live
    """

    def __init__(self, namespace):
        self.namespace = namespace

    def call(self, function_name, *args, replace=None, **kwargs):
        """Call ``function_name(*args, **kwargs)`` from the notebook, with the names in ``replace``
        (a dict name -> helpers function or functools.partial of one) swapped in for the call.

        returns: what the function returned; raises StudentError if it raised
        """
        result, _ = self.call_and_inspect(function_name, *args, replace=replace, **kwargs)
        return result

    def runs(self, function_name, *args, replace=None, **kwargs):
        """Call a function only to see that it runs (a test cell shows no value). returns: None"""
        self.call_and_inspect(function_name, *args, replace=replace, **kwargs)

    def call_and_inspect(self, function_name, *args, replace=None, **kwargs):
        """Like ``call``, and also return the arguments as they are after the call.

        The function gets copies, so the caller's own arguments never change.
        returns: (result, args) -- args a tuple, changed if the function changed them in place
        """
        args, kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
        function = self.namespace.get(function_name)
        if not callable(function):
            raise StudentError(f"{function_name} is not defined: run the cell that defines it")
        swaps = {name: resolve_replacement(spec if isinstance(spec, dict) else describe_replacement(spec))
                 for name, spec in (replace or {}).items()}
        with swapped_globals(self.namespace, **swaps):
            try:
                result = quietly(function, *args, **kwargs)
            except NotImplementedError as error:  # the stub, not yet replaced
                detail = f": {error}" if str(error) else " (it is not written yet: replace the stub's raise with your code)"
                raise StudentError(f"{function_name} raised NotImplementedError{detail}") from None
            except Exception as error:  # the student's error, reported as a failed test
                detail = f": {error}" if str(error) else ""
                raise StudentError(f"{function_name} raised {type(error).__name__}{detail}") from None
        return result, args
