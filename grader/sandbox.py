"""The sandbox a submission's kernel runs in: bubblewrap, an unprivileged user, and limits.

What the kernel sees: the Python installation and the virtual environment (read-only), its own
copy of the submission folder (read-write, at /submission), a private /tmp, and a socket folder to
talk to the grader. No course root, no source/, no gradebook, no other student, no grader code, no
network. It runs as an unprivileged uid of its own in its own PID namespace, so every process it starts dies
with it; rlimits and a cgroup bound CPU time, memory, processes, file size and open files.
"""

import fcntl
import os
import shlex
import shutil
import sys
import time
import uuid
from dataclasses import dataclass

# Each running sandbox has a uid of its own, so that per-uid limits (RLIMIT_NPROC counts every
# process of a uid on the machine) of one submission never touch another graded in parallel.
SANDBOX_UIDS = range(620_000, 620_512)
UID_LOCK_DIR = "/run/gradient-checking-sandbox-uids"
SUBMISSION_MOUNT = "/submission"
MATPLOTLIB_DIR = ".matplotlib"  # the kernel's MPLCONFIGDIR, inside its folder, seeded with a font list
UNSAFE_OPT_IN = "GRADER_ALLOW_UNSANDBOXED"


class SandboxUnavailable(RuntimeError):
    """Raised when untrusted code would run without a sandbox and nobody opted in."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission's kernel."""

    cpu_seconds: int = 300
    memory_bytes: int = 2 * 1024 ** 3
    processes: int = 64
    file_bytes: int = 64 * 1024 ** 2
    open_files: int = 256
    cpus: float = 1.0


