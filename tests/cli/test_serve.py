"""`crudql serve`: a real process on a free loopback port, queried over HTTP; and its
argument errors, which exit 2 before anything starts."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("sqlalchemy")

from crudql import sample
from crudql.cli import main
from support.http import free_port


def _get(port: int, target: str) -> tuple[int, dict[str, str], Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", target)
        response = conn.getresponse()
        body = response.read()
        kind = response.getheader("content-type") or ""
        return response.status, dict(response.getheaders()), json.loads(body) if "json" in kind else body.decode()
    finally:
        conn.close()


def _wait_ready(proc: subprocess.Popen[str], port: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"crudql serve exited with {proc.returncode}: {proc.communicate()[0]}")
        try:
            if _get(port, "/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("crudql serve did not answer /health in time")


def test_serve_answers_the_reference_endpoint_over_http(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    # sys.executable -m crudql with this environment (PYTHONPATH included): the tree under test.
    proc = subprocess.Popen(
        [sys.executable, "-m", "crudql", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(data_dir), "--sample-size", "40", "--workers", "2", "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ),
    )
    try:
        _wait_ready(proc, port)
        assert [p.name for p in data_dir.iterdir()] == ["contacts-40.sqlite3"]

        status, headers, body = _get(port, "/org/org_acme/contact/query?page_size=5&s=-creation_time")
        assert status == 200 and headers["content-type"] == "application/json"
        assert set(body) == {"data", "page_number", "page_size", "total_count"}
        records = sample.contacts(40)
        mine = [r for r in records if r["organizationID"] == "org_acme"]
        assert body["total_count"] == len(mine)
        expected = sorted(mine, key=lambda r: (r["creationTime"], r["id"]), reverse=True)[:5]
        assert [d["id"] for d in body["data"]] == [r["id"] for r in expected]
        assert all(d["organizationID"] == "org_acme" for d in body["data"])

        status, _, body = _get(port, "/org/org_acme/contact/query?q=%28%3D%20nme%201%29")
        assert status == 400 and isinstance(body, str) and "did you mean 'name'" in body

        status, _, doc = _get(port, "/openapi.json")
        operation = doc["paths"]["/org/{orgId}/contact/query"]["get"]
        assert [p["name"] for p in operation["parameters"]] == ["orgId", "page_size", "page_number", "qs", "q", "ss", "s", "cursor"]
        assert _get(port, "/docs")[0] == 200 and "swagger" in _get(port, "/docs")[2].lower()
        status, _, page = _get(port, "/")
        assert status == 200 and "crudql playground" in page
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["serve", "--sample-size", "-1"], "--sample-size"),
        (["serve", "--workers", "0"], "--workers"),
        (["serve", "--port", "70000"], "--port"),
        (["serve", "--database-url", "not a url"], "--database-url"),
        (["serve", "--database-url", "sqlite:////nonexistent/dir/x.db"], "cannot open the database"),
    ],
)
def test_serve_argument_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
