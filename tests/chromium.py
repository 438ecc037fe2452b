"""Test helpers: headless Chromium driven over the DevTools protocol, and finding the tools
the checks need (a missing tool fails the test with its install command: nothing is skipped)."""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

import pytest

CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--remote-debugging-pipe"]
INSTALL = {
    "java": "apt-get install default-jre-headless (Debian/Ubuntu) or brew install openjdk (macOS)",
    "chromium": "apt-get install chromium (Debian/Ubuntu) or brew install --cask chromium (macOS)",
    "npm": "apt-get install npm (Debian/Ubuntu) or brew install node (macOS)",
}


def need(program: str, names: tuple[str, ...] = ()) -> str:
    for name in names or (program,):
        if found := shutil.which(name):
            return found
    pytest.fail(f"{program} is needed for this check; install with: {INSTALL[program]}")


class Chromium:
    """Headless Chromium driven through the DevTools protocol over --remote-debugging-pipe:
    JSON messages separated by NUL on fds 3 (to the browser) and 4 (from it). No websocket needed."""

    def __init__(self, binary: str, timeout: float = 60):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="mulighetskart-chromium-")
        to_child, self._to = os.pipe()
        self._from, from_child = os.pipe()

        def as_fds_3_and_4():  # runs in the child before exec
            a, b = fcntl.fcntl(to_child, fcntl.F_DUPFD, 10), fcntl.fcntl(from_child, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.process = subprocess.Popen([binary, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        close_fds=False, preexec_fn=as_fds_3_and_4)
        os.close(to_child)
        os.close(from_child)
        self._buffer, self._events, self._next = b"", [], 0
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def _read(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(self._from, 1 << 20) if ready else b""
            if not chunk:
                raise RuntimeError("Chromium stopped answering")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, page: bool = False) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if page:
            message["sessionId"] = self.session
        os.write(self._to, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self._events.append(reply.get("method"))

    def open(self, url: str) -> None:
        self._events.clear()
        self.call("Page.navigate", {"url": url}, page=True)
        while "Page.loadEventFired" not in self._events:
            self._events.append(self._read().get("method"))

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True}, page=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self.call("Browser.close")
            self.process.wait(timeout=10)
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        finally:
            os.close(self._to)
            os.close(self._from)
            shutil.rmtree(self.profile, ignore_errors=True)
