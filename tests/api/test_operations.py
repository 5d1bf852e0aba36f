"""Operations endpoints: /healthz and Prometheus /metrics."""

from __future__ import annotations


def test_healthz_reports_every_check_and_is_200_when_healthy(serve, http):
    answer = http(serve()).get("/healthz")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert {"database", "migrations", "plugins", "outbox"} <= {c["name"] for c in body["checks"]}


def samples(text, name, status):
    """Sum of ``name`` samples with this status whose route names a customer id."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") and f'status="{status}"' in line and "{customer_id" in line)


def test_metrics_count_requests_by_route_and_status_and_show_the_outbox(crm, serve, http, token, make):
    with crm.unit_of_work() as uow:
        uow.outbox.put("file", "ops@example.com", "hello")
    customer = make.customer()
    server = serve()
    api, scraper = http(server, token()), http(server)
    before = scraper.get("/metrics").text
    api.get(f"/api/v1/customers/{customer.id}").raise_for_status()
    assert api.get("/api/v1/customers/999999").status_code == 404
    text = scraper.get("/metrics").text
    assert 'crm_outbox_messages{status="pending"} 1' in text
    for status in (200, 404):  # labelled by route template, not by raw path
        assert samples(text, "crm_http_requests_total", status) == samples(before, "crm_http_requests_total", status) + 1
    assert "crm_http_request_duration_seconds_bucket" in text and 'le="+Inf"' in text


def test_metrics_count_hook_errors_by_plugin(crm, serve, http, register_plugin):
    import pytest

    from crmcore import HookFailed, hookimpl

    class Broken:
        @hookimpl
        def crm_customer_created(self, customer):
            raise RuntimeError("boom")

    register_plugin(Broken(), "broken_hooks")
    with pytest.raises(HookFailed), crm.unit_of_work() as uow:
        uow.customers.create(name="张伟")
    assert 'crm_hook_errors_total{hook="crm_customer_created"' in http(serve()).get("/metrics").text
