"""A fixture server for connectors that have no simulator yet: page-number paging over a list
of records, a key header, the drc-style envelope. Scaffolded connector tests start from it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from connectors.core.connection import ConnectionSettings


class FixtureServer:
    def __init__(self, records: list[dict], key: str, version: str, secret: str = "fixture-key"):
        self.records = sorted(records, key=lambda r: (r[version], r[key]))
        self.version, self.secret = version, secret
        self.requests = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    def settings(self, conn_id: str) -> ConnectionSettings:
        host, port = self._httpd.server_address[:2]
        return ConnectionSettings(conn_id, str(host), int(port), password=self.secret)

    def __enter__(self) -> FixtureServer:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _page(self, query: dict[str, str]) -> dict:
        since = query.get("updated_since")
        rows = [r for r in self.records if since is None or r[self.version] >= since]
        page, size = int(query.get("page", "1")), int(query.get("page_size", "100"))
        chunk = rows[(page - 1) * size : page * size]
        return {"code": 0, "msg": "ok", "data": {"total": len(rows), "records": chunk}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fixture = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                fixture.requests += 1
                if self.headers.get("X-App-Key") != fixture.secret:
                    status, doc = 401, {"code": 401, "msg": "bad key"}
                else:
                    query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
                    status, doc = 200, fixture._page(query)
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
