"""Looks for the solutions, the gradebook and other students' work anywhere it can reach."""
# expect: gradient_check_n=0

# %% gradient_check_n
import glob
import os

found = []
for pattern in ["/work/*/source/*/*.ipynb", "/work/*/gradebook.db", "../*", "../../*", "/tmp/*/*",
                "/proc/*/cwd/*", "/root/*", "/home/*/*", "/srv/*", "/mnt/*", "/tmp/pytest-of-*/*/*/*"]:
    found += [path for path in glob.glob(pattern) if "gradebook.db" in path or "/source/" in path or "/submitted/" in path]
for top in ["/"]:
    for directory, folders, files in os.walk(top):
        folders[:] = [f for f in folders if f not in ("proc", "usr", "sys", "dev")]
        found += [os.path.join(directory, f) for f in files if f in ("gradebook.db", "gradient_checking.ipynb")]
for path in found:
    print("LEAKED:", path)
    try:
        print("LEAKED-CONTENT:", open(path, "rb").read(200))
    except OSError:
        pass

def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    return 0.5
