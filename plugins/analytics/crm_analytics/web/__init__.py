"""The analytics plugin's web interface: pages in :mod:`crm_analytics.web.pages`
(which loads Litestar), the sidebar entry here (cheap to import)."""

from crmcore.web.i18n import lazy

#: The sidebar entry: the RFM grid, with tabs to the CLV and churn pages.
NAVIGATION = {"path": "/analytics", "label": lazy("Customer value"), "permission": "analytics.view", "order": 600}
