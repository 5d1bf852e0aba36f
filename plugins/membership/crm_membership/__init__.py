"""Member club (会员管理) for crmcore: join review, cards, tiers, an
append-only points ledger, redemption, events, alliance merchants and
member care."""
