from datetime import date

import pytest

from crmcore.testing import PluginConformance


class TestConformance(PluginConformance):
    plugin_name = "analytics"


def test_the_customer_panel_shows_every_score_in_the_readers_language(crm):
    """The panel as the customer page renders it, with every score it can
    show: lifetime value and the mark of scores out of date included."""
    pytest.importorskip("litestar")
    from crmcore import Panel
    from crmcore.web.i18n import Formats
    from crmcore.web.site import Site

    from crm_analytics.panel import TEMPLATE, TITLE

    site = Site.build(crm)
    translations = site.catalogues.translations("zh_CN")
    scores = {"rfm_segment": "champions", "rfm_cell": "555", "recency_days": 3, "frequency": 9, "monetary": 900,
              "abc_class": "A", "value_grade": "vip", "p_alive": 0.9, "churn_risk": 0.1, "expected_purchases": 4.2,
              "expected_spend": 120.5, "clv": 506.1, "clv_percentile": 97.5, "horizon_weeks": 52.0,
              "lifecycle_stage": "stability", "as_of": date(2024, 6, 30), "stale": True}
    html = site.environment.get_template(TEMPLATE).render(
        panel=Panel("analytics", TITLE, scores, template=TEMPLATE), customer=None, can=lambda permission: True,
        _=lambda message, **values: translations.gettext(message) % values if values else translations.gettext(message),
        fmt=Formats("zh_CN", crm.config.timezone))
    assert '<a href="/analytics?segment=champions#members">冠军客户</a>' in html and "RFM 555" in html
    assert "<strong>¥506.10</strong>" in html and "稳定期" in html and '<span class="badge warn">待更新</span>' in html
