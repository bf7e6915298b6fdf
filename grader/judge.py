"""Fail-closed judging outside the student's kernel.

The kernel only runs the student's cells and, on request, calls a student function on inputs the
grader sends, answering with plain data (``helpers.testing.serve``). Graded test cells never run in
the kernel: their source, taken from the gradebook, runs here in the grader, where
``student_code.call(...)`` becomes such a request. Expected values are computed here and never
leave this process. A check passes only if its code runs to the end; a missing, malformed or
mistyped answer, a dead kernel or a timeout fails it.
"""

import ast
import json
import re
import time
import uuid

from helpers import testing

from .kernel import KernelDied

MAGIC_LINE = re.compile(r"^\s*[%!].*$", re.MULTILINE)


class RemoteStudent:
    """``student_code`` for the judge: every call is a request to the sandboxed kernel.

    kernel -- a running SandboxedKernel
    call_timeout -- seconds one call may take before the kernel is interrupted
    deadline -- time.monotonic() value after which no call is made (the notebook's time limit)
    """

    def __init__(self, kernel, call_timeout, deadline):
        self.kernel = kernel
        self.call_timeout = call_timeout
        self.deadline = deadline

    def call(self, function_name, *args, replace=None, **kwargs):
        result, _ = self.call_and_inspect(function_name, *args, replace=replace, **kwargs)
        return result

    def call_and_inspect(self, function_name, *args, replace=None, **kwargs):
        request = json.dumps({
            "function": str(function_name),
            "args": testing.encode(tuple(args)),
            "kwargs": testing.encode(dict(kwargs)),
            "replace": {name: testing.describe_replacement(function) for name, function in (replace or {}).items()},
        })
        answer_name = f"_gc_answer_{uuid.uuid4().hex}"  # fresh, so a stale answer can never be read back
        code = f"import helpers.testing as _gc_testing\n{answer_name} = _gc_testing.serve(globals(), {request!r})"
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise KernelDied("the notebook ran over its time limit")
        outputs, reply = self.kernel.execute(code, timeout=min(self.call_timeout, remaining),
                                             user_expressions={"answer": f"globals().pop({answer_name!r})"})
        if reply.get("status") != "ok":
            timed_out = any(o.get("ename") == "CellTimeoutError" for o in outputs)
            reason = "took too long and was interrupted" if timed_out else "could not be called"
            raise testing.StudentError(f"{function_name} {reason} ({reply.get('ename', 'error')})")
        answer = self._parse(reply.get("user_expressions", {}).get("answer", {}), function_name)
        if "error" in answer:
            raise testing.StudentError(str(answer["error"])[:500])
        try:
            result, arguments = testing.decode(answer["result"]), testing.decode(answer["args"])
        except (KeyError, TypeError, ValueError) as error:
            raise testing.StudentError(f"the answer of {function_name} was malformed ({error})") from None
        if not isinstance(arguments, tuple) or len(arguments) != len(args):
            raise testing.StudentError(f"the answer of {function_name} was malformed (arguments)")
        return result, arguments

    @staticmethod
    def _parse(expression, function_name):
        try:
            text = ast.literal_eval(expression["data"]["text/plain"])
            answer = json.loads(text)
            if not isinstance(answer, dict):
                raise ValueError("not an object")
            return answer
        except (KeyError, TypeError, ValueError, SyntaxError, MemoryError, RecursionError):
            raise testing.StudentError(f"no valid answer came back from {function_name}") from None


def judge_namespace(setup_source, student_code):
    """The names graded cells may use: those of the notebook's setup cell, run here (magics removed)."""
    namespace = {"__name__": "__judge__"}
    exec(compile(MAGIC_LINE.sub("", setup_source), "<setup cell>", "exec"), namespace)
    namespace["student_code"] = student_code
    return namespace


def judge_cell(source, namespace, grade_id):
    """Run one graded cell's code here. returns: (passed, message) -- message says why it failed."""
    try:
        exec(compile(source, f"<{grade_id}>", "exec"), dict(namespace))
    except KernelDied as error:
        return False, f"Not run: the kernel stopped before this test ({error})."
    except AssertionError as error:
        return False, str(error) or "A check failed."
    except Exception as error:  # a bug in the test itself must fail closed, loudly
        return False, f"The test could not run: {type(error).__name__}: {error}"
    return True, ""


def first_line(source):
    """The one-line docstring a graded cell opens with, without its quotes."""
    line = source.strip().splitlines()[0] if source.strip() else ""
    return line.strip().strip('"').strip("'")
