"""A warm kernel template: one process per grading process, forked into every submission's kernel.

Starting a kernel costs a Python interpreter, ipykernel, NumPy and matplotlib: about a second of
CPU, the same for every student. This process pays it once. It runs, trusted and as root, inside
a bubblewrap sandbox that holds only the system, the virtual environment, the pool folder of kernel
folders and the cgroup file system (execution.KernelTemplate starts it), imports all that, and then
waits for requests on standard input, one JSON line each:

    {"spawn": id, "folder": submission folder, "sockets": socket folder, "connection": kernel.json,
     "log": the kernel's log file, "uid": the kernel's uid, "limits": {...}, "cgroups": [group folders],
     "arguments": [ipykernel's options]}

For each it forks a child that builds the submission's own sandbox before any student code runs,
exactly as the per-kernel bubblewrap does: new mount, PID, network, IPC and UTS namespaces; its
folder at /submission, a private /tmp, the pool and the cgroups hidden, the root read-only; its
cgroup; a fresh /proc and loopback; rlimits; no capabilities, no new privileges, its own uid. Only
then does it become an ipykernel. The template itself never runs student code, and no kernel is
forked from another, so no kernel holds any state of another submission.

It answers {"spawned": id, "pid": pid} and, when that kernel's sandbox ends, {"exited": id,
"status": exit code, 128 + signal when the kernel was killed}. It is one file, with no import of
the grader, because the grader is not inside the sandbox: it is copied into the pool folder.
"""

import ctypes
import json
import os
import resource
import selectors
import signal
import socket
import struct
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
SIOCSIFFLAGS, IFF_UP, IFF_LOOPBACK, IFF_RUNNING = 0x8914, 0x1, 0x8, 0x40
STASH = "/run/gc-sockets"  # where a child parks its socket folder while it hides the pool

libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source, target, kind=None, flags=0, data=None):
    _check(libc.mount(source.encode() if source else None, target.encode(), kind.encode() if kind else None,
                      ctypes.c_ulong(flags), data.encode() if data else None), f"mount {target}")


def _exit_status(status):
    """A wait status as bubblewrap reports it: the exit code, or 128 + the signal that ended it."""
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def warm():
    """Import and exercise what every kernel needs, before any fork (no thread may exist then).

    Every module a kernel imports to start and to run the notebook is imported here, once, except
    the course's helpers, which each kernel imports from its own folder. Of a kernel's start,
    ipykernel's debugger (debugpy) alone was two thirds: 0.13 of 0.2 CPU-s, in every kernel.
    """
    import faulthandler  # noqa: F401
    import importlib
    import io
    import pkgutil

    import IPython.core.completerlib  # noqa: F401
    import IPython.core.debugger  # noqa: F401
    import IPython.core.logger  # noqa: F401
    import IPython.core.magics
    import IPython.core.oinspect  # noqa: F401
    import IPython.core.pylabtools  # noqa: F401
    import IPython.extensions.storemagic  # noqa: F401
    import IPython.utils.wildcard  # noqa: F401
    import ipykernel.debugger  # noqa: F401
    import ipykernel.ipkernel  # noqa: F401
    import matplotlib
    import matplotlib_inline.backend_inline  # noqa: F401
    import numpy.random  # noqa: F401
    import psutil  # noqa: F401
    import tornado.platform.asyncio  # noqa: F401
    from ipykernel import kernelapp  # noqa: F401
    from matplotlib import pyplot
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401

    for magics in pkgutil.iter_modules(IPython.core.magics.__path__):  # IPython loads them at first use
        importlib.import_module(f"IPython.core.magics.{magics.name}")
    figure = pyplot.figure(figsize=(2, 2))
    figure.gca().plot([0, 1], [0, 1], label="warm $x^2$")
    figure.gca().legend()
    with io.BytesIO() as png:  # fonts, text layout, the Agg renderer and the PNG writer, loaded once
        figure.savefig(png, format="png")
    pyplot.close(figure)
    matplotlib.rcParams.update(matplotlib.rcParamsDefault)


