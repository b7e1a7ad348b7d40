"""The connector framework: declare streams, inherit auth, paging, retries, state and landing."""

from connectors.core.answers import ContractAnswer
from connectors.core.auth import (
    HeaderKey,
    HmacSignature,
    OAuth2ClientCredentials,
    QueryKey,
    StaticBearer,
)
from connectors.core.connection import ConnectionConfigError, ConnectionSettings, from_env
from connectors.core.errors import (
    AuthenticationError,
    FatalSourceError,
    GaveUpError,
    SourceError,
    TransientSourceError,
    UnexpectedAnswerError,
)
from connectors.core.formats import BusinessCode, GbkCsv, JsonItems
from connectors.core.http import RetryPolicy
from connectors.core.landing import Landing
from connectors.core.paging import Cursor, DayPartitions, NextLinks, Offset, PageNumber
from connectors.core.soap import SoapXml, TimeWindows, WsUsernameToken
from connectors.core.state import LocalSink, Sink, latest_versions
from connectors.core.stream import Checkpoint, Connector, Page, Stream
from connectors.core.sync import StreamStats, SyncResult, replay, sync

__all__ = [
    "AuthenticationError", "BusinessCode", "Checkpoint", "ConnectionConfigError",
    "ConnectionSettings", "Connector", "ContractAnswer", "Cursor", "DayPartitions",
    "FatalSourceError", "GaveUpError", "GbkCsv", "HeaderKey", "HmacSignature", "JsonItems",
    "Landing", "LocalSink", "NextLinks", "OAuth2ClientCredentials", "Offset", "Page", "PageNumber",
    "QueryKey", "RetryPolicy", "Sink", "SoapXml", "SourceError", "StaticBearer", "Stream",
    "StreamStats", "SyncResult", "TimeWindows", "TransientSourceError", "UnexpectedAnswerError",
    "WsUsernameToken", "from_env", "latest_versions", "replay", "sync",
]  # fmt: skip
