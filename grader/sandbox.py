"""The sandbox a submission's kernel runs in: bubblewrap, an unprivileged user, and limits.

What the kernel sees: the Python installation and the virtual environment (read-only), its own
copy of the submission folder (read-write, at /submission), a private /tmp, and a socket folder to
talk to the grader. No course root, no source/, no gradebook, no other student, no grader code, no
network. It runs in its own PID namespace, so every process it starts dies with it; rlimits bound
CPU time, memory, processes, file size and open files.

Two modes, chosen by who runs the grader (``sandbox_mode``):

- as root: the kernel runs as an unprivileged uid of its own (``UidLease``), and a cgroup adds a
  memory limit, a process limit and one CPU's worth of time for the whole sandbox;
- as an ordinary user (an instructor on a shared server or JupyterHub): bubblewrap builds the
  sandbox in a new user namespace, where the kernel is uid 1000 with no capabilities. The process
  limit counts per user namespace, so it is per sandbox here too. No cgroup can be made, so memory
  is bounded per process only: a loud warning says so (``GRADER_REQUIRE_CGROUP=1`` refuses instead).

Where neither works (no bubblewrap, or user namespaces switched off), the grader refuses to run.
"""

import fcntl
import functools
import logging
import os
import shlex
import shutil
import subprocess
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
# Every grading kernel's options, however it starts (forked, in its own bubblewrap, unsandboxed):
# no history database to create in every kernel.
KERNEL_ARGUMENTS = ("--HistoryManager.enabled=False",)
UNSAFE_OPT_IN = "GRADER_ALLOW_UNSANDBOXED"
REQUIRE_CGROUP = "GRADER_REQUIRE_CGROUP"
INSIDE_UID = 1000  # the kernel's uid inside a user namespace (ordinary-user mode)


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


def running_as_root() -> bool:
    return os.geteuid() == 0


@functools.cache
def sandbox_problem() -> str | None:
    """Why no sandbox can be built here, or None when one can (probed once per process). returns: str or None"""
    if not sys.platform.startswith("linux"):
        return "bubblewrap sandboxes need Linux"
    missing = [name for name in ("bwrap", "prlimit") + (("setpriv",) if running_as_root() else ()) if not shutil.which(name)]
    if missing:
        return f"{', '.join(missing)} not installed (Debian: apt-get install bubblewrap util-linux)"
    probe = ["bwrap", "--unshare-pid", "--unshare-net", "--die-with-parent", "--ro-bind", "/", "/", "true"]
    if not running_as_root():
        probe[1:1] = ["--unshare-user"]
    try:
        result = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not run ({error})"
    if result.returncode != 0:
        why = result.stderr.strip()[-300:]
        if running_as_root():
            return f"bubblewrap failed as root: {why}"
        return ("you are not root, and this machine does not let ordinary users make the user namespaces "
                f"bubblewrap needs ({why}). Ask an administrator to allow them (sysctl "
                "kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0), or grade as root")
    return None


def bubblewrap_available() -> bool:
    """True when bubblewrap can build a sandbox here: as root, or as an ordinary user with user namespaces."""
    return sandbox_problem() is None


def sandbox_mode() -> str:
    """"root" or "user namespace": how this process sandboxes kernels (see the module docstring)."""
    return "root" if running_as_root() else "user namespace"


