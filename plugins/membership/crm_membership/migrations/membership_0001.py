"""membership: members, cards, tiers, plans, the points ledger, redemption,
events, alliance merchants

Revision ID: membership_0001
"""
from alembic import op
import sqlalchemy as sa

from crmcore import Id, Json, UTCDateTime

revision = "membership_0001"
down_revision = None
branch_labels = ("membership",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table('membership_events',
    sa.Column('id', Id, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=True),
    sa.Column('reward_points', sa.Integer(), nullable=False),
    sa.Column('upgrade_points', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_events'))
    )
    op.create_table('membership_merchants',
    sa.Column('id', Id, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=60), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('status_changed_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_merchants')),
    sa.UniqueConstraint('name', name=op.f('uq_membership_merchants_name'))
    )
    op.create_table('membership_plans',
    sa.Column('id', Id, nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('yuan_per_point', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('validity_months', sa.Integer(), nullable=True),
    sa.Column('carry_min_points', sa.Integer(), nullable=False),
    sa.Column('carry_to', sa.String(length=20), nullable=False),
    sa.Column('carried_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_membership_plans_period')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_plans')),
    sa.UniqueConstraint('name', name=op.f('uq_membership_plans_name'))
    )
    op.create_table('membership_redemption_campaigns',
    sa.Column('id', Id, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('max_per_member', sa.Integer(), nullable=True),
    sa.Column('min_tier_level', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_redemption_campaigns')),
    sa.UniqueConstraint('name', name=op.f('uq_membership_redemption_campaigns_name'))
    )
    op.create_table('membership_sequences',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_membership_sequences'))
    )
    op.create_table('membership_settings',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('value', Json, nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_membership_settings'))
    )
    op.create_table('membership_tiers',
    sa.Column('id', Id, nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('multiplier', sa.Numeric(precision=6, scale=3), nullable=False),
    sa.Column('upgrade_points', sa.Integer(), nullable=False),
    sa.Column('manual_only', sa.Boolean(), nullable=False),
    sa.Column('benefits', Json, nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_tiers')),
    sa.UniqueConstraint('level', name=op.f('uq_membership_tiers_level')),
    sa.UniqueConstraint('name', name=op.f('uq_membership_tiers_name'))
    )
    op.create_table('membership_event_merchants',
    sa.Column('event_id', Id, nullable=False),
    sa.Column('merchant_id', Id, nullable=False),
    sa.Column('role', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['membership_events.id'], name=op.f('fk_membership_event_merchants_event_id_membership_events')),
    sa.ForeignKeyConstraint(['merchant_id'], ['membership_merchants.id'], name=op.f('fk_membership_event_merchants_merchant_id_membership_merchants')),
    sa.PrimaryKeyConstraint('event_id', 'merchant_id', name=op.f('pk_membership_event_merchants'))
    )
    op.create_index(op.f('ix_membership_event_merchants_merchant_id'), 'membership_event_merchants', ['merchant_id'], unique=False)
    op.create_table('membership_merchant_contacts',
    sa.Column('id', Id, nullable=False),
    sa.Column('merchant_id', Id, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['merchant_id'], ['membership_merchants.id'], name=op.f('fk_membership_merchant_contacts_merchant_id_membership_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_merchant_contacts'))
    )
    op.create_index(op.f('ix_membership_merchant_contacts_merchant_id'), 'membership_merchant_contacts', ['merchant_id'], unique=False)
    op.create_table('membership_merchant_notes',
    sa.Column('id', Id, nullable=False),
    sa.Column('merchant_id', Id, nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=60), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint('rating IS NULL OR (rating >= 1 AND rating <= 5)', name=op.f('ck_membership_merchant_notes_rating')),
    sa.ForeignKeyConstraint(['merchant_id'], ['membership_merchants.id'], name=op.f('fk_membership_merchant_notes_merchant_id_membership_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_merchant_notes'))
    )
    op.create_index(op.f('ix_membership_merchant_notes_merchant_id'), 'membership_merchant_notes', ['merchant_id'], unique=False)
    op.create_table('membership_merchant_offers',
    sa.Column('id', Id, nullable=False),
    sa.Column('merchant_id', Id, nullable=False),
    sa.Column('min_tier_id', Id, nullable=True),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['membership_merchants.id'], name=op.f('fk_membership_merchant_offers_merchant_id_membership_merchants')),
    sa.ForeignKeyConstraint(['min_tier_id'], ['membership_tiers.id'], name=op.f('fk_membership_merchant_offers_min_tier_id_membership_tiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_merchant_offers'))
    )
    op.create_index(op.f('ix_membership_merchant_offers_merchant_id'), 'membership_merchant_offers', ['merchant_id'], unique=False)
    op.create_table('membership_rewards',
    sa.Column('id', Id, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('campaign_id', Id, nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('cash_value', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('stock', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('min_tier_level', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint('points > 0', name=op.f('ck_membership_rewards_points_positive')),
    sa.CheckConstraint('stock IS NULL OR stock >= 0', name=op.f('ck_membership_rewards_stock_not_negative')),
    sa.ForeignKeyConstraint(['campaign_id'], ['membership_redemption_campaigns.id'], name=op.f('fk_membership_rewards_campaign_id_membership_redemption_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_rewards')),
    sa.UniqueConstraint('name', name=op.f('uq_membership_rewards_name'))
    )
    op.create_table('membership_rules',
    sa.Column('id', Id, nullable=False),
    sa.Column('plan_id', Id, nullable=False),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('reward_rate', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('upgrade_rate', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('reward_points', sa.Integer(), nullable=False),
    sa.Column('upgrade_points', sa.Integer(), nullable=False),
    sa.Column('use_multiplier', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['membership_plans.id'], name=op.f('fk_membership_rules_plan_id_membership_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_rules')),
    sa.UniqueConstraint('plan_id', 'source', name=op.f('uq_membership_rules_plan_id_source'))
    )
    op.create_table('membership_members',
    sa.Column('id', Id, nullable=False),
    sa.Column('customer_id', Id, nullable=False),
    sa.Column('card_number', sa.String(length=40), nullable=True),
    sa.Column('tier_id', Id, nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('tier_locked_until', sa.Date(), nullable=True),
    sa.Column('joined_on', sa.Date(), nullable=False),
    sa.Column('application_id', Id, nullable=True),
    sa.Column('referrer_member_id', Id, nullable=True),
    sa.Column('merged_into_id', Id, nullable=True),
    sa.Column('cancelled_at', UTCDateTime(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=300), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_membership_members_customer_id_customers')),
    sa.ForeignKeyConstraint(['referrer_member_id'], ['membership_members.id'], name=op.f('fk_membership_members_referrer_member_id_membership_members')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['membership_members.id'], name=op.f('fk_membership_members_merged_into_id_membership_members')),
    sa.ForeignKeyConstraint(['tier_id'], ['membership_tiers.id'], name=op.f('fk_membership_members_tier_id_membership_tiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_members')),
    sa.UniqueConstraint('card_number', name=op.f('uq_membership_members_card_number'))
    )
    op.create_index('ix_membership_members_active_customer', 'membership_members', ['customer_id'], unique=True, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
    op.create_index(op.f('ix_membership_members_customer_id'), 'membership_members', ['customer_id'], unique=False)
    op.create_table('membership_applications',
    sa.Column('id', Id, nullable=False),
    sa.Column('customer_id', Id, nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('id_number', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('referrer_member_id', Id, nullable=True),
    sa.Column('flags', Json, nullable=False),
    sa.Column('reject_reason', sa.String(length=300), nullable=True),
    sa.Column('member_id', Id, nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('reviewed_at', UTCDateTime(), nullable=True),
    sa.Column('reviewed_by', sa.String(length=60), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_membership_applications_customer_id_customers')),
    sa.ForeignKeyConstraint(['member_id'], ['membership_members.id'], name=op.f('fk_membership_applications_member_id_membership_members')),
    sa.ForeignKeyConstraint(['referrer_member_id'], ['membership_members.id'], name=op.f('fk_membership_applications_referrer_member_id_membership_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_applications'))
    )
    op.create_index(op.f('ix_membership_applications_customer_id'), 'membership_applications', ['customer_id'], unique=False)
    op.create_index(op.f('ix_membership_applications_id_number'), 'membership_applications', ['id_number'], unique=False)
    op.create_index(op.f('ix_membership_applications_phone'), 'membership_applications', ['phone'], unique=False)
    op.create_table('membership_awards',
    sa.Column('id', Id, nullable=False),
    sa.Column('member_id', Id, nullable=False),
    sa.Column('plan_id', Id, nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('value', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['membership_members.id'], name=op.f('fk_membership_awards_member_id_membership_members')),
    sa.ForeignKeyConstraint(['plan_id'], ['membership_plans.id'], name=op.f('fk_membership_awards_plan_id_membership_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_awards'))
    )
    op.create_index(op.f('ix_membership_awards_member_id'), 'membership_awards', ['member_id'], unique=False)
    op.create_table('membership_balances',
    sa.Column('member_id', Id, nullable=False),
    sa.Column('reward', sa.Integer(), nullable=False),
    sa.Column('upgrade', sa.Integer(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint('"upgrade" >= 0', name=op.f('ck_membership_balances_upgrade_not_negative')),
    sa.CheckConstraint('reward >= 0', name=op.f('ck_membership_balances_reward_not_negative')),
    sa.ForeignKeyConstraint(['member_id'], ['membership_members.id'], name=op.f('fk_membership_balances_member_id_membership_members')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_membership_balances'))
    )
    op.create_table('membership_cards',
    sa.Column('id', Id, nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('member_id', Id, nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('origin', sa.String(length=20), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('assigned_at', UTCDateTime(), nullable=True),
    sa.Column('blocked_at', UTCDateTime(), nullable=True),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['membership_members.id'], name=op.f('fk_membership_cards_member_id_membership_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_cards')),
    sa.UniqueConstraint('number', name=op.f('uq_membership_cards_number'))
    )
    op.create_index(op.f('ix_membership_cards_member_id'), 'membership_cards', ['member_id'], unique=False)
    op.create_index('ix_membership_cards_status_id', 'membership_cards', ['status', 'id'], unique=False)
    op.create_table('membership_event_members',
    sa.Column('event_id', Id, nullable=False),
    sa.Column('member_id', Id, nullable=False),
    sa.Column('invited_at', UTCDateTime(), nullable=True),
    sa.Column('registered_at', UTCDateTime(), nullable=True),
    sa.Column('attended_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['membership_events.id'], name=op.f('fk_membership_event_members_event_id_membership_events')),
    sa.ForeignKeyConstraint(['member_id'], ['membership_members.id'], name=op.f('fk_membership_event_members_member_id_membership_members')),
    sa.PrimaryKeyConstraint('event_id', 'member_id', name=op.f('pk_membership_event_members'))
    )
    op.create_index(op.f('ix_membership_event_members_member_id'), 'membership_event_members', ['member_id'], unique=False)
    op.create_table('membership_ledger',
    sa.Column('id', Id, nullable=False),
    sa.Column('member_id', Id, nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('plan_id', Id, nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('reversal_of', Id, nullable=True),
    sa.Column('lot_id', Id, nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('actor', sa.String(length=60), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('reward', 'upgrade')", name=op.f('ck_membership_ledger_kind')),
    sa.CheckConstraint('points <> 0', name=op.f('ck_membership_ledger_points_not_zero')),
    sa.ForeignKeyConstraint(['lot_id'], ['membership_ledger.id'], name=op.f('fk_membership_ledger_lot_id_membership_ledger')),
    sa.ForeignKeyConstraint(['member_id'], ['membership_members.id'], name=op.f('fk_membership_ledger_member_id_membership_members')),
    sa.ForeignKeyConstraint(['plan_id'], ['membership_plans.id'], name=op.f('fk_membership_ledger_plan_id_membership_plans')),
    sa.ForeignKeyConstraint(['reversal_of'], ['membership_ledger.id'], name=op.f('fk_membership_ledger_reversal_of_membership_ledger')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_ledger')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_membership_ledger_idempotency_key')),
    sa.UniqueConstraint('reversal_of', name=op.f('uq_membership_ledger_reversal_of'))
    )
    op.create_index('ix_membership_ledger_expiry', 'membership_ledger', ['kind', 'expires_on'], unique=False)
    op.create_index('ix_membership_ledger_lot', 'membership_ledger', ['lot_id'], unique=False)
    op.create_index('ix_membership_ledger_member_kind', 'membership_ledger', ['member_id', 'kind', 'id'], unique=False)
    op.create_index('ix_membership_ledger_plan_effective', 'membership_ledger', ['plan_id', 'effective_on'], unique=False)
    op.create_table('membership_tier_changes',
    sa.Column('id', Id, nullable=False),
    sa.Column('member_id', Id, nullable=False),
    sa.Column('from_tier_id', Id, nullable=True),
    sa.Column('to_tier_id', Id, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('actor', sa.String(length=60), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['from_tier_id'], ['membership_tiers.id'], name=op.f('fk_membership_tier_changes_from_tier_id_membership_tiers')),
    sa.ForeignKeyConstraint(['member_id'], ['membership_members.id'], name=op.f('fk_membership_tier_changes_member_id_membership_members')),
    sa.ForeignKeyConstraint(['to_tier_id'], ['membership_tiers.id'], name=op.f('fk_membership_tier_changes_to_tier_id_membership_tiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_tier_changes'))
    )
    op.create_index(op.f('ix_membership_tier_changes_member_id'), 'membership_tier_changes', ['member_id'], unique=False)
    op.create_table('membership_pending',
    sa.Column('id', Id, nullable=False),
    sa.Column('member_id', Id, nullable=False),
    sa.Column('activity_id', Id, nullable=False),
    sa.Column('plan_id', Id, nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('reward_points', sa.Integer(), nullable=False),
    sa.Column('upgrade_points', sa.Integer(), nullable=False),
    sa.Column('earned_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('resolved_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_membership_pending_activity_id_activities')),
    sa.ForeignKeyConstraint(['member_id'], ['membership_members.id'], name=op.f('fk_membership_pending_member_id_membership_members')),
    sa.ForeignKeyConstraint(['plan_id'], ['membership_plans.id'], name=op.f('fk_membership_pending_plan_id_membership_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_pending')),
    sa.UniqueConstraint('activity_id', name=op.f('uq_membership_pending_activity_id'))
    )
    op.create_index(op.f('ix_membership_pending_member_id'), 'membership_pending', ['member_id'], unique=False)
    op.create_index('ix_membership_pending_status', 'membership_pending', ['status', 'id'], unique=False)
    op.create_table('membership_redemptions',
    sa.Column('id', Id, nullable=False),
    sa.Column('member_id', Id, nullable=False),
    sa.Column('reward_id', Id, nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('entry_id', Id, nullable=False),
    sa.Column('refund_entry_id', Id, nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('cancelled_at', UTCDateTime(), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['membership_ledger.id'], name=op.f('fk_membership_redemptions_entry_id_membership_ledger')),
    sa.ForeignKeyConstraint(['member_id'], ['membership_members.id'], name=op.f('fk_membership_redemptions_member_id_membership_members')),
    sa.ForeignKeyConstraint(['refund_entry_id'], ['membership_ledger.id'], name=op.f('fk_membership_redemptions_refund_entry_id_membership_ledger')),
    sa.ForeignKeyConstraint(['reward_id'], ['membership_rewards.id'], name=op.f('fk_membership_redemptions_reward_id_membership_rewards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_redemptions'))
    )
    op.create_index(op.f('ix_membership_redemptions_member_id'), 'membership_redemptions', ['member_id'], unique=False)
    op.create_index(op.f('ix_membership_redemptions_reward_id'), 'membership_redemptions', ['reward_id'], unique=False)


def downgrade() -> None:

    op.drop_index(op.f('ix_membership_redemptions_reward_id'), table_name='membership_redemptions')
    op.drop_index(op.f('ix_membership_redemptions_member_id'), table_name='membership_redemptions')
    op.drop_table('membership_redemptions')
    op.drop_index('ix_membership_pending_status', table_name='membership_pending')
    op.drop_index(op.f('ix_membership_pending_member_id'), table_name='membership_pending')
    op.drop_table('membership_pending')
    op.drop_index(op.f('ix_membership_tier_changes_member_id'), table_name='membership_tier_changes')
    op.drop_table('membership_tier_changes')
    op.drop_index('ix_membership_ledger_plan_effective', table_name='membership_ledger')
    op.drop_index('ix_membership_ledger_member_kind', table_name='membership_ledger')
    op.drop_index('ix_membership_ledger_lot', table_name='membership_ledger')
    op.drop_index('ix_membership_ledger_expiry', table_name='membership_ledger')
    op.drop_table('membership_ledger')
    op.drop_index(op.f('ix_membership_event_members_member_id'), table_name='membership_event_members')
    op.drop_table('membership_event_members')
    op.drop_index('ix_membership_cards_status_id', table_name='membership_cards')
    op.drop_index(op.f('ix_membership_cards_member_id'), table_name='membership_cards')
    op.drop_table('membership_cards')
    op.drop_table('membership_balances')
    op.drop_index(op.f('ix_membership_awards_member_id'), table_name='membership_awards')
    op.drop_table('membership_awards')
    op.drop_index(op.f('ix_membership_applications_phone'), table_name='membership_applications')
    op.drop_index(op.f('ix_membership_applications_id_number'), table_name='membership_applications')
    op.drop_index(op.f('ix_membership_applications_customer_id'), table_name='membership_applications')
    op.drop_table('membership_applications')
    op.drop_index(op.f('ix_membership_members_customer_id'), table_name='membership_members')
    op.drop_index('ix_membership_members_active_customer', table_name='membership_members', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
    op.drop_table('membership_members')
    op.drop_table('membership_rules')
    op.drop_table('membership_rewards')
    op.drop_index(op.f('ix_membership_merchant_offers_merchant_id'), table_name='membership_merchant_offers')
    op.drop_table('membership_merchant_offers')
    op.drop_index(op.f('ix_membership_merchant_notes_merchant_id'), table_name='membership_merchant_notes')
    op.drop_table('membership_merchant_notes')
    op.drop_index(op.f('ix_membership_merchant_contacts_merchant_id'), table_name='membership_merchant_contacts')
    op.drop_table('membership_merchant_contacts')
    op.drop_index(op.f('ix_membership_event_merchants_merchant_id'), table_name='membership_event_merchants')
    op.drop_table('membership_event_merchants')
    op.drop_table('membership_tiers')
    op.drop_table('membership_settings')
    op.drop_table('membership_sequences')
    op.drop_table('membership_redemption_campaigns')
    op.drop_table('membership_plans')
    op.drop_table('membership_merchants')
    op.drop_table('membership_events')
