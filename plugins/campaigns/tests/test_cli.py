"""Every other command, in plain text and JSON, on one small campaign."""

from campaigns_helpers import write


def test_the_remaining_commands_print_tables_and_json(crm, make, cli, tmp_path):
    a = make.customer(name="张伟", city="上海", emails=["zw@example.com"], phones=["13800138000"])
    b = make.customer(name="李娜", city="上海", emails=["ln@example.com"])
    path = write(tmp_path / "seg.toml", '[[criteria]]\nfield = "city"\nvalue = "上海"\n')
    ok = lambda *args, json=False: _ok(cli(*args, json=json))  # noqa: E731
    ok("campaigns", "segment", "add", "上海", "--criteria", path, "--description", "上海客户")
    ok("campaigns", "segment", "edit", "上海", "--description", "上海的客户")
    assert "上海的客户" in ok("campaigns", "segment", "list").stdout
    assert "SELECT" in ok("campaigns", "segment", "show", "上海", "--sql").stdout
    ok("campaigns", "add", "春季促销", "--segment", "上海", "--channel", "email", "--goal", "拉新", "--start", "2026-01-01",
       "--end", "2099-12-31", "--budget", "1000")
    ok("campaigns", "edit", "春季促销", "--budget", "2000", "--throttle", "100")
    ok("campaigns", "template", "add", "春季促销", "--channel", "email", "--subject", "你好", "--body", "{{ customer.name }}")
    ok("campaigns", "step", "add", "春季促销", "--channel", "phone", "--after", "2d")
    ok("campaigns", "template", "add", "春季促销", "--channel", "phone", "--step", "2", "--body", "致电 {{ customer.name }}")
    assert "phone" in ok("campaigns", "step", "list", "春季促销").stdout
    assert "你好" in ok("campaigns", "template", "list", "春季促销").stdout
    assert "张伟" in ok("campaigns", "template", "preview", "春季促销", "--customer", str(a.id)).stdout
    shown = ok("campaigns", "show", "春季促销", json=True).json
    assert (shown["budget"], shown["throttle"], [s["channel"] for s in shown["steps"]]) == ("2000.00", 100, ["email", "phone"])
    assert "steps:" in ok("campaigns", "show", "春季促销").stdout
    ok("campaigns", "approve", "春季促销")
    assert "running" in ok("campaigns", "launch", "春季促销").stdout
    ok("campaigns", "run", "春季促销", "--step", "2")
    assert "张伟" in ok("campaigns", "calllist", "春季促销", "--step", "2").stdout
    assert "zw@example.com" in ok("campaigns", "messages", "春季促销").stdout
    ok("campaigns", "response", "春季促销", "--customer", str(a.id), "--type", "replied", "--note", "想了解详情")
    assert "replied" in ok("campaigns", "responses", "春季促销").stdout
    ok("campaigns", "cost", "add", "春季促销", "--amount", "300", "--description", "外呼", "--channel", "phone")
    assert "外呼" in ok("campaigns", "cost", "list", "春季促销").stdout
    assert "张伟" in ok("campaigns", "lead", "春季促销").stdout
    ok("campaigns", "optout", str(b.id), "--channel", "email", "--reason", "不需要")
    assert "李娜" in ok("campaigns", "optouts").stdout
    ok("campaigns", "optin", str(b.id), "--channel", "email")
    ok("campaigns", "blacklist", "add", str(b.id))
    assert "李娜" in ok("campaigns", "blacklist", "list").stdout
    ok("campaigns", "blacklist", "remove", str(b.id))
    assert "春季促销" in ok("campaigns", "compare", "--chart", str(tmp_path / "revenue.svg")).stdout
    assert (tmp_path / "revenue.svg").exists()
    assert "running" in ok("campaigns", "list").stdout
    ok("campaigns", "finish", "春季促销")
    assert ok("campaigns", "list", "--status", "finished", json=True).json[0]["name"] == "春季促销"
    assert ok("campaigns", "segment", "fields").stdout.count("rfm.") >= 5


def test_a_missing_campaign_is_exit_1_and_a_bad_option_exit_2(crm, cli):
    missing = cli("campaigns", "stats", "没有的活动")
    assert missing.exit_code == 1 and "campaign '没有的活动' not found" in missing.stderr
    assert cli("campaigns", "response", "x", "--customer", "1", "--type", "liked").exit_code == 2


def _ok(result):
    assert result.exit_code == 0, result
    return result
