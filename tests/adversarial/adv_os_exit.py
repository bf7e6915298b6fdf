"""Kills its own kernel in Exercise 3: Exercises 1 and 2 keep their points, the rest scores 0."""
# expect: gradient_check=0 gradient_check_n=0
# expect-kernel: died

# %% gradient_check
import os
os._exit(3)
