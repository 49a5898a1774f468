"""examples/existing_schema runs in one command (its README's), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "existing_schema" / "main.py"


def _run(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--contacts", "200", *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_example_runs_on_sqlite() -> None:
    out = _run()
    totals = [int(line.split("total_count=")[1].split()[0]) for line in out.splitlines() if "total_count=" in line]
    assert len(totals) == 4 and all(t > 0 for t in totals)


def test_the_example_runs_on_postgresql(postgres_engine: object) -> None:
    dsn = os.environ.get("CRUDQL_TEST_POSTGRES_DSN")
    if not dsn:
        pytest.skip("no PostgreSQL DSN")
    with postgres_engine.connect() as conn:  # type: ignore[attr-defined]
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
    sep = "&" if "?" in dsn else "?"
    out = _run("--database-url", f"{dsn}{sep}options=-csearch_path%3D{schema}")
    assert out.count("total_count=") == 4
