"""One submission's kernel: started in the sandbox, driven cell by cell, and always cleaned up."""

import contextlib
import dataclasses
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import zmq
from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

from . import sandbox, scratch

MAX_TEXT = 20_000          # characters kept of one text output
MAX_IMAGE = 400_000        # base64 characters kept of one image
MAX_CELL_OUTPUT = 60_000   # characters kept of all outputs of one cell
MAX_MESSAGE_BYTES = 32 * 1024 ** 2  # a larger message from the kernel is dropped unread, by ZeroMQ
REPLY_GRACE = 5.0          # seconds to wait for a reply once the kernel is idle again
SEND_TIMEOUT_MS = 10_000   # a request the kernel's side does not take within this is an error
KEPT_IMAGE_TYPES = ("image/png", "image/jpeg")  # raster only: an SVG can carry script
BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")


def _children(pid):
    """The process ids whose parent is pid, forked by any of its threads (from /proc). returns: list of int"""
    children = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/children") as handle:
                children += [int(child) for child in handle.read().split()]
        except OSError:
            pass  # the thread ended meanwhile
    return children


def _descendants(pid):
    """Every process below pid, parents before their children. returns: list of int"""
    found, frontier = [], [pid]
    while frontier:
        children = _children(frontier.pop())
        found += children
        frontier += children
    return found


