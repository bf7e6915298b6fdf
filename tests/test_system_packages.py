"""tools/system-packages, for someone who cannot install: it stops before any work, with one message
naming the missing packages and the command that installs them. (As root it installs them: .ci/run
proves that by removing bubblewrap before `make demo`.)"""

import os
import shutil
import subprocess
import tempfile

from conftest import REPO_ROOT


def test_an_ordinary_user_on_a_machine_without_bubblewrap_gets_one_clear_message():
    tools = tempfile.mkdtemp(prefix="gc-path-")  # every command the script uses, but bubblewrap's
    os.chmod(tools, 0o755)
    for name in ("make", "setpriv", "prlimit", "id", "ls", "chromium", "tail"):
        found = shutil.which(name)
        if found:
            os.symlink(found, os.path.join(tools, name))
    command = ["/bin/bash", os.path.join(REPO_ROOT, "tools", "system-packages"), "demo"]
    if os.geteuid() == 0:  # as root it would install: run it as nobody
        command = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    try:
        result = subprocess.run(command, env={"PATH": tools}, capture_output=True, text=True, cwd="/")
    finally:
        shutil.rmtree(tools)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and "bubblewrap" in lines[0] and lines[1].endswith("sudo apt-get install bubblewrap")
    assert "util-linux" not in result.stderr and result.stdout == ""
