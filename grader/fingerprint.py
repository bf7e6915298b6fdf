"""What a grade depends on, as digests: the submission's files, and everything the course adds.

The parallel grader stores a submission's fingerprint in its grading report and regrades only
submissions whose fingerprint changed. A fingerprint covers the submitted files and the bundle's
digest; the bundle (made once per run, sent once per worker) holds the master files, and its
digest also covers the hidden tests, the limits, the release skeleton that intake lays
submissions onto, the due date and the late policy: anything that changes a grade without
changing a submission.
"""

import fnmatch
import glob
import hashlib
import io
import json
import os
import tarfile

import nbformat

from . import execution


def notebook_digest(nb: nbformat.NotebookNode) -> str:
    """sha256 of what a worker executes: every cell's type, source and nbgrader metadata."""
    cells = [(cell.cell_type, cell.source, cell.metadata.get("nbgrader", {})) for cell in nb.cells]
    return hashlib.sha256(json.dumps(cells, sort_keys=True).encode("utf-8")).hexdigest()


def folder_fingerprint(folder: str, salt: str = "") -> str:
    """sha256 of every file under folder (paths and bytes), and salt."""
    digest = hashlib.sha256(salt.encode("utf-8"))
    for path in sorted(glob.glob(os.path.join(folder, "**"), recursive=True)):
        if os.path.isfile(path):
            digest.update(os.path.relpath(path, folder).encode("utf-8") + b"\0")
            with open(path, "rb") as handle:
                digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def master_bundle(master: str, release_notebook: str, sources: dict, settings: execution.Settings,
                  late_policy: str) -> dict:
    """What every grading task needs besides the submission, and its digest.

    master -- the assignment's folder in source/ (its files, but not execution.MASTER_IGNORE, are sent)
    release_notebook -- path of the release's notebook (the skeleton submissions are laid onto)
    sources -- notebook name -> execution.TrustedSources; settings -- the limits
    late_policy -- late.policy_fingerprint of the course's configuration
    returns: dict with archive (the master files, tar.gz bytes), digest (str), sources and settings
    """
    buffer, digest = io.BytesIO(), hashlib.sha256()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(glob.glob(os.path.join(master, "**"), recursive=True)):
            relative = os.path.relpath(path, master)
            ignored = any(fnmatch.fnmatch(part, pattern)
                          for part in relative.split(os.sep) for pattern in execution.MASTER_IGNORE)
            if os.path.isfile(path) and not ignored:
                archive.add(path, arcname=relative)
                with open(path, "rb") as handle:
                    digest.update(relative.encode("utf-8") + b"\0" + hashlib.sha256(handle.read()).digest())
    digest.update(repr((sorted(sources.items()), settings, late_policy)).encode("utf-8"))
    with open(release_notebook, "rb") as handle:
        digest.update(hashlib.sha256(handle.read()).digest())
    return {"archive": buffer.getvalue(), "digest": digest.hexdigest(), "sources": sources, "settings": settings}
