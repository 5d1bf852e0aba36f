import re
from datetime import timedelta
from typing import Any

import pytest


@pytest.fixture
def crm_plugins():
    return ["callcenter"]


@pytest.fixture
def desk(cli):
    """A service desk set up as a new user would: calendar, SLA, team, agents, queues."""
    for args in (
        ("user", "add", "alice"), ("user", "add", "bob"), ("user", "add", "carol"), ("user", "add", "mike"),
        ("service", "calendar", "set", "--hours", "09:00-18:00", "--weekdays", "1-5", "--holiday", "2026-10-01"),
        ("service", "sla", "add", "--type", "complaint", "--priority", "high", "--first-response", "10m", "--resolve", "4h"),
        ("service", "team", "add", "投诉组", "--lead", "carol", "--manager", "mike"),
        ("service", "queue", "add", "投诉", "--skills", "投诉"),
        ("service", "queue", "add", "咨询", "--skills", "咨询"),
        ("service", "agent", "add", "alice", "--skills", "投诉,普通话", "--team", "投诉组"),
        ("service", "agent", "add", "bob", "--skills", "咨询,普通话", "--team", "投诉组"),
    ):
        result = cli(*args)
        assert result.exit_code == 0, result
    return cli


# -- the web pages (test_web*.py) ------------------------------------------------------------

AGENT = ("customers.view_all", "customers.edit", "callcenter.view", "callcenter.handle", "callcenter.kb_edit")


@pytest.fixture
def service_desk(web: Any, cli: Any) -> None:
    """Agents lily and bob (who log in), calendar round the clock so SLA
    clocks run whenever the tests do, a complaint SLA, a queue and a team."""
    web.user("lily", permissions=AGENT)
    web.user("bob", permissions=AGENT)
    for args in (
        ("service", "calendar", "set", "--hours", "00:00-23:59", "--weekdays", "1-7"),
        ("service", "sla", "add", "--type", "complaint", "--first-response", "1h", "--resolve", "8h"),
        ("service", "team", "add", "投诉组", "--lead", "bob"),
        ("service", "queue", "add", "投诉", "--skills", "投诉"),
        ("service", "agent", "add", "lily", "--skills", "投诉", "--team", "投诉组"),
        ("service", "agent", "add", "bob", "--skills", "投诉", "--team", "投诉组", "--state", "away"),
    ):
        result = cli(*args)
        assert result.exit_code == 0, result


def _open_ticket(crm: Any, customer_id: int, subject: str, *, hours_ago: float = 0, actor: str = "admin", **fields: Any) -> int:
    """A complaint opened ``hours_ago`` (its SLA clocks run from then)."""
    with crm.unit_of_work(actor=actor) as uow:
        at = uow.now - timedelta(hours=hours_ago)
        return uow.service("callcenter").open_ticket(customer_id, type=fields.pop("type", "complaint"), subject=subject,
                                                     at=at, **fields)["id"]


def form_token(html: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', html).group(1)


@pytest.fixture
def token_of() -> Any:
    """``token_of(html)`` → the page's form token."""
    return form_token


@pytest.fixture
def agent_permissions() -> tuple[str, ...]:
    return AGENT


@pytest.fixture
def open_ticket(crm: Any) -> Any:
    """``open_ticket(customer_id, subject, hours_ago=…, **fields)`` → the ticket's id."""
    return lambda *args, **fields: _open_ticket(crm, *args, **fields)
