"""The UI server's guard, tried against a running `rag ui` as an attacker would."""

from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import CORPUS
from tests.servers import free_port, wait_until_serving
from tests.ui.test_app import RAG

PASSWORD = "s3cret-Passw0rd"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`rag ui` with a login, over the bundled corpus (extractive: no model needed)."""
    home = tmp_path_factory.mktemp("guarded")
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "RAG_BACKEND": "extractive",
           "RAG_UI_AUTH": f"reader:{PASSWORD}", "RAG_INDEX_DIR": str(home / "index"),
           "RAG_UI_UNREAD_PER_CLIENT": "4"}
    subprocess.run([RAG, "ingest", str(CORPUS), "--quiet"], check=True, env=env,
                   capture_output=True)
    port = free_port()
    log = (home / "server.log").open("w")
    process = subprocess.Popen([RAG, "ui", "--port", str(port)], stdout=log,
                               stderr=subprocess.STDOUT, env=env, cwd=home)
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(url + "/", process, log.name)
    yield url
    process.terminate()
    process.wait(timeout=30)
    log.close()
    assert "Traceback" not in Path(log.name).read_text()


def _request(url: str, headers: dict[str, str] | None = None,
             data: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, \
                response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, \
            exc.read().decode(errors="replace")


def test_a_foreign_host_name_is_refused(server):
    status, _, text = _request(server + "/config", {"Host": "attacker.example:7860"})
    assert status == 421
    assert "host name" in text
    assert _request(server + "/", {"Host": "localhost"})[0] == 200


def test_another_sites_origin_is_refused_and_never_allowed(server):
    status, headers, _ = _request(server + "/config", {"Origin": "http://attacker.example"})
    assert status == 403
    assert "access-control-allow-origin" not in headers
    status, headers, _ = _request(server + "/", {"Origin": server})
    assert status == 200
    assert "access-control-allow-credentials" not in headers


def test_every_response_carries_the_security_headers(server):
    for path in ("/", "/config", "/no-such-page"):
        _, headers, _ = _request(server + path)
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"


def test_the_api_schema_is_not_served(server):
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert _request(server + path)[0] == 404


def test_a_client_that_never_reads_its_answers_cannot_fill_the_queue(server):
    import http.cookiejar
    import json

    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = urllib.parse.urlencode({"username": "reader", "password": PASSWORD}).encode()
    opener.open(urllib.request.Request(server + "/login", data=login), timeout=30)
    config = json.load(opener.open(server + "/config", timeout=30))
    ask = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "ask")

    def join(session: str) -> int:
        body = json.dumps({"data": ["How many warships did Russia send?"], "fn_index": ask,
                           "session_hash": session}).encode()
        request = urllib.request.Request(server + "/gradio_api/queue/join", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            return opener.open(request, timeout=30).status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert [join("never-reads") for _ in range(5)] == [200, 200, 200, 200, 429]
    # Opening the session's answer stream is reading: its questions no longer count.
    with opener.open(server + "/gradio_api/queue/data?session_hash=never-reads", timeout=60):
        pass
    assert join("never-reads") == 200


def test_failed_logins_are_throttled(server):
    statuses = [_request(server + "/login", data={"username": "reader", "password": f"x{n}"})[0]
                for n in range(6)]
    assert statuses[:5] == [400] * 5 or all(400 <= s < 500 and s != 429 for s in statuses[:5])
    assert statuses[5] == 429
    # Throttled means throttled: the right password waits out the window too.
    assert _request(server + "/login", data={"username": "reader", "password": PASSWORD}
                    )[0] == 429


@pytest.mark.parametrize("env, args, message", [
    ({}, ["--host", "0.0.0.0"], "--insecure-no-auth"),
    ({"RAG_UI_AUTH": "admin:"}, [], "the password is empty"),
])
def test_unsafe_settings_refuse_to_start_with_one_line(tmp_path, env, args, message):
    result = subprocess.run([RAG, "ui", "--port", str(free_port()), *args],
                            env={**os.environ, "RAG_INDEX_DIR": str(tmp_path / "i"), **env},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_the_guard_forgets_clients_with_nothing_recent(monkeypatch):
    import ui.security as security

    now = [1000.0]
    monkeypatch.setattr(security.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(security, "PRUNE_AT", 10)
    guard = security.Guard(app=None, hosts=None)
    for n in range(50):
        client = f"10.0.0.{n}"
        assert guard._may_join(client, "s")
        guard._read(client, "s")  # read its answer: nothing left to remember
        guard._failed(f"10.1.0.{n}")
        assert not guard._throttled(client)  # asking does not make an entry
    assert not guard._unread
    assert len(guard._failures) == 50  # failed logins are kept for a minute
    now[0] += security.LOGIN_WINDOW + 1
    assert guard._may_join("10.2.0.1", "s")  # still waiting to be read: kept
    guard._failed("10.2.0.2")
    assert set(guard._unread) == {"10.2.0.1"} and set(guard._failures) == {"10.2.0.2"}
    # the limits still hold
    for _ in range(5):
        guard._failed("10.2.0.3")
    assert guard._throttled("10.2.0.3")
