"""Authentication strategies, as `requests` auth objects applied to every prepared request.

Each takes its secrets from the connection; none of them logs or stores what it sends.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
import time
from collections.abc import Callable

import requests
from requests.auth import AuthBase

from connectors.core.answers import SUCCESS, TRANSIENT_STATUSES, is_json, unexpected
from connectors.core.connection import ConnectionSettings
from connectors.core.errors import AuthenticationError, TransientSourceError


class Auth(AuthBase):
    """Built from the connection, bound to the client's session before the first request."""

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings

    def bind(self, session: requests.Session, pace: Callable[[], None] = lambda: None) -> None:
        """Strategies that call the system themselves (token endpoints) use this session, and
        take a slot of the client's request rate with `pace` first: the limit counts them."""

    def invalidate(self) -> bool:
        """Forget a rejected credential; True when a fresh one can be fetched."""
        return False

    def ready(self) -> None:
        """Fetch what the next request needs (a token), before it is paced."""


class HeaderKey(Auth):
    """A static key in a header (drc: `X-App-Key: <password>`)."""

    header = "X-App-Key"

    def __init__(self, settings: ConnectionSettings, header: str | None = None) -> None:
        super().__init__(settings)
        self.header = header or self.header

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers[self.header] = self.settings.password
        return r


class StaticBearer(Auth):
    """`Authorization: Bearer <password>` (audit)."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.settings.password}"
        return r


class HmacSignature(Auth):
    """HMAC-SHA256 over appid, timestamp, method and the path with query *as sent* (treasury)."""

    def __init__(self, settings: ConnectionSettings, clock=time.time) -> None:
        super().__init__(settings)
        self.clock = clock

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        appid, stamp = self.settings.login, str(int(self.clock()))
        message = f"{appid}\n{stamp}\n{r.method}\n{r.path_url}".encode()
        signature = hmac.new(self.settings.password.encode(), message, hashlib.sha256)
        r.headers.update({"X-Appid": appid, "X-Timestamp": stamp, "X-Sign": signature.hexdigest()})
        return r


class QueryKey(Auth):
    """A static key as a query parameter (planning: `tk=<password>`).

    A key in the URL travels into everything that quotes the request: `Fetched.request` (the
    landing's metadata), error messages, retry reasons, urllib3's debug log. So each response
    is handed on with its request's URL stripped of the key (a response hook, before anything
    reads it), and urllib3's log lines are redacted.
    """

    param = "tk"

    def __init__(self, settings: ConnectionSettings, param: str | None = None) -> None:
        super().__init__(settings)
        self.param = param or self.param
        _redact_urllib3_log(self.param)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.prepare_url(r.url, {self.param: self.settings.password})
        r.register_hook("response", self._forget_key)
        return r

    def _forget_key(self, response: requests.Response, **_) -> requests.Response:
        request = response.request.copy()  # the one sent stays as it was
        request.url = without_param(request.url, self.param)
        response.request = request
        response.url = without_param(response.url, self.param)
        return response


def without_param(url: str, param: str) -> str:
    """`url` without the query parameter `param`, the rest of it exactly as it was."""
    base, sep, query = url.partition("?")
    if not sep:
        return url
    kept = [p for p in query.split("&") if p.split("=", 1)[0] != param]
    return base + ("?" + "&".join(kept) if kept else "")


class _RedactParam(logging.Filter):
    """Replaces a query parameter's value in a logger's messages (urllib3 logs request lines)."""

    def __init__(self, param: str) -> None:
        super().__init__()
        self.param = param
        self.pattern = re.compile(rf"([?&]{re.escape(param)}=)[^&\s\"']*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.pattern.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = self.pattern.sub(r"\1***", record.msg)
        return True


def _redact_urllib3_log(param: str) -> None:
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactParam) and f.param == param for f in logger.filters):
        logger.addFilter(_RedactParam(param))


class OAuth2ClientCredentials(Auth):
    """Client-credentials grant; the token is fetched lazily and again after a 401 (housing)."""

    token_path = "/oauth/token"

    def __init__(self, settings: ConnectionSettings, token_path: str | None = None) -> None:
        super().__init__(settings)
        self.token_path = token_path or self.token_path
        self._session: requests.Session | None = None
        self._pace: Callable[[], None] = lambda: None
        self._token: str | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def bind(self, session: requests.Session, pace: Callable[[], None] = lambda: None) -> None:
        self._session, self._pace = session, pace

    def invalidate(self) -> bool:
        with self._lock:
            self._token = None
        return True

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._current()}"
        return r

    def ready(self) -> None:
        self._current()

    def _current(self) -> str:
        with self._lock:
            if self._token is None:
                self._token = self._fetch()
            return self._token

    def _fetch(self) -> str:
        session = self._session or requests.Session()
        url = self.settings.base_url + self.token_path
        form = {
            "grant_type": "client_credentials",
            "client_id": self.settings.login,
            "client_secret": self.settings.password,
        }
        self._pace()
        try:
            response = session.post(url, data=form, timeout=(5, 60), auth=_no_auth)
        except requests.RequestException as exc:
            raise TransientSourceError(
                f"{self.settings.conn_id}: token endpoint unreachable ({type(exc).__name__})"
            ) from None
        self.fetches += 1
        if response.status_code in (400, 401, 403):
            raise AuthenticationError(
                f"{self.settings.conn_id}: the token endpoint rejected the client credentials "
                f"(HTTP {response.status_code} {_error_code(response)}); check the connection's "
                "login (client_id) and password (client_secret)"
            )
        if response.status_code in TRANSIENT_STATUSES:
            raise TransientSourceError(
                f"{self.settings.conn_id}: token endpoint answered HTTP {response.status_code}",
                retry_after=_retry_after(response),
            )
        if response.status_code != SUCCESS or not is_json(response):  # e.g. a gateway's page
            raise unexpected(response, self.settings.conn_id, expected="a token")
        try:
            return response.json()["access_token"]
        except (ValueError, KeyError, TypeError):  # cut off in transit: asking again helps
            raise TransientSourceError(
                f"{self.settings.conn_id}: token response was not the expected JSON"
            ) from None


def _no_auth(r: requests.PreparedRequest) -> requests.PreparedRequest:
    """The token request itself carries no bearer token (the session's auth is this one)."""
    return r


def _error_code(response: requests.Response) -> str:
    try:
        return str(response.json().get("error", ""))
    except (ValueError, AttributeError):
        return ""


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
