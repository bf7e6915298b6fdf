"""Crashes the kernel with a segmentation fault in Exercise 4."""
# expect: gradient_check_n=0
# expect-kernel: died

# %% gradient_check_n
import ctypes
ctypes.string_at(0)