def _hide_pool_and_mount(request):
    """(In the new mount namespace.) The submission at /submission, the socket folder where the
    connection file says, a private /tmp; everything else of the pool hidden, the root read-only."""
    pool = os.path.dirname(os.path.dirname(request["folder"]))
    _mount(None, "/", flags=MS_REC | MS_PRIVATE)
    _mount(request["folder"], "/submission", flags=MS_BIND)
    os.makedirs(STASH, exist_ok=True)
    _mount(request["sockets"], STASH, flags=MS_BIND)
    _mount("tmpfs", pool, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")  # every other kernel's folder: gone
    os.makedirs(request["sockets"])
    _mount(STASH, request["sockets"], flags=MS_BIND)
    libc.umount2(STASH.encode(), MNT_DETACH)
    _fresh_tmp()
    for path in ("/sys/fs/cgroup", "/sys"):
        libc.umount2(path.encode(), MNT_DETACH)
    _mount(None, "/", flags=MS_REMOUNT | MS_BIND | MS_RDONLY)
    _mount(None, pool, flags=MS_REMOUNT | MS_BIND | MS_RDONLY)


def _python_under_tmp():
    """The template's own Python installation where it lies under /tmp (a venv in a temporary
    clone, say): bubblewrap bound it there, read-only, and each kernel needs it too."""
    under_tmp = {path for path in map(os.path.realpath, (sys.prefix, sys.base_prefix)) if path.startswith("/tmp/")}
    return sorted(path for path in under_tmp if not any(path.startswith(other + "/") for other in under_tmp))


def _fresh_tmp():
    """(In the new mount namespace.) An empty /tmp, keeping the Python installation under it, read-only."""
    kept = _python_under_tmp()
    for index, path in enumerate(kept):
        os.makedirs(f"{STASH}-python{index}", exist_ok=True)
        _mount(path, f"{STASH}-python{index}", flags=MS_BIND | MS_REC)
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    for index, path in enumerate(kept):
        os.makedirs(path, mode=0o755)
        _mount(f"{STASH}-python{index}", path, flags=MS_BIND | MS_REC)
        _mount(None, path, flags=MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        libc.umount2(f"{STASH}-python{index}".encode(), MNT_DETACH)


def _loopback_up():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        import fcntl
        fcntl.ioctl(probe, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", IFF_UP | IFF_LOOPBACK | IFF_RUNNING))


def _become_student(request):
    """(The kernel's process.) Limits, then no capabilities, no new privileges, the lease uid."""
    limits = request["limits"]
    for name, value in (("RLIMIT_CPU", limits["cpu_seconds"]), ("RLIMIT_AS", limits["memory_bytes"]),
                        ("RLIMIT_NPROC", limits["processes"]), ("RLIMIT_FSIZE", limits["file_bytes"]),
                        ("RLIMIT_NOFILE", limits["open_files"]), ("RLIMIT_CORE", 0)):
        resource.setrlimit(getattr(resource, name), (value, value))
    with open("/proc/sys/kernel/cap_last_cap") as handle:
        last = int(handle.read())
    for capability in range(last + 1):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    uid = request["uid"]
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # from root to an ordinary uid: every capability is dropped
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    if os.getuid() == 0 or os.geteuid() == 0:
        raise RuntimeError("the kernel is still root")


def _kernel(request):
    """The kernel itself: a fresh ipykernel in /submission, with fresh random state."""
    os.chdir("/submission")
    os.environ["MPLCONFIGDIR"] = "/submission/.matplotlib"
    os.environ["HOME"] = "/tmp"
    sys.path[0] = ""  # as `python -m ipykernel_launcher` in /submission: the master helpers are there
    import random

    import numpy
    random.seed()
    numpy.random.seed()
    sys.argv = ["ipykernel_launcher", "-f", request["connection"], *request["arguments"]]
    from ipykernel import kernelapp
    kernelapp.launch_new_instance()


def _check_inherited_files(own):
    """Every descriptor a kernel would inherit, beyond standard input and output and the template's
    own (own: list of int), must be a regular file opened read-only from what every kernel may
    read anyway: the fonts matplotlib keeps open, say. They are not closed in the child, because
    the objects that hold them would later close or read whatever reused their numbers.
    raises: RuntimeError naming the first that is not"""
    readable = tuple(os.path.realpath(root) + os.sep for root in {sys.prefix, sys.base_prefix, "/usr", "/etc"})
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd <= 2 or fd in own:
            continue
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            with open(f"/proc/self/fdinfo/{fd}") as handle:
                flags = int(next(line for line in handle if line.startswith("flags:")).split()[1], 8)
        except OSError:
            continue  # the listing's own descriptor, closed already
        if flags & os.O_ACCMODE != os.O_RDONLY or not os.path.realpath(target).startswith(readable):
            raise RuntimeError(f"the template holds descriptor {fd} ({target}) that a kernel must not inherit")


def _detach_from_template(request, own):
    """(The child, first.) Nothing of the template's channels: standard input from /dev/null, output
    to the kernel's own log, the template's own descriptors (own: list of int) closed, signals as
    they were."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    for fd in own + [log, null]:
        os.close(fd)


def _sandbox(request, own):
    """The child of the template for one kernel: its sandbox, then the kernel inside it. Never returns.

    own -- the template's own descriptors, closed first"""
    try:
        _detach_from_template(request, own)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        for group in request["cgroups"]:
            with open(os.path.join(group, "cgroup.procs"), "w") as handle:
                handle.write(str(os.getpid()))
        _check(libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
        _hide_pool_and_mount(request)
        init = os.fork()
        if init == 0:  # PID 1 of the new namespace: when it dies, everything in the sandbox dies
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
            _loopback_up()
            kernel = os.fork()
            if kernel == 0:
                libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                os.setsid()
                _become_student(request)
                _kernel(request)
                os._exit(0)
            while True:  # reap every orphan until the kernel ends
                pid, status = os.wait()
                if pid == kernel:
                    os._exit(_exit_status(status))
        _, status = os.waitpid(init, 0)
        os._exit(_exit_status(status))
    except BaseException as error:  # noqa: BLE001 -- reported, and the sandbox ends
        try:
            os.write(2, f"kernel sandbox failed: {type(error).__name__}: {error}\n".encode())
        finally:
            os._exit(70)


def main():
    warm()
    read, write = os.pipe()
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children = {}  # pid -> request id
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin, selectors.EVENT_READ, "request")
    selector.register(read, selectors.EVENT_READ, "child")
    own = [read, write, selector.fileno()]
    _check_inherited_files(own)

    def say(message):
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    say({"ready": os.getpid()})
    while True:
        for key, _ in selector.select():
            if key.data == "child":
                os.read(read, 4096)
            else:
                line = sys.stdin.readline()
                if not line:  # the grader closed the pipe: stop (bubblewrap ends the rest), at once:
                    os._exit(0)  # a normal exit would tear down numpy, matplotlib and the rest first (0.35 s)
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    _sandbox(request, own)
                children[pid] = request["spawn"]
                say({"spawned": request["spawn"], "pid": pid})
            while children:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                say({"exited": children.pop(pid), "status": _exit_status(status)})


if __name__ == "__main__":
    main()
