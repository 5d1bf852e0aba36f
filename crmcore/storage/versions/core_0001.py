"""The core's tables: organisation, customers, contacts, activities, audit, outbox

Revision ID: core_0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa

from crmcore.storage.types import Id, Json, UTCDateTime

revision = 'core_0001'
down_revision = None
branch_labels = ('core',)
depends_on = None

# The defaults users start with; `crm choices add` extends them.
DEFAULT_CHOICES = {
    "level": [("vip", "贵宾", "VIP"), ("important", "重要", "Important"),
              ("normal", "普通", "Normal"), ("small", "小客户", "Small")],
    "status": [("potential", "潜在", "Potential"), ("target", "目标", "Target"),
               ("active", "现实", "Active"), ("lost", "流失", "Lost")],
    "stage": [("exploration", "考察期", "Exploration"), ("formation", "形成期", "Formation"),
              ("stability", "稳定期", "Stability"), ("decline", "退化期", "Decline")],
}


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', Id, nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('actor_id', Id, nullable=True),
    sa.Column('actor', sa.String(length=60), nullable=False),
    sa.Column('entity', sa.String(length=60), nullable=False),
    sa.Column('entity_id', sa.String(length=60), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('changes', Json, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_log_entity', ['entity', 'entity_id'], unique=False)

    op.create_table('choices',
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=60), nullable=False),
    sa.Column('label_en', sa.String(length=60), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'code', name=op.f('pk_choices'))
    )
    op.create_table('custom_fields',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('choices', Json, nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_custom_fields'))
    )
    op.create_table('departments',
    sa.Column('id', Id, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('parent_id', Id, nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['departments.id'], name=op.f('fk_departments_parent_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_departments')),
    sa.UniqueConstraint('name', name=op.f('uq_departments_name'))
    )
    op.create_table('roles',
    sa.Column('id', Id, nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roles')),
    sa.UniqueConstraint('name', name=op.f('uq_roles_name'))
    )
    op.create_table('plugin_settings',
    sa.Column('id', Id, nullable=False),
    sa.Column('plugin', sa.String(length=60), nullable=False),
    sa.Column('department_id', Id, nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_plugin_settings_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plugin_settings')),
    sa.UniqueConstraint('plugin', 'department_id', name=op.f('uq_plugin_settings_plugin_department_id'))
    )
    op.create_table('role_permissions',
    sa.Column('role_id', Id, nullable=False),
    sa.Column('permission', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], name=op.f('fk_role_permissions_role_id_roles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('role_id', 'permission', name=op.f('pk_role_permissions'))
    )
    op.create_table('users',
    sa.Column('id', Id, nullable=False),
    sa.Column('username', sa.String(length=60), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('department_id', Id, nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_users_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('customers',
    sa.Column('id', Id, nullable=False),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phones', Json, nullable=False),
    sa.Column('emails', Json, nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('region', sa.String(length=60), nullable=True),
    sa.Column('province', sa.String(length=60), nullable=True),
    sa.Column('city', sa.String(length=60), nullable=True),
    sa.Column('industry', sa.String(length=60), nullable=True),
    sa.Column('position', sa.String(length=60), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('gender', sa.String(length=10), nullable=True),
    sa.Column('source', sa.String(length=60), nullable=True),
    sa.Column('level', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('stage', sa.String(length=40), nullable=False),
    sa.Column('tags', Json, nullable=False),
    sa.Column('owner_id', Id, nullable=True),
    sa.Column('department_id', Id, nullable=True),
    sa.Column('custom', Json, nullable=False),
    sa.Column('do_not_contact', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('cancelled_at', UTCDateTime(), nullable=True),
    sa.Column('merged_into_id', Id, nullable=True),
    sa.Column('search_text', sa.Text(), nullable=True),
    sa.Column('name_key', sa.String(length=200), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_customers_department_id_departments')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['customers.id'], name=op.f('fk_customers_merged_into_id_customers')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_customers_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('code', name=op.f('uq_customers_code'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_name_key'), ['name_key'], unique=False)

    op.create_table('user_roles',
    sa.Column('user_id', Id, nullable=False),
    sa.Column('role_id', Id, nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], name=op.f('fk_user_roles_role_id_roles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_roles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role_id', name=op.f('pk_user_roles'))
    )
    op.create_table('contacts',
    sa.Column('id', Id, nullable=False),
    sa.Column('customer_id', Id, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=True),
    sa.Column('phones', Json, nullable=False),
    sa.Column('emails', Json, nullable=False),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('decision_role', sa.String(length=40), nullable=True),
    sa.Column('relationship', sa.String(length=40), nullable=False),
    sa.Column('staff_id', Id, nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_contacts_customer_id_customers')),
    sa.ForeignKeyConstraint(['staff_id'], ['users.id'], name=op.f('fk_contacts_staff_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_customer_id'), ['customer_id'], unique=False)

    op.create_table('customer_tags',
    sa.Column('tag', sa.String(length=60), nullable=False),
    sa.Column('customer_id', Id, nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_tags_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tag', 'customer_id', name=op.f('pk_customer_tags'))
    )
    with op.batch_alter_table('customer_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_tags_customer_id'), ['customer_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', Id, nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('recipient', sa.String(length=300), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('payload', Json, nullable=False),
    sa.Column('customer_id', Id, nullable=True),
    sa.Column('dedupe_key', sa.String(length=300), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_outbox_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_dedupe_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_outbox_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('activities',
    sa.Column('id', Id, nullable=False),
    sa.Column('customer_id', Id, nullable=False),
    sa.Column('contact_id', Id, nullable=True),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('occurred_at', UTCDateTime(), nullable=False),
    sa.Column('due_at', UTCDateTime(), nullable=True),
    sa.Column('done', sa.Boolean(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('owner_id', Id, nullable=True),
    sa.Column('source_plugin', sa.String(length=60), nullable=False),
    sa.Column('payload', Json, nullable=False),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_activities_contact_id_contacts')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_activities_customer_id_customers')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_activities_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities'))
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index('ix_activities_customer_occurred', ['customer_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_activities_owner_due', ['owner_id', 'done', 'due_at'], unique=False)
        batch_op.create_index('ix_activities_type_occurred', ['type', 'occurred_at'], unique=False)

    op.create_table('customer_emails',
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('customer_id', Id, nullable=False),
    sa.Column('contact_id', Id, nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_customer_emails_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_emails_customer_id_customers'), ondelete='CASCADE')
    )
    with op.batch_alter_table('customer_emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_emails_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_emails_email'), ['email'], unique=False)

    op.create_table('customer_phones',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('customer_id', Id, nullable=False),
    sa.Column('contact_id', Id, nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_customer_phones_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_phones_customer_id_customers'), ondelete='CASCADE')
    )
    with op.batch_alter_table('customer_phones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_phones_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_phones_number'), ['number'], unique=False)


    choices = sa.table(
        "choices", sa.column("kind"), sa.column("code"), sa.column("label"),
        sa.column("label_en"), sa.column("position"),
    )
    op.bulk_insert(choices, [
        {"kind": kind, "code": code, "label": label, "label_en": label_en, "position": position}
        for kind, entries in DEFAULT_CHOICES.items()
        for position, (code, label, label_en) in enumerate(entries)
    ])
    create_search_index()


# The name search index: FTS5 over customers.search_text on SQLite, written by
# the services (crmcore.search.index_names) rather than by triggers, which cost
# twenty times more per row in bulk imports; a GIN tsvector index on PostgreSQL.
SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE customers_fts USING fts5(search_text, content='customers', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
]
POSTGRES_SEARCH = ["CREATE INDEX ix_customers_search_text ON customers USING gin (to_tsvector('simple', coalesce(search_text, '')))"]


def create_search_index() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_SEARCH if dialect == "sqlite" else POSTGRES_SEARCH if dialect == "postgresql" else []:
        op.execute(statement)


def drop_search_index() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TABLE IF EXISTS customers_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_customers_search_text")


def downgrade() -> None:
    drop_search_index()
    with op.batch_alter_table('customer_phones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_phones_number'))
        batch_op.drop_index(batch_op.f('ix_customer_phones_customer_id'))

    op.drop_table('customer_phones')
    with op.batch_alter_table('customer_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_emails_email'))
        batch_op.drop_index(batch_op.f('ix_customer_emails_customer_id'))

    op.drop_table('customer_emails')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index('ix_activities_type_occurred')
        batch_op.drop_index('ix_activities_owner_due')
        batch_op.drop_index('ix_activities_customer_occurred')

    op.drop_table('activities')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_next')
        batch_op.drop_index(batch_op.f('ix_outbox_customer_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('customer_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_tags_customer_id'))

    op.drop_table('customer_tags')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_customer_id'))

    op.drop_table('contacts')
    op.drop_table('user_roles')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_owner_id'))
        batch_op.drop_index(batch_op.f('ix_customers_department_id'))
        batch_op.drop_index(batch_op.f('ix_customers_name_key'))

    op.drop_table('customers')
    op.drop_table('users')
    op.drop_table('role_permissions')
    op.drop_table('plugin_settings')
    op.drop_table('roles')
    op.drop_table('departments')
    op.drop_table('custom_fields')
    op.drop_table('choices')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_entity')
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
