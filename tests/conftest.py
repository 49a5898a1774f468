"""Shared test settings: hypothesis profiles and database fixtures.

HYPOTHESIS_PROFILE=ci (used by .ci/run) runs enough examples to matter; the default `dev`
profile is fast for local runs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
    print_blob=True,
)
settings.register_profile(
    "dev",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


# ---------------------------------------------------------------------------- SQL engines
# Shared by the SQL backend tests and the cross-backend conformance tests.

DSN_ENV = "CRUDQL_TEST_POSTGRES_DSN"
MYSQL_DSN_ENV = "CRUDQL_TEST_MYSQL_DSN"


@pytest.fixture(scope="session")
def sqlite_engine() -> Iterator[Any]:
    sa = pytest.importorskip("sqlalchemy")
    from sqlalchemy.pool import StaticPool

    # One shared in-memory database: StaticPool hands every checkout the same connection.
    engine = sa.create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Any]:
    sa = pytest.importorskip("sqlalchemy")
    dsn = os.environ.get(DSN_ENV)
    if not dsn:
        pytest.skip(f"set {DSN_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run PostgreSQL tests")
    schema = f"crudql_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(dsn)
    with admin.begin() as conn:
        conn.execute(sa.schema.CreateSchema(schema))
    engine = sa.create_engine(dsn, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.schema.DropSchema(schema, cascade=True))
        admin.dispose()


@pytest.fixture(scope="session")
def mysql_engine() -> Iterator[Any]:
    """MariaDB (10.10+) through PyMySQL, in a database of its own, dropped at the end."""
    sa = pytest.importorskip("sqlalchemy")
    dsn = os.environ.get(MYSQL_DSN_ENV)
    if not dsn:
        pytest.skip(f"set {MYSQL_DSN_ENV} (e.g. mysql+pymysql://root@127.0.0.1:3306/test) to run MariaDB tests")
    pytest.importorskip("pymysql")
    database = f"crudql_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(dsn)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
    engine = sa.create_engine(sa.engine.make_url(dsn).set(database=database))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {database}")
        admin.dispose()
