"""Key persons and the relationship map, per customer and per opportunity."""

import pytest


@pytest.fixture
def account(crm, as_user, make, org):
    as_user("alice", permissions=["customers.view", "sales.edit"])
    with crm.unit_of_work() as uow:
        alice = uow.users.find("alice")
    customer = org()
    people = {
        "boss": make.contact(customer.id, name="贾明", title="总经理", decision_role="decision_maker", relationship="negative", staff_id=alice.id),
        "buyer": make.contact(customer.id, name="卢平", title="采购经理", decision_role="buyer", relationship="positive", staff_id=alice.id),
        "engineer": make.contact(customer.id, name="李敏", title="IT工程师", decision_role="user", relationship="none"),
    }
    return customer, people


def test_the_customer_map_lists_roles_relationships_and_our_staff(cli, account):
    customer, people = account
    data = cli("sales", "keypersons", str(customer.id), json=True).json
    assert [(p["name"], p["decision_role_label"], p["relationship_label"], p["staff"]) for p in data["key_persons"]] == [
        ("贾明", "决策者", "消极", "alice"), ("卢平", "采购者", "积极", "alice"), ("李敏", "使用者", "尚未建立关系", None)]
    assert data["relationships"] == {"positive": 1, "neutral": 0, "negative": 1, "none": 1}
    assert any("决策者 贾明" in w for w in data["warnings"]) and any("李敏 无我方对接人" in w for w in data["warnings"])


def test_the_map_is_drawn_as_svg(cli, account, tmp_path):
    customer, _ = account
    target = tmp_path / "map.svg"
    result = cli("sales", "keypersons", str(customer.id), "--chart", str(target))
    assert result.exit_code == 0, result
    svg = target.read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "贾明" in svg and "我方 alice" in svg and "#d9534f" in svg  # negative in red
    assert svg.count("<line") >= 5  # three to the customer, two to our staff


def test_an_opportunitys_map_shows_its_marked_key_persons(cli, account, opp):
    customer, people = account
    deal = opp(customer.id)
    assert len(cli("sales", "keypersons", "--opportunity", str(deal.id), json=True).json["key_persons"]) == 3
    assert cli("sales", "opportunity", "keyperson", str(deal.id), str(people["buyer"].id)).exit_code == 0
    data = cli("sales", "keypersons", "--opportunity", str(deal.id), json=True).json
    assert (data["opportunity_id"], [p["name"] for p in data["key_persons"]]) == (deal.id, ["卢平"])
    assert "未识别决策者 (no decision maker identified)" in data["warnings"]


def test_only_the_customers_contacts_can_be_key_persons_of_its_deal(cli, account, make, opp, org):
    customer, _ = account
    other = org(name="别家公司")
    stranger = make.contact(other.id, name="外人")
    deal = opp(customer.id)
    result = cli("sales", "opportunity", "keyperson", str(deal.id), str(stranger.id))
    assert result.exit_code == 1 and f"contact {stranger.id} is not a contact of customer {customer.id}" in result.stderr


def test_keypersons_needs_a_customer_or_an_opportunity(cli):
    assert cli("sales", "keypersons").exit_code == 2


def test_a_person_customer_gets_a_warning(cli, make):
    person = make.customer(kind="person")
    data = cli("sales", "keypersons", str(person.id), json=True).json
    assert data["key_persons"] == [] and any("个人" in w for w in data["warnings"])
