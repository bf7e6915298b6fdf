"""A fork bomb in the last exercise: the process limit stops it; earlier points are kept."""
# expect: gradient_check_n=0

# %% gradient_check_n
import os

children = 0
for _ in range(10_000):
    try:
        if os.fork() == 0:
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
        children += 1
    except OSError:
        break
print("forked", children)
