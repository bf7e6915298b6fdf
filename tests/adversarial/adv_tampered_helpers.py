"""Ships its own helpers/testing.py and numpy.py that would accept anything; answers wrongly."""
# expect: forward_propagation=0

# %% forward_propagation
def forward_propagation(x, theta):
    return 42.0

# %% file:helpers/testing.py
import json
def as_scalar(value, name):
    return 0.0
def serve(namespace, request):
    return json.dumps({"result": {"plain": 0.0}, "args": {"tuple": []}})

# %% file:numpy.py
raise SystemExit("a fake numpy")
