"""The grading task that runs on a Dask worker: execute and judge one sanitized notebook.

A worker needs this package installed, but no course folder and no shared filesystem: the master
files, the hidden tests' source and the limits reach it once, as the coordinator's bundle
(fingerprint.master_bundle), and each task brings one sanitized notebook.
"""

import atexit
import gc
import io
import json
import os
import resource
import tarfile
import threading

import nbformat

from . import execution, sandbox, scratch

_UNPACK_LOCK = threading.Lock()
_MASTERS = {}  # bundle digest -> folder, unpacked by this worker process


def _unpack_master(bundle):
    """The master files, unpacked once per worker process into a private new folder. returns: path"""
    with _UNPACK_LOCK:
        if bundle["digest"] not in _MASTERS:
            folder = os.path.join(scratch.scratch_folder("gc-master-"), "files")  # unpredictable: nobody can plant files there
            os.mkdir(folder)
            with tarfile.open(fileobj=io.BytesIO(bundle["archive"]), mode="r:gz") as archive:
                _extract_plain_files(archive, folder)
            _MASTERS[bundle["digest"]] = folder
        return _MASTERS[bundle["digest"]]


def _extract_plain_files(archive, folder):
    """Extract an archive of regular files and folders only, never outside folder (Python 3.11.2,
    Debian's, has no tarfile extraction filters)."""
    for member in archive.getmembers():
        target = os.path.realpath(os.path.join(folder, member.name))
        if not (member.isfile() or member.isdir()) or not target.startswith(os.path.realpath(folder) + os.sep):
            raise ValueError(f"the master files' archive holds {member.name!r}, which is not a plain file")
    archive.extractall(folder)


def grade_on_worker(notebook_json: str, notebook_id: str, bundle: dict) -> dict:
    """A Dask task: execute and judge one sanitized notebook.

    returns: dict with notebook (the executed notebook, compact JSON text), judge (execution.run_submission's
             record) and worker (host and pid, for the log)
    """
    settings = bundle["settings"]
    if settings.use_sandbox and not sandbox.bubblewrap_available():
        raise sandbox.SandboxUnavailable(f"bubblewrap is not installed on worker {os.uname().nodename}")
    pool = execution.kernel_pool(_unpack_master(bundle), settings)
    nb = nbformat.reads(notebook_json, as_version=4)
    judge = execution.run_submission(nb, bundle["sources"][notebook_id], pool)
    return {"notebook": json.dumps(nb), "judge": judge, "worker": f"{os.uname().nodename}:{os.getpid()}"}


def dask_setup(worker):
    """Dask's preload hook, run as a worker starts (parallel.make_client asks for it; a worker started
    by hand takes it with ``dask worker --preload grader.worker``): start the worker's warm kernel
    template now, so that its first submission does not wait for it."""
    execution.EarlyTemplate.start()
    atexit.register(gc.freeze)  # at exit: or the interpreter's last collection walks the whole heap (0.3 s)


def worker_cpu_seconds() -> float:
    """CPU seconds this worker process has used (its kernels not included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
