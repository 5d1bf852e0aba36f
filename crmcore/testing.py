"""The testing kit: a pytest plugin for crmcore and for plugin authors.

Registered through the ``pytest11`` entry point, so any test run in an
environment with crmcore installed has these fixtures:

``crm``
    A fresh, initialised CRM on its own database, with no installed plugin
    loaded except those named by the ``crm_plugins`` fixture (override it:
    ``@pytest.fixture def crm_plugins(): return ["membership"]``). SQLite by
    default; PostgreSQL when ``CRM_TEST_DATABASE_URL`` is set. Every test gets
    its own database, created from a migrated template and dropped afterwards.
``register_plugin``
    ``register_plugin(obj, name="...")`` registers a throwaway plugin for one
    test (its migrations are applied) and unregisters it afterwards.
``as_user``
    ``as_user("alice", permissions=[...], department="上海分公司")`` creates a
    user with a role holding those permissions; returns the username.
``cli``
    ``cli("customer", "add", "--name", "张伟", as_="alice", json=True)`` runs
    the ``crm`` command against the test's CRM; the result has ``exit_code``,
    ``stdout``, ``stderr`` and ``json``.
``api_client``
    ``api_client("alice", "membership:read", prefix="/api/v1/membership")``: an
    httpx client with a Bearer token, against a real server for the test's CRM.
``web``
    A real server (uvicorn on a free port) for the test's CRM: ``web.url``;
    ``web.user("alice", permissions=[...], department=..., password=...)``
    makes a user who can log in; ``with web.client("alice") as http:`` is an
    httpx client logged in through the login form (``locale="en"``: the
    browser's language).
``browser_page``
    A Playwright page in headless Chromium (Debian's ``chromium``, no
    download), 1366×768, Chinese; ``web.login(browser_page, "alice")`` logs
    in; ``accessibility_problems(browser_page)`` lists unlabelled inputs and
    the like; ``screenshot(browser_page, "name")`` saves a PNG under
    ``$CRM_TEST_ARTIFACTS/screenshots`` (default ``test-artifacts``). Tests
    using it are skipped when no Chromium is found, unless
    ``CRM_REQUIRE_BROWSER=1`` (CI), where that is an error.
``make``
    Factories: ``make.customer(**fields)``, ``make.contact(customer_id, ...)``,
    ``make.activity(customer_id, ...)``.

:class:`PluginConformance` is a test base any plugin's tests can subclass.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import pytest

if TYPE_CHECKING:
    from crmcore.app import CRM

TEST_DATABASE_ENV = "CRM_TEST_DATABASE_URL"
_counter = itertools.count()


# ---------------------------------------------------------------------------
# Databases
# ---------------------------------------------------------------------------


class TestDatabases:
    """Fresh databases for tests, each a copy of a migrated template.

    Templates are made once per set of plugins and migration folders; on
    PostgreSQL they are databases created ``TEMPLATE`` from, on SQLite files
    that are copied. Everything made here is dropped at the end.
    """

    __test__ = False

    def __init__(self, base_url: str | None, directory: Path):
        from crmcore.storage.engine import normalise_url

        self.base_url = normalise_url(base_url) if base_url else None
        self.directory = directory
        self.token = uuid.uuid4().hex[:8]
        self.templates: dict[str, str] = {}
        self.created: list[str] = []

    @property
    def is_postgres(self) -> bool:
        return bool(self.base_url and self.base_url.startswith("postgresql"))

    def template_for(self, crm_factory: Callable[[str], "CRM"], key: str) -> str:
        template = self.templates.get(key)
        if template is None:
            template = self._new_url(f"tpl_{hashlib.sha1(key.encode()).hexdigest()[:10]}")
            crm = crm_factory(template)
            try:
                from crmcore.bootstrap import initialise

                initialise(crm)
            finally:
                crm.close()
            self.templates[key] = template
        return template

    def fresh(self, template: str) -> str:
        url = self._new_url(f"t{next(_counter)}")
        if self.is_postgres:
            self._admin(f'CREATE DATABASE "{_database_name(url)}" TEMPLATE "{_database_name(template)}"')
        else:
            shutil.copyfile(_sqlite_path(template), _sqlite_path(url))
        return url

    def drop(self, url: str) -> None:
        if self.is_postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{_database_name(url)}" WITH (FORCE)')
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(_sqlite_path(url) + suffix).unlink(missing_ok=True)

    def drop_all(self) -> None:
        for url in self.templates.values():
            self.drop(url)
        self.templates.clear()

    def _new_url(self, suffix: str) -> str:
        if self.is_postgres:
            from sqlalchemy.engine import make_url

            name = f"crmtest_{self.token}_{os.getpid()}_{suffix}"
            if suffix.startswith("tpl"):
                self._admin(f'CREATE DATABASE "{name}"')
            return make_url(self.base_url).set(database=name).render_as_string(hide_password=False)
        return f"sqlite:///{self.directory / f'crm_{suffix}.db'}"

    def _admin(self, sql: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.base_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(sql))
        finally:
            engine.dispose()


def _database_name(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).database


def _sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


@pytest.fixture(scope="session")
def crm_test_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabases]:
    databases = TestDatabases(os.environ.get(TEST_DATABASE_ENV) or None, tmp_path_factory.mktemp("crm-databases"))
    yield databases
    databases.drop_all()


@pytest.fixture
def crm_plugins() -> list[str]:
    """Installed plugins the ``crm`` fixture loads; none by default."""
    return []


def open_test_crm(url: str, plugins: list[str], outbox_dir: Path | None = None) -> "CRM":
    """A CRM with exactly these installed plugins (and what they require),
    ignoring the environment's plugin settings."""
    from crmcore.app import CRM
    from crmcore.config import Config

    config = Config(database_url=url, outbox_dir=str(outbox_dir or Path.cwd() / "outbox"))
    crm = CRM.open(url, plugins=plugins, config=config)
    broken = {name: info.error for name, info in crm.plugins.infos.items() if info.error}
    missing = [name for name in plugins if name not in crm.plugins.infos]
    if broken or missing:
        crm.close()
        pytest.fail(f"plugins not loaded: {broken or ''} {('not installed: ' + ', '.join(missing)) if missing else ''}")
    return crm


