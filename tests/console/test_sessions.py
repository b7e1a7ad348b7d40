"""Console sessions: a cookie signed for a token's digest, good until it expires, only while
the token is still accepted, and only with the server's own key."""

from __future__ import annotations

from yiwang.api.auth import Gate, Sessions, digest

KEY = b"k" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_given_a_session_issued_for_a_token_then_it_names_that_token_until_it_expires():
    clock = Clock()
    sessions = Sessions(KEY, hours=8, clock=clock)
    cookie = sessions.issue(digest("t"))
    assert sessions.digest_of(cookie) == digest("t")
    clock.now += 8 * 3600 - 1
    assert sessions.digest_of(cookie) == digest("t")
    clock.now += 2
    assert sessions.digest_of(cookie) is None


def test_given_a_cookie_altered_or_signed_with_another_key_then_it_names_nobody():
    sessions = Sessions(KEY)
    cookie = sessions.issue(digest("t"))
    token_digest, expiry, mac = cookie.split(".")
    later = str(int(expiry) + 10**6)
    assert sessions.digest_of(f"{token_digest}.{later}.{mac}") is None  # a longer life
    assert sessions.digest_of(f"{digest('other')}.{expiry}.{mac}") is None  # another token
    assert sessions.digest_of(cookie[:-1] + ("0" if cookie[-1] != "0" else "1")) is None
    assert Sessions(b"x" * 32).digest_of(cookie) is None  # another server's key
    for junk in ("", "abc", "..", "a.b.c", f"{token_digest}.{expiry}"):
        assert sessions.digest_of(junk) is None


def test_given_a_token_no_longer_accepted_then_its_sessions_end_too():
    sessions = Sessions(KEY)
    cookie = sessions.issue(digest("t"))
    accepted = {digest("t")}
    gate = Gate(accepted, sessions)
    assert gate.admits(None, cookie) and gate.admits("Bearer t", None)
    accepted.clear()  # the token removed from YIWANG_API_TOKEN_SHA256
    assert not gate.admits(None, cookie) and not gate.admits("Bearer t", None)


def test_given_neither_token_nor_session_then_the_gate_is_shut():
    gate = Gate({digest("t")}, Sessions(KEY))
    assert not gate.admits(None, None)
    assert not gate.admits("Basic dDp0", None)
    assert not gate.admits("Bearer nope", "forged")


def test_given_server_processes_sharing_the_session_key_then_each_honours_the_others_sessions(
    tmp_path, monkeypatch
):
    """`yiwang serve --workers N` gives its workers one YIWANG_SESSION_SECRET: a session
    opened at one process is good at the others; processes with keys of their own are not."""
    from fastapi.testclient import TestClient

    from yiwang.api.app import app_from_env
    from yiwang.api.auth import COOKIE
    from yiwang.store.db import engine_for, migrate

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    migrate(engine_for(url))  # a store with its tables, nothing published yet
    monkeypatch.setenv("YIWANG_DATABASE_URL", url)
    monkeypatch.setenv("YIWANG_API_TOKEN_SHA256", digest("t"))

    def signed_in_elsewhere() -> int:
        one, other = TestClient(app_from_env()), TestClient(app_from_env())
        one.post("/console/login", data={"token": "t"}, follow_redirects=False)
        other.cookies.set(COOKIE, one.cookies[COOKIE])
        return other.get("/console", follow_redirects=False).status_code

    monkeypatch.setenv("YIWANG_SESSION_SECRET", "a-key-the-workers-share")
    assert signed_in_elsewhere() == 200
    monkeypatch.delenv("YIWANG_SESSION_SECRET")
    assert signed_in_elsewhere() == 303  # to the sign-in page
