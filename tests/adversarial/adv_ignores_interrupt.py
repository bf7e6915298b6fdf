"""An endless loop that ignores interrupts in Exercise 3: killed; Exercises 1 and 2 keep their points."""
# expect: gradient_check=0 gradient_check_n=0
# expect-kernel: ignored the interrupt

# %% gradient_check
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