@pytest.fixture
def crm(crm_test_databases: TestDatabases, crm_plugins: list[str]) -> Iterator["CRM"]:
    """A fresh, initialised CRM on its own database."""
    outbox_dir = crm_test_databases.directory / "outbox"
    template = crm_test_databases.template_for(lambda url: open_test_crm(url, crm_plugins, outbox_dir), "|".join(sorted(crm_plugins)))
    url = crm_test_databases.fresh(template)
    instance = open_test_crm(url, crm_plugins, outbox_dir)
    try:
        yield instance
    finally:
        instance.close()
        crm_test_databases.drop(url)


@pytest.fixture
def register_plugin(crm: "CRM") -> Iterator[Callable[..., Any]]:
    """Register a throwaway plugin object for one test."""
    names: list[str] = []

    def register(plugin: Any, name: str | None = None, **kwargs: Any) -> Any:
        name = name or getattr(plugin, "__name__", None) or f"test_plugin_{len(names)}"
        crm.plugins.register(plugin, name, **kwargs)
        names.append(name)
        if any(owner == name for owner, _ in crm.plugins.registrations.migrations):
            crm.upgrade()
        return plugin

    yield register
    for name in reversed(names):
        crm.plugins.unregister(name)


@pytest.fixture
def as_user(crm: "CRM") -> Callable[..., str]:
    """Create a user acting with the given permissions; returns the username."""

    return lambda username, **options: make_user(crm, username, **options)


