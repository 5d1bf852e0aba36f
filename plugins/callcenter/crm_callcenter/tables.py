"""The call center's tables, all prefixed ``callcenter_``.

Times are UTC (``UTCDateTime``); durations are whole seconds. SLA targets are
working minutes, measured on the business calendar kept in
``callcenter_settings``.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from crmcore import Id, Json, UTCDateTime, metadata

settings = Table(
    "callcenter_settings",
    metadata,
    Column("key", String(60), primary_key=True),
    Column("value", Json, nullable=False),
)

ticket_types = Table(
    "callcenter_ticket_types",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("label", String(60), nullable=False),
    Column("label_en", String(60)),
    Column("position", Integer, nullable=False),
)

teams = Table(
    "callcenter_teams",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("lead_id", Id, ForeignKey("users.id")),
    Column("manager_id", Id, ForeignKey("users.id")),
)

agents = Table(
    "callcenter_agents",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("skills", Json, nullable=False),  # {skill: level 1-5}
    Column("team_id", Id, ForeignKey("callcenter_teams.id")),
    Column("email", String(200)),
    Column("state", String(20), nullable=False),  # available, busy, after_call_work, away, offline
    Column("state_since", UTCDateTime, nullable=False),
    Column("idle_since", UTCDateTime),  # when the agent last became available: longest idle first
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

agent_sessions = Table(
    "callcenter_agent_sessions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("source", String(60), nullable=False),
    Index("ix_callcenter_agent_sessions_user_started", "user_id", "started_at"),
)

queues = Table(
    "callcenter_queues",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("skills", Json, nullable=False),  # {skill: minimum level}
    Column("priority", Integer, nullable=False),
    Column("service_level_seconds", Integer, nullable=False),
    Column("wrap_up_seconds", Integer, nullable=False),
    Column("description", String(300)),
)

ivr_menus = Table(
    "callcenter_ivr_menus",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("definition", Json, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

sla_policies = Table(
    "callcenter_sla_policies",
    metadata,
    Column("id", Id, primary_key=True),
    Column("ticket_type", String(40)),  # NULL: any type
    Column("priority", String(20)),  # NULL: any priority
    Column("first_response_minutes", Integer),
    Column("resolve_minutes", Integer),
    Column("warn_percent", Integer, nullable=False),
    Column("escalate_after_minutes", Integer, nullable=False),
    UniqueConstraint("ticket_type", "priority"),
)

tickets = Table(
    "callcenter_tickets",
    metadata,
    Column("id", Id, primary_key=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False),
    Column("contact_id", Id, ForeignKey("contacts.id")),
    Column("type", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("priority", String(20), nullable=False),
    Column("category", String(100)),
    Column("subject", String(300), nullable=False),
    Column("description", Text),
    Column("status", String(30), nullable=False),
    Column("is_open", Boolean, nullable=False),
    Column("assignee_id", Id, ForeignKey("users.id")),
    Column("team_id", Id, ForeignKey("callcenter_teams.id")),
    Column("created_by", Id, ForeignKey("users.id")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("first_response_at", UTCDateTime),
    Column("resolved_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("reopen_count", Integer, nullable=False),
    Column("sla_policy_id", Id, ForeignKey("callcenter_sla_policies.id")),
    Column("first_response_warn_at", UTCDateTime),
    Column("first_response_due", UTCDateTime),
    Column("resolve_warn_at", UTCDateTime),
    Column("resolve_due", UTCDateTime),
    Column("first_response_breached", Boolean),
    Column("resolve_breached", Boolean),
    Column("paused_at", UTCDateTime),
    Column("paused_seconds", Integer, nullable=False),
    Column("first_response_escalation", Integer, nullable=False),  # -1 none, 0 agent warned, 1 team lead, 2 manager
    Column("resolve_escalation", Integer, nullable=False),
    Index("ix_callcenter_tickets_customer_open", "customer_id", "is_open"),
    Index("ix_callcenter_tickets_open_type", "is_open", "type"),
    Index("ix_callcenter_tickets_assignee_open", "assignee_id", "is_open"),
    Index("ix_callcenter_tickets_created", "created_at"),
    Index("ix_callcenter_tickets_resolved", "resolved_at"),
)

ticket_events = Table(
    "callcenter_ticket_events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("ticket_id", Id, ForeignKey("callcenter_tickets.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_id", Id, ForeignKey("users.id")),
    Column("event", String(30), nullable=False),
    Column("from_status", String(30)),
    Column("to_status", String(30)),
    Column("body", Text),
    Column("internal", Boolean, nullable=False),
    Column("data", Json, nullable=False),
    Column("activity_id", Id, ForeignKey("activities.id")),
)

escalations = Table(
    "callcenter_escalations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("ticket_id", Id, ForeignKey("callcenter_tickets.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # first_response, resolve
    Column("level", Integer, nullable=False),  # 0 agent, 1 team lead, 2 manager
    Column("at", UTCDateTime, nullable=False),
    Column("due", UTCDateTime, nullable=False),
    Column("to_user_id", Id, ForeignKey("users.id")),
    Column("recipient", String(200), nullable=False),
    UniqueConstraint("ticket_id", "kind", "level"),
    Index("ix_callcenter_escalations_at", "at"),
)

calls = Table(
    "callcenter_calls",
    metadata,
    Column("id", Id, primary_key=True),
    Column("call_ref", String(120), nullable=False, unique=True),
    Column("direction", String(10), nullable=False),
    Column("caller", String(60)),
    Column("caller_number", String(40), index=True),
    Column("customer_id", Id, ForeignKey("customers.id"), index=True),
    Column("vip", Boolean, nullable=False),
    Column("ivr_keys", String(60)),
    Column("ivr_result", String(200)),
    Column("queue_id", Id, ForeignKey("callcenter_queues.id")),
    Column("agent_id", Id, ForeignKey("users.id")),
    Column("status", String(20), nullable=False),  # offered, queued, ringing, answered, wrap_up, ended, abandoned, self_service
    Column("outcome", String(20)),  # answered, abandoned, self_service, no_agent
    Column("offered_at", UTCDateTime, nullable=False),
    Column("queued_at", UTCDateTime),
    Column("answered_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("wrap_up_until", UTCDateTime),
    Column("wait_seconds", Integer),
    Column("talk_seconds", Integer),
    Column("acw_seconds", Integer),
    Column("transfers", Integer, nullable=False),
    Column("ticket_id", Id, ForeignKey("callcenter_tickets.id")),
    Column("activity_id", Id, ForeignKey("activities.id")),
    Column("source", String(60), nullable=False),
    Index("ix_callcenter_calls_offered", "offered_at"),
    Index("ix_callcenter_calls_queue_offered", "queue_id", "offered_at"),
    Index("ix_callcenter_calls_agent_offered", "agent_id", "offered_at"),
    Index("ix_callcenter_calls_status", "status"),
)

call_events = Table(
    "callcenter_call_events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("call_id", Id, ForeignKey("callcenter_calls.id"), nullable=False, index=True),
    Column("event", String(20), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("agent_id", Id, ForeignKey("users.id")),
    Column("queue_id", Id, ForeignKey("callcenter_queues.id")),
    Column("data", Json, nullable=False),
)

articles = Table(
    "callcenter_articles",
    metadata,
    Column("id", Id, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("category", String(100)),
    Column("tags", Json, nullable=False),
    Column("usage_count", Integer, nullable=False),
    Column("author_id", Id, ForeignKey("users.id")),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

article_tags = Table(
    "callcenter_article_tags",
    metadata,
    Column("tag", String(60), primary_key=True),
    Column("article_id", Id, ForeignKey("callcenter_articles.id", ondelete="CASCADE"), primary_key=True, index=True),
)

ticket_solutions = Table(
    "callcenter_ticket_solutions",
    metadata,
    Column("ticket_id", Id, ForeignKey("callcenter_tickets.id"), primary_key=True),
    Column("article_id", Id, ForeignKey("callcenter_articles.id"), primary_key=True, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_id", Id, ForeignKey("users.id")),
)

surveys = Table(
    "callcenter_surveys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("ticket_id", Id, ForeignKey("callcenter_tickets.id"), nullable=False, unique=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("agent_id", Id, ForeignKey("users.id")),
    Column("team_id", Id, ForeignKey("callcenter_teams.id")),
    Column("category", String(100)),
    Column("token", String(40), nullable=False, unique=True),
    Column("channel", String(20)),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("answered_at", UTCDateTime),
    Column("score", Integer),
    Column("comment", Text),
)
