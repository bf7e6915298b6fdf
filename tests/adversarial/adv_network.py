"""Tries to reach a server on the grader's loopback and the internet."""
# expect: gradient_check_n=0

# %% gradient_check_n
import socket
import urllib.request

for url in ["http://127.0.0.1:TRAP_PORT/stolen", "http://localhost:TRAP_PORT/stolen", "https://pypi.org/"]:
    try:
        urllib.request.urlopen(url, timeout=2)
        print("REACHED:", url)
    except Exception as error:
        print("blocked:", url, type(error).__name__)

def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    return 0.5
