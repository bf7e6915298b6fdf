"""Correct, but prints megabytes, also straight to file descriptors 1 and 2: truncated, small notebook."""

# %% forward_propagation
import os
import subprocess

print("x" * 5_000_000)
os.write(2, b"e" * 2_000_000)
subprocess.run(["head", "-c", "3000000", "/dev/zero"])
for line in range(100_000):
    print("line", line)

def forward_propagation(x, theta):
    return theta * x