class UidLease:
    """An unused uid from SANDBOX_UIDS, held (by a lock file) until release(); safe across processes."""

    def __init__(self, lock_dir=UID_LOCK_DIR):
        os.makedirs(lock_dir, mode=0o700, exist_ok=True)
        for uid in SANDBOX_UIDS:
            handle = open(os.path.join(lock_dir, str(uid)), "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            self.uid, self._handle = uid, handle
            return
        raise RuntimeError(f"all {len(SANDBOX_UIDS)} sandbox uids are in use")

    def release(self):
        self._handle.close()


def bubblewrap_available():
    """True when bwrap exists and can build a sandbox here (Linux, as root or with user namespaces)."""
    return sys.platform.startswith("linux") and shutil.which("bwrap") is not None and shutil.which("setpriv") is not None


def check_sandbox(log=None):
    """Raise SandboxUnavailable unless bubblewrap works or the instructor opted out explicitly.

    returns: True when the sandbox will be used, False when the instructor opted out
    """
    if bubblewrap_available():
        return True
    if os.environ.get(UNSAFE_OPT_IN) == "1":
        message = (
            "!!! GRADING UNTRUSTED CODE WITHOUT A SANDBOX !!! bubblewrap is not available, and "
            f"{UNSAFE_OPT_IN}=1 is set: student code runs as you, and can read and change the whole "
            "course, including the gradebook and the hidden tests."
        )
        (log.warning if log else print)(message)
        return False
    raise SandboxUnavailable(
        "bubblewrap (bwrap) and setpriv are needed to grade untrusted code safely, and they are not "
        "available here. Install them (Debian: apt-get install bubblewrap util-linux), or run the "
        "grader in a Linux container. To grade WITHOUT a sandbox anyway, set "
        f"{UNSAFE_OPT_IN}=1 and understand that student code then runs as you."
    )


def _parents(path):
    """Every ancestor of an absolute path, outermost first, excluding '/'."""
    parts = path.strip("/").split("/")[:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _read_only_roots():
    """Folders the kernel needs to read: system libraries, the Python installation, the venv."""
    roots = {"/usr", "/etc/alternatives", "/etc/fonts", os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}
    return sorted(root for root in roots if os.path.isdir(root))


class ResourceGroup:
    """A cgroup (v1 memory, pids and cpu controllers) for one sandbox, when the machine lets us make one."""

    ROOTS = {"memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids", "cpu": "/sys/fs/cgroup/cpu"}
    PREFIX = "gradient-checking-"

    @classmethod
    def sweep_stale(cls, max_age_seconds=600):
        """Remove this grader's groups left behind by a grader that was killed (a Dask worker, say).

        Only groups older than max_age_seconds are tried, and the kernel refuses to remove a group
        that still holds a process, so a running sandbox's group is never touched.
        returns: how many folders were removed
        """
        removed = 0
        for root in cls.ROOTS.values():
            try:
                names = [name for name in os.listdir(root) if name.startswith(cls.PREFIX)]
            except OSError:
                continue
            for name in names:
                path = os.path.join(root, name)
                try:
                    if time.time() - os.stat(path).st_mtime >= max_age_seconds:
                        os.rmdir(path)
                        removed += 1
                except OSError:  # busy (a live sandbox), or gone already
                    pass
        return removed

    def __init__(self, limits):
        self.name = f"{self.PREFIX}{uuid.uuid4().hex[:12]}"
        self.paths = {}
        for controller, root in self.ROOTS.items():
            path = os.path.join(root, self.name)
            try:
                os.mkdir(path)
            except OSError:
                continue
            self.paths[controller] = path
        self._write("memory", "memory.limit_in_bytes", limits.memory_bytes)
        self._write("memory", "memory.memsw.limit_in_bytes", limits.memory_bytes, optional=True)
        self._write("pids", "pids.max", limits.processes)
        self._write("cpu", "cpu.cfs_period_us", 100_000)
        self._write("cpu", "cpu.cfs_quota_us", int(100_000 * limits.cpus))

    def _write(self, controller, name, value, optional=False):
        if controller in self.paths:
            try:
                with open(os.path.join(self.paths[controller], name), "w") as handle:
                    handle.write(str(value))
            except OSError:
                if not optional:
                    raise

    def enter_command(self):
        """Shell words that move the current shell into the group before exec-ing the sandbox."""
        return " && ".join(f"echo $$ > {shlex.quote(os.path.join(path, 'cgroup.procs'))}" for path in self.paths.values())

    def remaining(self):
        """PIDs still in the group."""
        pids = set()
        for path in self.paths.values():
            try:
                with open(os.path.join(path, "cgroup.procs")) as handle:
                    pids |= {int(line) for line in handle if line.strip()}
            except OSError:
                pass
        return pids

    def oom_killed(self):
        """True if the memory limit killed a process of this group."""
        try:
            with open(os.path.join(self.paths["memory"], "memory.oom_control")) as handle:
                return any(line.startswith("oom_kill ") and int(line.split()[1]) > 0 for line in handle)
        except (KeyError, OSError, ValueError):
            return False

    def remove(self):
        for path in self.paths.values():
            try:
                os.rmdir(path)
            except OSError:
                pass


def kernel_command(submission_dir, socket_dir, connection_file, limits, uid, group=None):
    """The command that starts an ipykernel for one submission inside the sandbox.

    submission_dir -- the private, writable copy of the submission (mounted at /submission)
    socket_dir -- folder holding the connection file and the kernel's IPC sockets (same path inside)
    uid -- the unprivileged uid (and gid) the kernel runs as; see UidLease
    returns: list of str, to run with a shell-free Popen
    """
    command = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
               "--unshare-cgroup-try", "--die-with-parent", "--new-session",
               "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
               "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    made = {"/tmp"}
    for target in _read_only_roots() + [socket_dir]:
        for parent in _parents(target):
            if parent not in made and parent not in ("/usr",):
                command += ["--perms", "0755", "--dir", parent]
                made.add(parent)
    for root in _read_only_roots():
        command += ["--ro-bind", root, root]
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{link}"):
            command += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
    command += [
        "--bind", socket_dir, socket_dir,
        "--bind", submission_dir, SUBMISSION_MOUNT,
        "--chdir", SUBMISSION_MOUNT,
        "--clearenv",
        "--setenv", "PATH", f"{os.path.join(sys.prefix, 'bin')}:/usr/bin:/bin",
        "--setenv", "HOME", "/tmp", "--setenv", "MPLCONFIGDIR", f"{SUBMISSION_MOUNT}/{MATPLOTLIB_DIR}",
        "--setenv", "IPYTHONDIR", "/tmp/ipython", "--setenv", "JUPYTER_RUNTIME_DIR", "/tmp/jupyter",
        "--setenv", "MPLBACKEND", "module://matplotlib_inline.backend_inline",
        "--setenv", "OPENBLAS_NUM_THREADS", "1", "--setenv", "OMP_NUM_THREADS", "1",
        "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
        "--",
        "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
        "prlimit", f"--cpu={limits.cpu_seconds}", f"--as={limits.memory_bytes}",
        f"--nproc={limits.processes}", f"--fsize={limits.file_bytes}", f"--nofile={limits.open_files}",
        "--core=0", "--",
        sys.executable, "-m", "ipykernel_launcher", "-f", connection_file,
        "--HistoryManager.enabled=False",  # no history database to create in every kernel
    ]
    if group is not None and group.paths:
        command = ["sh", "-c", f"{group.enter_command()} && exec {shlex.join(command)}"]
    return command


def unsandboxed_command(connection_file):
    """The kernel command used only when the instructor opted out of the sandbox."""
    return [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file]
