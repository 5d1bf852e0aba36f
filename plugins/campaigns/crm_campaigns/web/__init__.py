"""The campaigns plugin's web pages, served under ``/campaigns/``: segments
with a live count, the campaign wizard with message preview, results with
funnel and ROI charts, and the customer panel's opt-outs."""

from __future__ import annotations

from typing import Any


def handlers() -> list[Any]:
    """Every page handler, for ``crm_register_pages``."""
    from crm_campaigns.web import campaigns, segments

    return [*segments.HANDLERS, *campaigns.HANDLERS]
