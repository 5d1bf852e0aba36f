"""``crm serve`` as a real process: the command integrators run."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

httpx = pytest.importorskip("httpx")


def test_crm_serve_answers_with_the_api_and_its_schema(crm, token, make):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    customer = make.customer(name="张伟")
    bearer = token("admin", "customers:read")
    url = crm.engine.url.render_as_string(hide_password=False)
    environment = {**{k: v for k, v in os.environ.items() if not k.startswith("CRM_")}, "CRM_LOAD_PLUGINS": "none"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from crmcore.cli import main; main()", "--db", url, "serve", "--port", str(port), "--no-access-log"],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/ping", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, process.stdout.read() if process.poll() is not None else "timeout"
            time.sleep(0.1)
        got = httpx.get(f"{base}/api/v1/customers/{customer.id}", headers={"Authorization": f"Bearer {bearer}"}, timeout=10)
        assert got.status_code == 200 and got.json()["name"] == "张伟"
        assert httpx.get(f"{base}/api/schema", timeout=10).json()["openapi"].startswith("3.1")
    finally:
        process.terminate()
        process.wait(timeout=10)
