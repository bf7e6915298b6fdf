"""Exercise 3 raises an error whose message holds HTML and terminal escape sequences: it fails, and
its message is shown as text, without the escapes, in the report, the feedback and the site."""
# expect: gradient_check=0
# expect-failure: STUDENT-MESSAGE

# %% gradient_check
def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    raise ValueError("STUDENT-MESSAGE <img src=x onerror=\"window.__xss='message'\"> \x1b[2J\x1b[31mred\x07 \u202egnp.exe")
