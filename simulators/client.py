"""A minimal authenticated client of any simulated system: what contract tests and the demo
use to speak a system's protocol correctly. Each server says how a correct client
authenticates (`SimServer.authenticate`).

The hub's real connectors (paging, retries, state) live in `connectors/`; this is only the
request layer.
"""

from __future__ import annotations

from urllib.parse import urlencode

import requests


class SimClient:
    def __init__(self, server, session: requests.Session | None = None) -> None:
        self.server = server
        self.session = session or requests.Session()
        self.token: str | None = None  # what a server's `authenticate` keeps per client

    def get(self, path: str, params: dict | None = None, **headers) -> requests.Response:
        s = self.server
        query = urlencode(params or {})
        path_and_query = f"{s.base_path}{path}" + (f"?{query}" if query else "")
        s.authenticate(self, path_and_query, headers)
        return self.session.get(
            f"http://{s.host}:{s.port}{path_and_query}", headers=headers, timeout=30
        )
