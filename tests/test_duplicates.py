"""Duplicate candidates and the history of an archive."""


def test_duplicates_are_found_by_phone_email_and_organisation_name(cli, make):
    a = make.customer(name="张伟", phones=["13800138000"])
    b = make.customer(name="张小伟", phones=["+86 138 0013 8000"])
    c = make.customer(name="李娜", phones=["13900000001"], emails=["lina@example.com"])
    d = make.customer(name="李娜娜", phones=["13900000002"], emails=["LiNa@example.com"])
    e = make.customer(name="上海明源地产有限公司", kind="organization", phones=["021-55551234"])
    f = make.customer(name="上海明源地产股份有限公司", kind="organization", phones=["021-55559999"])
    make.customer(name="王芳", phones=["13900000003"])
    pairs = {(p["keep"], p["other"]): p["reasons"] for p in cli("customer", "duplicates", json=True).json}
    assert pairs == {
        (a.id, b.id): ["same phone 13800138000"],
        (c.id, d.id): ["same email lina@example.com"],
        (e.id, f.id): ["same name ignoring legal suffixes (上海明源地产)"],
    }


def test_persons_with_a_common_name_are_candidates_only_with_the_same_city_or_birthday(cli, make):
    make.customer(name="张伟", city="上海")
    make.customer(name="张伟", city="北京")
    assert cli("customer", "duplicates", json=True).json == []
    make.customer(name="张伟", city="上海")
    assert len(cli("customer", "duplicates", json=True).json) == 1


def test_history_lists_every_change_with_actor_time_and_fields(cli, make):
    customer = make.customer(city="北京")
    cli("customer", "edit", str(customer.id), "--city", "上海")
    cli("customer", "cancel", str(customer.id))
    cli("customer", "show", str(customer.id))
    history = cli("customer", "history", str(customer.id), json=True).json
    assert [h["action"] for h in history] == ["create", "update", "cancel", "view"]
    assert history[1]["changes"] == {"city": ["北京", "上海"]} and history[1]["actor"] == "admin"
