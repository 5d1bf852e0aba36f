"""What plugins use to take a person out of the core's tables on erasure:
``uow.audit.scrub`` (earlier audit entries, during an erasure only) and
``uow.outbox.withdraw`` / ``uow.outbox.scrub`` (messages they queued)."""

import pytest
from sqlalchemy import select

import crmcore
from crmcore.errors import Conflict, HookFailed, ValidationError
from crmcore.privacy import ERASED, erase_person
from crmcore.storage.tables import audit_log, outbox

NAME, PHONE = "慕容秋雨", "13911112222"


def redact_note(changes):
    return {**changes, "note": ERASED} if changes.get("note") else changes


class NotesPlugin:
    """A throwaway plugin that, on erasure, scrubs its own audit entries on
    the notes it names and withdraws or rewrites the messages it names."""

    def __init__(self, note_ids, *, mentioning=None, entity="loyalty_note", withdraw=(), rewrite=(), fail=False):
        self.note_ids, self.mentioning, self.entity = note_ids, mentioning, entity
        self.withdraw, self.rewrite, self.fail = withdraw, rewrite, fail
        self.seen, self.done = [], {}

    def replace(self, changes):
        self.seen.append(changes)
        return redact_note(changes)

    @crmcore.hookimpl
    def crm_privacy_erase(self, uow, customer, reason):
        self.done["audit"] = uow.audit.scrub({self.entity: self.note_ids}, self.replace, mentioning=self.mentioning)
        self.done["withdrawn"] = uow.outbox.withdraw(self.withdraw, reason="withdrawn by loyalty")
        self.done["rewritten"] = uow.outbox.scrub(self.rewrite, lambda m: {"body": m.body.replace(NAME, ERASED)})
        if self.fail:
            raise RuntimeError("loyalty store offline")


@pytest.fixture
def person(make):
    return make.customer(name=NAME, phones=[PHONE])


def record(crm, entity, entity_id, changes):
    with crm.unit_of_work() as uow:
        uow.audit.record(entity, entity_id, "update", changes)
    with crm.unit_of_work() as uow:
        return uow.execute(select(audit_log.c.id).order_by(audit_log.c.id.desc()).limit(1)).scalar_one()


def entries(crm):
    with crm.unit_of_work() as uow:
        return {row.id: row for row in uow.execute(select(audit_log))}


def put(crm, customer_id, recipient, body):
    with crm.unit_of_work() as uow:
        return uow.outbox.put("email", recipient, "通知", body, customer_id=customer_id).id


def messages(crm):
    with crm.unit_of_work() as uow:
        return {row.id: row for row in uow.execute(select(outbox))}


def erase(crm, customer_id):
    with crm.unit_of_work() as uow:
        return erase_person(uow, customer_id, "本人要求删除")


# -- the audit trail --------------------------------------------------------------------------


def test_scrub_rewrites_only_the_changes_of_the_named_entries_and_the_erasure_counts_them(crm, person, register_plugin):
    mine = record(crm, "loyalty_note", 1, {"note": f"{NAME} 投诉", "points": [10, 20]})
    no_note = record(crm, "loyalty_note", 2, {"points": [20, 30]})
    not_named = record(crm, "loyalty_note", 3, {"note": "别人的备注"})
    other_entity = record(crm, "loyalty_card", 1, {"note": "卡片备注"})
    plugin = register_plugin(NotesPlugin([1, 2]), name="loyalty")
    before = entries(crm)

    done = erase(crm, person.id)

    after = entries(crm)
    assert plugin.done["audit"] == 1
    assert after[mine].changes == {"note": ERASED, "points": [10, 20]}
    assert (after[mine].at, after[mine].actor, after[mine].entity, after[mine].entity_id, after[mine].action) == (
        before[mine].at, before[mine].actor, before[mine].entity, before[mine].entity_id, before[mine].action)
    for untouched in (no_note, not_named, other_entity):
        assert after[untouched].changes == before[untouched].changes
    # the erasure's own entry counts every entry rewritten, the plugin's and the core's
    rewritten = [i for i in before if after[i].changes != before[i].changes]
    assert mine in rewritten and done["audit_entries_scrubbed"] == len(rewritten)


def test_scrub_of_every_entry_of_an_entity_visits_only_those_mentioning_the_texts(crm, person, register_plugin):
    quoting = record(crm, "loyalty_note", 7, {"note": f"客户 {NAME} 来电", "rule": f"name eq {NAME}"})
    quoting_in_quotes = record(crm, "loyalty_note", 8, {"note": f'他说 "{NAME}"'})
    unrelated = record(crm, "loyalty_note", 9, {"note": "例行检查"})
    plugin = register_plugin(NotesPlugin(None, mentioning=[NAME, "", PHONE]), name="loyalty")

    erase(crm, person.id)

    after = entries(crm)
    assert after[quoting].changes["note"] == after[quoting_in_quotes].changes["note"] == ERASED
    assert after[unrelated].changes == {"note": "例行检查"}
    assert {"note": "例行检查"} not in plugin.seen
    assert len(plugin.seen) == 2


def test_scrub_outside_an_erasure_is_refused_the_trail_stays_append_only(crm, person):
    entry = record(crm, "loyalty_note", 1, {"note": f"{NAME} 投诉"})
    with pytest.raises(Conflict, match="append-only"):
        with crm.unit_of_work() as uow:
            uow.audit.scrub({"loyalty_note": [1]}, redact_note)
    with pytest.raises(Conflict, match="append-only"):
        with crm.unit_of_work() as uow:
            uow.audit.scrub({"loyalty_note": []}, redact_note)
    assert entries(crm)[entry].changes == {"note": f"{NAME} 投诉"}


