from datetime import date, datetime, timezone

import jinja2
import pytest

from crmcore.testing import PluginConformance


class TestConformance(PluginConformance):
    plugin_name = "analytics"

    def test_templates_render(self, crm) -> None:
        """Every template renders in the web interface's environment, where
        the pages and the customer panel are rendered: the kit's check uses
        ``crm.templates``, which has none of its filters (``|money``,
        ``|number`` …) nor its context (``_``, ``can``, ``fmt``)."""
        pytest.importorskip("litestar")
        from crmcore import Panel
        from crmcore.web.i18n import LOCALE_NAMES, Formats
        from crmcore.web.site import Site

        from crm_analytics.panel import TEMPLATE, TITLE

        site = Site.build(crm)
        environment = site.environment.overlay(undefined=jinja2.ChainableUndefined)
        translations = site.catalogues.translations("zh_CN")
        scores = {"rfm_segment": "champions", "rfm_cell": "555", "recency_days": 3, "frequency": 9, "monetary": 900,
                  "abc_class": "A", "value_grade": "vip", "p_alive": 0.9, "churn_risk": 0.1, "expected_purchases": 4.2,
                  "expected_spend": 120.5, "clv": 506.1, "clv_percentile": 97.5, "horizon_weeks": 52.0,
                  "lifecycle_stage": "stability", "as_of": date(2024, 6, 30), "stale": True}
        context = {
            "_": lambda message, **values: translations.gettext(message) % values if values else translations.gettext(message),
            "fmt": Formats("zh_CN", crm.config.timezone), "can": lambda permission: True, "csrf_token": "", "csrf_field": "_csrf",
            "locale": "zh_CN", "locales": LOCALE_NAMES, "lang": "zh-CN", "nav": [], "path": "/analytics", "flash": "",
            "errors": {}, "form": {}, "user": None, "staff": {}, "page_number": 1, "has_next": False, "above": "70",
            "order": "value", "scored": True, "segment": "", "as_of": None,
            "panel": Panel("analytics", TITLE, scores, template=TEMPLATE),
            "model": {"fitted_at": datetime.now(timezone.utc), "period": {"from": None, "to": date(2024, 6, 30)},
                      "customers": 12, "repeat_customers": 11, "gamma_gamma": {}, "warnings": []},
        }
        names = [name for name in environment.list_templates() if name.startswith("analytics/")]
        assert TEMPLATE in names
        with crm.unit_of_work() as uow:
            customer = uow.customers.create(name="模板测试", phones=["13800000001"])
        for name in names:
            assert environment.get_template(name).render(customer=customer, crm=crm, **context).strip() or name.endswith(
                "labels.html"), name