def make_user(crm: "CRM", username: str, *, permissions: list[str] | tuple[str, ...] = ("customers.view", "customers.edit"),
              department: str | None = None, parent: str | None = None, password: str | None = None,
              locale: str | None = None) -> str:
    """A user with a role of their own holding ``permissions``."""
    with crm.unit_of_work() as uow:
        if department and uow.departments.find(department) is None:
            uow.departments.add(department, parent=parent)
        role = f"role_{username}"
        uow.roles.add(role, permissions)
        uow.users.add(username, department=department, roles_=[role])
        if password is not None:
            from crmcore.tokens import PasswordService

            PasswordService(uow).set(username, password)
        if locale is not None:
            uow.users.set_locale(username, locale)
    return username


class CLIResult:
    def __init__(self, result: Any):
        self.exit_code: int = result.exit_code
        self.stdout: str = result.stdout
        self.stderr: str = result.stderr
        self.output: str = result.output
        self.exception = result.exception

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"<CLIResult exit={self.exit_code} stdout={self.stdout[:200]!r} stderr={self.stderr[:300]!r}>"


def run_cli(crm: "CRM", *args: str, as_: str | None = None, json: bool = False, input: str | None = None) -> CLIResult:
    """Run ``crm ARGS`` against ``crm``, in-process."""
    from click.testing import CliRunner

    from crmcore.cli import cli as command
    from crmcore.cli.context import CLIState

    options = [*(["--as", as_] if as_ else []), *(["--json"] if json else [])]
    result = CliRunner().invoke(command, [*options, *map(str, args)], obj=CLIState(crm=crm), input=input, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return CLIResult(result)


@pytest.fixture
def cli(crm: "CRM") -> Callable[..., CLIResult]:
    """``cli("customer", "list", as_="alice", json=True)``."""

    def invoke(*args: str, as_: str | None = None, json: bool = False, input: str | None = None) -> CLIResult:
        return run_cli(crm, *args, as_=as_, json=json, input=input)

    return invoke


class LiveServer:
    """The API of a CRM served by uvicorn on a free port, in a thread."""

    def __init__(self, app: Any):
        import socket

        import uvicorn

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        import threading

        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "LiveServer":
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class APIClients:
    """``clients(user="admin", *scopes, prefix="")`` → an httpx client with a
    Bearer token for ``user`` (``None``: no token); ``clients.url`` is the
    server's address. The server starts on first use."""

    def __init__(self, crm: "CRM"):
        self.crm = crm
        self._server: LiveServer | None = None
        self._clients: list[Any] = []

    @property
    def url(self) -> str:
        if self._server is None:
            from crmcore.api import create_app

            self._server = LiveServer(create_app(self.crm)).start()
        return self._server.url

    def __call__(self, user: str | None = "admin", *scopes: str, prefix: str = "") -> Any:
        import httpx

        from crmcore.tokens import TokenService

        headers = {}
        if user is not None:
            with self.crm.unit_of_work() as uow:
                headers["Authorization"] = "Bearer " + TokenService(uow).create(user, scopes or ("*",))[1]
        self._clients.append(httpx.Client(base_url=self.url + prefix, headers=headers, timeout=60))
        return self._clients[-1]

    def close(self) -> None:
        for client in self._clients:
            client.close()
        if self._server is not None:
            self._server.stop()


@pytest.fixture
def api_client(crm: "CRM") -> Iterator[APIClients]:
    """Clients of a real server (uvicorn on a free port) serving the test's
    CRM: ``api_client("alice", "membership:read", prefix="/api/v1/membership")``.
    The server starts on first use, so register throwaway plugins before."""
    clients = APIClients(crm)
    yield clients
    clients.close()


DEFAULT_TEST_PASSWORD = "Test-Passw0rd"


class WebServer:
    """The test's CRM served for browsers; starts on first use."""

    def __init__(self, crm: "CRM"):
        self.crm = crm
        self._server: LiveServer | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            from crmcore.api import create_app

            self._server = LiveServer(create_app(self.crm)).start()
        return self._server.url

    def user(self, username: str, *, permissions: list[str] | tuple[str, ...] = ("customers.view", "customers.edit"),
             department: str | None = None, parent: str | None = None, password: str = DEFAULT_TEST_PASSWORD,
             locale: str | None = None) -> str:
        return make_user(self.crm, username, permissions=permissions, department=department, parent=parent,
                         password=password, locale=locale)

    def admin(self, password: str = DEFAULT_TEST_PASSWORD) -> str:
        """The built-in administrator, with a password."""
        from crmcore.access import ADMIN_USER
        from crmcore.tokens import PasswordService

        with self.crm.unit_of_work() as uow:
            PasswordService(uow).set(ADMIN_USER, password)
        return ADMIN_USER

    def login(self, page: Any, username: str, password: str = DEFAULT_TEST_PASSWORD) -> None:
        """Log ``page`` in through the login form; lands on the dashboard."""
        page.goto(self.url + "/login")
        page.get_by_label(_LOGIN_LABELS["username"]).fill(username)
        page.get_by_label(_LOGIN_LABELS["password"]).fill(password)
        page.locator("form[action='/login'] button[type=submit]").click()
        page.wait_for_url(lambda url: "/login" not in url)

    @contextmanager
    def client(self, username: str, password: str = DEFAULT_TEST_PASSWORD, *, locale: str | None = None,
               **headers: str) -> Iterator[Any]:
        """An httpx client logged in through the login form (redirects not
        followed, so tests see 303s and 403s as they are). ``locale``
        (``"en"``, ``"zh-CN"``) is the browser's language, sent as
        ``Accept-Language``: the session takes it at login unless the user
        has chosen a language of their own."""
        import httpx

        if locale is not None:
            headers["Accept-Language"] = locale.replace("_", "-")
        with httpx.Client(base_url=self.url, follow_redirects=False, timeout=30, headers=headers) as client:
            token = re.search(r'name="_csrf" value="([^"]+)"', client.get("/login").text).group(1)
            response = client.post("/login", data={"username": username, "password": password, "_csrf": token})
            assert response.status_code == 303, f"login as {username} failed: {response.status_code}"
            yield client

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()


_LOGIN_LABELS = {"username": re.compile("Username|用户名"), "password": re.compile("Password|密码")}


@pytest.fixture
def web(crm: "CRM") -> Iterator[WebServer]:
    server = WebServer(crm)
    yield server
    server.stop()


def find_chromium() -> str | None:
    """Debian's chromium, or what ``CRM_CHROMIUM`` names."""
    for candidate in (os.environ.get("CRM_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                      "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the whole run."""
    executable = find_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        executable = None
    if executable is None:
        if os.environ.get("CRM_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail("CRM_REQUIRE_BROWSER is set but no Chromium (or playwright) was found")
        pytest.skip("no Chromium found (apt install chromium; pip install playwright)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium: Any, web: WebServer) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", base_url=web.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


_ACCESSIBILITY_CHECK = """() => {
  const problems = [];
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  if (!document.documentElement.lang) problems.push("<html> has no lang");
  if (document.querySelectorAll("h1").length !== 1) problems.push("the page has " + document.querySelectorAll("h1").length + " <h1>");
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden" || el.type === "submit" || el.type === "button") continue;
    const named = (el.labels && el.labels.length) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
    if (!named) problems.push("no label: " + el.outerHTML.slice(0, 120));
  }
  for (const el of document.querySelectorAll("button, a[href]")) {
    if (visible(el) && !(el.textContent || "").trim() && !el.getAttribute("aria-label") && !el.getAttribute("title"))
      problems.push("no accessible name: " + el.outerHTML.slice(0, 120));
  }
  for (const el of document.querySelectorAll("svg")) {
    if (!el.getAttribute("aria-label") && !el.getAttribute("aria-hidden") && !el.querySelector("title"))
      problems.push("svg without a label");
  }
  for (const el of document.querySelectorAll("img")) {
    if (!el.hasAttribute("alt")) problems.push("img without alt: " + el.outerHTML.slice(0, 120));
  }
  const ids = {};
  for (const el of document.querySelectorAll("[id]")) { if (ids[el.id]) problems.push("duplicate id: " + el.id); ids[el.id] = 1; }
  return problems;
}"""


def accessibility_problems(page: Any) -> list[str]:
    """What a screen-reader or keyboard user would trip over on the current
    page: inputs without labels, nameless buttons and links, charts without a
    text label, images without alt, duplicate ids, no single ``<h1>``, no
    ``lang``. Empty when the page is fine."""
    return page.evaluate(_ACCESSIBILITY_CHECK)


def screenshot(page: Any, name: str) -> Path:
    """Save the page as ``<artifacts>/screenshots/<name>.png``."""
    directory = Path(os.environ.get("CRM_TEST_ARTIFACTS", "test-artifacts")) / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target


class Factories:
    """Quick, valid records; override any field."""

    def __init__(self, crm: "CRM"):
        self.crm = crm
        self._numbers = itertools.count(1)

    def customer(self, *, actor: str | None = None, **fields: Any) -> Any:
        n = next(self._numbers)
        fields.setdefault("name", f"测试客户{n}")
        fields.setdefault("phones", [f"139{n:08d}"])
        with self.crm.unit_of_work(actor=actor) as uow:
            return uow.customers.create(**fields)

    def contact(self, customer_id: int, *, actor: str | None = None, **fields: Any) -> Any:
        fields.setdefault("name", f"联系人{next(self._numbers)}")
        with self.crm.unit_of_work(actor=actor) as uow:
            return uow.contacts.add(customer_id, **fields)

    def activity(self, customer_id: int, type: str = "note", *, actor: str | None = None, **fields: Any) -> Any:
        fields.setdefault("subject", f"{type} {next(self._numbers)}")
        if type == "purchase":
            fields.setdefault("amount", "100")
        with self.crm.unit_of_work(actor=actor) as uow:
            return uow.activities.log(customer_id, type=type, **fields)


@pytest.fixture
def make(crm: "CRM") -> Factories:
    return Factories(crm)


# ---------------------------------------------------------------------------
# Conformance
# ---------------------------------------------------------------------------


class PluginConformance:
    """Checks every plugin should pass. Subclass it in the plugin's tests::

        from crmcore.testing import PluginConformance

        class TestMembershipConformance(PluginConformance):
            plugin_name = "membership"
    """

    plugin_name: str = ""
    #: Extra variables the plugin's templates need to render in
    #: ``test_templates_render`` (a customer and ``crm`` are always given).
    template_context: dict[str, Any] = {}

    @pytest.fixture
    def crm_plugins(self) -> list[str]:
        return [self.plugin_name]

    def _info(self, crm: "CRM") -> Any:
        info = crm.plugins.infos.get(self.plugin_name)
        assert info is not None, f"plugin {self.plugin_name!r} is not installed (entry point in 'crm.plugins')"
        return info

    def test_plugin_loads_without_error(self, crm: "CRM") -> None:
        info = self._info(crm)
        assert info.error is None, info.error
        assert info.version and info.version != "0", "the distribution declares a version"
        assert info.description, "the distribution declares a summary (description)"

    def test_hookimpls_match_specs(self, crm: "CRM") -> None:
        info = self._info(crm)
        for caller in crm.plugins.pm.get_hookcallers(info.plugin) or []:
            mine = [impl for impl in caller.get_hookimpls() if impl.plugin is info.plugin]
            if caller.spec is None:
                # another plugin's hook, implemented as optional, with that plugin not loaded
                assert all(impl.optionalhook for impl in mine), f"{caller.name} has no hookspec (mark it optionalhook=True if another plugin declares it)"
                continue
            for impl in caller.get_hookimpls():
                if impl.plugin is info.plugin:
                    unknown = set(impl.argnames) - set(caller.spec.argnames)
                    assert not unknown, f"{caller.name} takes unknown arguments {unknown}"

    def _tables_of_branch(self, crm: "CRM") -> tuple[set[str], set[str]]:
        """(tables before, tables after downgrading the plugin's branch)."""
        from sqlalchemy import inspect

        from crmcore.storage import migrations

        before = set(inspect(crm.engine).get_table_names())
        migrations.downgrade(crm.engine, crm.version_locations, f"{self.plugin_name}@base")
        return before, set(inspect(crm.engine).get_table_names())

    def _has_migrations(self, crm: "CRM") -> bool:
        return any(owner == self.plugin_name for owner, _ in crm.plugins.registrations.migrations)

    def test_migrations_upgrade_and_downgrade_cleanly(self, crm: "CRM") -> None:
        from sqlalchemy import inspect

        if not self._has_migrations(crm):
            pytest.skip("the plugin has no migrations")
        before, after_down = self._tables_of_branch(crm)
        assert after_down < before, "the plugin's migrations create tables, and its downgrade drops them"
        crm.upgrade()
        assert set(inspect(crm.engine).get_table_names()) == before, "upgrading again restores every table"

    def test_tables_are_prefixed_with_plugin_name(self, crm: "CRM") -> None:
        if not self._has_migrations(crm):
            pytest.skip("the plugin has no migrations")
        before, after_down = self._tables_of_branch(crm)
        foreign = sorted(t for t in before - after_down if not t.startswith(f"{self.plugin_name}_"))
        assert not foreign, f"tables not prefixed with {self.plugin_name}_: {foreign}"

    def test_commands_have_help(self, crm: "CRM") -> None:
        import click

        commands = [command for owner, command in crm.plugins.registrations.commands if owner == self.plugin_name]
        if not commands:
            pytest.skip("the plugin has no commands")

        def walk(command: click.Command, path: list[str]) -> Iterator[tuple[list[str], click.Command]]:
            yield path, command
            if isinstance(command, click.Group):
                for name, sub in command.commands.items():
                    yield from walk(sub, [*path, name])

        for command in commands:
            for path, each in walk(command, [command.name]):
                assert (each.help or each.short_help or "").strip(), f"`crm {' '.join(path)}` has no help text"
                result = run_cli(crm, *path, "--help")
                assert result.exit_code == 0, result

    def test_templates_render(self, crm: "CRM") -> None:
        import jinja2

        directories = [path for owner, path in crm.plugins.registrations.templates if owner == self.plugin_name]
        if not directories:
            pytest.skip("the plugin has no templates")
        environment = crm.templates
        names = [name for name in environment.list_templates() if name.startswith(f"{self.plugin_name}/")]
        assert names, "the registered template folder holds templates"
        with crm.unit_of_work() as uow:
            customer = uow.customers.create(name="模板测试", phones=["13800000001"], emails=["t@example.com"])
        lenient = environment.overlay(undefined=jinja2.ChainableUndefined)
        pages = [name for name in names if name.startswith(f"{self.plugin_name}/web/")]
        if pages:
            # web pages need a request's context (session, language): here they
            # are compiled by the web environment, which catches syntax errors
            # and unknown filters; the plugin's page tests render them
            from crmcore.web.site import Site

            web_environment = Site.build(crm).environment
            for name in pages:
                web_environment.get_template(name)
        for name in sorted(set(names) - set(pages)):
            lenient.get_template(name).render(**{"customer": customer, "crm": crm, **self.template_context})

    def test_permissions_are_namespaced(self, crm: "CRM") -> None:
        declared = [code for code, (owner, _) in crm.plugins.registrations.permissions.items() if owner == self.plugin_name]
        for code in declared:
            assert code.startswith(f"{self.plugin_name}."), f"permission {code!r} is not prefixed {self.plugin_name}."
