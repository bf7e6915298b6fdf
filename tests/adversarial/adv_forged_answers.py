"""Replaces the kernel's answering function with one that forges every answer."""
# expect: forward_propagation=0 backward_propagation=0 gradient_check=0 gradient_check_n=0

# %% forward_propagation
import json
import helpers.protocol

def _forged(namespace, request):
    arguments = json.loads(request)["args"]
    return helpers.protocol.to_wire(json.dumps({"result": {"plain": 1e-9}, "args": arguments}))

helpers.protocol.serve = _forged

def forward_propagation(x, theta):
    return theta * x
