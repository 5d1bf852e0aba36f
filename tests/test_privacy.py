"""A person's data: export, erasure (leaving no trace), legal hold, and the
plugins' part through crm_privacy_export / crm_privacy_erase."""

import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, Text, inspect, insert, select, text, update

import crmcore
from crmcore.errors import Conflict, HookFailed, PermissionDenied
from crmcore.privacy import ERASED, erase_person, export_person
from crmcore.storage.tables import activities, audit_log, customers, outbox

NAME, PHONE, EMAIL = "欧阳清扬", "13912345678", "ouyang.qy@example.com"
CONTACT_NAME, CONTACT_PHONE = "司马慧文", "13787654321"


def plugin_table():
    metadata = MetaData()
    return Table("loyalty_notes", metadata, Column("id", Integer, primary_key=True), Column("customer_id", Integer),
                 Column("caller", String(100)), Column("phone", String(40)), Column("minutes", Integer))


class LoyaltyPlugin:
    """A throwaway plugin holding personal data in its own table."""

    def __init__(self, table, fail=False):
        self.table, self.fail, self.erased = table, fail, []

    @crmcore.hookimpl
    def crm_privacy_export(self, uow, customer):
        rows = uow.execute(select(self.table).where(self.table.c.customer_id == customer.id)).mappings()
        return {"loyalty_notes": [dict(r) for r in rows]}

    @crmcore.hookimpl
    def crm_privacy_erase(self, uow, customer, reason):
        if self.fail:
            raise RuntimeError("loyalty store offline")
        self.erased.append((customer.id, customer.name, reason))
        uow.execute(update(self.table).where(self.table.c.customer_id == customer.id).values(caller=None, phone=None))


@pytest.fixture
def loyalty(crm, register_plugin):
    table = plugin_table()
    table.metadata.create_all(crm.engine)
    plugin = register_plugin(LoyaltyPlugin(table), name="loyalty")
    return plugin


@pytest.fixture
def person(crm, make):
    """One person with everything: contact, activities, consent, outbox, audit, search index."""
    customer = make.customer(name=NAME, phones=[PHONE], emails=[EMAIL], address="上海市浦东新区世纪大道100号",
                             notes=f"{NAME} 喜欢绿茶", birthday="1988-03-05", tags=["茶友"])
    make.contact(customer.id, name=CONTACT_NAME, phones=[CONTACT_PHONE], notes=f"{NAME}的太太")
    make.activity(customer.id, "purchase", subject=f"{NAME} 买了龙井", amount="288.50")
    make.activity(customer.id, "call", subject="回访", body=f"致电 {PHONE}，{NAME} 很满意")
    with crm.unit_of_work() as uow:
        uow.customers.update(customer.id, address="上海市徐汇区漕溪北路1号")
        uow.consents.grant(customer.id, "marketing", "email", evidence=f"{NAME} 签字表单")
        uow.outbox.put("email", EMAIL, f"{NAME}，您好", f"亲爱的{NAME}", customer_id=customer.id, purpose="marketing")
        uow.outbox.put("sms", PHONE, None, f"{NAME} 生日快乐", customer_id=customer.id, purpose="service")
    return customer


def add_loyalty_row(crm, loyalty, customer_id):
    with crm.unit_of_work() as uow:
        uow.execute(insert(loyalty.table).values(customer_id=customer_id, caller=NAME, phone=PHONE, minutes=7))


# -- export ----------------------------------------------------------------------------------


def test_export_holds_core_records_and_every_plugins_records(crm, person, loyalty, tmp_path, cli):
    add_loyalty_row(crm, loyalty, person.id)
    result = cli("privacy", "export", person.id, tmp_path / "p.json")
    assert result.exit_code == 0, result
    data = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    core = data["core"]
    assert core["customer"][0]["name"] == NAME and core["customer"][0]["phones"] == [PHONE]
    assert [c["name"] for c in core["contacts"]] == [CONTACT_NAME]
    assert sorted(a["type"] for a in core["activities"]) == ["call", "purchase"]
    assert [(c["purpose"], c["channel"], c["granted"]) for c in core["consents"]] == [("marketing", "email", True)]
    assert {m["recipient"] for m in core["outbox"]} == {EMAIL, PHONE}
    actions = {(e["entity"], e["action"]) for e in core["audit"]}
    assert {("customer", "create"), ("customer", "update"), ("contact", "create"), ("activity", "create"), ("customer", "consent")} <= actions
    assert data["plugins"] == {"loyalty": {"loyalty_notes": [{"id": 1, "customer_id": person.id, "caller": NAME, "phone": PHONE, "minutes": 7}]}}
    assert "张伟" not in json.dumps(data, ensure_ascii=False)  # nobody else's data


