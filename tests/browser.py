"""A headless Chromium for tests, driven over the DevTools protocol, that can reach loopback
only; and an ASGI app served on loopback for it to load.

    with served(app) as base, Chromium() as browser:
        page = browser.open(f"{base}/docs")
        page.wait_for("document.querySelector('.opblock') !== null")
        assert page.requests and page.off_loopback() == []

Chromium is Debian's (`/usr/bin/chromium`, installed by `bin/dev test`); a test using it
fails, never skips, when it is missing. The protocol runs over `--remote-debugging-pipe`
(JSON messages ending in NUL on file descriptors 3 and 4), so no client library is needed.
Whatever is off loopback fails in the browser: every request goes to a proxy on a closed
loopback port and every host name but loopback's is unresolvable. `Page.requests` lists
every URL the page and its workers asked for, as the browser reports them.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import itertools
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("YIWANG_CHROMIUM", "/usr/bin/chromium")
LOCAL_SCHEMES = ("data", "blob", "about", "file", "chrome-error")
# what Chromium answers an evaluation caught by a navigation: the page was between documents
BETWEEN_DOCUMENTS = (
    "Inspected target navigated or closed",
    "Execution context was destroyed",
    "Cannot find context with specified id",
)
FLAGS = (
    "--headless",
    "--no-sandbox",  # tests run as root in containers, where the sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-pipe",
    # the outside unreachable: a proxy nobody listens on (port 9, discard) for all but
    # loopback, which Chromium never proxies, and no name resolves but loopback's
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)


def chromium() -> str:
    """The Chromium binary; the test fails when there is none."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(
            f"Chromium is not installed ({CHROMIUM}): `bin/dev test` installs Debian's, or "
            "`apt-get install chromium`"
        )
    return CHROMIUM


def is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname in (
        "127.0.0.1",
        "localhost",
        "::1",
    )


