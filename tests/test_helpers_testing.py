"""Tests of helpers.testing: as_scalar, quietly and swapped_globals."""

import warnings

import numpy as np
import pytest

from helpers.testing import as_scalar, quietly, swapped_globals


@pytest.mark.parametrize("value, expected", [(0.25, 0.25), (3, 3.0), (np.float64(1e-9), 1e-9),
                                             (np.array(2.5), 2.5), (np.int64(-4), -4.0)])
def test_as_scalar_accepts_single_numbers(value, expected):
    """as_scalar accepts a float, an int, a NumPy number or a 0-d array and returns a float."""
    result = as_scalar(value, "gradient_check_n")
    assert type(result) is float
    assert result == expected


@pytest.mark.parametrize("value", [np.array([1.0]), [1.0], None, True, np.bool_(False),
                                   np.array(True), "0.5"])
def test_as_scalar_rejects_non_numbers(value):
    """as_scalar raises AssertionError naming the function and asking for one number."""
    with pytest.raises(AssertionError) as info:
        as_scalar(value, "gradient_check_n")
    message = str(info.value)
    assert "gradient_check_n" in message and "one number" in message


def test_as_scalar_message_gives_array_shape():
    """For an array the message gives its shape."""
    with pytest.raises(AssertionError, match=r"shape \(1,\)"):
        as_scalar(np.array([1.0]), "f")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, np.array(np.nan)])
def test_as_scalar_rejects_non_finite(value):
    """as_scalar raises AssertionError naming the function for nan and inf."""
    with pytest.raises(AssertionError, match="gradient_check_n returned"):
        as_scalar(value, "gradient_check_n")


def test_quietly_silences_warnings_and_output(capsys):
    """quietly returns the value while nothing is printed and no warning escapes."""
    def noisy(a, b=0):
        print("hello")
        import sys
        print("to stderr", file=sys.stderr)
        warnings.warn("careful", RuntimeWarning)
        np.log(np.zeros(1))
        return a + b

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert quietly(noisy, 2, b=3) == 5
    assert caught == []
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_quietly_propagates_exceptions():
    """quietly does not swallow exceptions."""
    def broken():
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError, match="boom"):
        quietly(broken)


def test_swapped_globals_swaps_and_restores():
    """swapped_globals replaces names inside the block and restores or removes them after."""
    namespace = {"forward": "original", "other": 1}
    with swapped_globals(namespace, forward="fake", backward="new"):
        assert namespace == {"forward": "fake", "other": 1, "backward": "new"}
    assert namespace == {"forward": "original", "other": 1}


def test_swapped_globals_restores_when_body_raises():
    """swapped_globals restores the namespace even when the body raises."""
    namespace = {"forward": "original"}
    with pytest.raises(RuntimeError):
        with swapped_globals(namespace, forward="fake", backward="new"):
            raise RuntimeError
    assert namespace == {"forward": "original"}
