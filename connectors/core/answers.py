"""Which answers of a system are data: the contract's success, and the few other statuses a
contract gives a meaning, each recognised by its own body, never by its status alone.

A gateway in front of a system answers with its own pages (an HTML 404, 410, 400 …); those
are errors, whatever their status shares with the contract's answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import requests

from connectors.core.errors import UnexpectedAnswerError

SUCCESS = 200  # every contract answers a request it serves with 200
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})  # the same request later succeeds

FIX = (
    "check the connection's host, port and base_path, and the gateway in front of the system; "
    "nothing was read from it, so the next run reads it again"
)


@dataclass(frozen=True)
class ContractAnswer:
    """A non-success status the contract gives a meaning, known by its JSON body
    `{field: value}` (e.g. housing's HTTP 400 `{"error": "invalid_cursor"}`); `raises` makes the
    exception the paginator acts on."""

    status: int
    field: str
    value: str
    raises: Callable[[], Exception]

    def matches(self, response: requests.Response) -> bool:
        if response.status_code != self.status or not is_json(response):
            return False
        try:
            doc = json.loads(response.content)
        except ValueError:
            return False
        return isinstance(doc, dict) and doc.get(self.field) == self.value


def media_type(response: requests.Response) -> str:
    """The Content-Type without its parameters, lower case ("" when absent)."""
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


def is_json(response: requests.Response) -> bool:
    kind = media_type(response)
    return kind == "application/json" or kind.endswith("+json")


def describe(response: requests.Response, limit: int = 80) -> str:
    """What came back, on one line: status, content type, size and the body's start."""
    text = " ".join(response.content[: limit * 4].decode("utf-8", "replace").split())
    start = text[:limit] + ("…" if len(text) > limit else "")
    kind = media_type(response) or "no Content-Type"
    return f"HTTP {response.status_code} ({kind}, {len(response.content):,} bytes: {start!r})"


def unexpected(response: requests.Response, source: str = "", expected: str = "") -> Exception:
    """The error for an answer that is not the contract's: one line, naming what to check."""
    where = f"{source}: " if source else ""
    wanted = f" instead of {expected}" if expected else ""
    return UnexpectedAnswerError(
        f"{where}GET {response.request.path_url} was answered {describe(response)}{wanted}, "
        f"which is no answer of the system's contract; {FIX}"
    )
