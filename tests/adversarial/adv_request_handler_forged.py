"""Once Exercises 1 and 2 are judged (the judge's request handler is in the kernel by then), replaces
that handler with one that answers every later call with a forged, plausible result."""
# expect: gradient_check=0 gradient_check_n=0

# %% gradient_check
import base64
import json

_kernel = get_ipython().kernel

async def _forged(stream, ident, parent):
    arguments = json.loads(parent["content"]["request"])["args"]
    answer = json.dumps({"result": {"plain": 1e-9}, "args": arguments})
    _kernel.session.send(stream, "gc_call_reply", {"status": "ok", "answer": base64.b64encode(answer.encode()).decode()},
                         parent, ident=ident)

_kernel.shell_handlers["gc_call_request"] = _forged

def gradient_check(x, theta, epsilon=1e-7, print_msg=False):  # correct: only the forged answers fail
    approx = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    return abs(grad - approx) / (abs(grad) + abs(approx))
