"""examples/fastapi_app: the service runs with the README's command and answers as it says."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("sqlalchemy")
import httpx
from fastapi.testclient import TestClient

from support.http import free_port

APP = Path(__file__).resolve().parents[2] / "examples" / "fastapi_app" / "app.py"


@pytest.fixture(scope="module")
def example() -> Any:
    spec = importlib.util.spec_from_file_location("fastapi_app_example", APP)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would: pydantic resolves the model's names there
    spec.loader.exec_module(module)
    return module


def test_the_example_answers_as_its_readme_says(example: Any) -> None:
    client = TestClient(example.app)
    body = client.get("/tenants/1/tickets", params={"q": '(= status "open")', "s": "-priority"}).json()
    assert [t["id"] for t in body["data"]] == [3, 1]
    assert body["data"][0]["opened_at"] == "2025-03-03T09:30:00Z"
    assert [t["id"] for t in client.get("/tenants/1/tickets", params={"q": '(has tags "web")', "s": "-opened_at"}).json()["data"]] == [4, 1]
    assert "did you mean 'status'" in client.get("/tenants/1/tickets", params={"q": '(= sttus "open")'}).json()
    assert client.get("/tenants/abc/tickets").status_code == 400
    # No filter reaches another tenant's tickets.
    for q in ("", "(!= tenant_id 1)", "(or (= id 5) (= id 6))"):
        ids = [t["id"] for t in client.get("/tenants/1/tickets", params={"q": q}).json()["data"]]
        assert set(ids) <= {1, 2, 3, 4}


def test_the_readme_command_runs_the_service() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(APP)], env={**os.environ, "PORT": str(port)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[0]
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/tenants/2/tickets", params={"s": "id"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the example did not start"
                time.sleep(0.2)
        assert [t["id"] for t in response.json()["data"]] == [5, 6]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