def test_scrub_refused_again_once_the_erasure_is_over_in_the_same_unit_of_work(crm, person, register_plugin):
    register_plugin(NotesPlugin([1]), name="loyalty")
    entry = record(crm, "loyalty_note", 1, {"note": "东方未明的备注"})
    with crm.unit_of_work() as uow:
        erase_person(uow, person.id, "本人要求删除")
        with pytest.raises(Conflict):
            uow.audit.scrub({"loyalty_note": [1]}, redact_note)
    assert entries(crm)[entry].changes == {"note": ERASED}  # scrubbed during the erasure, by the plugin


def test_scrub_names_a_bad_entity(crm, person, register_plugin):
    register_plugin(NotesPlugin([1], entity=" "), name="loyalty")
    with pytest.raises(ValidationError) as error:
        erase(crm, person.id)
    assert "entity" in str(error.value)


# -- the outbox -------------------------------------------------------------------------------


def test_withdraw_cancels_only_pending_messages_and_scrub_rewrites_only_their_content(crm, person, register_plugin):
    pending = put(crm, None, "staff@example.com", f"请回访 {NAME}")
    sent = put(crm, None, "boss@example.com", f"{NAME} 已回访")
    untouched = put(crm, None, "other@example.com", f"请回访 {NAME}")
    with crm.unit_of_work() as uow:
        uow.execute(outbox.update().where(outbox.c.id == sent).values(status="sent"))
    plugin = register_plugin(NotesPlugin([], withdraw=[pending, sent], rewrite=[pending, sent]), name="loyalty")

    erase(crm, person.id)

    after = messages(crm)
    assert plugin.done == {"audit": 0, "withdrawn": 1, "rewritten": 2}
    assert (after[pending].status, after[pending].error) == ("cancelled", "withdrawn by loyalty")
    assert after[sent].status == "sent" and after[sent].error is None
    assert after[pending].body == "请回访 " + ERASED and after[sent].body == ERASED + " 已回访"
    assert after[pending].recipient == "staff@example.com" and after[pending].subject == "通知"
    # the core's own erasure finds the mention too; the plugin's withdrawal is the plugin's
    assert after[untouched].status == "pending" and NAME not in after[untouched].body


def test_outbox_scrub_refuses_fields_other_than_the_content(crm, person):
    message = put(crm, person.id, "x@example.com", "正文")
    with pytest.raises(ValidationError) as error:
        with crm.unit_of_work() as uow:
            uow.outbox.scrub([message], lambda m: {"body": None, "recipient": ERASED})
    assert "recipient" in str(error.value)
    with pytest.raises(ValidationError) as error:
        with crm.unit_of_work() as uow:
            uow.outbox.withdraw([message], reason=" ")
    assert "reason" in str(error.value)
    assert (messages(crm)[message].body, messages(crm)[message].status) == ("正文", "pending")


def test_outbox_scrub_writes_nothing_a_replace_leaves_equal(crm):
    message = put(crm, None, "x@example.com", "正文")
    with crm.unit_of_work() as uow:
        assert uow.outbox.scrub([message], lambda m: {"body": m.body, "payload": m.payload}) == 0
        assert uow.outbox.scrub([message], lambda m: {}) == 0
        assert uow.outbox.withdraw([], reason="none") == 0


# -- one transaction --------------------------------------------------------------------------


def test_a_failing_erasure_rolls_back_what_the_plugins_scrubbed_and_withdrew(crm, person, register_plugin):
    entry = record(crm, "loyalty_note", 1, {"note": f"{NAME} 投诉"})
    message = put(crm, None, "staff@example.com", f"请回访 {NAME}")
    plugin = register_plugin(NotesPlugin([1], withdraw=[message], rewrite=[message], fail=True), name="loyalty")

    with pytest.raises(HookFailed, match="loyalty"):
        erase(crm, person.id)

    assert plugin.done == {"audit": 1, "withdrawn": 1, "rewritten": 1}  # done, then undone
    assert entries(crm)[entry].changes == {"note": f"{NAME} 投诉"}
    assert (messages(crm)[message].status, messages(crm)[message].body) == ("pending", f"请回访 {NAME}")
    with crm.unit_of_work() as uow:
        assert uow.customers.get(person.id).name == NAME


# -- the REST API -----------------------------------------------------------------------------


def test_the_rest_api_offers_no_way_to_edit_the_audit_trail(crm, person):
    from litestar.testing import TestClient

    from crmcore.api import create_app
    from crmcore.tokens import TokenService

    app = create_app(crm)
    writable = [(route.path, sorted(route.methods - {"GET", "HEAD", "OPTIONS"})) for route in app.routes
                if {"POST", "PUT", "PATCH", "DELETE"} & set(getattr(route, "methods", ()))]
    assert writable  # the API does write customers
    assert not [path for path, _ in writable if "audit" in path or "history" in path]

    with crm.unit_of_work() as uow:
        uow.customers.update(person.id, address="北京市海淀区")
        token = TokenService(uow).create("admin", ("*",))[1]
    before = entries(crm)
    with TestClient(app=app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        path = f"/api/v1/customers/{person.id}/history"
        assert client.get(path).status_code == 200
        for method in ("PUT", "PATCH", "DELETE", "POST"):
            assert client.request(method, path, json={"changes": {}}).status_code == 405
    after = entries(crm)
    assert {i: e.changes for i, e in before.items()} == {i: e.changes for i, e in after.items() if i in before}