def _running(pid):
    """True while pid runs: neither gone nor a zombie that waits for its parent to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _signal(pids, number):
    for pid in pids:
        try:
            os.kill(pid, number)
        except ProcessLookupError:
            pass


class KernelDied(RuntimeError):
    """The kernel is gone: it crashed, was killed by a limit, or ignored an interrupt."""


def _truncate(text, limit):
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... output truncated: {len(text) - limit} more characters]\n"


class KernelTemplate:
    """The warm template (grader/template.py), running in its own sandbox: forks each kernel.

    Only as root (it builds each kernel's sandbox itself, which takes capabilities); start it
    from the thread that will live as long as it does (bubblewrap's --die-with-parent).
    pool_dir -- a new folder for the kernels' folders, outside /tmp (each kernel gets its own /tmp);
    made here, and removed by close()
    """

    def __init__(self, font_list, startup_timeout=120):
        self.pool_dir = pool_dir = scratch.scratch_folder("gc-pool-", "/var/tmp")
        os.chmod(pool_dir, 0o755)
        template_file = os.path.join(pool_dir, "template.py")
        shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "template.py"), template_file)
        os.makedirs(os.path.join(pool_dir, sandbox.MATPLOTLIB_DIR))
        shutil.copy(font_list, os.path.join(pool_dir, sandbox.MATPLOTLIB_DIR))
        self.log = open(os.path.join(pool_dir, "template.log"), "wb")
        self.process = subprocess.Popen(sandbox.template_command(pool_dir, template_file), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.log, start_new_session=True)
        self._condition = threading.Condition()
        self._spawned, self._exited = {}, {}
        self._ready = self._ended = False  # ended: its answers ended, so it has exited or is exiting
        threading.Thread(target=self._read_answers, name="template-reader", daemon=True).start()
        with self._condition:
            self._condition.wait_for(lambda: self._ready or not self.alive, startup_timeout)
        if not self._ready:
            reason = f" within {startup_timeout:g} s" if self.alive else f": {self._log_tail()}"
            with contextlib.suppress(ProcessLookupError):  # a template that failed is not waited for
                os.killpg(self.process.pid, signal.SIGKILL)
            self.close()
            raise KernelDied(f"the kernel template did not start{reason}")

    def _read_answers(self):
        for line in self.process.stdout:
            answer = json.loads(line)
            with self._condition:
                if "ready" in answer:
                    self._ready = True
                elif "spawned" in answer:
                    self._spawned[answer["spawned"]] = answer["pid"]
                elif "exited" in answer:
                    self._exited[answer["exited"]] = answer["status"]
                self._condition.notify_all()
        with self._condition:  # its end, which poll() may not see yet: it closes its output before it is reaped
            self._ended = True
            self._condition.notify_all()

    def _log_tail(self):
        with open(self.log.name, "rb") as handle:
            return handle.read()[-2000:].decode("utf-8", "replace")

    @property
    def alive(self):
        return not self._ended and self.process.poll() is None

    def spawn(self, kernel_id, request, timeout=30):
        """Fork one kernel (see template.py for the request). returns: ForkedProcess"""
        with self._condition:
            self.process.stdin.write((json.dumps({"spawn": kernel_id, **request}) + "\n").encode())
            self.process.stdin.flush()
            if not self._condition.wait_for(lambda: kernel_id in self._spawned or not self.alive, timeout):
                raise KernelDied("the kernel template did not fork a kernel")
            if kernel_id not in self._spawned:
                raise KernelDied(f"the kernel template stopped: {self._log_tail()}")
            return ForkedProcess(self, kernel_id, self._spawned.pop(kernel_id))

    def exit_status(self, kernel_id, timeout=0):
        """The exit status of a forked kernel's sandbox, or None while it runs."""
        with self._condition:
            self._condition.wait_for(lambda: kernel_id in self._exited or not self.alive, timeout)
            if kernel_id in self._exited:
                return self._exited[kernel_id]
            return None if self.alive else 128 + signal.SIGKILL  # the template's end ended it

    def close(self):
        """Stop the template; every kernel it forked dies with it."""
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.pool_dir, ignore_errors=True)


class ForkedProcess:
    """A kernel's sandbox forked by the template, with the part of Popen's interface the kernel uses.

    pid is its process id (the template shares the grader's PID namespace); returncode is its exit
    status as bubblewrap reports it: the exit code, or 128 + the signal that ended the kernel.
    """

    def __init__(self, template, kernel_id, pid):
        self.template, self.kernel_id, self.pid = template, kernel_id, pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            self.returncode = self.template.exit_status(self.kernel_id)
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("forked kernel", timeout)
            self.template.exit_status(self.kernel_id, timeout=0.5)
        return self.returncode


class SandboxedKernel:
    """An ipykernel in the sandbox, talked to over IPC sockets in a private folder.

    submission_dir -- the folder the kernel may see and write (its own private copy)
    use_sandbox -- False only when the instructor explicitly opted out (see sandbox.check_sandbox)
    template -- a KernelTemplate to fork the kernel from (as root), or None to start a fresh one
    """

    def __init__(self, submission_dir, limits=sandbox.Limits(), use_sandbox=True, startup_timeout=60, template=None):
        self.socket_dir = (os.path.join(os.path.dirname(submission_dir), "sockets") if template
                           else tempfile.mkdtemp(prefix="gc-kernel-"))
        os.makedirs(self.socket_dir, exist_ok=True)
        os.chmod(self.socket_dir, 0o755)
        connection_file = os.path.join(self.socket_dir, "kernel.json")
        write_connection_file(connection_file, transport="ipc", ip=os.path.join(self.socket_dir, "s"))
        self.group = sandbox.ResourceGroup(limits) if use_sandbox else None
        as_root = use_sandbox and sandbox.running_as_root()
        self.uid_lease = sandbox.UidLease() if as_root else None
        if as_root:  # the kernel's own uid must own its folders; an ordinary user's sandbox maps theirs
            uid = self.uid_lease.uid
            os.chmod(connection_file, 0o644)
            os.chown(self.socket_dir, uid, uid)
            for directory, folders, files in os.walk(submission_dir):
                os.chown(directory, uid, uid)
                for name in files:
                    os.chown(os.path.join(directory, name), uid, uid)
        if template is not None:
            self.log_path = os.path.join(os.path.dirname(submission_dir), "kernel.log")
            self.log_file = None
            self.process = template.spawn(os.path.basename(os.path.dirname(submission_dir)), {
                "folder": submission_dir, "sockets": self.socket_dir, "connection": connection_file,
                "log": self.log_path, "uid": self.uid_lease.uid, "limits": dataclasses.asdict(limits),
                "cgroups": list(self.group.paths.values()), "arguments": sandbox.KERNEL_ARGUMENTS})
        else:
            if use_sandbox:
                command = sandbox.kernel_command(submission_dir, self.socket_dir, connection_file, limits,
                                                 self.uid_lease.uid if as_root else None, self.group)
                cwd = None
            else:
                command, cwd = sandbox.unsandboxed_command(connection_file), submission_dir
            # The kernel's own stderr goes to an unnamed file, not a pipe: a pipe nobody reads would
            # block a kernel that writes much to file descriptor 2.
            self.log_file = tempfile.TemporaryFile()
            self.process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL,
                                            stdout=self.log_file, stderr=self.log_file,
                                            start_new_session=True)
        # Every message from the kernel is bounded before jupyter_client parses it: ZeroMQ drops a
        # larger one and its connection, so a hostile kernel cannot make this process parse 100 MB.
        # No send waits for ever on a connection that is gone.
        self.max_message_bytes = MAX_MESSAGE_BYTES
        self.context = zmq.Context()
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self.context.setsockopt(zmq.SNDTIMEO, SEND_TIMEOUT_MS)
        self.connection_file = connection_file
        self.client = self._connect()
        try:
            self._wait_until_ready(startup_timeout)
        except KernelDied:
            self.shutdown()
            raise
        # The sandbox's own processes, before any student code ran: its init and the kernel.
        self.own_processes = {self.process.pid, *_descendants(self.process.pid)}

    def _connect(self):
        """A client with its own session (so its sockets have fresh identities), channels started."""
        client = BlockingKernelClient(connection_file=self.connection_file, context=self.context)
        client.load_connection_file()
        client.start_channels()
        return client

    def _reconnect(self):
        """After a message too large was dropped with its connection: connect again, with new
        identities (the kernel's router would refuse the old one while it still counts it as connected)."""
        self.client.stop_channels()
        self.client = self._connect()
        self._wait_until_ready(timeout=30)

    def _wait_until_ready(self, timeout):
        """Wait until the kernel answers kernel_info and its output channel delivers.

        Death is judged by the process, never by the heartbeat: jupyter_client's wait_for_ready
        calls a kernel dead when its heartbeat is late by a second, which a busy machine causes.
        raises: KernelDied if the process exits or nothing answers within `timeout` seconds
        """
        deadline = time.monotonic() + timeout
        replied = False
        self.client.kernel_info()
        while time.monotonic() < deadline:
            try:
                message = (self.client.get_iopub_msg if replied else self.client.get_shell_msg)(timeout=1.0)
            except queue.Empty:
                if not self.alive:
                    raise KernelDied(f"the kernel did not start: it exited{self._exit_reason()}. {self._stderr()}") from None
                self.client.kernel_info()  # ask again: a reply, and output on a channel now listening
                continue
            if replied:
                return  # any output message: the subscription is live, nothing sent later is lost
            replied = message["msg_type"] == "kernel_info_reply"
        raise KernelDied(f"the kernel did not start within {timeout:g} s. {self._stderr()}")

    def _stderr(self):
        """The end of what the kernel process wrote to stdout and stderr."""
        if self.log_file is None:  # a forked kernel writes its own log file
            try:
                with open(self.log_path, "rb") as handle:
                    handle.seek(0, os.SEEK_END)
                    handle.seek(max(0, handle.tell() - 2000))
                    return handle.read().decode("utf-8", "replace")
            except OSError:
                return ""
        self.log_file.seek(0, os.SEEK_END)
        self.log_file.seek(max(0, self.log_file.tell() - 2000))
        return self.log_file.read().decode("utf-8", "replace")

    @property
    def alive(self):
        return self.process.poll() is None

    def execute(self, code, timeout, user_expressions=None, store_history=False):
        """Run code; return (outputs, reply_content). Interrupt after `timeout` seconds, kill if ignored.

        store_history -- True for the notebook's own cells, as Jupyter runs them: IPython runs code
                         given with store_history=False about 1.4x slower (measured on this notebook)

        outputs -- list of nbformat output dicts, truncated to the size limits
        reply_content -- the execute reply, or None if it was lost (over MAX_MESSAGE_BYTES)
        raises: KernelDied when the kernel dies or ignores the interrupt
        """
        return self._outcome(lambda: self.client.execute(code, store_history=store_history, allow_stdin=False,
                                                         user_expressions=user_expressions or {}), timeout)

    def request(self, msg_type, content, timeout):
        """Send a request of a kind the grader added to the kernel (helpers.protocol.install) on the
        shell channel; its outcome as execute's: (outputs, reply_content), the same timeout and death."""
        def send():
            message = self.client.session.msg(msg_type, content)
            self.client.shell_channel.send(message)
            return message["header"]["msg_id"]
        return self._outcome(send, timeout)

    def _outcome(self, send, timeout):
        """Send a shell request (send() returns its id), then collect its outputs until the kernel is
        idle again, and its reply (see execute)."""
        if not self.alive:
            raise KernelDied("the kernel had already stopped")
        try:
            msg_id = send()
        except zmq.Again:
            self.kill()
            raise KernelDied("the kernel stopped taking requests") from None
        deadline = time.monotonic() + timeout
        outputs, size, interrupted, idle = [], 0, False, False
        while not idle:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if interrupted:
                    self.kill()
                    raise KernelDied(f"the cell ran over {timeout:g} s and ignored the interrupt")
                self._interrupt()
                interrupted, deadline = True, time.monotonic() + 5
                outputs.append({"output_type": "error", "ename": "CellTimeoutError",
                                "evalue": f"the cell ran over {timeout:g} s and was interrupted",
                                "traceback": [f"CellTimeoutError: the cell ran over {timeout:g} s"]})
                continue
            try:
                message = self.client.get_iopub_msg(timeout=min(remaining, 1.0))
            except queue.Empty:
                if not self.alive:
                    raise KernelDied(f"the kernel died{self._exit_reason()}") from None
                continue
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind in ("stream", "display_data", "execute_result", "error") and size < MAX_CELL_OUTPUT:
                output = self._output(kind, content)
                size += len(json.dumps(output))
                previous = outputs[-1] if outputs else {}
                if kind == "stream" and previous.get("output_type") == "stream" and previous["name"] == output["name"]:
                    # one output for a run of printed text, however the kernel happened to flush it
                    previous["text"] = _truncate(previous["text"] + output["text"], MAX_TEXT)
                else:
                    outputs.append(output)
        reply = self._reply(msg_id, deadline=time.monotonic() + REPLY_GRACE)
        if reply is None:
            self._reconnect()
        return outputs, reply

    def _reply(self, msg_id, deadline):
        """The execute reply to msg_id, or None if it does not come (it was too large, or forged)."""
        while time.monotonic() < deadline:
            try:
                message = self.client.get_shell_msg(timeout=min(1.0, max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                if not self.alive:
                    raise KernelDied(f"the kernel died{self._exit_reason()}") from None
                continue
            if message["parent_header"].get("msg_id") == msg_id:
                return message["content"]
        return None

    @staticmethod
    def _output(kind, content):
        """One output message as an nbformat output: text truncated, images raster and base64 only.

        The kernel is the student's, so its messages may have any shape: every field is checked.
        """
        content = content if isinstance(content, dict) else {}
        if kind == "stream":
            name = content.get("name") if content.get("name") in ("stdout", "stderr") else "stdout"
            return {"output_type": "stream", "name": name, "text": _truncate(str(content.get("text", "")), MAX_TEXT)}
        if kind == "error":
            traceback = content.get("traceback") if isinstance(content.get("traceback"), list) else []
            return {"output_type": "error", "ename": str(content.get("ename", "Error"))[:200],
                    "evalue": _truncate(str(content.get("evalue", "")), 2000),
                    "traceback": [_truncate(str(line), 4000) for line in traceback[-30:]]}
        data = {}
        bundle = content.get("data") if isinstance(content.get("data"), dict) else {}
        for mime, value in bundle.items():
            if mime in KEPT_IMAGE_TYPES and isinstance(value, str) and len(value) <= MAX_IMAGE and BASE64.match(value):
                data[mime] = value
            elif mime == "text/plain":
                data[mime] = _truncate(str(value), MAX_TEXT)
        output = {"output_type": kind, "data": data, "metadata": {}}
        if kind == "execute_result":
            count = content.get("execution_count")
            output["execution_count"] = count if type(count) is int else None
        return output

    def end_strays(self, rounds=200):
        """Kill every process the student's code left running beside the kernel (a background job,
        a fork bomb's children), which would otherwise take the CPU from every cell and test after.

        Each is stopped before the next search, so none can fork while the rest are found.
        returns: how many were killed
        """
        if not self.alive:
            return 0
        stopped = set()
        for _ in range(rounds):
            found = [pid for pid in _descendants(self.process.pid)
                     if pid not in self.own_processes and pid not in stopped and _running(pid)]
            if not found:
                break
            _signal(found, signal.SIGSTOP)
            stopped.update(found)
        _signal(stopped, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while any(_running(pid) for pid in stopped) and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(stopped)

    def _interrupt(self):
        message = self.client.session.msg("interrupt_request", {})
        try:
            self.client.control_channel.send(message)
        except zmq.Again:
            pass  # the kernel is killed if it does not stop

    def _exit_reason(self):
        self.process.poll()
        code = self.process.returncode
        if self.group is not None and self.group.oom_killed():
            return " (killed by the memory limit)"
        if code is None:
            return ""
        signal_number = -code if code < 0 else code - 128  # bubblewrap exits with 128 + the signal
        if signal_number in signal.valid_signals():
            return f" (signal {signal.Signals(signal_number).name})"
        return f" (exit code {code})"

    def kill(self):
        """Kill the sandbox and everything in it, leaving no orphan behind.

        The sandbox's first process inside is killed first: the PID namespace then takes everything
        the student started with it, and bubblewrap, its parent, reaps it and exits. Killing
        bubblewrap first would orphan that process to the machine's init, as a zombie until reaped.
        """
        if self.process.poll() is None:
            _signal(_children(self.process.pid), signal.SIGKILL)
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                for kill in (os.killpg, os.kill):
                    try:
                        kill(self.process.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        self.process.wait(timeout=30)

    def shutdown(self):
        """Stop the kernel and make sure nothing it started is left running."""
        try:
            self.client.stop_channels()
        finally:
            self.kill()
            if self.group is not None:
                for _ in range(50):
                    pids = self.group.remaining()
                    if not pids:
                        break
                    _signal(pids, signal.SIGKILL)
                    time.sleep(0.02)
                self.group.remove()
            shutil.rmtree(self.socket_dir, ignore_errors=True)
            if self.log_file is not None:
                self.log_file.close()
            self.context.destroy(linger=0)
            if self.uid_lease is not None:
                self.uid_lease.release()  # every process of that uid is gone with the PID namespace
