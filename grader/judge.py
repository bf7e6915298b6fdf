"""Fail-closed judging outside the student's kernel.

The kernel only runs the student's cells and, on request, calls a student function on inputs the
grader sends, answering with plain data (``helpers.protocol.serve``, through the request handler
that ``helpers.protocol.install`` adds to the kernel before the first call). Graded test cells
never run in the kernel: their source, taken from the gradebook, runs here in the grader, where
``student_code.call(...)`` becomes such a request. Expected values are computed here and never
leave this process. A check passes only if its code runs to the end; a missing, malformed or
mistyped answer, a dead kernel or a timeout fails it. All calls of one submission share one time
budget, so a student whose functions stall only when the hidden tests call them costs the batch
at most that budget.
"""

import contextlib
import io
import json
import re
import time
import uuid

from helpers import protocol, testing

from .kernel import KernelDied

MAGIC_LINE = re.compile(r"^\s*[%!].*$", re.MULTILINE)


class TestBudget:
    """Seconds that one submission's calls from the hidden tests may take together.

    seconds -- the whole budget; no call is made once it is spent
    """

    def __init__(self, seconds):
        self.seconds, self.spent = seconds, 0.0

    def remaining(self):
        return self.seconds - self.spent

    @contextlib.contextmanager
    def charge(self):
        """Count the time of the block against the budget."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.spent += time.monotonic() - started


class RemoteStudent:
    """``student_code`` for the judge: every call is a request to the sandboxed kernel.

    kernel -- a running SandboxedKernel
    call_timeout -- seconds one call may take before the kernel is interrupted
    budget -- the TestBudget all calls of this submission share
    """

    def __init__(self, kernel, call_timeout, budget):
        self.kernel = kernel
        self.call_timeout = call_timeout
        self.budget = budget
        self.handler = None  # whether the kernel took the protocol's request handler (known at the first call)

    def call(self, function_name, *args, replace=None, **kwargs):
        result, _ = self.call_and_inspect(function_name, *args, replace=replace, **kwargs)
        return result

    def runs(self, function_name, *args, replace=None, **kwargs):
        """Call a function only to see that it runs; returns None (see helpers.testing.Student.runs)."""
        self.call_and_inspect(function_name, *args, replace=replace, **kwargs)

    def _install(self, timeout):
        """Before the first call: add the protocol's request handler to the kernel (one cell), and
        ask whether it is there. returns: bool"""
        _, reply = self.kernel.execute(
            "import helpers.protocol as _gc_protocol\n_gc_protocol.install()\ndel _gc_protocol", timeout=timeout,
            user_expressions={"installed": "__import__('helpers.protocol').protocol.installed()"})
        return (reply or {}).get("status") == "ok" and _user_expression(reply, "installed") == "True"

    def _call_by_cell(self, request, timeout):
        """A call as a cell, for a kernel that did not take the handler (its cells changed how it runs
        code, or its helpers predate install): serve's answer comes back as a user expression, under
        a fresh name, so that a stale answer can never be read back. returns: (outputs, reply, wire)"""
        answer_name = f"_gc_answer_{uuid.uuid4().hex}"
        code = f"import helpers.protocol as _gc_protocol\n{answer_name} = _gc_protocol.serve(globals(), {request!r})"
        outputs, reply = self.kernel.execute(code, timeout=timeout,
                                             user_expressions={"answer": f"globals().pop({answer_name!r})"})
        text = _user_expression(reply, "answer")
        quoted = isinstance(text, str) and len(text) >= 2 and text[0] == text[-1] == "'"  # the repr of a str
        return outputs, reply, text[1:-1] if quoted else text

    def call_and_inspect(self, function_name, *args, replace=None, **kwargs):
        request = json.dumps({
            "function": str(function_name),
            "args": protocol.encode(tuple(args)),
            "kwargs": protocol.encode(dict(kwargs)),
            "replace": {name: testing.describe_replacement(function) for name, function in (replace or {}).items()},
        })
        remaining = self.budget.remaining()
        if remaining <= 0:
            raise testing.StudentError(
                f"{function_name} was not called: the hidden tests' time budget of {self.budget.seconds:g} s "
                "was spent (the reference solution needs well under a second for all of them)")
        timeout = min(self.call_timeout, remaining)
        with self.budget.charge():
            if self.handler is None:
                self.handler = self._install(timeout)
            if self.handler:
                outputs, reply = self.kernel.request(protocol.CALL_REQUEST, {"request": request}, timeout=timeout)
                wire = (reply or {}).get("answer")
            else:
                outputs, reply, wire = self._call_by_cell(request, timeout)
        if reply is None:
            raise testing.StudentError(f"no answer came back from {function_name} (an answer over "
                                       f"{self.kernel.max_message_bytes // 1024 ** 2} MB is refused)")
        if reply.get("status") != "ok":
            timed_out = any(o.get("ename") == "CellTimeoutError" for o in outputs)
            reason = (f"took longer than {timeout:g} s and was interrupted" if timed_out
                      else "could not be called")
            raise testing.StudentError(f"{function_name} {reason} ({str(reply.get('ename', 'error'))[:60]})")
        try:
            answer = protocol.from_wire(wire)
            if "error" in answer:
                raise testing.StudentError(str(answer["error"])[:500])
            result, arguments = protocol.decode(answer["result"]), protocol.decode(answer["args"])
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise testing.StudentError(f"no valid answer came back from {function_name} ({error})") from None
        if not isinstance(arguments, tuple) or len(arguments) != len(args):
            raise testing.StudentError(f"the answer of {function_name} was malformed (arguments)")
        return result, arguments


def _user_expression(reply, name):
    """The text/plain of a user expression in an execute reply (None if the reply or it is missing)."""
    return (reply or {}).get("user_expressions", {}).get(name, {}).get("data", {}).get("text/plain")


def judge_namespace(setup_source: str, student_code: RemoteStudent) -> dict:
    """The names graded cells may use: those of the notebook's setup cell, run here (magics removed)."""
    namespace = {"__name__": "__judge__"}
    exec(compile(MAGIC_LINE.sub("", setup_source), "<setup cell>", "exec"), namespace)
    namespace["student_code"] = student_code
    return namespace


def judge_cell(source: str, namespace: dict, grade_id: str) -> tuple[bool, str]:
    """Run one graded cell's code here, its prints kept out of the grader's log.

    returns: (passed, message) -- message says why it failed
    """
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, f"<{grade_id}>", "exec"), dict(namespace))
    except KernelDied as error:
        return False, f"Not run: the kernel stopped before this test ({error})."
    except AssertionError as error:
        return False, str(error) or "A check failed."
    except Exception as error:  # a bug in the test itself must fail closed, loudly
        return False, f"The test could not run: {type(error).__name__}: {error}"
    return True, ""


def first_line(source: str) -> str:
    """The one-line docstring a graded cell opens with, without its quotes."""
    line = source.strip().splitlines()[0] if source.strip() else ""
    return line.strip().strip('"').strip("'")
