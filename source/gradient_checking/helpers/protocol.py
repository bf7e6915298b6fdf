"""How the grader and a student's kernel talk while the hidden tests run: plain data only, bounded.

The grader (``grader/judge.py``) never runs tests in the student's kernel. It sends a request,
"call this function of yours with these arguments" (a CALL_REQUEST message, which the handler that
``install`` adds to the kernel answers), and the kernel answers with what the function returned, as
plain data: None, bool, int, float, str, NumPy numeric arrays and scalars, and lists,
tuples and str-keyed dicts of those. Anything else travels as ``Unsupported`` and fails the test.

The kernel is the student's, so the grader treats every answer as hostile: ``from_wire`` and
``decode`` accept only what ``to_wire`` and ``encode`` can make, bounded in size and nesting, and
raise ``ValueError`` for anything else.
"""

import base64
import binascii
import json
import re

import numpy as np

from .testing import Student, StudentError

MAX_DEPTH = 20                     # nesting of lists, tuples and dicts in one answer
MAX_ANSWER_BYTES = 8 * 1024 ** 2   # one answer as JSON; honest answers are a few kB
NUMERIC_KINDS = "biuf"             # bool, signed and unsigned integers, floats
NUMPY_SCALARS = (np.float64, np.float32, np.int64, np.int32, np.bool_)
_WIRE = re.compile(r"[A-Za-z0-9+/=]*")
CALL_REQUEST, CALL_REPLY = "gc_call_request", "gc_call_reply"  # the grader's own shell messages (install)


class Unsupported:
    """Stands for a returned value that is not plain data (numbers, arrays, dicts, lists)."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<a {self.type_name}>"


def encode(value, depth=0):
    """A JSON-ready description of plain data. returns: dict with one key naming the kind"""
    if depth > MAX_DEPTH:
        return {"unsupported": "deeply nested value"}
    if value is None or type(value) in (bool, int, float, str):
        return {"plain": value}
    if type(value) is np.ndarray and value.dtype.kind in NUMERIC_KINDS:
        dtype = value.dtype.newbyteorder("<")
        return {"ndarray": dtype.str, "shape": list(value.shape),
                "data": base64.b64encode(value.astype(dtype).tobytes(order="C")).decode("ascii")}
    if type(value) in NUMPY_SCALARS:
        return {"numpy": np.dtype(type(value)).str, "value": value.item()}
    if type(value) in (list, tuple):
        return {type(value).__name__: [encode(item, depth + 1) for item in value]}
    if type(value) is dict and all(type(key) is str for key in value):
        return {"dict": {key: encode(item, depth + 1) for key, item in value.items()}}
    return {"unsupported": type(value).__name__}


def _numeric_dtype(name):
    if not isinstance(name, str) or len(name) > 8:
        raise ValueError("malformed dtype")
    try:
        dtype = np.dtype(name)
    except TypeError:
        raise ValueError("malformed dtype") from None
    if dtype.kind not in NUMERIC_KINDS or dtype.itemsize > 8:
        raise ValueError("unsupported dtype")
    return dtype


def _array(data):
    dtype = _numeric_dtype(data.get("ndarray"))
    shape = data.get("shape")
    if not isinstance(shape, list) or len(shape) > 32 or not all(type(size) is int and size >= 0 for size in shape):
        raise ValueError("malformed shape")
    if not isinstance(data.get("data"), str):
        raise ValueError("malformed array data")
    try:
        raw = base64.b64decode(data["data"], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("malformed array data") from None
    count = int(np.prod(shape, dtype=np.float64))
    if count * dtype.itemsize != len(raw):
        raise ValueError("array data does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _scalar(data):
    dtype = _numeric_dtype(data.get("numpy"))
    value = data.get("value")
    expected = {"b": (bool,), "i": (int,), "u": (int,), "f": (int, float)}[dtype.kind]
    if type(value) not in expected:
        raise ValueError("malformed scalar")
    try:
        return dtype.type(value)
    except (OverflowError, ValueError):
        raise ValueError("malformed scalar") from None


def decode(data, depth=0):
    """The value that ``encode`` described. Anything malformed, too deep or too big raises ValueError."""
    if depth > MAX_DEPTH + 1:
        raise ValueError("answer nested too deeply")
    if not isinstance(data, dict) or len(data) != (3 if "ndarray" in data else 2 if "numpy" in data else 1):
        raise ValueError("malformed answer")
    kind = next(iter(data)) if len(data) == 1 else ("ndarray" if "ndarray" in data else "numpy")
    if kind == "plain":
        value = data["plain"]
        if value is not None and type(value) not in (bool, int, float, str):
            raise ValueError("malformed plain value")
        return value
    if kind == "ndarray":
        return _array(data)
    if kind == "numpy":
        return _scalar(data)
    if kind in ("list", "tuple") and isinstance(data[kind], list):
        items = [decode(item, depth + 1) for item in data[kind]]
        return items if kind == "list" else tuple(items)
    if kind == "dict" and isinstance(data["dict"], dict):
        return {key: decode(item, depth + 1) for key, item in data["dict"].items()}
    if kind == "unsupported" and isinstance(data["unsupported"], str):
        return Unsupported(data["unsupported"][:100])
    raise ValueError("malformed answer")


def to_wire(answer):
    """The kernel's answer (JSON text) as it travels: base64 text."""
    return base64.b64encode(answer.encode("utf-8")).decode("ascii")


