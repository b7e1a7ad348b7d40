"""The task bodies' decisions, without a scheduler: which failures Airflow retries, and what
the publication says of a department that staged nothing tonight."""

from __future__ import annotations

import datetime as dt

import pytest
from airflow.sdk.exceptions import AirflowFailException

from connectors.core.connection import ConnectionConfigError
from connectors.core.errors import AuthenticationError, GaveUpError, UnexpectedAnswerError
from schemas.validate import SchemaDriftError
from yiwang.airflow.failures import failing_fast
from yiwang.airflow.tasks import stale_departments
from yiwang.night.as_of import AsOfError
from yiwang.night.steps import NoRegistry
from yiwang.store.db import engine_for, migrate
from yiwang.store.lock import StoreBusy
from yiwang.store.staging import _put_state


@pytest.mark.parametrize(
    "failure",
    [
        ConnectionConfigError("connection 'drc_api' has no host"),
        AuthenticationError("treasury_api: access refused (HTTP 401)"),
        UnexpectedAnswerError("audit_api: HTML 404 from a gateway"),
        SchemaDriftError("drc/project: required field(s) xmdm missing"),
        AsOfError("2099-01-01 is not a finished day"),
        NoRegistry("nothing of drc is staged"),
    ],
    ids=type,
)
def test_given_a_failure_no_retry_can_cure_then_the_task_fails_at_once_saying_it(failure):
    with pytest.raises(AirflowFailException) as raised, failing_fast():
        raise failure
    assert str(raised.value).startswith(str(failure))
    assert type(failure).__name__ in str(raised.value)


@pytest.mark.parametrize(
    "failure",
    [GaveUpError("housing_api: gave up after 12 attempts"), StoreBusy("another night holds it"),
     ConnectionResetError("reset")],
    ids=type,
)  # fmt: skip
def test_given_a_failure_that_can_pass_then_it_is_left_to_airflows_retries(failure):
    with pytest.raises(type(failure)), failing_fast():
        raise failure


def test_given_departments_that_staged_nothing_tonight_then_the_publication_names_each(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    night = dt.date(2026, 11, 23)
    with engine.begin() as conn:
        _put_state(conn, "drc", "projects", {"watermark": "x"}, f"{night}")
        _put_state(conn, "treasury", "vouchers", {"day": "x"}, "2026-11-20")
        _put_state(conn, "housing", "permits", {"m": 1}, "2026-11-24")  # a later night's
    lines = stale_departments(engine, night)
    assert sorted(lines) == [
        "audit: nothing ever staged; the night is published without it",
        "housing: nothing ever staged; the night is published without it",
        "treasury: nothing staged for the night of 2026-11-23 (its sync did not run or failed); "
        "its records are published as staged on the night of 2026-11-20",
    ]
