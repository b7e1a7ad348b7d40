"""The task bodies' decisions, without a scheduler: which failures Airflow retries, and what
the publication says of a department that staged nothing tonight."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from airflow.sdk.exceptions import AirflowFailException

from connectors.core.connection import ConnectionConfigError
from connectors.core.errors import AuthenticationError, GaveUpError, UnexpectedAnswerError
from departments.registry import get
from schemas.validate import SchemaDriftError
from yiwang.airflow import report
from yiwang.airflow.failures import failing_fast
from yiwang.airflow.tasks import as_of_for, stale_departments
from yiwang.night.as_of import AsOfError
from yiwang.night.steps import NoRegistry
from yiwang.store.db import engine_for, migrate
from yiwang.store.lock import StoreBusy
from yiwang.store.staging import _put_state
from yiwang.store.tables import stream_state


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


def test_given_streams_not_staged_tonight_then_the_publication_names_each_and_what_it_keeps(
    tmp_path,
):
    engine = engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    night = dt.date(2026, 11, 23)
    with engine.begin() as conn:
        _put_state(conn, "drc", "projects", {"watermark": "x"}, f"{night}")
        _put_state(conn, "treasury", "vouchers", {"day": "x"}, "2026-11-20")
        for stream in get("housing").streams:  # all of housing tonight but one stream
            run = "2026-11-21" if stream.name == "inspections" else f"{night}"
            _put_state(conn, "housing", stream.name, {"m": 1}, run)
        _put_state(conn, "audit", "findings", {"since": "x"}, "2026-11-24")  # a later night's
    lines = stale_departments(engine, night)
    assert sorted(lines) == [
        "audit: nothing ever staged; the night is published without it",
        "hotline: nothing ever staged; the night is published without it",
        "housing: not staged for the night of 2026-11-23 (its sync did not run or failed); "
        "published as kept from earlier nights: inspections (as staged 2026-11-21)",
        "planning: nothing ever staged; the night is published without it",
        "treasury: not staged for the night of 2026-11-23 (its sync did not run or failed); "
        "published as kept from earlier nights: vouchers (as staged 2026-11-20)",
    ]
    with engine.begin() as conn:
        conn.execute(stream_state.delete().where(stream_state.c.source == "drc"))
    assert (
        "drc: nothing ever staged; without the registry's codes nothing can be linked, so "
        "nothing is published"
    ) in stale_departments(engine, night)


def test_given_quarantined_records_then_the_log_counts_rules_not_values():
    quarantine = pd.DataFrame({"reasons": [
        "收款人统一社会信用代码 '91320000504039195F' fails its check character; 金额 is missing",
        "收款人统一社会信用代码 '91320000504039196X' fails its check character",
    ]})  # fmt: skip
    assert report.rules_broken(quarantine) == (
        "收款人统一社会信用代码 fails its check character ×2, 金额 is missing ×1"
    )


@pytest.mark.parametrize(
    ("context", "said"),
    [({}, "names no as-of date"), ({"params": {"as_of": "2026-13-01"}}, "is not a date")],
)
def test_given_a_run_that_names_no_date_then_it_fails_at_once(context, said):
    with pytest.raises(AirflowFailException, match=said):
        as_of_for(context)
