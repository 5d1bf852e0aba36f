"""A real server for the API tests: uvicorn on a free port in a thread,
serving the test's CRM, and httpx as the client."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

import pytest

httpx = pytest.importorskip("httpx")


from crmcore.testing import LiveServer  # noqa: E402


@pytest.fixture
def serve(crm) -> Iterator[Callable[[], LiveServer]]:
    """``serve()`` starts the API for the test's CRM (call it after
    registering throwaway plugins: routes are collected when the app is made)."""
    from crmcore.api import create_app

    servers: list[LiveServer] = []

    def start() -> LiveServer:
        server = LiveServer(create_app(crm)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def token(crm) -> Callable[..., str]:
    """``token("carol", "customers:read")`` → a Bearer token for carol."""
    from crmcore.tokens import TokenService

    def make(user: str = "admin", *scopes: str, expires_in: Any = None) -> str:
        with crm.unit_of_work() as uow:
            return TokenService(uow).create(user, scopes or ("*",), expires_in=expires_in)[1]

    return make


def client(server: LiveServer, token: str | None = None) -> "httpx.Client":
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


class Receiver:
    """A webhook receiver: records every POST; answers ``status``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": self.headers, "raw_headers": list(self.headers.keys()), "body": body})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def http() -> Iterator[Callable[..., "httpx.Client"]]:
    """``http(server, token)`` → an httpx client for the server, closed after the test."""
    made: list[Any] = []

    def make(server: LiveServer, token: str | None = None) -> "httpx.Client":
        made.append(client(server, token))
        return made[-1]

    yield make
    for c in made:
        c.close()
