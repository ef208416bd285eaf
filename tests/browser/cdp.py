"""A minimal Chrome DevTools Protocol client for headless Chromium, standard library only.

Chromium started with --remote-debugging-pipe reads NUL-terminated JSON commands from its
fd 3 and writes NUL-terminated JSON replies and events to its fd 4: no websocket, no port.

    with Browser() as browser:
        page = browser.open(Path("results/index.html"), width=1280, height=800)
        page.evaluate("document.title")
        page.report()  # console errors and warnings, network requests
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INSTALL_HINT = "run `bash tests/browser/chromium.sh` (installs Debian's chromium package)"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--remote-debugging-pipe",
]  # fmt: skip
CONSOLE_TYPES = ("error", "warning", "assert")


class CDPError(RuntimeError):
    """Chromium answered a command with an error, timed out or exited."""


@dataclass
class PageReport:
    """What a page did while it loaded and since: problems and fetches."""

    console: list[str] = field(default_factory=list)  # errors, warnings, uncaught exceptions
    requests: list[str] = field(default_factory=list)  # URLs fetched, except the page and data:


class Browser:
    """Headless Chromium driven over the debugging pipe; a context manager."""

    def __init__(self, binary: str | None = None, timeout: float = 30.0) -> None:
        self.binary = binary or os.environ.get("CHROMIUM") or shutil.which("chromium")
        if not self.binary:
            raise FileNotFoundError(f"chromium is not on PATH: {INSTALL_HINT}")
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="cdp-", ignore_cleanup_errors=True)
        self._log = Path(self._profile.name) / "chromium.log"
        self._pages: dict[str, Page] = {}
        self._next_id = 0
        self._buffer = b""
        # Chromium wants the pipes as its fds 3 and 4 exactly; subprocess's pass_fds keeps fd
        # numbers as they are, so posix_spawn's dup2 actions place them instead. Our ends sit
        # at fd 10 or above, so that neither dup2 overwrites the other.
        to_chrome, self._out = _pipe()
        self._in, from_chrome = _pipe()
        actions = [
            (os.POSIX_SPAWN_DUP2, to_chrome, 3),
            (os.POSIX_SPAWN_DUP2, from_chrome, 4),
            (os.POSIX_SPAWN_OPEN, 1, str(self._log), os.O_WRONLY | os.O_CREAT, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ]
        argv = [self.binary, *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"]
        # Crashpad writes under $XDG_CONFIG_HOME, not the profile: keep it in the profile too.
        home = self._profile.name
        env = os.environ | {"XDG_CONFIG_HOME": home, "XDG_CACHE_HOME": home}
        self.pid = os.posix_spawnp(self.binary, argv, env, file_actions=actions, setsid=True)
        os.close(to_chrome)
        os.close(from_chrome)
        try:
            self.send("Target.setDiscoverTargets", discover=False)  # is it up and answering?
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, method: str, session: str | None = None, **params: Any) -> dict:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._out, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise CDPError(f"chromium has exited; cannot send {method}:\n{self._tail()}") from None
        while True:
            reply = self._read(f"the answer to {method}")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})

    def wait_for(self, page: Page, method: str, after: int) -> None:
        """Read until `page` has had event `method` at position `after` or later."""
        while not any(m == method for m, _ in page.events[after:]):
            self._read(f"event {method}")

    def open(self, path: Path, width: int = 1200, height: int = 900) -> Page:
        """Open a local file in a new tab of the given viewport size; wait for its load event."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = self._pages[session] = Page(self, session, target, Path(path).resolve().as_uri())
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session)
        self.send("Emulation.setDeviceMetricsOverride", session, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)  # fmt: skip
        mark = len(page.events)
        navigation = self.send("Page.navigate", session, url=page.url)
        if navigation.get("errorText"):
            raise CDPError(f"cannot open {page.url}: {navigation['errorText']}")
        self.wait_for(page, "Page.loadEventFired", mark)
        return page

    def close(self) -> None:
        """Ask Chromium to quit, then end its whole process group; remove the profile."""
        if self._in < 0:
            return
        try:
            self.send("Browser.close")
        except (CDPError, OSError):
            pass
        deadline = time.monotonic() + 5
        while os.waitpid(self.pid, os.WNOHANG) == (0, 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        for sig in (signal.SIGTERM, signal.SIGKILL):  # helpers left behind, if any
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        for fd in (self._in, self._out):
            os.close(fd)
        self._in = self._out = -1
        self._profile.cleanup()

    def _tail(self) -> str:
        """The end of Chromium's own output, to explain a failure."""
        return self._log.read_text(errors="replace")[-2000:] if self._log.exists() else ""

    def _read(self, waiting_for: str) -> dict:
        """The next message from Chromium; an event is also handed to its page."""
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise CDPError(f"no {waiting_for} from chromium in {self.timeout:g} s")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise CDPError(f"chromium exited while waiting for {waiting_for}:\n{self._tail()}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message = json.loads(raw)
        if "method" in message and message.get("sessionId") in self._pages:
            self._pages[message["sessionId"]].events.append((message["method"], message["params"]))
        return message


@dataclass
class Page:
    """One tab of a Browser, showing one file."""

    browser: Browser
    session: str
    target: str
    url: str
    events: list[tuple[str, dict]] = field(default_factory=list, repr=False)

    def evaluate(self, js: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-like values only)."""
        reply = self.browser.send("Runtime.evaluate", self.session, expression=js,
                                  returnByValue=True, awaitPromise=True)  # fmt: skip
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            text = (details.get("exception") or {}).get("description") or details.get("text")
            raise CDPError(f"{js[:80]}...: {text}")
        return reply["result"].get("value")

    def screenshot(self, out: Path, full_page: bool = True) -> Path:
        """Save a PNG of the viewport, or of the whole page."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.browser.send("Page.getLayoutMetrics", self.session)["cssContentSize"]
            params |= {"captureBeyondViewport": True,
                       "clip": {"x": 0, "y": 0, "width": size["width"],
                                "height": size["height"], "scale": 1}}  # fmt: skip
        data = self.browser.send("Page.captureScreenshot", self.session, **params)["data"]
        Path(out).write_bytes(base64.b64decode(data))
        return Path(out)

    def pdf(self, out: Path) -> int:
        """Print the page to a PDF file; return its size in bytes."""
        data = self.browser.send("Page.printToPDF", self.session, printBackground=True)["data"]
        return Path(out).write_bytes(base64.b64decode(data))

    def report(self) -> PageReport:
        """Console errors and warnings, uncaught exceptions, and every fetch so far."""
        self.browser.send("Runtime.evaluate", self.session, expression="0")  # flush events
        found = PageReport()
        for method, params in self.events:
            if method == "Runtime.consoleAPICalled" and params["type"] in CONSOLE_TYPES:
                text = " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
                found.console.append(f"console.{params['type']}: {text}")
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                text = details.get("exception", {}).get("description") or details["text"]
                found.console.append(f"uncaught: {text}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                entry = params["entry"]
                found.console.append(f"{entry['source']} {entry['level']}: {entry['text']}")
            elif method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                if url.split("#")[0] != self.url and not url.startswith("data:"):
                    found.requests.append(url)
        return found

    def close(self) -> None:
        """Close the tab."""
        self.browser.send("Target.closeTarget", targetId=self.target)
        self.browser._pages.pop(self.session, None)


def _pipe() -> tuple[int, int]:
    """A pipe whose two ends are numbered 10 or above (and are closed on exec)."""
    ends = []
    for fd in os.pipe():
        ends.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(fd)
    return ends[0], ends[1]
