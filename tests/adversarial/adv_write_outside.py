"""Tries to overwrite the gradebook, the master notebook, other students' work and a host file."""
# expect: gradient_check_n=0

# %% gradient_check_n
import os

targets = ["CANARY_PATH", "../../../gradebook.db", "../../alice/gradient_checking/gradient_checking.ipynb",
           "../../../source/gradient_checking/gradient_checking.ipynb", "/work/main/gradebook.db",
           "/root/.bashrc", "/usr/lib/python3/dist-packages/evil.py"]
for target in targets:
    try:
        with open(target, "w") as handle:
            handle.write("pwned")
        print("WROTE:", target)
    except OSError as error:
        print("blocked:", target, type(error).__name__)

def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    return 0.5
