"""Starts a real pigtaild for the Python client's tests.

The binary is $PIGTAILD (tests/python/CMakeLists.txt sets it). Each node
listens on 127.0.0.1 port 0; its port is read from the line
"pigtaild listening on http://127.0.0.1:PORT" on its stdout. Stopped by its
PID (SIGTERM, then SIGKILL after a bound).
"""

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

PIGTAILD = os.environ.get("PIGTAILD", "")
SOURCE_DIR = os.environ.get(
    "PIGTAIL_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
)
POSTGRES_URI = os.environ.get("PIGTAIL_TEST_POSTGRES_URI", "")

_LISTENING = re.compile(rb"listening on http://127\.0\.0\.1:(\d+)")


def backend_args(kind, data_dir):
    """Flags for a fresh store: "rocksdb" in data_dir, or "postgresql" in a
    new schema of $PIGTAIL_TEST_POSTGRES_URI (None when it is unset)."""
    if kind == "rocksdb":
        return ["--backend", "rocksdb:" + os.path.join(data_dir, "data")]
    if not POSTGRES_URI:
        return None
    return ["--backend", POSTGRES_URI, "--postgres-schema", "py_" + uuid.uuid4().hex[:12]]


class Pigtaild:
    """One pigtaild process; use as a context manager or call stop()."""

    def __init__(self, backend="rocksdb", extra_args=(), start_timeout=30.0):
        if not PIGTAILD or not os.access(PIGTAILD, os.X_OK):
            raise RuntimeError("set PIGTAILD to the pigtaild binary (got %r)" % PIGTAILD)
        self.dir = tempfile.mkdtemp(prefix="pigtail_py_")
        args = backend_args(backend, self.dir)
        if args is None:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise RuntimeError("no backend %s" % backend)
        self.stderr_path = os.path.join(self.dir, "pigtaild.err")
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [PIGTAILD, "--listen", "127.0.0.1:0", "--log-level", "warn"]
                + args
                + list(extra_args),
                stdout=subprocess.PIPE,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        out = b""
        deadline = time.monotonic() + start_timeout
        match = None
        while match is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if not ready:
                if self.proc.poll() is not None:
                    break
                continue
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                break
            out += chunk
            match = _LISTENING.search(out)
        if match is None:
            self.stop()
            raise RuntimeError("pigtaild did not start: %r %s" % (out, self.stderr()))
        self.port = int(match.group(1))
        self.url = "http://127.0.0.1:%d" % self.port

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def stop(self, timeout=20.0):
        """SIGTERM to the PID, SIGKILL if it has not exited within timeout;
        removes the data directory. Returns the exit code."""
        code = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait(10)
        else:
            code = self.proc.returncode
        if self.proc.stdout:
            self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return code

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def closed_port():
    """A port on 127.0.0.1 that nothing listens on (bound, then closed)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(predicate, timeout, interval=0.05):
    """Polls predicate() until it is true or timeout passes; returns its
    last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
