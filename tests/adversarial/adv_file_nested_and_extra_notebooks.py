"""Correct, but the notebook is in a subfolder under another name, beside an empty draft notebook:
the one that answers the exercises is graded."""
# mutate: rename final.ipynb
# mutate: nest my-work
# expect-note: named 'my-work/final.ipynb'
# expect-note: it answers the most exercises

# %% file:draft.ipynb
{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
