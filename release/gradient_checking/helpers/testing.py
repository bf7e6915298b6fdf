"""Small assertions shared by the notebook's test cells. They hold no expected answers."""

import base64
import contextlib
import copy
import functools
import importlib
import io
import json
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


class Unsupported:
    """Stands for a returned value that is not plain data (numbers, arrays, dicts, lists)."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<a {self.type_name}>"


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
            except Exception as error:  # the student's error, reported as a failed test
                raise StudentError(f"{function_name} raised {type(error).__name__}: {error}") from None
        return result, args


# Plain data across the sandbox boundary: the kernel answers with this JSON and nothing else.

def encode(value, depth=0):
    """A JSON-ready description of plain data: numbers, arrays, strings, lists, tuples, dicts."""
    if depth > 20:
        return {"unsupported": "deeply nested value"}
    if value is None or type(value) in (bool, int, float, str):
        return {"plain": value}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        dtype = value.dtype.newbyteorder("<")
        return {"ndarray": dtype.str, "shape": list(value.shape),
                "data": base64.b64encode(value.astype(dtype).tobytes(order="C")).decode("ascii")}
    if type(value) in (np.float64, np.float32, np.int64, np.int32, np.bool_):
        return {"numpy": np.dtype(type(value)).str, "value": value.item()}
    if type(value) in (list, tuple):
        return {type(value).__name__: [encode(item, depth + 1) for item in value]}
    if type(value) is dict and all(type(key) is str for key in value):
        return {"dict": {key: encode(item, depth + 1) for key, item in value.items()}}
    return {"unsupported": type(value).__name__}


def decode(data):
    """The value that ``encode`` described. Anything malformed raises ValueError."""
    if not isinstance(data, dict) or len(data) not in (1, 2, 3):
        raise ValueError("malformed answer")
    if "plain" in data:
        value = data["plain"]
        if value is not None and type(value) not in (bool, int, float, str):
            raise ValueError("malformed plain value")
        return value
    if "ndarray" in data:
        dtype = np.dtype(data["ndarray"])
        if dtype.kind not in "biuf":
            raise ValueError("unsupported array type")
        shape = tuple(int(size) for size in data["shape"])
        return np.frombuffer(base64.b64decode(data["data"]), dtype=dtype).reshape(shape).copy()
    if "numpy" in data:
        dtype = np.dtype(data["numpy"])
        if dtype.kind not in "biuf":
            raise ValueError("unsupported scalar type")
        return dtype.type(data["value"])
    if "list" in data:
        return [decode(item) for item in data["list"]]
    if "tuple" in data:
        return tuple(decode(item) for item in data["tuple"])
    if "dict" in data:
        return {str(key): decode(item) for key, item in data["dict"].items()}
    if "unsupported" in data:
        return Unsupported(str(data["unsupported"]))
    raise ValueError("malformed answer")


def serve(namespace, request):
    """Answer one request from the grader, inside the student's kernel.

    request -- JSON text: {"function", "args", "kwargs", "replace"}, encoded with ``encode``
    returns: JSON text: {"result", "args"} or {"error"}
    """
    request = json.loads(request)
    try:
        result, args = Student(namespace).call_and_inspect(
            request["function"], *decode(request["args"]), replace=request["replace"],
            **decode(request["kwargs"]))
        return json.dumps({"result": encode(result), "args": encode(tuple(args))})
    except StudentError as error:
        return json.dumps({"error": str(error)})
