"""The workbench's doors: loopback without a login, anywhere else only with one (from the
environment), and no form accepted without the session's CSRF token or from another site.
In-process through Starlette's test client; the browser test is test_workbench_e2e.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from test_lifecycle import Brand, cli, make_brand

from flows.config import WorkbenchSettings
from flows.errors import UserError
from flows.workbench import create_app
from flows.workbench.security import Credentials, credentials_for, is_loopback


@pytest.fixture(scope="module")
def brand(tmp_path_factory: pytest.TempPathFactory) -> Brand:
    made = make_brand(tmp_path_factory.mktemp("workbench"))
    made.plan()
    return made


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


@pytest.fixture
def exposed(brand: Brand) -> Iterator[TestClient]:
    app = create_app(brand.settings, Credentials("ana", "s3cret-pass"))
    with TestClient(app, base_url="http://planning.example:8765") as client:
        yield client


def _login(client: TestClient, password: str = "s3cret-pass") -> str:
    token = _csrf(client.get("/login").text)
    return client.post("/login", data={"csrf": token, "user": "ana",
                                       "password": password}).text


def test_loopback_needs_no_login_and_anything_else_needs_one_from_the_environment() -> None:
    settings = WorkbenchSettings()
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert credentials_for("127.0.0.1", settings, env={}) is None
    with pytest.raises(UserError, match="REPLENISH_UI_USER and REPLENISH_UI_PASSWORD"):
        credentials_for("0.0.0.0", settings, env={"REPLENISH_UI_USER": "ana"})
    found = credentials_for("0.0.0.0", settings, env={"REPLENISH_UI_USER": "ana",
                                                      "REPLENISH_UI_PASSWORD": "pw"})
    assert found == Credentials("ana", "pw") and "pw" not in repr(found)


def test_the_command_refuses_to_listen_beyond_loopback_without_a_login(
        brand: Brand, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REPLENISH_UI_USER", raising=False)
    monkeypatch.delenv("REPLENISH_UI_PASSWORD", raising=False)
    code, _, err = cli("ui", "--config", str(brand.config), "--host", "0.0.0.0")
    assert code == 2
    assert "refusing to serve the workbench on 0.0.0.0 without a login" in err
    assert "Traceback" not in err


def test_an_exposed_workbench_asks_for_the_login_first(exposed: TestClient) -> None:
    first = exposed.get("/", follow_redirects=False)
    assert (first.status_code, first.headers["location"]) == (303, "/login")
    assert "Wrong user or password." in _login(exposed, password="wrong")
    assert exposed.get("/", follow_redirects=False).status_code == 303
    _login(exposed)
    page = exposed.get("/supplier?name=S1")
    assert page.status_code == 200 and "PO-20250302-S1-001" in page.text


def test_a_form_without_the_token_or_from_another_site_changes_nothing(
        exposed: TestClient, brand: Brand) -> None:
    _login(exposed)
    token = _csrf(exposed.get("/supplier?name=S1").text)
    line = "PO-20250302-S1-001"
    refused = exposed.post("/line/approve", data={"line_id": line})
    assert refused.status_code == 403
    forged = exposed.post("/line/approve", data={"line_id": line, "csrf": token},
                          headers={"Origin": "http://evil.example"})
    assert forged.status_code == 403
    assert brand.lines(line_ids=[line])["status"].tolist() == ["proposed"]
    done = exposed.post("/line/approve", data={"line_id": line, "csrf": token,
                                               "back": "/supplier?name=S1"},
                        headers={"Origin": "http://planning.example:8765"})
    assert done.status_code == 200 and "approved by ana" in done.text
    approved = brand.lines(line_ids=[line]).iloc[0]
    assert (approved["status"], approved["approved_by"]) == ("approved", "ana")


def test_a_loopback_workbench_checks_the_token_too(brand: Brand, tmp_path: Path) -> None:
    with TestClient(create_app(brand.settings)) as client:
        assert client.get("/").status_code == 200
        refused = client.post("/supplier/approve", data={"supplier": "S2"})
        assert refused.status_code == 403
        assert set(brand.lines(supplier="S2")["status"]) == {"proposed"}
