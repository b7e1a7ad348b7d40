"""What can go wrong when reading a source, sorted by what the framework does about it."""

from __future__ import annotations


class SourceError(Exception):
    """A failure talking to a departmental system; the message names the system and request."""


class FatalSourceError(SourceError):
    """Retrying will not help (wrong credentials, a malformed request): stop the stream now."""


class AuthenticationError(FatalSourceError):
    """The system rejected our credentials."""


class UnexpectedAnswerError(FatalSourceError):
    """An answer the contract does not give the request (a gateway's error page, a status or
    content type of no meaning): never read as data, and asking again will not change it."""


class TransientSourceError(SourceError):
    """The same request later succeeds (5xx, 429, busy codes, cut-off bodies, resets)."""

    def __init__(self, message: str, retry_after: float | None = None, refresh_auth=False):
        super().__init__(message)
        self.retry_after = retry_after
        self.refresh_auth = refresh_auth


class GaveUpError(SourceError):
    """A transient failure that outlasted the retry budget."""


class RestartPaging(Exception):
    """The paginator must start again from what is already stored (e.g. an expired cursor)."""
