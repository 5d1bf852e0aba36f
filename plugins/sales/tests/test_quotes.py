"""Quotes: lines and discounts, versions, status, rendering, winning."""

from datetime import timedelta
from decimal import Decimal

import pytest

from crmcore import Conflict


@pytest.fixture
def deal(make, opp):
    customer = make.customer(name="上海明源地产有限公司", kind="organization", emails=["buyer@mingyuan.example"])
    return opp(customer.id, name="总部大楼项目", amount="500000", moves=[("proposal", 0)])


def add_quote(cli, deal, *lines, extra=()):
    result = cli("sales", "quote", "add", str(deal.id), *[a for line in lines for a in ("--line", line)], *extra, json=True)
    assert result.exit_code == 0, result
    return result.json


def test_lines_with_percent_and_chinese_discounts_total_to_the_cent(cli, deal):
    quote = add_quote(cli, deal, "服务器,2,48000,10%", "实施服务(人天),15,2500,9折", "培训,1,1999.99")
    assert [(l["product"], l["quantity"], l["discount"], l["amount"]) for l in quote["lines"]] == [
        ("服务器", "2", "10.00", "86400.00"), ("实施服务(人天)", "15", "10.00", "33750.00"), ("培训", "1", "0.00", "1999.99")]
    assert (quote["subtotal"], quote["discount_total"], quote["total"]) == ("135499.99", "13350.00", "122149.99")
    assert (quote["status"], quote["version"], quote["number"]) == ("draft", 1, quote["number"])
    assert quote["number"].startswith("Q") and quote["number"].endswith("-0001")


def test_products_may_contain_commas(cli, deal):
    quote = add_quote(cli, deal, "网线,超五类,100,3.5")
    assert (quote["lines"][0]["product"], quote["lines"][0]["quantity"], quote["total"]) == ("网线,超五类", "100", "350.00")


def test_bad_lines_are_refused_and_nothing_is_written(cli, deal):
    result = cli("sales", "quote", "add", str(deal.id), "--line", "服务器,2,48000,120%")
    assert result.exit_code == 1 and "discount: must be between 0% and 100%" in result.stderr
    result = cli("sales", "quote", "add", str(deal.id), "--line", "服务器,-1,48000")
    assert result.exit_code == 1 and "quantity: must be positive" in result.stderr
    assert cli("sales", "quote", "list", json=True).json == []


def test_lines_are_added_and_removed_on_drafts_only(cli, deal):
    quote = add_quote(cli, deal, "服务器,1,1000")
    changed = cli("sales", "quote", "line", str(quote["id"]), "--product", "安装", "--qty", "1", "--price", "200", json=True).json
    assert changed["total"] == "1200.00"
    assert cli("sales", "quote", "remove-line", str(quote["id"]), "1", json=True).json["total"] == "200.00"
    cli("sales", "quote", "send", str(quote["id"]))
    refused = cli("sales", "quote", "line", str(quote["id"]), "--product", "X", "--qty", "1", "--price", "1")
    assert refused.exit_code == 1 and "only a draft can change" in refused.stderr


def test_a_revision_is_a_new_version_and_supersedes_the_sent_one(cli, deal):
    quote = add_quote(cli, deal, "服务器,1,1000")
    cli("sales", "quote", "send", str(quote["id"]))
    revised = cli("sales", "quote", "revise", str(quote["id"]), json=True).json
    assert (revised["number"], revised["version"], revised["status"], revised["total"]) == (quote["number"], 2, "draft", "1000.00")
    assert cli("sales", "quote", "show", str(quote["id"]), json=True).json["status"] == "superseded"
    stale = cli("sales", "quote", "revise", str(quote["id"]))
    assert stale.exit_code == 1 and "revise the latest, version 2" in stale.stderr


def test_accepting_a_quote_wins_the_opportunity_at_the_quote_total(cli, crm, deal):
    first = add_quote(cli, deal, "服务器,1,1000")
    quote = add_quote(cli, deal, "服务器,10,48000,5%")
    cli("sales", "quote", "send", str(quote["id"]))
    accepted = cli("sales", "quote", "accept", str(quote["id"]), json=True)
    assert accepted.exit_code == 0, accepted
    assert accepted.json["status"] == "accepted"
    assert accepted.json["opportunity"] == {"id": deal.id, "stage": "won", "amount": "456000.00", "probability": 100}
    assert cli("sales", "quote", "show", str(first["id"]), json=True).json["status"] == "rejected"
    history = cli("sales", "opportunity", "history", str(deal.id), json=True).json
    assert history[-1]["to_stage"] == "won" and quote["number"] in history[-1]["note"]


