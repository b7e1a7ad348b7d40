"""A reverse proxy in front of one simulated system, standing in for the gateway an operator
puts before a departmental system: it forwards every request, except those a test picks, which
it answers itself with the gateway's own HTML error page (as nginx or an API gateway would).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

FORWARDED_HEADERS = ("Content-Type", "X-Total-Parts", "Retry-After")
HOP_BY_HOP = {"host", "connection", "content-length", "accept-encoding", "keep-alive"}


def error_page(status: int, words: str = "") -> bytes:
    words = words or HTTPStatus(status).phrase
    return f"<html><body><h1>{status} {words}</h1></body></html>".encode()


class Gateway:
    """Forwards to `upstream` (``http://host:port``); a request for which `refuse(method,
    path_and_query)` is true gets `status` with `body` (HTML) instead, and is noted in `refused`.
    """

    def __init__(
        self,
        upstream: str,
        refuse: Callable[[str, str], bool],
        status: int,
        body: bytes | None = None,
        content_type: str = "text/html; charset=utf-8",
    ) -> None:
        self.upstream, self.refuse, self.status = upstream.rstrip("/"), refuse, status
        self.body = body if body is not None else error_page(status)
        self.content_type = content_type
        self.refused: list[str] = []
        self.forwarded = 0
        self._lock = threading.Lock()
        self._local = threading.local()  # one upstream keep-alive session per serving thread
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def __enter__(self) -> Gateway:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def environment(self, environ: dict[str, str], conn_id: str) -> dict[str, str]:
        """`environ` with connection `conn_id` pointed at this gateway instead of the system."""
        name = f"AIRFLOW_CONN_{conn_id.upper()}"
        doc = json.loads(environ[name])
        return {**environ, name: json.dumps({**doc, "host": "127.0.0.1", "port": self.port})}

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes):
        """(status, headers, body) for one request: the gateway's page, or the system's answer."""
        with self._lock:
            refused = self.refuse(method, path)
            if refused:
                self.refused.append(path)
            else:
                self.forwarded += 1
        if refused:
            return self.status, {"Content-Type": self.content_type}, self.body
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        sent = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
        got = session.request(
            method, self.upstream + path, headers=sent, data=body, allow_redirects=False
        )
        kept = {k: got.headers[k] for k in FORWARDED_HEADERS if k in got.headers}
        return got.status_code, kept, got.content


def _handler_for(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, content = gateway.answer(
                self.command, self.path, dict(self.headers.items()), body
            )
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

    return Handler