def test_export_as_zip_has_one_csv_per_kind(crm, person, loyalty, tmp_path, cli):
    add_loyalty_row(crm, loyalty, person.id)
    assert cli("privacy", "export", person.id, tmp_path / "p.zip").exit_code == 0
    with zipfile.ZipFile(tmp_path / "p.zip") as archive:
        names = set(archive.namelist())
        assert {"export.json", "core.customer.csv", "core.contacts.csv", "core.activities.csv", "core.consents.csv",
                "core.audit.csv", "core.outbox.csv", "loyalty.loyalty_notes.csv"} <= names
        loyalty_csv = archive.read("loyalty.loyalty_notes.csv").decode("utf-8-sig")
    assert loyalty_csv.splitlines()[1].endswith(f",{NAME},{PHONE},7")


def test_export_is_audited_and_needs_permission(crm, person, as_user):
    clerk = as_user("clerk", permissions=["customers.view", "customers.view_all"])
    with pytest.raises(PermissionDenied, match="privacy.export"):
        export_person(crm, person.id, actor=clerk)
    export_person(crm, person.id, actor="admin")
    with crm.unit_of_work() as uow:
        assert [e.actor for e in uow.audit.for_entity("customer", person.id) if e.action == "privacy_export"] == ["admin"]


# -- erasure ---------------------------------------------------------------------------------


def text_and_json_values(crm):
    """Every value of every text or JSON column of every table, as stored."""
    found = []
    with crm.engine.connect() as connection:
        for table_name in inspect(connection).get_table_names():
            columns = [c["name"] for c in inspect(connection).get_columns(table_name)
                       if isinstance(c["type"], (String, Text, JSON)) or "JSON" in str(c["type"]).upper() or "CHAR" in str(c["type"]).upper()
                       or "TEXT" in str(c["type"]).upper()]
            for column in columns:
                for (value,) in connection.exec_driver_sql(f'SELECT CAST("{column}" AS TEXT) FROM "{table_name}"'):
                    if value is not None:
                        found.append((table_name, column, value))
    return found


def forms(value):
    """A value as it may be stored: plain, and escaped inside JSON text."""
    return {value, json.dumps(value)[1:-1]}


def test_erasure_leaves_no_trace_in_any_table_nor_in_the_sqlite_file(crm, person, loyalty, cli):
    add_loyalty_row(crm, loyalty, person.id)
    with crm.unit_of_work() as uow:  # a notice to staff that names the person, not addressed to them
        uow.outbox.put("email", "agent@example.com", f"来电：{NAME}", f"{NAME}（{PHONE}）要求回电", payload={"caller": NAME})
    before = [(t, c) for t, c, v in text_and_json_values(crm) if any(f in v for f in forms(NAME))]
    assert {"customers", "contacts", "activities", "audit_log", "outbox", "consents", "loyalty_notes"} <= {t for t, _ in before}
    result = cli("privacy", "erase", person.id, "--reason", f"{NAME} 来电要求删除 (工单 77)", "--yes")
    assert result.exit_code == 0, result
    secrets = [NAME, PHONE, EMAIL, CONTACT_NAME, CONTACT_PHONE, "世纪大道", "漕溪北路"]
    leftovers = [(t, c, v[:80]) for t, c, v in text_and_json_values(crm) for s in secrets for f in forms(s) if f in v]
    assert leftovers == []
    if crm.engine.dialect.name == "sqlite":
        path = Path(crm.engine.url.database)
        raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        for secret in secrets:
            for form in forms(secret):
                assert form.encode("utf-8") not in raw, f"{secret!r} still in the database file"


