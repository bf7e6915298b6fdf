"""The grader <-> kernel protocol (helpers/protocol.py): every accepted value round-trips exactly, and
everything else, however it is dressed up, is refused with ValueError and nothing worse."""

import base64
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from helpers import protocol
from helpers.testing import as_scalar

DTYPES = ["<f8", "<f4", "<i8", "<i4", "|u1", "|b1"]
plain = st.none() | st.booleans() | st.integers(-2 ** 63, 2 ** 63 - 1) | st.floats() | st.text(max_size=20)
arrays = st.sampled_from(DTYPES).flatmap(lambda dtype: hnp.arrays(np.dtype(dtype), hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)))
scalars = st.one_of(st.floats(width=64).map(np.float64), st.floats(width=32).map(np.float32),
                    st.integers(-2 ** 63, 2 ** 63 - 1).map(np.int64), st.integers(-2 ** 31, 2 ** 31 - 1).map(np.int32),
                    st.booleans().map(np.bool_))
values = st.recursive(plain | arrays | scalars,
                      lambda inner: st.lists(inner, max_size=4) | st.lists(inner, max_size=4).map(tuple)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


def same(a, b):
    """Equal in value and in type all the way down (nan equals nan)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    if isinstance(a, (float, np.floating)):
        return (np.isnan(a) and np.isnan(b)) or a == b
    return a == b


def through_the_wire(value):
    """encode, JSON, to_wire, from_wire, decode: what the grader ends up with."""
    answer = json.dumps({"result": protocol.encode(value)})
    return protocol.decode(protocol.from_wire(protocol.to_wire(answer))["result"])


@settings(max_examples=300, deadline=None)
@given(values)
def test_every_accepted_value_round_trips_exactly(value):
    assert same(through_the_wire(value), value)


class Sneaky(float):
    """A float that claims to equal everything."""

    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


@pytest.mark.filterwarnings("ignore:the matrix subclass")
@pytest.mark.parametrize("value, type_name", [
    (Sneaky(0.5), "Sneaky"),
    (np.array([1.0, "x"], dtype=object), "ndarray"),
    (np.matrix([[1.0]]), "matrix"),
    (np.float16(1.0), "float16"),
    ({1: 2.0}, "dict"),
    (lambda: 0, "function"),
])
def test_look_alikes_arrive_as_unsupported_and_fail_as_numbers(value, type_name):
    result = through_the_wire(value)
    assert isinstance(result, protocol.Unsupported) and result.type_name == type_name
    with pytest.raises(AssertionError):
        as_scalar(result, "gradient_check")


def test_a_bool_is_never_a_number():
    for value in (True, np.bool_(False)):
        with pytest.raises(AssertionError, match="one number"):
            as_scalar(through_the_wire(value), "gradient_check")


def test_nesting_beyond_the_limit_is_cut_when_sent():
    deep = 0.5
    for _ in range(protocol.MAX_DEPTH + 5):
        deep = [deep]
    received = through_the_wire(deep)
    for _ in range(protocol.MAX_DEPTH):
        received = received[0]
    assert isinstance(received[0], protocol.Unsupported)


@pytest.mark.parametrize("data", [
    {"numpy": "<i8", "value": True},            # bool for int
    {"numpy": "<f8", "value": "1.0"},           # text for float
    {"numpy": "|b1", "value": 1},               # int for bool
    {"numpy": "|O", "value": 1},                # object scalar
    {"ndarray": "|O", "shape": [1], "data": ""},
    {"ndarray": "<U3", "shape": [1], "data": base64.b64encode(b"abcdefghijkl").decode()},
    {"ndarray": "|V8", "shape": [1], "data": base64.b64encode(bytes(8)).decode()},
    {"ndarray": "<M8[s]", "shape": [1], "data": base64.b64encode(bytes(8)).decode()},
    {"ndarray": "<f8", "shape": [2], "data": base64.b64encode(bytes(8)).decode()},          # too little data
    {"ndarray": "<f8", "shape": [10 ** 12], "data": ""},                                      # a huge shape
    {"ndarray": "<f8", "shape": [-1], "data": base64.b64encode(bytes(8)).decode()},
    {"ndarray": "<f8", "shape": [1.0], "data": base64.b64encode(bytes(8)).decode()},
    {"ndarray": "<f8", "shape": [1], "data": "not base64!"},
    {"ndarray": "<f8", "shape": [1], "data": base64.b64encode(bytes(8)).decode(), "extra": 1},
    {"plain": [1, 2]}, {"plain": {"a": 1}}, {"list": "abc"}, {"dict": []}, {"tuple": None},
    {"unsupported": 5}, {}, {"what": 1}, [], "plain", None,
])
def test_malformed_answers_are_refused(data):
    with pytest.raises(ValueError):
        protocol.decode(data)


def test_nesting_too_deep_is_refused_when_received():
    data = {"plain": 1.0}
    for _ in range(protocol.MAX_DEPTH + 3):
        data = {"list": [data]}
    with pytest.raises(ValueError, match="nested too deeply"):
        protocol.decode(data)


@pytest.mark.parametrize("text", [
    "A" * (protocol.MAX_ANSWER_BYTES * 2),            # too large: refused before any parsing
    protocol.to_wire("[" * 100_000 + "]" * 100_000),  # nesting deeper than JSON's parser takes
    protocol.to_wire("[1, 2]"),                       # not an object
    protocol.to_wire("{not json"),
    repr(protocol.to_wire("{}")),                     # quoted: not base64
    "abc\\x00", "e30", "e30=\n", b"e30=", None, 42,
])
def test_answers_not_in_the_protocols_format_are_refused(text):
    with pytest.raises(ValueError):
        protocol.from_wire(text)


json_like = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                         lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                         max_leaves=25)


@settings(max_examples=500, deadline=None)
@given(json_like)
def test_any_json_decodes_to_a_value_or_a_value_error_and_nothing_else(data):
    try:
        protocol.decode(data)
    except ValueError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_from_the_kernel_parses_or_is_a_value_error(text):
    try:
        protocol.from_wire(text)
    except ValueError:
        pass
