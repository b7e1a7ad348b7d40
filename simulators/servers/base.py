"""A small threaded HTTP/1.1 server with keep-alive, routing and fault injection.

The standard library server gives byte-level control of the response, which faithful faults
need (a body cut off mid-way, a connection reset) and frameworks hide.
"""

from __future__ import annotations

import collections
import contextlib
import json
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from simulators.servers.faults import TRANSPORT, FaultPlan


@dataclass
class Request:
    method: str
    path: str  # without the base path
    raw_path: str  # path and query exactly as sent
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, obj) -> Response:
    return Response(status, json.dumps(obj, ensure_ascii=False).encode())


def text_response(status: int, text: str) -> Response:
    return Response(status, text.encode(), "text/plain; charset=utf-8")


class _QuietServer(ThreadingHTTPServer):
    """A client that went away mid-request (killed, timed out) is routine, not a traceback."""

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SimServer:
    """One departmental system on loopback. Subclasses implement `route` and name their
    system-specific faults; `fault_response` turns a drawn system fault into a response."""

    system = ""
    system_faults: tuple[str, ...] = ()

    def __init__(
        self,
        faults: FaultPlan | None = None,
        base_path: str = "",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.faults = faults or FaultPlan()
        self.base_path = base_path.rstrip("/")
        self.requests = 0
        # (monotonic time, request line) of the latest requests (bounded: a simulator may run
        # for days)
        self.arrivals: collections.deque[tuple[float, str]] = collections.deque(maxlen=100_000)
        self.records_served = 0
        self._count_lock = threading.Lock()
        self._open: set[socket.socket] = set()  # keep-alive connections, closed on stop
        self._httpd = _QuietServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------
    @property
    def host(self) -> str:
        return self._httpd.server_address[0]

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.base_path}"

    def start(self) -> SimServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), daemon=True, name=f"sim-{self.system}"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop like a process that exits: listener and open keep-alive connections both go."""
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._count_lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- to implement ---------------------------------------------------------------
    def route(self, req: Request, fault: str | None) -> Response:
        raise NotImplementedError

    def authenticate(self, client, path_and_query: str, headers: dict[str, str]) -> None:
        """Add to `headers` what a correct client of this system sends (`SimClient`, which
        contract tests speak through); `client` keeps what a session holds (a token)."""

    def credentials(self) -> dict[str, str]:
        """The connection's `login` and/or `password` for this system's auth."""
        raise NotImplementedError

    def connection(self) -> dict:
        """The Airflow Connection (JSON form) that reaches this server."""
        return {
            "conn_type": "http",
            "host": self.host,
            "port": self.port,
            "schema": "http",
            **self.credentials(),
            "extra": {"base_path": self.base_path},
        }

    def inventory(self) -> dict[str, int]:
        """What the server holds as of its day, per resource."""
        raise NotImplementedError

    def busiest_window(self) -> list[str]:
        """The requests that arrived within the busiest second, each with its offset: what a
        per-second limit is measured against, and what a test shows when it was broken."""
        with self._count_lock:
            arrived = sorted(self.arrivals)
        start, best = 0, (0, 0)
        for end, (t, _) in enumerate(arrived):
            while t - arrived[start][0] >= 1.0:
                start += 1
            if end - start + 1 > best[1] - best[0]:
                best = (start, end + 1)
        window = arrived[best[0] : best[1]]
        return [f"+{t - window[0][0]:.3f}s {line}" for t, line in window]

    def count(self, records: int) -> None:
        with self._count_lock:
            self.records_served += records


def _handler_for(server: SimServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        sim = server

        def setup(self) -> None:
            super().setup()
            # headers and body go out in two writes: without NODELAY, Nagle's algorithm and
            # the client's delayed ACK hold back every small keep-alive response
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.sim._count_lock:
                self.sim._open.add(self.connection)

        def finish(self) -> None:
            with self.sim._count_lock:
                self.sim._open.discard(self.connection)
            with contextlib.suppress(OSError):  # the peer or a stop() already closed it
                super().finish()

        def log_message(self, *args) -> None:  # quiet: tests and demos read their own output
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            sim = self.sim
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with sim._count_lock:
                sim.requests += 1
                sim.arrivals.append((time.monotonic(), f"{self.command} {self.path}"))
            split = urlsplit(self.path)
            if not split.path.startswith(sim.base_path + "/"):
                self._send(text_response(404, "not found"))
                return
            query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
            req = Request(
                self.command,
                split.path[len(sim.base_path) :],
                self.path,
                query,
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            fault = sim.faults.draw(TRANSPORT + sim.system_faults)
            if fault == "reset":
                self.close_connection = True
                self.connection.close()
                return
            if fault in ("http_500", "http_502", "http_503", "http_504"):
                code = int(fault[-3:])
                self._send(text_response(code, f"{code} upstream error"))
                return
            if fault == "slow":
                time.sleep(sim.faults.slow_seconds)
            response = sim.route(req, None if fault in TRANSPORT else fault)
            self._send(response, truncate=fault == "truncated")

        def _send(self, resp: Response, truncate: bool = False) -> None:
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(resp.body)))
            for k, v in resp.headers.items():
                self.send_header(k, v)
            if truncate:
                self.send_header("Connection", "close")
            self.end_headers()
            if truncate:
                self.wfile.write(resp.body[: len(resp.body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.wfile.write(resp.body)

    return Handler
