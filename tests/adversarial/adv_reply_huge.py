"""Exercise 1's answers come back as 100 MB replies: refused unread, so the grader's memory stays
bounded; that exercise fails with the reason, the others are graded."""
# expect: forward_propagation=0
# expect-failure: no answer came back from forward_propagation

# %% forward_propagation
import json

import helpers.protocol

_serve = helpers.protocol.serve

def _huge(namespace, request):
    if json.loads(request)["function"] == "forward_propagation":
        return "A" * 100_000_000
    return _serve(namespace, request)

helpers.protocol.serve = _huge

def forward_propagation(x, theta):
    return theta * x