def test_accepting_without_win_leaves_the_opportunity(cli, deal):
    quote = add_quote(cli, deal, "服务器,1,1000")
    accepted = cli("sales", "quote", "accept", str(quote["id"]), "--no-win", json=True).json
    assert accepted["opportunity"]["stage"] == "proposal"


def test_an_expired_quote_cannot_be_accepted(crm, cli, deal):
    quote = add_quote(cli, deal, "服务器,1,1000")
    from sqlalchemy import update

    from crm_sales.tables import quotes

    with crm.unit_of_work() as uow:
        uow.execute(update(quotes).where(quotes.c.id == quote["id"]).values(valid_until=uow.now.date() - timedelta(days=2)))
    result = cli("sales", "quote", "accept", str(quote["id"]))
    assert result.exit_code == 1 and "expired" in result.stderr


def test_validity_defaults_to_30_days_and_cannot_be_in_the_past(cli, crm, deal):
    quote = add_quote(cli, deal, "服务器,1,1000")
    with crm.unit_of_work() as uow:
        today = uow.service("sales").quotes.context(quote["id"])["today"]
    assert quote["valid_until"] == (today + timedelta(days=30)).isoformat()
    result = cli("sales", "quote", "add", str(deal.id), "--line", "服务器,1,1", "--valid-until", "2000-01-01")
    assert result.exit_code == 1 and "valid_until: 2000-01-01 is in the past" in result.stderr


def test_rejecting_keeps_the_reason_and_a_decided_quote_cannot_change(crm, cli, deal):
    quote = add_quote(cli, deal, "服务器,1,1000")
    rejected = cli("sales", "quote", "reject", str(quote["id"]), "--reason", "预算不足", json=True).json
    assert (rejected["status"], rejected["decision_note"]) == ("rejected", "预算不足")
    with crm.unit_of_work() as uow, pytest.raises(Conflict, match="only a draft or sent quote can be accepted"):
        uow.service("sales").quotes.accept(quote["id"])


def test_quotes_need_an_open_opportunity(cli, make, opp):
    won = opp(make.customer().id, moves=[("won", 0)])
    result = cli("sales", "quote", "add", str(won.id), "--line", "服务器,1,1000")
    assert result.exit_code == 1 and "reopen it before quoting" in result.stderr


def test_render_writes_html_from_the_template(cli, deal, tmp_path):
    quote = add_quote(cli, deal, "服务器<b>,2,48000,10%", extra=("--notes", "含税价"))
    target = tmp_path / "quote.html"
    result = cli("sales", "quote", "render", str(quote["id"]), "--output", str(target))
    assert result.exit_code == 0, result
    html = target.read_text(encoding="utf-8")
    assert "上海明源地产有限公司" in html and "总部大楼项目" in html and quote["number"] in html
    assert "¥86,400.00" in html and "含税价" in html and "服务器&lt;b&gt;" in html
    assert "<td class=\"num\">2</td>" in html and "10%" in html


def test_pdf_without_weasyprint_says_how_to_get_one(cli, deal, tmp_path):
    try:
        import weasyprint  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("WeasyPrint is installed")
    quote = add_quote(cli, deal, "服务器,1,1000")
    result = cli("sales", "quote", "render", str(quote["id"]), "--output", str(tmp_path / "q.pdf"))
    assert result.exit_code == 1 and "PDF needs WeasyPrint" in result.stderr and "browser" in result.stderr


def test_sending_by_email_queues_the_rendered_quote_once(cli, crm, deal):
    quote = add_quote(cli, deal, "服务器,1,1000")
    assert cli("sales", "quote", "send", str(quote["id"]), "--email").exit_code == 0
    with crm.unit_of_work() as uow:
        (message,) = uow.outbox.list()
    assert message.recipient == "buyer@mingyuan.example" and quote["number"] in message.subject
    assert "<html" in message.payload["html"] and message.customer_id == deal.customer_id


def test_totals_are_exact_decimals(crm, deal):
    with crm.unit_of_work() as uow:
        quote = uow.service("sales").quotes.add(deal.id, lines=[
            {"product": "A", "quantity": "3", "unit_price": "33.33", "discount": "33.33"}])
    assert (quote.subtotal, quote.total, quote.discount_total) == (Decimal("99.99"), Decimal("66.66"), Decimal("33.33"))
