"""A backup taken while points keep being posted restores with every
member's balance equal to the sum of their ledger (issue 12)."""

import threading

import pytest

from crmcore.app import CRM
from crmcore.backup import backup, restore
from crmcore.storage.engine import make_engine


@pytest.fixture
def target(crm, crm_test_databases, tmp_path):
    if crm_test_databases.is_postgres:
        url = crm_test_databases._new_url("restore")
        crm_test_databases._admin(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
    else:
        url = f"sqlite:///{tmp_path / 'restored.db'}"
    restored = CRM(make_engine(url), crm.plugins, crm.config)
    yield restored
    restored.close()
    crm_test_databases.drop(url)


def test_a_backup_under_load_restores_every_ledger_balance(crm, club, target, tmp_path):
    cards = [club.member()["card_number"] for _ in range(3)]
    stop, posted, errors = threading.Event(), [0], []

    def keep_posting():
        try:
            while not stop.is_set():
                card = cards[posted[0] % len(cards)]
                club.service(lambda s: s.points.add(card, 10 + posted[0] % 7, reason="活动奖励", key=f"load-{posted[0]}"))
                posted[0] += 1
        except Exception as error:  # reported below
            errors.append(error)

    writer = threading.Thread(target=keep_posting)
    writer.start()
    try:
        while posted[0] < 5 and writer.is_alive():
            stop.wait(0.01)
        backup(crm, tmp_path / "club.zip")
        seen = posted[0]
        while posted[0] < seen + 3 and writer.is_alive():
            stop.wait(0.01)
    finally:
        stop.set()
        writer.join()
    assert errors == []
    restore(target, tmp_path / "club.zip")
    with target.unit_of_work() as uow:
        service = uow.service("membership")
        assert service.ledger.check(deep=True) == []
        restored_total = sum(service.members.view(service.members.by_card(card)["id"])["reward_points"] for card in cards)
    with crm.unit_of_work() as uow:
        service = uow.service("membership")
        live_total = sum(service.members.view(service.members.by_card(card)["id"])["reward_points"] for card in cards)
    assert 0 < restored_total < live_total  # a snapshot from the middle of the writes, whole
