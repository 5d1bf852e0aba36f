"""`crm doctor` and crmcore.health.check: what is wrong, said plainly, exit 1."""

from datetime import timedelta

from sqlalchemy import update

from crmcore.app import CRM
from crmcore.health import FAIL, OK, WARN, check, healthy
from crmcore.storage import migrations
from crmcore.storage.engine import make_engine
from crmcore.storage.tables import outbox


def by_name(checks):
    return {c.name: c for c in checks}


def test_a_fresh_crm_is_healthy(crm, cli):
    checks = check(crm)
    assert healthy(checks) and {c.status for c in checks} == {OK}
    expected = {"database", "migrations", "plugins", "outbox"} | ({"sqlite"} if crm.engine.dialect.name == "sqlite" else set())
    assert set(by_name(checks)) == expected
    result = cli("doctor")
    assert result.exit_code == 0 and "migrations" in result.stdout
    assert {row["name"]: row["status"] for row in cli("doctor", json=True).json}["database"] == "ok"


def test_an_unreachable_database_fails(crm, tmp_path):
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none" if crm.engine.dialect.name == "postgresql" else f"sqlite:///{tmp_path}"  # a folder: exists, cannot be opened
    broken = CRM(make_engine(url), crm.plugins, crm.config)
    checks = check(broken)
    assert [(c.name, c.status) for c in checks] == [("database", FAIL)] and "cannot reach" in checks[0].detail


def test_a_missing_sqlite_file_is_reported_not_created(crm, tmp_path):
    if crm.engine.dialect.name != "sqlite":
        return
    missing = tmp_path / "typo.db"
    checks = check(CRM(make_engine(f"sqlite:///{missing}"), crm.plugins, crm.config))
    assert [(c.name, c.status) for c in checks] == [("database", FAIL)] and "no database file" in checks[0].detail
    assert not missing.exists()


def test_pending_migrations_fail(crm, cli):
    migrations.downgrade(crm.engine, crm.version_locations, "core_0001")
    found = by_name(check(crm))["migrations"]
    assert found.status == FAIL and "core core_0001" in found.detail and "crm db upgrade" in found.detail
    assert cli("doctor").exit_code == 1


def test_broken_plugins_fail_naming_them(crm):
    from crmcore.plugins import PluginInfo

    crm.plugins.infos["shaky"] = PluginInfo(name="shaky", error="cannot import crm_shaky.plugin: ImportError: no module")
    try:
        found = by_name(check(crm))["plugins"]
    finally:
        del crm.plugins.infos["shaky"]
    assert found.status == FAIL and "shaky: cannot import" in found.detail


def test_stuck_outbox_messages_fail_and_failed_ones_warn(crm, make):
    customer = make.customer()
    with crm.unit_of_work() as uow:
        fresh = uow.outbox.put("sms", "13900000001", None, "a", customer_id=customer.id)
        retried = uow.outbox.put("sms", "13900000002", None, "b", customer_id=customer.id)
        old = uow.outbox.put("sms", "13900000003", None, "c", customer_id=customer.id)
        dead = uow.outbox.put("sms", "13900000004", None, "d", customer_id=customer.id)
        uow.execute(update(outbox).where(outbox.c.id == retried.id).values(attempts=5))
        uow.execute(update(outbox).where(outbox.c.id == old.id).values(created_at=uow.now - timedelta(days=2)))
        uow.execute(update(outbox).where(outbox.c.id == dead.id).values(status="failed"))
    found = by_name(check(crm))["outbox"]
    assert found.status == FAIL and found.data == {"pending": 3, "stuck": 2, "failed": 1, "oldest_pending_seconds": found.data["oldest_pending_seconds"]}
    assert found.data["oldest_pending_seconds"] >= 2 * 86400
    with crm.unit_of_work() as uow:
        uow.execute(update(outbox).where(outbox.c.id.in_([retried.id, old.id])).values(status="sent"))
    found = by_name(check(crm))["outbox"]
    assert found.status == WARN and "1 failed" in found.detail and fresh.id


def test_sqlite_traps_are_probed(crm):
    if crm.engine.dialect.name != "sqlite":
        return
    found = by_name(check(crm))["sqlite"]
    assert found.data["fts5"] and found.data["json"] and found.data["secure_delete"]
    assert found.data["journal_mode"] == "wal"
