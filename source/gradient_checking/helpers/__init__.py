"""Helpers for the gradient-checking assignment.

Modules, each named for what it holds:

- ``network``: activations and the L-layer network's forward pass and a correct backward pass;
- ``vectorize``: ``dictionary_to_vector``, ``vector_to_dictionary`` and ``gradients_to_vector``;
- ``fixtures``: seeded test cases (the seed's 4-5-3-1 net and other architectures) and planted bugs;
- ``diagnostics``: which parameters a gradient checker says disagree;
- ``figures``: the plots the notebook draws live (the V-curve, the per-parameter bars) and the table;
- ``testing``: small assertions shared by the notebook's test cells.

This package imports only NumPy and matplotlib. It holds no solution to the graded exercises.
"""
