"""Knowledge base: Chinese search of any length, tags, usage counts."""


def add(cli, title, body, *tags, category="报修"):
    args = ["service", "kb", "add", "--title", title, "--body", body, "--category", category]
    for tag in tags:
        args += ["--tag", tag]
    result = cli(*args, json=True)
    assert result.exit_code == 0, result
    return result.json


def test_chinese_search_matches_one_and_two_character_words(cli):
    leak = add(cli, "水管漏水处理", "关闭总阀，联系工程部上门维修。", "维修")
    add(cli, "账单查询", "按3进入自助查询。", "账单", category="咨询")
    assert [r["id"] for r in cli("service", "kb", "search", "漏", json=True).json] == [leak["id"]]
    assert [r["id"] for r in cli("service", "kb", "search", "维修", json=True).json] == [leak["id"]]
    assert [r["id"] for r in cli("service", "kb", "search", "工程部 上门", json=True).json] == [leak["id"]]
    assert cli("service", "kb", "search", "电梯", json=True).json == []


def test_tags_filter_and_title_hits_rank_first(cli):
    in_body = add(cli, "停车问题", "物业维修后车位恢复。", "停车")
    in_title = add(cli, "物业维修流程", "派单后两小时内上门。", "流程")
    assert [r["id"] for r in cli("service", "kb", "search", "物业维修", json=True).json] == [in_title["id"], in_body["id"]]
    assert [r["id"] for r in cli("service", "kb", "search", "--tag", "停车", json=True).json] == [in_body["id"]]


def test_using_a_solution_on_a_ticket_links_it_and_counts_once(desk, make):
    article = add(desk, "水管漏水处理", "关闭总阀。")
    customer = make.customer()
    ticket = desk("service", "ticket", "add", str(customer.id), "--type", "repair", "--subject", "漏水", json=True).json
    for _ in range(2):
        assert desk("service", "ticket", "use-solution", str(ticket["id"]), str(article["id"])).exit_code == 0
    shown = desk("service", "kb", "show", str(article["id"]), json=True).json
    assert shown["usage_count"] == 1 and shown["tickets"] == [ticket["id"]]
    assert desk("service", "ticket", "show", str(ticket["id"]), json=True).json["solutions"] == [{"id": article["id"], "title": "水管漏水处理"}]


def test_an_empty_title_is_refused(cli):
    result = cli("service", "kb", "add", "--title", " ", "--body", "x")
    assert result.exit_code == 1 and "title: must not be empty" in result.stderr
