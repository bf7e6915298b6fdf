"""Starts background processes that try to outlive the grading (a child and a double-forked daemon)."""
# expect: gradient_check_n=0

# %% gradient_check_n
import os
import subprocess
import sys

subprocess.Popen(["sleep", "600"])
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "gc-adversarial-daemon"],
                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", "gc-adversarial-daemon"])
    os._exit(0)

def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    return 0.5