def test_erasure_keeps_aggregates_and_records_who_and_why_without_values(crm, person):
    with crm.unit_of_work(actor="admin") as uow:
        erase_person(uow, person.id, f"{NAME} 书面申请")
    with crm.unit_of_work() as uow:
        amounts = uow.execute(select(activities.c.type, activities.c.amount).order_by(activities.c.id)).all()
        row = uow.execute(select(customers).where(customers.c.id == person.id)).mappings().one()
        (entry,) = [e for e in uow.audit.for_entity("customer", person.id) if e.action == "erase"]
        found = uow.customers.search(NAME, include_cancelled=True) + uow.customers.find_by_phone(PHONE) + uow.customers.find_by_email(EMAIL)
    assert [tuple(a) for a in amounts] == [("purchase", Decimal("288.50")), ("call", None)]
    assert row["name"] == ERASED and row["phones"] == [] and row["erased_at"] is not None and not row["active"]
    assert entry.actor == "admin" and entry.changes["reason"] == f"{ERASED} 书面申请" and entry.changes["contacts"] == 1
    assert found == []


def test_erasure_cancels_pending_messages_and_blocks_new_ones(crm, person):
    with crm.unit_of_work() as uow:
        erase_person(uow, person.id, "request")
    with crm.unit_of_work() as uow:
        assert {tuple(r) for r in uow.execute(select(outbox.c.status, outbox.c.recipient, outbox.c.body))} == {("cancelled", ERASED, None)}
        assert uow.outbox.put("sms", "13900000000", None, "x", customer_id=person.id, purpose="service") is None


def test_erasure_calls_every_plugin_and_a_failing_plugin_undoes_everything(crm, person, register_plugin):
    table = plugin_table()
    table.metadata.create_all(crm.engine)
    good = register_plugin(LoyaltyPlugin(table), name="loyalty")
    register_plugin(LoyaltyPlugin(table, fail=True), name="broken_store")
    with pytest.raises(HookFailed, match="broken_store"), crm.unit_of_work() as uow:
        erase_person(uow, person.id, "request")
    with crm.unit_of_work() as uow:
        assert uow.customers.get(person.id).name == NAME
    crm.plugins.unregister("broken_store")
    good.erased.clear()
    with crm.unit_of_work() as uow:
        erase_person(uow, person.id, "request 2")
    assert good.erased == [(person.id, NAME, "request 2")]


def test_erasure_reaches_plugins_disabled_for_the_actors_department(crm, person, loyalty, as_user, cli):
    dpo = as_user("dpo", permissions=["customers.view", "customers.view_all", "privacy.erase"], department="法务部")
    assert cli("plugins", "disable", "loyalty", "--department", "法务部").exit_code == 0
    add_loyalty_row(crm, loyalty, person.id)
    assert cli("privacy", "erase", person.id, "--reason", "request", "--yes", as_="dpo").exit_code == 0
    assert [e[0] for e in loyalty.erased] == [person.id]


def test_erasure_needs_the_permission(crm, person, as_user, cli):
    editor = as_user("editor", permissions=["customers.view", "customers.view_all", "customers.edit"])
    result = cli("privacy", "erase", person.id, "--reason", "request", "--yes", as_=editor)
    assert result.exit_code == 1 and "privacy.erase" in result.stderr
    with crm.unit_of_work() as uow:
        assert uow.customers.get(person.id).name == NAME


def test_legal_hold_refuses_erasure_until_lifted(crm, person, cli):
    assert cli("privacy", "hold", person.id, "--on", "--reason", "诉讼 (2025)沪01民初1号").exit_code == 0
    refused = cli("privacy", "erase", person.id, "--reason", "request", "--yes")
    assert refused.exit_code == 1 and "legal hold" in refused.stderr
    with crm.unit_of_work() as uow:
        assert uow.customers.get(person.id).name == NAME
    assert cli("privacy", "hold", person.id, "--off").exit_code == 0
    assert cli("privacy", "erase", person.id, "--reason", "request", "--yes").exit_code == 0
    again = cli("privacy", "erase", person.id, "--reason", "request", "--yes")
    assert again.exit_code == 1 and "already erased" in again.stderr


