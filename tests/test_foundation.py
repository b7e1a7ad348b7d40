"""The foundation a test relies on: a real, fresh PostgreSQL database per test."""

import psycopg


def test_given_pg_fixture_when_connecting_then_database_is_fresh_and_writable(pg_database):
    with psycopg.connect(pg_database) as conn:
        tables = conn.execute(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        ).fetchone()[0]
        conn.execute("create table probe (x numeric(18,2))")
        conn.execute("insert into probe values (1234567.89)")
        value = conn.execute("select x from probe").fetchone()[0]
    assert tables == 0
    assert str(value) == "1234567.89"  # exact NUMERIC comes back as Decimal


def test_given_two_tests_then_each_gets_its_own_database(pg_database):
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("select to_regclass('public.probe')").fetchone()[0] is None
