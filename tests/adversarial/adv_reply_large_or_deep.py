"""Exercise 1 answers with 20 MB (under the message limit, over the answer limit) and Exercise 2 with
JSON nested 100,000 deep: both refused before they are parsed; the others are graded."""
# expect: forward_propagation=0 backward_propagation=0
# expect-failure: larger than 8 MB
# expect-failure: not valid JSON

# %% forward_propagation
import json

import helpers.protocol

_serve = helpers.protocol.serve

def _hostile(namespace, request):
    if json.loads(request)["function"] == "forward_propagation":
        return "A" * 20_000_000
    if json.loads(request)["function"] == "backward_propagation":
        return helpers.protocol.to_wire("[" * 100_000 + "]" * 100_000)
    return _serve(namespace, request)

helpers.protocol.serve = _hostile

def forward_propagation(x, theta):
    return theta * x
