"""An endless loop that ignores interrupts in Exercise 3: killed; Exercises 1 and 2 keep their points.
(It sleeps rather than spins: the grader's path is the same, interrupt, grace, kill, and the test
batch does not burn 15 CPU-seconds on it.)"""
# expect: gradient_check=0 gradient_check_n=0
# expect-kernel: ignored the interrupt

# %% gradient_check
import signal
import time
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    time.sleep(0.1)
