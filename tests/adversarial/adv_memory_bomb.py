"""Allocates far more memory than allowed; the memory limit stops it; earlier points are kept."""
# expect: gradient_check_n=0

# %% gradient_check_n
hog = []
for _ in range(1000):
    hog.append(bytearray(256 * 1024 ** 2))
    hog[-1][::4096] = b"x" * len(hog[-1][::4096])
