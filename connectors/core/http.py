"""One HTTP session per system: connection reuse, auth, rate limiting, and retries with
exponential back-off and full jitter that honour `Retry-After`, within a bounded time.

Transport failures, 429 and 5xx, and whatever a decoder calls transient (business codes inside
HTTP 200, a body cut off mid-way) are retried; everything else fails the request at once. Only
HTTP 200, and the answers a paginator declares (`ContractAnswer`), reach the decoder: any
other status is an error naming the request, never an empty page.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from connectors.core.answers import (
    FIX,
    SUCCESS,
    TRANSIENT_STATUSES,
    ContractAnswer,
    media_type,
    unexpected,
)
from connectors.core.auth import Auth, _retry_after
from connectors.core.connection import ConnectionSettings
from connectors.core.errors import (
    AuthenticationError,
    GaveUpError,
    TransientSourceError,
    UnexpectedAnswerError,
)

log = logging.getLogger(__name__)

KEPT_HEADERS = ("Content-Type", "X-Total-Parts", "Retry-After", "Content-Length")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 12
    max_elapsed_s: float = 300.0  # a response may legitimately take 30 s; five of those fit
    backoff_base_s: float = 0.2
    backoff_max_s: float = 30.0
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0  # the contracts allow 30 s for a response


@dataclass
class Fetched:
    """One response as received, with what the paginator decoded from it."""

    request: str  # path and query exactly as sent
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: float  # wall clock, landing metadata only: never part of published content
    decoded: Any = None
    decode_s: float = 0.0  # CPU seconds of the decoder (the parse stage of a night's figures)


@dataclass
class Counters:
    requests: int = 0
    retries: int = 0
    bytes: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


Decoder = Callable[[requests.Response], Any]

# How much later than the requests after it a request may reach the server (a loaded machine's
# scheduling: 0.14 s was seen in CI). A client limited to N requests a second sends each one
# (1 + ARRIVAL_JITTER_S) / N after the one before, so any N + 1 in a row still arrive more
# than a second apart: spacing them 1/N apart left no margin (N + 1 sent within 1.0 s).
ARRIVAL_JITTER_S = 0.2


class HttpClient:
    def __init__(
        self,
        settings: ConnectionSettings,
        auth: Auth,
        policy: RetryPolicy | None = None,
        rate_per_s: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings, self.auth = settings, auth
        self.policy = policy or RetryPolicy()
        self.session = requests.Session()
        # The environment's proxy and CA settings, read once: with `trust_env` requests reads
        # every variable of the environment again for each request (a fifth of a request's
        # time, measured over the hotline's 1,058 small windows of a first night).
        self.session.proxies = requests.utils.get_environ_proxies(settings.base_url)
        self.session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get(
            "CURL_CA_BUNDLE", True
        )
        self.session.trust_env = False
        self.session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=8))
        self.session.mount("https://", HTTPAdapter(pool_connections=1, pool_maxsize=8))
        self.session.auth = auth
        auth.bind(self.session, self._take_slot)
        self.counters = Counters()
        self._sleep = sleep
        self._interval = (1.0 + ARRIVAL_JITTER_S) / rate_per_s if rate_per_s else 0.0
        # A client made now may take over a pool slot whose last holder (another process)
        # has just sent: its first request waits one interval too.
        self._next_slot = time.monotonic() + self._interval
        self._slot_lock = threading.Lock()
        self._count_lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    def get(
        self,
        path: str,
        params: dict[str, Any] | None,
        decode: Decoder,
        answers: Sequence[ContractAnswer] = (),
    ) -> Fetched:
        """GET `path` (relative to the connection's base URL) and decode it, retrying.

        `answers`: the non-success answers the contract gives this request a meaning; each
        raises its own exception for the paginator. Any other status but 200 is an error.
        """
        url = self.settings.base_url + path
        return self._retried(f"GET {path}", lambda: self._once(url, params, decode, answers))

    def post(
        self,
        path: str,
        body: Callable[[], bytes],
        headers: dict[str, str],
        decode: Decoder,
        describe: str,
        read_statuses: frozenset[int] = frozenset(),
        land: Callable[[Any], bytes] | None = None,
    ) -> Fetched:
        """POST to `path` and decode the answer, retrying as `get` does.

        `body` is called once per attempt, so every retry carries a fresh message (a new
        WS-Security nonce and timestamp). `describe`: what was asked, as landing metadata and
        error messages show it (never the body). `read_statuses`: statuses besides 200 whose
        body the decoder reads and judges (SOAP 1.1 faults come in HTTP 500). `land`: what is
        kept of the answer (landing, byte counts) made from the decoded answer, for a source
        whose raw body may not be kept (personal data); None keeps the body as received.
        Error messages of a POST never quote the body.
        """
        url = self.settings.base_url + path
        return self._retried(
            f"POST {describe}",
            lambda: self._post_once(url, body, headers, decode, describe, read_statuses, land),
        )

    def _retried(self, what: str, once: Callable[[], Fetched]) -> Fetched:
        """`once()` until it succeeds, retrying transient failures with back-off within the
        policy's attempts and time; then one error naming `what` and the last failure."""
        p = self.policy
        retrying = Retrying(
            stop=stop_after_attempt(p.max_attempts) | stop_after_delay(p.max_elapsed_s),
            wait=self._wait,
            retry=retry_if_exception_type(TransientSourceError),
            before_sleep=self._note_retry,
            sleep=self._sleep,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return once()
        except RetryError as exc:
            last = exc.last_attempt.exception()
            raise GaveUpError(
                f"{self.settings.conn_id}: gave up on {what} after "
                f"{exc.last_attempt.attempt_number} attempts; last error: {last}"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _post_once(
        self,
        url: str,
        body: Callable[[], bytes],
        headers: dict[str, str],
        decode: Decoder,
        describe: str,
        read_statuses: frozenset[int],
        land: Callable[[Any], bytes] | None,
    ) -> Fetched:
        started = time.time()
        response, content = self._send(
            lambda timeout: self.session.post(url, data=body(), headers=headers, timeout=timeout)
        )
        status = response.status_code
        if status != SUCCESS and status not in read_statuses:
            what = f"HTTP {status} for POST {describe}"
            kind = media_type(response) or "no Content-Type"
            if status in TRANSIENT_STATUSES:
                raise TransientSourceError(f"{what} ({kind})", retry_after=_retry_after(response))
            # no excerpt of the body: this source's bodies may hold personal data
            raise UnexpectedAnswerError(
                f"{self.settings.conn_id}: {what} was answered {kind}, {len(content):,} bytes, "
                f"which is no answer of the system's contract; {FIX}"
            )
        t0 = time.thread_time()
        decoded = decode(response)
        kept = content if land is None else land(decoded)
        fetched = Fetched(
            request=describe,
            status=status,
            headers={k: response.headers[k] for k in KEPT_HEADERS if k in response.headers},
            body=kept,
            fetched_at=started,
            decoded=decoded,
        )
        fetched.decode_s = time.thread_time() - t0
        return fetched

    def _send(
        self, request: Callable[[tuple[float, float]], requests.Response]
    ) -> tuple[requests.Response, bytes]:
        """One request, paced and counted, its body read whole; a transport failure is
        transient."""
        self.auth.ready()  # a token fetched now takes a slot of its own, before this request's
        self._take_slot()
        p = self.policy
        try:
            response = request((p.connect_timeout_s, p.read_timeout_s))
            body = response.content  # reading the body here surfaces cut-off transfers
        except requests.RequestException as exc:
            raise TransientSourceError(f"transport failure ({type(exc).__name__})") from None
        finally:
            with self._count_lock:
                self.counters.requests += 1
        with self._count_lock:
            self.counters.bytes += len(body)
        return response, body

    def _once(
        self, url: str, params: dict | None, decode: Decoder, answers: Sequence[ContractAnswer]
    ) -> Fetched:
        started = time.time()
        response, body = self._send(
            lambda timeout: self.session.get(url, params=params, timeout=timeout)
        )
        self._raise_for_status(response, answers)
        fetched = Fetched(
            request=response.request.path_url,
            status=response.status_code,
            headers={k: response.headers[k] for k in KEPT_HEADERS if k in response.headers},
            body=body,
            fetched_at=started,
        )
        t0 = time.thread_time()  # CPU, not wall: decoders run in parallel fetch threads
        fetched.decoded = decode(response)
        fetched.decode_s = time.thread_time() - t0
        return fetched

    def _raise_for_status(
        self, response: requests.Response, answers: Sequence[ContractAnswer]
    ) -> None:
        status = response.status_code
        if status == SUCCESS:
            return
        for answer in answers:
            if answer.matches(response):
                raise answer.raises()
        what = f"HTTP {status} for GET {response.request.path_url}"
        if status in TRANSIENT_STATUSES:
            kind = media_type(response) or "no Content-Type"
            raise TransientSourceError(f"{what} ({kind})", retry_after=_retry_after(response))
        if status == 401:
            if self.auth.invalidate():  # an expired or revoked token: fetch a new one
                raise TransientSourceError(f"{what} (token rejected)", retry_after=0.0)
            raise AuthenticationError(
                f"{self.settings.conn_id}: the system rejected our credentials ({what}: "
                f"{_excerpt(response)}); check the connection's password"
            )
        if status == 403:
            raise AuthenticationError(
                f"{self.settings.conn_id}: access refused ({what}: {_excerpt(response)}); check "
                "the connection's login and password and this machine's clock"
            )
        # a gateway's page (HTML 404, 410, 400 …) or a status the contract does not give
        raise unexpected(response, self.settings.conn_id)

    def _take_slot(self) -> None:
        """Space request starts an interval apart (`ARRIVAL_JITTER_S`), across threads: one
        thread at a time waits for the next slot, and the one after is counted from when this
        one was let go, so a late wake-up never brings two requests closer together."""
        if not self._interval:
            return
        with self._slot_lock:
            wait = self._next_slot - time.monotonic()
            if wait > 0:
                self._sleep(wait)
            self._next_slot = time.monotonic() + self._interval

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, self.policy.backoff_max_s)
        jitter = wait_random_exponential(
            multiplier=self.policy.backoff_base_s, max=self.policy.backoff_max_s
        )
        return jitter(state)

    def _note_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        reason = re.split(" for (?:GET|POST)", str(exc))[0]
        with self._count_lock:
            self.counters.retries += 1
            self.counters.by_reason[reason] = self.counters.by_reason.get(reason, 0) + 1
        log.info("%s: retrying after %s", self.settings.conn_id, exc)


def _excerpt(response: requests.Response, limit: int = 200) -> str:
    return " ".join(response.content[:limit].decode("utf-8", "replace").split())  # one line