def check_sandbox(log=None) -> bool:
    """Raise SandboxUnavailable unless bubblewrap works or the instructor opted out explicitly.

    returns: True when the sandbox will be used, False when the instructor opted out
    """
    problem = sandbox_problem()
    if problem is None:
        ResourceGroup(Limits()).remove()  # warns now (or refuses) if group limits cannot be applied
        return True
    if os.environ.get(UNSAFE_OPT_IN) == "1":
        message = (
            f"!!! GRADING UNTRUSTED CODE WITHOUT A SANDBOX !!! {problem}, and "
            f"{UNSAFE_OPT_IN}=1 is set: student code runs as you, and can read and change the whole "
            "course, including the gradebook and the hidden tests."
        )
        (log.warning if log else print)(message)
        return False
    raise SandboxUnavailable(
        f"No sandbox for untrusted code: {problem}. Student code is never run without one. To grade "
        f"WITHOUT a sandbox anyway, set {UNSAFE_OPT_IN}=1 and understand that student code then runs as you."
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
        missing = sorted(set(self.ROOTS) - set(self.paths))
        if missing:
            _group_limits_missing(missing)
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


_warned = set()


def _group_limits_missing(controllers):
    """Group limits that cannot be applied: a loud warning, once per process, or a refusal."""
    why = ("this grader is not root" if not running_as_root() else
           "the machine has cgroup v2 or no writable cgroup v1 controllers" if os.path.exists("/sys/fs/cgroup/cgroup.controllers")
           else "the cgroup v1 controllers are not writable here")
    message = (f"!!! cgroup limits ({', '.join(controllers)}) are NOT applied to student kernels: {why}. "
               "Each kernel is still bounded per process (address space, CPU time, processes, files), but "
               "not as a whole: a submission can use up to that many processes times the memory limit. "
               f"Set {REQUIRE_CGROUP}=1 to refuse to grade without them.")
    if os.environ.get(REQUIRE_CGROUP) == "1":
        raise SandboxUnavailable(message)
    if tuple(controllers) not in _warned:
        _warned.add(tuple(controllers))
        logging.getLogger("grader.sandbox").warning(message)


def _system_view(writable):
    """bubblewrap arguments for what every sandbox sees: the system and the virtual environment,
    read-only, a private /tmp, /proc and /dev, and the given folders writable at their own paths."""
    arguments = ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    made = {"/tmp"}
    for target in _read_only_roots() + list(writable):
        for parent in _parents(target):
            if parent not in made and parent not in ("/usr",):
                arguments += ["--perms", "0755", "--dir", parent]
                made.add(parent)
    for root in _read_only_roots():
        arguments += ["--ro-bind", root, root]
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{link}"):
            arguments += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
    for folder in writable:
        arguments += ["--bind", folder, folder]
    return arguments


def _kernel_environment():
    """bubblewrap arguments for a kernel's environment: nothing of the grader's."""
    return ["--clearenv",
            "--setenv", "PATH", f"{os.path.join(sys.prefix, 'bin')}:/usr/bin:/bin",
            "--setenv", "HOME", "/tmp", "--setenv", "MPLCONFIGDIR", f"{SUBMISSION_MOUNT}/{MATPLOTLIB_DIR}",
            "--setenv", "IPYTHONDIR", "/tmp/ipython", "--setenv", "JUPYTER_RUNTIME_DIR", "/tmp/jupyter",
            "--setenv", "MPLBACKEND", "module://matplotlib_inline.backend_inline",
            "--setenv", "OPENBLAS_NUM_THREADS", "1", "--setenv", "OMP_NUM_THREADS", "1",
            "--setenv", "PYTHONDONTWRITEBYTECODE", "1"]


def kernel_command(submission_dir: str, socket_dir: str, connection_file: str, limits: Limits, uid: int | None,
                   group: ResourceGroup | None = None) -> list[str]:
    """The command that starts an ipykernel for one submission inside the sandbox.

    submission_dir -- the private, writable copy of the submission (mounted at /submission)
    socket_dir -- folder holding the connection file and the kernel's IPC sockets (same path inside)
    uid -- as root: the unprivileged uid (and gid) the kernel runs as (see UidLease); None for an
           ordinary user's sandbox, in a user namespace where the kernel is INSIDE_UID
    returns: list of str, to run with a shell-free Popen
    """
    command = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
               "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if uid is None:
        command += ["--unshare-user", "--uid", str(INSIDE_UID), "--gid", str(INSIDE_UID), "--cap-drop", "ALL"]
    else:
        command += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    command += _system_view([socket_dir])
    command += [
        "--bind", submission_dir, SUBMISSION_MOUNT,
        "--remount-ro", "/",  # the sandbox's own root: nothing but /submission and /tmp is writable
        "--chdir", SUBMISSION_MOUNT,
        *_kernel_environment(),
        "--",
    ]
    if uid is not None:  # as root: drop to the leased uid, with no capabilities left
        command += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    command += [
        "prlimit", f"--cpu={limits.cpu_seconds}", f"--as={limits.memory_bytes}",
        f"--nproc={limits.processes}", f"--fsize={limits.file_bytes}", f"--nofile={limits.open_files}",
        "--core=0", "--",
        sys.executable, "-m", "ipykernel_launcher", "-f", connection_file, *KERNEL_ARGUMENTS,
    ]
    if group is not None and group.paths:
        command = ["sh", "-c", f"{group.enter_command()} && exec {shlex.join(command)}"]
    return command


def template_command(pool_dir: str, template_file: str) -> list[str]:
    """The command that starts the warm kernel template (grader/template.py), as root.

    It keeps root's capabilities inside its bubblewrap sandbox, because it builds each kernel's own
    sandbox (namespaces, mounts, cgroup, uid) before any student code runs; it sees the system,
    the virtual environment, the pool of kernel folders and the cgroup file system, and runs only
    trusted code. returns: list of str
    """
    cgroups = [ResourceGroup.ROOTS[name] for name in ResourceGroup.ROOTS if os.path.isdir(ResourceGroup.ROOTS[name])]
    command = ["bwrap", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session", "--cap-add", "ALL"]
    command += _system_view([pool_dir])
    if cgroups:
        command += ["--bind", "/sys/fs/cgroup", "/sys/fs/cgroup"]
    command += ["--dir", SUBMISSION_MOUNT, "--dir", "/run", *_kernel_environment(),
                "--setenv", "MPLCONFIGDIR", os.path.join(pool_dir, MATPLOTLIB_DIR),
                "--", sys.executable, template_file]
    return command


def unsandboxed_command(connection_file: str) -> list[str]:
    """The kernel command used only when the instructor opted out of the sandbox."""
    return [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file, *KERNEL_ARGUMENTS]
