"""A minimal authenticated client for each simulated system: what the demo uses to show what
the servers serve, and what contract tests use to speak each protocol correctly.

The hub's real connectors (paging, retries, state) live in `connectors/`; this is only the
auth and request layer, kept in one place so tests do not re-implement signatures.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

import requests

from departments.treasury.simulator import sign


class SimClient:
    def __init__(self, server, session: requests.Session | None = None) -> None:
        self.server = server
        self.session = session or requests.Session()
        self._token: str | None = None

    def get(self, path: str, params: dict | None = None, **headers) -> requests.Response:
        s = self.server
        query = urlencode(params or {})
        path_and_query = f"{s.base_path}{path}" + (f"?{query}" if query else "")
        url = f"http://{s.host}:{s.port}{path_and_query}"
        if s.system == "drc":
            headers.setdefault("X-App-Key", s.app_key)
        elif s.system == "audit":
            headers.setdefault("Authorization", f"Bearer {s.token}")
        elif s.system == "treasury":
            stamp = headers.pop("timestamp", str(int(time.time())))
            headers.setdefault("X-Appid", s.appid)
            headers.setdefault("X-Timestamp", stamp)
            headers.setdefault("X-Sign", sign(s.secret, s.appid, stamp, "GET", path_and_query))
        elif s.system == "housing":
            headers.setdefault("Authorization", f"Bearer {self.token()}")
        return self.session.get(url, headers=headers, timeout=30)

    def token(self) -> str:
        if self._token is None:
            s = self.server
            r = self.session.post(
                f"{s.url}/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": s.client_id,
                    "client_secret": s.client_secret,
                },
                timeout=30,
            )
            r.raise_for_status()
            self._token = r.json()["access_token"]
        return self._token
