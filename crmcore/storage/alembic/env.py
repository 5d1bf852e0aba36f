"""Alembic environment: always driven from crmcore.storage.migrations, which
hands over an open connection."""

from alembic import context

from crmcore.storage.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
