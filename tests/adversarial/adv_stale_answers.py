"""After Exercises 1 and 2 are judged, empties every later cell, hoping old answers are read again."""
# expect: gradient_check=0 gradient_check_n=0

# %% gradient_check
get_ipython().input_transformers_cleanup.append(lambda lines: [])
