"""Run a command as an ordinary account, inside a user namespace that may create no user namespace of
its own: what a machine that forbids unprivileged user namespaces looks like to that account.

    python tests/without_user_namespaces.py UID COMMAND...     (as root)
"""

import ctypes
import os
import sys

CLONE_NEWUSER = 0x10000000


def main():
    uid, command = int(sys.argv[1]), sys.argv[2:]
    ready_read, ready_write = os.pipe()
    mapped_read, mapped_write = os.pipe()
    child = os.fork()
    if child == 0:
        if ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWUSER) != 0:
            os._exit(90)
        os.write(ready_write, b"1")
        os.read(mapped_read, 1)  # the parent has mapped our uids: we are root in this namespace
        with open("/proc/sys/user/max_user_namespaces", "w") as handle:
            handle.write("0")
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        os.execvp(command[0], command)
    os.read(ready_read, 1)
    for table in ("uid_map", "gid_map"):
        with open(f"/proc/{child}/{table}", "w") as handle:
            handle.write("0 0 65536\n")
    os.write(mapped_write, b"1")
    _, status = os.waitpid(child, 0)
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
