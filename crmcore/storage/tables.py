"""The core's tables. Plugins define theirs on the same ``metadata`` with
their name as prefix (``membership_cards``) and create them in their own
Alembic branch."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from crmcore.storage.types import Id, Json, Money, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_N_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

departments = Table(
    "departments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("parent_id", Id, ForeignKey("departments.id"), nullable=True),
)

roles = Table(
    "roles",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(60), nullable=False, unique=True),
)

role_permissions = Table(
    "role_permissions",
    metadata,
    Column("role_id", Id, ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
    Column("permission", String(100), primary_key=True),
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("username", String(60), nullable=False, unique=True),
    Column("display_name", String(100)),
    Column("email", String(200)),
    Column("department_id", Id, ForeignKey("departments.id"), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("password_hash", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("locale", String(10)),  # the web interface's language; unset: the browser's
)

user_roles = Table(
    "user_roles",
    metadata,
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", Id, ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Id, primary_key=True),
    Column("code", String(40), unique=True),
    Column("kind", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("phones", Json, nullable=False),
    Column("emails", Json, nullable=False),
    Column("address", String(300)),
    Column("region", String(60)),
    Column("province", String(60)),
    Column("city", String(60)),
    Column("industry", String(60)),
    Column("position", String(60)),
    Column("birthday", Date),
    Column("gender", String(10)),
    Column("source", String(60)),
    Column("level", String(40), nullable=False),
    Column("status", String(40), nullable=False),
    Column("stage", String(40), nullable=False),
    Column("tags", Json, nullable=False),
    Column("owner_id", Id, ForeignKey("users.id"), index=True),
    Column("department_id", Id, ForeignKey("departments.id"), index=True),
    Column("custom", Json, nullable=False),
    Column("do_not_contact", Boolean, nullable=False, default=False),
    Column("notes", Text),
    Column("active", Boolean, nullable=False, default=True),
    Column("cancelled_at", UTCDateTime),
    Column("merged_into_id", Id, ForeignKey("customers.id")),
    # search_text: the name as search tokens (see crmcore/search.py), indexed
    # by FTS5 on SQLite and a GIN tsvector on PostgreSQL; name_key: the name
    # normalised for duplicate detection.
    Column("search_text", Text),
    Column("name_key", String(200), index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # privacy (core_0002): erasure is refused while legal_hold is set;
    # erased_at marks an anonymised customer (crmcore/privacy.py)
    Column("legal_hold", Boolean, nullable=False, default=False, server_default=false()),
    Column("erased_at", UTCDateTime),
    # a person's records: the customer and those merged into it (core_0002)
    Index("ix_customers_merged_into_id", "merged_into_id"),
)

# Lookup tables for exact matches: one row per (value, customer); the lists on
# the customer row stay the record, these are indexes kept by the repository.
customer_phones = Table(
    "customer_phones",
    metadata,
    Column("number", String(40), nullable=False, index=True),
    Column("customer_id", Id, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=True),
)

customer_emails = Table(
    "customer_emails",
    metadata,
    Column("email", String(200), nullable=False, index=True),
    Column("customer_id", Id, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=True),
)

customer_tags = Table(
    "customer_tags",
    metadata,
    Column("tag", String(60), primary_key=True),
    Column("customer_id", Id, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True, index=True),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("title", String(100)),
    Column("phones", Json, nullable=False),
    Column("emails", Json, nullable=False),
    Column("birthday", Date),
    Column("decision_role", String(40)),
    Column("relationship", String(40), nullable=False),
    Column("staff_id", Id, ForeignKey("users.id")),
    Column("notes", Text),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)

activities = Table(
    "activities",
    metadata,
    Column("id", Id, primary_key=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False),
    Column("contact_id", Id, ForeignKey("contacts.id")),
    Column("type", String(40), nullable=False),
    Column("subject", String(300)),
    Column("body", Text),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime),
    Column("done", Boolean, nullable=False, default=False),
    Column("amount", Money),
    Column("owner_id", Id, ForeignKey("users.id")),
    Column("source_plugin", String(60), nullable=False),
    Column("payload", Json, nullable=False),
    Column("cancelled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_activities_customer_occurred", "customer_id", "occurred_at"),
    Index("ix_activities_type_occurred", "type", "occurred_at"),
    Index("ix_activities_owner_due", "owner_id", "done", "due_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("actor_id", Id),
    Column("actor", String(60), nullable=False),
    Column("entity", String(60), nullable=False),
    Column("entity_id", String(60)),
    Column("action", String(40), nullable=False),
    Column("changes", Json, nullable=False),
    Index("ix_audit_log_entity", "entity", "entity_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True),
    Column("channel", String(40), nullable=False),
    Column("recipient", String(300), nullable=False),
    Column("subject", String(300)),
    Column("body", Text),
    Column("payload", Json, nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id"), index=True),
    Column("dedupe_key", String(300), unique=True),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("error", Text),
    # why the message is sent (marketing, service …): consent is checked
    # against it when queued (core_0002, crmcore/services/consents.py)
    Column("purpose", String(40)),
    Index("ix_outbox_status_next", "status", "next_attempt_at"),
)

# Consent per customer, purpose and channel (core_0002): append-only, the
# latest row of a (customer, purpose, channel) is its current state.
consents = Table(
    "consents",
    metadata,
    Column("id", Id, primary_key=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("channel", String(40), nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("method", String(20), nullable=False),
    Column("evidence", String(300)),
    Column("actor_id", Id),
    Column("actor", String(60), nullable=False),
    Index("ix_consents_customer_purpose_channel", "customer_id", "purpose", "channel", "id"),
)

plugin_settings = Table(
    "plugin_settings",
    metadata,
    Column("id", Id, primary_key=True),
    Column("plugin", String(60), nullable=False),
    Column("department_id", Id, ForeignKey("departments.id"), nullable=True),
    Column("enabled", Boolean, nullable=False),
    UniqueConstraint("plugin", "department_id"),
)

choices = Table(
    "choices",
    metadata,
    Column("kind", String(40), primary_key=True),
    Column("code", String(40), primary_key=True),
    Column("label", String(60), nullable=False),
    Column("label_en", String(60)),
    Column("position", Integer, nullable=False),
)

custom_fields = Table(
    "custom_fields",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("type", String(20), nullable=False),
    Column("label", String(100), nullable=False),
    Column("choices", Json, nullable=False),
)
