"""The core's tables, for plugins' read queries and foreign keys.

Change core data through the services (``uow.customers`` …), never by
writing these tables directly: the services validate, audit and fire hooks.
Restrict customer queries to the actor's scope with ``uow.customers.scope``.
"""

from crmcore.storage.tables import (  # noqa: F401  (re-exported)
    activities,
    audit_log,
    consents,
    contacts,
    customer_emails,
    customer_phones,
    customer_tags,
    customers,
    departments,
    metadata,
    outbox,
    users,
)

__all__ = ["activities", "audit_log", "consents", "contacts", "customer_emails", "customer_phones", "customer_tags", "customers",
           "departments", "metadata", "outbox", "users"]
