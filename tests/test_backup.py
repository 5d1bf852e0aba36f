"""Backup and restore: consistent under load, verified row by row, schema
versions checked and upgraded."""

import json
import threading
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from crmcore.app import CRM
from crmcore.backup import BackupError, backup, read_manifest, restore
from crmcore.errors import PermissionDenied
from crmcore.storage import migrations
from crmcore.storage.engine import make_engine
from crmcore.storage.tables import activities, audit_log, customers


@pytest.fixture
def target(crm, crm_test_databases, tmp_path):
    """An empty database of the same kind to restore into, as a CRM with the same plugins."""
    if crm_test_databases.is_postgres:
        url = crm_test_databases._new_url("restore")
        crm_test_databases._admin(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
    else:
        url = f"sqlite:///{tmp_path / 'restored.db'}"
    restored = CRM(make_engine(url), crm.plugins, crm.config)
    yield restored
    restored.close()
    crm_test_databases.drop(url)


def rows(engine, table):
    with engine.connect() as connection:
        return {row["id"]: dict(row) for row in connection.execute(select(table)).mappings()}


def test_backup_taken_while_writes_continue_restores_every_row_intact(crm, make, target, tmp_path):
    for _ in range(5):
        make.activity(make.customer().id, "purchase", amount="10.00")
    stop, written, errors = threading.Event(), [0], []

    def keep_writing():
        try:
            while not stop.is_set():
                with crm.unit_of_work() as uow:
                    customer = uow.customers.create(name=f"并发客户{written[0]}", phones=[f"137{written[0]:08d}"])
                    uow.activities.log(customer.id, type="purchase", amount="99.90", subject="门店消费")
                    uow.activities.log(customer.id, type="purchase", amount="0.10", subject="找零")
                written[0] += 1
        except Exception as error:  # surfaced below
            errors.append(error)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while written[0] < 3 and writer.is_alive():
            stop.wait(0.01)
        manifest = backup(crm, tmp_path / "crm-backup.zip")
        seen_at_backup = written[0]
        while written[0] < seen_at_backup + 3 and writer.is_alive():  # writes go on after the backup too
            stop.wait(0.01)
    finally:
        stop.set()
        writer.join()
    assert errors == []
    done = restore(target, tmp_path / "crm-backup.zip")
    assert done["rows"] == sum(t["rows"] for t in manifest["tables"].values())

    live_customers, kept_customers = rows(crm.engine, customers), rows(target.engine, customers)
    assert len(kept_customers) == manifest["tables"]["customers"]["rows"] < len(live_customers)
    assert all(live_customers[i] == row for i, row in kept_customers.items())
    live_activities, kept_activities = rows(crm.engine, activities), rows(target.engine, activities)
    assert len(kept_activities) == manifest["tables"]["activities"]["rows"] and all(live_activities[i] == r for i, r in kept_activities.items())
    # every customer's purchases are whole: both activities of a unit of work, or neither
    balances = {}
    for row in kept_activities.values():
        balances[row["customer_id"]] = balances.get(row["customer_id"], 0) + row["amount"]
    assert {balances.get(i) for i in kept_customers if kept_customers[i]["name"].startswith("并发")} == {100}
    kept_audit = rows(target.engine, audit_log)
    assert len(kept_audit) == manifest["tables"]["audit_log"]["rows"]
    live_audit = rows(crm.engine, audit_log)
    assert all(live_audit[i] == entry for i, entry in kept_audit.items())


def test_manifest_records_plugins_and_schema_versions(crm, tmp_path):
    backup(crm, tmp_path / "b.zip")
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        names = set(archive.namelist())
    manifest = read_manifest(tmp_path / "b.zip")
    assert "manifest.json" in names and ({"crm.db", "crm.dump"} & names)
    heads = {s.head for s in crm.migration_status()}
    assert set(manifest["revisions"]) == heads and manifest["dialect"] == crm.engine.dialect.name
    assert manifest["tables"]["users"]["rows"] == 1 and "plugins" in manifest


def test_restore_refuses_a_backup_newer_than_the_code(crm, target, tmp_path):
    backup(crm, tmp_path / "b.zip")
    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(tmp_path / "b.zip") as source, zipfile.ZipFile(newer, "w") as copy:
        for item in source.namelist():
            data = source.read(item)
            if item == "manifest.json":
                manifest = json.loads(data)
                manifest["revisions"] = ["core_9999"]
                data = json.dumps(manifest).encode()
            copy.writestr(item, data)
    with pytest.raises(BackupError, match="newer than this code: revision core_9999"):
        restore(target, newer)
    with target.engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1  # nothing was written
    from sqlalchemy import inspect

    assert inspect(target.engine).get_table_names() == []


def test_restore_upgrades_an_older_backup(crm, make, target, tmp_path):
    make.customer(name="老数据")
    migrations.downgrade(crm.engine, crm.version_locations, "core_0001")
    assert backup(crm, tmp_path / "old.zip")["revisions"] == ["core_0001"]
    done = restore(target, tmp_path / "old.zip")
    assert done["upgraded"] and done["revisions_after"] == sorted(s.head for s in target.migration_status())
    with target.unit_of_work() as uow:
        (customer,) = uow.customers.list()
        assert customer.name == "老数据"
        assert uow.consents.allows(customer.id, "service", "email")  # core_0002's table and columns exist


def test_restore_refuses_a_database_that_holds_data_unless_forced(crm, make, tmp_path):
    backup(crm, tmp_path / "b.zip")
    with pytest.raises(BackupError, match="already holds tables"):
        restore(crm, tmp_path / "b.zip")


def test_a_damaged_backup_is_detected(crm, target, tmp_path):
    backup(crm, tmp_path / "b.zip")
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(tmp_path / "b.zip") as source, zipfile.ZipFile(damaged, "w") as copy:
        for item in source.namelist():
            data = source.read(item)
            if item == "manifest.json":
                manifest = json.loads(data)
                manifest["tables"]["users"]["rows"] = 2
                data = json.dumps(manifest).encode()
            copy.writestr(item, data)
    with pytest.raises(BackupError, match="differ from the backup's manifest: users"):
        restore(target, damaged)


def test_backup_needs_the_permission(crm, as_user, tmp_path):
    clerk = as_user("clerk")
    with pytest.raises(PermissionDenied, match="operations.backup"):
        backup(crm, tmp_path / "b.zip", actor=clerk)
    assert not (tmp_path / "b.zip").exists()


def test_cli_backup_and_restore(cli, crm, make, target, tmp_path):
    make.customer(name="王芳")
    assert cli("backup", tmp_path / "b.zip").exit_code == 0
    result = cli("restore", tmp_path / "b.zip", "--db", target.engine.url.render_as_string(hide_password=False))
    assert result.exit_code == 0, result
    assert "restored" in result.stdout
    with target.unit_of_work() as uow:
        assert [c.name for c in uow.customers.list()] == ["王芳"]
    again = cli("restore", tmp_path / "b.zip", "--db", target.engine.url.render_as_string(hide_password=False))
    assert again.exit_code == 1 and "--force" in again.stderr


def test_force_replaces_the_database_with_the_backup(crm, make, tmp_path):
    make.customer(name="备份前")
    backup(crm, tmp_path / "b.zip")
    make.customer(name="备份后")
    restore(crm, tmp_path / "b.zip", force=True)
    with crm.unit_of_work() as uow:
        assert [c.name for c in uow.customers.list()] == ["备份前"]