def test_erasure_includes_records_merged_into_the_customer(crm, person, make):
    duplicate = make.customer(name=NAME, phones=["13911112222"], emails=["old.ouyang@example.com"])
    with crm.unit_of_work() as uow:
        uow.customers.merge(person.id, duplicate.id)
    with crm.unit_of_work() as uow:
        with pytest.raises(Conflict, match=f"merged into customer {person.id}"):
            erase_person(uow, duplicate.id, "request")
    with crm.unit_of_work() as uow:
        done = erase_person(uow, person.id, "request")
        names = uow.execute(select(customers.c.name).where(customers.c.id.in_([person.id, duplicate.id]))).scalars().all()
        audit_text = json.dumps([list(r) for r in uow.execute(select(audit_log.c.changes))], ensure_ascii=False)
    assert done["customer_ids"] == [person.id, duplicate.id] and names == [ERASED, ERASED]
    assert "13911112222" not in audit_text and "old.ouyang@example.com" not in audit_text and NAME not in audit_text


def test_erasure_leaves_other_customers_alone(crm, person, make):
    other = make.customer(name="张伟", phones=["13800138000"], emails=["zhangwei@example.com"], notes="老客户")
    with crm.unit_of_work() as uow:
        erase_person(uow, person.id, "request")
    with crm.unit_of_work() as uow:
        kept = uow.customers.get(other.id)
        history = uow.audit.for_entity("customer", other.id)
        assert [c.id for c in uow.customers.search("张伟")] == [other.id]
    assert (kept.name, kept.phones, kept.emails, kept.notes) == ("张伟", ["13800138000"], ["zhangwei@example.com"], "老客户")
    assert history[0].changes["name"] == [None, "张伟"]


# -- plugins' compliance -------------------------------------------------------------------------


class ExportOnly:
    @crmcore.hookimpl
    def crm_privacy_export(self, uow, customer):
        return None


class Silent:
    @crmcore.hookimpl
    def crm_customer_created(self, uow, customer):
        pass


class NoPersonalData:
    CRM_HOLDS_NO_PERSONAL_DATA = True

    @crmcore.hookimpl
    def crm_customer_created(self, uow, customer):
        pass


def test_privacy_check_names_plugins_missing_the_hooks(cli, loyalty, register_plugin):
    assert cli("privacy", "check").exit_code == 0
    register_plugin(ExportOnly(), name="half")
    register_plugin(Silent(), name="silent")
    register_plugin(NoPersonalData(), name="weather")
    result = cli("privacy", "check")
    assert result.exit_code == 1
    assert "half: does not implement crm_privacy_erase" in result.stdout
    assert "silent: does not implement crm_privacy_export nor crm_privacy_erase" in result.stdout
    assert "loyalty: ok" in result.stdout and "weather: ok" in result.stdout
    rows = {r["plugin"]: r["ok"] for r in cli("privacy", "check", json=True).json}
    assert rows == {"loyalty": True, "half": False, "silent": False, "weather": True}


class WritesDuringExport:
    """While the export runs, another transaction logs an activity for the
    person; the export must not see it anywhere: one snapshot."""

    def __init__(self, crm):
        self.crm = crm

    @crmcore.hookimpl
    def crm_privacy_export(self, uow, customer):
        with self.crm.unit_of_work() as other:
            other.activities.log(customer.id, type="note", subject="written during the export")
        seen = uow.execute(select(activities.c.id).where(activities.c.customer_id == customer.id)).scalars().all()
        return {"activities_seen": [{"id": i} for i in seen]}


def test_export_reads_one_snapshot_while_others_write(crm, person, register_plugin):
    register_plugin(WritesDuringExport(crm), name="busy")
    data = export_person(crm, person.id)
    assert [a["id"] for a in data["core"]["activities"]] == [r["id"] for r in data["plugins"]["busy"]["activities_seen"]]
    with crm.unit_of_work() as uow:
        assert len(uow.activities.list(person.id)) == len(data["core"]["activities"]) + 1