class Page:
    """A tab, and every request it and its workers made."""

    def __init__(self, browser: Chromium, session: str) -> None:
        self.browser, self.session = browser, session

    @property
    def requests(self) -> list[str]:
        return self.browser.requested(self.session)

    def failed(self) -> list[str]:
        """The requests that failed (URL and reason), as the browser reports them."""
        return self.browser.failures(self.session)

    def off_loopback(self) -> list[str]:
        return [url for url in self.requests if not is_loopback(url)]

    def evaluate(self, expression: str) -> Any:
        """`expression`'s value in the page (awaited when it is a promise)."""
        answer = self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            self.session,
        )
        if "exceptionDetails" in answer:
            raise AssertionError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def navigate(self, url: str) -> None:
        self.browser.send("Page.navigate", {"url": url}, self.session)

    def size(self, width: int, height: int) -> None:
        """Lay the page out as a window of `width` × `height` CSS pixels."""
        self.browser.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            self.session,
        )

    def screenshot(self, path: Path) -> None:
        """The page as drawn now, as a PNG at `path`."""
        shot = self.browser.send("Page.captureScreenshot", {"format": "png"}, self.session)
        path.write_bytes(base64.b64decode(shot["data"]))

    def click(self, x: float, y: float) -> None:
        """A real mouse click (press and release) at viewport point (`x`, `y`)."""
        for kind in ("mousePressed", "mouseReleased"):
            self.browser.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
                self.session,
            )

    def wait_for(self, expression: str, seconds: float = 60.0) -> Any:
        """`expression`'s first truthy value, polled; fails after `seconds`. A poll that a
        navigation interrupts counts as not yet: the page it waits for may be the next one."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except AssertionError as error:
                if not any(reason in str(error) for reason in BETWEEN_DOCUMENTS):
                    raise
                value = None
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(
            f"not within {seconds}s: {expression}\nrequests: {self.requests}\n"
            f"failed: {self.failed()}\nconsole: {self.browser.console(self.session)}"
        )


class Chromium:
    """One headless Chromium (a fresh profile), driven over the DevTools protocol."""

    def __init__(self, *extra_flags: str) -> None:
        binary = chromium()  # fails the test first when there is none
        self.profile = tempfile.mkdtemp(prefix="yiwang-chromium-")
        to_browser, self._browser_in = os.pipe()
        self._browser_out, from_browser = os.pipe()
        # above 4, so that bash's `3<&r 4>&w` cannot clobber one with the other
        r, w = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser, from_browser))
        for fd in (to_browser, from_browser):
            os.close(fd)
        command = [binary, *FLAGS, *extra_flags, f"--user-data-dir={self.profile}"]
        self.process = subprocess.Popen(
            ["/bin/bash", "-c", f'exec "$0" "$@" 3<&{r} 4>&{w} {r}<&- {w}>&-', *command],
            pass_fds=(r, w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(r)
        os.close(w)
        self._ids = itertools.count(1)
        self._lock, self._answered = threading.Lock(), threading.Condition()
        self._answers: dict[int, dict] = {}
        self.events: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -- the protocol ----------------------------------------------------------------------
    def _write(self, message: dict) -> None:
        data = json.dumps(message).encode() + b"\0"
        with self._lock:
            os.write(self._browser_in, data)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send a command and wait for its answer (an error raises)."""
        number = next(self._ids)
        message = {"id": number, "method": method, "params": params or {}}
        self._write({**message, "sessionId": session} if session else message)
        deadline = time.monotonic() + 60
        with self._answered:
            while number not in self._answers:
                if not self._answered.wait(deadline - time.monotonic()):
                    raise AssertionError(f"Chromium did not answer {method}")
            answer = self._answers.pop(number)
        if "error" in answer:
            raise AssertionError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def _read(self) -> None:
        pending = b""
        while chunk := os.read(self._browser_out, 1 << 16):
            pending += chunk
            *messages, pending = pending.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    with self._answered:
                        self._answers[message["id"]] = message
                        self._answered.notify_all()
                else:
                    self.events.append(message)
                    if message["method"] == "Target.attachedToTarget":
                        self._watch(message["params"]["sessionId"])
        with self._answered:  # the browser is gone: wake whoever waits
            self._answered.notify_all()

    def _watch(self, session: str) -> None:
        """Record a new target's requests (a worker, a frame) before it runs; its children's
        too. Not awaited: the reader thread cannot wait for its own answers."""
        for method, params in (
            ("Network.enable", {}),
            ("Runtime.enable", {}),
            ("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True,
                                      "flatten": True}),
            ("Runtime.runIfWaitingForDebugger", {}),
        ):  # fmt: skip
            self._write({"id": next(self._ids), "method": method, "params": params,
                         "sessionId": session})  # fmt: skip

    # -- what it saw -----------------------------------------------------------------------
    def _sessions(self, root: str) -> set[str]:
        """`root` and every session attached below it."""
        found, grew = {root}, True
        while grew:
            grew = False
            for e in list(self.events):
                if e["method"] == "Target.attachedToTarget" and e.get("sessionId") in found:
                    child = e["params"]["sessionId"]
                    if child not in found:
                        found.add(child)
                        grew = True
        return found

    def _of(self, session: str, method: str) -> list[dict]:
        mine = self._sessions(session)
        return [
            e["params"]
            for e in list(self.events)
            if e["method"] == method and e.get("sessionId") in mine
        ]

    def requested(self, session: str) -> list[str]:
        return [p["request"]["url"] for p in self._of(session, "Network.requestWillBeSent")]

    def failures(self, session: str) -> list[str]:
        asked = {
            p["requestId"]: p["request"]["url"]
            for p in self._of(session, "Network.requestWillBeSent")
        }
        return [
            f"{asked.get(p['requestId'], p['requestId'])}: {p.get('errorText')}"
            for p in self._of(session, "Network.loadingFailed")
        ]

    def console(self, session: str) -> list[str]:
        return [
            " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
            for p in self._of(session, "Runtime.consoleAPICalled")
        ]

    # -- tabs ------------------------------------------------------------------------------
    def open(self, url: str) -> Page:
        """A new tab at `url`, its requests recorded from the first."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        session = session["sessionId"]
        for method in ("Network.enable", "Runtime.enable", "Page.enable"):
            self.send(method, {}, session)
        self.send(
            "Target.setAutoAttach",
            {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
            session,
        )
        self.send("Page.navigate", {"url": url}, session)
        return Page(self, session)

    def __enter__(self) -> Chromium:
        try:
            self.send("Browser.getVersion")
        except Exception:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._write({"id": next(self._ids), "method": "Browser.close", "params": {}})
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._browser_in, self._browser_out):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)


@contextlib.contextmanager
def served(app) -> Iterator[str]:
    """`app` served by uvicorn in a thread on a free loopback port: its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("uvicorn did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
