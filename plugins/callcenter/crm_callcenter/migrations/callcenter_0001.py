"""callcenter: tickets, SLA, routing, calls, knowledge base, surveys

Revision ID: callcenter_0001
Revises:
"""
from alembic import op
import sqlalchemy as sa

from crmcore import Id, Json, UTCDateTime

revision = "callcenter_0001"
down_revision = None
branch_labels = ("callcenter",)
depends_on = "core_0001"


#: The ticket types a new service desk starts with; `crm service type add` extends them.
DEFAULT_TYPES = [("inquiry", "咨询", "Inquiry"), ("complaint", "投诉", "Complaint"),
                 ("suggestion", "建议", "Suggestion"), ("repair", "报修", "Repair / service request")]


def upgrade() -> None:
    op.create_table('callcenter_ivr_menus',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('definition', Json, nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=('pk_callcenter_ivr_menus'))
    )
    op.create_table('callcenter_queues',
    sa.Column('id', Id, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('skills', Json, nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('service_level_seconds', sa.Integer(), nullable=False),
    sa.Column('wrap_up_seconds', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=True),
    sa.PrimaryKeyConstraint('id', name=('pk_callcenter_queues')),
    sa.UniqueConstraint('name', name=('uq_callcenter_queues_name'))
    )
    op.create_table('callcenter_settings',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('value', Json, nullable=False),
    sa.PrimaryKeyConstraint('key', name=('pk_callcenter_settings'))
    )
    op.create_table('callcenter_sla_policies',
    sa.Column('id', Id, nullable=False),
    sa.Column('ticket_type', sa.String(length=40), nullable=True),
    sa.Column('priority', sa.String(length=20), nullable=True),
    sa.Column('first_response_minutes', sa.Integer(), nullable=True),
    sa.Column('resolve_minutes', sa.Integer(), nullable=True),
    sa.Column('warn_percent', sa.Integer(), nullable=False),
    sa.Column('escalate_after_minutes', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=('pk_callcenter_sla_policies')),
    sa.UniqueConstraint('ticket_type', 'priority', name=('uq_callcenter_sla_policies_ticket_type_priority'))
    )
    op.create_table('callcenter_ticket_types',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=60), nullable=False),
    sa.Column('label_en', sa.String(length=60), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=('pk_callcenter_ticket_types'))
    )
    op.create_table('callcenter_agent_sessions',
    sa.Column('id', Id, nullable=False),
    sa.Column('user_id', Id, nullable=False),
    sa.Column('started_at', UTCDateTime(), nullable=False),
    sa.Column('ended_at', UTCDateTime(), nullable=True),
    sa.Column('source', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=('fk_callcenter_agent_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=('pk_callcenter_agent_sessions'))
    )
    op.create_index('ix_callcenter_agent_sessions_user_started', 'callcenter_agent_sessions', ['user_id', 'started_at'], unique=False)
    op.create_table('callcenter_articles',
    sa.Column('id', Id, nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('tags', Json, nullable=False),
    sa.Column('usage_count', sa.Integer(), nullable=False),
    sa.Column('author_id', Id, nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=('fk_callcenter_articles_author_id_users')),
    sa.PrimaryKeyConstraint('id', name=('pk_callcenter_articles'))
    )
    op.create_table('callcenter_teams',
    sa.Column('id', Id, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('lead_id', Id, nullable=True),
    sa.Column('manager_id', Id, nullable=True),
    sa.ForeignKeyConstraint(['lead_id'], ['users.id'], name=('fk_callcenter_teams_lead_id_users')),
    sa.ForeignKeyConstraint(['manager_id'], ['users.id'], name=('fk_callcenter_teams_manager_id_users')),
    sa.PrimaryKeyConstraint('id', name=('pk_callcenter_teams')),
    sa.UniqueConstraint('name', name=('uq_callcenter_teams_name'))
    )
    op.create_table('callcenter_agents',
    sa.Column('user_id', Id, nullable=False),
    sa.Column('skills', Json, nullable=False),
    sa.Column('team_id', Id, nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('state_since', UTCDateTime(), nullable=False),
    sa.Column('idle_since', UTCDateTime(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['callcenter_teams.id'], name=('fk_callcenter_agents_team_id_callcenter_teams')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=('fk_callcenter_agents_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=('pk_callcenter_agents'))
    )
    op.create_table('callcenter_article_tags',
    sa.Column('tag', sa.String(length=60), nullable=False),
    sa.Column('article_id', Id, nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['callcenter_articles.id'], name=('fk_callcenter_article_tags_article_id_callcenter_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tag', 'article_id', name=('pk_callcenter_article_tags'))
    )
    op.create_index(('ix_callcenter_article_tags_article_id'), 'callcenter_article_tags', ['article_id'], unique=False)
    op.create_table('callcenter_tickets',
    sa.Column('id', Id, nullable=False),
    sa.Column('customer_id', Id, nullable=False),
    sa.Column('contact_id', Id, nullable=True),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('assignee_id', Id, nullable=True),
    sa.Column('team_id', Id, nullable=True),
    sa.Column('created_by', Id, nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('first_response_at', UTCDateTime(), nullable=True),
    sa.Column('resolved_at', UTCDateTime(), nullable=True),
    sa.Column('closed_at', UTCDateTime(), nullable=True),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('sla_policy_id', Id, nullable=True),
    sa.Column('first_response_warn_at', UTCDateTime(), nullable=True),
    sa.Column('first_response_due', UTCDateTime(), nullable=True),
    sa.Column('resolve_warn_at', UTCDateTime(), nullable=True),
    sa.Column('resolve_due', UTCDateTime(), nullable=True),
    sa.Column('first_response_breached', sa.Boolean(), nullable=True),
    sa.Column('resolve_breached', sa.Boolean(), nullable=True),
    sa.Column('paused_at', UTCDateTime(), nullable=True),
    sa.Column('paused_seconds', sa.Integer(), nullable=False),
    sa.Column('first_response_escalation', sa.Integer(), nullable=False),
    sa.Column('resolve_escalation', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=('fk_callcenter_tickets_assignee_id_users')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=('fk_callcenter_tickets_contact_id_contacts')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=('fk_callcenter_tickets_created_by_users')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=('fk_callcenter_tickets_customer_id_customers')),
    sa.ForeignKeyConstraint(['sla_policy_id'], ['callcenter_sla_policies.id'], name=('fk_callcenter_tickets_sla_policy_id_callcenter_sla_policies')),
    sa.ForeignKeyConstraint(['team_id'], ['callcenter_teams.id'], name=('fk_callcenter_tickets_team_id_callcenter_teams')),
    sa.PrimaryKeyConstraint('id', name=('pk_callcenter_tickets'))
    )
    op.create_index('ix_callcenter_tickets_assignee_open', 'callcenter_tickets', ['assignee_id', 'is_open'], unique=False)
    op.create_index('ix_callcenter_tickets_created', 'callcenter_tickets', ['created_at'], unique=False)
    op.create_index('ix_callcenter_tickets_customer_open', 'callcenter_tickets', ['customer_id', 'is_open'], unique=False)
    op.create_index('ix_callcenter_tickets_open_type', 'callcenter_tickets', ['is_open', 'type'], unique=False)
    op.create_index('ix_callcenter_tickets_resolved', 'callcenter_tickets', ['resolved_at'], unique=False)
    op.create_table('callcenter_calls',
    sa.Column('id', Id, nullable=False),
    sa.Column('call_ref', sa.String(length=120), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('caller', sa.String(length=60), nullable=True),
    sa.Column('caller_number', sa.String(length=40), nullable=True),
    sa.Column('customer_id', Id, nullable=True),
    sa.Column('vip', sa.Boolean(), nullable=False),
    sa.Column('ivr_keys', sa.String(length=60), nullable=True),
    sa.Column('ivr_result', sa.String(length=200), nullable=True),
    sa.Column('queue_id', Id, nullable=True),
    sa.Column('agent_id', Id, nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('offered_at', UTCDateTime(), nullable=False),
    sa.Column('queued_at', UTCDateTime(), nullable=True),
    sa.Column('answered_at', UTCDateTime(), nullable=True),
    sa.Column('ended_at', UTCDateTime(), nullable=True),
    sa.Column('wrap_up_until', UTCDateTime(), nullable=True),
    sa.Column('wait_seconds', sa.Integer(), nullable=True),
    sa.Column('talk_seconds', sa.Integer(), nullable=True),
    sa.Column('acw_seconds', sa.Integer(), nullable=True),
    sa.Column('transfers', sa.Integer(), nullable=False),
    sa.Column('ticket_id', Id, nullable=True),
    sa.Column('activity_id', Id, nullable=True),
    sa.Column('source', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=('fk_callcenter_calls_activity_id_activities')),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=('fk_callcenter_calls_agent_id_users')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=('fk_callcenter_calls_customer_id_customers')),
    sa.ForeignKeyConstraint(['queue_id'], ['callcenter_queues.id'], name=('fk_callcenter_calls_queue_id_callcenter_queues')),
    sa.ForeignKeyConstraint(['ticket_id'], ['callcenter_tickets.id'], name=('fk_callcenter_calls_ticket_id_callcenter_tickets')),
    sa.PrimaryKeyConstraint('id', name=('pk_callcenter_calls')),
    sa.UniqueConstraint('call_ref', name=('uq_callcenter_calls_call_ref'))
    )
    op.create_index('ix_callcenter_calls_agent_offered', 'callcenter_calls', ['agent_id', 'offered_at'], unique=False)
    op.create_index(('ix_callcenter_calls_caller_number'), 'callcenter_calls', ['caller_number'], unique=False)
    op.create_index(('ix_callcenter_calls_customer_id'), 'callcenter_calls', ['customer_id'], unique=False)
    op.create_index('ix_callcenter_calls_offered', 'callcenter_calls', ['offered_at'], unique=False)
    op.create_index('ix_callcenter_calls_queue_offered', 'callcenter_calls', ['queue_id', 'offered_at'], unique=False)
    op.create_index('ix_callcenter_calls_status', 'callcenter_calls', ['status'], unique=False)
    op.create_table('callcenter_escalations',
    sa.Column('id', Id, nullable=False),
    sa.Column('ticket_id', Id, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('due', UTCDateTime(), nullable=False),
    sa.Column('to_user_id', Id, nullable=True),
    sa.Column('recipient', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['callcenter_tickets.id'], name=('fk_callcenter_escalations_ticket_id_callcenter_tickets')),
    sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name=('fk_callcenter_escalations_to_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=('pk_callcenter_escalations')),
    sa.UniqueConstraint('ticket_id', 'kind', 'level', name=('uq_callcenter_escalations_ticket_id_kind_level'))
    )
    op.create_index('ix_callcenter_escalations_at', 'callcenter_escalations', ['at'], unique=False)
    op.create_table('callcenter_surveys',
    sa.Column('id', Id, nullable=False),
    sa.Column('ticket_id', Id, nullable=False),
    sa.Column('customer_id', Id, nullable=False),
    sa.Column('agent_id', Id, nullable=True),
    sa.Column('team_id', Id, nullable=True),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('token', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('sent_at', UTCDateTime(), nullable=False),
    sa.Column('answered_at', UTCDateTime(), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=('fk_callcenter_surveys_agent_id_users')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=('fk_callcenter_surveys_customer_id_customers')),
    sa.ForeignKeyConstraint(['team_id'], ['callcenter_teams.id'], name=('fk_callcenter_surveys_team_id_callcenter_teams')),
    sa.ForeignKeyConstraint(['ticket_id'], ['callcenter_tickets.id'], name=('fk_callcenter_surveys_ticket_id_callcenter_tickets')),
    sa.PrimaryKeyConstraint('id', name=('pk_callcenter_surveys')),
    sa.UniqueConstraint('ticket_id', name=('uq_callcenter_surveys_ticket_id')),
    sa.UniqueConstraint('token', name=('uq_callcenter_surveys_token'))
    )
    op.create_index(('ix_callcenter_surveys_customer_id'), 'callcenter_surveys', ['customer_id'], unique=False)
    op.create_table('callcenter_ticket_events',
    sa.Column('id', Id, nullable=False),
    sa.Column('ticket_id', Id, nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('actor_id', Id, nullable=True),
    sa.Column('event', sa.String(length=30), nullable=False),
    sa.Column('from_status', sa.String(length=30), nullable=True),
    sa.Column('to_status', sa.String(length=30), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('internal', sa.Boolean(), nullable=False),
    sa.Column('data', Json, nullable=False),
    sa.Column('activity_id', Id, nullable=True),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=('fk_callcenter_ticket_events_activity_id_activities')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=('fk_callcenter_ticket_events_actor_id_users')),
    sa.ForeignKeyConstraint(['ticket_id'], ['callcenter_tickets.id'], name=('fk_callcenter_ticket_events_ticket_id_callcenter_tickets')),
    sa.PrimaryKeyConstraint('id', name=('pk_callcenter_ticket_events'))
    )
    op.create_index(('ix_callcenter_ticket_events_ticket_id'), 'callcenter_ticket_events', ['ticket_id'], unique=False)
    op.create_table('callcenter_ticket_solutions',
    sa.Column('ticket_id', Id, nullable=False),
    sa.Column('article_id', Id, nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('actor_id', Id, nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=('fk_callcenter_ticket_solutions_actor_id_users')),
    sa.ForeignKeyConstraint(['article_id'], ['callcenter_articles.id'], name=('fk_callcenter_ticket_solutions_article_id_callcenter_articles')),
    sa.ForeignKeyConstraint(['ticket_id'], ['callcenter_tickets.id'], name=('fk_callcenter_ticket_solutions_ticket_id_callcenter_tickets')),
    sa.PrimaryKeyConstraint('ticket_id', 'article_id', name=('pk_callcenter_ticket_solutions'))
    )
    op.create_index(('ix_callcenter_ticket_solutions_article_id'), 'callcenter_ticket_solutions', ['article_id'], unique=False)
    op.create_table('callcenter_call_events',
    sa.Column('id', Id, nullable=False),
    sa.Column('call_id', Id, nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('agent_id', Id, nullable=True),
    sa.Column('queue_id', Id, nullable=True),
    sa.Column('data', Json, nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=('fk_callcenter_call_events_agent_id_users')),
    sa.ForeignKeyConstraint(['call_id'], ['callcenter_calls.id'], name=('fk_callcenter_call_events_call_id_callcenter_calls')),
    sa.ForeignKeyConstraint(['queue_id'], ['callcenter_queues.id'], name=('fk_callcenter_call_events_queue_id_callcenter_queues')),
    sa.PrimaryKeyConstraint('id', name=('pk_callcenter_call_events'))
    )
    op.create_index(('ix_callcenter_call_events_call_id'), 'callcenter_call_events', ['call_id'], unique=False)

    types = sa.table("callcenter_ticket_types", sa.column("code", sa.String), sa.column("label", sa.String),
                     sa.column("label_en", sa.String), sa.column("position", sa.Integer))
    op.bulk_insert(types, [{"code": c, "label": l, "label_en": e, "position": i}
                           for i, (c, l, e) in enumerate(DEFAULT_TYPES, start=1)])


def downgrade() -> None:
    op.drop_index(('ix_callcenter_call_events_call_id'), table_name='callcenter_call_events')
    op.drop_table('callcenter_call_events')
    op.drop_index(('ix_callcenter_ticket_solutions_article_id'), table_name='callcenter_ticket_solutions')
    op.drop_table('callcenter_ticket_solutions')
    op.drop_index(('ix_callcenter_ticket_events_ticket_id'), table_name='callcenter_ticket_events')
    op.drop_table('callcenter_ticket_events')
    op.drop_index(('ix_callcenter_surveys_customer_id'), table_name='callcenter_surveys')
    op.drop_table('callcenter_surveys')
    op.drop_index('ix_callcenter_escalations_at', table_name='callcenter_escalations')
    op.drop_table('callcenter_escalations')
    op.drop_index('ix_callcenter_calls_status', table_name='callcenter_calls')
    op.drop_index('ix_callcenter_calls_queue_offered', table_name='callcenter_calls')
    op.drop_index('ix_callcenter_calls_offered', table_name='callcenter_calls')
    op.drop_index(('ix_callcenter_calls_customer_id'), table_name='callcenter_calls')
    op.drop_index(('ix_callcenter_calls_caller_number'), table_name='callcenter_calls')
    op.drop_index('ix_callcenter_calls_agent_offered', table_name='callcenter_calls')
    op.drop_table('callcenter_calls')
    op.drop_index('ix_callcenter_tickets_resolved', table_name='callcenter_tickets')
    op.drop_index('ix_callcenter_tickets_open_type', table_name='callcenter_tickets')
    op.drop_index('ix_callcenter_tickets_customer_open', table_name='callcenter_tickets')
    op.drop_index('ix_callcenter_tickets_created', table_name='callcenter_tickets')
    op.drop_index('ix_callcenter_tickets_assignee_open', table_name='callcenter_tickets')
    op.drop_table('callcenter_tickets')
    op.drop_index(('ix_callcenter_article_tags_article_id'), table_name='callcenter_article_tags')
    op.drop_table('callcenter_article_tags')
    op.drop_table('callcenter_agents')
    op.drop_table('callcenter_teams')
    op.drop_table('callcenter_articles')
    op.drop_index('ix_callcenter_agent_sessions_user_started', table_name='callcenter_agent_sessions')
    op.drop_table('callcenter_agent_sessions')
    op.drop_table('callcenter_ticket_types')
    op.drop_table('callcenter_sla_policies')
    op.drop_table('callcenter_settings')
    op.drop_table('callcenter_queues')
    op.drop_table('callcenter_ivr_menus')
