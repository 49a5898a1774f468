"""The playground: its explain endpoint (TestClient) and the page itself in a real headless
Chromium (Debian's chromium and chromium-driver, driven with selenium)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")
from fastapi.testclient import TestClient

from crudql.integrations.server import create_app, sample_database
from support.http import serving

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
APT = "apt-get install -y chromium chromium-driver"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return create_app(sample_database(tmp_path_factory.mktemp("data"), 120))


@pytest.fixture(scope="module")
def client(app: Any) -> TestClient:
    return TestClient(app)


def test_the_page_and_its_assets_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="q"' in page.text and "/playground/playground.js" in page.text and "{{config}}" not in page.text
    assert client.get("/playground/playground.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/playground/playground.css").headers["content-type"].startswith("text/css")
    assert client.get("/playground/nothing.js").status_code == 404


def test_explain_shows_every_form(client: TestClient) -> None:
    body = client.get(
        "/playground/explain", params={"q": '{"in": ["info.partner", ["AWS", "GCP"]]}', "qs": "json", "s": "-creationTime", "scope": "org_acme"}
    ).json()
    assert body["lisp"] == '(in info.partner ("AWS" "GCP"))'
    assert body["json"] == '["in", "info.partner", ["AWS", "GCP"]]'
    assert body["tree"] == ['Predicate in info.partner : enum ("AWS" "GCP")']
    assert body["sort"]["simple"] == "-creation_time,id"
    assert body["sql"]["dialect"] == "sqlite"
    assert "ORDER BY" in body["sql"]["page"] and "count(*)" in body["sql"]["count"]
    assert '"org_acme"' in body["sql"]["parameters"].values()  # the scope is in what runs
    assert '"$in"' in body["mongo"] and "org_acme" in body["mongo"]


def test_explain_errors_are_400_with_their_place(client: TestClient) -> None:
    response = client.get("/playground/explain", params={"q": '(and (= name "x")\n     (= info.partnr "AWS"))'})
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["param"], body["line"], body["column"], body["length"]) == ("unknown_field", "q", 2, 9, 11)
    assert body["error"].endswith('     (= info.partnr "AWS"))\n          ^^^^^^^^^^^')
    sort_error = client.get("/playground/explain", params={"s": "tags"}).json()
    assert sort_error["param"] == "s" and "not sortable" in sort_error["error"]
    assert client.get("/playground/explain", params={"x": "1"}).status_code == 400
    assert client.get("/playground/explain", params={"scope": "org_acme", "page_size": "0"}).status_code == 400


# ---------------------------------------------------------------------------- a real browser


def _browser_missing() -> str | None:
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        return f"Debian's chromium and chromium-driver are not installed ({APT})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _browser_missing()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="crudql-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver: Any, condition: Any, timeout: float = 15) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def _text(driver: Any, element_id: str) -> str:
    return str(driver.find_element("id", element_id).text)


def _type(driver: Any, element_id: str, text: str) -> None:
    box = driver.find_element("id", element_id)
    box.clear()
    box.send_keys(text)


def _row_ids(driver: Any) -> list[str]:
    return [row.get_attribute("data-id") for row in driver.find_elements("css selector", "#results tbody tr")]


def test_the_playground_in_chromium(app: Any, client: TestClient, browser: Any) -> None:
    def api(q: str) -> Any:
        return client.get("/org/org_acme/contact/query", params={"q": q}).json()

    with serving(app) as base:
        browser.get(base + "/")
        _wait(browser, lambda d: _text(d, "total").endswith("matches"))
        everything = api("")
        assert _text(browser, "total") == f"{everything['total_count']} matches"
        assert _row_ids(browser) == [d["id"] for d in everything["data"]]

        # A filter: the forms and the results follow as it is typed.
        _type(browser, "q", '(= info.partner "AWS")')
        expected = api('(= info.partner "AWS")')
        _wait(browser, lambda d: _text(d, "lisp") == '(= info.partner "AWS")' and _text(d, "total") == f"{expected['total_count']} matches")
        assert _row_ids(browser) == [d["id"] for d in expected["data"]]
        assert "Predicate = info.partner : enum" in _text(browser, "tree")
        assert "json_extract" in _text(browser, "sql-page") or "info" in _text(browser, "sql-page")
        assert '"info.partner"' in _text(browser, "mongo")

        # A broken filter: the message under the box, the caret under the bad token.
        _type(browser, "q", '(= info.partnr "AWS")')
        _wait(browser, lambda d: d.find_element("id", "q-error").is_displayed())
        message = _text(browser, "q-error").splitlines()
        assert "did you mean 'info.partner'" in message[0]
        assert message[1].strip() == '(= info.partnr "AWS")'
        assert message[2].index("^") == message[1].index("info.partnr") and message[2].count("^") == len("info.partnr")
        assert _row_ids(browser) == []

        # A bad sort shows under the sort box; paging walks the real route.
        _type(browser, "q", "")
        _type(browser, "s", "tags")
        _wait(browser, lambda d: d.find_element("id", "s-error").is_displayed() and "not sortable" in _text(d, "s-error"))
        _type(browser, "s", "-creation_time")
        _wait(browser, lambda d: not d.find_element("id", "s-error").is_displayed() and _text(d, "page-label").startswith("page 1 of"))
        browser.find_element("id", "next").click()
        _wait(browser, lambda d: _text(d, "page-label").startswith("page 2 of"))
        second = client.get("/org/org_acme/contact/query", params={"s": "-creation_time", "page_number": "2"}).json()
        assert _row_ids(browser) == [d["id"] for d in second["data"]]

