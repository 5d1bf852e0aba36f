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