def from_wire(wire):
    """The answer object from the text the kernel sent (``to_wire``), bounded before parsing.

    returns: dict, the answer of ``serve``; raises ValueError for anything else
    """
    if not isinstance(wire, str) or len(wire) > MAX_ANSWER_BYTES * 4 // 3 + 8:
        raise ValueError(f"the answer is larger than {MAX_ANSWER_BYTES // 1024 ** 2} MB")
    if not _WIRE.fullmatch(wire):
        raise ValueError("the answer is not in the protocol's format")
    try:
        answer = json.loads(base64.b64decode(wire, validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError("the answer is not valid JSON") from None
    if not isinstance(answer, dict):
        raise ValueError("the answer is not an object")
    return answer


def serve(namespace, request):
    """Answer one request from the grader, inside the student's kernel.

    request -- JSON text: {"function", "args", "kwargs", "replace"}, encoded with ``encode``
    returns: the answer for ``from_wire``: {"result", "args"} or {"error"}, as JSON, then base64
    """
    request = json.loads(request)
    try:
        result, args = Student(namespace).call_and_inspect(
            request["function"], *decode(request["args"]), replace=request["replace"],
            **decode(request["kwargs"]))
        answer = json.dumps({"result": encode(result), "args": encode(tuple(args))})
    except StudentError as error:
        answer = json.dumps({"error": str(error)})
    return to_wire(answer)


def install():
    """Answer the grader's CALL_REQUEST messages in this kernel (the judge runs this once, before its
    first call, in a cell of its own): a handler on the kernel's shell channel, which calls ``serve`` as the module
    holds it then, on the kernel's namespace, without running a cell (a cell costs the kernel twice
    the CPU). It replies CALL_REPLY {"status": "ok", "answer": serve's answer}, or {"status":
    "error", "ename"} when the call was interrupted or serve failed."""
    import sys

    from IPython import get_ipython

    shell = get_ipython()
    kernel = shell.kernel
    module = sys.modules[__name__]

    async def answer(stream, ident, parent):
        try:
            content = {"status": "ok", "answer": module.serve(shell.user_ns, parent["content"]["request"])}
        except (Exception, KeyboardInterrupt) as error:  # an interrupt after the call's time limit
            content = {"status": "error", "ename": type(error).__name__}
        kernel.session.send(stream, CALL_REPLY, content, parent, ident=ident)

    kernel.shell_handlers[CALL_REQUEST] = answer


def installed():
    """Whether install() was run in this kernel (what the judge asks before its first call)."""
    from IPython import get_ipython
    return CALL_REQUEST in get_ipython().kernel.shell_handlers
